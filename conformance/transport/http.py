"""Send a case's request over raw HTTP (httpx2) and keep what came back as an Exchange.

When a cassette is active, vcrpy answers from it (replay) or records what the server answered.
"""

from __future__ import annotations

import json
from typing import Any, Callable

import httpx2

from conformance.cases.model import Step
from conformance.cases.targets import Target
from conformance.transport.exchange import Exchange

USER_AGENT = "conformance/0.1"
DEFAULT_TIMEOUT = 120.0  # seconds for one answer
CONNECT_TIMEOUT = 10.0


def make_client(timeout: float = DEFAULT_TIMEOUT) -> httpx2.Client:
    """The suite's HTTP client: no retries, no environment proxies, no connection reuse.

    Every answer is evidence, and the host is the target's. A pooled connection the server closed while
    idle (llama-server keeps them 5 s) fails the next request with a transport error that would be
    mistaken for the target's behaviour, so connections are never reused.
    """
    limits = httpx2.Limits(max_keepalive_connections=0)
    return httpx2.Client(timeout=httpx2.Timeout(timeout, connect=min(CONNECT_TIMEOUT, timeout)), trust_env=False,
                         limits=limits)


def sender(client: httpx2.Client) -> Callable[[Target, Step, Any], Exchange]:
    """A runner's Sender that sends raw HTTP through ``client``."""
    return lambda target, step, body: send(client, target, step, body)


def send(client: httpx2.Client, target: Target, step: Step, body: Any) -> Exchange:
    """Send one request; a transport problem becomes an Exchange with no status."""
    url = target.base_url + step.path
    headers = {"user-agent": USER_AGENT, **step.headers}
    key = target.api_key()
    if key:
        headers["authorization"] = f"Bearer {key}"
    content: bytes | None = None
    if step.raw is not None:
        content = step.raw.encode()
        headers.setdefault("content-type", "application/json")
    elif body is not None:
        content = json.dumps(body).encode()
        headers["content-type"] = "application/json"
    exchange = Exchange(method=step.method, url=url, request_body=body if step.raw is None else step.raw, step=step.name)
    try:
        response = client.request(step.method, url, content=content, headers=headers)
    except Exception as exc:  # noqa: BLE001  (any transport or cassette problem is evidence, not a crash)
        exchange.transport_error = f"{type(exc).__name__}: {exc}"
        return exchange
    exchange.status = response.status_code
    exchange.headers = {k.lower(): v for k, v in response.headers.items()}
    exchange.text = response.text
    return exchange
