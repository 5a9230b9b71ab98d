import pytest

from chat.models import Message
from tests.factories import ConversationFactory


@pytest.fixture
def no_rules(db):
    """Start from an empty rule set (the migration installs the shipped defaults)."""
    from triggers.models import TriggerRule

    TriggerRule.objects.all().delete()


@pytest.fixture
def make_rule(no_rules):
    from triggers.models import TriggerRule
    from triggers.services import trigger_rule_save

    def make(name: str, conditions: list, **fields) -> TriggerRule:
        return trigger_rule_save(rule=TriggerRule(name=name, conditions=conditions, **fields))

    return make


@pytest.fixture
def conversation(db):
    return ConversationFactory(customer__attributes={"plan": "pro"})


@pytest.fixture
def say(conversation):
    """Store a message through chat.services, as the widget does."""
    from chat.services import message_create

    def say(text: str, *, sender: str = Message.Sender.VISITOR, to=None, **metadata) -> Message:
        message, _ = message_create(conversation=to or conversation, sender=sender, text=text, metadata=metadata)
        return message

    return say
