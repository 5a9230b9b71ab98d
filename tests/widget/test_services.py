"""The visitor's writes: token resolution against the database, first messages, page views."""

import uuid

import pytest

from chat.models import Conversation, Customer
from tests.factories import ConversationFactory
from widget import services
from widget.tokens import InvalidToken, token_issue

# --- Tokens against the database ------------------------------------------------------------------


def test_no_token_means_a_new_visitor_with_no_rows_yet(db):
    session = services.customer_get_or_create_from_token(token=None)
    assert (session.customer, session.conversation, session.token) == (None, None, None)
    assert not Customer.objects.exists()


def test_a_token_continues_the_visitors_conversation(db):
    conversation = ConversationFactory()
    token = token_issue(
        customer_public_id=conversation.customer.public_id, conversation_public_id=conversation.public_id
    )
    session = services.customer_get_or_create_from_token(token=token)
    assert session.conversation == conversation


def test_a_token_pairing_a_visitor_with_someone_elses_conversation_is_refused(db):
    mine, theirs = ConversationFactory(), ConversationFactory()
    token = token_issue(customer_public_id=mine.customer.public_id, conversation_public_id=theirs.public_id)
    with pytest.raises(InvalidToken, match="another visitor"):
        services.customer_get_or_create_from_token(token=token)


def test_a_token_for_an_unknown_visitor_or_conversation_is_refused(db):
    conversation = ConversationFactory()
    with pytest.raises(InvalidToken):
        services.customer_get_or_create_from_token(
            token=token_issue(customer_public_id=uuid.uuid4(), conversation_public_id=None)
        )
    with pytest.raises(InvalidToken):
        services.customer_get_or_create_from_token(
            token=token_issue(customer_public_id=conversation.customer.public_id, conversation_public_id=uuid.uuid4())
        )


def test_a_first_message_creates_the_visitor_and_their_conversation(db):
    session = services.customer_get_or_create_from_token(token=None)
    result = services.visitor_message_receive(session=session, client_id="c1", text="hi")
    assert result.new_conversation and result.created
    assert result.session.conversation.status == Conversation.Status.BOT
    assert result.message.seq == 1
    assert result.session.token


def test_pages_the_visitor_chats_from_are_remembered_without_repeats(db):
    customer = Customer.objects.create()
    for url in ["https://shop/a", "https://shop/a", "https://shop/b"]:
        services.customer_page_view(customer=customer, url=url, title="Shop")
    customer.refresh_from_db()
    assert [page["url"] for page in customer.attributes["pages"]] == ["https://shop/a", "https://shop/b"]
