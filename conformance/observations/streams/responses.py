"""The Responses stream grammar: one table of event types, one pass over the stream.

``EVENTS`` says, for each event type, which contract validates it, what must be
open around it (its parent), what it opens or closes, which text it feeds, and
which ids and indexes it carries. ``analyse`` walks the events once, keeping the
open output items, content parts and summary parts, and files each deviation
under its rule family:

  framing     ``event:`` line equals ``type``; JSON data; ``[DONE]`` per profile
  schema      each event against ``conformance/specs/contracts/<profile>/events/<schema>.json``;
              the terminal response against the ``response`` contract
  sequence    ``sequence_number`` on every event, from 0 by one (openai) or rising
  envelope    created (or queued) first, in_progress, exactly one terminal event, last
  nesting     added/done pairing, ids and indexes consistent through each item's life
  reassembly  deltas -> ``.done`` -> part -> ``output_item.done`` -> terminal ``output`` (the whole item,
              less the opaque fields of ``vocabulary.OPAQUE_FIELDS``)
  error       ``error`` events and ``response.failed``, with their code and message

What each family rests on (documentation, genuine traffic) is ``evidence.py``.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from conformance.api.vocabulary import OPAQUE_FIELDS, SERVER_SIDE_ITEMS, TERMINAL_STATUS
from conformance.observations.streams import validation
from conformance.observations.streams.problems import Problem, excerpt, short
from conformance.transport.exchange import Exchange
from conformance.transport.sse import SseEvent


@dataclass(frozen=True)
class Rule:
    """What the grammar knows about one event type."""

    schema: str  # contract name under events/
    parent: str | None = None  # what must be open around it: "item", "part" or "summary"
    opens: str | None = None  # "item", "part" or "summary"
    closes: str | None = None
    envelope: str | None = None  # "start", "progress", "terminal" or "error"
    text: str | None = None  # the text it feeds (a delta) or completes (a done)
    done_field: str | None = None  # a done event's field holding the whole text (deltas use "delta")
    target: str | None = None  # the field of the part / summary part / item that ends up holding the text
    carries: tuple[str, ...] = ()  # ids and indexes it carries
    items: tuple[str, ...] = ()  # the item types it may belong to (empty: any)


IN_ITEM = ("item_id", "output_index")
IN_PART = ("item_id", "output_index", "content_index")
IN_SUMMARY = ("item_id", "output_index", "summary_index")


def _text_pair(name: str, schemas: tuple[str, str], text: str, done_field: str, target: str, parent: str,
               carries: tuple[str, ...], items: tuple[str, ...]) -> dict[str, Rule]:
    """The ``.delta`` and ``.done`` rules of one streamed text (``schemas``: their two contracts)."""
    return {
        f"{name}.delta": Rule(schemas[0], parent=parent, text=text, target=target, carries=carries, items=items),
        f"{name}.done": Rule(schemas[1], parent=parent, text=text, done_field=done_field, target=target,
                             carries=carries, items=items),
    }


TEXT = ("text-delta", "text-done")
SUMMARY_TEXT = ("summary-text", "summary-text")
ITEM_TEXT = ("item-text", "item-text")

EVENTS: dict[str, Rule] = {
    "response.queued": Rule("response-event", envelope="start"),
    "response.created": Rule("response-event", envelope="start"),
    "response.in_progress": Rule("response-event", envelope="progress"),
    "response.completed": Rule("terminal-event", envelope="terminal"),
    "response.incomplete": Rule("terminal-event", envelope="terminal"),
    "response.failed": Rule("terminal-event", envelope="terminal"),
    "error": Rule("error", envelope="error"),
    "response.output_item.added": Rule("output-item", opens="item", carries=("output_index",)),
    "response.output_item.done": Rule("output-item", closes="item", carries=("output_index",)),
    "response.content_part.added": Rule("content-part", parent="item", opens="part", carries=IN_PART,
                                        items=("message", "reasoning")),
    "response.content_part.done": Rule("content-part", parent="item", closes="part", carries=IN_PART),
    "response.output_text.annotation.added": Rule("annotation", parent="part", carries=IN_PART + ("annotation_index",),
                                                  items=("message",)),
    "response.reasoning_summary_part.added": Rule("summary-part", parent="item", opens="summary", carries=IN_SUMMARY,
                                                  items=("reasoning",)),
    "response.reasoning_summary_part.done": Rule("summary-part", parent="item", closes="summary", carries=IN_SUMMARY,
                                                 items=("reasoning",)),
    **_text_pair("response.output_text", TEXT, "output_text", "text", "text", "part", IN_PART, ("message",)),
    **_text_pair("response.refusal", TEXT, "refusal", "refusal", "refusal", "part", IN_PART, ("message",)),
    # Raw reasoning text: OpenAI names it reasoning_text, Open Responses names it reasoning (see RENAMED).
    # It is keyed by content_index but OpenAI does not promise a content part around it.
    **_text_pair("response.reasoning_text", TEXT, "reasoning_text", "text", "text", "item", IN_PART, ("reasoning",)),
    **_text_pair("response.reasoning", TEXT, "reasoning_text", "text", "text", "item", IN_PART, ("reasoning",)),
    **_text_pair("response.reasoning_summary_text", SUMMARY_TEXT, "summary_text", "text", "text", "summary",
                 IN_SUMMARY, ("reasoning",)),
    **_text_pair("response.function_call_arguments", ITEM_TEXT, "arguments", "arguments", "arguments", "item",
                 IN_ITEM, ("function_call",)),
    **_text_pair("response.mcp_call_arguments", ITEM_TEXT, "mcp_arguments", "arguments", "arguments", "item",
                 IN_ITEM, ("mcp_call",)),
    **_text_pair("response.code_interpreter_call_code", ITEM_TEXT, "code", "code", "code", "item", IN_ITEM,
                 ("code_interpreter_call",)),
    **_text_pair("response.custom_tool_call_input", ITEM_TEXT, "input", "input", "input", "item", IN_ITEM,
                 ("custom_tool_call",)),
}

# Progress events of the built-in tool items: they only point at their (open) item.
PROGRESS = {
    "web_search_call": ("in_progress", "searching", "completed"),
    "file_search_call": ("in_progress", "searching", "completed"),
    "code_interpreter_call": ("in_progress", "interpreting", "completed"),
    "image_generation_call": ("in_progress", "generating", "partial_image", "completed"),
    "mcp_call": ("in_progress", "completed", "failed"),
    "mcp_list_tools": ("in_progress", "completed", "failed"),
}
for _item_type, _phases in PROGRESS.items():
    for _phase in _phases:
        EVENTS[f"response.{_item_type}.{_phase}"] = Rule("item-progress", parent="item", carries=IN_ITEM,
                                                         items=(_item_type,))

# Event names that belong to the other dialect: {profile: {seen name: the name this profile uses}}.
RENAMED = {
    "openai": {"response.reasoning.delta": "response.reasoning_text.delta",
               "response.reasoning.done": "response.reasoning_text.done"},
    "open-responses": {"response.reasoning_text.delta": "response.reasoning.delta",
                       "response.reasoning_text.done": "response.reasoning.done"},
}

# Texts that live in a message's (or reasoning item's) content parts, keyed by content_index.
CONTENT_TEXTS = ("output_text", "refusal", "reasoning_text")


@dataclass
class _Text:
    first: int
    deltas: list[str] = field(default_factory=list)
    done: Any = None
    done_at: int | None = None


@dataclass
class _Part:
    opened: int
    closed: int | None = None
    body: Any = None  # the part carried by its .done event


@dataclass
class _Item:
    index: int
    id: Any
    type: Any
    opened: int
    closed: int | None = None
    body: Any = None  # the item carried by output_item.done
    parts: dict[int, _Part] = field(default_factory=dict)
    summaries: dict[int, _Part] = field(default_factory=dict)
    texts: dict[tuple[str, int | None], _Text] = field(default_factory=dict)
    last: dict[str, int] = field(default_factory=dict)  # the last opened content / summary index


def _is_index(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _error_fields(payload: dict[str, Any]) -> tuple[Any, Any]:
    """(code, message) of an error event or error object, in the OpenAI or the Open Responses shape."""
    inner = payload.get("error") if isinstance(payload.get("error"), dict) else payload
    return inner.get("code"), inner.get("message")


def starting_sequence(exchange: Exchange) -> int:
    """The sequence_number a stream must start at: 0, or N+1 for a resumed ``GET ...?starting_after=N``."""
    if exchange.method.upper() == "GET":
        match = re.search(r"[?&]starting_after=(\d+)", exchange.url)
        if match:
            return int(match.group(1)) + 1
    return 0


class ResponsesWalk:
    """One pass over a Responses stream; ``problems`` holds the findings by rule family."""

    def __init__(self, exchange: Exchange, events: list[SseEvent], profile: str):
        self.exchange = exchange
        self.events = events
        self.profile = profile
        self.resumed = exchange.method.upper() == "GET"  # a resumed stream refers to items opened before it
        self.problems: dict[str, list[Problem]] = defaultdict(list)
        self.items: dict[int, _Item] = {}  # by output_index (a wrongly numbered item also under its claimed one)
        self.order: list[_Item] = []  # the items in the order they were opened
        self.by_id: dict[Any, _Item] = {}
        self.event: SseEvent | None = None

    # -- helpers ----------------------------------------------------------------------------------------------
    def add(self, rule: str, message: str, *, event: SseEvent | None = None, missing: tuple[str, ...] = (),
            only_missing: bool = False, group: Any = None, note: bool = False) -> None:
        """File a problem under ``rule``, located at ``event`` (default: the event being walked); ``note``:
        information that never makes a failure."""
        event = event if event is not None else self.event
        if event is None:
            self.problems[rule].append(Problem(rule, message, missing=missing, only_missing=only_missing, group=group,
                                               note=note))
            return
        self.problems[rule].append(Problem(rule, message, event.index, event.type or "untyped", excerpt(event),
                                           missing, only_missing, group, note))

    # -- the pass -----------------------------------------------------------------------------------------------
    def run(self) -> dict[str, list[Problem]]:
        """Walk the stream once; return the problems by rule family."""
        if not self.events:
            self.add("framing", "the stream has no events (empty body): a client sees nothing, not even an error")
            return self.problems
        self.framing()
        typed = [e for e in self.events if isinstance(e.json, dict) and isinstance(e.json.get("type"), str)]
        self.schema(typed)
        self.errors()
        self.sequence(typed)
        self.envelope(typed)
        for event in typed:
            self.event = event
            rule = EVENTS.get(event.json["type"])
            if rule is not None:
                self.step(event.json, rule)
        self.event = None
        return self.problems

    def framing(self) -> None:
        """``event:`` lines, JSON data with a ``type``, and ``[DONE]`` as the profile wants it."""
        require_name = self.profile != "compat"  # compat: clients dispatch on the JSON type; the line is optional
        last = len(self.events) - 1
        for event in self.events:
            self.event = event
            if event.is_done:
                if event.index != last:
                    self.add("framing", f"`data: [DONE]` is not the last event ({last - event.index} more follow)")
                elif self.profile == "openai":
                    self.add("framing", "`data: [DONE]` ends the stream, but OpenAI Responses streams end at the "
                                        "terminal event and send no [DONE]")
                continue
            if event.json_error is not None:
                self.add("framing", f"data is not JSON ({event.json_error})", group="not-json")
                continue
            kind = event.json.get("type") if isinstance(event.json, dict) else None
            if not isinstance(kind, str):
                self.add("framing", "data has no JSON `type`: a typed Responses event was expected", group="untyped")
                continue
            if event.event is None:
                if require_name:
                    self.add("framing", f"no `event:` line (expected `event: {kind}`)", group="no-event-line")
            elif event.event != kind:
                self.add("framing", f"`event: {event.event}` line differs from the JSON type {kind!r}",
                         group=("event-line", event.event, kind))
        self.event = None
        if self.profile == "open-responses" and not self.events[-1].is_done:
            self.add("framing", "the stream does not end with `data: [DONE]` (Open Responses requires it)",
                     missing=("[DONE]",), only_missing=True)

    def schema(self, typed: list[SseEvent]) -> None:
        """Each typed event against its contract; the terminal response against ``response``; event names."""
        renamed = RENAMED.get(self.profile, {})
        for event in typed:
            payload = event.json
            kind = payload["type"]
            rule = EVENTS.get(kind)
            if kind in renamed:
                self.add("schema", f"{kind!r} is not this profile's name for the event: {self.profile} uses "
                                   f"{renamed[kind]!r}", event=event, group=("renamed", kind))
            name = f"events/{rule.schema if rule else 'event'}"
            self.problems["schema"] += validation.schema_problems(self.profile, name, payload, event, kind)
            if rule is not None and rule.envelope == "terminal" and isinstance(payload.get("response"), dict):
                self.problems["schema"] += validation.terminal_response_problems(self.profile, payload["response"],
                                                                                 event)

    def errors(self) -> None:
        """``error`` events, untyped error payloads and ``response.failed``, each with its code and message."""
        for event in self.events:
            payload = event.json
            if not isinstance(payload, dict):
                continue
            kind = payload.get("type")
            if kind == "error" or not isinstance(kind, str) and "error" in payload:
                code, message = _error_fields(payload)
                what = "error event" if kind == "error" else "untyped error payload"
                self.add("error", f"{what}: code {code!r}, message {message!r}", event=event)
            elif kind == "response.failed":
                response = payload.get("response") if isinstance(payload.get("response"), dict) else {}
                error = response.get("error")
                if isinstance(error, dict):
                    self.add("error", f"response.failed: code {error.get('code')!r}, message "
                                      f"{error.get('message')!r}", event=event)
                else:
                    self.add("error", "response.failed without response.error: no code, no message to act on",
                             event=event)

    def sequence(self, typed: list[SseEvent]) -> None:
        """``sequence_number`` on every event: from the start by one (openai) or strictly rising."""
        expected = starting_sequence(self.exchange)
        previous: int | None = None
        absent = [e for e in typed if "sequence_number" not in e.json]
        if absent and len(absent) == len(typed):
            self.add("sequence", f"no event carries sequence_number ({len(typed)} events)", event=typed[0],
                     missing=("sequence_number",), only_missing=True)
            return
        for event in typed:
            self.event = event
            if "sequence_number" not in event.json:
                self.add("sequence", "no sequence_number", missing=("sequence_number",), only_missing=True,
                         group="seq-missing")
                continue
            number = event.json["sequence_number"]
            if not isinstance(number, int) or isinstance(number, bool):
                # a wrong type is the schema check's finding; count the event as holding its expected place
                if self.profile == "openai":
                    previous = expected if previous is None else previous + 1
                continue
            if self.profile == "openai":
                want = expected if previous is None else previous + 1
                if number != want:
                    how = "the first event" if previous is None else f"after {previous}"
                    self.add("sequence", f"expected sequence_number {want} ({how}), saw {number}")
            elif previous is not None and number <= previous:
                self.add("sequence", f"sequence_number {number} does not rise (previous {previous})")
            previous = number
        self.event = None

    def envelope(self, typed: list[SseEvent]) -> None:
        """created (or queued) first, in_progress before the output, one terminal event last, one response id."""
        if not typed:
            self.add("envelope", "no typed event at all: no response.created, no terminal event",
                     event=self.events[0], missing=("response.created", "response.completed"))
            return
        seen: dict[str, int] = {}
        output_began: int | None = None
        terminals: list[SseEvent] = []
        errors: list[SseEvent] = []
        ids: list[tuple[SseEvent, Any]] = []
        after_terminal_reported = False
        for event in typed:
            self.event = event
            kind = event.json["type"]
            rule = EVENTS.get(kind)
            envelope = rule.envelope if rule else None
            if terminals and not after_terminal_reported:
                after_terminal_reported = True
                first = terminals[0]
                self.add("envelope", f"event after the terminal event {first.json['type']} (#{first.index})")
            if envelope == "start":
                if kind in seen:
                    self.add("envelope", f"second {kind} (the first was #{seen[kind]})")
                elif output_began is not None:
                    self.add("envelope", f"{kind} after the output began (#{output_began})")
            elif envelope == "progress":
                if output_began is not None:
                    self.add("envelope", f"{kind} after the output began (#{output_began})")
            elif envelope == "terminal":
                terminals.append(event)
            elif envelope == "error":
                errors.append(event)
            elif output_began is None:
                output_began = event.index
            seen.setdefault(kind, event.index)
            if envelope in ("start", "progress", "terminal") and isinstance(event.json.get("response"), dict):
                ids.append((event, event.json["response"].get("id")))
        self.event = None
        first = typed[0]
        if not self.resumed and first.json["type"] not in ("response.created", "response.queued"):
            if "response.created" not in seen and "response.queued" not in seen:
                self.add("envelope", f"expected response.created first, saw {first.json['type']}; the stream has no "
                                     f"response.created", event=first, missing=("response.created",), only_missing=True)
            else:
                self.add("envelope", f"expected response.created first, saw {first.json['type']}", event=first)
        if self.profile == "openai" and not self.resumed and "response.in_progress" not in seen:
            self.add("envelope", "no response.in_progress event (OpenAI sends it right after response.created)",
                     event=first, missing=("response.in_progress",), only_missing=True)
        if not terminals:
            if not errors:  # an error event explains the missing terminal; the error check reports it
                last = typed[-1]
                self.add("envelope", f"the stream ended without a terminal event (response.completed, "
                                     f"response.incomplete or response.failed); the last event is #{last.index} "
                                     f"{last.json['type']}", missing=("response.completed",), only_missing=True)
        elif len(terminals) > 1:
            self.add("envelope", "more than one terminal event: " + ", ".join(
                f"#{e.index} {e.json['type']}" for e in terminals), event=terminals[1])
        for event in terminals[:1]:
            response = event.json.get("response")
            status = response.get("status") if isinstance(response, dict) else None
            want = TERMINAL_STATUS[event.json["type"]]
            if isinstance(response, dict) and status != want:
                self.add("envelope", f"response.status is {status!r}, expected {want!r} for {event.json['type']}",
                         event=event)
        if ids:
            first_event, first_id = ids[0]
            for event, other in ids[1:]:
                if other != first_id:
                    self.add("envelope", f"response.id {other!r} differs from {first_id!r} of #{first_event.index} "
                                         f"{first_event.json['type']}", event=event, group=("ids", other))

    # -- nesting and reassembly -------------------------------------------------------------------------------
    def step(self, payload: dict[str, Any], rule: Rule) -> None:
        """Advance the nesting state machine by one event, as its rule says."""
        if rule.opens == "item":
            self.open_item(payload)
        elif rule.closes == "item":
            self.close_item(payload)
        elif rule.envelope == "terminal":
            self.terminal(payload)
        elif rule.parent is not None:
            item = self.find_item(payload, rule)
            if item is None:
                return
            if rule.opens or rule.closes:
                self.part_event(payload, rule, item)
            elif rule.text is not None:
                self.text_event(payload, rule, item)
            elif rule.parent == "part":
                self.find_part(payload, item, "part")

    def find_item(self, payload: dict[str, Any], rule: Rule) -> _Item | None:
        """The open output item an event points at (by output_index, else item_id), checking the two agree."""
        index, item_id = payload.get("output_index"), payload.get("item_id")
        if _is_index(index):
            item = self.items.get(index)
            if item is None:
                item = self.implicit_item(index, item_id, rule)
            if item is None:
                self.add("nesting", f"output_index {index} was never opened by response.output_item.added")
                item = self.by_id.get(item_id)  # follow the item_id, so one wrong index is reported once
                if item is None:
                    return None
            if isinstance(item_id, str) and item.id is not None and item_id != item.id:
                self.add("nesting", f"item_id {item_id!r} is not the id of output item {index} ({item.id!r})")
        elif isinstance(item_id, str):
            item = self.by_id.get(item_id)
            if item is None:
                item = self.implicit_item(len(self.order), item_id, rule)
                if item is None:
                    self.add("nesting", f"item_id {item_id!r} was never opened by response.output_item.added")
                    return None
        else:
            self.add("nesting", "carries neither output_index nor item_id: no way to tell which output item it "
                                "belongs to")
            return None
        if item.closed is not None:
            self.add("nesting", f"comes after response.output_item.done (#{item.closed}) closed output item "
                                f"{item.index}")
        if rule.items and isinstance(item.type, str) and item.type not in rule.items:
            self.add("nesting", f"belongs to a {item.type} item; expected a {' or '.join(rule.items)} item")
        return item

    def implicit_item(self, index: int, item_id: Any, rule: Rule) -> _Item | None:
        """A resumed stream may continue an item opened before its first event."""
        if not self.resumed:
            return None
        item = _Item(index, item_id, rule.items[0] if rule.items else None, self.event.index if self.event else -1)
        self.items[index] = item
        self.order.append(item)
        if item_id is not None:
            self.by_id[item_id] = item
        return item

    def open_item(self, payload: dict[str, Any]) -> None:
        """``output_item.added``: the next output_index, an unused item id."""
        body = payload.get("item") if isinstance(payload.get("item"), dict) else {}
        claimed = payload.get("output_index")
        index = len(self.order)  # where the item really is: the next position of the output
        if self.resumed and _is_index(claimed) and claimed > index:
            index = claimed  # a resumed stream may begin after earlier items
        if _is_index(claimed) and claimed != index:
            self.add("nesting", f"expected output_index {index} (the next output item), saw {claimed}")
        if index in self.items:
            self.add("nesting", f"output_index {index} was already opened by #{self.items[index].opened}")
            return
        item_id = body.get("id")
        if item_id is not None and item_id in self.by_id:
            self.add("nesting", f"item id {item_id!r} was already used by output item {self.by_id[item_id].index}")
        item = _Item(index, item_id, body.get("type"), self.event.index)
        self.items[index] = item
        if _is_index(claimed):
            self.items.setdefault(claimed, item)  # later events repeat the claimed index: follow it, report once
        self.order.append(item)
        if item_id is not None:
            self.by_id.setdefault(item_id, item)

    def close_item(self, payload: dict[str, Any]) -> None:
        """``output_item.done``: same id and type as announced, every part and text closed, texts in place."""
        body = payload.get("item") if isinstance(payload.get("item"), dict) else {}
        index = payload.get("output_index")
        item = self.items.get(index) if _is_index(index) else self.by_id.get(body.get("id"))
        if item is None:
            if self.resumed:
                item = self.implicit_item(index if _is_index(index) else len(self.order), body.get("id"),
                                          Rule("output-item"))
            else:
                self.add("nesting", "closes an output item that response.output_item.added never opened")
                return
        if item.closed is not None:
            self.add("nesting", f"output item {item.index} was already closed by #{item.closed}")
            return
        if item.id is not None and body.get("id") != item.id:
            self.add("nesting", f"item.id {body.get('id')!r} differs from {item.id!r} announced by "
                                f"response.output_item.added (#{item.opened})")
        if item.type is not None and body.get("type") != item.type:
            self.add("nesting", f"item.type {body.get('type')!r} differs from {item.type!r} announced by "
                                f"response.output_item.added (#{item.opened})")
        for name, store, closer in (("content part", item.parts, "response.content_part.done"),
                                    ("summary part", item.summaries, "response.reasoning_summary_part.done")):
            for sub, part in store.items():
                if part.closed is None:
                    self.add("nesting", f"closes output item {item.index} while its {name} {sub} (opened at "
                                        f"#{part.opened}) is still open: no {closer}")
        for (text, sub), stream in item.texts.items():
            if stream.done_at is None:
                self.add("nesting", f"closes output item {item.index} while its {text} (deltas from #{stream.first}) "
                                    f"has no .done event")
        item.closed = self.event.index
        item.body = body
        self.reassemble_item(item, body)

    def find_part(self, payload: dict[str, Any], item: _Item, kind: str) -> tuple[int | None, _Part | None]:
        """The open content part (``kind`` "part") or summary part ("summary") an event points at."""
        key = "content_index" if kind == "part" else "summary_index"
        store = item.parts if kind == "part" else item.summaries
        opener = "response.content_part.added" if kind == "part" else "response.reasoning_summary_part.added"
        sub = payload.get(key)
        if not _is_index(sub):
            sub = item.last.get(kind)  # the index itself is missing: the schema reports it; follow the last part
            if sub is None:
                label = "content part" if kind == "part" else "summary part"
                self.add("nesting", f"no {label} of output item {item.index} is open ({opener} never came)")
                return None, None
        part = store.get(sub)
        if part is None:
            if self.resumed:
                part = store[sub] = _Part(self.event.index)
            else:
                self.add("nesting", f"{key} {sub} of output item {item.index} was never opened by {opener}")
                return sub, None
        elif part.closed is not None:
            self.add("nesting", f"comes after #{part.closed} closed {key} {sub} of output item {item.index}")
        return sub, part

    def part_event(self, payload: dict[str, Any], rule: Rule, item: _Item) -> None:
        """A content or summary part opens (at the next index) or closes (after its texts, holding them)."""
        kind = rule.opens or rule.closes
        key = "content_index" if kind == "part" else "summary_index"
        store = item.parts if kind == "part" else item.summaries
        if rule.opens:
            sub = payload.get(key)
            expected = len(store)
            if _is_index(sub) and sub != expected:
                self.add("nesting", f"expected {key} {expected} (the next one of output item {item.index}), saw {sub}")
            sub = sub if _is_index(sub) else expected
            if sub in store:
                self.add("nesting", f"{key} {sub} of output item {item.index} was already opened by "
                                    f"#{store[sub].opened}")
                return
            store[sub] = _Part(self.event.index)
            item.last[kind] = sub
            return
        sub, part = self.find_part(payload, item, kind)
        if part is None or part.closed is not None:
            return
        body = payload.get("part") if isinstance(payload.get("part"), dict) else {}
        for (text, text_sub), stream in item.texts.items():
            if text_sub != sub or (kind == "part") != (text in CONTENT_TEXTS):
                continue
            if stream.done_at is None:
                self.add("nesting", f"closes {key} {sub} while its {text} (deltas from #{stream.first}) has no "
                                    f".done event")
            whole = self.whole(stream)
            target = "refusal" if text == "refusal" else "text"
            if whole is not None and target in body and body.get(target) != whole:
                self.add("reassembly", f"part.{target} is {short(body.get(target))}, but the streamed {text} is "
                                       f"{short(whole)}")
        part.closed = self.event.index
        part.body = body

    def text_event(self, payload: dict[str, Any], rule: Rule, item: _Item) -> None:
        """A delta appends to its text; a done closes it and must equal the deltas joined."""
        sub: int | None = None
        if rule.parent in ("part", "summary"):
            sub, part = self.find_part(payload, item, rule.parent)
            if part is None and sub is None:
                return
        elif rule.text in CONTENT_TEXTS:  # raw reasoning: keyed by content_index, a part is optional
            sub = payload.get("content_index") if _is_index(payload.get("content_index")) else 0
        stream = item.texts.get((rule.text, sub))
        if stream is None:
            stream = item.texts[(rule.text, sub)] = _Text(self.event.index)
        kind = payload["type"]
        if stream.done_at is not None:
            self.add("nesting", f"comes after {kind.rsplit('.', 1)[0]}.done (#{stream.done_at})")
            return
        if rule.done_field is None:
            delta = payload.get("delta")
            if isinstance(delta, str):
                stream.deltas.append(delta)
            return
        stream.done, stream.done_at = payload.get(rule.done_field), self.event.index
        if stream.deltas and isinstance(stream.done, str):
            joined = "".join(stream.deltas)
            if joined != stream.done:
                self.add("reassembly", f"the {len(stream.deltas)} deltas concatenate to {short(joined)}, but "
                                       f"{rule.done_field} is {short(stream.done)}")

    @staticmethod
    def whole(stream: _Text) -> str | None:
        """The whole text of a stream: its .done value, else its deltas joined."""
        if isinstance(stream.done, str):
            return stream.done
        return "".join(stream.deltas) if stream.deltas else None

    def reassemble_item(self, item: _Item, body: dict[str, Any]) -> None:
        """Each streamed text equals its place in the item that output_item.done carries."""
        for (text, sub), stream in item.texts.items():
            whole = self.whole(stream)
            if whole is None:
                continue
            if text in CONTENT_TEXTS or text == "summary_text":
                field_name = "summary" if text == "summary_text" else "content"
                target = "refusal" if text == "refusal" else "text"
                container = body.get(field_name)
                if not isinstance(container, list) or not isinstance(sub, int) or sub >= len(container) \
                        or not isinstance(container[sub], dict):
                    self.add("reassembly", f"item.{field_name}[{sub}] is missing, but {text} was streamed for it")
                    continue
                where, value = f"item.{field_name}[{sub}].{target}", container[sub].get(target)
            else:
                target = EVENTS_TARGET.get(text, text)
                where, value = f"item.{target}", body.get(target)
            if value != whole:
                self.add("reassembly", f"{where} is {short(value)}, but the streamed {text} is {short(whole)}")

    def terminal(self, payload: dict[str, Any]) -> None:
        """Nothing left open; the terminal output equals the items of ``output_item.done`` (opaque fields aside).

        A server-side tool item (``SERVER_SIDE_ITEMS``) left open is a note when the terminal output holds it:
        OpenAI does not promise an ``output_item.done`` per item, and the client assembles nothing from it.
        """
        kind = payload["type"]
        response = payload.get("response")
        output = response.get("output") if isinstance(response, dict) else None
        if kind != "response.failed":
            for item in self.order:
                if item.closed is None:
                    held = item.type in SERVER_SIDE_ITEMS and _holds(output, item)
                    self.add("nesting", f"{kind} while output item {item.index} ({item.id!r}, opened at "
                                        f"#{item.opened}) is still open: no response.output_item.done"
                             + (f"; a {item.type} item the terminal output holds (OpenAI does not promise an "
                                f"output_item.done for server-side tool items)" if held else ""), note=held)
        if not isinstance(output, list):
            return  # the schema check reports a missing output
        for item in self.order:
            if item.body is None:
                continue
            if item.index >= len(output):
                self.add("reassembly", f"output item {item.index} ({item.id!r}) was streamed, but response.output "
                                       f"has only {len(output)} items")
                continue
            differences = differing(item.body, output[item.index])
            if differences:
                self.add("reassembly", f"response.output[{item.index}] differs from the item of "
                                       f"response.output_item.done (#{item.closed}) in: "
                                       f"{', '.join(differences[:6]) or 'type'}"
                                       + (f" and {len(differences) - 6} more" if len(differences) > 6 else ""))
        if kind != "response.failed" and not self.resumed and len(output) > len(self.order):
            self.add("reassembly", f"response.output has {len(output)} items, but the stream announced "
                                   f"{len(self.order)} (response.output_item.added)")


def _holds(output: Any, item: _Item) -> bool:
    """True when a terminal output list holds ``item`` (by id, else by position and type)."""
    if not isinstance(output, list):
        return False
    if item.id is not None:
        return any(isinstance(entry, dict) and entry.get("id") == item.id for entry in output)
    entry = output[item.index] if item.index < len(output) else None
    return isinstance(entry, dict) and entry.get("type") == item.type


def differing(first: Any, second: Any, path: str = "") -> list[str]:
    """Where two JSON values differ (dotted paths, ``[i]`` for list entries), ignoring ``OPAQUE_FIELDS`` at any
    depth; [] when they are equal but for those."""
    if isinstance(first, dict) and isinstance(second, dict):
        out: list[str] = []
        for key in list(first) + [k for k in second if k not in first]:
            if key in OPAQUE_FIELDS:
                continue
            where = f"{path}.{key}" if path else str(key)
            if key not in first or key not in second:
                out.append(where)
            else:
                out += differing(first[key], second[key], where)
        return out
    if isinstance(first, list) and isinstance(second, list):
        if len(first) != len(second):
            return [path or "(list length)"]
        out = []
        for index, (a, b) in enumerate(zip(first, second)):
            out += differing(a, b, f"{path}[{index}]")
        return out
    same = first == second and isinstance(first, bool) == isinstance(second, bool)
    return [] if same else [path or "(value)"]


# The item field that holds each item-level text.
EVENTS_TARGET = {rule.text: rule.target for rule in EVENTS.values() if rule.text and rule.target}


def analyse(exchange: Exchange, events: list[SseEvent], profile: str) -> dict[str, list[Problem]]:
    """All problems of a Responses stream under ``profile``, by rule family."""
    return dict(ResponsesWalk(exchange, events, profile).run())
