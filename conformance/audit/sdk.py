"""``conformance audit --sdk``: what the installed openai SDK makes of each recorded answer.

Each judged interaction's recorded request is sent through the SDK method an application would call
(``conformance.transport.sdk.replay_answer``: the SDK lane's own sender) and answered, by a mock transport,
with the recorded answer; the SDK checks (``conformance.checks.sdk``) then judge what the SDK did. The
result sits beside the suite's own verdict (it never changes it): whether the SDK parses the answer (the
call returns, a stream reads to its end, an error raises its documented class), what strict validation of
its models says, whether ``output_text`` equals the suite's text, and whether the stream helper completes.
Its summary is the release gate on real traffic: "openai X.Y parses N of M recorded answers".
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from conformance.checks import CheckContext, run_check
from conformance.checks.findings import Failure, Verdict
from conformance.checks.sdk import SDK_CHECKS
from conformance.transport.exchange import Exchange
from conformance.transport.recordings import Recorded

# Whether the SDK parsed an answer is these checks' business; the others describe what it made of it.
PARSING_CHECKS = ("sdk_accepts", "sdk_error")
AUDITED_CHECKS = tuple(name for name in SDK_CHECKS if name != "sdk_request")  # the request is the recording's


def sdk_version() -> str | None:
    """The installed openai SDK's version, or None when it is not installed."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("openai")
    except PackageNotFoundError:
        return None


def _state(findings: list[Failure], check: str, ran: bool) -> str | None:
    """What one SDK check says: None (did not apply), ok, note, or fail."""
    if not ran:
        return None
    mine = [f for f in findings if f.check == check]
    if any(f.verdict is not Verdict.PASS for f in mine):
        return "fail"
    return "note" if mine else "ok"


def add_sdk(entry: dict[str, Any], recorded: Recorded, profile: str) -> None:
    """Give a judged interaction's answer to the SDK and put what it made of it under ``entry["sdk"]``."""
    if entry["verdict"] != Verdict.SKIP.value and recorded.problem is None and recorded.exchange.status is not None:
        entry["sdk"] = judge_with_sdk(recorded.exchange, profile)


def judge_with_sdk(exchange: Exchange, profile: str) -> dict[str, Any]:
    """The ``sdk`` entry of one interaction (see specs/audit-report.schema.json)."""
    from conformance.transport.sdk import replay_answer  # imports openai

    replayed = replay_answer(exchange)
    outcome = replayed.sdk
    ctx = CheckContext(api=replayed.api or "chat", exchanges={"main": replayed}, profile=profile)
    findings: list[Failure] = []
    for name in AUDITED_CHECKS:
        try:
            findings += run_check(name, ctx)
        except Exception as exc:  # noqa: BLE001  (one bad answer must not stop an audit of thousands)
            findings.append(Failure(name, f"the check crashed: {type(exc).__name__}: {exc}", Verdict.ERROR))
    stream = outcome.stream
    text_ran = outcome.output_text is not None or outcome.output_text_error is not None
    return {
        "version": outcome.sdk_version,
        "method": outcome.method,
        "parses": not any(f.check in PARSING_CHECKS and f.verdict is not Verdict.PASS for f in findings),
        "strict_valid": None if outcome.strict is None else not outcome.strict,
        "output_text": _state(findings, "sdk_output_text", text_ran),
        "stream_helper": _state(findings, "sdk_stream_helper", bool(stream and stream.helper)),
        "exception": str(outcome.exception) if outcome.exception else None,
        "findings": [{"check": f.check, "message": f.message, "verdict": f.verdict.value} for f in findings],
    }


def summarise(interactions: list[dict[str, Any]], version: str) -> dict[str, Any]:
    """The summary's ``sdk`` object: how many recorded answers the SDK parses, and the rest of what it did."""
    entries = [e["sdk"] for e in interactions if isinstance(e.get("sdk"), dict)]
    states = {key: Counter(e[key] for e in entries if e[key] is not None) for key in ("output_text", "stream_helper")}
    checks: dict[str, Counter] = {}
    for entry in entries:
        for finding in entry["findings"]:
            checks.setdefault(finding["check"], Counter())["note" if finding["verdict"] == "pass" else "fail"] += 1
    return {
        "version": version,
        "answers": len(entries),
        "parses": sum(1 for e in entries if e["parses"]),
        "strict_checked": sum(1 for e in entries if e["strict_valid"] is not None),
        "strict_valid": sum(1 for e in entries if e["strict_valid"]),
        "output_text": {k: states["output_text"][k] for k in ("ok", "fail")},
        "stream_helper": {k: states["stream_helper"][k] for k in ("ok", "note", "fail")},
        "checks": {name: {"fail": c["fail"], "note": c["note"]} for name, c in sorted(checks.items())},
        "exceptions": dict(Counter(e["exception"].split(":", 1)[0] for e in entries
                                   if e["exception"] and not e["parses"]).most_common()),
    }
