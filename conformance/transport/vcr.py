"""Cassettes: where they live, how they are scrubbed, matched and written.

Conventions follow pytest-recording: replay (record mode ``none``) is the default,
``--record-mode once|rewrite|all`` records. Layout:
``cassettes/<target>/<capability>/<case-id>.<api>[.stream].yaml``.

Written cassettes are readable: JSON bodies pretty-printed, SSE bodies as text
blocks. Secrets never reach disk: credentials, cookies, account ids and SDK
fingerprint headers are dropped from requests and responses.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from conformance.api.endpoints import api_of, api_tail
from conformance.parsing import load_yaml
from conformance.requests.placeholders import RUN_ID

# Header names (lower-case) removed from recorded requests and responses.
SECRET_HEADERS = {
    "authorization", "api-key", "x-api-key", "cookie", "set-cookie", "openai-organization", "openai-project",
    "x-request-id", "cf-ray", "openai-processing-ms",
    "user-agent",  # the client's fingerprint (``OpenAI/Python 1.109.1`` in the SDK lane): not evidence, never matched
}
SECRET_PREFIXES = ("x-stainless-", "x-ratelimit-")
# Transient answers are not evidence of behaviour: never keep them in a cassette.
TRANSIENT_STATUSES = {429, 503}
# Request fields whose value matters when matching a replayed request to a recording.
IGNORED_BODY_FIELDS = {"user", "metadata", "stream_options.include_obfuscation"}


def cassette_name(case_id: str, api: str, stream: bool) -> str:
    """The file stem of a case's cassette (without ``.yaml``)."""
    return f"{case_id}.{api}" + (".stream" if stream else "")


def cassette_path(root: str | Path, target: str, capability: str, case_id: str, api: str, stream: bool) -> Path:
    """Where the cassette of one case x API x target lives."""
    return Path(root) / target / capability / (cassette_name(case_id, api, stream) + ".yaml")


def _secret(name: str) -> bool:
    name = name.lower()
    return name in SECRET_HEADERS or name.startswith(SECRET_PREFIXES)


def scrub_request(request: Any) -> Any:
    """vcrpy ``before_record_request``: drop credential and fingerprint headers; keep only API calls."""
    if api_of(request.path) is None:
        return None  # e.g. a server's readiness probe: not part of any case
    for name in list(request.headers):
        if _secret(name):
            del request.headers[name]
    return request


def scrub_response(response: dict[str, Any]) -> dict[str, Any] | None:
    """vcrpy ``before_record_response``: drop secret headers; refuse transient answers."""
    if response["status"]["code"] in TRANSIENT_STATUSES:
        return None
    response["headers"] = {k: v for k, v in response["headers"].items() if not _secret(k)}
    return response


def scrub_response_keeping_status(response: dict[str, Any]) -> dict[str, Any]:
    """``scrub_response`` for generated-request recordings (``conformance fuzz``): the same headers dropped,
    but every answer kept, 429 and 5xx included (a server error to a generated request is the finding)."""
    response["headers"] = {k: v for k, v in response["headers"].items() if not _secret(k)}
    return response


def normalise(body: Any) -> Any:
    """A request body as the matcher compares it: ignored fields dropped, ``stream: false`` as absent.

    ``stream: false`` is the default, and ``chat.completions.parse()`` of the openai SDK (every major)
    always sends it, so a case without ``stream`` matches its recording through the SDK lane too.
    """
    if not isinstance(body, dict):
        return body
    out = {k: v for k, v in body.items() if k not in IGNORED_BODY_FIELDS and not (k == "stream" and v is False)}
    if isinstance(out.get("stream_options"), dict):
        out["stream_options"] = {k: v for k, v in out["stream_options"].items() if k != "include_obfuscation"}
    return out


def _body(request: Any) -> Any:
    raw = request.body
    if raw in (None, b"", ""):
        return None
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "replace")
    try:
        return json.loads(raw)
    except ValueError:
        return multipart_parts(raw) or raw


def multipart_parts(text: str) -> list[tuple[str, str]] | None:
    """A multipart/form-data body as (part headers, part content) pairs, whatever its boundary (None when the
    text is not one): two uploads of the same fields and file match, however a client chose its boundary."""
    first = text.split("\r\n", 1)[0]
    if not first.startswith("--") or not text.rstrip().endswith(first + "--"):
        return None
    parts = []
    for chunk in text.rstrip()[len(first):-len(first) - 2].split(first):
        head, _, content = chunk.strip("\r\n").partition("\r\n\r\n")
        parts.append(("\n".join(sorted(line.strip().lower() for line in head.splitlines())), content))
    return parts


def recorded_run_id(cassette: Path) -> str | None:
    """The run id (``${run.id}``) a cassette was recorded with, read from its requests; None when it has none.
    Replay sends what was recorded, so a case that names what it creates by the run reuses the recording's id."""
    try:
        text = cassette.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    found = RUN_ID.search(text)
    return found.group(0) if found else None


def json_body_matcher(r1: Any, r2: Any) -> None:
    """vcrpy matcher: request bodies equal as JSON (key order and SDK-injected fields ignored)."""
    a, b = normalise(_body(r1)), normalise(_body(r2))
    if a != b:
        raise AssertionError(f"request bodies differ:\n  sent:     {json.dumps(a, sort_keys=True)[:400]}\n"
                             f"  recorded: {json.dumps(b, sort_keys=True)[:400]}")


def path_matcher(r1: Any, r2: Any) -> None:
    """vcrpy matcher: the API path, ignoring a base URL prefix such as ``/v1``."""
    if api_tail(r1.path) != api_tail(r2.path):
        raise AssertionError(f"paths differ: {r1.path} != {r2.path}")


class _Dumper(yaml.SafeDumper):
    """Writes multi-line strings (pretty JSON, SSE) as literal blocks."""


# Characters a YAML loader reads as line breaks inside a literal block and turns into "\n" (YAML 1.1: CR, NEL,
# LS, PS). A body holding one is written double-quoted (escaped) instead, or it would not read back the same.
_YAML_BREAKS = ("\r", "\x85", "\u2028", "\u2029")


def _str(dumper: yaml.SafeDumper, value: str) -> Any:
    if "\n" in value and not any(mark in value for mark in _YAML_BREAKS):
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_Dumper.add_representer(str, _str)


def pretty_body(text: str, content_type: str) -> str:
    """JSON pretty-printed (readable diffs); anything else as it came."""
    if "json" in content_type:
        try:
            return json.dumps(json.loads(text), indent=2, ensure_ascii=False) + "\n"
        except ValueError:
            return text
    return text


def _readable(interaction: dict[str, Any]) -> dict[str, Any]:
    request, response = interaction["request"], interaction["response"]
    body = request.get("body")
    if isinstance(body, str):
        request["body"] = pretty_body(body, "json")
    headers = {k.lower(): v for k, v in (response.get("headers") or {}).items()}
    content_type = (headers.get("content-type") or [""])[0]
    payload = response.get("body", {}).get("string")
    if isinstance(payload, str):
        response["body"]["string"] = pretty_body(payload, content_type)
        # the stored body is no longer byte-identical: drop headers that describe the old bytes
        response["headers"] = {k: v for k, v in response["headers"].items()
                               if k.lower() not in ("content-length", "content-encoding", "transfer-encoding")}
    return interaction


class ReadableYamlSerializer:
    """vcrpy serializer (registered as ``yaml``) writing readable cassettes; loads with the C safe loader."""

    @staticmethod
    def serialize(cassette_dict: dict[str, Any]) -> str:
        cassette_dict = dict(cassette_dict)
        cassette_dict["interactions"] = [_readable(i) for i in cassette_dict.get("interactions", [])]
        return yaml.dump(cassette_dict, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=120)

    @staticmethod
    def deserialize(cassette_string: str) -> dict[str, Any]:
        return load_yaml(cassette_string)


def vcr_config() -> dict[str, Any]:
    """Keyword arguments for ``VCR.use_cassette`` (never a record mode: that comes from the command line)."""
    return {
        "match_on": ["method", "conformance_path", "conformance_json_body"],
        "before_record_request": scrub_request,
        "before_record_response": scrub_response,
        "decode_compressed_response": True,
        "allow_playback_repeats": False,
    }


def configure_vcr(vcr: Any) -> None:
    """Register our matchers and serializer on a VCR instance (pytest-recording's hook calls this)."""
    vcr.register_matcher("conformance_path", path_matcher)
    vcr.register_matcher("conformance_json_body", json_body_matcher)
    vcr.register_serializer("yaml", ReadableYamlSerializer)
