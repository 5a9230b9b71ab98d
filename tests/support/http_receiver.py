"""A real HTTP server on 127.0.0.1 for outbound tests (webhooks, the HubSpot contract server).

`Receiver` records every request and answers from a script: a list of (status, headers, body) used in
order (the last one repeats), or a handler function for servers that need logic.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body)


Answer = tuple[int, dict[str, str], bytes]


@dataclass
class Receiver:
    script: list[Answer] = field(default_factory=lambda: [(200, {}, b"ok")])
    handler: Callable[[Request], Answer] | None = None
    delay: float = 0.0
    requests: list[Request] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def answer(self, request: Request) -> Answer:
        self.requests.append(request)
        if self.delay:
            time.sleep(self.delay)
        if self.handler is not None:
            return self.handler(request)
        return self.script[min(len(self.requests) - 1, len(self.script) - 1)]

    def wait_for(self, count: int, timeout: float = 20.0) -> list[Request]:
        deadline = time.monotonic() + timeout
        while len(self.requests) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {count} requests within {timeout}s, got {len(self.requests)}")
            time.sleep(0.02)
        return self.requests

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                request = Request(self.command, self.path, dict(self.headers.items()), self.rfile.read(length))
                status, headers, body = receiver.answer(request)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
