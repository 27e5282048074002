"""The endpoints of both APIs: the one table every layer reads.

Each row says which API an endpoint belongs to, its method and path template
(relative to the base URL, which ends in ``/v1`` or a prefix of it), its role,
the contract a 2xx JSON answer must match, the documented ``object`` value of
that answer, and whether the audit judges it. Endpoint literals appear nowhere
else in the package: code asks :func:`classify` or :func:`endpoint`.

Support endpoints (files, vector stores) are called by multi-step cases
(file search) to set up resources; the suite records them but does not judge
their bodies (``judged`` is false), so they need no contract.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

APIS = ("chat", "responses")


@dataclass(frozen=True)
class Endpoint:
    """One endpoint: ``api`` + ``method`` + ``template``, and what its answer is."""

    api: str  # chat | responses | conversations | files | vector_stores
    method: str  # POST | GET | DELETE
    template: str  # path after the base URL, e.g. "responses/{id}/input_items"
    role: str  # create | retrieve | update | delete | list | list_items | cancel | compact | count_tokens | support
    contract: str | None = None  # contract name (specs/contracts/<profile>/<name>.json) of a 2xx JSON answer
    object: str | None = None  # the documented `object` value of a 2xx JSON answer
    result: bool = False  # a 2xx answer is a generation result (a chat.completion or a response)
    streams: bool = False  # may answer text/event-stream (when the request asks for a stream)
    audited: bool = True  # `conformance audit` judges recorded interactions of it
    regex: re.Pattern = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        parts = [r"[^/?#]+" if part.startswith("{") else re.escape(part) for part in self.template.split("/")]
        object.__setattr__(self, "regex", re.compile(r"(?:^|/)" + "/".join(parts) + r"/?$"))

    @property
    def judged(self) -> bool:
        """True when the suite judges the answer's body (it has a contract)."""
        return self.contract is not None

    @property
    def key(self) -> str:
        """``METHOD template``, e.g. ``GET responses/{id}``."""
        return f"{self.method} {self.template}"

    def path(self, **ids: str) -> str:
        """The path with its ``{id}`` filled, with a leading slash: ``/responses/resp_1``."""
        return "/" + self.template.format(**ids)


# Literal paths come before templated ones that could also match them (responses/compact vs responses/{id}).
ENDPOINTS: tuple[Endpoint, ...] = (
    # Chat Completions
    Endpoint("chat", "POST", "chat/completions", "create", "chat.completion", "chat.completion",
             result=True, streams=True),
    Endpoint("chat", "GET", "chat/completions", "list", "list.chat.completions", "list"),
    Endpoint("chat", "GET", "chat/completions/{id}/messages", "list_items", "list.chat.messages", "list"),
    Endpoint("chat", "GET", "chat/completions/{id}", "retrieve", "chat.completion.stored", "chat.completion",
             result=True),
    Endpoint("chat", "POST", "chat/completions/{id}", "update", "chat.completion.stored", "chat.completion",
             result=True),
    Endpoint("chat", "DELETE", "chat/completions/{id}", "delete", "chat.completion.deleted",
             "chat.completion.deleted"),
    # Responses
    Endpoint("responses", "POST", "responses", "create", "response.create", "response", result=True, streams=True),
    Endpoint("responses", "POST", "responses/compact", "compact", "response.compaction", "response.compaction"),
    Endpoint("responses", "POST", "responses/input_tokens", "count_tokens", "response.input_tokens",
             "response.input_tokens"),
    Endpoint("responses", "GET", "responses/{id}/input_items", "list_items", "list.input_items", "list"),
    Endpoint("responses", "POST", "responses/{id}/cancel", "cancel", "response", "response", result=True),
    Endpoint("responses", "GET", "responses/{id}", "retrieve", "response", "response", result=True, streams=True),
    Endpoint("responses", "DELETE", "responses/{id}", "delete", "response.deleted", "response.deleted"),
    # Conversations (state for Responses)
    Endpoint("conversations", "POST", "conversations", "create", "conversation", "conversation"),
    Endpoint("conversations", "GET", "conversations/{id}/items", "list_items", "list.conversation_items", "list"),
    # Genuine answers differ (a list in 2026, a single conversation.item in 2025-03): recorded, not judged.
    Endpoint("conversations", "POST", "conversations/{id}/items", "update", audited=False),
    Endpoint("conversations", "POST", "conversations/{id}", "update", "conversation", "conversation"),
    Endpoint("conversations", "GET", "conversations/{id}", "retrieve", "conversation", "conversation"),
    Endpoint("conversations", "DELETE", "conversations/{id}", "delete", "conversation.deleted",
             "conversation.deleted"),
    # Support endpoints a case may call to set up resources (file search); recorded, not judged. Vector store
    # paths come first: ``vector_stores/{id}/files`` ends like ``files`` and would otherwise be taken for it.
    Endpoint("vector_stores", "POST", "vector_stores", "support", audited=False),
    Endpoint("vector_stores", "POST", "vector_stores/{id}/files", "support", audited=False),
    Endpoint("vector_stores", "GET", "vector_stores/{id}/files/{file_id}", "support", audited=False),
    Endpoint("vector_stores", "POST", "vector_stores/{id}/search", "support", audited=False),
    Endpoint("vector_stores", "DELETE", "vector_stores/{id}", "support", audited=False),
    Endpoint("files", "POST", "files", "support", audited=False),
    Endpoint("files", "DELETE", "files/{id}", "support", audited=False),
)

def other_api(api: str) -> str:
    """The other of the two APIs."""
    return "responses" if api == "chat" else "chat"


# The path segments an API's endpoints start with (used to cut a base-URL prefix off a recorded path).
ROOTS = tuple(dict.fromkeys(e.template.split("/")[0] for e in ENDPOINTS))
# The create endpoint of each of the two APIs: where a case sends its request unless a step says otherwise.
CREATE = {api: next(e for e in ENDPOINTS if e.api == api and e.role == "create") for api in APIS}


def path_of(url_or_path: str) -> str:
    """The path of a URL (no scheme, host, query or fragment)."""
    text = url_or_path.split("#", 1)[0].split("?", 1)[0]
    match = re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://[^/]*(/.*)?$", text)
    if match:
        return match.group(1) or "/"
    return text


@lru_cache(maxsize=4096)
def _classify(method: str, path: str) -> Endpoint | None:
    for candidate in ENDPOINTS:
        if candidate.method == method and candidate.regex.search(path):
            return candidate
    return None


def classify(method: str, url_or_path: str) -> Endpoint | None:
    """The endpoint a request is for (None for anything else, e.g. ``GET /v1/models``)."""
    return _classify(str(method).upper(), path_of(str(url_or_path)))


def api_of(url_or_path: str) -> str | None:
    """The API family a path belongs to, whatever the method (``chat``, ``responses``, ...), or None."""
    path = path_of(url_or_path)
    for candidate in ENDPOINTS:
        if candidate.regex.search(path):
            return candidate.api
    return None


def endpoint(api: str, role: str, method: str | None = None) -> Endpoint:
    """The endpoint of ``api`` with ``role`` (and ``method`` when a role has several)."""
    for candidate in ENDPOINTS:
        if candidate.api == api and candidate.role == role and (method is None or candidate.method == method):
            return candidate
    raise KeyError(f"no {role} endpoint for {api}")


def api_tail(path: str) -> str:
    """The path from the first API root segment on: ``/v1/openai/v1/responses/x`` -> ``/responses/x``.

    Recordings are matched on this, so a base URL's prefix (``/v1``, a gateway's mount point) does
    not matter; a path with no API root is returned as it is.
    """
    segments = path_of(path).split("/")
    for position, segment in enumerate(segments):
        if segment in ROOTS:
            return "/" + "/".join(segments[position:])
    return path_of(path)
