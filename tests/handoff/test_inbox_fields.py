"""The conversation's inbox fields (team, assignee, priority, waiting_since, snooze) follow its handoff
through every transition: the inbox's lists and its access checks read them."""

import datetime as dt
import importlib

import pytest
from django.apps import apps
from django.utils import timezone

from chat.models import Conversation
from handoff.models import Handoff
from handoff.services import (
    conversation_reopen,
    handoff_assign,
    handoff_hand_back,
    handoff_request,
    handoff_resolve,
    handoff_return_to_queue,
    handoff_transfer,
)
from tests.factories import MessageFactory, TeamFactory

pytestmark = pytest.mark.django_db


def inbox_fields(conversation) -> tuple:
    conversation.refresh_from_db()
    return conversation.team_id, conversation.assignee_id, conversation.priority, conversation.waiting_since is not None


def test_every_transition_copies_the_handoffs_team_agent_and_priority(conversation, open_team, make_agent):
    dana, sam = make_agent("Dana", status="offline"), make_agent("Sam", status="offline")
    billing = TeamFactory(name="Billing", slug="billing")
    assert inbox_fields(conversation) == (None, None, 0, False), "with the bot: nobody's yet"

    handoff = handoff_request(conversation=conversation, reason="VIP", priority=2)
    assert inbox_fields(conversation) == (open_team.pk, None, 2, True)

    handoff_assign(handoff=handoff, agent=dana)
    assert inbox_fields(conversation) == (open_team.pk, dana.pk, 2, True), "still waiting for Dana's first reply"

    handoff_transfer(handoff=handoff, to_agent=sam)
    assert inbox_fields(conversation) == (open_team.pk, sam.pk, 2, True)

    handoff_return_to_queue(handoff=handoff, reason="Sam went offline")
    assert inbox_fields(conversation) == (open_team.pk, None, 2, True)

    handoff_transfer(handoff=handoff, to_team=billing)
    assert inbox_fields(conversation) == (billing.pk, None, 2, True)

    handoff_resolve(conversation=conversation)
    assert inbox_fields(conversation) == (billing.pk, None, 2, False), "resolved: billing's history"

    MessageFactory(conversation=conversation, text="one more thing")
    conversation_reopen(conversation=conversation)
    assert inbox_fields(conversation) == (billing.pk, None, 2, False), "back with the bot"

    handoff = handoff_request(conversation=conversation, reason="again")
    handoff_assign(handoff=handoff, agent=dana)
    handoff_hand_back(conversation=conversation)
    assert inbox_fields(conversation) == (open_team.pk, None, 0, False)


def test_a_visitor_message_wakes_a_snoozed_conversation_and_starts_the_wait(conversation, open_team, make_agent):
    handoff = handoff_request(conversation=conversation, reason="help")
    handoff_assign(handoff=handoff, agent=make_agent("Dana", status="offline"))
    MessageFactory(conversation=conversation, sender="agent", text="What is your order number?")
    conversation.refresh_from_db()
    assert conversation.waiting_since is None, "the agent answered"

    Conversation.objects.filter(pk=conversation.pk).update(snoozed_at=timezone.now())
    MessageFactory(conversation=conversation, text="It is 1234")
    conversation.refresh_from_db()
    assert conversation.snoozed_at is None and conversation.snoozed_until is None
    assert conversation.waiting_since is not None


def test_a_bot_message_leaves_the_wait_alone(conversation):
    MessageFactory(conversation=conversation, text="hi")
    MessageFactory(conversation=conversation, sender="bot", text="hello")
    conversation.refresh_from_db()
    assert conversation.waiting_since is None, "nobody waits for a person in a bot conversation"


def test_the_migration_fills_the_fields_from_existing_handoffs(conversation, open_team, make_agent):
    dana = make_agent("Dana", status="offline")
    handoff = handoff_request(conversation=conversation, reason="VIP", priority=3)
    handoff_assign(handoff=handoff, agent=dana)
    Conversation.objects.update(team=None, assignee=None, priority=0, waiting_since=None)
    queued = handoff_request(conversation=MessageFactory().conversation, reason="waiting")
    Conversation.objects.filter(pk=queued.conversation_id).update(team=None, waiting_since=None)

    migration = importlib.import_module("handoff.migrations.0003_conversation_inbox_fields")
    migration.copy_from_handoffs(apps, None)

    assert inbox_fields(conversation) == (open_team.pk, dana.pk, 3, False)
    waiting = Conversation.objects.get(pk=queued.conversation_id)
    assert waiting.team_id == open_team.pk
    assert waiting.waiting_since == Handoff.objects.get(pk=queued.pk).requested_at
    assert waiting.waiting_since > timezone.now() - dt.timedelta(minutes=1)
