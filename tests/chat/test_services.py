"""The write path: gap-free seq, idempotent client_id, broadcasts only after commit."""

import asyncio
import threading

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection, transaction

from chat import realtime, selectors, services
from chat.models import Message
from tests.factories import ConversationFactory, UserFactory


def test_seq_counts_up_per_conversation(db):
    first, second = ConversationFactory(), ConversationFactory()
    seqs = [services.message_create(conversation=first, sender="visitor", text=f"m{i}")[0].seq for i in range(3)]
    other, _ = services.message_create(conversation=second, sender="visitor", text="hi")
    assert seqs == [1, 2, 3]
    assert other.seq == 1
    first.refresh_from_db()
    assert first.last_seq == 3


def test_a_retried_client_id_returns_the_stored_message_and_does_not_use_a_seq(db):
    conversation = ConversationFactory()
    message, created = services.message_create(conversation=conversation, sender="visitor", text="hi", client_id="c1")
    again, created_again = services.message_create(
        conversation=conversation, sender="visitor", text="hi", client_id="c1"
    )
    following, _ = services.message_create(conversation=conversation, sender="visitor", text="next", client_id="c2")
    assert (created, created_again) == (True, False)
    assert again.pk == message.pk
    assert following.seq == 2  # no gap where the retry was
    assert Message.objects.filter(conversation=conversation).count() == 2


def test_the_same_client_id_in_another_conversation_is_another_message(db):
    one, two = ConversationFactory(), ConversationFactory()
    services.message_create(conversation=one, sender="visitor", text="hi", client_id="same")
    _, created = services.message_create(conversation=two, sender="visitor", text="hi", client_id="same")
    assert created


def test_text_is_stored_raw(db):
    conversation = ConversationFactory()
    text = "<script>alert('x')</script> &amp; \n  spaced  "
    message, _ = services.message_create(conversation=conversation, sender="visitor", text=text)
    message.refresh_from_db()
    assert message.text == text


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_get_distinct_gap_free_seqs_and_one_row_per_client_id():
    conversation = ConversationFactory()
    results, barrier = [], threading.Barrier(12)

    def write(i: int) -> None:
        try:
            barrier.wait()
            # Threads 0-3 retry the same client_id at the same moment; the others are distinct.
            client_id = "shared" if i < 4 else f"c{i}"
            message, created = services.message_create(
                conversation=conversation, sender="visitor", text=f"m{i}", client_id=client_id
            )
            results.append((message.seq, created))
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(i,)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stored = list(Message.objects.filter(conversation=conversation).values_list("seq", flat=True))
    assert stored == list(range(1, 10))  # 8 distinct + 1 shared, in order, no gaps
    assert sum(created for _, created in results) == 9
    assert len({seq for seq, created in results if not created}) == 1


def _listen(conversation_id: int):
    layer = get_channel_layer()
    async_to_sync(layer.flush)()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(realtime.conversation_group(conversation_id), channel)

    async def next_event(timeout=0.5):
        try:
            return await asyncio.wait_for(layer.receive(channel), timeout)
        except TimeoutError:
            return None

    return lambda timeout=0.5: async_to_sync(next_event)(timeout)


@pytest.mark.django_db(transaction=True)
def test_a_message_is_broadcast_after_commit_and_a_rolled_back_one_never():
    conversation = ConversationFactory()
    receive = _listen(conversation.pk)

    with pytest.raises(RuntimeError), transaction.atomic():
        services.message_create(conversation=conversation, sender="visitor", text="rolled back")
        raise RuntimeError
    assert receive() is None

    seen_inside = []
    with transaction.atomic():
        services.message_create(conversation=conversation, sender="visitor", text="kept")
        seen_inside.append(receive(0.1))
    assert seen_inside == [None]
    envelope = receive()
    assert envelope["type"] == "chat.message"
    assert envelope["event"]["text"] == "kept"
    assert envelope["event"]["seq"] == 1  # the rolled-back message did not take seq 1


@pytest.mark.django_db(transaction=True)
def test_an_agent_message_event_is_complete_for_every_listener():
    from agents.models import Agent

    dana = UserFactory(username="dana-w", first_name="Dana")
    Agent.objects.create(user=dana, display_name="Dana W.")
    conversation = ConversationFactory()
    receive = _listen(conversation.pk)
    services.message_create(conversation=conversation, sender="agent", author=dana, text="Hello, I'm Dana")
    event = receive()["event"]
    assert event["sender"] == "agent"
    assert event["author"] == {"name": "Dana W."}
    assert event["seq"] == 1
    assert event["created_at"].endswith("+00:00")
    assert event["sources"] == []


def test_message_events_expose_only_public_metadata(db):
    conversation = ConversationFactory()
    message, _ = services.message_create(
        conversation=conversation,
        sender="bot",
        text="Orders ship in 2 days.",
        metadata={
            "sources": [{"article_id": 3, "title": "Shipping", "url": "/help/shipping", "score": 0.8}, {"title": "x"}],
            "confidence": 0.8,
            "declined": False,
            "reply_to": 4,
            "retrieval": {"internal": True},
        },
    )
    event = realtime.message_event(message)
    # A source without a page (an article learned from an agent) is named, not linked; ids and scores stay here.
    assert event["sources"] == [{"title": "Shipping", "url": "/help/shipping"}, {"title": "x", "url": ""}]
    assert (event["confidence"], event["declined"], event["reply_to"]) == (0.8, False, 4)
    assert "retrieval" not in event


def test_messages_after_returns_missed_messages_in_order(db):
    conversation = ConversationFactory()
    for i in range(5):
        services.message_create(conversation=conversation, sender="visitor", text=f"m{i}")
    assert [m.seq for m in selectors.messages_after(conversation=conversation, after_seq=2)] == [3, 4, 5]
    assert [m.seq for m in selectors.messages_after(conversation=conversation, after_seq=0, limit=2)] == [1, 2]
    assert selectors.messages_after(conversation=conversation, after_seq=5) == []


def test_history_for_the_bot_is_the_last_turns_oldest_first(db):
    conversation = ConversationFactory()
    for sender, text in [("visitor", "q1"), ("bot", "a1"), ("system", "note"), ("visitor", "q2")]:
        services.message_create(conversation=conversation, sender=sender, text=text)
    history = selectors.conversation_history_for_bot(conversation=conversation, before_seq=4)
    assert history == [{"sender": "visitor", "text": "q1"}, {"sender": "bot", "text": "a1"}]
