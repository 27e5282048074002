"""The one table of fields (and event types) OpenAI started sending after an API launched.

Three users read it: the ``schema`` check names a missing field's first-seen month in its
evidence (``later``); the audit's stale judgement (``conformance/verdicts/stale.py``) calls a
recording that predates ``since`` ``stale``; ``benchmarks/leave_one_out.py`` refits the dates per
corpus project.

Each entry has a **role**:

- ``protocol``: a client or the stream grammar depends on the field (``sequence_number`` orders and
  resumes a stream). Once OpenAI sends it universally its absence is a real deviation: ``fail`` from
  ``since`` on (that is how a compatible server's cassette without ``sequence_number`` is caught),
  ``stale`` before.
- ``informational``: accounting details, request echoes, metadata. Their presence varies with model,
  account and endpoint (api-differences.md section 3.8: genuine 2026-08 chat answers lack
  ``cache_write_tokens``, later responses lack ``billing`` or ``moderation``), so their absence is
  never ``fail`` under ``openai``: the contracts mark them ``informational`` (``x-evidence``) and the
  finding is a note; ``since`` only says whether the audit calls an older recording ``stale``
  ("recorded before OpenAI sent it") or leaves the note.

Entries are keyed by (api, name, role): a bare name may stand for two places of different roles (the
Responses ``summary`` entry is the ``reasoning.summary`` request echo; the reasoning item's ``summary``
array is protocol, spec-required and always sent, so an absent item summary is never excused by it).

``first_seen`` is the earliest month a genuine recording has the field: the earlier of
api-differences.md section 3.8 (about 3,800 interactions of 11 projects) and our own measurement of
../shared/corpus (``benchmarks/contract_fields.py --history``). The corpus has no Responses
recordings from 2025-04 to 2025-08, so a Responses "2025-09" measured there only means "by 2025-09".
``since`` is the first month from which every genuine recording has it: the month after the later of
first seen and the last recording that lacks it.
"""

from __future__ import annotations

from dataclasses import dataclass

PROTOCOL = "protocol"
INFORMATIONAL = "informational"
ROLES = (PROTOCOL, INFORMATIONAL)


@dataclass(frozen=True)
class Appeared:
    """One field (or event type) that the API started sending at some point."""

    api: str  # 'chat' or 'responses'
    name: str  # the field name as checks report it in evidence["missing"] (or an event type)
    first_seen: str  # YYYY-MM, first recording that has it
    since: str  # YYYY-MM, from this month on every genuine recording has it
    role: str  # PROTOCOL or INFORMATIONAL (see the module docstring)
    place: str  # where the field is (the name alone may stand for several places)
    note: str = ""


HISTORY: tuple[Appeared, ...] = (
    # Chat Completions (bodies and stream chunks)
    Appeared("chat", "system_fingerprint", "2024-03", "2024-04", INFORMATIONAL, "chat.completion, chunks",
             "absent in 2023 recordings; deprecated in the spec"),
    Appeared("chat", "refusal", "2024-08", "2024-10", INFORMATIONAL, "choices[].message.refusal",
             "null unless the model refuses; stored completions never carry it"),
    Appeared("chat", "completion_tokens_details", "2024-09", "2024-10", INFORMATIONAL, "usage"),
    Appeared("chat", "reasoning_tokens", "2024-09", "2024-10", INFORMATIONAL, "usage.completion_tokens_details"),
    Appeared("chat", "prompt_tokens_details", "2024-10", "2024-12", INFORMATIONAL, "usage",
             "last recording without it: 2024-09"),
    Appeared("chat", "cached_tokens", "2024-10", "2024-12", INFORMATIONAL, "usage.prompt_tokens_details"),
    Appeared("chat", "audio_tokens", "2024-11", "2024-12", INFORMATIONAL, "usage.*_tokens_details"),
    Appeared("chat", "accepted_prediction_tokens", "2024-11", "2024-12", INFORMATIONAL,
             "usage.completion_tokens_details"),
    Appeared("chat", "rejected_prediction_tokens", "2024-11", "2024-12", INFORMATIONAL,
             "usage.completion_tokens_details"),
    Appeared("chat", "service_tier", "2024-11", "2025-02", INFORMATIONAL, "chat.completion",
             "last recording without it: 2025-01; search-preview models still omit it"),
    Appeared("chat", "annotations", "2025-03", "2025-04", INFORMATIONAL, "choices[].message.annotations"),
    Appeared("chat", "obfuscation", "2025-08", "2025-12", INFORMATIONAL, "chunks",
             "on by default; include_obfuscation: false turns it off"),
    Appeared("chat", "cache_write_tokens", "2026-07", "2026-08", INFORMATIONAL, "usage.prompt_tokens_details",
             "no chat recording here; genuine 2026-08 answers lack it (issue 8)"),
    # Responses (response objects, items and stream events)
    Appeared("responses", "service_tier", "2025-05", "2025-06", INFORMATIONAL, "response"),
    Appeared("responses", "top_logprobs", "2025-06", "2025-07", INFORMATIONAL, "response (request echo)"),
    Appeared("responses", "sequence_number", "2025-07", "2025-08", PROTOCOL, "every stream event",
             "orders and resumes a stream; no stream of 2025-03..05 has it"),
    Appeared("responses", "safety_identifier", "2025-07", "2025-08", INFORMATIONAL, "response (request echo)"),
    Appeared("responses", "obfuscation", "2025-08", "2025-09", INFORMATIONAL, "delta events"),
    Appeared("responses", "prompt_cache_key", "2025-09", "2025-10", INFORMATIONAL, "response (request echo)"),
    Appeared("responses", "max_tool_calls", "2025-09", "2025-10", INFORMATIONAL, "response (request echo)"),
    Appeared("responses", "background", "2025-09", "2025-10", INFORMATIONAL, "response (request echo)"),
    Appeared("responses", "verbosity", "2025-09", "2025-10", INFORMATIONAL, "response.text.verbosity"),
    Appeared("responses", "summary", "2025-09", "2025-10", INFORMATIONAL, "response.reasoning.summary",
             "the request echo (old ones have generate_summary); not the reasoning item's summary array"),
    Appeared("responses", "logprobs", "2025-09", "2025-11", INFORMATIONAL,
             "output_text parts and output_text.delta/done events", "spec-required, absent in 2025-03 streams"),
    Appeared("responses", "billing", "2025-09", "2025-10", INFORMATIONAL, "non-stream create answers",
             "not in the spec; later genuine responses lack it (issue 8)"),
    Appeared("responses", "prompt_cache_retention", "2025-11", "2025-12", INFORMATIONAL, "response (request echo)"),
    Appeared("responses", "completed_at", "2025-12", "2026-01", INFORMATIONAL, "response"),
    Appeared("responses", "frequency_penalty", "2026-01", "2026-02", INFORMATIONAL, "response (request echo)"),
    Appeared("responses", "presence_penalty", "2026-01", "2026-02", INFORMATIONAL, "response (request echo)"),
    Appeared("responses", "moderation", "2026-04", "2026-06", INFORMATIONAL, "response",
             "api-differences 3.8: 2026-05; the corpus: 2026-04; later genuine responses lack it (issue 8)"),
    Appeared("responses", "tool_usage", "2026-06", "2026-07", INFORMATIONAL, "response"),
    Appeared("responses", "context", "2026-06", "2026-07", INFORMATIONAL, "response.reasoning.context"),
    Appeared("responses", "mode", "2026-08", "2026-09", INFORMATIONAL, "response.reasoning.mode"),
    Appeared("responses", "cache_write_tokens", "2026-07", "2026-08", INFORMATIONAL,
             "usage.input_tokens_details"),
)

_BY_KEY = {(entry.api, entry.name, entry.role): entry for entry in HISTORY}


def appeared(api: str | None, name: str, role: str | None = None) -> Appeared | None:
    """The history entry of ``name`` for ``api`` in ``role`` (any role when None), or None when it is not
    a late addition."""
    if role is not None:
        return _BY_KEY.get((api or "", name, role))
    return _BY_KEY.get((api or "", name, PROTOCOL)) or _BY_KEY.get((api or "", name, INFORMATIONAL))


def index(entries: tuple[Appeared, ...] | list[Appeared]) -> dict[tuple[str, str, str], Appeared]:
    """A lookup table ``(api, name, role) -> entry`` of another list of entries (a refitted history)."""
    return {(entry.api, entry.name, entry.role): entry for entry in entries}


def first_seen_any_api() -> dict[str, str]:
    """``name -> first_seen``, the earliest over both APIs (for callers that do not know the API)."""
    out: dict[str, str] = {}
    for entry in HISTORY:
        out[entry.name] = min(out.get(entry.name, entry.first_seen), entry.first_seen)
    return out
