"""Issue 16 items 10 and 11 (and the client id of item 17): inputs that gave a 500, a crashed
socket or a stored surprise now get a clear refusal."""

import json

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from chat.ids import parse_id
from config.asgi import application
from handoff.services import handoff_assign
from tests.inbox.test_inbox_socket_access import Tab
from widget import protocol
from widget.protocol import ProtocolError

pytestmark = pytest.mark.django_db


def refusal(raw: str) -> ProtocolError:
    with pytest.raises(ProtocolError) as caught:
        protocol.parse_client_event(raw)
    return caught.value


# --- Item 10: 500s ------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["²", "٣", "-1", "0", "1e3", " 7", "7\n", "9" * 19, ""])
def test_ids_are_ascii_digits_only(raw):
    assert parse_id(raw) is None
    assert parse_id("42") == 42


@pytest.mark.parametrize(
    "url",
    [
        "/admin/agents/agent/?q=a%00b",
        "/admin/handoff/handoff/?trigger_rule=%00",
        "/admin/knowledge/article/?q=%00",
        "/admin/agents/cannedresponse/?q=%00&team__id__exact=%00",
    ],
)
def test_nul_bytes_in_admin_searches_and_filters_find_nothing_instead_of_a_500(admin_client, url):
    assert admin_client.get(url).status_code == 200


def test_nul_bytes_in_an_admin_form_become_visible_replacement_characters(admin_client):
    from agents.models import Team

    response = admin_client.post(
        "/admin/agents/team/add/",
        {
            "name": "Bil\x00ling",
            "slug": "billing",
            "skills": "[]",
            "time_zone": "UTC",
            "out_of_hours_message": "x",
            "business_hours-TOTAL_FORMS": "0",
            "business_hours-INITIAL_FORMS": "0",
            "holidays-TOTAL_FORMS": "0",
            "holidays-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:500]
    assert Team.objects.get(slug="billing").name == "Bil\ufffdling"


@pytest.mark.parametrize("rule", ["\u00b2", "\u0663", "abc"])
def test_a_trigger_rule_filter_that_is_not_a_number_lists_nothing(admin_client, rule):
    assert admin_client.get("/admin/handoff/handoff/", {"trigger_rule": rule}).status_code == 200


@pytest.mark.parametrize(
    "url", ["/admin/knowledge/weeklyreviewitem/abc/change/", "/admin/knowledge/trainingsuggestion/²/change/"]
)
def test_custom_admin_change_views_answer_a_non_integer_id_without_a_500(admin_client, url):
    assert admin_client.get(url, follow=True).status_code == 200  # admin's "doesn't exist" message


def test_nul_in_a_reply_or_a_note_is_refused_with_a_message(client, agent, queued_conversation):
    handoff_assign(handoff=queued_conversation.handoffs.get(), agent=agent)
    client.force_login(agent.user)
    base = f"/inbox/c/{queued_conversation.pk}"
    for action in ("reply", "note"):
        response = client.post(f"{base}/{action}/", {"text": "a\x00b"}, HTTP_HX_REQUEST="true")
        assert response.status_code == 422 and "cannot be stored" in response.content.decode()


@pytest.mark.parametrize("target", ["agent:²", "team:٣", "team:1e3"])
def test_a_transfer_target_that_is_not_an_ascii_id_is_refused(client, agent, queued_conversation, target):
    client.force_login(agent.user)
    response = client.post(f"/inbox/c/{queued_conversation.pk}/transfer/", {"target": target}, HTTP_HX_REQUEST="true")
    assert response.status_code == 422 and "Choose an agent or a team" in response.content.decode()


@pytest.mark.parametrize(
    ("next_url", "lands_on"),
    [
        ("foo", "/inbox/"),
        ("https://evil.example/", "/inbox/"),
        ("//evil.example", "/inbox/"),
        ("/inbox/?view=mine", "/inbox/?view=mine"),
    ],
)
def test_the_status_form_goes_back_only_to_a_page_of_ours(client, agent, next_url, lands_on):
    client.force_login(agent.user)
    response = client.post("/inbox/status/", {"status": "online", "next": next_url})
    assert response.status_code == 302 and response["Location"] == lands_on


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("path", ["/ws/nope/", "/ws/inbox/extra/", "/"])
async def test_an_unknown_websocket_path_is_refused_not_a_500(path):
    communicator = WebsocketCommunicator(application, path, headers=[(b"origin", b"http://localhost")])
    assert await communicator.connect() == (False, 4404)


@pytest.mark.django_db(transaction=True)
async def test_an_inbox_socket_asking_for_conversation_superscript_two_is_refused(agent):
    tab = await database_sync_to_async(Tab)(agent.user, "?conversation=²")
    assert await tab.socket.connect() == (False, 4404)


# --- Item 11: socket input -----------------------------------------------------------------------


def test_deeply_nested_json_under_the_size_cap_is_malformed_not_a_crash():
    error = refusal("[" * 30_000 + "]" * 30_000)
    assert error.code == "malformed_json" and "nested too deeply" in error.message


@pytest.mark.parametrize("email", ["ada\udc00@example.com", "ada\x00@example.com"])
def test_an_email_the_database_cannot_store_is_refused(email):
    assert refusal(json.dumps({"type": "contact", "email": email})).code == "invalid_email"


def test_a_client_id_with_a_trailing_newline_is_refused():  # item 17: `$` matched before "\n"
    raw = json.dumps({"type": "message", "client_id": "abc\n", "text": "hi"})
    assert refusal(raw).code == "invalid_client_id"


@pytest.mark.django_db(transaction=True)
async def test_the_inbox_socket_survives_odd_frames_and_closes_on_a_huge_one(agent):
    tab = await database_sync_to_async(Tab)(agent.user)
    assert (await tab.socket.connect())[0]
    for frame in ("[1, 2]", '"text"', "null", "[" * 10_000 + "]" * 10_000, "not json"):
        await tab.socket.send_to(text_data=frame)
    assert await tab.socket.receive_nothing(timeout=0.3)  # still open, nothing said
    await tab.socket.send_to(text_data=json.dumps({"typing": True, "pad": "x" * 40_000}))
    assert (await tab.socket.receive_output(timeout=3)) == {"type": "websocket.close", "code": 1009}
