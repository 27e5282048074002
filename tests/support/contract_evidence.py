"""The ``required`` entries of the openai contracts, their ``x-evidence``, and where genuine traffic has them.

``entries()`` walks every openai contract and yields one ``Entry`` per node holding a ``required`` list
(discriminators, i.e. ``if`` subschemas and ``$defs/is``, are conditions, not requirements, and are left
out). ``Presence`` validates objects with an instrumented copy of the contracts and records, per
interaction, every required entry that applied and whether the field was there: the self-tests use it to
check that no ``spec``/``observed`` entry is contradicted by genuine traffic, and
``benchmarks/leave_one_out.py`` uses it to refit the data-made requirements per project.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import jsonschema
from jsonschema import validators
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from conformance.api.contracts import contracts_root
from conformance.api.endpoints import classify
from conformance.api.validation import EVIDENCE_KEY
from conformance.observations.streams import stream_events
from conformance.observations.streams.responses import EVENTS
from conformance.transport.exchange import Exchange

PROFILE = "openai"
KINDS = ("spec", "observed", "informational")  # the kinds of evidence of a required field
CONTRADICTED = "contradicted"  # spec-required fields the contract leaves out because genuine traffic lacks them
OMITTED = "omitted"  # spec-required fields the contract leaves out because OpenAI documents when they are omitted


@dataclass(frozen=True)
class Entry:
    """One contract node holding ``required``: where it is, what it requires, and the evidence it names."""

    file: str  # relative to the profile folder, e.g. "events/_item.json"
    pointer: str  # JSON pointer of the node in the file ("" for the root)
    required: tuple[str, ...]
    evidence: dict[str, Any] = field(compare=False)

    @property
    def api(self) -> str:
        return "chat" if self.file.startswith(("chat.", "usage.chat", "list.chat")) else "responses"

    def kind(self, name: str) -> str | None:
        """``spec``, ``observed`` or ``informational`` as the node's x-evidence says (None: not said)."""
        found = [kind for kind in KINDS if name in (self.evidence.get(kind) or ())]
        return found[0] if len(found) == 1 else None


def _walk(node: Any, pointer: str, file: str, out: list[Entry]) -> None:
    if isinstance(node, dict):
        if isinstance(node.get("required"), list):
            out.append(Entry(file, pointer, tuple(node["required"]), node.get(EVIDENCE_KEY) or {}))
        for key, value in node.items():
            if key == "if" or (pointer == "/$defs" and key == "is") or key == EVIDENCE_KEY:
                continue  # conditions (discriminators), not requirements
            _walk(value, f"{pointer}/{key}", file, out)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            _walk(value, f"{pointer}/{index}", file, out)


def profile_root() -> Path:
    return contracts_root() / PROFILE


def documents() -> dict[str, Any]:
    """Every openai contract, by path relative to the profile folder."""
    root = profile_root()
    return {p.relative_to(root).as_posix(): json.loads(p.read_text()) for p in sorted(root.rglob("*.json"))}


def entries() -> list[Entry]:
    """Every node of the openai contracts that holds a ``required`` list."""
    out: list[Entry] = []
    for file, document in documents().items():
        _walk(document, "", file, out)
    return out


class Presence:
    """Validates the objects the openai audit validates and records which required entries applied."""

    def __init__(self) -> None:
        self.docs = documents()
        self.where: dict[int, tuple[str, str]] = {}
        for file, document in self.docs.items():
            document.pop("$schema", None)  # else jsonschema picks its stock validator class for whole-file $refs
            self._index(document, "", file)
        self.hits: list[tuple[tuple[str, str], str, bool]] | None = None
        counting = validators.extend(jsonschema.Draft202012Validator, {"required": self._required})
        self.validators: dict[str, Any] = {}
        for file, document in self.docs.items():
            folder = file.rsplit("/", 1)[0] + "/" if "/" in file else ""
            registry = Registry().with_resources(
                [(name[len(folder):], Resource(contents=doc, specification=DRAFT202012))
                 for name, doc in self.docs.items() if name.startswith(folder) and "/" not in name[len(folder):]])
            self.validators[file] = counting(document, registry=registry)

    def _index(self, node: Any, pointer: str, file: str) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("required"), list):
                self.where[id(node)] = (file, pointer)
            for key, value in node.items():
                if key == "if" or (pointer == "/$defs" and key == "is") or key == EVIDENCE_KEY:
                    continue
                self._index(value, f"{pointer}/{key}", file)
        elif isinstance(node, list):
            for index, value in enumerate(node):
                self._index(value, f"{pointer}/{index}", file)

    def _required(self, validator: Any, names: Any, instance: Any, schema: Any) -> Iterator[Any]:
        if not isinstance(instance, dict):
            return
        where = self.where.get(id(schema))
        if where is not None and self.hits is not None:
            contradicted = (schema.get(EVIDENCE_KEY) or {}).get(CONTRADICTED) or {}
            for name in [*names, *contradicted]:
                self.hits.append((where, name, name in instance))
        for name in names:
            if name not in instance:
                yield jsonschema.ValidationError(f"{name!r} is a required property")

    def of(self, exchange: Exchange) -> dict[tuple[str, str, str], bool]:
        """``{(file, pointer, field): present everywhere it applied}`` for one exchange (the required fields of
        each node that applied, and the ones its x-evidence says genuine traffic contradicts)."""
        self.hits = []
        try:
            for name, instance in objects_of(exchange):
                for _ in self.validators[f"{name}.json"].iter_errors(instance):
                    pass
            out: dict[tuple[str, str, str], bool] = {}
            for (file, pointer), name, present in self.hits:
                key = (file, pointer, name)
                out[key] = out.get(key, True) and present
            return out
        finally:
            self.hits = None


def objects_of(exchange: Exchange) -> list[tuple[str, Any]]:
    """(contract name, object) pairs the openai audit validates in one exchange (bodies, events, chunks)."""
    route = classify(exchange.method, exchange.url)
    if route is None:
        return []
    events = stream_events(exchange) if (exchange.is_sse or exchange.requested_stream) else None
    out: list[tuple[str, Any]] = []
    if events is not None:
        for event in events:
            payload = event.json
            if not isinstance(payload, dict):
                continue
            if route.api == "chat":
                if "error" in payload and "choices" not in payload:
                    continue
                out.append(("chat.completion.chunk", payload))
            elif isinstance(payload.get("type"), str):
                rule = EVENTS.get(payload["type"])
                out.append((f"events/{rule.schema if rule else 'event'}", payload))
                if rule is not None and rule.envelope == "terminal" and isinstance(payload.get("response"), dict):
                    out.append(("response", payload["response"]))
        return out
    if exchange.ok and route.contract and isinstance(exchange.json, dict):
        out.append((route.contract, exchange.json))
    return out
