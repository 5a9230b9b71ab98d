"""'Draft from knowledge base': extractive without a chat model, LangChain's fake models for the
configured one; a draft is put in the reply box, never sent."""

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel, GenericFakeChatModel

from chat.models import Message
from knowledge.demo import load_demo_knowledge_base
from tests.factories import MessageFactory

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def demo_kb(db):
    load_demo_knowledge_base()


def draft(client, user, conversation) -> str:
    client.force_login(user)
    return client.post(f"/inbox/c/{conversation.pk}/draft/", **HX).content.decode()


def test_without_a_chat_model_the_draft_quotes_the_best_passages(client, agent, demo_kb, queued_conversation, settings):
    settings.HANDOFF_CHAT_MODEL = None
    settings.LLM_PROVIDER = "none"
    before = Message.objects.count()
    page = draft(client, agent.user, queued_conversation)
    assert 'data-draft="Hi Ada,' in page
    assert "As soon as your parcel leaves our warehouse we email you a tracking link." in page
    assert "Tracking your order" in page and "Check and edit it before you send." in page
    assert Message.objects.count() == before, "a draft is never sent"


def test_with_a_chat_model_it_writes_from_the_passages_with_the_visitors_data_scrubbed(
    client, agent, demo_kb, queued_conversation, settings
):
    seen = []

    class RecordingModel(FakeListChatModel):
        def invoke(self, messages, *args, **kwargs):
            seen.append(messages)
            return super().invoke(messages, *args, **kwargs)

    MessageFactory(conversation=queued_conversation, text="Email me at ada@example.com about it")
    settings.HANDOFF_CHAT_MODEL = RecordingModel(responses=["Your parcel is on its way; the tracking link is emailed."])
    page = draft(client, agent.user, queued_conversation)
    assert "drafted by the assistant" in page.lower()
    assert 'data-draft="Hi Ada,\n\nYour parcel is on its way; the tracking link is emailed."' in page
    system, human = seen[0]
    assert "Tracking your order" in system.content
    assert "ada@example.com" not in human.content and "Where is my order" in human.content


def test_a_failing_chat_model_falls_back_to_the_extractive_draft(client, agent, demo_kb, queued_conversation, settings):
    settings.HANDOFF_CHAT_MODEL = GenericFakeChatModel(messages=iter([]))  # raises when asked
    page = draft(client, agent.user, queued_conversation)
    assert "tracking link" in page and "by the assistant" not in page


def test_nothing_to_draft_from_is_explained(client, agent, demo_kb, queued_conversation, settings):
    settings.HANDOFF_CHAT_MODEL = None
    queued_conversation.messages.filter(sender="visitor").update(text="ok thanks")
    assert "nothing to draft from" in draft(client, agent.user, queued_conversation)


def test_only_agents_who_may_see_the_conversation_can_draft(client, billing_agent, queued_conversation):
    client.force_login(billing_agent.user)
    assert client.post(f"/inbox/c/{queued_conversation.pk}/draft/", **HX).status_code == 404
