"""The widget's "Talk to a person" costs a fixed, small number of queries (issue 12): every query before
the commit is latency between the click and the agents' inboxes hearing of it."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from chat.models import Conversation, Message
from tests.factories import ConversationFactory, MessageFactory, TeamFactory, team_open_all_week
from widget.pipeline import widget_handoff_request

pytestmark = pytest.mark.django_db


@pytest.fixture
def support_open(db):
    return team_open_all_week(TeamFactory(name="Customer Support", slug="support"))


def asked() -> Conversation:
    conversation = ConversationFactory()
    MessageFactory(conversation=conversation, text="Do you ship to Norway?")
    MessageFactory(conversation=conversation, sender="bot", text="Yes, in 3 days.", metadata={"confidence": 0.9})
    return Conversation.objects.get(pk=conversation.pk)


def _rules_cache_check(sql: str) -> bool:
    return '"triggers_rulesetversion"' in sql or sql.startswith('SELECT COUNT(DISTINCT "knowledge_article"')


def test_the_person_button_takes_a_fixed_number_of_queries(support_open, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        widget_handoff_request(conversation=asked())  # compiles the rules, reads the teams' hours
    conversation = asked()
    with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks(execute=True):
        handoff = widget_handoff_request(conversation=conversation)
    # 1 has the visitor written? The button's message: the savepoint, 2 lock the conversation (the seq
    # is reserved from that read), 3 bump the seq, 4 insert it, 5 mark it handled. The rules (triggers/,
    # their own budget): 6 the conversation, 7 their inputs in one statement, a savepoint, 8 log the
    # firing, its release; 9 the conversation again to apply the decision. handoff_request
    # (tests/handoff/test_request_queries.py; nobody online here, so no handling time or range; no
    # savepoint of its own): 10 lock, 11 open handoff, 12 online slots, 13 the position, 14 the
    # transcript, 15 insert, 16 the event, 17 the conversation, 18 bump and 19 insert the notice; 20 the
    # handoff for the caller; the release. Once committed: 21 "anyone behind?", routing's savepoint,
    # 22 a free agent (none: no handoff is locked), its release. Left out: the rules' cache checking their
    # version and the knowledge base's every few seconds (triggers/, knowledge/).
    counted = [query["sql"] for query in queries.captured_queries if not _rules_cache_check(query["sql"])]
    assert len(counted) == 28, "\n".join(sql[:150] for sql in counted)
    assert handoff.status == "queued" and handoff.conversation_id == conversation.pk
    assert conversation.messages.filter(sender=Message.Sender.SYSTEM).count() == 1
