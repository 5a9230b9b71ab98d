"""The real answerer (knowledge.answers) behind the widget, on the demo knowledge base."""

import pytest

from chat.db import database_sync_to_async
from chat.models import Message

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def demo_knowledge_base(transactional_db):
    from knowledge.demo import load_demo_knowledge_base

    load_demo_knowledge_base()


async def test_a_covered_question_gets_an_answer_linking_its_help_page(open_widget, demo_knowledge_base):
    widget = await open_widget()
    await widget.hello()
    ack = await widget.say("How long does delivery take?")
    answer, _ = await widget.receive_until("message", sender="bot", timeout=30)
    assert answer["reply_to"] == ack["seq"]
    assert answer["declined"] is False
    assert "/help/shipping" in [source["url"] for source in answer["sources"]]
    assert "working days" in answer["text"]

    stored = await database_sync_to_async(Message.objects.get)(sender="bot")
    assert stored.metadata["confidence"] == answer["confidence"] > 0
    assert stored.metadata["sources"][0]["article_id"]


async def test_an_uncovered_question_is_declined_with_an_offer_of_a_person(open_widget, demo_knowledge_base):
    widget = await open_widget()
    await widget.hello()
    await widget.say("What is the airspeed velocity of an unladen swallow?")
    answer, _ = await widget.receive_until("message", sender="bot", timeout=30)
    assert answer["declined"] is True
    assert answer["sources"] == []
    assert "person" in answer["text"]
