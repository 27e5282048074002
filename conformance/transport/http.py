"""Send a case's request over raw HTTP (httpx2) and keep what came back as an Exchange.

When a cassette is active, vcrpy answers from it (replay) or records what the server answered.

Every request is bounded (``Limits``): a connect timeout, a read timeout (the longest silence between two
pieces of the answer), an overall deadline per request (a stream included) and a maximum body size. An
answer that breaks a bound is kept as far as it came, with ``transport_error`` saying which bound and the
figure, so the status check can call it the server's fault; a connection that was never made is the
setup's (an error).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx2

from conformance.cases.model import Step
from conformance.cases.targets import Target
from conformance.requests.multipart import Upload
from conformance.transport.exchange import DEADLINE, TOO_LARGE, Exchange

USER_AGENT = "conformance/0.2"


@dataclass(frozen=True)
class Limits:
    """How long and how much one request may take. Defaults are documented in README ("Reliability")."""

    connect: float = 10.0  # seconds to establish the connection
    read: float = 60.0  # seconds of silence allowed between two pieces of the answer
    total: float = 120.0  # seconds for the whole answer, a stream included
    max_bytes: int = 32 * 1024 * 1024  # the largest answer kept

    def timeout(self) -> httpx2.Timeout:
        """The httpx2 timeouts (the overall deadline is enforced by ``send``)."""
        return httpx2.Timeout(min(self.read, self.total), connect=min(self.connect, self.total))


def make_client(limits: Limits = Limits()) -> httpx2.Client:
    """The suite's HTTP client: no retries, no environment proxies, no connection reuse.

    Every answer is evidence, and the host is the target's. A pooled connection the server closed while
    idle (llama-server keeps them 5 s) fails the next request with a transport error that would be
    mistaken for the target's behaviour, so connections are never reused.
    """
    return httpx2.Client(timeout=limits.timeout(), trust_env=False, limits=httpx2.Limits(max_keepalive_connections=0))


def url_for(base_url: str, path: str) -> str:
    """The request URL: the target's base URL with ``path`` appended to its path, its query kept.

    ``http://h/v1?api-version=1`` + ``/responses`` -> ``http://h/v1/responses?api-version=1``.
    """
    base = urlsplit(base_url)
    extra = urlsplit(path)
    query = urlencode(parse_qsl(base.query, keep_blank_values=True) + parse_qsl(extra.query, keep_blank_values=True))
    return urlunsplit((base.scheme, base.netloc, base.path.rstrip("/") + extra.path, query, ""))


def sender(client: httpx2.Client, limits: Limits = Limits()) -> Callable[[Target, Step, Any], Exchange]:
    """A runner's Sender that sends raw HTTP through ``client`` within ``limits``."""
    return lambda target, step, body: send(client, target, step, body, limits)


def send(client: httpx2.Client, target: Target, step: Step, body: Any, limits: Limits = Limits()) -> Exchange:
    """Send one request; a transport problem or a broken bound is recorded on the Exchange, never raised."""
    url = url_for(target.base_url, step.path)
    headers = {"user-agent": USER_AGENT, **step.headers}
    key = target.api_key()
    if key:
        headers["authorization"] = f"Bearer {key}"
    content: bytes | None = None
    shown = body if step.raw is None else step.raw
    if isinstance(body, Upload):  # a file upload: multipart/form-data
        content, headers["content-type"] = body.encode()
        shown = body.describe()
    elif step.raw is not None:
        content = step.raw.encode()
        headers.setdefault("content-type", "application/json")
    elif body is not None:
        content = json.dumps(body).encode()
        headers["content-type"] = "application/json"
    exchange = Exchange(method=step.method, url=url, request_body=shown, step=step.name)
    started = time.monotonic()
    try:
        with client.stream(step.method, url, content=content, headers=headers) as response:
            exchange.status = response.status_code
            exchange.headers = {k.lower(): v for k, v in response.headers.items()}
            exchange.text, exchange.transport_error = _read(response, started, limits)
    except Exception as exc:  # noqa: BLE001  (any transport or cassette problem is evidence, not a crash)
        exchange.transport_error = exchange.transport_error or f"{type(exc).__name__}: {exc}"
        if exchange.status is not None and not exchange.transport_error.startswith((DEADLINE, TOO_LARGE)):
            exchange.status = None  # the answer broke off: there is no status to judge
    return exchange


def _read(response: httpx2.Response, started: float, limits: Limits) -> tuple[str, str | None]:
    """The answer's text, read within the deadline and size bound, and why reading stopped early (or None)."""
    chunks: list[bytes] = []
    size = 0
    problem: str | None = None
    remaining = limits.total - (time.monotonic() - started)
    # httpx2's client wraps the transport's stream (BoundSyncStream keeps it as `_stream`)
    stream = response.stream
    if not isinstance(stream, httpx2.ByteStream):
        stream = getattr(stream, "_stream", stream)
    if isinstance(stream, httpx2.ByteStream):  # already in memory (a replayed answer): nothing can hang
        data = response.read()  # as the loop below would: the one chunk kept, the bound reported
        if len(data) > limits.max_bytes:
            problem = f"{TOO_LARGE}: the answer exceeded {limits.max_bytes:,} bytes; reading stopped"
        return data.decode(response.encoding or "utf-8", errors="replace"), problem
    # A watchdog closes the response at the deadline, so a server that trickles or never ends cannot hold the
    # run past it (a blocking read returns when its connection closes).
    expired = threading.Event()

    def expire() -> None:
        expired.set()
        response.close()

    watchdog = threading.Timer(max(remaining, 0.0), expire)
    watchdog.daemon = True
    watchdog.start()
    try:
        for chunk in response.iter_bytes():
            chunks.append(chunk)
            size += len(chunk)
            if size > limits.max_bytes:
                problem = f"{TOO_LARGE}: the answer exceeded {limits.max_bytes:,} bytes; reading stopped"
                break
            if expired.is_set():
                break
    except Exception as exc:  # noqa: BLE001
        if not expired.is_set():
            raise
    finally:
        watchdog.cancel()
    if expired.is_set() and problem is None:
        problem = (f"{DEADLINE}: no complete answer within {limits.total:g} s "
                   f"({size:,} bytes received)")
    data = b"".join(chunks)
    return data.decode(response.encoding or "utf-8", errors="replace"), problem
