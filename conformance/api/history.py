"""The one table of fields (and event types) OpenAI started sending after an API launched.

Two users read it: the ``schema`` check names a missing field's first-seen month in its
evidence (``later``), and the audit turns a finding that is only about such fields into
``stale`` when the recording predates ``since`` (``conformance.audit.history``).

``first_seen`` is the earliest month a genuine recording has the field: the earlier of
api-differences.md section 3.8 (about 3,800 interactions of 11 projects) and our own
measurement of ../shared/corpus (``benchmarks/contract_fields.py --history``, which
prints both and flags any disagreement). The corpus has no Responses recordings from
2025-04 to 2025-08, so a Responses "2025-09" measured there only means "by 2025-09".
``since`` is the first month from which every genuine recording has it: the month after
the later of first seen and the last recording that lacks it. ``since`` decides
verdicts; ``first_seen`` is information.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Appeared:
    """One field (or event type) that the API started sending at some point."""

    api: str  # 'chat' or 'responses'
    name: str  # the field name as checks report it in evidence["missing"] (or an event type)
    first_seen: str  # YYYY-MM, first recording that has it
    since: str  # YYYY-MM, from this month on every genuine recording has it
    note: str = ""


HISTORY: tuple[Appeared, ...] = (
    # Chat Completions (bodies and stream chunks)
    Appeared("chat", "system_fingerprint", "2024-03", "2024-04", "absent in 2023 recordings"),
    Appeared("chat", "refusal", "2024-08", "2024-10", "message.refusal and delta.refusal"),
    Appeared("chat", "completion_tokens_details", "2024-09", "2024-10"),
    Appeared("chat", "reasoning_tokens", "2024-09", "2024-10", "in completion_tokens_details"),
    Appeared("chat", "prompt_tokens_details", "2024-10", "2024-12", "last recording without it: 2024-09"),
    Appeared("chat", "cached_tokens", "2024-10", "2024-12", "in prompt_tokens_details"),
    Appeared("chat", "audio_tokens", "2024-11", "2024-12"),
    Appeared("chat", "accepted_prediction_tokens", "2024-11", "2024-12"),
    Appeared("chat", "rejected_prediction_tokens", "2024-11", "2024-12"),
    Appeared("chat", "service_tier", "2024-11", "2025-02",
             "last recording without it: 2025-01; search-preview models still omit it"),
    Appeared("chat", "annotations", "2025-03", "2025-04", "message.annotations"),
    Appeared("chat", "obfuscation", "2025-08", "2025-12", "on by default; include_obfuscation: false turns it off"),
    Appeared("chat", "cache_write_tokens", "2026-07", "2026-08", "in prompt_tokens_details; no chat recording here"),
    # Responses (response objects, items and stream events)
    Appeared("responses", "service_tier", "2025-05", "2025-06"),
    Appeared("responses", "top_logprobs", "2025-06", "2025-07"),
    Appeared("responses", "sequence_number", "2025-07", "2025-08", "no stream of 2025-03..05 has it"),
    Appeared("responses", "safety_identifier", "2025-07", "2025-08"),
    Appeared("responses", "obfuscation", "2025-08", "2025-09", "on delta events"),
    Appeared("responses", "prompt_cache_key", "2025-09", "2025-10"),
    Appeared("responses", "max_tool_calls", "2025-09", "2025-10"),
    Appeared("responses", "background", "2025-09", "2025-10"),
    Appeared("responses", "verbosity", "2025-09", "2025-10", "text.verbosity"),
    Appeared("responses", "summary", "2025-09", "2025-10", "reasoning.summary (old ones have generate_summary)"),
    Appeared("responses", "logprobs", "2025-09", "2025-11", "output_text parts and output_text.delta/done events"),
    Appeared("responses", "billing", "2025-09", "2025-10", "not in the spec"),
    Appeared("responses", "prompt_cache_retention", "2025-11", "2025-12"),
    Appeared("responses", "completed_at", "2025-12", "2026-01"),
    Appeared("responses", "frequency_penalty", "2026-01", "2026-02"),
    Appeared("responses", "presence_penalty", "2026-01", "2026-02"),
    Appeared("responses", "moderation", "2026-04", "2026-06", "api-differences 3.8: 2026-05; the corpus: 2026-04"),
    Appeared("responses", "tool_usage", "2026-06", "2026-07"),
    Appeared("responses", "context", "2026-06", "2026-07", "reasoning.context"),
    Appeared("responses", "mode", "2026-08", "2026-09", "reasoning.mode"),
    Appeared("responses", "cache_write_tokens", "2026-07", "2026-08", "in input_tokens_details"),
)

_BY_KEY = {(entry.api, entry.name): entry for entry in HISTORY}


def appeared(api: str | None, name: str) -> Appeared | None:
    """The history entry of ``name`` for ``api``, or None when it is not a late addition."""
    return _BY_KEY.get((api or "", name))


def first_seen_any_api() -> dict[str, str]:
    """``name -> first_seen``, the earliest over both APIs (for callers that do not know the API)."""
    out: dict[str, str] = {}
    for entry in HISTORY:
        out[entry.name] = min(out.get(entry.name, entry.first_seen), entry.first_seen)
    return out
