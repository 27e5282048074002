"""Cassettes: where they live, how they are scrubbed, matched and written.

Conventions follow pytest-recording: replay (record mode ``none``) is the default,
``--record-mode once|rewrite|all`` records. Layout:
``cassettes/<target>/<capability>/<case-id>.<api>[.stream].yaml``.

Written cassettes are readable: JSON bodies pretty-printed, SSE bodies as text
blocks. Secrets never reach disk: credentials, cookies, account ids and SDK
fingerprint headers are dropped from requests and responses, userinfo and
credential-like query parameters from URLs, and every known secret value or
OpenAI-key-like string is replaced in what remains, bodies included
(``conformance.redaction``). ``SafePersister`` writes a cassette through a temporary
file and a rename, only after a last scan finds no secret in it; in a suite run,
only when its case completed (``mark_completed``), so an interrupted recording
never leaves a cassette that replays. ``version:`` is written last: a cassette cut
short lacks it, and replay says so (``load_problem``) instead of judging half of it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import yaml

from conformance import redaction
from conformance.api.endpoints import api_of, api_tail
from conformance.parsing import ParseError, load_yaml
from conformance.requests.placeholders import RUN_ID
from conformance.transport import documents

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
    return name in SECRET_HEADERS or name.startswith(SECRET_PREFIXES) or redaction.secret_header(name)


def scrub_request(request: Any) -> Any:
    """vcrpy ``before_record_request`` (on a copy): drop credential and fingerprint headers, userinfo and
    credential-like query parameters; redact secrets left in the URL, headers and body; keep only API calls."""
    if api_of(request.path) is None:
        return None  # e.g. a server's readiness probe: not part of any case
    for name in list(request.headers):
        if _secret(name):
            del request.headers[name]
        else:
            request.headers[name] = redaction.redact(request.headers[name])
    request.uri = redaction.redact_url(request.uri)
    body = request.body
    if isinstance(body, (bytes, str)) and body:
        request.body = redaction.redact_bytes(body.encode("utf-8") if isinstance(body, str) else body)
    return request


def _scrubbed(response: dict[str, Any]) -> dict[str, Any]:
    """A response dict without secret headers, its other headers and its body redacted (a new dict)."""
    headers = {name: [redaction.redact(v) if isinstance(v, str) else v for v in values]
               if isinstance(values, list) else redaction.redact(values)
               for name, values in response["headers"].items() if not _secret(name)}
    out = {**response, "headers": headers}
    body = response.get("body")
    if isinstance(body, dict) and isinstance(body.get("string"), (bytes, str)):
        text = body["string"]
        out["body"] = {**body, "string": redaction.redact_bytes(text) if isinstance(text, bytes)
                       else redaction.redact(text)}
    return out


def scrub_response(response: dict[str, Any]) -> dict[str, Any] | None:
    """vcrpy ``before_record_response``: drop secret headers, redact secrets echoed in the others and in the
    body; refuse transient answers."""
    if response["status"]["code"] in TRANSIENT_STATUSES:
        return None
    return _scrubbed(response)


def scrub_response_keeping_status(response: dict[str, Any]) -> dict[str, Any]:
    """``scrub_response`` for generated-request recordings (``conformance fuzz``): the same scrubbing,
    but every answer kept, 429 and 5xx included (a server error to a generated request is the finding)."""
    return _scrubbed(response)


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
    Replay sends what was recorded, so a case that names what it creates by the run reuses the recording's id.
    The first one in the file is taken: from the document replay parsed when there is one (its strings in the
    file's order), else from the text."""
    document = documents.kept(cassette)
    if document is None:
        try:
            text = cassette.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None
        found = RUN_ID.search(text)
        return found.group(0) if found else None
    pending = [document]  # depth first, in the order the file holds them
    while pending:
        value = pending.pop()
        if isinstance(value, str):
            found = RUN_ID.search(value)
            if found:
                return found.group(0)
        elif isinstance(value, dict):
            pending.extend(reversed([item for pair in value.items() for item in pair]))
        elif isinstance(value, list):
            pending.extend(reversed(value))
    return None


def match_body(request: Any) -> Any:
    """What ``json_body_matcher`` compares of a request (anything with a ``body``): its body parsed (JSON, else
    multipart parts, else text) and ``normalise``d."""
    return normalise(_body(request))


def json_body_matcher(r1: Any, r2: Any) -> None:
    """vcrpy matcher: request bodies equal as JSON (key order and SDK-injected fields ignored)."""
    a, b = match_body(r1), match_body(r2)
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
        cassette_dict["version"] = cassette_dict.pop("version", 1)  # last: a file cut short lacks it
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


# HTTP libraries vcrpy tries to import each time it enters a cassette, to patch them when present.
VCR_OPTIONAL_LIBRARIES = ("botocore", "boto3", "urllib3", "requests", "httplib2", "tornado", "aiohttp", "httpx",
                          "httpx_curl_cffi", "pyreqwest")


def skip_absent_libraries(names: tuple[str, ...] = VCR_OPTIONAL_LIBRARIES) -> list[str]:
    """Mark the libraries of ``names`` that are not installed as absent (``sys.modules[name] = None``), so the
    ``import`` vcrpy tries for each of them on every cassette fails at once instead of searching every folder
    of ``sys.path`` again (a failed import is not cached by Python). Returns the names marked. Installed ones,
    and ones already imported, are left alone."""
    import importlib.util
    import sys

    marked = []
    for name in names:
        if name in sys.modules:
            continue
        try:
            absent = importlib.util.find_spec(name) is None
        except (ImportError, ValueError):
            absent = False
        if absent:
            sys.modules[name] = None  # type: ignore[assignment]  # Python's own "known absent" marker
            marked.append(name)
    return marked


def configure_vcr(vcr: Any, only_completed: bool = False) -> None:
    """Register our matchers, serializer and persister on a VCR instance (pytest-recording's hook calls this);
    ``only_completed``: write a cassette only once ``mark_completed`` was called for it (the suite's runs).
    HTTP libraries vcrpy would look for on every cassette are looked for once (``skip_absent_libraries``)."""
    skip_absent_libraries()
    vcr.register_matcher("conformance_path", path_matcher)
    vcr.register_matcher("conformance_json_body", json_body_matcher)
    vcr.register_serializer("yaml", ReadableYamlSerializer)
    vcr.register_persister(CompletedOnlyPersister if only_completed else SafePersister)


# ----------------------------------------------------------------------------------------------------------------
# Reading and writing cassette files.

_load_problems: dict[str, str] = {}  # absolute cassette path -> why it could not be replayed
_completed: set[str] = set()  # absolute cassette paths whose case completed in this process
unsaved: list[str] = []  # cassettes a CompletedOnlyPersister did not write (their case did not complete)


class SecretInCassette(RuntimeError):
    """A cassette about to be written still holds a secret: it is not written."""


def _key(path: str | Path) -> str:
    return os.path.abspath(path)  # not resolve(): no symlink lookups for each cassette of a run


def mark_completed(path: str | Path) -> None:
    """The case recorded in ``path`` completed: its cassette may be written."""
    _completed.add(_key(path))


def load_problem(path: str | Path) -> str | None:
    """Why the cassette at ``path`` could not be read when its case started (None when it could)."""
    return _load_problems.get(_key(path))


def cassette_problem(document: Any) -> str | None:
    """What makes a parsed document unusable as a vcrpy cassette (None when it is one)."""
    if not isinstance(document, dict) or not isinstance(document.get("interactions"), list):
        return "not a cassette (no `interactions` list)"
    for index, interaction in enumerate(document["interactions"]):
        request = interaction.get("request") if isinstance(interaction, dict) else None
        response = interaction.get("response") if isinstance(interaction, dict) else None
        if not isinstance(request, dict) or not isinstance(response, dict):
            return f"interaction {index}: no request/response mapping"
        if not isinstance(request.get("method"), str) or not isinstance(request.get("uri"), str):
            return f"interaction {index}: the request has no method or uri"
        status = response.get("status")
        if not isinstance(status, dict) or type(status.get("code")) is not int:
            return f"interaction {index}: the response has no status code"
        if not isinstance(response.get("headers", {}), dict) or not isinstance(response.get("body"), dict):
            return f"interaction {index}: the response has no headers or body mapping"
    if "version" not in document:
        return "no `version:` key: the cassette is cut short (it is written last) or was not written by vcrpy"
    return None


def _copied_responses(document: dict[str, Any]) -> dict[str, Any]:
    """The document with each response (and its body) copied: vcrpy turns body strings into bytes in place, and
    the kept document must stay as parsed."""
    interactions = [{**one, "response": {**one["response"], "body": dict(one["response"]["body"])}}
                    for one in document["interactions"]]
    return {**document, "interactions": interactions}


class _Parsed:
    """A serializer that hands vcrpy a document already parsed (and checked)."""

    def __init__(self, document: Any):
        self.document = document

    def deserialize(self, _text: str) -> Any:
        return self.document


def read_cassette(path: str | Path) -> tuple[Any, str | None]:
    """(document, None) for the replayable cassette at ``path``, kept for the run's report
    (``documents.keep``); (None, why) when it cannot be replayed (not UTF-8 or YAML, over a limit, cut short,
    a wrong shape), and ``load_problem(path)`` says why from then on; (None, None) when there is no such file."""
    path = Path(path)
    document = documents.kept(path)
    if document is not None:  # read before in this process, and unchanged since
        return document, None
    if not path.is_file():
        return None, None
    problem = None
    try:
        read_at = documents.stamp(path)
        text = path.read_bytes().decode("utf-8")
        if not text.strip():
            problem = "the file is empty"
        else:
            document = load_yaml(text)
            problem = cassette_problem(document)
    except UnicodeDecodeError as exc:
        problem = f"not UTF-8 text (byte {exc.start})"
    except (OSError, ParseError) as exc:
        problem = str(exc)
    if problem is not None:
        _load_problems[_key(path)] = problem
        return None, problem
    documents.keep(path, document, read_at)  # the report reads the same document later
    return document, None


class SafePersister:
    """vcrpy persister: reads with the bounded loader, writes atomically after a last scan for secrets.

    A cassette that cannot be replayed (not YAML, over a limit, cut short, a wrong shape) is treated as
    absent, and why is kept for ``load_problem``: replay reports it as the cell's error, recording
    replaces it."""

    @staticmethod
    def load_cassette(cassette_path: str | Path, serializer: Any) -> Any:
        from vcr.persisters.filesystem import CassetteNotFoundError
        from vcr.serialize import deserialize

        document, problem = read_cassette(cassette_path)
        if document is None and problem is None:
            raise CassetteNotFoundError()
        if problem is None:
            try:  # vcrpy builds its objects from what we parsed
                return deserialize("", _Parsed(_copied_responses(document)))
            except Exception as exc:  # noqa: BLE001  (vcrpy's own reading: KeyError, ValueError, ...)
                problem = f"vcrpy cannot read it: {type(exc).__name__}: {exc}"
        _load_problems[_key(cassette_path)] = problem
        raise CassetteNotFoundError(problem)

    @staticmethod
    def save_cassette(cassette_path: str | Path, cassette_dict: dict[str, Any], serializer: Any) -> None:
        from vcr.serialize import serialize

        path = Path(cassette_path)
        data = serialize(cassette_dict, serializer)
        found = redaction.find(data)
        if found:
            raise SecretInCassette(f"refused to write the cassette {path}: it still holds {', '.join(found)}")
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            temporary.write_text(data, encoding="utf-8")
            os.replace(temporary, path)
        finally:
            temporary.unlink(missing_ok=True)
        _load_problems.pop(_key(path), None)


class CompletedOnlyPersister(SafePersister):
    """``SafePersister`` that writes only cassettes whose case completed (``mark_completed``): a recording
    interrupted midway (Ctrl-C, SIGTERM, a crash) leaves the previous cassette, or none, never half of one."""

    @staticmethod
    def save_cassette(cassette_path: str | Path, cassette_dict: dict[str, Any], serializer: Any) -> None:
        if _key(cassette_path) not in _completed:
            unsaved.append(str(cassette_path))
            return
        SafePersister.save_cassette(cassette_path, cassette_dict, serializer)
