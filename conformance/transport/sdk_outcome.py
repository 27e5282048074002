"""What the official ``openai`` SDK made of one exchange (the SDK lane's evidence), and request drift.

An ``SdkOutcome`` rides on the Exchange of a step sent through the SDK (``Exchange.sdk``); the SDK checks
(``conformance.checks.sdk``) read it. This module never imports ``openai``: reports, checks and the audit
read outcomes whether or not an SDK is installed.

Request drift is the difference between the JSON body a case asked for and the body the SDK put on the
wire, both normalised as the cassette matcher normalises them (``conformance.transport.vcr.normalise``).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from conformance.transport.vcr import normalise


@dataclass
class SdkError:
    """An exception the SDK raised, with the attributes its error classes carry."""

    cls: str  # the class name, e.g. BadRequestError
    message: str
    where: str = "core"  # core (the client, its types, the raw stream) | helper (openai.lib: stream helpers, parse)
    status_code: int | None = None
    code: Any = None
    param: Any = None
    type: Any = None
    body: Any = None
    cause: str | None = None  # ``Class: message`` of the exception's cause, when it wraps one
    bases: list[str] = field(default_factory=list)  # the class's ancestors, nearest first

    def is_a(self, name: str) -> bool:
        """True when the exception is of class ``name`` or a subclass of it."""
        return self.cls == name or name in self.bases

    def __str__(self) -> str:
        return f"{self.cls}: {self.message}"


@dataclass
class StreamOutcome:
    """A stream read through the SDK: the items it yielded and what its helper made of them."""

    helper: str | None = None  # the helper used (chat.completions.stream, responses.stream), None for a raw Stream
    items: int = 0  # events the SDK yielded
    types: list[str] = field(default_factory=list)  # their kinds, consecutive repeats folded
    final: dict[str, Any] | None = None  # the helper's final object (get_final_completion/get_final_response)
    snapshot: dict[str, Any] | None = None  # the helper's accumulated object when the final one was refused
    helper_error: SdkError | None = None  # the helper's exception (accumulating, or giving the final object)


@dataclass
class SdkOutcome:
    """What one request through the SDK did: the method, what it returned or raised, and what its helpers say."""

    sdk_version: str
    method: str  # e.g. chat.completions.create, responses.stream, chat.completions.parse, client.post
    via: str = "typed"  # typed | generic (no typed method) | raw (a verbatim body) | refused (typed call refused)
    api: str | None = None
    intended_body: Any = None  # the body the case asked for (None: not compared, as in the audit)
    sent_body: Any = None  # the body the SDK put on the wire (parsed JSON, or text)
    extra_body: list[str] = field(default_factory=list)  # keys sent through extra_body (not in the signature)
    refused: str | None = None  # why the typed method refused the call before sending (then sent generically)
    exception: SdkError | None = None  # raised by the call or while reading its stream
    result: Any = None  # the returned object as a dict (what the SDK's types made of the answer)
    result_type: str | None = None  # the returned object's class
    output_text: Any = None  # Response.output_text (of the final response for a stream)
    output_text_error: SdkError | None = None  # when reading output_text raised
    parse_model: str | None = None  # the pydantic model .parse()/the helper was given, built from the case's schema
    parsed: Any = None  # the parsed object (model_dump), when the SDK gave one
    stream: StreamOutcome | None = None
    strict: list[str] | None = None  # strict validation errors of the answer against the SDK's models ([] valid)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready form (for reports)."""
        return asdict(self)


def _show(value: Any, limit: int = 80) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def diff_bodies(intended: Any, sent: Any, path: str = "") -> list[str]:
    """The differences between two JSON bodies, one line each (key order ignored; [] when equal).

    Lines read ``added stream_options: {"include_usage": true}``, ``dropped temperature`` or
    ``changed max_tokens: 16 -> "16"``.
    """
    if isinstance(intended, dict) and isinstance(sent, dict):
        lines: list[str] = []
        for key in sorted(set(intended) | set(sent), key=str):
            where = f"{path}.{key}" if path else str(key)
            if key not in sent:
                lines.append(f"dropped {where} (was {_show(intended[key])})")
            elif key not in intended:
                lines.append(f"added {where}: {_show(sent[key])}")
            else:
                lines += diff_bodies(intended[key], sent[key], where)
        return lines
    if isinstance(intended, list) and isinstance(sent, list) and len(intended) == len(sent):
        return [line for i, (a, b) in enumerate(zip(intended, sent)) for line in diff_bodies(a, b, f"{path}[{i}]")]
    if intended != sent or type(intended) is not type(sent):
        return [f"changed {path or '(the whole body)'}: {_show(intended)} -> {_show(sent)}"]
    return []


def request_drift(outcome: SdkOutcome) -> list[str]:
    """How the body the SDK sent differs from the case's body, normalised as the matcher does ([] for none)."""
    if outcome.intended_body is None or outcome.sent_body is None:
        return []
    return diff_bodies(normalise(outcome.intended_body), normalise(outcome.sent_body))


def drift_message(lines: list[str]) -> str:
    """The request-drift finding's message: what changed, one difference per line."""
    return "request drift: the SDK put a different JSON body on the wire than the case asked for:\n" + \
        "\n".join(f"  {line}" for line in lines)
