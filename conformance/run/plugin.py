"""pytest plugin: options, parametrisation, fixtures and report hooks. Behaviour lives elsewhere.

The suite is one test function (``conformance/run/suite.py``) parametrised over
target x case x API x stream mode; pytest-recording's ``vcr`` fixture gives each
item its cassette, and this plugin's hooks collect the results into reports.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from conformance import redaction
from conformance.api.endpoints import APIS
from conformance.api.vocabulary import PROFILES
from conformance.cases.loading import builtin_suites, load_suites
from conformance.cases.model import CaseFileError
from conformance.cases.targets import Target, TargetError, load_targets
from conformance.checks import CHECKS
from conformance.reports import matrix as report
from conformance.reports.results_file import ResultsWriter
from conformance.requests.validation import check_cases
from conformance.run.plan import RunSpec, choose_targets, plan
from conformance.run import preflight, safety, status
from conformance.transport import documents
from conformance.transport import vcr as cassettes
from conformance.transport.http import Limits, make_client, sender

RESULT_KEY = "conformance_result"
KNOWN_GAP = pytest.StashKey[str]()  # set by the suite on an item whose verdict is a known gap: the xfail reason
NOTHING_TO_RUN = "nothing to run: no case matches the chosen targets, capabilities, API and options"
CLIENTS = ("raw", "sdk")


def _sdk_version() -> str:
    """The installed openai SDK's version; a usage error when it is not installed (``--client sdk``)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("openai")
    except PackageNotFoundError:
        raise pytest.UsageError("--client sdk needs the openai package: pip install -e '.[sdk]' "
                                "(or run a tox env sdk-openai1/2/3)") from None


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("conformance")
    group.addoption("--target", action="append", default=[], help="run against this named target (repeatable)")
    group.addoption("--targets", action="append", default=[], help="extra targets YAML file (repeatable)")
    group.addoption("--base-url", help="an ad-hoc OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1 (runs live)")
    group.addoption("--model", help="model for --base-url (default gpt-4o-mini)")
    group.addoption("--api-key-env", help="environment variable holding the key for --base-url")
    group.addoption("--profile", choices=PROFILES, help="override the targets' profile")
    group.addoption("--live", action="store_true", help="talk to the targets, no cassettes")
    group.addoption("--suites", help="directory of capability YAML files (default: ./suites)")
    group.addoption("--cassettes", help="cassette directory (default: ./cassettes)")
    group.addoption("--reports", help="directory for matrix.md and results.json (default: ./reports)")
    group.addoption("--expectations", help="directory of per-target known verdicts (default: ./expectations)")
    group.addoption("--update-expectations", action="store_true", help="write this run's verdicts as the known ones")
    group.addoption("--capability", action="append", default=[], help="only these capabilities (repeatable)")
    group.addoption("--api", choices=APIS, help="only this API")
    group.addoption("--timeout", type=float, default=Limits.total, metavar="SECONDS",
                    help=f"the longest one request may take, a stream included (default {Limits.total:g})")
    group.addoption("--read-timeout", type=float, default=Limits.read, metavar="SECONDS",
                    help=f"the longest silence between two pieces of an answer (default {Limits.read:g})")
    group.addoption("--connect-timeout", type=float, default=Limits.connect, metavar="SECONDS",
                    help=f"the longest wait for a connection (default {Limits.connect:g})")
    group.addoption("--max-body-mb", type=float, default=Limits.max_bytes / 2**20, metavar="MB",
                    help=f"the largest answer kept (default {Limits.max_bytes // 2**20})")
    group.addoption("--resource", action="append", default=[], metavar="NAME=VALUE",
                    help="a resource the cases need, for every target (e.g. vector_store_id=vs_123; repeatable)")
    group.addoption("--strict-verdicts", action="store_true",
                    help="fail on every non-pass verdict of a target without expectations (default: report them); "
                         "`conformance run --strict` means this (pytest's own --strict is another option)")
    group.addoption("--no-preflight", action="store_true", help="live runs: skip the first-contact checks")
    group.addoption("--allow-missing", action="store_true",
                    help="replay: a cassette missing for a target with expectations is not-recorded, not a failure "
                         "(partial recordings)")
    group.addoption("--poll-timeout", type=float, default=None, metavar="SECONDS",
                    help="live runs and recordings: the longest any poll waits for eventual consistency (default: "
                         "each case's own timeout); a route the target does not have is never waited for")
    group.addoption("--concurrency", type=int, default=1, metavar="N",
                    help="live runs: run up to N cases at once on threads (default 1; a target's `concurrency` in "
                         "the targets file caps its own)")
    group.addoption("--client", choices=CLIENTS, default="raw",
                    help="send through raw HTTP (default) or the installed official openai SDK (the SDK lane)")


def _resources(pairs: list[str]) -> dict[str, str]:
    """``--resource NAME=VALUE`` options as a mapping; a malformed one is a usage error."""
    out = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise pytest.UsageError(f"--resource {pair!r}: expected NAME=VALUE, e.g. vector_store_id=vs_123")
        out[name.strip()] = value
    return out


def _dir(config: pytest.Config, option: str, default: str) -> Path:
    """An option's folder, else ``./<default>`` (the user's own, found from the working directory)."""
    value = config.getoption(option)
    return Path(value).resolve() if value else Path.cwd() / default


class Settings:
    """Run settings derived once from the command line."""

    def __init__(self, config: pytest.Config):
        self.config = config
        local_suites = _dir(config, "--suites", "suites")
        self.suites = local_suites if config.getoption("--suites") or local_suites.is_dir() else builtin_suites()
        self.cassettes = _dir(config, "--cassettes", "cassettes")
        self.reports = Path(config.getoption("--reports") or "reports").resolve()
        self.expectations = _dir(config, "--expectations", "expectations")
        self.record_mode = config.getoption("--record-mode") or "none"
        self.live = bool(config.getoption("--live") or (config.getoption("--base-url") and self.record_mode == "none"))
        self.replay = not self.live and self.record_mode == "none"
        self.profile = config.getoption("--profile")
        self.client = config.getoption("--client") or "raw"
        self.sdk_version = _sdk_version() if self.client == "sdk" else None
        self.limits = Limits(connect=config.getoption("--connect-timeout"), read=config.getoption("--read-timeout"),
                             total=config.getoption("--timeout"),
                             max_bytes=int(config.getoption("--max-body-mb") * 2**20))
        self.resources = _resources(config.getoption("--resource"))
        self.results: list[dict[str, Any]] = []
        self.case_errors: list[CaseFileError] = []
        self._targets: list[Target] | None = None

    def client_info(self) -> dict[str, Any]:
        """Which client sent the requests (written into results.json)."""
        return {"name": self.client, "sdk_version": self.sdk_version}

    def targets(self) -> list[Target]:
        """The chosen targets (loaded once); a bad targets file or name is a ``pytest.UsageError``."""
        if self._targets is None:
            self._targets = self._choose_targets()
        return self._targets

    def _choose_targets(self) -> list[Target]:
        config = self.config
        try:
            chosen = choose_targets(load_targets(*config.getoption("--targets")), config.getoption("--target"),
                                    base_url=config.getoption("--base-url"), model=config.getoption("--model"),
                                    api_key_env=config.getoption("--api-key-env"), profile=self.profile,
                                    replay=self.replay, cassettes=self.cassettes)
        except TargetError as exc:
            raise pytest.UsageError(str(exc))
        # --resource NAME=VALUE gives every target a resource its cases need (a vector store id, say)
        return [replace(t, resources={**t.resources, **self.resources}) if self.resources else t for t in chosen]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "conformance: a conformance case (added by the plugin)")
    settings = Settings(config)
    config.stash[SETTINGS] = settings
    config.pluginmanager.register(Collector(settings), "conformance-collector")
    # A bad targets file or target name is a usage error now (one line, exit 4), not a collection traceback.
    settings.targets()
    safety.register_secrets(settings.targets())  # never written: scrubbed from cassettes, reports, messages
    safety.stop_on_sigterm()  # SIGTERM ends the run as Ctrl-C does: reports closed and marked interrupted
    if settings.live:
        config.option.disable_recording = True  # pytest-recording: no cassette at all


SETTINGS = pytest.StashKey[Settings]()


def summary_line(settings: Settings) -> str:
    """One line: how many cells, by verdict, and which targets have no expectations to compare with."""
    counts: dict[str, int] = {}
    for record in settings.results:
        counts[record["verdict"]] = counts.get(record["verdict"], 0) + 1
    line = f"conformance: {len(settings.results)} cells: " + ", ".join(f"{n} {v}" for v, n in sorted(counts.items()))
    from conformance.verdicts import expectations

    unknown = sorted(target for target in {r["target"] for r in settings.results}
                     if not expectations.load(settings.expectations, target).exists)
    if unknown and not settings.config.getoption("--strict-verdicts"):
        line += (f"; no expectations for {', '.join(unknown)}: verdicts reported, not compared "
                 f"(--strict fails on every non-pass; --update-expectations records them)")
    return line


def pytest_sessionstart(session: pytest.Session) -> None:
    """Live runs: the first contact with each external target, before any case (run.preflight)."""
    config = session.config
    settings = settings_of(config)
    if settings.replay or hasattr(config, "workerinput") or config.getoption("--no-preflight"):
        return
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    with make_client(Limits(connect=settings.limits.connect, read=min(settings.limits.read, 30),
                            total=min(settings.limits.total, 60))) as client:
        for target in settings.targets():
            if target.server:
                continue  # a local server the suite starts: its readiness check is its first contact
            found = preflight.run(target, sender(client, settings.limits))
            if reporter is not None:
                reporter.write_line(redaction.redact(found.report()), red=bool(found.stop))
            if found.stop:
                pytest.exit(f"preflight stopped the run: {found.stop}", returncode=pytest.ExitCode.USAGE_ERROR)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Any:
    """Direct replay: sockets blocked while a conformance item's test function runs (pytest-recording's
    blocking_context; its ``block_network`` mark and fixtures did it at many times the cost, around set-up and
    teardown too, which open no connection in replay): any connection attempt is a bug."""
    if item.get_closest_marker("conformance") is None or not replays_directly(settings_of(item.config)):
        return (yield)
    from pytest_recording import network

    with network.blocking_context(allowed_hosts=None):
        return (yield)


# pytest-recording's autouse fixtures and what only they request. A directly replayed item gives them nothing to
# do (no ``vcr`` mark: they yield None), yet pytest would set up and tear down all six for each item.
RECORDING_FIXTURES = ("vcr", "block_network", "vcr_markers", "vcr_cassette_dir", "record_mode", "disable_recording")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Direct replay: conformance items run without pytest-recording's per-item fixtures (the network is blocked
    in ``pytest_runtest_call`` instead); recording and the SDK lane keep them."""
    if not replays_directly(settings_of(config)):
        return
    for item in items:
        if item.get_closest_marker("conformance") is not None:
            requested = getattr(item, "fixturenames", None)
            if isinstance(requested, list):
                requested[:] = [name for name in requested if name not in RECORDING_FIXTURES]


def replays_directly(settings: Settings) -> bool:
    """Raw-HTTP replay answers from cassettes through an httpx2 transport (``transport.replay``), without
    vcrpy's per-item patching; recording, and the SDK lane (its own HTTP client), go through pytest-recording."""
    return settings.replay and settings.client == "raw"


def settings_of(config: pytest.Config) -> Settings:
    return config.stash[SETTINGS]


def pytest_recording_configure(config: pytest.Config, vcr: Any) -> None:
    cassettes.configure_vcr(vcr, only_completed=True)  # a cassette is written only when its case completed


def _specs(settings: Settings) -> list[RunSpec | CaseFileError]:
    cases, errors = load_suites(settings.suites, CHECKS)
    cases, invalid = check_cases(cases)  # our own request bodies hold before anything is sent
    errors = errors + invalid
    settings.case_errors = errors
    config = settings.config
    return [*errors, *plan(cases, settings.targets(), settings.cassettes,
                           capabilities=set(config.getoption("--capability")), api=config.getoption("--api"))]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "conformance_spec" not in metafunc.fixturenames:
        return
    settings = settings_of(metafunc.config)
    params = []
    bad_files: set[str] = set()
    for spec in _specs(settings):
        if isinstance(spec, CaseFileError):
            if spec.path not in bad_files:  # one failing item per bad file, naming all its errors
                bad_files.add(spec.path)
                params.append(pytest.param([e for e in settings.case_errors if e.path == spec.path],
                                           id=f"case-file-error/{Path(spec.path).name}"))
            continue
        marks = [pytest.mark.conformance]
        if not settings.live and not replays_directly(settings):
            # pytest-recording: the cassette of this item, by absolute path
            marks += [pytest.mark.vcr, pytest.mark.default_cassette(str(spec.cassette.with_suffix("")))]
        if settings.replay and not replays_directly(settings):
            marks.append(pytest.mark.block_network)  # direct replay blocks in pytest_runtest_call
        params.append(pytest.param(spec, id=spec.id, marks=marks))
    if not params:  # a usage error of its own (exit status 2), not an empty run that passes
        params.append(pytest.param(NOTHING_TO_RUN, id="nothing-to-run"))
    metafunc.parametrize("conformance_spec", params)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Any:
    """Tag an item's report for the exit status (``conformance.run.status``): a bad case file is input, an
    exception the suite did not raise on purpose is an internal error. A known gap (``KNOWN_GAP``) ends as
    xfail, as ``pytest.xfail(reason)`` would, without the traceback pytest builds for a raised xfail."""
    report = yield
    reason = item.stash.get(KNOWN_GAP, None)
    if reason is not None and call.when == "call" and report.passed:
        report.outcome, report.wasxfail = "skipped", reason
    params = getattr(getattr(item, "callspec", None), "params", {})
    if "conformance_spec" not in params:
        return report  # not a conformance item (the project's own tests load this plugin too)
    spec = params["conformance_spec"]
    if isinstance(spec, (list, str)) and call.when == "call":  # a bad case file; nothing to run
        report.user_properties.append((status.TAG, status.INPUT_TAG))
    elif call.excinfo is not None and status.is_internal(call.excinfo.value):
        report.user_properties.append((status.TAG, status.INTERNAL_TAG))
    return report


class Collector:
    """Gathers the results items attach (also from xdist workers) and writes the reports."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.written: dict[str, Path] = {}
        self.problems: list[str] = []
        self.refused: list[str] = []  # reports deleted by the final scan for secrets
        self.log: ResultsWriter | None = None  # results.jsonl / results.json, written as results arrive
        self.planned: int | None = None
        self.input_error = False  # a case file or cassette that could not be read (exit status 2)
        self.internal_error = False  # the harness raised (exit status 3)

    def _keep(self, record: dict[str, Any]) -> None:
        """Write a result as it arrives, so an interrupted run keeps what it measured."""
        if self.log is None:
            from conformance.run.metadata import run_metadata

            s = self.settings
            self.log = ResultsWriter(s.reports, run_metadata(
                targets=s.targets(), live=s.live, replay=s.replay, record_mode=s.record_mode,
                client=getattr(s, "client", "raw"), sdk_version=getattr(s, "sdk_version", None),
                profile=s.profile, cassettes=s.cassettes))
            self.log.planned(self.planned)
        self.log.add(record)

    def _unexpected_setup_error(self, record: dict[str, Any]) -> bool:
        """An ``error`` cell (the setup: nothing answered, a refused key) of a target with no expectations: nothing
        was judged there, so the run must not exit 0 (with expectations, an unknown error is a difference: 1)."""
        from conformance.verdicts import expectations

        return (record.get("verdict") == "error"
                and not expectations.load(self.settings.expectations, record["target"]).exists)

    @pytest.hookimpl
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.planned = sum(1 for item in session.items if "conformance_spec" in getattr(item, "fixturenames", ()))

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        self.planned = max(self.planned or 0, len(ids))  # the xdist controller collects nothing itself

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        for key, value in report.user_properties:
            if key == status.TAG:
                self.input_error |= value == status.INPUT_TAG
                self.internal_error |= value == status.INTERNAL_TAG
            if key == RESULT_KEY and report.when in ("call", "setup"):
                self.input_error |= status.is_input_error(value) or self._unexpected_setup_error(value)
                self.settings.results.append(value)
                if not hasattr(self.settings.config, "workerinput"):
                    self._keep(value)

    @pytest.hookimpl
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        settings = self.settings
        if hasattr(session.config, "workerinput"):
            return  # an xdist worker: the controller writes the reports
        # exit status: unreadable input 2, a harness error 3 (conformance.run.status; the highest applies)
        session.exitstatus = status.escalate(session.exitstatus, self.input_error, self.internal_error)
        if not settings.results:
            return
        run = None
        if self.log is not None:  # interrupted (Ctrl-C, SIGINT): pytest still calls this hook, with status 2
            run = self.log.finish(interrupted=session.exitstatus == pytest.ExitCode.INTERRUPTED,
                                  exit_status=status.from_pytest(session.exitstatus))
        self.written = report.write_reports(self.log.records if self.log else settings.results, settings.reports,
                                            client=settings.client_info(), run=run)
        documents.forget()  # the reports are written: the parsed cassettes are not needed any more
        # The final scan: a report that still holds a secret is deleted, and the run fails saying so.
        self.refused = safety.refuse_secrets([*self.written.values(), *([self.log.lines_path] if self.log else [])])
        if self.refused and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
        if session.config.getoption("--update-expectations"):
            from conformance.verdicts import expectations
            from conformance.verdicts.results import result_from_dict

            by_target: dict[str, list] = {}
            for record in settings.results:
                by_target.setdefault(record["target"], []).append(result_from_dict(record))
            for target, results in by_target.items():
                try:
                    blessed = expectations.write(settings.expectations, target, results, client=settings.client)
                except expectations.BlessingError as exc:
                    self.problems.append(str(exc))
                    session.exitstatus = pytest.ExitCode.TESTS_FAILED
                    continue
                refused = safety.refuse_secrets([blessed])  # the final scan covers the expectations written too
                self.refused += refused
                if refused and session.exitstatus == pytest.ExitCode.OK:
                    session.exitstatus = pytest.ExitCode.TESTS_FAILED

    @pytest.hookimpl
    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if hasattr(terminalreporter.config, "workerinput"):
            return
        for error in self.settings.case_errors:
            terminalreporter.write_line(f"case file error: {error}", red=True)
        for problem in self.problems:
            terminalreporter.write_line(f"expectations not updated: {problem}", red=True)
        for refused in self.refused:
            terminalreporter.write_line(f"secret found in a file the run wrote: {refused}", red=True)
        for path in cassettes.unsaved:
            terminalreporter.write_line(f"cassette not written (its case did not complete): {path}", yellow=True)
        if not self.settings.results:
            return
        terminalreporter.section("conformance matrix" + (f" (client: openai SDK {self.settings.sdk_version})"
                                                         if self.settings.client == "sdk" else ""))
        terminalreporter.write_line(report.terminal_matrix(self.settings.results))
        if self.written:
            terminalreporter.write_line(f"reports: {self.written['matrix']}  {self.written.get('html', '')}  "
                                        f"{self.written['results']}")
        terminalreporter.write_line(summary_line(self.settings))
