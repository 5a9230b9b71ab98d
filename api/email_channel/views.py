"""POST /api/email/inbound/: the inbound-parse webhook of SendGrid, Mailgun and the like (multipart or form
fields, see parsing.from_webhook_fields). Refused until EMAIL_INBOUND_SECRET is set; authenticated by that
secret as the HTTP Basic password (https://any:SECRET@desk.example.com/api/email/inbound/) or ?secret=, or by
Mailgun's signature of its timestamp and token with the secret as the signing key.

Answers 200 for an email taken or deliberately dropped (so the provider does not send it again), 400 with
the reason for one that cannot be read, 401 without the secret.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import HttpRequest, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from api.email_channel.inbound import email_inbound_receive
from api.email_channel.parsing import EmailUnreadable, from_webhook_fields
from chat.ids import parse_count

MAILGUN_MAX_AGE_SECONDS = 300  # a signed request older than this is a replay


@csrf_exempt
@require_POST
def inbound_email(request: HttpRequest) -> JsonResponse:
    if not settings.EMAIL_INBOUND_SECRET:
        return JsonResponse({"detail": "Inbound email is off: set EMAIL_INBOUND_SECRET."}, status=404)
    try:
        if not _authenticated(request):
            return JsonResponse({"detail": "Give the inbound secret (HTTP Basic password or ?secret=)."}, status=401)
        fields = {name: request.POST.get(name, "") for name in request.POST}
        files = [upload.name or "attachment" for upload in request.FILES.values()]
        result = email_inbound_receive(email=from_webhook_fields(fields, files))
    except (RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent, MultiPartParserError) as error:
        return JsonResponse({"detail": f"The request could not be read: {error}"}, status=400)
    except EmailUnreadable as error:
        return JsonResponse({"detail": str(error)}, status=400)
    body = {"status": result.status, "reason": result.reason}
    if result.message is not None:
        body.update(conversation=result.message.conversation_id, seq=result.message.seq)
    return JsonResponse(body)


def _authenticated(request: HttpRequest) -> bool:
    secret = settings.EMAIL_INBOUND_SECRET.encode()
    given = request.GET.get("secret", "")
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            given = base64.b64decode(credentials, validate=True).decode().partition(":")[2]
        except (binascii.Error, UnicodeDecodeError):
            return False
    if given:
        return hmac.compare_digest(given.encode(), secret)
    timestamp, token = request.POST.get("timestamp", ""), request.POST.get("token", "")
    signature = request.POST.get("signature", "")
    if not (parse_count(timestamp) is not None and token and signature):
        return False
    if abs(time.time() - int(timestamp)) > MAILGUN_MAX_AGE_SECONDS:
        return False
    expected = hmac.new(secret, (timestamp + token).encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)
