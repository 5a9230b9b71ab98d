"""The visitor's message path costs a fixed, small number of queries (issue 12): acks must never
queue behind a query that grew with the conversation or the knowledge base."""

import pytest

from tests.factories import ConversationFactory
from widget.services import VisitorSession, visitor_message_receive

pytestmark = pytest.mark.django_db


def test_storing_a_visitor_message_takes_a_fixed_number_of_queries(django_assert_num_queries):
    conversation = ConversationFactory()
    session = VisitorSession(customer=conversation.customer, conversation=conversation)
    visitor_message_receive(session=session, client_id="warm", text="first")
    # 1 the retry check (client_id seen?), 2 lock the conversation and read its status, 3 refresh
    # status/last_seq, 4 message_create's retry check, 5 lock and read last_seq, 6 the retry check
    # under the lock, 7 bump last_seq and the inbox fields, 8 insert the message; plus a savepoint and
    # its release for each of the two nested atomic blocks (in production the outer one is the
    # transaction itself, BEGIN/COMMIT, not counted: one pair fewer).
    with django_assert_num_queries(12):
        result = visitor_message_receive(session=session, client_id="second", text="second")
    assert result.created and result.message.seq == 2


def test_a_retried_message_is_answered_with_one_query(django_assert_num_queries):
    conversation = ConversationFactory()
    session = VisitorSession(customer=conversation.customer, conversation=conversation)
    visitor_message_receive(session=session, client_id="again", text="hello")
    with django_assert_num_queries(1):
        result = visitor_message_receive(session=session, client_id="again", text="hello")
    assert not result.created
