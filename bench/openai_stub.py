"""A local OpenAI-compatible chat endpoint that streams with a fixed first-token delay (test infrastructure).

POST /v1/chat/completions with "stream": true answers with server-sent chat.completion.chunk events:
the first content chunk after `first_token_seconds`, the rest `token_gap_seconds` apart, then [DONE].
Each request's arrival and first-token times (time.perf_counter, so a benchmark in the same process can
compare them with its own clock) are kept in `requests`. Serves 127.0.0.1 only.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ANSWER = "Standard delivery within the UK takes 2-4 working days [1]. Express delivery arrives the next day [1]."


@dataclass
class StubRequest:
    received_at: float
    first_token_at: float | None = None


@dataclass
class OpenAIStub:
    first_token_seconds: float = 0.2
    token_gap_seconds: float = 0.01
    requests: list[StubRequest] = field(default_factory=list)

    def __enter__(self) -> OpenAIStub:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                received = StubRequest(received_at=time.perf_counter())
                stub.requests.append(received)
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()  # HTTP/1.0: the stream ends when the connection closes
                time.sleep(stub.first_token_seconds)
                words = ANSWER.split(" ")
                for n, word in enumerate(words):
                    self._event(body.get("model", "stub"), {"content": word if n == 0 else " " + word}, None)
                    if n == 0:
                        received.first_token_at = time.perf_counter()
                    time.sleep(stub.token_gap_seconds)
                self._event(body.get("model", "stub"), {}, "stop")
                self.wfile.write(b"data: [DONE]\n\n")

            def _event(self, model: str, delta: dict, finish: str | None) -> None:
                chunk = {
                    "id": "chatcmpl-stub",
                    "object": "chat.completion.chunk",
                    "created": int(time.time()),
                    "model": model,
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                }
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                self.wfile.flush()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
