"""A real HTTP server on a loopback address, in a thread, for tests of outbound requests.

`Web(handler)` serves every request by calling `handler(request)` with the BaseHTTPRequestHandler,
which writes whatever the test needs (redirects, drips, bombs). Requests are recorded as paths.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Web:
    def __init__(self, handler: Callable[[BaseHTTPRequestHandler], None], host: str = "127.0.0.1"):
        self.requests: list[str] = []
        web = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                web.requests.append(self.path)
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up, as meant
                    handler(self)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer((host, 0), Handler)
        self.server.daemon_threads = True
        self.base = f"http://{host}:{self.server.server_address[1]}"

    def __enter__(self) -> Web:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def respond(request: BaseHTTPRequestHandler, status: int, body: bytes = b"", **headers: str) -> None:
    request.send_response(status)
    headers.setdefault("Content_Type", "text/html; charset=utf-8")
    headers.setdefault("Content_Length", str(len(body)))
    for name, value in headers.items():
        request.send_header(name.replace("_", "-"), value)
    request.end_headers()
    request.wfile.write(body)
