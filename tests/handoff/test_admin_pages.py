import pytest

from handoff.services import handoff_request, handoff_resolve
from tests.factories import ConversationFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "url",
    [
        "/admin/agents/team/",
        "/admin/agents/team/add/",
        "/admin/agents/agent/",
        "/admin/agents/cannedresponse/",
        "/admin/handoff/handoff/",
        "/admin/handoff/satisfactionrating/",
    ],
)
def test_manager_admin_pages_load(client, manager, open_team, url):
    client.force_login(manager)
    assert client.get(url).status_code == 200


def test_a_handoff_in_admin_shows_its_transitions(client, manager, open_team, make_agent):
    make_agent("Dana")
    conversation = ConversationFactory()
    handoff = handoff_request(conversation=conversation, reason="Complaint")
    handoff_resolve(conversation=conversation)
    client.force_login(manager)
    page = client.get(f"/admin/handoff/handoff/{handoff.pk}/change/").content.decode()
    assert "Handoff requested" in page and "Assigned" in page and "Resolved" in page
