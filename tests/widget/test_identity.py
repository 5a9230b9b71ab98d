"""Identity verification: a signed-in visitor whose hash verifies continues their conversations on any
device; a wrong or unconfigured hash is refused with identity_refused, never merged."""

import hashlib
import hmac

import pytest

from chat.models import Customer
from tests.factories import ConversationFactory, MessageFactory
from widget.protocol import ProtocolError, parse_client_event

SECRET = "host-site-secret-for-tests"
pytestmark = pytest.mark.django_db(transaction=True)


def signed(user_id: str, secret: str = SECRET) -> str:
    # What the host site's server does, as docs/widget-protocol.md says (not our helper).
    return hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()


@pytest.fixture
def identity_secret(settings):
    settings.WIDGET_IDENTITY_SECRET = SECRET


async def test_a_verified_identity_continues_the_customers_conversation_on_another_device(
    open_widget, identity_secret, scripted_bot
):
    from asgiref.sync import sync_to_async

    @sync_to_async
    def earlier_conversation():
        conversation = ConversationFactory(customer__external_id="42")
        MessageFactory(conversation=conversation, text="Asked on my phone")
        return conversation

    conversation = await earlier_conversation()
    laptop = await open_widget()
    identity = {"user_id": "42", "email": "ada@example.com", "user_hash": signed("42")}
    welcome = await laptop.hello(identity=identity)
    assert welcome["conversation"] == str(conversation.public_id) and welcome["token"]
    assert welcome["last_seq"] == 1
    customer = await Customer.objects.aget(pk=conversation.customer_id)
    assert customer.email == "ada@example.com" and customer.attributes["identity_verified"] is True
    assert await Customer.objects.acount() == 1


async def test_a_wrong_hash_is_refused_and_nothing_is_merged(open_widget, identity_secret):
    from asgiref.sync import sync_to_async

    await sync_to_async(ConversationFactory)(customer__external_id="42")
    widget = await open_widget()
    await widget.send(type="hello", token=None, identity={"user_id": "42", "email": "", "user_hash": signed("43")})
    error = await widget.receive()
    assert error["type"] == "error" and error["code"] == "identity_refused"
    assert "could not confirm" in error["message"]
    assert (await widget.communicator.receive_output())["code"] == 4403
    assert await Customer.objects.acount() == 1


async def test_identity_is_refused_when_the_site_has_no_secret(open_widget, settings):
    settings.WIDGET_IDENTITY_SECRET = ""
    widget = await open_widget()
    await widget.send(type="hello", token=None, identity={"user_id": "42", "email": "", "user_hash": signed("42", "")})
    error = await widget.receive()
    assert error["code"] == "identity_refused" and "WIDGET_IDENTITY_SECRET" in error["message"]
    assert await Customer.objects.acount() == 0


@pytest.mark.parametrize(
    "identity",
    [
        "42",
        {"user_id": "", "user_hash": "0" * 64},
        {"user_id": "42", "user_hash": "not-hex"},
        {"user_id": "4\x002", "user_hash": "0" * 64},
        {"user_id": "42", "email": 5, "user_hash": "0" * 64},
    ],
)
def test_malformed_identities_are_invalid_fields(identity):
    import json

    with pytest.raises(ProtocolError) as raised:
        parse_client_event(json.dumps({"type": "hello", "token": None, "identity": identity}))
    assert raised.value.code == "invalid_field"
