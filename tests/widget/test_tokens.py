import uuid

import pytest
from django.core import signing

from widget.tokens import SALT, InvalidToken, token_issue, token_read


def test_a_token_round_trips_the_visitor_and_conversation():
    customer, conversation = uuid.uuid4(), uuid.uuid4()
    claims = token_read(token=token_issue(customer_public_id=customer, conversation_public_id=conversation))
    assert (claims.customer_id, claims.conversation_id) == (customer, conversation)


def test_a_token_may_name_only_the_visitor():
    customer = uuid.uuid4()
    claims = token_read(token=token_issue(customer_public_id=customer, conversation_public_id=None))
    assert (claims.customer_id, claims.conversation_id) == (customer, None)


def test_it_refuses_a_token_whose_payload_was_edited():
    token = token_issue(customer_public_id=uuid.uuid4(), conversation_public_id=uuid.uuid4())
    other = token_issue(customer_public_id=uuid.uuid4(), conversation_public_id=uuid.uuid4())
    # Someone else's payload with this token's signature.
    forged = other.split(":")[0] + token[token.index(":") :]
    with pytest.raises(InvalidToken):
        token_read(token=forged)


def test_it_refuses_a_token_with_a_flipped_signature_character():
    token = token_issue(customer_public_id=uuid.uuid4(), conversation_public_id=None)
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    with pytest.raises(InvalidToken):
        token_read(token=tampered)


def test_it_refuses_a_value_signed_for_another_purpose():
    other_purpose = signing.dumps({"cu": str(uuid.uuid4())}, salt="some.other.feature")
    with pytest.raises(InvalidToken):
        token_read(token=other_purpose)


@pytest.mark.parametrize("junk", ["", "x", "a:b:c", "." * 600, 17, None])
def test_it_refuses_junk(junk):
    with pytest.raises(InvalidToken):
        token_read(token=junk)


def test_it_refuses_an_expired_token(settings):
    settings.WIDGET_TOKEN_MAX_AGE = -1
    with pytest.raises(InvalidToken, match="expired"):
        token_read(token=token_issue(customer_public_id=uuid.uuid4(), conversation_public_id=None))


def test_the_salt_is_specific_to_the_widget():
    assert "chat" in SALT and "token" in SALT
