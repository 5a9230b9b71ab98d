"""After resolving, the agent labels the handoff in one click (issue 14: trigger precision is built on it)."""

import pytest
from django.urls import reverse

from handoff.models import Handoff
from handoff.selectors import handoff_open
from handoff.services import handoff_assign, handoff_resolve

pytestmark = pytest.mark.django_db


@pytest.fixture
def resolved_by_dana(queued_conversation, agent):
    handoff_assign(handoff=handoff_open(conversation=queued_conversation), agent=agent)
    handoff_resolve(conversation=queued_conversation)
    return queued_conversation


def test_after_resolving_the_agent_labels_the_handoff_in_one_click(client, agent, resolved_by_dana):
    client.force_login(agent.user)
    page = client.get(reverse("inbox-conversation", args=[resolved_by_dana.pk])).content.decode()
    assert "Was this handoff right?" in page and "The bot could have answered" in page

    response = client.post(
        reverse("inbox-verdict", args=[resolved_by_dana.pk]), {"verdict": "bot_could_answer"}, HTTP_HX_REQUEST="true"
    )

    assert Handoff.objects.get(conversation=resolved_by_dana).verdict == "bot_could_answer"
    assert 'value="bot_could_answer" aria-pressed="true"' in response.content.decode()
    client.post(reverse("inbox-verdict", args=[resolved_by_dana.pk]), {"verdict": "needed"})  # changed: the right one
    assert Handoff.objects.get(conversation=resolved_by_dana).verdict == "needed"


def test_no_label_while_the_conversation_is_open(client, agent, queued_conversation):
    client.force_login(agent.user)
    page = client.get(reverse("inbox-conversation", args=[queued_conversation.pk])).content.decode()
    assert "Was this handoff right?" not in page
    response = client.post(reverse("inbox-verdict", args=[queued_conversation.pk]), {"verdict": "needed"},
                           HTTP_HX_REQUEST="true")  # fmt: skip
    assert response.status_code == 422 and "no finished handoff" in response.content.decode()


def test_another_teams_agent_cannot_label_it_and_nonsense_is_refused(client, billing_agent, agent, resolved_by_dana):
    client.force_login(billing_agent.user)
    assert client.post(reverse("inbox-verdict", args=[resolved_by_dana.pk]), {"verdict": "needed"}).status_code == 404
    client.force_login(agent.user)
    response = client.post(reverse("inbox-verdict", args=[resolved_by_dana.pk]), {"verdict": "\x00"},
                           HTTP_HX_REQUEST="true")  # fmt: skip
    assert response.status_code == 422 and "Choose one of" in response.content.decode()
    assert Handoff.objects.get(conversation=resolved_by_dana).verdict == ""
