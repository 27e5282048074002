"""Write vcrpy cassettes by code, in the body encodings real projects use.

The audit's self-tests and its benchmark build their inputs with this from the
recorded-traffic corpus at run time, into temporary directories only (the corpus
is third-party data and is never stored in the repository).

Body styles: ``text`` (``body: {string: ...}``), ``gzip``/``br``/``zstd``
(compressed bytes as YAML ``!!binary`` with a ``Content-Encoding`` header),
``base64`` (gzip bytes as a base64 *string*), ``parsed`` (pydantic-ai's
``parsed_body:`` mapping for JSON bodies).
"""

from __future__ import annotations

import base64
import gzip
import json
from pathlib import Path
from typing import Any

import brotli
import yaml
import zstandard

STYLES = ("text", "gzip", "br", "zstd", "base64", "parsed")
HEADER_COMMENT = "# Generated from third-party data (../shared/corpus) for self-tests; never commit.\n"
REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 500: "Internal Server Error"}


def _compress(data: bytes, coding: str) -> bytes:
    if coding == "gzip":
        return gzip.compress(data, mtime=0)
    if coding == "br":
        return brotli.compress(data, quality=5)  # the default (11) is very slow on large bodies
    return zstandard.ZstdCompressor().compress(data)


def interaction(method: str, url: str, request_body: Any, status: int | None, content_type: str | None,
                body: Any, *, date: str | None = None, style: str = "text") -> dict[str, Any]:
    """One vcrpy interaction. ``body`` is the answer as text, as parsed JSON, or None (no body)."""
    if style not in STYLES:
        raise ValueError(f"unknown body style {style!r} (one of {', '.join(STYLES)})")
    headers: dict[str, list[str]] = {}
    if content_type:
        headers["Content-Type"] = [content_type]
    if date:
        headers["Date"] = [date]
    request: dict[str, Any] = {"method": method, "uri": url, "headers": {}}
    response: dict[str, Any] = {"status": {"code": status, "message": REASONS.get(status or 0, "")}, "headers": headers}
    if style == "parsed" and not isinstance(request_body, str):
        request["parsed_body"] = request_body
    else:
        request["body"] = request_body if request_body is None or isinstance(request_body, str) \
            else json.dumps(request_body)
    if body is None:
        response["body"] = {"string": None}
    elif style == "parsed" and isinstance(body, (dict, list)):
        response["parsed_body"] = body
        response["headers"] = {k.lower(): v for k, v in headers.items()}  # as pydantic-ai's serializer writes them
    else:
        text = body if isinstance(body, str) else json.dumps(body)
        if style in ("gzip", "br", "zstd"):
            headers["Content-Encoding"] = [style]
            response["body"] = {"string": _compress(text.encode(), style)}
        elif style == "base64":
            headers["Content-Encoding"] = ["gzip"]
            response["body"] = {"string": base64.b64encode(_compress(text.encode(), "gzip")).decode()}
        else:
            response["body"] = {"string": text}
    return {"request": request, "response": response}


def from_corpus_record(record: dict[str, Any], style: str = "text") -> dict[str, Any]:
    """A vcrpy interaction rebuilt from one corpus record (see ../shared/corpus/README.md)."""
    return interaction(record.get("method", "POST"), record.get("url", ""), record.get("request_body"),
                       record.get("status"), record.get("response_content_type"), record.get("response_body"),
                       date=record.get("response_date"), style=style)


def write_cassette(path: str | Path, interactions: list[dict[str, Any]]) -> Path:
    """Write a vcrpy cassette (gzipped when the name ends in ``.gz``), labelled as generated test data."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = HEADER_COMMENT + yaml.dump({"interactions": interactions, "version": 1}, Dumper=yaml.CSafeDumper,
                                      sort_keys=False, allow_unicode=True)
    data = text.encode()
    path.write_bytes(gzip.compress(data, mtime=0) if path.name.endswith(".gz") else data)
    return path
