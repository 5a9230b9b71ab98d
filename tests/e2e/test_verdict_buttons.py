"""The verdict buttons in the inbox after resolving, clicked in Chromium (htmx swaps the pressed state)."""

from pathlib import Path

import pytest
from django.conf import settings

from handoff.models import Handoff
from handoff.services import handoff_assign, handoff_request, handoff_resolve
from tests.factories import AgentFactory, ConversationFactory, MessageFactory, TeamFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"


def test_the_agent_labels_a_resolved_handoff(page, live_server_url):
    team = TeamFactory(name="Customer Support", slug="support")
    dana = AgentFactory(user=UserFactory(username="dana", first_name="Dana"), teams=[team])
    conversation = ConversationFactory()
    MessageFactory(conversation=conversation, text="my parcel never came")
    handoff = handoff_request(conversation=conversation, reason="Visitor asked", team=team)
    handoff_assign(handoff=handoff, agent=dana)
    handoff_resolve(conversation=conversation)

    page.goto(live_server_url + f"/inbox/c/{conversation.pk}/")
    page.fill("input[name=username]", "dana")
    page.fill("input[name=password]", "a-long-test-password")
    page.click("button[type=submit]")
    page.wait_for_url(f"**/inbox/c/{conversation.pk}/")
    page.get_by_role("button", name="Handoff was needed").click()

    page.wait_for_selector("#verdict button[value=needed][aria-pressed=true]")
    assert Handoff.objects.get(pk=handoff.pk).verdict == "needed"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "verdict.png"))
