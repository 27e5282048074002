"""Claims against observations: what OpenAI documents for a capability on an API, beside what a target did.

A case's claim per API (``claim:`` in ``suites/*.yaml``) says ``supported``, ``unsupported`` or
``coming-soon``, with the page (``doc``), the document's name (``source``), the date it says so from
(``since``) and earlier forms (``history``: the guide's table changed over time). A cell disagrees with its
claim in one of three ways:

- ``documented, failing``: documented as supported, and the feature answered wrongly (``fail``);
- ``documented, absent``: documented as supported, and the target rejected it or left it without effect
  (``unsupported``, ``ignored``);
- ``undocumented, working``: documented as unsupported or coming soon, and the feature works (``pass``).

A case that checks that an API *rejects* a request (``probe: rejection``) where the claim is unsupported
(the other API's parameter, chat's lack of server state) tests a documented absence, not the feature: it has
no claim mismatch, whatever its verdict (its verdict already says whether the rejection was clean). Where
the claim is supported (documented error handling), it is judged like any other. ``error`` and
``not-recorded`` cells measured nothing and are not compared.
"""

from __future__ import annotations

from typing import Any

SUPPORTED = "supported"
CLAIM_WORD = {"supported": "supported", "unsupported": "not supported", "coming-soon": "coming soon"}
KINDS = {
    "documented-failing": "documented, failing",
    "documented-absent": "documented, absent",
    "undocumented-working": "undocumented, working",
}


def claim_of(record: dict[str, Any]) -> dict[str, Any]:
    """The claim for the record's API (``{}`` when the case makes none)."""
    claims = record.get("claims") or {}
    return claims.get(record["api"]) or record.get("claim") or {}


def probe_of(record: dict[str, Any]) -> str:
    """``feature`` or ``rejection``; results written before ``probe`` existed: a case run on an API documented
    as unsupported was always a rejection probe."""
    if record.get("probe"):
        return record["probe"]
    return "feature" if claim_of(record).get("status", SUPPORTED) == SUPPORTED else "rejection"


def mismatch(record: dict[str, Any]) -> str | None:
    """The kind of disagreement between the cell and its claim (a key of ``KINDS``), or None."""
    status = claim_of(record).get("status")
    verdict = record["verdict"]
    if not status or (status != SUPPORTED and probe_of(record) == "rejection"):
        return None
    if status == SUPPORTED:
        if verdict == "fail":
            return "documented-failing"
        if verdict in ("unsupported", "ignored"):
            return "documented-absent"
        return None
    return "undocumented-working" if verdict == "pass" else None


def describe(claim: dict[str, Any]) -> str:
    """One line: the status, where it is documented and since when, and what the documents said before."""
    if not claim:
        return "no claim"
    text = CLAIM_WORD.get(claim.get("status", ""), claim.get("status", "?"))
    where = [claim["source"]] if claim.get("source") else []
    if claim.get("since"):
        where.append(f"since {claim['since']}")
    if where:
        text += f" ({', '.join(where)})"
    for earlier in claim.get("history") or []:
        when = f" on {earlier['since']}" if earlier.get("since") else ""
        by = f" per {earlier['source']}" if earlier.get("source") else ""
        text += f"; was {CLAIM_WORD.get(earlier.get('status', ''), earlier.get('status', '?'))}{when}{by}"
    if claim.get("note"):
        text += f". {claim['note']}"
    return text


def mismatches(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every cell that disagrees with its claim: kind, cell, claim and the finding behind the verdict."""
    found = []
    for record in records:
        kind = mismatch(record)
        if kind is None:
            continue
        root = record.get("root_cause") or {}
        found.append({
            "kind": kind, "target": record["target"], "capability": record["capability"], "case": record["case"],
            "api": record["api"], "stream": record["stream"], "verdict": record["verdict"],
            "client": record.get("client") or "raw", "sdk_version": record.get("sdk_version"),
            "claim": claim_of(record), "claim_text": describe(claim_of(record)),
            "declared": sorted(record.get("declared_missing") or {}),
            "finding": {"check": root.get("check"), "message": root.get("message")} if root else None,
        })
    return found
