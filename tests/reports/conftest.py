"""Stories for the report tests: conversations, messages, handoffs, events and ratings stored with the
times a test chooses (the models stamp "now" on creation, so the builder moves them afterwards).

The rows are written directly, past the services that keep the reports' outcome inputs, so every
write ends by rebuilding its conversation's inputs from the rows (reports/facts.py, their
definition); tests/reports/test_facts.py checks that the services keep them the same way."""

import datetime as dt

import pytest
from django.utils import timezone

from chat.models import Conversation, Message
from handoff.models import Handoff, HandoffEvent, SatisfactionRating
from reports.facts import outcome_facts_rebuild
from tests.factories import AgentFactory, ConversationFactory, TeamFactory, UserFactory
from triggers.models import TriggerFiring, TriggerRule

NOW = timezone.now().replace(microsecond=0)
MIN = dt.timedelta(minutes=1)


class Story:
    """One builder per test; `at(...)` times are minutes before NOW."""

    def __init__(self) -> None:
        self.now = NOW

    def at(self, minutes_ago: float) -> dt.datetime:
        return self.now - minutes_ago * MIN

    def conversation(self, *, started=60 * 24, status=Conversation.Status.BOT, active=None, team=None):
        conversation = ConversationFactory(status=status, team=team)
        Conversation.objects.filter(pk=conversation.pk).update(
            created_at=self.at(started), last_activity_at=self.at(active if active is not None else started)
        )
        conversation.refresh_from_db()
        return conversation

    def message(self, conversation, sender=Message.Sender.BOT, *, text="Here is how.", **metadata):
        seq = conversation.messages.count() + 1
        message = Message.objects.create(
            conversation=conversation, seq=seq, sender=sender, text=text, metadata=metadata
        )
        outcome_facts_rebuild(conversation_ids=[conversation.pk])
        return message

    def say(self, conversation, text, *, at, sender=Message.Sender.VISITOR, **metadata):
        """A message `at` minutes before NOW."""
        message = self.message(conversation, sender, text=text, **metadata)
        Message.objects.filter(pk=message.pk).update(created_at=self.at(at))
        return message

    def bot_answer(self, conversation, *, declined=False, feedback=None):
        metadata = {"confidence": 0.2 if declined else 0.9, "declined": declined}
        if feedback:
            metadata["feedback"] = feedback
        return self.message(conversation, **metadata)

    def event(self, conversation, action, *, at, handoff=None):
        event = HandoffEvent.objects.create(
            conversation=conversation, handoff=handoff, action=action, from_status="bot", to_status="bot"
        )
        HandoffEvent.objects.filter(pk=event.pk).update(created_at=self.at(at))
        outcome_facts_rebuild(conversation_ids=[conversation.pk])
        return event

    def resolve(self, conversation, *, at, handoff=None):
        Conversation.objects.filter(pk=conversation.pk).update(status=Conversation.Status.RESOLVED)
        return self.event(conversation, HandoffEvent.Action.RESOLVE, at=at, handoff=handoff)

    def handoff(
        self,
        conversation,
        *,
        requested,
        assigned=None,
        replied=None,
        ended=None,
        status=Handoff.Status.RESOLVED,
        bot_before=True,
        promise=None,
        email_asked=False,
        verdict="",
        rule=None,
        source=Handoff.Source.VISITOR,
        agent=None,
        team=None,
    ):
        """Times in minutes before NOW; `promise` is (estimate, low, high) in seconds."""
        estimate, low, high = promise or (None, None, None)
        trigger = {"rule_id": rule.pk, "rule_name": rule.name} if rule else {}
        handoff = Handoff.objects.create(
            conversation=conversation,
            status=status,
            source=Handoff.Source.TRIGGER if rule else source,
            reason=rule.name if rule else "Visitor asked",
            trigger=trigger,
            team=team,
            agent=agent,
            first_assigned_at=self.at(assigned) if assigned is not None else None,
            assigned_at=self.at(assigned) if assigned is not None else None,
            first_agent_reply_at=self.at(replied) if replied is not None else None,
            ended_at=self.at(ended) if ended is not None else None,
            wait_estimate_seconds=estimate,
            wait_low_seconds=low,
            wait_high_seconds=high,
            email_asked=email_asked,
            bot_answered_before=bot_before,
            verdict=verdict,
        )
        Handoff.objects.filter(pk=handoff.pk).update(requested_at=self.at(requested))
        Conversation.objects.filter(pk=conversation.pk).update(team=team)
        if status == Handoff.Status.RESOLVED:
            self.resolve(conversation, at=ended, handoff=handoff)
        outcome_facts_rebuild(conversation_ids=[conversation.pk])
        handoff.refresh_from_db()
        return handoff

    def rating(self, conversation, score, *, handoff=None):
        rating = SatisfactionRating.objects.create(
            conversation=conversation,
            handoff=handoff,
            subject="human" if handoff else "bot",
            agent=handoff.agent if handoff else None,
            score=score,
        )
        outcome_facts_rebuild(conversation_ids=[conversation.pk])
        return rating

    def firing(self, rule, conversation, *, decided=False, at=100):
        firing = TriggerFiring.objects.create(
            rule=rule, rule_name=rule.name, conversation=conversation, matched={}, actions={}, decided_handoff=decided
        )
        TriggerFiring.objects.filter(pk=firing.pk).update(created_at=self.at(at))
        return firing

    def team(self, name):
        return TeamFactory(name=name, slug=name.lower())

    def agent(self, name, team):
        return AgentFactory(user=UserFactory(username=name.lower(), first_name=name), display_name=name, teams=[team])

    def rule(self, name):
        return TriggerRule.objects.create(name=name, conditions=[{"kind": "explicit_request"}])


@pytest.fixture
def story(db):
    return Story()
