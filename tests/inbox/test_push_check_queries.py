"""Every push to an inbox tab is preceded by an access check (inbox/consumers.py `_access_lost`); it runs
once per push per open tab, so its queries are counted (issue 12)."""

import pytest
from django.contrib.auth import HASH_SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from inbox.consumers import InboxConsumer

pytestmark = pytest.mark.django_db


def tab_of(user, conversation_id=None) -> InboxConsumer:
    """An inbox socket's state after its connect: the user and session of its scope."""
    client = Client()
    client.force_login(user)
    consumer = InboxConsumer()
    session = SessionStore(session_key=client.cookies["sessionid"].value)
    assert session.get(HASH_SESSION_KEY)  # read as Channels' auth middleware read it when the socket connected
    consumer.scope = {"session": session, "user": user}
    consumer.user, consumer.conversation_id = user, conversation_id
    return consumer


def test_the_check_before_a_push_takes_two_queries(agent, queued_conversation):
    tab = tab_of(agent.user)
    with CaptureQueriesContext(connection) as queries:
        assert tab._access_lost() is None
    # 1 the session still exists, 2 the active user with their agent profile and its team ids (the teams
    # themselves from the per-process cache of the teams, agents.hours, warm here as in production).
    assert len(queries) == 2, "\n".join(query["sql"][:150] for query in queries.captured_queries)
    assert [team.slug for team in tab.agent.teams.all()] == ["support"], "the fresh agent, kept for rendering"


def test_on_a_conversation_page_it_checks_the_conversation_too(agent, queued_conversation):
    tab = tab_of(agent.user, conversation_id=queued_conversation.pk)
    with CaptureQueriesContext(connection) as queries:
        assert tab._access_lost() is None
    # The two above, and 3 the conversation is still one the agent may see.
    assert len(queries) == 3, "\n".join(query["sql"][:150] for query in queries.captured_queries)


def test_a_user_without_an_agent_profile_or_manager_rights_is_refused(agent, queued_conversation):
    agent.delete()
    tab = tab_of(agent.user)
    assert tab._access_lost() == 4403
