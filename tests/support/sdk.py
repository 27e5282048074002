"""Helpers for the SDK lane's self-tests: run a committed case through the installed openai SDK, offline.

``replay_case`` replays a case's committed cassette through the SDK with vcrpy exactly as ``conformance run
--client sdk`` does (same matchers, record mode ``none``, no retries), optionally with an SDK that serialises
requests differently (``mutate``: wraps the client's ``_prepare_options``, the hook every major runs after
building the JSON body). ``answer_through_sdk`` gives one recorded answer, or a code-built deviant of it,
to the SDK through a mock transport and returns the judged exchange.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

import pytest

openai = pytest.importorskip("openai", reason="the SDK lane needs the openai package (pip install -e '.[sdk]')")

import vcr  # noqa: E402

from conformance.cases.loading import builtin_suites, load_suites  # noqa: E402
from conformance.cases.model import Case  # noqa: E402
from conformance.cases.targets import Target, load_targets  # noqa: E402
from conformance.checks import CHECKS, CheckContext, run_check  # noqa: E402
from conformance.checks.findings import Failure  # noqa: E402
from conformance.run.runner import run_case  # noqa: E402
from conformance.transport import sdk  # noqa: E402
from conformance.transport.exchange import Exchange  # noqa: E402
from conformance.transport.http import url_for  # noqa: E402
from conformance.transport.recordings import load_cassette  # noqa: E402
from conformance.transport.vcr import cassette_path, configure_vcr, vcr_config  # noqa: E402
from conformance.verdicts.results import CaseResult  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
CASSETTES = ROOT / "cassettes"


@lru_cache(maxsize=1)
def cases() -> dict[tuple[str, str], Case]:
    """The built-in cases by (capability, id)."""
    found, _ = load_suites(builtin_suites(), CHECKS)
    return {(case.capability, case.id): case for case in found}


def target(name: str) -> Target:
    """A built-in target (a local server's bound to port 0, as replay binds it)."""
    found = load_targets()[name]
    return found.bound(0) if found.server else found


def cassette(target_name: str, capability: str, case_id: str, api: str, stream: bool = False) -> Path:
    """The committed cassette of a case (skips the test when it is not there)."""
    path = cassette_path(CASSETTES, target_name, capability, case_id, api, stream)
    if not path.exists():
        pytest.skip(f"no committed cassette {path}")
    return path


def replay_case(target_name: str, capability: str, case_id: str, api: str, stream: bool = False,
                mutate: Callable[[dict[str, Any]], dict[str, Any]] | None = None) -> CaseResult:
    """Replay a case's committed cassette through the installed SDK, as ``conformance run --client sdk`` does."""
    path = cassette(target_name, capability, case_id, api, stream)
    chosen = target(target_name)
    client = sdk.make_client(chosen.base_url, chosen.api_key())
    if mutate is not None:
        original = client._prepare_options

        def drifting(options: Any) -> Any:
            options = original(options)
            if isinstance(options.json_data, dict):
                options.json_data = mutate(dict(options.json_data))
            return options

        client._prepare_options = drifting  # an SDK release that serialises bodies differently

    def send(target_: Target, step: Any, body: Any) -> Exchange:
        return sdk.send_step(client, url_for(target_.base_url, step.path), step, body)

    recorder = vcr.VCR()
    configure_vcr(recorder)
    with recorder.use_cassette(str(path), record_mode="none", **vcr_config()):
        return run_case(cases()[(capability, case_id)], api, chosen, send, stream=stream, sleep=lambda _s: None)


def recorded(target_name: str, capability: str, case_id: str, api: str, stream: bool = False,
             index: int | None = None) -> Exchange:
    """One recorded exchange of a committed cassette: the ``index``-th, else the first stream answer of a
    stream case's cassette (a companion's plain run may come first), else the first."""
    found = [r.exchange for r in load_cassette(cassette(target_name, capability, case_id, api, stream))]
    if index is None and stream:
        return next((e for e in found if e.is_sse), found[0])
    return found[index or 0]


def deviant(exchange: Exchange, text: str | None = None, body: Any = None) -> Exchange:
    """The exchange with another answer (a code-built deviant of a real one): ``text``, or ``body`` as JSON."""
    return Exchange(exchange.method, exchange.url, exchange.request_body, exchange.status, dict(exchange.headers),
                    text if text is not None else json.dumps(body), step=exchange.step)


def answer_through_sdk(exchange: Exchange) -> Exchange:
    """The recorded answer given to the installed SDK (mock transport, no network), with its SdkOutcome."""
    return sdk.replay_answer(exchange)


def sdk_findings(exchange: Exchange, *names: str) -> list[Failure]:
    """The findings of the named SDK checks (all of them by default) on an exchange the SDK handled."""
    from conformance.checks.sdk import SDK_CHECKS

    ctx = CheckContext(api=exchange.api or "chat", exchanges={exchange.step: exchange}, profile="compat")
    return [f for name in (names or SDK_CHECKS) for f in run_check(name, ctx)]


def sse_events(text: str) -> list[str]:
    """A stream's events as their raw blocks (to drop or edit some by code)."""
    return [block for block in text.split("\n\n") if block.strip()]
