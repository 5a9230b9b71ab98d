"""Domain errors from the services become 409 Conflict with the service's own message.

Views call the same race-safe services as the inbox; when a service refuses ("Conversation 41 is
already assigned to Dana"), the client gets that sentence, not a 500.
"""

from django.http import JsonResponse
from django.views import defaults
from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework.views import exception_handler as drf_exception_handler

from agents.services import AgentError
from api.channel.services import ChannelError
from handoff.services import HandoffError
from knowledge.services import KnowledgeError
from widget.pipeline import HandoffRequestFailed

DOMAIN_ERRORS = (HandoffError, AgentError, KnowledgeError, ChannelError, HandoffRequestFailed)


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the conversation's current state."
    default_code = "conflict"


def exception_handler(exc, context):
    if isinstance(exc, DOMAIN_ERRORS):
        exc = Conflict(str(exc))
    return drf_exception_handler(exc, context)


def not_found(request, exception=None):
    """handler404: a URL under /api/ that matches no route answers JSON like every API error."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)
