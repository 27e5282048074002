"""Measure which top-level fields OpenAI sends, and since when, to decide what the `openai` contracts require.

Reads the recorded-traffic corpus (../shared/corpus, official api.openai.com, non-synthetic) and prints, per
object kind and field: how many objects carry it (all time, since 2026-01, since 2026-05) and the first month it
was seen. Prints figures only, never payload content. Objects are dated by their own created/created_at time
(some recorders replace the Date header with a placeholder), falling back to the Date header.

With --history it measures instead the first month of every entry of the table of late additions
(conformance/history.py), at the places where that field lives (nested ones too), beside the table's date.

    .venv/bin/python benchmarks/contract_fields.py [--since 2026-05]
    .venv/bin/python benchmarks/contract_fields.py --history
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter, defaultdict
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from corpus import CORPUS_MISSING, corpus_available, load_corpus  # noqa: E402

from conformance.api.history import HISTORY  # noqa: E402
from conformance.observations.reassembly import TERMINAL_EVENTS  # noqa: E402
from conformance.transport.sse import parse_sse  # noqa: E402

# Where each late addition lives, as dotted paths (lists are crossed transparently). Chat paths start at a
# completion or a stream chunk; Responses paths at a response object ("response.", a body or the one an event
# embeds) or at a stream event ("event."). A bare name would also match unrelated places (tools[].moderation,
# tool_choice.mode, user-defined schemas), hence the paths.
PLACES: dict[tuple[str, str], tuple[str, ...]] = {
    ("chat", "system_fingerprint"): ("system_fingerprint",),
    ("chat", "refusal"): ("choices.message.refusal", "choices.delta.refusal"),
    ("chat", "completion_tokens_details"): ("usage.completion_tokens_details",),
    ("chat", "reasoning_tokens"): ("usage.completion_tokens_details.reasoning_tokens",),
    ("chat", "prompt_tokens_details"): ("usage.prompt_tokens_details",),
    ("chat", "cached_tokens"): ("usage.prompt_tokens_details.cached_tokens",),
    ("chat", "audio_tokens"): ("usage.prompt_tokens_details.audio_tokens",
                               "usage.completion_tokens_details.audio_tokens"),
    ("chat", "accepted_prediction_tokens"): ("usage.completion_tokens_details.accepted_prediction_tokens",),
    ("chat", "rejected_prediction_tokens"): ("usage.completion_tokens_details.rejected_prediction_tokens",),
    ("chat", "service_tier"): ("service_tier",),
    ("chat", "annotations"): ("choices.message.annotations",),
    ("chat", "obfuscation"): ("obfuscation",),
    ("chat", "cache_write_tokens"): ("usage.prompt_tokens_details.cache_write_tokens",),
    ("responses", "sequence_number"): ("event.sequence_number",),
    ("responses", "obfuscation"): ("event.obfuscation",),
    ("responses", "verbosity"): ("response.text.verbosity",),
    ("responses", "summary"): ("response.reasoning.summary",),
    ("responses", "logprobs"): ("response.output.content.logprobs", "event.logprobs", "event.part.logprobs",
                                "event.item.content.logprobs"),
    ("responses", "context"): ("response.reasoning.context",),
    ("responses", "mode"): ("response.reasoning.mode",),
    ("responses", "cache_write_tokens"): ("response.usage.input_tokens_details.cache_write_tokens",),
}


def month(record: dict, obj: dict) -> str:
    """YYYY-MM of an object: its own timestamp, else the recorded Date header, else ''."""
    for key in ("created_at", "created"):
        value = obj.get(key)
        if isinstance(value, (int, float)) and value > 1e9:
            return datetime.fromtimestamp(value, timezone.utc).strftime("%Y-%m")
    try:
        return parsedate_to_datetime(record.get("response_date") or "").strftime("%Y-%m")
    except (TypeError, ValueError):
        return ""


def objects() -> dict[str, list[tuple[str, dict]]]:
    """(month, object) pairs per kind: chat create, stored chat, response create/stream terminal/GET, usages."""
    kinds: dict[str, list[tuple[str, dict]]] = defaultdict(list)
    for record in load_corpus():
        if not 200 <= record["status"] < 300:
            continue
        body, endpoint, method = record["response_body"], record["endpoint"], record["method"]
        if record["stream"]:
            if endpoint == "responses" or endpoint == "responses/{id}":
                for event in parse_sse(body):
                    if event.type in TERMINAL_EVENTS and isinstance(event.json.get("response"), dict):
                        kinds["response (stream terminal)"].append((month(record, event.json["response"]),
                                                                   event.json["response"]))
            continue
        if not isinstance(body, dict):
            continue
        if endpoint == "chat/completions" and method == "POST":
            kinds["chat.completion (create)"].append((month(record, body), body))
        elif endpoint == "chat/completions" and method == "GET":
            kinds["chat.completion (stored, in lists)"] += [(month(record, x), x) for x in body.get("data", [])]
        elif endpoint == "responses" and method == "POST":
            kinds["response (create)"].append((month(record, body), body))
        elif endpoint in ("responses/{id}", "responses/{id}/cancel") and method in ("GET", "POST"):
            kinds["response (GET/cancel)"].append((month(record, body), body))
    for kind in ("chat.completion (create)", "response (create)", "response (stream terminal)"):
        for when, obj in kinds[kind]:
            usage = obj.get("usage")
            if isinstance(usage, dict):
                for key in ("prompt_tokens_details", "completion_tokens_details", "input_tokens_details",
                            "output_tokens_details"):
                    if isinstance(usage.get(key), dict):
                        kinds[f"usage.{key}"].append((when, usage[key]))
    return kinds


def report(kinds: dict[str, list[tuple[str, dict]]], since: str) -> None:
    """Print the presence table of each kind."""
    for kind, items in kinds.items():
        recent = [obj for when, obj in items if when >= "2026-01"]
        today = [obj for when, obj in items if when >= since]
        first: dict[str, str] = {}
        counts: Counter = Counter()
        for when, obj in items:
            for key in obj:
                counts[key] += 1
                if when and (key not in first or when < first[key]):
                    first[key] = when
        print(f"\n## {kind}: {len(items)} objects, {len(recent)} since 2026-01, {len(today)} since {since}")
        print(f"{'field':28} {'all':>9} {'2026-01+':>9} {since + '+':>9}  first seen")
        for key in sorted(counts, key=lambda k: (-sum(k in o for o in today), -counts[k], k)):
            n_recent = sum(key in obj for obj in recent)
            n_today = sum(key in obj for obj in today)
            mark = "  always today" if today and n_today == len(today) else ""
            print(f"{key:28} {counts[key]:>9} {n_recent:>9} {n_today:>9}  {first.get(key, '?')}{mark}")


def places(api: str, name: str) -> tuple[str, ...]:
    """The dotted paths of a history entry (a Responses field with no entry in PLACES is a top-level one)."""
    return PLACES.get((api, name)) or ((f"response.{name}",) if api == "responses" else (name,))


def _has(node: Any, parts: list[str]) -> bool:
    if not parts:
        return True
    if isinstance(node, list):
        return any(_has(inner, parts) for inner in node)
    return isinstance(node, dict) and parts[0] in node and _has(node[parts[0]], parts[1:])


def _roots(record: dict) -> tuple[str, list[dict]] | None:
    """(month, roots) of one genuine 2xx answer: the objects the PLACES paths start from."""
    body = record["response_body"]
    if record["stream"]:
        events = [e.json for e in parse_sse(body) if isinstance(e.json, dict)] if isinstance(body, str) else []
        if not events:
            return None
        if record["api"] == "chat":
            return month(record, events[0]), events
        first = next((e["response"] for e in events if isinstance(e.get("response"), dict)), events[0])
        return month(record, first), [{"event": e, "response": e.get("response")} for e in events]
    if not isinstance(body, dict):
        return None
    if record["api"] == "chat":
        return month(record, body), [body, *[x for x in body.get("data", []) if isinstance(x, dict)]]
    return month(record, body), [{"response": body}]


def history_first_seen() -> dict[tuple[str, str], tuple[str, int]]:
    """(api, name) of every HISTORY entry -> (first month seen in the corpus or '', recordings having it)."""
    found: dict[tuple[str, str], tuple[str, int]] = {(e.api, e.name): ("", 0) for e in HISTORY}
    for record in load_corpus():
        if record["api"] not in ("chat", "responses") or not 200 <= record["status"] < 300:
            continue
        dated = _roots(record)
        if dated is None or not dated[0]:
            continue
        when, roots = dated
        for entry in HISTORY:
            if entry.api == record["api"] and any(
                    _has(root, path.split(".")) for root in roots for path in places(entry.api, entry.name)):
                first, count = found[(entry.api, entry.name)]
                found[(entry.api, entry.name)] = (min(first, when) if first else when, count + 1)
    return found


def report_history() -> None:
    """Print each history entry's first month in the corpus beside the table's first_seen."""
    measured = history_first_seen()
    print(f"{'api':9} {'field':27} {'table':7} {'corpus':7} {'recordings':>10}  note")
    for entry in HISTORY:
        first, count = measured[(entry.api, entry.name)]
        note = ("TABLE LATER THAN THE CORPUS" if first and first < entry.first_seen
                else "earlier in api-differences.md (11 projects)" if first != entry.first_seen else "")
        print(f"{entry.api:9} {entry.name:27} {entry.first_seen:7} {first or '-':7} {count:>10}  {note}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--since", default="2026-05", help="start month of 'today' (default 2026-05)")
    parser.add_argument("--history", action="store_true", help="measure the first month of each late addition")
    args = parser.parse_args()
    if not corpus_available():
        sys.exit(CORPUS_MISSING)
    if args.history:
        report_history()
    else:
        report(objects(), args.since)


if __name__ == "__main__":
    main()
