"""Canned responses: the ones an agent may use, and their variables filled in for a conversation.

Variables are a fixed set replaced as plain text (not Django templates: managers write the text,
and a template engine would let them read anything in the context).
"""

import re

from django.db.models import Case, Q, QuerySet, When

from agents.models import Agent, CannedResponse, Team
from chat.models import Conversation

MAX_QUERY_CHARS = 100
VARIABLE = re.compile(r"\{\{\s*(visitor\.name|visitor\.first_name|visitor\.email|agent\.name)\s*\}\}")


def canned_for(*, agent: Agent | None, query: str) -> QuerySet[CannedResponse]:
    """Shared responses and the agent's teams' (a manager without an agent profile sees all),
    matching `query` in the shortcut, title or text; shortcuts that start with it first."""
    teams = agent.teams.all() if agent else Team.objects.all()
    responses = CannedResponse.objects.filter(Q(team__isnull=True) | Q(team__in=teams))
    query = query_clean(query)
    if query:
        responses = responses.filter(
            Q(shortcut__icontains=query) | Q(title__icontains=query) | Q(text__icontains=query)
        ).order_by(Case(When(shortcut__istartswith=query, then=0), default=1), "title")
    return responses


def query_clean(query: str) -> str:
    """What a search box sent, made safe to search with: PostgreSQL refuses NUL bytes, and nobody
    types 100 characters to find a saved reply."""
    return query.replace("\x00", "").strip()[:MAX_QUERY_CHARS]


def canned_fill(*, text: str, conversation: Conversation | None, agent: Agent | None) -> str:
    """The response with {{visitor.name}}, {{visitor.first_name}}, {{visitor.email}} and {{agent.name}}
    filled in; without a conversation (or a value) the visitor's become "there" / empty."""
    customer = conversation.customer if conversation is not None else None
    name = (customer.name if customer else "") or "there"
    values = {
        "visitor.name": name,
        "visitor.first_name": name.split()[0],
        "visitor.email": customer.email if customer else "",
        "agent.name": agent.public_name if agent else "",
    }
    return VARIABLE.sub(lambda match: values[match.group(1)], text)
