"""Send a case's request through the installed official ``openai`` SDK (the SDK lane: ``--client sdk``).

Each step goes through the SDK method an application would call: the typed ``create``, ``retrieve``,
``delete``, ``list``, ``input_items.list`` and ``messages.list``; a stream through the stream helper
(``chat.completions.stream``, ``responses.stream``); a request for a JSON schema through ``.parse()``
(or the helper) with a pydantic model built from that schema (``sdk_models``). Body keys the method's
signature lacks go through ``extra_body``, as an application on an older SDK would send them; a body the
typed method refuses before sending (a missing required argument), a verbatim (malformed) body and an
endpoint without a typed method go through the generic ``client.post/get/delete``.

The client never retries (``max_retries=0``: a cassette miss is never hidden by a retry). Event hooks on
the SDK's own HTTP client (httpx in 1.x/2.x, httpx2 in 3.x) capture the request and answer exactly as they
crossed the wire, so vcrpy records and replays underneath unchanged. The Exchange carries an ``SdkOutcome``
(``sdk_outcome``); the SDK checks judge it.

``replay_answer`` gives a recorded answer to the SDK through a mock transport, for ``conformance audit
--sdk``: what the installed SDK makes of traffic recorded anywhere.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import json
import os
import traceback
from typing import Any, Callable
from urllib.parse import parse_qsl

import openai

from conformance.api.endpoints import Endpoint, classify, path_of
from conformance.cases.model import Step
from conformance.cases.targets import Target
from conformance.requests.multipart import Upload
from conformance.transport.exchange import Exchange
from conformance.transport.http import Limits, url_for
from conformance.transport.sdk_models import model_from_schema, structured_schema
from conformance.transport.sdk_outcome import SdkError, SdkOutcome, StreamOutcome, drift_message, request_drift
from conformance.transport.sdk_validation import strict_errors

SDK_VERSION = openai.__version__
SDK_MAJOR = int(SDK_VERSION.split(".")[0])
# The HTTP library the SDK's default client is built on: httpx (1.x, 2.x) or httpx2 (3.x).
HTTP = importlib.import_module(openai.DefaultHttpxClient.__mro__[1].__module__.split(".")[0])
NO_KEY = "sk-no-key"  # the SDK insists on a key; a target without one gets this (credentials are never recorded)
OPENAI_DIR = os.path.dirname(openai.__file__)
HELPERS_DIR = os.path.join(OPENAI_DIR, "lib") + os.sep
CORE_MACHINERY = {"_base_client.py", "_streaming.py", "_response.py", "_legacy_response.py"}  # requests, SSE

# The typed method of each endpoint role, by API (``responses.compact`` and ``input_tokens`` are 2.x on).
TYPED = {
    ("chat", "create"): "chat.completions.create",
    ("chat", "list"): "chat.completions.list",
    ("chat", "list_items"): "chat.completions.messages.list",
    ("chat", "retrieve"): "chat.completions.retrieve",
    ("chat", "update"): "chat.completions.update",
    ("chat", "delete"): "chat.completions.delete",
    ("responses", "create"): "responses.create",
    ("responses", "compact"): "responses.compact",
    ("responses", "count_tokens"): "responses.input_tokens.count",
    ("responses", "list_items"): "responses.input_items.list",
    ("responses", "cancel"): "responses.cancel",
    ("responses", "retrieve"): "responses.retrieve",
    ("responses", "delete"): "responses.delete",
    ("conversations", "create"): "conversations.create",
    ("conversations", "list_items"): "conversations.items.list",
    ("conversations", "update"): "conversations.update",
    ("conversations", "retrieve"): "conversations.retrieve",
    ("conversations", "delete"): "conversations.delete",
}
# Where a structured-output request puts its format: chat's argument, and Responses' ``text_format``.
FORMAT_ARGUMENT = {"chat": ("response_format", "response_format"), "responses": ("text_format", "text")}


class WireLog:
    """Event hooks that keep every request and answer the SDK's HTTP client sends and receives, in order."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def on_request(self, request: Any) -> None:
        self.records.append({"method": request.method, "url": str(request.url), "body": request.content,
                             "status": None, "headers": {}, "text": ""})

    def on_response(self, response: Any) -> None:
        # Read the whole answer here (the raw lane does too); the SDK then iterates the cached bytes.
        response.read()
        self.records[-1].update(status=response.status_code, text=response.text,
                                headers={k.lower(): v for k, v in response.headers.items()})


def make_client(base_url: str, api_key: str | None, limits: Limits = Limits(), transport: Any = None) -> openai.OpenAI:
    """An SDK client that never retries, ignores proxy settings, reuses no connection and logs the wire.

    ``transport`` replaces the network (the audit's mock transport); vcrpy patches below it otherwise.
    """
    log = WireLog()
    options: dict[str, Any] = {"transport": transport} if transport is not None else {}
    http_client = openai.DefaultHttpxClient(
        event_hooks={"request": [log.on_request], "response": [log.on_response]}, trust_env=False,
        timeout=HTTP.Timeout(min(limits.read, limits.total), connect=min(limits.connect, limits.total)),
        limits=HTTP.Limits(max_keepalive_connections=0), **options)
    client = openai.OpenAI(api_key=api_key or NO_KEY, base_url=base_url, max_retries=0, http_client=http_client)
    client._conformance_wire = log  # type: ignore[attr-defined]
    return client


def sender(limits: Limits = Limits()) -> Callable[[Target, Step, Any], Exchange]:
    """A runner's Sender that sends each step through the installed SDK (one client per target)."""
    clients: dict[tuple[str, str | None], openai.OpenAI] = {}

    def send(target: Target, step: Step, body: Any) -> Exchange:
        key = (target.base_url, target.api_key())
        if key not in clients:
            clients[key] = make_client(target.base_url, key[1], limits)
        return send_step(clients[key], url_for(target.base_url, step.path), step, body)

    return send


# --------------------------------------------------------------------------------------------- the call


def _query(url: str) -> dict[str, Any]:
    """A URL's query as SDK keyword arguments: ``include[]=a`` -> list, ``metadata[k]=v`` -> dict."""
    params: dict[str, Any] = {}
    for key, value in parse_qsl(url.split("?", 1)[1] if "?" in url else "", keep_blank_values=True):
        typed: Any = {"true": True, "false": False}.get(value, int(value) if value.isdigit() else value)
        if key.endswith("[]"):
            params.setdefault(key[:-2], []).append(typed)
        elif "[" in key and key.endswith("]"):
            outer, inner = key[:-1].split("[", 1)
            params.setdefault(outer, {})[inner] = value
        else:
            params[key] = typed
    return params


def _ids(route: Endpoint, url: str) -> list[str]:
    """The ids in the URL's path, where the endpoint's template has ``{...}``."""
    template = route.template.split("/")
    segments = [part for part in path_of(url).split("/") if part]
    tail = segments[-len(template):] if len(segments) >= len(template) else []
    return [value for value, part in zip(tail, template) if part.startswith("{")]


def _resolve(client: openai.OpenAI, dotted: str) -> Any:
    target: Any = client
    for name in dotted.split("."):
        target = getattr(target, name, None)
        if target is None:
            return None
    return target


def _split(fn: Any, values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Keys the method takes as keyword arguments, and the others (sent through ``extra_body``)."""
    params = inspect.signature(fn).parameters
    known = {n for n, p in params.items() if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)}
    known -= {"extra_headers", "extra_query", "extra_body", "timeout", "self"}
    return {k: v for k, v in values.items() if k in known}, {k: v for k, v in values.items() if k not in known}


def describe(exc: BaseException) -> SdkError:
    """An SdkError for ``exc``: its class, attributes, cause, and whether the SDK's helpers raised it."""
    # The helpers (openai/lib: stream accumulation, .parse()) raised it when the innermost helper frame did not
    # call back into the client's request or stream machinery, where the error then came from.
    files = [frame.filename for frame in traceback.extract_tb(exc.__traceback__)]
    helper = [i for i, name in enumerate(files) if name.startswith(HELPERS_DIR)]
    below = [os.path.basename(name) for name in files[helper[-1] + 1:]] if helper else []
    where = "helper" if helper and not set(below) & CORE_MACHINERY else "core"
    found = SdkError(type(exc).__name__, str(exc)[:500], where,
                     bases=[c.__name__ for c in type(exc).__mro__[1:] if c is not object])
    for attr in ("status_code", "code", "param", "type"):
        value = getattr(exc, attr, None)
        if value is not None and not callable(value):
            setattr(found, attr, value if isinstance(value, (str, int, bool)) else repr(value))
    if isinstance(exc, openai.APIStatusError):
        found.body = exc.body
    cause = exc.__cause__ or exc.__context__
    if cause is not None:
        found.cause = f"{type(cause).__name__}: {str(cause)[:300]}"
    return found


@functools.lru_cache(maxsize=256)
def _model(name: str, schema: str) -> Any:
    """The pydantic model of a JSON schema (built once per schema: pydantic's model building is slow)."""
    return model_from_schema(name, json.loads(schema))


def _dict(obj: Any) -> Any:
    """A returned SDK object as plain data (what its types made of the answer)."""
    if hasattr(obj, "to_dict"):
        try:
            return obj.to_dict(warnings=False)
        except Exception:  # noqa: BLE001  (a construct()ed model may not serialise: keep what we can)
            return {"repr": repr(obj)[:500]}
    return obj


def _dump(value: Any) -> Any:
    return value.model_dump(by_alias=True, exclude_unset=True) if hasattr(value, "model_dump") else value


class _Call:
    """One request through the SDK: which method, its arguments, and the outcome it fills in."""

    def __init__(self, client: openai.OpenAI, url: str, step: Step, body: Any, compare: bool):
        self.client, self.url, self.step, self.body = client, url, step, body
        self.route = classify(step.method, url)
        api = self.route.api if self.route else None
        self.stream = (isinstance(body, dict) and body.get("stream") is True) or _query(url).get("stream") is True
        self.outcome = SdkOutcome(SDK_VERSION, f"client.{step.method.lower()}", api=api,
                                  intended_body=body if compare and step.raw is None and isinstance(body, dict)
                                  else None)

    def plan(self) -> tuple[str, Any, list[Any], dict[str, Any]] | None:
        """(name, method, args, kwargs) of the typed call, or None when the generic client must send it."""
        if self.step.raw is not None or self.route is None or not (self.body is None or isinstance(self.body, dict)):
            return None  # a verbatim body, a file upload, or an endpoint the API model does not know
        name = TYPED.get((self.route.api, self.route.role))
        if name is None or (self.route.api == "conversations" and self.route.template.endswith("items")
                            and self.route.role == "update"):
            return None
        values = dict(self.body or {})
        values.update(_query(self.url))
        extra: dict[str, Any] = {}
        if self.route.role == "create" and self.route.api in FORMAT_ARGUMENT:
            wanted = structured_schema(self.route.api, self.body)
            if self.stream:
                name = name.replace(".create", ".stream")
                values.pop("stream", None)  # the helper sets it
            elif wanted is not None and not values.get("tools"):
                name = name.replace(".create", ".parse")
            if wanted is not None and not values.get("tools"):
                argument, key = FORMAT_ARGUMENT[self.route.api]
                model = _model(wanted[0], json.dumps(wanted[1], sort_keys=True))
                self.outcome.parse_model = model.__name__
                # The model is what the SDK parses the answer into; the case's own format is what goes on the
                # wire (through extra_body, which the SDK merges over its generated schema).
                extra[key] = values.pop(key)
                values[argument] = model
        fn = _resolve(self.client, name)
        if fn is None:
            return None
        kwargs, unknown = _split(fn, values)
        extra = {**unknown, **extra}
        if extra:
            kwargs["extra_body"] = extra
            self.outcome.extra_body = sorted(k for k in unknown)
        if self.step.headers:
            kwargs["extra_headers"] = dict(self.step.headers)
        return name, fn, _ids(self.route, self.url), kwargs

    def generic(self) -> Any:
        """``client.post/get/delete`` with the body as given (a raw body verbatim)."""
        step = self.step
        path = path_of(self.url)
        base = path_of(str(self.client.base_url)).rstrip("/")
        path = path[len(base):] if base and path.startswith(base) else path
        options: dict[str, Any] = {"headers": {"content-type": "application/json", **step.headers}}
        query = dict(parse_qsl(self.url.split("?", 1)[1], keep_blank_values=True)) if "?" in self.url else {}
        if query:
            options["params"] = query
        kwargs: dict[str, Any] = {"cast_to": object, "options": options}
        if self.stream:
            kwargs.update(stream=True, stream_cls=openai.Stream[object])
        if step.method.upper() == "GET":
            return self.client.get(path, **kwargs)
        if step.method.upper() == "DELETE":
            return self.client.delete(path, **kwargs)
        if step.raw is not None:
            if SDK_MAJOR >= 2:
                return self.client.post(path, content=step.raw.encode(), **kwargs)
            return self.client.post(path, body=step.raw.encode(), **kwargs)  # 1.x: bytes go out verbatim
        return self.client.post(path, body=self.body, **kwargs)

    def upload(self) -> None:
        """A file upload (a set-up step) over the SDK's own HTTP client, encoded as the raw lane encodes it (the
        same boundary, so its recording matches). The SDK takes no part, so the exchange carries no outcome."""
        data, content_type = self.body.encode()
        headers = {"authorization": f"Bearer {self.client.api_key}", "content-type": content_type, **self.step.headers}
        self.client._client.post(self.url, content=data, headers=headers)

    def run(self, log: WireLog) -> None:
        """Make the call and fill in the outcome; an exception the SDK raises is evidence, never raised."""
        outcome = self.outcome
        start = len(log.records)
        planned = None
        try:
            planned = self.plan()
            if planned is None:
                outcome.via = "raw" if self.step.raw is not None else "generic"
                self._keep(self.generic())
                return
            name, fn, args, kwargs = planned
            outcome.method, outcome.via = name, "typed"
            if name.endswith(".stream"):
                self._helper(fn, args, kwargs)
            else:
                self._keep(fn(*args, **kwargs))
        except Exception as exc:  # noqa: BLE001  (what the SDK raises is the lane's evidence)
            if planned is not None and len(log.records) == start:
                # The typed method refused the call before sending it (a missing required argument, a value its
                # request builder rejects): send it generically, so the target's answer is still observed.
                outcome.refused, outcome.via = f"{type(exc).__name__}: {exc}"[:300], "refused"
                outcome.method, outcome.parse_model = f"client.{self.step.method.lower()}", None
                try:
                    self._keep(self.generic())
                except Exception as again:  # noqa: BLE001
                    outcome.exception = describe(again)
                return
            outcome.exception = describe(exc)

    def _keep(self, result: Any) -> None:
        outcome = self.outcome
        if isinstance(result, openai.Stream):
            outcome.stream = StreamOutcome()
            for item in result:
                self._count(item)
            return
        outcome.result_type = type(result).__name__
        data = getattr(result, "data", None) if outcome.method.endswith(".list") else None
        outcome.result = {"data": [_dict(item) for item in data]} if isinstance(data, list) else _dict(result)
        self._read(result)

    def _count(self, item: Any) -> None:
        stream = self.outcome.stream
        assert stream is not None
        stream.items += 1
        kind = getattr(item, "type", None) or getattr(item, "object", None)
        if kind is None and isinstance(item, dict):
            kind = item.get("type") or item.get("object")
        kind = str(kind)
        if (not stream.types or stream.types[-1] != kind) and len(stream.types) < 60:
            stream.types.append(kind)

    def _read(self, result: Any) -> None:
        """What an application reads from the result: ``output_text``, the parsed object."""
        outcome = self.outcome
        if outcome.api == "responses" and hasattr(type(result), "output_text"):
            try:
                outcome.output_text = result.output_text
            except Exception as exc:  # noqa: BLE001  (1.x/2.x raise TypeError on a part without text)
                outcome.output_text_error = describe(exc)
            if getattr(result, "output_parsed", None) is not None:
                outcome.parsed = _dump(result.output_parsed)
        choices = getattr(result, "choices", None)
        if choices and outcome.parse_model:
            parsed = getattr(getattr(choices[0], "message", None), "parsed", None)
            outcome.parsed = _dump(parsed) if parsed is not None else None

    def _helper(self, fn: Any, args: list[Any], kwargs: dict[str, Any]) -> None:
        outcome = self.outcome
        helper = fn(*args, **kwargs)
        with helper as stream:  # entering sends the request (an error status raises here)
            outcome.stream = StreamOutcome(helper=outcome.method)
            try:
                for event in stream:
                    self._count(event)
                final = stream.get_final_completion() if outcome.api == "chat" else stream.get_final_response()
            except Exception as exc:  # noqa: BLE001
                error = describe(exc)
                if error.where != "helper":
                    raise
                outcome.stream.helper_error = error
                snapshot = getattr(stream, "current_completion_snapshot", None)
                outcome.stream.snapshot = _dict(snapshot) if snapshot is not None else None
                return
            outcome.stream.final = _dict(final)
            outcome.result_type = type(final).__name__
            self._read(final)


# --------------------------------------------------------------------------------------------- entry points


def send_step(client: openai.OpenAI, url: str, step: Step, body: Any, *, compare: bool = True) -> Exchange:
    """Send one step through the SDK; return the Exchange as it crossed the wire, with its SdkOutcome.

    ``compare``: compare the body on the wire with ``body`` (request drift). A transport problem, a cassette
    miss and an SDK exception are all recorded, never raised.
    """
    log: WireLog = client._conformance_wire  # type: ignore[attr-defined]
    start = len(log.records)
    call = _Call(client, url, step, body, compare)
    if isinstance(body, Upload):
        try:
            call.upload()
        except Exception as exc:  # noqa: BLE001  (the transport's error is the evidence)
            call.outcome.exception = describe(exc)
    else:
        call.run(log)
    outcome = call.outcome
    sent = log.records[start:]
    last = sent[-1] if sent else None
    shown = step.raw if step.raw is not None else body.describe() if isinstance(body, Upload) else body
    exchange = Exchange(method=step.method, url=last["url"] if last else url, request_body=shown, step=step.name,
                        sdk=outcome)
    if last is not None:
        text = (last["body"] or b"").decode("utf-8", "replace")
        try:
            outcome.sent_body = json.loads(text) if text else None
        except ValueError:
            outcome.sent_body = text
        if step.raw is None and not isinstance(body, Upload):
            exchange.request_body = outcome.sent_body
        exchange.status, exchange.headers, exchange.text = last["status"], last["headers"], last["text"]
    if exchange.status is None:
        exchange.transport_error = _no_answer(outcome)
    else:
        outcome.strict = strict_errors(outcome, exchange)
    if isinstance(body, Upload):
        exchange.sdk = None  # not the SDK's doing: the SDK checks do not judge it
    return exchange


def _no_answer(outcome: SdkOutcome) -> str:
    """Why no answer came, as the raw lane words it (``ConnectError: ...``), naming request drift first."""
    drift = request_drift(outcome)
    if drift:
        return "RequestDrift: " + drift_message(drift)
    error = outcome.exception
    if error is None:
        return "SdkError: the SDK sent no request and raised nothing"
    if error.cause and error.is_a("APIConnectionError"):
        return error.cause  # the transport's own error (a cassette miss, a refused connection)
    return str(error)


class _Recorded:
    """The mock transport's handler: answers every request with one recorded answer."""

    def __init__(self) -> None:
        self.answer: Exchange | None = None

    def __call__(self, request: Any) -> Any:
        answer = self.answer
        assert answer is not None
        headers = {k: v for k, v in answer.headers.items()
                   if k not in ("content-encoding", "content-length", "transfer-encoding")}
        return HTTP.Response(answer.status or 599, headers=headers, content=answer.text.encode("utf-8"))


_AUDIT: dict[str, Any] = {}


def replay_answer(recorded: Exchange) -> Exchange:
    """What the installed SDK makes of a recorded answer: the recorded request sent through the SDK, answered
    with the recorded answer by a mock transport (no network). Returns the Exchange with its SdkOutcome."""
    if "client" not in _AUDIT:
        handler = _Recorded()
        _AUDIT.update(handler=handler, client=make_client("http://recorded.invalid/v1", NO_KEY,
                                                          transport=HTTP.MockTransport(handler)))
    _AUDIT["handler"].answer = recorded
    body = recorded.request_body
    raw = body if isinstance(body, str) else None
    step = Step(name=recorded.step, method=recorded.method or "POST", body=None, raw=raw)
    tail = recorded.url.split("://", 1)[-1]
    tail = tail[tail.find("/"):] if "/" in tail else "/"
    exchange = send_step(_AUDIT["client"], "http://recorded.invalid" + tail, step,
                         None if raw is not None else body, compare=False)
    exchange.url = recorded.url
    return exchange
