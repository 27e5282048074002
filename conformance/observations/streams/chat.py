"""The Chat Completions stream grammar, in one pass.

Rule families:
  framing     ``data:`` lines only, JSON objects, ending with exactly one ``data: [DONE]``
  schema      each chunk against ``conformance/specs/contracts/<profile>/chat.completion.chunk.json``
  chunks      ``object`` value; the same ``id``, ``created``, ``model`` on every chunk; the role
              first; exactly one ``finish_reason`` per choice, and nothing after it
  tool_calls  fragments keyed by ``index``: id and name once, argument pieces that are strings
              and concatenate into JSON (under openai a note unless the tool is strict: OpenAI
              documents that the model does not always generate valid JSON)
  usage       with ``stream_options.include_usage`` one extra final chunk with ``choices: []``
              and the usage; without it no usage
  error       an ``error`` payload inside the stream, with its code and message

Audio-output streams end a choice with its final audio update (``delta.audio.expires_at``
alone, after the usage chunk) instead of a ``finish_reason``, as OpenAI documents
(``vocabulary.ends_with_final_audio``); a complete audio choice that ends so has finished. Genuine audio streams
also send chunks without ``choices``: the chunk contract says so (x-evidence ``contradicted``).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from conformance.api.arguments import NOT_ALWAYS_JSON, parse_object, strict_tool
from conformance.api.vocabulary import CHAT_CHUNK_OBJECT, ends_with_final_audio
from conformance.observations.streams.problems import Problem, excerpt, short
from conformance.observations.streams.validation import schema_problems
from conformance.transport.exchange import Exchange
from conformance.transport.sse import SseEvent


def _request_option(exchange: Exchange, *path: str) -> Any:
    value: Any = exchange.request_body
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


@dataclass
class _Choice:
    first: int  # the event index of its first delta
    finish: list[int] = field(default_factory=list)
    deltas: list[Any] = field(default_factory=list)  # its deltas, in order


@dataclass
class _Call:
    first: int
    id: Any = None
    name: Any = None
    pieces: list[str] = field(default_factory=list)


def _carries_output(choice: dict[str, Any]) -> bool:
    """True when a choice's delta brings content, a refusal or tool calls (not just empty keys)."""
    delta = choice.get("delta") if isinstance(choice.get("delta"), dict) else {}
    return bool(delta.get("content") or delta.get("refusal") or delta.get("tool_calls"))


class ChatWalk:
    """One pass over a chat stream; ``problems`` holds the findings by rule family."""

    def __init__(self, exchange: Exchange, events: list[SseEvent], profile: str):
        self.exchange = exchange
        self.events = events
        self.profile = profile
        self.problems: dict[str, list[Problem]] = defaultdict(list)

    def add(self, rule: str, message: str, event: SseEvent | None = None, *, missing: tuple[str, ...] = (),
            only_missing: bool = False, group: Any = None, note: bool = False) -> None:
        """File a problem under ``rule``, located at ``event`` when there is one; ``note``: information that
        never makes a failure."""
        if event is None:
            self.problems[rule].append(Problem(rule, message, missing=missing, only_missing=only_missing, group=group,
                                               note=note))
        else:
            self.problems[rule].append(Problem(rule, message, event.index, "chunk", excerpt(event), missing,
                                               only_missing, group, note))

    def run(self) -> dict[str, list[Problem]]:
        """Walk the stream once; return the problems by rule family."""
        if not self.events:
            self.add("framing", "the stream has no events (empty body): a client sees zero chunks and no error")
            return self.problems
        self.framing()
        chunks = []
        for event in self.events:
            if not isinstance(event.json, dict):
                continue
            if "error" in event.json and "choices" not in event.json:
                error = event.json["error"]
                error = error if isinstance(error, dict) else {"message": error}
                self.add("error", f"error payload in the stream: code {error.get('code')!r}, message "
                                  f"{error.get('message')!r}", event)
                continue
            chunks.append(event)
        for event in chunks:
            self.problems["schema"].extend(
                schema_problems(self.profile, CHAT_CHUNK_OBJECT, event.json, event, "chunk"))
        if chunks:
            self.chunk_rules(chunks)
            self.tool_call_rules(chunks)
            self.usage_rules(chunks)
        return self.problems

    def framing(self) -> None:
        """``data:`` lines only, JSON objects, one final ``[DONE]``."""
        done = [e for e in self.events if e.is_done]
        last = self.events[-1]
        for event in self.events:
            if event.event is not None:
                self.add("framing", f"an `event: {event.event}` line: chat streams are `data:` lines only", event,
                         group="event-line")
            if not event.is_done:
                if event.json_error is not None:
                    self.add("framing", f"data is not JSON ({event.json_error})", event, group="not-json")
                elif not isinstance(event.json, dict):
                    self.add("framing", "data is not a JSON object", event, group="not-object")
        if not done:
            self.add("framing", f"the stream does not end with `data: [DONE]` (the last event is #{last.index})",
                     missing=("[DONE]",), only_missing=True)
        else:
            if len(done) > 1:
                self.add("framing", f"`data: [DONE]` sent {len(done)} times", done[1])
            if not last.is_done:
                self.add("framing", f"`data: [DONE]` is not the last event ({last.index - done[0].index} more follow)",
                         done[0])

    def chunk_rules(self, chunks: list[SseEvent]) -> None:
        """Object value; constant id, created, model; role first; one finish_reason per choice, nothing after."""
        first = chunks[0].json
        choices: dict[int, _Choice] = {}
        for event in chunks:
            chunk = event.json
            if chunk.get("object") != CHAT_CHUNK_OBJECT:
                self.add("chunks", f"object is {chunk.get('object')!r}, expected {CHAT_CHUNK_OBJECT!r}", event,
                         group=("object", repr(chunk.get("object"))))
            for key in ("id", "created", "model"):
                if chunk.get(key) != first.get(key):
                    self.add("chunks", f"{key} {short(chunk.get(key))} differs from the first chunk's "
                                       f"{short(first.get(key))}", event, group=("constant", key))
            for choice in chunk.get("choices") if isinstance(chunk.get("choices"), list) else []:
                if not isinstance(choice, dict) or not isinstance(choice.get("index"), int):
                    continue  # the schema reports it
                index = choice["index"]
                delta = choice.get("delta") if isinstance(choice.get("delta"), dict) else {}
                state = choices.get(index)
                if state is None:
                    state = choices[index] = _Choice(event.index)
                    if "role" not in delta or delta.get("role") is None:
                        self.add("chunks", f"the first delta of choice {index} has no role (the role arrives first)",
                                 event, missing=("role",), only_missing=True)
                    elif delta["role"] != "assistant":
                        self.add("chunks", f"the first delta of choice {index} has role {delta['role']!r}, expected "
                                           f"'assistant'", event)
                elif delta.get("role") not in (None, "assistant"):
                    self.add("chunks", f"role changes to {delta['role']!r} in choice {index}", event)
                state.deltas.append(delta)
                if choice.get("finish_reason") is not None:
                    if state.finish:
                        self.add("chunks", f"a second finish_reason {choice['finish_reason']!r} for choice {index} "
                                           f"(the first came at #{state.finish[0]})", event)
                    state.finish.append(event.index)
                elif state.finish and _carries_output(choice):
                    self.add("chunks", f"choice {index} brings output after its finish_reason (#{state.finish[0]})",
                             event, group=("after-finish", index))
        if sorted(choices) != list(range(len(choices))):
            self.add("chunks", f"choice indexes are {sorted(choices)}, expected 0..{len(choices) - 1}")
        for index, state in sorted(choices.items()):
            if not state.finish and not ends_with_final_audio(state.deltas):
                self.add("chunks", f"choice {index} never gets a finish_reason",
                         missing=("finish_reason",), only_missing=True)

    def tool_call_rules(self, chunks: list[SseEvent]) -> None:
        """Reassemble ``delta.tool_calls`` by index; each call's arguments must parse into a JSON object."""
        calls: dict[tuple[int, int], _Call] = {}
        count: dict[int, int] = defaultdict(int)
        for event in chunks:
            for choice in event.json.get("choices") if isinstance(event.json.get("choices"), list) else []:
                if not isinstance(choice, dict) or not isinstance(choice.get("delta"), dict):
                    continue
                fragments = choice["delta"].get("tool_calls")
                if not isinstance(fragments, list):
                    continue
                for fragment in fragments:
                    if isinstance(fragment, dict):
                        self.fragment(event, choice.get("index", 0), fragment, calls, count)
        for (choice, index), call in sorted(calls.items()):
            arguments = "".join(call.pieces)
            label = f"tool call {index} ({call.name!r}) of choice {choice}"
            parsed, why = parse_object(arguments)
            if parsed is None:
                lenient = self.profile == "openai" and not strict_tool("chat", call.name, self.exchange.request_body)
                self.add("tool_calls", f"the concatenated arguments of {label} {why}"
                         + (f" ({NOT_ALWAYS_JSON}: not a failure)" if lenient else ""), note=lenient)

    def fragment(self, event: SseEvent, choice: int, fragment: dict[str, Any], calls: dict, count: dict) -> None:
        """One tool-call fragment: id and name in the first one only, indexes in order."""
        index = fragment.get("index")
        if not isinstance(index, int) or isinstance(index, bool):
            self.add("tool_calls", "a tool_calls fragment without an integer index: fragments cannot be reassembled",
                     event, missing=("index",) if "index" not in fragment else ())
            return
        function = fragment.get("function") if isinstance(fragment.get("function"), dict) else {}
        call = calls.get((choice, index))
        if call is None:
            if index != count[choice]:
                self.add("tool_calls", f"tool call index {index} appears before index {count[choice]} of choice "
                                       f"{choice}", event)
            count[choice] += 1
            call = calls[(choice, index)] = _Call(event.index, fragment.get("id"), function.get("name"))
            absent = tuple(name for name, value in (("id", call.id), ("function.name", call.name))
                           if not isinstance(value, str) or not value)
            if absent:
                self.add("tool_calls", f"the first fragment of tool call {index} lacks {' and '.join(absent)} "
                                       f"(they arrive once, in the first fragment)", event, missing=absent,
                         only_missing=True)
        else:
            repeated = [name for name, value in (("id", fragment.get("id")), ("function.name", function.get("name")))
                        if value]
            if repeated:
                self.add("tool_calls", f"a later fragment of tool call {index} repeats {' and '.join(repeated)} "
                                       f"(clients concatenate string fields, so the value gets doubled)", event,
                         group=("repeat", index))
            elif self.profile != "compat" and ("id" in fragment or "name" in function or "type" in fragment):
                self.add("tool_calls", f"a later fragment of tool call {index} carries "
                                       f"{', '.join(k for k in ('id', 'type') if k in fragment) or 'function.name'} "
                                       f"(OpenAI sends only index and argument pieces after the first)", event,
                         group=("later-keys", index))
        arguments = function.get("arguments")
        if isinstance(arguments, str):
            call.pieces.append(arguments)
        elif arguments is not None:  # a JSON value instead of a string: the schema reports the type
            call.pieces.append(json.dumps(arguments))

    def usage_rules(self, chunks: list[SseEvent]) -> None:
        """The usage chunk as ``stream_options.include_usage`` asks: one, last, ``choices: []``; else none."""
        wanted = _request_option(self.exchange, "stream_options", "include_usage") is True
        carrying = [e for e in chunks if e.json.get("usage") is not None]
        if not wanted:
            for event in carrying[:1]:
                self.add("usage", "carries usage, but the request did not ask for it (no stream_options."
                                  "include_usage)", event)
            return
        if not carrying:
            self.add("usage", "stream_options.include_usage is true, but no chunk carries usage",
                     missing=("usage",), only_missing=True)
            return
        if len(carrying) > 1:
            self.add("usage", f"{len(carrying)} chunks carry usage ("
                              + ", ".join(f"#{e.index}" for e in carrying[:5]) + "): expected one extra final chunk",
                     carrying[1])
        usage = carrying[-1]
        if usage.json.get("choices") != []:
            self.add("usage", f"the usage chunk has choices {short(usage.json.get('choices'))}, expected "
                              f"`choices: []`", usage)
        for event in chunks:
            if event.index > usage.index and any(
                    isinstance(c, dict) and (_carries_output(c) or c.get("finish_reason") is not None)
                    for c in event.json.get("choices") or []):
                self.add("usage", f"a chunk brings output after the usage chunk (#{usage.index}); the usage chunk "
                                  f"comes last", event)
                break


def analyse(exchange: Exchange, events: list[SseEvent], profile: str) -> dict[str, list[Problem]]:
    """All problems of a chat stream under ``profile``, by rule family."""
    return dict(ChatWalk(exchange, events, profile).run())
