"""An Exchange is one HTTP request and its answer, as the checks see it.

Built from a live response or a cassette interaction alike, so the suite and
``conformance audit`` judge the same objects. Bodies are parsed once, lazily.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from conformance.sse import SseEvent, parse_sse

API_PATHS = (
    # (regex on the path after any prefix, api, endpoint label)
    (re.compile(r"/chat/completions/?$"), "chat", "chat/completions"),
    (re.compile(r"/chat/completions/[^/]+/messages/?$"), "chat", "chat/completions/{id}/messages"),
    (re.compile(r"/chat/completions/[^/]+/?$"), "chat", "chat/completions/{id}"),
    (re.compile(r"/responses/?$"), "responses", "responses"),
    (re.compile(r"/responses/[^/]+/input_items/?$"), "responses", "responses/{id}/input_items"),
    (re.compile(r"/responses/(input_tokens|compact)/?$"), "responses", None),
    (re.compile(r"/responses/[^/]+/cancel/?$"), "responses", "responses/{id}/cancel"),
    (re.compile(r"/responses/[^/]+/?$"), "responses", "responses/{id}"),
)


def classify_path(path: str) -> tuple[str | None, str | None]:
    """Return (api, endpoint) for a URL path, e.g. ('responses', 'responses/{id}'), or (None, None)."""
    path = path.split("?", 1)[0]
    for pattern, api, endpoint in API_PATHS:
        match = pattern.search(path)
        if match:
            if endpoint is None:
                return api, "responses/" + match.group(1)
            return api, endpoint
    return None, None


@dataclass
class Exchange:
    """One request/response pair. ``status`` is None when no answer arrived (see ``transport_error``)."""

    method: str
    url: str
    request_body: Any = None  # parsed JSON, or the raw text when not JSON
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names
    text: str = ""  # the decoded response body
    transport_error: str | None = None
    step: str = "main"

    @property
    def path(self) -> str:
        match = re.match(r"^[a-z]+://[^/]+(/[^?]*)", self.url)
        return match.group(1) if match else self.url.split("?", 1)[0]

    @cached_property
    def api_endpoint(self) -> tuple[str | None, str | None]:
        return classify_path(self.path)

    @property
    def api(self) -> str | None:
        return self.api_endpoint[0]

    @property
    def endpoint(self) -> str | None:
        return self.api_endpoint[1]

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()

    @property
    def requested_stream(self) -> bool:
        """True when the request asked for a stream (body ``stream: true`` or ``?stream=true``)."""
        if isinstance(self.request_body, dict) and self.request_body.get("stream") is True:
            return True
        return "stream=true" in self.url.split("?", 1)[-1] if "?" in self.url else False

    @property
    def is_sse(self) -> bool:
        return self.content_type == "text/event-stream"

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @cached_property
    def json(self) -> Any:
        """The parsed JSON body, or None when the body is empty, SSE, or not JSON."""
        if self.is_sse or not self.text:
            return None
        try:
            return json.loads(self.text)
        except ValueError:
            return None

    @cached_property
    def events(self) -> list[SseEvent]:
        """The SSE events of a stream answer ([] for a non-stream answer)."""
        return parse_sse(self.text) if self.is_sse else []

    def excerpt(self, limit: int = 300) -> str:
        """A short piece of the body for failure messages."""
        text = self.text.strip()
        return text if len(text) <= limit else text[:limit] + "..."
