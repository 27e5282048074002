"""The registry of named checks.

A check is a plain function ``fn(ctx, **params)``: it returns when the behaviour
holds and raises a ``CheckFailure`` (or a subclass choosing the verdict) when it
does not. Its registered name is the one used in YAML cases, reports and docs.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Callable

from conformance.checks.findings import CheckFailure, Failure, HarnessError
from conformance.observations.observation import Observation, observe, result_object
from conformance.transport.exchange import Exchange


@dataclass(frozen=True)
class Companion:
    """A second run of the same case that a check compares the judged run with.

    Its exchanges are recorded in the same cassette under step names ``<prefix>.<step>``.
    """

    prefix: str
    other_api: bool  # run the other API's steps (else this API's)
    stream: bool | None  # None: the judged run's stream mode; False: not streamed
    only_when_streamed: bool = False  # needed only when the judged run streams

    def step(self, name: str) -> str:
        """The companion's name for step ``name``."""
        return f"{self.prefix}.{name}"


# The same case through the other API (cross_api), and the same case without streaming (stream_parity).
OTHER_API = Companion("other", other_api=True, stream=None)
NON_STREAM = Companion("plain", other_api=False, stream=False, only_when_streamed=True)


@dataclass
class Check:
    name: str
    fn: Callable[..., None]
    doc: str
    needs_success: bool  # skip (no finding) when the judged step did not answer 2xx
    apis: tuple[str, ...]
    implicit: bool  # run on every step of every case (and every audited interaction) without being named
    companion: Companion | None = None  # a second run this check compares with
    needs_sdk: bool = False  # skip (no finding) when the judged step was not sent through the openai SDK
    validate: Callable[[dict[str, Any]], str | None] | None = None  # parameter values a case may give
    # Computed once at registration: inspect.signature costs more than many checks do, and run_check
    # needs it on every call to report bad parameters as an ERROR finding instead of a crash.
    signature: inspect.Signature = field(init=False, repr=False)
    bare_error: str | None = field(init=False, repr=False)  # why fn(ctx) alone cannot be called, or None

    def __post_init__(self) -> None:
        self.signature = inspect.signature(self.fn)
        self.bare_error = _bind_error(self.signature, {})

    def params(self) -> list[str]:
        return [p for p in self.signature.parameters if p != "ctx"]

    def bind_error(self, params: dict[str, Any]) -> str | None:
        """Why ``fn(ctx, **params)`` cannot be called (a bad name, or a value the check refuses), or None."""
        # without parameters (every implicit check, most named ones) the answer is known since registration
        if not params:
            return self.bare_error
        return _bind_error(self.signature, params) or (self.validate(params) if self.validate else None)


def _bind_error(signature: inspect.Signature, params: dict[str, Any]) -> str | None:
    try:
        signature.bind(None, **params)  # the ctx's value does not matter to binding
    except TypeError as exc:
        return str(exc)
    return None


CHECKS: dict[str, Check] = {}


def implicit_checks() -> list[str]:
    """Names of the checks that run on every answer."""
    return [name for name, c in CHECKS.items() if c.implicit]


def check(name: str, *, needs_success: bool = True, apis: tuple[str, ...] = ("chat", "responses"),
          implicit: bool = False, companion: Companion | None = None, needs_sdk: bool = False,
          validate: Callable[[dict[str, Any]], str | None] | None = None):
    """Register ``fn`` under ``name``. Registering a name twice is a programming error.

    ``implicit`` checks run on every answer (the JSON Schema and documented-shape checks,
    the stream grammar); the others run where a case names them. ``companion`` declares a
    second run of the case the check compares with; the runner makes it. ``needs_sdk``: the check judges what
    the openai SDK made of the answer (the SDK lane), and has nothing to judge otherwise. ``validate`` checks
    parameter values when a case file loads (returns why they are wrong, or None).
    """

    def register(fn: Callable[..., None]) -> Callable[..., None]:
        if name in CHECKS:
            raise ValueError(f"check {name!r} is registered twice ({CHECKS[name].fn.__module__} and {fn.__module__})")
        doc = inspect.getdoc(fn) or ""
        CHECKS[name] = Check(name, fn, doc, needs_success, apis, implicit, companion, needs_sdk, validate)
        return fn

    return register


@dataclass
class CheckContext:
    """What a check may look at: the exchanges of one case run, by step name, and run settings."""

    api: str
    exchanges: dict[str, Exchange]
    profile: str = "compat"
    step: str | None = None  # the step the check judges; default: the last one
    deterministic: bool = False  # the target answers the same request the same way (text comparisons hold)

    @property
    def exchange(self) -> Exchange:
        """The judged exchange: ``step`` if given, else the last step run."""
        if self.step is not None:
            return self.get(self.step)
        if not self.exchanges:
            raise HarnessError("no request was made")
        return next(reversed(self.exchanges.values()))

    def get(self, step: str) -> Exchange:
        """Another step's exchange; an ERROR finding when that step did not run."""
        try:
            return self.exchanges[step]
        except KeyError:
            raise HarnessError(f"step {step!r} did not run (steps run: {', '.join(self.exchanges) or 'none'})")

    @cached_property
    def body(self) -> dict[str, Any] | None:
        """The judged result object (a stream's reassembled object)."""
        return result_object(self.exchange)

    @cached_property
    def observation(self) -> Observation:
        """The API-neutral observation of the judged answer; a failure if it has none."""
        found = observe(self.exchange)
        if found is None:
            raise CheckFailure(f"no {self.api} object in the answer: {self.exchange.excerpt()}")
        return found

    def step_name(self) -> str | None:
        """The name of the judged step, for reports."""
        return self.step or (list(self.exchanges)[-1] if self.exchanges else None)

    def observe(self, step: str) -> Observation:
        found = observe(self.get(step))
        if found is None:
            raise CheckFailure(f"step {step!r} has no {self.api} object: {self.get(step).excerpt()}")
        return found


def run_check(name: str, ctx: CheckContext, params: dict[str, Any] | None = None) -> list[Failure]:
    """Run one check; return its findings (empty when it holds)."""
    step = None
    if params:  # (most calls have none: every implicit check, thousands of times in an audit)
        params = dict(params)
        step = params.pop("step", None)
        if step is not None:
            ctx = CheckContext(ctx.api, ctx.exchanges, ctx.profile, step, ctx.deterministic)
    else:
        params = {}
    check_ = CHECKS.get(name)
    if check_ is None:
        return [Failure(name, f"unknown check {name!r}", HarnessError.verdict, step)]
    if ctx.api not in check_.apis:
        return []
    problem = check_.bind_error(params)
    if problem is not None:
        return [Failure(name, f"bad parameters for check {name!r}: {problem}", HarnessError.verdict, step)]
    try:
        exchange = ctx.exchange
        if check_.needs_success and not exchange.ok:
            return []  # the status check reports the answer; judging an error body here would double-count
        if check_.needs_sdk and exchange.sdk is None:
            return []  # raw HTTP: no SDK outcome to judge
        check_.fn(ctx, **params)
    except CheckFailure as failure:
        return [Failure(name, failure.message, failure.verdict, step or ctx.step_name(), failure.evidence,
                        failure.missing, "root" if failure.root else None)]
    return []
