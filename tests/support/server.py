"""A tiny scripted HTTP server on loopback, for tests of how the suite meets misbehaving servers.

Each route answers with a function ``handler(request) -> None`` that writes to the socket itself, so a
test can send a status and body, stall, trickle bytes or stream forever. Runs in a thread; stops when the
context manager exits.
"""

from __future__ import annotations

import http.server
import json
import socket
import threading
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterator

Handler = Callable[[http.server.BaseHTTPRequestHandler], None]


def answer(status: int, body: Any, content_type: str = "application/json",
           headers: dict[str, str] | None = None) -> Handler:
    """A handler that answers ``status`` with ``body`` (JSON-encoded unless it is already text)."""
    def handle(request: http.server.BaseHTTPRequestHandler) -> None:
        data = body if isinstance(body, (bytes, str)) else json.dumps(body)
        data = data.encode() if isinstance(data, str) else data
        request.send_response(status)
        request.send_header("content-type", content_type)
        request.send_header("content-length", str(len(data)))
        for name, value in (headers or {}).items():
            request.send_header(name, value)
        request.end_headers()
        request.wfile.write(data)
    return handle


def silent(seconds: float) -> Handler:
    """A handler that reads the request and says nothing for ``seconds``."""
    def handle(request: http.server.BaseHTTPRequestHandler) -> None:
        time.sleep(seconds)
    return handle


def streaming(chunk: bytes, every: float, total: float | None = None) -> Handler:
    """A handler that answers 200 text/event-stream and sends ``chunk`` every ``every`` seconds, for ``total``
    seconds (forever when None, until the client hangs up)."""
    def handle(request: http.server.BaseHTTPRequestHandler) -> None:
        request.send_response(200)
        request.send_header("content-type", "text/event-stream")
        request.end_headers()
        started = time.monotonic()
        try:
            while total is None or time.monotonic() - started < total:
                request.wfile.write(chunk)
                request.wfile.flush()
                time.sleep(every)
        except OSError:
            pass  # the client hung up
    return handle


@contextmanager
def serve(routes: dict[tuple[str, str], Handler]) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """Serve ``routes`` ({(METHOD, path suffix): handler}) on a free loopback port.

    Yields the base URL (``http://127.0.0.1:PORT/v1``) and the list of requests received (method, path,
    headers, body).
    """
    seen: list[dict[str, Any]] = []

    class Scripted(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def handle_one(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            seen.append({"method": self.command, "path": self.path, "headers": dict(self.headers),
                         "body": body.decode("utf-8", "replace")})
            for (method, suffix), handler in routes.items():
                if method == self.command and self.path.split("?")[0].endswith(suffix):
                    handler(self)
                    return
            answer(404, {"detail": "Not Found"})(self)

        do_GET = do_POST = do_DELETE = handle_one

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Scripted)
    server.daemon_threads = True
    server.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", seen
    finally:
        server.shutdown()
        server.server_close()
