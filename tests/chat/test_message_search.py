"""Messages carry a full-text search vector PostgreSQL keeps up to date (the inbox's search)."""

import pytest
from django.contrib.postgres.search import SearchQuery

from chat.models import SEARCH_CONFIG, Message
from tests.factories import MessageFactory

pytestmark = pytest.mark.django_db


def test_messages_are_found_by_a_stemmed_word():
    MessageFactory(text="I would like my refunds, please")
    MessageFactory(text="Where is my parcel?")
    found = Message.objects.filter(search=SearchQuery("refund", config=SEARCH_CONFIG))
    assert [m.text for m in found] == ["I would like my refunds, please"]
