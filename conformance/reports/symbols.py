"""The report's vocabulary: a symbol, a colour and a meaning per verdict, the cell markers, the claim marks.
Colour is never the only signal: every verdict also has its own symbol and word."""

from __future__ import annotations

from typing import Any

# verdict -> (symbol, colour, meaning)
VERDICTS = {
    "pass": ("✓", "#1a7f37", "every check held"),
    "fail": ("✗", "#cf222e", "the feature answered, but wrongly"),
    "ignored": ("◌", "#bf8700", "accepted (2xx), but the behaviour is absent"),
    "unsupported": ("⊘", "#57606a", "rejected explicitly (a 4xx), or declared unsafe to run"),
    "error": ("⚠", "#8250df", "a problem of the suite, its configuration or the transport"),
    "not-recorded": ("?", "#8c959f", "replay, and no cassette for this cell"),
    "skip": ("–", "#8c959f", "not run"),
    "stale": ("≈", "#0969da", "lacks only fields added after it was recorded"),
}
# marker -> (name, meaning), in the order they are written after a verdict
MARKERS = {
    "§": ("shape", "the answers' shape has findings (checks every answer gets: schema, documented shape, stream "
                   "grammar); the verdict is the case's own"),
    "*": ("declared gap", "the target declares it lacks a feature this case needs (the verdict is what was observed)"),
    "°": ("not run", "the target declares the case would hang or leave loopback (never_run): reported, not sent"),
    "~": ("intermittent", "includes findings of a check the target's expectations declare intermittent"),
    "≠": ("claim mismatch", "the observation disagrees with what OpenAI documents for this API"),
}
SCRIPTED = ("⚙", "scripted backend: the target answers from fixtures (aimock), so behaviour cells judge envelopes "
                 "and round trips, not a model")
CLAIMS = {"supported": ("✓", "yes"), "unsupported": ("✗", "no"), "coming-soon": ("◷", "soon")}
CLAIM_CHANGED = "↻"


def symbol(verdict: str) -> str:
    """The verdict's symbol."""
    return VERDICTS.get(verdict, ("·", "", ""))[0]


def markers(record: dict[str, Any], mismatch: str | None) -> str:
    """The markers of a cell, in a fixed order."""
    found = ""
    if record.get("shape", "pass") != "pass":
        found += "§"
    if record.get("declared_missing"):
        found += "*"
    if any(f.get("check") == "declared" for f in record.get("failures") or []):
        found += "°"
    if record.get("intermittent"):
        found += "~"
    if mismatch:
        found += "≠"
    return found


def claim_mark(claim: dict[str, Any] | None) -> str:
    """``✓ yes``, ``✗ no``, ``◷ soon`` (with ``↻`` when the documents said otherwise before), or ``-``."""
    if not claim or claim.get("status") not in CLAIMS:
        return "-"
    mark, word = CLAIMS[claim["status"]]
    return f"{mark} {word}" + (f" {CLAIM_CHANGED}" if claim.get("history") else "")
