"""The visitor's message path costs a fixed, small number of queries (issue 12): acks must never
queue behind a query that grew with the conversation or the knowledge base."""

import io

import pytest
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from django.core.management import call_command

from chat.models import Message
from chat.services import message_create
from nlp import embeddings
from tests.factories import ConversationFactory
from widget.answering import visitor_message_answer
from widget.consumers import WidgetConsumer
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


class CountingCache(LocMemCache):
    """The local-memory cache, counting its reads (Redis in production: each read a round trip)."""

    reads = 0

    def get(self, *args, **kwargs):
        CountingCache.reads += 1
        return super().get(*args, **kwargs)


def test_storing_messages_reads_the_shared_cache_once_for_the_webhook_endpoints(settings):
    settings.CACHES = {"default": {"BACKEND": f"{__name__}.CountingCache", "LOCATION": "counting"}}
    caches["default"].clear()
    CountingCache.reads = 0
    conversation = ConversationFactory()  # its conversation.created event reads the endpoint list
    session = VisitorSession(customer=conversation.customer, conversation=conversation)
    for n in range(3):
        visitor_message_receive(session=session, client_id=f"m{n}", text="hello")
    assert CountingCache.reads == 1, "this process keeps the endpoint list for a few seconds"


def test_a_retried_message_is_answered_with_one_query(django_assert_num_queries):
    conversation = ConversationFactory()
    session = VisitorSession(customer=conversation.customer, conversation=conversation)
    visitor_message_receive(session=session, client_id="again", text="hello")
    with django_assert_num_queries(1):
        result = visitor_message_receive(session=session, client_id="again", text="hello")
    assert not result.created


@pytest.fixture
def demo_company(db):
    """The benchmarks' company: teams with business hours, the default trigger rules, the knowledge base."""
    call_command("load_demo", stdout=io.StringIO())


@pytest.mark.usefixtures("demo_company")
def test_answering_a_question_takes_a_fixed_number_of_queries(django_assert_num_queries):
    conversation = ConversationFactory()
    first, _ = message_create(conversation=conversation, sender=Message.Sender.VISITOR, text="How do I return an item?")
    visitor_message_answer(message_id=first.pk)  # compiles the rules, loads the classifier
    question, _ = message_create(
        conversation=conversation, sender=Message.Sender.VISITOR, text="How long does shipping take?"
    )
    # 1 the message, if still unhandled, with its conversation's advisory lock; 2 the unhandled messages
    # up to it, with the conversation and its customer; 3 what the rules read, one statement (the firings
    # already logged for it, its counts, its recent messages; the rules' version, the teams' hours and the
    # knowledge base's state are read at most every second or few per process; the bot's history comes
    # from those recent messages); 4 retrieval, one statement (both nearest-neighbour lists, both full-text
    # lists, the articles; hnsw.ef_search is the session's, set when the connection opened); storing the
    # reply: 5 lock the conversation and read it, 6 mark the question handled, 7 bump last_seq, 8 insert;
    # 9 the unlock. Plus the reply transaction's savepoint pair (BEGIN/COMMIT in production).
    with django_assert_num_queries(11):
        visitor_message_answer(message_id=question.pk)
    reply = conversation.messages.get(seq=4)
    assert reply.sender == Message.Sender.BOT and reply.metadata["reply_to"] == question.seq
    assert not reply.metadata["declined"]


@pytest.mark.usefixtures("demo_company")
def test_a_question_is_embedded_once_for_sentiment_rules_and_retrieval(monkeypatch, django_capture_on_commit_callbacks):
    conversation = ConversationFactory()
    embedded = []

    def counting_embed(texts):
        embedded.append(list(texts))
        return real_embed(texts)

    real_embed = embeddings.embed
    monkeypatch.setattr(embeddings, "embed", counting_embed)
    question = "Could you tell me how long shipping to Ireland takes?"
    embeddings.recent_texts_forget()
    with django_capture_on_commit_callbacks(execute=True):  # the sentiment task runs eagerly, inline
        message, _ = message_create(conversation=conversation, sender=Message.Sender.VISITOR, text=question)
        visitor_message_answer(message_id=message.pk)
    message.refresh_from_db()
    assert message.sentiment is not None, "scored"
    assert conversation.messages.filter(sender=Message.Sender.BOT, metadata__reply_to=message.seq).exists()
    assert [texts for texts in embedded if question in texts] == [[question]], "the model ran once for it"


def test_a_first_messages_welcome_costs_no_query(django_assert_num_queries):
    """The welcome that goes before a first message's ack describes the conversation just started."""
    result = visitor_message_receive(session=VisitorSession(customer=None, conversation=None), client_id="a", text="hi")
    with django_assert_num_queries(0):
        welcome = WidgetConsumer()._welcome(result.session, started_now=True)
    assert (welcome["status"], welcome["last_seq"], welcome["status_detail"]) == ("bot", 1, {})
    assert welcome["token"] and welcome["conversation"] == str(result.session.conversation.public_id)
