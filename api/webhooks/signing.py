"""The signature header, the Stripe convention: `Handoff-Signature: t=<unix time>,v1=<hex>` where
<hex> is HMAC-SHA256(secret, "<t>.<raw body>"). docs/webhooks.md tells receivers how to check it."""

import hashlib
import hmac

SIGNATURE_HEADER = "Handoff-Signature"


def webhook_signature(*, secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"
