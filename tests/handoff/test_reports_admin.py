import pytest

from handoff.services import handoff_request, handoff_resolve, rating_submit
from tests.factories import ConversationFactory

pytestmark = pytest.mark.django_db


# Routing runs once the change commits: this test commits for real.
@pytest.mark.django_db(transaction=True)
def test_the_report_counts_containment_waits_and_csat(client, manager, open_team, make_agent):
    make_agent("Dana")
    helped = ConversationFactory()
    handoff_request(conversation=helped, reason="Complaint")
    handoff_resolve(conversation=helped)
    rating_submit(conversation=helped, score=4)
    bot_only = ConversationFactory()
    handoff_resolve(conversation=bot_only)
    rating_submit(conversation=bot_only, score=2)

    client.force_login(manager)
    page = client.get("/admin/handoff/handoffreport/").content.decode()
    assert "<th>Conversations</th><td>2</td>" in page
    assert "<th>Bot containment</th><td>50%</td>" in page
    assert "<th>CSAT: people</th><td>4.0 / 5 (2 ratings in all)</td>" in page
    assert "<th>CSAT: the assistant</th><td>2.0 / 5</td>" in page
    assert "<td>Complaint</td><td>1</td>" in page


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
