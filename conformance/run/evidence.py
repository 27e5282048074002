"""What a result keeps of its exchanges: per step the method, path, status, the tokens the answer reports,
and where the interaction sits in the cassette (the pointer reports follow to show request and response
excerpts). Live runs have no cassette, so each step also carries short excerpts; the results file drops them
when a cassette holds the exchange (``conformance/reports/results_file.py``).
"""

from __future__ import annotations

import json
from typing import Any, Callable

from conformance.cases.model import Case
from conformance.observations.observation import observe
from conformance.transport.exchange import Exchange

REQUEST_EXCERPT = 1200
RESPONSE_EXCERPT = 1600


class CountingSender:
    """Wraps a sender and remembers the position of each answer among the requests sent: in a cassette,
    interactions are recorded (and replayed) in that order."""

    def __init__(self, send: Callable[..., Exchange]):
        self.send = send
        self.sent = 0
        self._positions: dict[int, int] = {}

    def __call__(self, *args: Any) -> Exchange:
        exchange = self.send(*args)
        if exchange.status is not None:  # no answer, no interaction recorded
            self._positions[id(exchange)] = self.sent
            self.sent += 1
        return exchange

    def position(self, exchange: Exchange) -> int | None:
        """The 0-based interaction index of ``exchange`` (None when nothing was answered)."""
        return self._positions.get(id(exchange))


def usage_of(exchange: Exchange) -> dict[str, int] | None:
    """The token counts an answer reports (input, output, total, reasoning), or None when it reports none."""
    try:
        observation = observe(exchange) if exchange.ok else None
    except (AttributeError, TypeError, ValueError, KeyError, IndexError):
        return None
    usage = observation.usage if observation is not None else None
    if usage is None:
        return None
    counts = {"input": usage.input_tokens, "output": usage.output_tokens, "total": usage.total_tokens,
              "reasoning": usage.reasoning_tokens}
    counts = {name: value for name, value in counts.items() if value is not None}
    return counts or None


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, saying how much was left out."""
    return text if len(text) <= limit else text[:limit] + f"\n... ({len(text) - limit} more characters)"


def excerpts(exchange: Exchange) -> dict[str, str]:
    """Short request and response excerpts (for live runs, which have no cassette to point to)."""
    body = exchange.request_body
    request = body if isinstance(body, str) else json.dumps(body, indent=2, ensure_ascii=False)
    response = exchange.text if exchange.status is not None else f"(no answer: {exchange.transport_error})"
    if exchange.json is not None:
        response = json.dumps(exchange.json, indent=2, ensure_ascii=False)
    return {"request": clip(request or "", REQUEST_EXCERPT), "response": clip(response or "", RESPONSE_EXCERPT)}


def step_record(exchange: Exchange, interaction: int | None, excerpt: bool = True) -> dict[str, Any]:
    """The record of one sent step kept in a result; with its ``excerpts`` unless ``excerpt`` is False (a
    cassette holds the exchange: the results file keeps the interaction's number instead)."""
    record = {"name": exchange.step, "method": exchange.method, "path": exchange.path, "status": exchange.status,
              "usage": usage_of(exchange), "interaction": interaction}
    if excerpt:
        record["excerpt"] = excerpts(exchange)
    return record


def expects_rejection(case: Case, api: str) -> bool:
    """True when the case checks that ``api`` rejects the request (a 4xx): it probes a documented absence
    or an error, not whether a feature works."""
    steps = case.steps.get(api) or []
    if steps and _is_4xx(steps[-1].expect_status):
        return True
    return any(e.check == "status" and _is_4xx(e.params.get("code")) for e in case.expect.get(api, []))


def _is_4xx(expected: Any) -> bool:
    if expected is None:
        return False
    if isinstance(expected, list):
        return bool(expected) and all(isinstance(c, int) and 400 <= c < 500 for c in expected)
    if isinstance(expected, int):
        return 400 <= expected < 500
    return expected == "4xx"
