"""The conformance suite as one pytest test, parametrised by the plugin.

Run it with ``conformance run`` (or ``pytest conformance/run/suite.py -p conformance.run.plugin``).
Each item runs one case on one API against one target, attaches its result for
the reports, and passes when the verdict is the one known for that target
(``pass`` unless ``expectations/<target>.yaml`` says otherwise).
"""

from __future__ import annotations

import threading
import time
from contextlib import ExitStack
from typing import Any, Iterator

import httpx2
import pytest

from conformance import redaction
from conformance.cases.model import CaseFileError
from conformance.cases.targets import REPLAY_PORT, Target
from conformance.requests.placeholders import new_run_id
from conformance.checks.findings import Failure, Verdict
from conformance.run.concurrent import CaseRunner
from conformance.run.plan import RunSpec
from conformance.run.plugin import KNOWN_GAP, RESULT_KEY, replays_directly, settings_of
from conformance.run.runner import PollBudget, Sender, result_without_run, run_case
from conformance.transport import replay, vcr
from conformance.transport.http import make_client, sender
from conformance.transport.servers import RunningServer, ServerError
from conformance.verdicts import expectations
from conformance.verdicts.policy import counted, is_setup
from conformance.verdicts.results import CaseResult


@pytest.fixture
def vcr_config() -> dict[str, Any]:
    """pytest-recording's configuration: our scrubbing, matching and readable cassettes."""
    return vcr.vcr_config()


class SessionTools:
    """What every item of a session shares: this run's id (``${run.id}``: names what cases create on a server,
    so leftovers of a crash can be found), the local servers started for live runs or recording (stopped at
    the end), how steps are sent (the installed openai SDK with ``--client sdk``, set up with the session; else
    raw HTTP, its client made on first use, which a replay never needs) and, for live runs with
    ``--concurrency N`` (N > 1, not under xdist), the pool that runs cases beside each other
    (``conformance.run.concurrent``). One fixture, not one per tool: pytest looks each fixture up again for
    every item."""

    def __init__(self, config: pytest.Config):
        self.config = config
        self.run_id = new_run_id()
        self.servers: dict[str, RunningServer] = {}
        self._client: httpx2.Client | None = None
        self._send: Sender | None = None
        settings, workers = settings_of(config), config.getoption("--concurrency")
        if settings.client == "sdk":  # a missing or broken SDK is the session's set-up error, said once
            from conformance.transport import sdk  # imports openai: only in the SDK lane

            self._send = sdk.sender()
        self.runner = (CaseRunner(workers, {t.name: t.concurrency for t in settings.targets() if t.concurrency})
                       if settings.live and workers > 1 and not hasattr(config, "workerinput") else None)

    def send(self) -> Sender:
        """How each step is sent (made once, on first use)."""
        if self._send is None:
            limits = settings_of(self.config).limits
            self._client = make_client(limits)
            self._send = sender(self._client, limits)
        return self._send

    def close(self) -> None:
        """Stop what the session started: the case pool, then the HTTP client, then the local servers (each one
        even when stopping one before it failed)."""
        with ExitStack() as stack:  # its callbacks run last registered first
            for server in self.servers.values():
                if isinstance(server, RunningServer):
                    stack.callback(server.stop)
            if self._client is not None:
                stack.callback(self._client.close)
            if self.runner is not None:
                stack.callback(self.runner.close)


@pytest.fixture(scope="session")
def session_tools(request: pytest.FixtureRequest) -> Iterator[SessionTools]:
    """The session's ``SessionTools``, closed at the end."""
    tools = SessionTools(request.config)
    yield tools
    tools.close()


def _run_id(spec: RunSpec, live: bool, record_mode: str, fresh: str) -> str:
    """The recording's run id when the cassette is replayed (exact replay), else this run's."""
    if not live and record_mode not in ("rewrite", "all") and spec.cassette.exists():
        return vcr.recorded_run_id(spec.cassette) or fresh
    return fresh


_SERVERS = threading.Lock()  # cases run on threads with --concurrency: one start per server


def _start_server(spec: RunSpec, servers: dict[str, RunningServer]) -> Target:
    """The target bound to its local server, started on first use (a failed start is not retried per item)."""
    name = spec.target.server
    if not name:
        return spec.target
    with _SERVERS:
        return _bind_server(spec, servers)


def _bind_server(spec: RunSpec, servers: dict[str, RunningServer]) -> Target:
    name = spec.target.server
    if name not in servers:
        try:
            servers[name] = RunningServer(name).start()
        except ServerError as exc:
            servers[name] = exc  # type: ignore[assignment]
    server = servers[name]
    if isinstance(server, ServerError):
        raise server
    return spec.target.bound(server.port, server.api_key)


def _not_recorded(spec: RunSpec, committed: bool = False) -> CaseResult:
    """No cassette: not-recorded, or an error when the target's recordings are committed (it has expectations
    that do not list this cell as not-recorded): a deleted cassette must not pass as a smaller run."""
    message = (f"no cassette {spec.cassette}; record it with `conformance run --target {spec.target.name} "
               f"--record-mode once`")
    failure = Failure("cassette", message, Verdict.NOT_RECORDED)
    if committed:
        failure = Failure("cassette", f"the cassette {spec.cassette} is missing, but target {spec.target.name} has "
                                      f"expectations (its recordings are committed): restore it, re-record it "
                                      f"(`conformance run --target {spec.target.name} --record-mode once`), or pass "
                                      f"--allow-missing for a partial recording", Verdict.ERROR)
    result = result_without_run(spec.case, spec.api, spec.target, stream=spec.stream, failure=failure)
    result.cassette = str(spec.cassette)
    return result


def _unreadable(spec: RunSpec, problem: str) -> CaseResult:
    """A cassette that cannot be replayed (damaged, cut short, over a limit): the cell's error, naming it."""
    failure = Failure("cassette", f"cannot replay the cassette {spec.cassette}: {problem}", Verdict.ERROR)
    result = result_without_run(spec.case, spec.api, spec.target, stream=spec.stream, failure=failure)
    result.cassette = str(spec.cassette)
    return result


def _declared_not_run(spec: RunSpec, features: list[str]) -> CaseResult:
    why = f"not run: target declares {', '.join(features)} unsafe to run here (never_run)"
    return result_without_run(spec.case, spec.api, spec.target, stream=spec.stream,
                              failure=Failure("declared", why, Verdict.UNSUPPORTED))


def _describe(result: CaseResult) -> str:
    lines = [f"{result.key} on {result.target}: {result.verdict.value}  ({result.source})"]
    for failure in result.failures:
        step = f"[{failure.step}] " if failure.step else ""
        lines.append(f"  {failure.check} ({failure.verdict.value}): {step}{failure.message}")
    if result.cassette:
        lines.append(f"  cassette: {result.cassette}")
    return "\n".join(lines)


def known_gap(request: pytest.FixtureRequest, reason: str) -> None:
    """Mark the item a known gap: the plugin reports it as xfail once the test returns (``plugin.KNOWN_GAP``).
    Nothing is raised: pytest would build a traceback for ``pytest.xfail`` (reading and parsing the source),
    the costliest part of a replayed item."""
    request.node.stash[KNOWN_GAP] = reason


def _live_case(spec: RunSpec, settings: Any, servers: dict[str, RunningServer], send: Sender,
               run_id: str) -> CaseResult:
    """Run one case against its live target (its local server started on first use)."""
    target = _start_server(spec, servers)
    result = run_case(spec.case, spec.api, target, send, stream=spec.stream, sleep=time.sleep,
                      profile=settings.profile, run_id=_run_id(spec, True, settings.record_mode, run_id),
                      poll_budget=poll_budget(settings))
    result.cassette = None
    return result


def poll_budget(settings: Any) -> PollBudget | None:
    """How long polls may wait: bounded in live runs and recordings (``--poll-timeout``; a route that is absent
    is not waited for); None in replay, which answers the polls as recorded."""
    if settings.replay:
        return None
    return PollBudget(timeout=settings.config.getoption("--poll-timeout"))


def _live_specs(items: list[pytest.Item]) -> list[RunSpec]:
    """The planned cases of a session that will run live (not those a target declares unsafe to run)."""
    specs = [getattr(item, "callspec", None) and item.callspec.params.get("conformance_spec") for item in items]
    return [spec for spec in specs if isinstance(spec, RunSpec)
            and not any(f in spec.target.never_run for f in spec.case.requires)]


def test_conformance(conformance_spec: RunSpec | list[CaseFileError] | str, request: pytest.FixtureRequest,
                     session_tools: SessionTools) -> None:
    """Run one case x API x target and compare its verdict with the target's known one."""
    if isinstance(conformance_spec, list):
        pytest.fail("bad case file:\n" + "\n".join(f"  {error}" for error in conformance_spec), pytrace=False)
    if isinstance(conformance_spec, str):  # plugin.NOTHING_TO_RUN: a usage error (exit status 2)
        pytest.fail(conformance_spec, pytrace=False)
    spec = conformance_spec
    settings = settings_of(request.config)
    known = expectations.load(settings.expectations, spec.target.name, client=settings.client)
    unsafe = [f for f in spec.case.requires if f in spec.target.never_run]
    tools = session_tools
    replayed: Sender | None = None
    if replays_directly(settings) and not unsafe and spec.cassette.exists():
        # raw replay: the cassette answers through an httpx2 transport (recording patches httpx2 with vcrpy)
        replayed = sender(replay.replay_client(spec.cassette, settings.limits.timeout()), settings.limits)
    if unsafe:
        result = _declared_not_run(spec, unsafe)
    elif settings.replay and not spec.cassette.exists():
        committed = (known.exists and not request.config.getoption("--allow-missing")
                     and known.expected(_not_recorded(spec)).verdict is not Verdict.NOT_RECORDED)
        result = _not_recorded(spec, committed)
    elif settings.replay and vcr.load_problem(spec.cassette):
        result = _unreadable(spec, vcr.load_problem(spec.cassette))
    elif settings.live:
        send = tools.send()

        def run(one: RunSpec) -> CaseResult:
            return _live_case(one, settings, tools.servers, send, tools.run_id)

        try:
            if tools.runner is not None:  # --concurrency: this case runs on the pool, beside the others
                tools.runner.start(_live_specs(request.session.items), run)
                result = tools.runner.result(spec, run)
            else:
                result = run(spec)
        except ServerError as exc:
            pytest.fail(f"cannot start {spec.target.server}: {exc}", pytrace=False)
    else:  # replay, or recording
        target = spec.target.bound(REPLAY_PORT) if spec.target.server else spec.target
        if not settings.replay:
            try:
                target = _start_server(spec, tools.servers)
            except ServerError as exc:
                pytest.fail(f"cannot start {spec.target.server}: {exc}", pytrace=False)
        # replay never sleeps: polls are answered from the cassette in recorded order
        sleep = (lambda _s: None) if settings.replay else time.sleep
        result = run_case(spec.case, spec.api, target, replayed or tools.send(), stream=spec.stream, sleep=sleep,
                          profile=settings.profile, run_id=_run_id(spec, False, settings.record_mode, tools.run_id),
                          poll_budget=poll_budget(settings), excerpts=False)  # the cassette holds them
        result.cassette = str(spec.cassette)
        if not settings.replay:
            vcr.mark_completed(spec.cassette)  # the case completed: its cassette may be written
    result.intermittent = known.intermittent_found(result)
    record = redaction.redact_value(result.as_dict())  # no secret in reports or logs, even one a server echoed
    for failure, shown in zip(result.failures, record["failures"]):
        if known.is_intermittent(failure):
            shown["intermittent"] = True
    request.node.user_properties.append((RESULT_KEY, record))

    if result.verdict is Verdict.NOT_RECORDED:
        pytest.skip(result.failures[0].message)
    observed = known.observed(result)
    expected = observed if settings.config.getoption("--update-expectations") else known.expected(result)
    if not known.exists and not settings.config.getoption("--strict-verdicts"):
        expected = observed  # nothing is known about this target yet: report its verdicts, fail only on suite errors
        errors = [f for f in counted(result.failures) if f.verdict is Verdict.ERROR]
        if errors and all(is_setup(f) for f in errors):
            return known_gap(request, redaction.redact(f"setup: {errors[0].message}"[:300]))
    ending, why = expectations.outcome(expected, observed)
    if ending == "fail":
        pytest.fail(redaction.redact(f"{why}\n{_describe(result)}"), pytrace=False)
    if ending == "xfail":
        known_gap(request, redaction.redact(f"{why}: " + "; ".join(f"{f.check}: {f.message}"
                                                                 for f in result.failures)[:300]))
