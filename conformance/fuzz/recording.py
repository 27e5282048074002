"""Fuzz recordings: where they live, how requests match, what a recording was made with.

A fuzz run of one target and API is one cassette, in the suite's layout under the capability
``robustness``: ``cassettes/<target>/robustness/generated-requests.<api>.yaml``. It is written by the same
serializer and scrubbed by the same functions as every other cassette (``conformance.transport.vcr``),
except that no answer is dropped: a 5xx to a generated request is the finding.

Beside it, ``generated-requests.<api>.json`` holds the settings that, with the library versions, define the
request sequence (seed, budgets, document digest, omitted fields, model). Replay reads them, so
``conformance fuzz --target NAME`` replays whatever was recorded, and refuses (asking to re-record) when
the libraries or the request side of the document changed since.

Matching: method, API path (no host or port: local servers get a free port per run), query, and the body
*exactly* (as JSON when it is JSON, types included: ``1``, ``1.0`` and ``true`` differ; else byte for byte),
with no field ignored: fuzzed requests differ in any field.
"""

from __future__ import annotations

import contextlib
import json
import socket
import time
from pathlib import Path
from typing import Any, Iterator

from conformance.transport import vcr as cassettes

CAPABILITY = "robustness"
CASE = "generated-requests"
SETTINGS_FORMAT = "conformance.fuzz-settings.v1"
# The settings a recording is made with; replay takes them from the file.
SETTING_KEYS = ("seed", "max_requests", "coverage_requests", "max_shrink_requests", "shrink_per_finding", "omit",
                "model", "profile", "openapi", "operations")


class RecordingError(Exception):
    """A recording cannot be replayed as asked (missing, or made with other settings or libraries)."""


def cassette_for(root: str | Path, target: str, api: str) -> Path:
    """The cassette of a fuzz run of ``target`` on ``api``."""
    return cassettes.cassette_path(root, target, CAPABILITY, CASE, api, False)


def settings_file(cassette: Path) -> Path:
    """The settings file beside a fuzz cassette."""
    return cassette.with_suffix(".json")


def _canonical(raw: Any) -> Any:
    if raw in (None, b"", ""):
        return None
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            return ("bytes", raw)
    try:
        return ("json", json.dumps(json.loads(raw), sort_keys=True))
    except ValueError:
        return ("text", raw)


def exact_body_matcher(r1: Any, r2: Any) -> None:
    """vcrpy matcher: the bodies are the same request (see the module docstring)."""
    a, b = _canonical(r1.body), _canonical(r2.body)
    if a != b:
        raise AssertionError(f"request bodies differ:\n  sent:     {str(a)[:300]}\n  recorded: {str(b)[:300]}")


def use_cassette(path: Path, record_mode: str) -> Any:
    """The vcrpy context of one fuzz cassette (``record_mode`` ``none`` replays, ``all`` re-records)."""
    import vcr

    recorder = vcr.VCR()
    cassettes.configure_vcr(recorder)
    recorder.register_matcher("fuzz_exact_body", exact_body_matcher)
    config = {**cassettes.vcr_config(),
              "match_on": ["method", "conformance_path", "query", "fuzz_exact_body"],
              "before_record_response": cassettes.scrub_response_keeping_status,
              "allow_playback_repeats": False}
    return recorder.use_cassette(str(path), record_mode=record_mode, serializer="yaml", **config)


@contextlib.contextmanager
def network_blocked() -> Iterator[None]:
    """Any real connection attempt fails while replaying (as ``conformance run`` blocks sockets in replay)."""
    original = socket.socket.connect

    def refuse(self: socket.socket, address: Any) -> None:
        raise ConnectionRefusedError(f"network is blocked while replaying (connect to {address!r})")

    socket.socket.connect = refuse  # type: ignore[method-assign]
    try:
        yield
    finally:
        socket.socket.connect = original  # type: ignore[method-assign]


def write_settings(cassette: Path, settings: dict[str, Any], libraries: dict[str, str], document: str,
                   requests: int) -> Path:
    """Write the settings file of a new recording."""
    path = settings_file(cassette)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"format": SETTINGS_FORMAT, **{key: settings.get(key) for key in SETTING_KEYS},
            "document": document, "libraries": libraries, "requests": requests,
            "recorded": time.strftime("%Y-%m-%d", time.gmtime())}
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path


def read_settings(cassette: Path) -> dict[str, Any]:
    """The settings a cassette was recorded with; ``RecordingError`` when there is no usable settings file."""
    path = settings_file(cassette)
    if not cassette.is_file():
        raise RecordingError(f"no recording {cassette}; record it with `conformance fuzz --target NAME "
                             "--record-mode all`")
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise RecordingError(f"{path}: cannot read the recording's settings ({exc})") from None
    if data.get("format") != SETTINGS_FORMAT:
        raise RecordingError(f"{path}: not a fuzz settings file ({SETTINGS_FORMAT})")
    return data


def replay_problems(recorded: dict[str, Any], libraries: dict[str, str], document: str) -> list[str]:
    """Why a recording cannot be replayed here ([] when it can): other library versions, another document."""
    problems = [f"recorded with {name} {recorded.get('libraries', {}).get(name)}, {version} is installed"
                for name, version in libraries.items() if recorded.get("libraries", {}).get(name) != version]
    if recorded.get("document") != document:
        problems.append("the request side of the OpenAPI document changed since it was recorded")
    return problems
