"""The first live contact with a target: three small requests before anything else is sent.

``GET /models``, a tiny chat completion and a tiny response tell whether the base URL is right (and, when
it is not, whether adding or removing ``/v1`` would be), whether the key is missing or refused, and which
of the two APIs exists. A run against a wrong base URL or a refused key stops here with the reason and
the fix, instead of filling the matrix with a hundred cells that all say the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Callable

from conformance.api.endpoints import APIS, CREATE, endpoint
from conformance.cases.model import Step
from conformance.cases.targets import Target
from conformance.checks.http import missing_route
from conformance.transport.exchange import Exchange

Send = Callable[[Target, Step, Any], Exchange]
# The smallest valid request of each API (valid under the official spec: Responses needs 16 output tokens).
PROBES = {
    "chat": {"messages": [{"role": "user", "content": "Say hi."}], "max_completion_tokens": 16},
    "responses": {"input": "Say hi.", "max_output_tokens": 16},
}


@dataclass
class Preflight:
    """What the first contact showed: a reason to stop (with its fix), and notes for the run."""

    target: str
    stop: str | None = None
    notes: list[str] = field(default_factory=list)
    absent: list[str] = field(default_factory=list)  # APIs whose create route answered 404/405

    def report(self) -> str:
        """The lines to print."""
        lines = [f"preflight {self.target}: {self.stop}" if self.stop else f"preflight {self.target}: ok"]
        return "\n".join(lines + [f"  {note}" for note in self.notes])


def _probe(send: Send, target: Target, api: str) -> Exchange:
    step = Step(name=f"preflight.{api}", method="POST", path=CREATE[api].path())
    return send(target, step, {"model": target.model(), **PROBES[api]})


def _models(send: Send, target: Target) -> Exchange:
    return send(target, Step(name="preflight.models", method="GET", path="/models"), None)


def _alternative(base_url: str) -> str:
    """The base URL with ``/v1`` added (or removed, when it ends with it)."""
    trimmed = base_url.rstrip("/")
    return trimmed[: -len("/v1")] if trimmed.endswith("/v1") else trimmed + "/v1"


def _answers(exchange: Exchange) -> bool:
    """True when the answer comes from a route that exists (any status but a route-absent 404/405)."""
    return exchange.status is not None and not missing_route(exchange)


def run(target: Target, send: Send) -> Preflight:
    """Probe ``target`` with ``send`` (raw HTTP, outside any cassette) and say whether the run can go on."""
    found = Preflight(target.name)
    models = _models(send, target)
    if models.status is None:
        found.stop = (f"no answer from {target.base_url} ({models.transport_error}); is the server running, "
                      f"and is the base URL right?")
        return found
    probes = {api: _probe(send, target, api) for api in APIS}
    refused = [e for e in (models, *probes.values()) if e.status in (401, 403)]
    if refused:
        env = target.api_key_env
        hint = (f"the key is read from ${env}, which is {'set' if target.api_key() else 'not set'}" if env
                else "no key is configured: give the variable that holds it with --api-key-env NAME")
        found.stop = f"the target refused the credentials ({refused[0].status} on {refused[0].path}); {hint}"
        return found
    answered = [e for e in (models, *probes.values()) if e.status is not None]
    if answered and not any(e.json is not None or e.is_sse for e in answered):
        first = answered[0]
        found.stop = (f"{target.base_url} does not answer like an API: {first.status} "
                      f"{first.content_type or 'with no content type'} on {first.path} and no JSON anywhere "
                      f"(a web page or another service?); check the base URL")
        return found
    found.absent = [api for api, exchange in probes.items() if not _answers(exchange)]
    if len(found.absent) == len(APIS):
        other = replace(target, base_url=_alternative(target.base_url))
        if any(_answers(_probe(send, other, api)) for api in APIS):
            found.stop = (f"neither {CREATE['chat'].path()} nor {CREATE['responses'].path()} exists under "
                          f"{target.base_url}, but they answer under {other.base_url}: use --base-url {other.base_url}")
        else:
            found.stop = (f"neither {CREATE['chat'].path()} nor {CREATE['responses'].path()} exists under "
                          f"{target.base_url} (404/405), nor under {other.base_url}: check the base URL")
        return found
    for api in found.absent:
        route = endpoint(api, "create")
        found.notes.append(f"{route.method} {route.path()} answered {probes[api].status}: the {api} API is absent "
                           f"here, so its cells will read unsupported")
    for api, exchange in probes.items():
        if api not in found.absent and exchange.status is not None and exchange.status >= 400:
            found.notes.append(f"the tiny {api} request was rejected with {exchange.status}: "
                               f"{exchange.excerpt(160)} (is the model name {target.model()!r} right? --model)")
    return found
