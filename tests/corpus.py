"""Shared access to the recorded-traffic corpus for the test suite.

The corpus is third-party data kept outside the repository (``../shared/corpus``);
it is read at run time only and never copied into the project. Tests that need
it call ``pytest.skip(CORPUS_MISSING)`` when ``corpus_available()`` is False.

Records are loaded once per process (the files are large) and shared between
test modules; treat them as read-only and ``copy.deepcopy`` before mutating.
"""

from __future__ import annotations

import gzip
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from support.findings import missing_fields, only_missing
from conformance.transport.exchange import Exchange

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
CORPUS_DIR = SHARED / "corpus"
CORPUS_MISSING = f"recorded-traffic corpus not found at {CORPUS_DIR} (third-party data, not in the repository)"


def corpus_available() -> bool:
    """True when the corpus files are present."""
    return CORPUS_DIR.is_dir() and any(CORPUS_DIR.glob("*.jsonl.gz"))


@lru_cache(maxsize=1)
def _all_records() -> tuple[dict[str, Any], ...]:
    """Every corpus record, read once per process."""
    records: list[dict[str, Any]] = []
    for path in sorted(CORPUS_DIR.glob("*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    records.append(json.loads(line))
    return tuple(records)


def load_corpus(api: str | None = None, stream: bool | None = None, official: bool = True,
                genuine: bool = True) -> list[dict[str, Any]]:
    """Corpus records filtered by ``api`` ('chat'|'responses'|'conversations'), ``stream``,
    ``official`` (host api.openai.com only) and ``genuine`` (no synthetic suspicion).

    ``None`` for ``api``/``stream`` means "any"; ``official=False``/``genuine=False`` mean "don't filter".
    Returns [] when the corpus is absent.
    """
    if not corpus_available():
        return []
    out = []
    for record in _all_records():
        if api is not None and record.get("api") != api:
            continue
        if stream is not None and bool(record.get("stream")) != stream:
            continue
        if official and not record.get("official_openai"):
            continue
        if genuine and record.get("synthetic_suspect"):
            continue
        out.append(record)
    return out


def exchange_from_record(record: dict[str, Any], step: str = "main") -> Exchange:
    """Build an ``Exchange`` from a corpus record (the body re-serialised, a stream's SSE text as recorded)."""
    body = record.get("response_body")
    if isinstance(body, str):
        text = body  # SSE text, or a non-JSON body, exactly as recorded
    elif body is None:
        text = ""
    else:
        text = json.dumps(body)
    headers = {}
    if record.get("response_content_type"):
        headers["content-type"] = record["response_content_type"]
    return Exchange(method=record.get("method", "POST"), url=record.get("url", ""),
                    request_body=record.get("request_body"), status=record.get("status"),
                    headers=headers, text=text, step=step)


def with_body(record: dict[str, Any], body: Any) -> Exchange:
    """The record's exchange with another JSON body (a code-built deviant of a real answer)."""
    return exchange_from_record({**record, "response_body": body})


def genuine_records() -> list[dict[str, Any]]:
    """Every genuine official record; skips the calling test when the corpus is absent."""
    import pytest

    if not corpus_available():
        pytest.skip(CORPUS_MISSING)
    return load_corpus()


def assert_finding(failures: list[Any], name: str, verdict: Any, missing: list[str] | None = None) -> None:
    """Exactly one finding, from ``name``, with ``verdict`` (and the missing-field evidence, if given)."""
    assert len(failures) == 1, failures
    assert (failures[0].check, failures[0].verdict) == (name, verdict), failures[0]
    if missing is not None:
        assert missing_fields(failures[0]) == missing, failures[0].evidence
