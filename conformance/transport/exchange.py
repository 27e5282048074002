"""An Exchange is one HTTP request and its answer, as the checks see it.

Built from a live response or a cassette interaction alike, so the suite and
``conformance audit`` judge the same objects. Bodies are parsed once, lazily.
Which endpoint a request was for comes from the API model (``conformance.api.endpoints``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from conformance.api.endpoints import Endpoint, api_of, classify, path_of
from conformance.parsing import ParseError, load_json
from conformance.transport.sse import SseEvent, parse_sse


# Transport errors (exception class names, the prefix of ``Exchange.transport_error``) by what they mean. Kept here,
# beside the exchange, so the checks read them without importing the HTTP client (the audit never sends).
NEVER_CONNECTED = ("ConnectError", "ConnectTimeout", "UnsupportedProtocol", "InvalidURL", "LocalProtocolError")
DEADLINE = "DeadlineExceeded"
TOO_LARGE = "BodyTooLarge"


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
    sdk: Any = None  # the SdkOutcome (transport/sdk_outcome.py) when the openai SDK sent it; None for raw HTTP

    @property
    def path(self) -> str:
        """The URL's path (no scheme, host or query)."""
        return path_of(self.url)

    @cached_property
    def route(self) -> Endpoint | None:
        """The endpoint of the API model this request was for (None for anything else)."""
        return classify(self.method, self.url)

    @property
    def api(self) -> str | None:
        """The API family of the path (``chat``, ``responses``, ...), whatever the method."""
        return self.route.api if self.route else api_of(self.url)

    @property
    def endpoint(self) -> str | None:
        """The endpoint's path template, e.g. ``responses/{id}`` (None when the model has no such endpoint)."""
        return self.route.template if self.route else None

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
            return load_json(self.text)
        except ParseError:  # not JSON, nested too deep, a number out of range
            return None

    @cached_property
    def events(self) -> list[SseEvent]:
        """The SSE events of a stream answer ([] for a non-stream answer)."""
        return parse_sse(self.text) if self.is_sse else []

    def excerpt(self, limit: int = 300) -> str:
        """A short piece of the body for failure messages."""
        text = self.text.strip()
        return text if len(text) <= limit else text[:limit] + "..."
