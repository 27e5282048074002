"""Recordings: find cassette files and decode their interactions into Exchanges (the one reader of cassettes).

Reads vcrpy cassettes (``interactions:``) and, since the layout is the same,
Ruby VCR ones (``http_interactions:``), plain or gzipped. Bodies come in many
forms in real projects; each is turned into the text the server sent:

- ``body: {string: TEXT}`` or ``body: TEXT``;
- bytes (YAML ``!!binary``) or ``base64_string:``, compressed or not: decoded per
  the recorded ``Content-Encoding`` (gzip, deflate, br, zstd); a header that no
  longer matches the stored bytes (the recorder decoded them) is tolerated;
- a body stored as a parsed YAML mapping (``parsed_body:``, or a mapping under
  ``body``): kept as the parsed JSON, so it is never parsed twice;
- a missing, null or undecodable body: the interaction is kept, with a
  ``problem`` saying why, so the audit reports it instead of crashing.

Exchange records in JSON Lines (``.jsonl``, ``.jsonl.gz``: one interaction per line with ``method``,
``url``, ``request_body``, ``status``, ``response_content_type``, ``response_body`` (parsed JSON, or the
text as sent) and ``response_date``, the format of the recorded-traffic corpus) are read too.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance.transport import documents
from conformance.transport.bounded import MAX_BODY_BYTES, TooLarge, gunzip, inflate
from conformance.transport.exchange import Exchange
from conformance.parsing import MAX_BYTES, MAX_DEPTH, ParseError, load_json, load_yaml

JSONL_SUFFIXES = (".jsonl", ".jsonl.gz")
SUFFIXES = (".yaml", ".yml", ".yaml.gz", ".yml.gz", *JSONL_SUFFIXES)
GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
# A recorded stream with more events than this is not judged (a finding names the figure).
MAX_STREAM_EVENTS = 100_000


class CassetteError(Exception):
    """A file that cannot be read as a cassette (an input error: exit status 2)."""


@dataclass
class Recorded:
    """One interaction of a cassette, ready to be judged."""

    cassette: str
    index: int  # 0-based position in the cassette
    exchange: Exchange
    date: str | None = None  # the recorded ``Date`` header (or Ruby VCR's ``recorded_at``)
    problem: str | None = None  # why the response body could not be read, if it could not
    malformed: str | None = None  # why this is not a readable interaction at all (an input error, not a verdict)


def is_cassette_name(path: Path) -> bool:
    """True for the file names a directory search picks up."""
    return path.name.lower().endswith(SUFFIXES)


def find_cassettes(paths: list[str]) -> tuple[list[Path], list[dict[str, str]]]:
    """Expand the command's PATH arguments into cassette files (in argument order, each directory sorted, no
    duplicates).

    A file named on the command line is taken whatever its name; directories are
    searched recursively for ``.yaml``/``.yml`` files (optionally ``.gz``).
    Returns the files and the input errors (paths that do not exist).
    """
    files: dict[Path, None] = {}
    errors = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and is_cassette_name(p))
            if not found:
                errors.append({"path": raw, "message": "no .yaml/.yml cassette (or .jsonl record) files in this directory"})
            files.update(dict.fromkeys(found))
        elif path.is_file():
            files[path] = None
        else:
            errors.append({"path": raw, "message": "no such file or directory"})
    return list(files), errors


def read_document(path: Path) -> Any:
    """The parsed YAML of a cassette file (gunzipped first when needed), with the C loader; the document replay
    already parsed when the file has not changed since (``documents``)."""
    found = documents.kept(path)
    if found is not None:
        return found
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CassetteError(f"cannot read: {exc.strerror or exc}") from None
    if data[:2] == GZIP_MAGIC:
        try:
            data = gunzip(data, MAX_BYTES)
        except TooLarge:
            raise CassetteError(f"the gzip file inflates to more than {MAX_BYTES:,} bytes (the limit)") from None
        except Exception as exc:  # noqa: BLE001  (zlib.error, EOFError, ...)
            raise CassetteError(f"broken gzip file: {exc}") from None
    try:
        return load_yaml(data)
    except ParseError as exc:
        raise CassetteError(str(exc)) from None


def interactions_of(document: Any) -> list[Any] | None:
    """The interaction list of a cassette document, or None when it is not a cassette."""
    if isinstance(document, dict):
        for key in ("interactions", "http_interactions"):
            if isinstance(document.get(key), list):
                return document[key]
    return None


def load_cassette(path: Path) -> list[Recorded]:
    """Decode every interaction of one cassette file. Raises CassetteError when it is not a cassette."""
    if path.name.lower().endswith(JSONL_SUFFIXES):
        return load_records(path)
    interactions = interactions_of(read_document(path))
    if interactions is None:
        raise CassetteError("not a cassette (no 'interactions' list)")
    return [decode_interaction(str(path), index, raw) for index, raw in enumerate(interactions)]


def is_empty(path: Path) -> bool:
    """True for a cassette that records no interaction at all (``interactions: []``, as Ruby VCR writes for a
    test that sent nothing): it is read, counted and listed, and has nothing to judge."""
    return not path.name.lower().endswith(JSONL_SUFFIXES) and interactions_of(read_document(path)) == []


def load_records(path: Path) -> list[Recorded]:
    """Decode a JSON Lines file of exchange records (see the module's docstring), one Recorded per line."""
    try:
        data = path.read_bytes()
        text = (gunzip(data, MAX_BYTES) if data[:2] == GZIP_MAGIC else data).decode("utf-8")
    except Exception as exc:  # noqa: BLE001  (OSError, zlib.error, EOFError, TooLarge, UnicodeDecodeError)
        raise CassetteError(f"cannot read: {exc}") from None
    out = []
    for index, line in enumerate(line for line in text.splitlines() if line.strip()):
        try:
            record = load_json(line)
        except ParseError as exc:
            raise CassetteError(f"line {index + 1} is not JSON: {exc}") from None
        if not isinstance(record, dict):
            raise CassetteError(f"line {index + 1} is not a JSON object")
        out.append(decode_interaction(str(path), index, _as_interaction(record)))
    return out


def _stored(value: Any) -> dict[str, Any]:
    """A record's body as a cassette stores it: parsed JSON as ``parsed_body``, text as ``body``."""
    return {"parsed_body": value} if isinstance(value, (dict, list)) else {"body": value}


def _as_interaction(record: dict[str, Any]) -> dict[str, Any]:
    """An exchange record in the shape of a vcrpy interaction."""
    headers = {name: record[key] for name, key in (("content-type", "response_content_type"),
                                                    ("date", "response_date")) if record.get(key)}
    return {"request": {"method": record.get("method"), "uri": record.get("url"), **_stored(record.get("request_body"))},
            "response": {"status": {"code": record.get("status")}, "headers": headers,
                         **_stored(record.get("response_body"))}}


def _headers(raw: Any) -> dict[str, str]:
    """Recorded headers (``Name: [values]`` or ``Name: value``) as lower-case name -> value."""
    if not isinstance(raw, dict):
        return {}
    out = {}
    for name, value in raw.items():
        if isinstance(value, list):
            value = ", ".join(_text(v) for v in value)
        out[_text(name).lower()] = "" if value is None else _text(value)
    return out


def _text(value: Any, limit: int = 64 * 1024) -> str:
    """A scalar of a cassette as text; a collection where a scalar belongs is shown cut at ``limit``."""
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    text = str(value)  # bounded: the parser refuses documents whose aliases expand beyond its limit
    return text if len(text) <= limit else text[:limit] + "..."


def _stored_body(part: dict[str, Any]) -> Any:
    """The body as stored: text, bytes, a parsed mapping/list, or None when absent."""
    if "parsed_body" in part:
        return part["parsed_body"]
    body = part.get("body")
    if isinstance(body, dict):
        if "string" in body:
            return body["string"]
        if "base64_string" in body:  # Ruby VCR's binary bodies
            try:
                return base64.b64decode(str(body["base64_string"]))
            except (binascii.Error, ValueError):
                return body["base64_string"]
        if set(body) <= {"encoding"}:
            return None
    return body


def _looks_like_text(text: str) -> bool:
    """True when ``text`` already is a JSON or SSE body (not base64 or compressed)."""
    head = text.lstrip()[:6]
    return head == "" or head[0] in "{[\"" or head.startswith(("data:", "event:", ":", "null", "true", "false"))


def _decompress(data: bytes, codings: list[str]) -> bytes:
    """Undo ``Content-Encoding`` (applied in order, so undone in reverse), within ``MAX_BODY_BYTES``."""
    return inflate(data, codings, MAX_BODY_BYTES)


def decode_body(stored: Any, headers: dict[str, str]) -> tuple[str, Any, str | None]:
    """Return (text, parsed, problem) for a stored body.

    ``parsed`` is the JSON value when the body was stored parsed (else None: the
    Exchange parses ``text`` lazily, once). ``problem`` says why there is no usable body.
    """
    if stored is None:
        return "", None, "no body recorded (null or missing)"
    if isinstance(stored, (dict, list)):
        try:  # YAML may hold what JSON cannot (dates, bytes, non-string keys): shown as text
            return json.dumps(stored, ensure_ascii=False, default=str), stored, None
        except (TypeError, ValueError, RecursionError) as exc:
            return "", None, f"the body stored as YAML data is not JSON: {exc}"
    codings = [c.strip().lower() for c in headers.get("content-encoding", "").split(",") if c.strip()]
    if isinstance(stored, bytes):
        text, problem = _decode_bytes(stored, codings)
        return text, None, problem
    text = _text(stored, MAX_BODY_BYTES + 1)
    if _looks_like_text(text):
        return text, None, None  # plain text (a stale Content-Encoding header is ignored)
    try:  # base64 text, e.g. compressed bytes written by a serializer that only stores strings
        decoded, problem = _decode_bytes(base64.b64decode(text, validate=True), codings)
    except (binascii.Error, ValueError):
        return text, None, None
    if problem is None and _looks_like_text(decoded):
        return decoded, None, None
    return text, None, None  # not base64 after all: an ordinary text body


def _decode_bytes(data: bytes, codings: list[str]) -> tuple[str, str | None]:
    """Decompress (per ``codings``, or the gzip/zstd magic bytes) and decode UTF-8: (text, problem)."""
    if not codings and data[:2] == GZIP_MAGIC:
        codings = ["gzip"]  # some recorders drop the header but keep the bytes
    elif not codings and data[:4] == ZSTD_MAGIC:
        codings = ["zstd"]
    if codings:
        try:
            data = _decompress(data, codings)
        except TooLarge as exc:
            return "", str(exc)
        except Exception as exc:  # noqa: BLE001  (zlib, brotli and zstandard raise different types)
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                text = None
            if text is not None and _looks_like_text(text):
                return text, None  # already decoded by the recorder; the header is stale
            return "", f"cannot decode the {'+'.join(codings)} body: {exc}"
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        return "", f"the body is not UTF-8 text: {exc}"


def _request_body(request: dict[str, Any], headers: dict[str, str]) -> Any:
    """The request's JSON (parsed), its raw text when not JSON, or None."""
    stored = _stored_body(request)
    if stored is None or stored == "" or stored == b"":
        return None
    text, parsed, _ = decode_body(stored, headers)
    if parsed is not None:
        return parsed
    try:
        return load_json(text)
    except ParseError:
        return text


def _sniff_content_type(text: str) -> str:
    """A content type for a body recorded without one."""
    head = text.lstrip()[:6]
    if head.startswith(("data:", "event:")):
        return "text/event-stream"
    if head[:1] in ("{", "["):
        return "application/json"
    return ""


def decode_interaction(cassette: str, index: int, raw: Any) -> Recorded:
    """One recorded interaction as a Recorded (never raises: problems are reported on it)."""
    try:
        return _decode_interaction(cassette, index, raw)
    except Exception as exc:  # noqa: BLE001  (a shape no branch foresaw: reported on the interaction)
        return Recorded(cassette, index, Exchange(method="", url=""),
                        problem=f"cannot decode the interaction: {type(exc).__name__}: {str(exc)[:300]}")


def _body_problem(text: str, headers: dict[str, str]) -> str | None:
    """Why a decoded body cannot be judged (its size, its number of events, JSON nested too deep), or None."""
    if len(text) > MAX_BODY_BYTES:
        return f"the recorded body is {len(text):,} characters, over the {MAX_BODY_BYTES:,} limit: not judged"
    if "event-stream" in headers.get("content-type", ""):
        if text.count("data:") > MAX_STREAM_EVENTS:
            return (f"the recorded stream has {text.count('data:'):,} events, over the {MAX_STREAM_EVENTS:,} "
                    f"limit: not judged")
    elif text.count("[") + text.count("{") > MAX_DEPTH and text.lstrip()[:1] in ("[", "{"):
        try:  # many brackets (a cheap count): nested too deep to judge?
            load_json(text)
        except ParseError as exc:
            if "nested deeper" in str(exc):
                return f"the body is {exc}: not judged"
    return None


def _malformed(raw: Any) -> str | None:
    """Why ``raw`` is not a readable interaction (what the request is cannot be told), or None."""
    if not isinstance(raw, dict):
        return f"not an interaction: a {type(raw).__name__}, not a mapping with request and response"
    request = raw.get("request")
    if not isinstance(request, dict):
        return f"its request is a {type(request).__name__}, not a mapping"
    uri, method = request.get("uri", request.get("url")), request.get("method")
    if not isinstance(uri, str) or not uri:
        return f"its request has no uri (found {type(uri).__name__})"
    if not isinstance(method, str) or not method:
        return f"its request has no method (found {type(method).__name__})"
    return None


def _decode_interaction(cassette: str, index: int, raw: Any) -> Recorded:
    malformed = _malformed(raw)
    if malformed:
        return Recorded(cassette, index, Exchange(method="", url=""), problem=malformed, malformed=malformed)
    request = raw.get("request") if isinstance(raw.get("request"), dict) else {}
    response = raw.get("response") if isinstance(raw.get("response"), dict) else {}
    request_headers = _headers(request.get("headers"))
    headers = _headers(response.get("headers"))
    status = response.get("status")
    code = status.get("code") if isinstance(status, dict) else status
    try:
        code = int(code) if code is not None else None
    except (TypeError, ValueError, OverflowError):  # OverflowError: ``code: .inf``
        code = None
    text, parsed, problem = decode_body(_stored_body(response), headers)
    if not problem:
        problem = _body_problem(text, headers)
        if problem:
            text, parsed = "", None
    if not problem and text.strip() == "":
        problem = "the recorded body is empty"
    if "content-type" not in headers and text:
        sniffed = _sniff_content_type(text)
        if sniffed:
            headers["content-type"] = sniffed
    exchange = Exchange(
        method=_text(request.get("method") or "", 1000).upper(),
        url=_text(request.get("uri") or request.get("url") or ""),
        request_body=_request_body(request, request_headers),
        status=code,
        headers=headers,
        text=text,
    )
    if parsed is not None:
        exchange.__dict__["json"] = parsed  # seed Exchange.json (a cached_property): parse each body once
    if code is None and not problem:
        problem = "no status code recorded"
    date = headers.get("date") or (_text(raw["recorded_at"], 1000) if raw.get("recorded_at") else None)
    return Recorded(cassette, index, exchange, date=date, problem=problem)
