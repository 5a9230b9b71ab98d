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
    # 1 the retry check (client_id seen?), 2 lock the conversation and read its status, 3 lock it for
    # message_create and read last_seq, 4 the retry check under the lock, 5 bump last_seq and the inbox
    # fields, 6 insert the message; plus the savepoint and its release of the one atomic block (in
    # production it is the transaction itself, BEGIN/COMMIT, not counted here).
    with django_assert_num_queries(8):
        result = visitor_message_receive(session=session, client_id="second", text="second")
    assert result.created and result.message.seq == 2


def test_a_retried_message_is_answered_with_one_query(django_assert_num_queries):
    conversation = ConversationFactory()
    session = VisitorSession(customer=conversation.customer, conversation=conversation)
    visitor_message_receive(session=session, client_id="again", text="hello")
    with django_assert_num_queries(1):
        result = visitor_message_receive(session=session, client_id="again", text="hello")
    assert not result.created
