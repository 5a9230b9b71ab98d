"""A webhook receiver for trying Handoff's webhooks on a laptop: prints each event whose signature verifies.

    python3 docs/webhook_receiver.py 9000 whsec_...     # the endpoint's secret, from its admin page

Register http://127.0.0.1:9000/ as an endpoint in admin, and start Handoff with
OUTBOUND_ALLOWED_NETWORKS=127.0.0.1/32 (loopback is refused otherwise). Standard library only.
"""

import hashlib
import hmac
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, HTTPServer


def verify(secret: str, header: str, body: bytes, tolerance: int = 300) -> bool:
    pairs = [part.split("=", 1) for part in header.split(",") if "=" in part]
    timestamps = [value for key, value in pairs if key.strip() == "t"]
    signatures = [value for key, value in pairs if key.strip() == "v1"]
    if len(timestamps) != 1 or not timestamps[0].isdigit() or not signatures:
        return False
    if abs(time.time() - int(timestamps[0])) > tolerance:
        return False
    expected = hmac.new(secret.encode(), timestamps[0].encode() + b"." + body, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, signature) for signature in signatures)


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if not verify(SECRET, self.headers.get("Handoff-Signature", ""), body):
            self.send_response(400)
            self.end_headers()
            print("refused: bad signature", flush=True)
            return
        self.send_response(204)
        self.end_headers()
        event = json.loads(body)
        print(event["type"], json.dumps(event["data"], indent=2), flush=True)


if __name__ == "__main__":
    SECRET = sys.argv[2]
    HTTPServer(("127.0.0.1", int(sys.argv[1])), Receiver).serve_forever()
