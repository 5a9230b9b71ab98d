"""Issue 16 item 17: visitor tokens could not be revoked. Each token carries the customer's
token_version; raising it (the service, or `manage.py widget_signout`) invalidates every token
issued before, and the widget starts over as a new visitor."""

import pytest
from channels.db import database_sync_to_async
from django.core.management import call_command

from chat.models import Customer
from widget.services import customer_get_or_create_from_token, customer_tokens_revoke
from widget.tokens import InvalidToken

pytestmark = pytest.mark.django_db(transaction=True)


async def test_a_revoked_token_is_refused_on_the_socket_and_a_new_one_works(open_widget, scripted_bot):
    widget = await open_widget()
    await widget.hello()
    await widget.say("hello")
    old_token = widget.welcome["token"]
    customer = await database_sync_to_async(Customer.objects.get)()
    await database_sync_to_async(customer_tokens_revoke)(customer=customer)

    again = await open_widget()
    await again.send(type="hello", token=old_token)
    refused = await again.receive()
    assert refused["code"] == "invalid_token"
    assert (await again.communicator.receive_output(timeout=3))["code"] == 4401


def test_tokens_issued_after_the_revocation_are_valid_and_old_ones_stay_refused(visitor):
    from widget.services import VisitorSession

    before = VisitorSession(customer=visitor, conversation=None).token
    call_command("widget_signout", str(visitor.public_id))
    visitor.refresh_from_db()
    after = VisitorSession(customer=visitor, conversation=None).token
    assert customer_get_or_create_from_token(token=after).customer == visitor
    with pytest.raises(InvalidToken, match="revoked"):
        customer_get_or_create_from_token(token=before)


def test_widget_signout_names_what_it_could_not_find():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="No visitor"):
        call_command("widget_signout", "nobody@example.com")
