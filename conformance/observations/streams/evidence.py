"""What each rule family of the stream grammars rests on: the one table of their evidence.

A rule earns ``fail`` under the ``openai`` profile only when OpenAI documents it (the official spec
or a guide) and genuine traffic we have never contradicts it (issue 8). For each rule family of
``chat.py`` and ``responses.py`` the table says what the family fails, where OpenAI documents it,
what genuine traffic shows ("observed": official api.openai.com interactions of ../shared/corpus
without synthetic suspicion, as measured when the table was written; none violates a ``fail`` rule,
which tests/test_audit_corpus.py checks on every run), and what it deliberately does not fail
(``relaxed``: a note instead, and why). Exceptions learned from one project's recordings say so:
``benchmarks/leave_one_out.py`` refits them when that project is held out.

The contract side (which fields each event and chunk must carry) has its evidence in the contracts
themselves (``x-evidence`` on every node with ``required``, ``conformance/specs/contracts/README.md``).
"""

from __future__ import annotations

from dataclasses import dataclass

SPEC = "official spec (openai-openapi, ../shared/spec/openai/openapi.yaml)"


@dataclass(frozen=True)
class FamilyEvidence:
    """The evidence of one rule family of one API's stream grammar."""

    api: str  # chat | responses
    family: str  # the grammar's rule family (Problem.rule)
    check: str  # the implicit check that reports it
    rules: str  # what fails
    documented: str  # where OpenAI documents it
    observed: str  # genuine streams that follow it (never violated)
    relaxed: str = ""  # what is a note instead of a failure, and why
    learned_from: tuple[str, ...] = ()  # projects whose recordings alone taught an exception (LOO refits them)


FAMILIES: tuple[FamilyEvidence, ...] = (
    # -- Responses --------------------------------------------------------------------------------------------
    FamilyEvidence(
        "responses", "framing", "stream_framing",
        "an `event:` line equal to the JSON `type`; JSON data with a `type`; no `data: [DONE]` under openai",
        f"{SPEC}: every ResponseStreamEvent has a `type`; the API reference's streaming example (createResponse, "
        "x-oaiMeta) writes `event: <type>` lines and ends at response.completed without [DONE]",
        "204 genuine streams, 5 projects: every event line equals its type, none sends [DONE]"),
    FamilyEvidence(
        "responses", "schema", "stream_event_schema",
        "each event against contracts/openai/events/*.json, the terminal response against response.json",
        "per field, in the contracts' x-evidence (spec event and Response schemas)",
        "per field, in the contracts' x-evidence",
        "informational fields (logprobs, usage details, request echoes, ...) absent: a note"),
    FamilyEvidence(
        "responses", "sequence", "stream_sequence",
        "`sequence_number` on every event (a late protocol field: fail from 2025-08, stale before); under openai "
        "from 0 (N+1 resumed after N) rising by exactly one",
        f"{SPEC}: `sequence_number` required on every event (\"The sequence number of this event\"); resuming "
        "with `starting_after` (GET /responses/{{id}})",
        "202 genuine streams since 2025-07, 4 projects: numbered from 0 by one; the 2 streams of 2025-03 "
        "(ruby-openai) have none (stale)"),
    FamilyEvidence(
        "responses", "envelope", "stream_envelope",
        "response.created (or queued) first; response.in_progress before the output (openai); exactly one "
        "terminal event (completed, incomplete, failed), last, with the matching status; one response id",
        f"{SPEC}: the descriptions of ResponseCreatedEvent, ResponseInProgressEvent, ResponseCompletedEvent, "
        "ResponseIncompleteEvent, ResponseFailedEvent; the streaming guide's event order",
        "204 genuine streams, 5 projects (queued first: 2 background streams of openai-dotnet; incomplete: 5)"),
    FamilyEvidence(
        "responses", "nesting", "stream_nesting",
        "output items, content parts and summary parts opened, filled and closed in order; item_id, "
        "output_index, content_index, summary_index consistent; deltas end with one .done; nothing left open at "
        "the terminal event",
        f"{SPEC}: the added/done event pairs and the ids and indexes each event schema requires",
        "204 genuine streams, 5 projects (content parts 147, reasoning summaries 5, built-in tool items 12)",
        "a server-side tool item (vocabulary.SERVER_SIDE_ITEMS) left open at the terminal event is a note when "
        "the terminal output holds it: OpenAI does not promise an output_item.done per item and the client "
        "assembles nothing from it (issue 8: a genuine stream leaves an mcp_list_tools item open)"),
    FamilyEvidence(
        "responses", "reassembly", "stream_reassembly",
        "deltas concatenate to their .done text, which equals the part of content_part.done, the item of "
        "output_item.done and the terminal response's output[i] (the whole item)",
        f"{SPEC}: the .done events carry the full text; ReasoningItem.encrypted_content says to use the item of "
        "response.output_item.done",
        "204 genuine streams, 5 projects (text 147, function calls 56, reasoning 29, summaries 5)",
        "fields of vocabulary.OPAQUE_FIELDS (encrypted_content, obfuscation, sequence_number, logprobs) are not "
        "compared between events: opaque or regenerated by the server (issue 8: 20 genuine reasoning streams "
        "differ in encrypted_content between output_item.done and response.completed)"),
    FamilyEvidence(
        "responses", "error", "stream_error",
        "an `error` event or response.failed, reported with its code and message (judges targets; the audit "
        "leaves it out: a recorded failure is a real shape)",
        f"{SPEC}: ResponseErrorEvent, ResponseFailedEvent",
        "not a shape rule: genuine streams may carry either"),
    # -- Chat Completions -------------------------------------------------------------------------------------
    FamilyEvidence(
        "chat", "framing", "stream_framing",
        "`data:` lines only, JSON objects, ending with exactly one `data: [DONE]`",
        f"{SPEC}: CreateChatCompletionStreamResponse and ChatCompletionStreamOptions (the usage chunk comes "
        "before the `data: [DONE]` message); the streaming guide",
        "157 genuine streams, 5 projects, every one ends with one [DONE]"),
    FamilyEvidence(
        "chat", "schema", "stream_event_schema",
        "each chunk against contracts/openai/chat.completion.chunk.json",
        "per field, in the contract's x-evidence (spec CreateChatCompletionStreamResponse)",
        "per field, in the contract's x-evidence",
        "chunks without `choices` (spec-required): the contract's x-evidence lists it as contradicted by genuine "
        "audio-output streams", ("openai-dotnet",)),
    FamilyEvidence(
        "chat", "chunks", "chat_stream_chunks",
        "`object` chat.completion.chunk; the same id, created and model on every chunk; the role first; exactly "
        "one finish_reason per choice and no output after it",
        f"{SPEC}: `object` is always chat.completion.chunk; \"Each chunk has the same ID\" / \"the same "
        "timestamp\"; finish_reason \"the reason the model stopped generating tokens\"",
        "157 genuine streams, 5 projects (finish_reason: the 153 text and tool streams; the 4 audio-output "
        "streams end each choice with its final audio update)",
        "a choice whose audio answer is complete (id, data, transcript) and that ends with its final audio update "
        "(`delta.audio.expires_at` alone) has finished without a finish_reason: OpenAI documents that it omits "
        "finish_reason there (vocabulary.ends_with_final_audio: "
        "openai-python's ChatCompletionChunk types, openai-node bd86817e)"),
    FamilyEvidence(
        "chat", "tool_calls", "chat_stream_tool_calls",
        "delta.tool_calls fragments keyed by index, in order; id and function.name in the first fragment only; "
        "argument pieces that are strings and concatenate into a JSON object",
        f"{SPEC}: ChatCompletionMessageToolCallChunk (index required; id, type, function in the first); the "
        "function-calling guide's streaming section",
        "49 genuine streams with tool calls, 3 projects",
        "arguments that are not a JSON object are a note under openai unless the tool is strict: the spec says "
        "\"the model does not always generate valid JSON\""),
    FamilyEvidence(
        "chat", "usage", "chat_stream_usage",
        "with stream_options.include_usage exactly one extra final chunk with `choices: []` and the usage; "
        "without it no usage",
        f"{SPEC}: ChatCompletionStreamOptions.include_usage (\"an additional chunk ... before the data: [DONE] "
        "message ... choices field will always be an empty array\"); CreateChatCompletionStreamResponse.usage "
        "(\"only present when you set include_usage ... null except for the last chunk\")",
        "146 genuine streams asked for usage and got exactly that, 4 projects",
        "the final audio update of an audio-output stream (its expires_at alone) may follow the usage chunk: it "
        "brings no output; OpenAI's SDK (openai-python, ChoiceDeltaAudio, generated from its API definition) says "
        "\"the final audio update contains only its expiry timestamp\""),
    FamilyEvidence(
        "chat", "error", "stream_error",
        "an `error` payload inside the stream, reported with its code and message (judges targets; the audit "
        "leaves it out)",
        f"{SPEC}: error payloads of a stream; the streaming guide",
        "not a shape rule: genuine streams may carry one"),
)

BY_FAMILY = {(entry.api, entry.family): entry for entry in FAMILIES}


def evidence_of(api: str, family: str) -> FamilyEvidence | None:
    """The evidence entry of one rule family (None when the table lacks it: a test forbids that)."""
    return BY_FAMILY.get((api, family))
