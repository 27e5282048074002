"""A tiny OpenAI-compatible server with faults injected by code, for the tests of ``conformance fuzz``.

It validates request bodies against the request schemas of our own OpenAPI document (python-jsonschema),
answers an invalid one 400 in OpenAI's envelope, and answers a valid one with a minimal valid object (JSON,
or SSE when ``stream`` is true); stored-object routes answer 404 in the envelope. Nothing here is a
recording: every answer is made by this code. Faults, each switched on by name:

``stop-list``   chat: 500 when ``stop`` is a list of two or more strings (a request only valid input reaches)
``llama-envelope``  every error answer in llama-server's shape: ``{"error": {"code": <int>, "message", "type"}}``
                (an integer code, no ``param``)
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import jsonschema

from conformance.api.openapi import build_document

CHAT = "/v1/" + "chat/completions"
RESPONSES = "/v1/" + "responses"


def _validator(document: dict[str, Any], name: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator({"$ref": f"#/components/schemas/{name}",
                                            "components": document["components"]})


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are two writes: without this, a 40 ms stall each
    faults: frozenset[str] = frozenset()
    validators: dict[str, jsonschema.Draft202012Validator] = {}

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def _send(self, status: int, payload: Any, content_type: str = "application/json") -> None:
        if status >= 400 and "llama-envelope" in self.faults:
            error = payload["error"]
            payload = {"error": {"code": status, "message": error["message"], "type": error["type"]}}
        body = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _error(self, status: int, message: str, param: str | None = None, kind: str = "invalid_request_error"):
        self._send(status, {"error": {"message": message, "type": kind, "param": param, "code": None}})

    def _body(self) -> Any:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            return json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return _INVALID

    def do_POST(self) -> None:  # noqa: N802
        path = urlsplit(self.path).path
        body = self._body()
        kind = {CHAT: "chat", RESPONSES: "responses"}.get(path)
        if kind is None:
            return self._error(404, f"no route {path}", kind="not_found_error")
        if body is _INVALID:
            return self._error(400, "We could not parse the JSON body of your request.")
        error = jsonschema.exceptions.best_match(self.validators[kind].iter_errors(body))
        if error is not None:
            return self._error(400, f"Invalid request: {error.message[:200]}",
                               ".".join(str(p) for p in error.absolute_path) or None)
        if kind == "chat":
            if "stop-list" in self.faults and isinstance(body.get("stop"), list) and len(body["stop"]) >= 2:
                return self._error(500, "internal error", kind="server_error")
            return self._chat(body)
        return self._response(body)

    def do_GET(self) -> None:  # noqa: N802
        self._error(404, "not found", kind="not_found_error")

    def do_DELETE(self) -> None:  # noqa: N802
        self._error(404, "not found", kind="not_found_error")

    def _not_allowed(self) -> None:
        self._error(405, f"method {self.command} not allowed")

    do_PUT = do_PATCH = do_HEAD = do_OPTIONS = do_TRACE = _not_allowed  # noqa: N815

    def _chat(self, body: dict[str, Any]) -> None:
        common = {"id": "chatcmpl-fault1", "created": 1700000000, "model": body["model"]}
        if body.get("stream"):
            chunks = [{**common, "object": "chat.completion.chunk",
                       "choices": [{"index": 0, "delta": {"role": "assistant", "content": "hi"}, "finish_reason": None}]},
                      {**common, "object": "chat.completion.chunk",
                       "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}]
            text = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"
            return self._send(200, text, "text/event-stream")
        choices = [{"index": i, "message": {"role": "assistant", "content": "hi", "refusal": None, "annotations": []},
                    "finish_reason": "stop", "logprobs": None} for i in range(int(body.get("n") or 1))]
        self._send(200, {**common, "object": "chat.completion", "choices": choices,
                         "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}})

    def _response(self, body: dict[str, Any]) -> None:
        item = {"type": "message", "id": "msg_1", "role": "assistant", "status": "completed",
                "content": [{"type": "output_text", "text": "hi", "annotations": []}]}
        answer = {"id": "resp_fault1", "object": "response", "created_at": 1700000000, "status": "completed",
                  "model": body["model"], "output": [item],
                  "usage": {"input_tokens": 1, "output_tokens": 1, "total_tokens": 2}}
        if not body.get("stream"):
            return self._send(200, answer)
        events = [{"type": "response.created", "response": {**answer, "status": "in_progress", "output": []}},
                  {"type": "response.in_progress", "response": {**answer, "status": "in_progress", "output": []}},
                  {"type": "response.output_item.added", "output_index": 0, "item": {**item, "content": [],
                                                                                      "status": "in_progress"}},
                  {"type": "response.content_part.added", "output_index": 0, "content_index": 0, "item_id": "msg_1",
                   "part": {"type": "output_text", "text": "", "annotations": []}},
                  {"type": "response.output_text.delta", "output_index": 0, "content_index": 0, "item_id": "msg_1",
                   "delta": "hi"},
                  {"type": "response.output_text.done", "output_index": 0, "content_index": 0, "item_id": "msg_1",
                   "text": "hi"},
                  {"type": "response.content_part.done", "output_index": 0, "content_index": 0, "item_id": "msg_1",
                   "part": item["content"][0]},
                  {"type": "response.output_item.done", "output_index": 0, "item": item},
                  {"type": "response.completed", "response": answer}]
        text = "".join(f"event: {e['type']}\ndata: {json.dumps({**e, 'sequence_number': i})}\n\n"
                       for i, e in enumerate(events))
        self._send(200, text, "text/event-stream")


_INVALID = object()


class FaultServer:
    """``with FaultServer("stop-list") as server: server.base_url`` (``http://127.0.0.1:PORT/v1``)."""

    def __init__(self, *faults: str):
        document = build_document("compat")
        handler = type("Handler", (_Handler,), {
            "faults": frozenset(faults),
            "validators": {"chat": _validator(document, "request.chat.create"),
                           "responses": _validator(document, "request.responses.create")},
        })
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.port = self.httpd.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> "FaultServer":
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

