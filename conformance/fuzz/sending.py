"""Sending generated requests: what goes on the wire, the request budgets, the cache, curl reproducers.

Requests go through the suite's HTTP client (httpx2), so vcrpy records and replays them like any other
run. Only what the case defines is sent (method, URL, query, body and its Content-Type), plus the suite's
User-Agent and the target's key: none of schemathesis' own headers (its per-case id is random, its
User-Agent names its version).

Hypothesis runs the same example more than once (while shrinking, and once more at the end), so answers
are cached by request: each distinct request is sent, recorded and counted once, and a replay sees the
requests of the recording in the same order.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shlex
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx2

from conformance.cases.targets import Target
from conformance.transport.exchange import Exchange
from conformance.transport.http import url_for

USER_AGENT = "conformance-fuzz/0.1"
PHASES = ("coverage", "generate", "shrink")
BASE_URL_VARIABLE = "BASE_URL"  # curl reproducers start with "$BASE_URL/...": the port of a local server varies
# Transport errors that mean the request never reached a server (the setup's problem, not the target's).
NEVER_CONNECTED = ("ConnectError", "ConnectTimeout", "UnsupportedProtocol", "InvalidURL")


class ShrinkBudgetSpent(BaseException):
    """Ends a shrink pass when its request budget is spent (Hypothesis lets BaseException through)."""


class ReplayMismatch(BaseException):
    """A replayed request matches no recorded one: the cassette is stale (re-record it). A BaseException, so
    that Hypothesis does not take it for a failing example and shrink it."""


class NotConnected(BaseException):
    """The target could not be reached at all (a BaseException for the same reason)."""


@dataclass(frozen=True)
class Request:
    """One request exactly as it is sent."""

    method: str
    url: str
    headers: dict[str, str]
    content: bytes | None

    @property
    def key(self) -> str:
        """Identity of the request (method, URL with query, body bytes)."""
        return hashlib.sha256(f"{self.method} {self.url}\n".encode() + (self.content or b"")).hexdigest()

    def body(self) -> Any:
        """The body as the checks see it: parsed JSON, else text, else None."""
        if self.content is None:
            return None
        text = self.content.decode("utf-8", "replace")
        try:
            return json.loads(text)
        except ValueError:
            return text

    def described(self, base_url: str) -> dict[str, Any]:
        """The request for reports: method, path and query relative to the base URL, and the body (JSON, text,
        or base64 when it is not UTF-8)."""
        out: dict[str, Any] = {"method": self.method, "path": _relative(self.url, base_url)}
        if self.content is not None:
            try:
                text = self.content.decode("utf-8")
            except UnicodeDecodeError:
                out["body_base64"] = base64.b64encode(self.content).decode()
                return out
            try:
                out["body"] = json.loads(text)
            except ValueError:
                out["body_text"] = text
        return out

    def curl(self, base_url: str, key_variable: str | None = None) -> str:
        """A curl command that sends this request again (``$BASE_URL`` is the target's base URL)."""
        url = f'"${BASE_URL_VARIABLE}"' + shlex.quote(_relative(self.url, base_url))
        parts = ["curl", "-sS", "-X", self.method, url]
        if key_variable:
            parts += ["-H", f'"Authorization: Bearer ${key_variable}"']
        for name, value in self.headers.items():
            if name.lower() in ("user-agent", "authorization"):
                continue
            parts += ["-H", shlex.quote(f"{name}: {value}")]
        if self.content is None:
            return " ".join(parts)
        try:
            text = self.content.decode("utf-8")
            if text.isprintable() or all(ch.isprintable() or ch in "\n\t" for ch in text):
                return " ".join(parts + ["--data-raw", shlex.quote(text)])
        except UnicodeDecodeError:
            pass
        octal = "".join(f"\\{byte:03o}" for byte in self.content)  # POSIX printf: octal escapes only
        return f"printf '{octal}' | " + " ".join(parts + ["--data-binary", "@-"])


def _relative(url: str, base_url: str) -> str:
    """``url`` after the base URL's path (``/responses/x?limit=1``)."""
    parts, base = urlsplit(url), urlsplit(base_url)
    path = parts.path[len(base.path.rstrip("/")):] if parts.path.startswith(base.path.rstrip("/")) else parts.path
    return path + (f"?{parts.query}" if parts.query else "")


def request_of(case: Any, target: Target) -> Request:
    """The request a schemathesis Case stands for, against ``target``."""
    kwargs = case.as_transport_kwargs(base_url="http://placeholder")
    path = urlsplit(kwargs["url"]).path
    url = url_for(target.base_url, path)
    params = kwargs.get("params")
    if params:
        url += ("&" if "?" in url else "?") + urlencode(params, doseq=True)
    headers = {"user-agent": USER_AGENT}
    content: bytes | None = None
    if "json" in kwargs:
        content = json.dumps(kwargs["json"]).encode()
    elif kwargs.get("data") is not None:
        data = kwargs["data"]
        content = data if isinstance(data, bytes) else str(data).encode()
    if content is not None:
        given = {k.lower(): v for k, v in (kwargs.get("headers") or {}).items()}
        headers["content-type"] = given.get("content-type", "application/json")
    key = target.api_key()
    if key:
        headers["authorization"] = f"Bearer {key}"
    return Request(str(case.method).upper(), url, headers, content)


@dataclass
class Sent:
    """One distinct request sent, its answer (as an Exchange), and where it came from."""

    index: int
    phase: str  # coverage | generate | shrink
    operation: str
    mode: str  # positive | negative
    request: Request
    exchange: Exchange
    seconds: float
    response: Any = None  # the schemathesis Response (None when no answer arrived)
    problems: list[Any] = field(default_factory=list)  # set by the judge
    judged: bool = False
    case: Any = None  # the schemathesis Case that first produced it


@dataclass
class Budget:
    """How many distinct requests each phase may send."""

    coverage: int
    generate: int
    shrink: int
    shrink_per_finding: int


class Sender:
    """Sends cases within their phase's budget; answers repeated requests from its cache."""

    def __init__(self, client: httpx2.Client, target: Target, budget: Budget):
        self.client = client
        self.target = target
        self.budget = budget
        self.sent: list[Sent] = []
        self.cache: dict[str, Sent] = {}
        self.used = {phase: 0 for phase in PHASES}
        self.shrink_cap: int | None = None  # the shrink count this finding's pass may reach

    def room(self, phase: str) -> bool:
        """True while ``phase`` may send another new request."""
        if phase == "shrink":
            cap = self.budget.shrink if self.shrink_cap is None else min(self.shrink_cap, self.budget.shrink)
            return self.used["shrink"] < cap
        return self.used[phase] < getattr(self.budget, phase)

    def send(self, case: Any, phase: str, operation: str, mode: str) -> Sent | None:
        """The answer to ``case``: cached, or sent now; None when the phase's budget is spent (a shrink pass
        is ended instead, with ``ShrinkBudgetSpent``)."""
        request = request_of(case, self.target)
        cached = self.cache.get(request.key)
        if cached is not None:
            return cached
        if not self.room(phase):
            if phase == "shrink":
                raise ShrinkBudgetSpent()
            return None
        self.used[phase] += 1
        started = time.monotonic()
        exchange = self._exchange(request)
        sent = Sent(len(self.sent), phase, operation, mode, request, exchange, time.monotonic() - started, case=case)
        if exchange.status is not None:
            sent.response = _response(request, exchange)
        self.sent.append(sent)
        self.cache[request.key] = sent
        return sent

    def _exchange(self, request: Request) -> Exchange:
        exchange = Exchange(method=request.method, url=request.url, request_body=request.body())
        try:
            response = self.client.request(request.method, request.url, content=request.content,
                                           headers=request.headers)
        except Exception as exc:  # noqa: BLE001  (a transport problem is the target's answer, unless it is ours)
            name = type(exc).__name__
            if name == "CannotOverwriteExistingCassetteException":
                raise ReplayMismatch(f"{request.method} {request.url}: {str(exc).splitlines()[0]}") from None
            if name in NEVER_CONNECTED:
                raise NotConnected(f"{request.method} {request.url}: {name}: {exc}") from None
            exchange.transport_error = f"{name}: {exc}"
            return exchange
        exchange.status = response.status_code
        exchange.headers = {k.lower(): v for k, v in response.headers.items()}
        exchange.text = response.content.decode(response.encoding or "utf-8", errors="replace")
        return exchange


def _response(request: Request, exchange: Exchange) -> Any:
    """The schemathesis Response of an answer (for its checks)."""
    import requests
    import schemathesis

    prepared = requests.Request(request.method, request.url, headers=request.headers, data=request.content).prepare()
    return schemathesis.Response(status_code=int(exchange.status or 0),
                                 headers={k: [v] for k, v in exchange.headers.items()},
                                 content=exchange.text.encode("utf-8", "surrogatepass"), request=prepared,
                                 elapsed=0.0, verify=True)
