"""The vocabulary of both APIs: names every layer uses, each defined once.

Sources: the official OpenAPI document (spec), OpenAI's migration guide, and
recorded OpenAI traffic (api-differences.md §3). Where a fact comes only from
traffic it says so.
"""

from __future__ import annotations

# Profiles a target is judged under: what OpenAI sends (openai), what a client needs (compat), Open Responses.
PROFILES = ("openai", "compat", "open-responses")

# Model roles a target maps to model names (``${model.vision}`` in a case).
MODEL_ROLES = ("default", "vision", "reasoning", "audio", "search", "computer")

# Features a case may require and a target may declare it lacks (``lacks``) or must not run (``never_run``).
FEATURES = {
    "chat": "the Chat Completions API",
    "responses": "the Responses API",
    "stream": "streamed answers",
    "vision": "image input",
    "structured_outputs": "JSON-schema output formats",
    "json_mode": "the json_object output format",
    "tools": "function tools",
    "store": "storing answers",
    "retrieve": "GET/DELETE of a stored response",
    "stored_chat": "stored chat completions",
    "reasoning": "reasoning models and their controls",
    "previous_response_id": "chaining turns with previous_response_id",
    "conversations": "the Conversations API",
    "builtin_tools": "OpenAI's built-in tools",
    "audio": "audio output",
    "web_search": "the web search tool",
    "file_search": "the file search tool (files and vector stores)",
    "files": "uploading files and building vector stores (what file search cases set up first)",
    "computer_use": "the computer use tool",
    "code_interpreter": "the code interpreter tool",
    "errors": "error answers to invalid requests",
}

# Token usage field names per API: the other API's names in a body are a failure.
USAGE_NAMES = {
    "chat": {"input": "prompt_tokens", "output": "completion_tokens", "total": "total_tokens",
             "input_details": "prompt_tokens_details", "output_details": "completion_tokens_details"},
    "responses": {"input": "input_tokens", "output": "output_tokens", "total": "total_tokens",
                  "input_details": "input_tokens_details", "output_details": "output_tokens_details"},
}

# Id prefixes OpenAI uses (api-differences §3.4, from traffic: not in the spec); judged under `openai` only.
CHAT_ID_PREFIX = "chatcmpl-"
RESPONSE_ID_PREFIX = "resp_"
CALL_ID_PREFIX = "call_"
ITEM_ID_PREFIXES = {
    "message": "msg_",
    "function_call": "fc_",
    "reasoning": "rs_",
    "web_search_call": "ws_",
    "file_search_call": "fs_",
    "code_interpreter_call": "ci_",
    "image_generation_call": "ig_",
    "mcp_list_tools": "mcpl_",
    "mcp_call": "mcp_",
    "mcp_approval_request": "mcpr_",
    "computer_call": "cu_",
    "apply_patch_call": "apc_",
    "custom_tool_call": "ctc_",
    "tool_search_call": "tsc_",
    "tool_search_output": "tso_",
    "compaction": "cmp_",
}
# Output items that carry a call_id answered by a *_output input item.
CALL_ID_ITEMS = ("function_call", "computer_call", "apply_patch_call", "custom_tool_call")

# Top-level request parameters of one API that the other does not have (spec CreateChatCompletionRequest vs
# CreateResponse): OpenAI answers 400 when they are sent to the other API. Not listed: the penalties, which
# Response objects echo since 2026-01.
CHAT_ONLY_PARAMETERS = (
    "messages", "response_format", "max_tokens", "max_completion_tokens", "reasoning_effort", "n", "functions",
    "function_call", "logit_bias", "logprobs", "seed", "stop", "modalities", "audio", "prediction",
    "web_search_options", "verbosity",
)
RESPONSES_ONLY_PARAMETERS = (
    "input", "instructions", "max_output_tokens", "previous_response_id", "text", "reasoning", "include",
    "truncation", "background", "conversation", "max_tool_calls", "prompt", "context_management",
)
ONLY_PARAMETERS = {"chat": CHAT_ONLY_PARAMETERS, "responses": RESPONSES_ONLY_PARAMETERS}

# Responses stream events that open and end the stream (spec ResponseStreamEvent).
START_EVENTS = ("response.queued", "response.created")
PROGRESS_EVENTS = ("response.in_progress",)
TERMINAL_EVENTS = ("response.completed", "response.incomplete", "response.failed")
ENVELOPE_EVENTS = START_EVENTS + PROGRESS_EVENTS
# The response status each terminal event carries.
TERMINAL_STATUS = {"response.completed": "completed", "response.incomplete": "incomplete",
                   "response.failed": "failed"}
# The `object` of a chat stream chunk (and the name of its contract).
CHAT_CHUNK_OBJECT = "chat.completion.chunk"
# The chat stream's terminator (Responses streams from OpenAI send none; Open Responses requires one).
DONE = "[DONE]"
# The final audio update of an audio-output chat stream: a choice delta carrying only `audio.expires_at`. OpenAI
# omits finish_reason from it and sends it last (after the usage chunk too), so a choice whose audio answer is
# complete (its id, data and transcript arrived) and that ends with it has finished. Documented in OpenAI's SDKs,
# generated from its API definition: openai-python 3.57 (ChatCompletionChunk Choice.finish_reason: "Omitted from
# the final audio update containing only `delta.audio.expires_at`"; ChoiceDeltaAudio: "the final audio update
# contains only its expiry timestamp") and openai-node commit bd86817e ("fix(stream): handle audio completion
# markers", #1991, fixing openai-node#1206, which shows a real gpt-4o-audio-preview stream ending that way; it
# finishes a choice so only when the accumulated audio has its id, data and transcript).
AUDIO_EXPIRY_KEY = "expires_at"
AUDIO_PARTS = ("id", "data", "transcript")
_EMPTY = (None, "", [], {})


def is_audio_expiry(delta: object) -> bool:
    """True when a chat stream delta is a final audio update (``{"audio": {"expires_at": <int>}}``, other keys
    empty)."""
    if not isinstance(delta, dict) or any(value not in _EMPTY for key, value in delta.items() if key != "audio"):
        return False
    audio = delta.get("audio")
    expiry = audio.get(AUDIO_EXPIRY_KEY) if isinstance(audio, dict) else None
    return (isinstance(expiry, int) and not isinstance(expiry, bool)
            and all(value in _EMPTY for key, value in audio.items() if key != AUDIO_EXPIRY_KEY))


def ends_with_final_audio(deltas: list[object]) -> bool:
    """True when a choice's deltas, in order, end with the final audio update after a complete audio answer (an
    id, data and a transcript arrived before): OpenAI's way to finish an audio choice without a finish_reason."""
    if not deltas or not is_audio_expiry(deltas[-1]):
        return False
    parts = {key for delta in deltas[:-1] if isinstance(delta, dict) and isinstance(delta.get("audio"), dict)
             for key, value in delta["audio"].items() if key in AUDIO_PARTS and value not in _EMPTY}
    return parts == set(AUDIO_PARTS)

# Fields whose value is opaque or regenerated by the server, so two events carrying "the same" item (or the
# same event twice) may differ in them. Equality rules between events, and between an event and the terminal
# response (observations/streams/responses.py ``same_item``), never compare these, at any depth. Everything
# else a client keeps (ids, type, role, call_id, name, arguments, texts, summaries, tool-call code/queries/
# output) is compared. Source: opaque_fields analysis of issue 8 (../shared/corpus and the traffic).
OPAQUE_FIELDS = {
    "encrypted_content": "encrypted reasoning (reasoning and compaction items) is opaque and may be re-encrypted "
                         "between events: the spec says to use the one of response.output_item.done (the one in "
                         "output_item.added may be incomplete); 20 genuine reasoning streams of issue 8 differ "
                         "here between output_item.done and response.completed; recorders also replace it "
                         "(\"Sanitized\", api-differences 3.9)",
    "obfuscation": "random-length padding on delta events and chunks, different on every event by design "
                   "(spec: stream_options.include_obfuscation)",
    "sequence_number": "the position of an event in the stream, different on every event by definition "
                       "(its own rule is stream_sequence)",
    "logprobs": "per-token detail the server may fill at a different time: 2 genuine openai-dotnet streams differ "
                "in it between response.content_part.done and output_item.done; the text itself stays compared",
}

# Output items the server executes itself (built-in tools): the client assembles nothing from their deltas.
# OpenAI does not promise a response.output_item.done for each (issue 8: a genuine stream leaves an
# mcp_list_tools item open at response.completed), so one left open is a note when the terminal output holds
# it, and a failure when the terminal output lacks it.
SERVER_SIDE_ITEMS = ("web_search_call", "file_search_call", "code_interpreter_call", "image_generation_call",
                     "mcp_call", "mcp_list_tools")

# The finish class of a chat choice or a response, API-neutral (Responses' is derived from status).
FINISH_CLASSES = ("stop", "length", "tool_calls", "content_filter", "function_call", "failed", "cancelled",
                  "in_progress", "queued", "incomplete")

# The error envelope every OpenAI error body has: {"error": {message, type, param, code}}.
ERROR_KEYS = ("message", "type", "param", "code")
