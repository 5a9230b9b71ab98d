"""What happens after a visitor's message is stored: trigger rules, then the bot.

`handle_visitor_message` is synchronous ORM code that runs after the ack wherever
widget.answering decides (a Celery worker, or a web process's bot thread), so a slow answer never
holds up the socket; it marks the message handled when it is done with it (the answer sweep
retries the rest). While the conversation is with the bot, the trigger rules decide first and the
bot answers if none hands off; a rule that hands off on a question the bot can answer may ask
for the answer first (TriggerRule.when_answerable). While a person is waiting or chatting, the
bot stays silent.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable

from django.db import transaction

from chat import realtime, selectors, services
from chat.models import Conversation, Message
from handoff.models import Handoff
from handoff.realtime import handoff_broadcast_inbox
from handoff.selectors import handoff_open
from handoff.services import HandoffError, handoff_request
from knowledge import answers
from triggers.models import TriggerRule
from triggers.selectors import HISTORY_WINDOW
from triggers.services import (
    TriggerDecision,
    sentiment_score_enqueue,
    trigger_handoff_withheld,
    triggers_decision_apply,
    triggers_evaluate_message,
)

logger = logging.getLogger(__name__)

BOT_FAILURE_TEXT = "Sorry, I can't answer right now. You can ask to talk to a person."
# A visitor waiting for a person already asked for one: the usual decline would offer it again.
WAITING_DECLINE_TEXT = "I'm not sure about that one; the person who joins you will see your question."
# Streamed tokens are forwarded in small batches: one channel-layer round trip per token
# would cost more than the tokens are worth to the reader.
DELTA_FLUSH_SECONDS = 0.05


def handle_visitor_message(*, message: Message, conversation: Conversation | None = None) -> Message | None:
    """Decide what a stored visitor message leads to; returns the bot's stored reply, if any.

    1. Its sentiment is scored in a Celery worker (sentiment rules run there, after scoring).
    2. While a person has the conversation, the bot stays silent; the agents' lists update. While
       the visitor waits for one, the bot answers if they chose to keep chatting with it.
    3. Otherwise the trigger rules run inline; the first matching rule may hand off, before or
       after the bot answers (as the rule says; see `_answer_first`).
    4. If none does, the bot answers from the knowledge base.

    `conversation`: the message's, with its customer, read by the caller just now (not the instance the
    code that stored the message used); otherwise it is read here.
    """
    sentiment_score_enqueue(message=message)
    if conversation is None:
        # A fresh row: the caller's instance may be shared with the code that stored the message. The customer
        # with it: storing the reply checks their email (api.email_channel), which would be a query of its own.
        conversation = Conversation.objects.select_related("customer").get(pk=message.conversation_id)
    if conversation.status != Conversation.Status.BOT:
        _notify_agents(conversation)
        if _bot_while_waiting(conversation.pk):
            return bot_reply(conversation=conversation, question=message)
        services.message_mark_handled(message=message)
        return None
    decision = triggers_evaluate_message(message=message, phase="message", conversation=conversation)
    if not decision.handoff:
        triggers_decision_apply(decision=decision)
        return bot_reply(conversation=conversation, question=message, recent=decision.recent)
    if decision.when_answerable == TriggerRule.WhenAnswerable.HANDOFF:
        triggers_decision_apply(decision=decision)
        services.message_mark_handled(message=message)
        return None
    return _answer_first(conversation=conversation, question=message, decision=decision)


def _answer_first(*, conversation: Conversation, question: Message, decision: TriggerDecision) -> Message | None:
    """A rule hands off, but the question may be one the bot knows: it is never swallowed.

    The rule's own message and alerts go first; then the bot answers unless it would decline. A
    declined question hands off as the rule asked; an answered one is followed by the handoff
    ("answer, then hand off") or carries an offer of a person instead ("answer and offer").
    """
    triggers_decision_apply(decision=dataclasses.replace(decision, handoff=False))
    offer = decision.when_answerable == TriggerRule.WhenAnswerable.ANSWER_AND_OFFER
    reply = bot_reply(
        conversation=conversation, question=question, store_declines=False, offer_person=offer, recent=decision.recent
    )
    if reply is not None and offer:
        trigger_handoff_withheld(decision=decision)
    else:
        triggers_decision_apply(decision=dataclasses.replace(decision, visitor_messages=(), notify_teams=()))
    services.message_mark_handled(message=question)  # a declined question is handled by the handoff
    return reply


def _bot_while_waiting(conversation_id: int) -> bool:
    """Is the visitor waiting for a person, and chose to keep chatting with the assistant meanwhile?"""
    return Handoff.objects.filter(
        conversation_id=conversation_id, status=Handoff.Status.QUEUED, bot_while_waiting=True
    ).exists()


def _notify_agents(conversation: Conversation) -> None:
    """A new visitor message while a person is involved: unread counts in the inbox change."""
    handoff_broadcast_inbox(conversation=conversation, handoff=handoff_open(conversation=conversation))


class HandoffRequestFailed(Exception):
    """The visitor's request for a person could not be queued; the message tells them why."""


def widget_handoff_request(*, conversation: Conversation) -> Handoff | None:
    """The widget's "Talk to a person", only once the visitor has written something of their own: an
    anonymous script that opens sockets must not fill the agents' queue with empty conversations."""
    # `contains` rather than exclude(metadata__handoff_button=True), which also drops rows without the key.
    written = conversation.messages.filter(sender=Message.Sender.VISITOR).exclude(
        metadata__contains={"handoff_button": True}
    )
    if not written.exists():
        raise HandoffRequestFailed("Write your question first; then we can pass it to a person.")
    return handoff_request_from_visitor(conversation=conversation)


# The button's request, as the visitor's own words in the transcript.
PERSON_BUTTON_TEXT = "I'd like to talk to a person."


def handoff_request_from_visitor(*, conversation: Conversation) -> Handoff | None:
    """The widget's "Talk to a person" button: the same path as typing the request.

    The click is stored as the visitor's message (flagged `handoff_button`, which the rules'
    explicit_request condition reads) and runs through the same rules as "I want a human", so
    priority and team are the rule's. With no rule handing off it is queued all the same: the
    visitor asked. Asking again while waiting or chatting with a person changes nothing.
    """
    try:
        with transaction.atomic():
            # Locked until the handoff is stored, so a double click queues once and says so once.
            locked = services.conversation_lock(conversation=conversation)
            if locked.status != Conversation.Status.BOT:
                return handoff_open(conversation=conversation)
            message, _ = services.message_create(
                conversation=conversation,
                sender=Message.Sender.VISITOR,
                text=PERSON_BUTTON_TEXT,
                metadata={"handoff_button": True},
                locked=locked,  # its seq reserved from this read: no second lock
            )
            services.message_mark_handled(message=message)  # it asks for a person, not for an answer
            decision = triggers_evaluate_message(message=message, phase="message")
            triggers_decision_apply(decision=decision)
            if decision.handoff:
                return handoff_open(conversation=conversation)
            return handoff_request(conversation=conversation, reason="Visitor asked for a person", source="visitor")
    except HandoffError as exc:
        raise HandoffRequestFailed(str(exc)) from exc


def bot_reply(
    *,
    conversation: Conversation,
    question: Message,
    store_declines: bool = True,
    offer_person: bool = False,
    recent: tuple[dict, ...] | None = None,
) -> Message | None:
    """The bot's answer to `question`, stored and broadcast; None when it stayed quiet.

    store_declines=False: a declined answer is not stored (the caller hands off instead).
    offer_person: the answer carries an offer of a person (the widget shows the button).
    recent: the messages before the question as the trigger rules read them (TriggerDecision.recent).
    """
    realtime.broadcast_typing(conversation_id=conversation.pk, sender="bot", is_typing=True)
    reply = None
    try:
        text, metadata = _answer(conversation=conversation, question=question, recent=recent)
        if metadata.get("declined") and not store_declines:
            return None
        if offer_person:
            metadata["offer_person"] = True
        with transaction.atomic():
            # A person may have taken over while the bot was thinking; then the bot keeps quiet. Locked
            # once: the reply is stored under the same lock, from the row as read here.
            locked = services.conversation_lock(conversation=conversation)
            status = locked.status
            if status == Conversation.Status.QUEUED and _bot_while_waiting(conversation.pk):
                status = Conversation.Status.BOT  # the visitor chose to chat with the bot until a person joins
                metadata["while_waiting"] = True
                if metadata.get("declined"):
                    text = WAITING_DECLINE_TEXT
            # Claimed in the reply's own transaction: a second run of this work (a redelivered task,
            # the answer sweep) finds the question handled and stores no second answer.
            claimed = services.message_mark_handled(message=question)
            if claimed and status == Conversation.Status.BOT:
                reply, _ = services.message_create(
                    conversation=conversation, sender=Message.Sender.BOT, text=text, metadata=metadata, locked=locked
                )
        return reply
    finally:
        if reply is None:  # a stored reply tells every listener that the bot stopped typing
            realtime.broadcast_typing(conversation_id=conversation.pk, sender="bot", is_typing=False)


# The bot's history: the last few turns of the visitor, the bot and the agents before the question.
HISTORY_SENDERS = (Message.Sender.VISITOR, Message.Sender.BOT, Message.Sender.AGENT)
HISTORY_TURNS = 10


def _bot_history(*, conversation: Conversation, question: Message, recent: tuple[dict, ...] | None) -> list[dict]:
    """As chat.selectors.conversation_history_for_bot reads it; from the messages the trigger rules just read
    when those hold it all (the whole conversation before the question, or enough turns): a query saved."""
    if recent is not None:
        turns = [m for m in recent if m["sender"] in HISTORY_SENDERS]
        if len(recent) < HISTORY_WINDOW or len(turns) >= HISTORY_TURNS:
            return [{"sender": m["sender"], "text": m["text"]} for m in turns[-HISTORY_TURNS:]]
    return selectors.conversation_history_for_bot(
        conversation=conversation, before_seq=question.seq, limit=HISTORY_TURNS
    )


def _answer(*, conversation: Conversation, question: Message, recent: tuple[dict, ...] | None) -> tuple[str, dict]:
    history = _bot_history(conversation=conversation, question=question, recent=recent)
    on_token = _DeltaForwarder(conversation_id=conversation.pk, reply_to=question.seq)
    started = time.monotonic()
    try:
        answer = answers.answer_question(question=question.text, history=history, on_token=on_token)
    except Exception:
        # The visitor must not be left waiting on a silent bot; the error goes to the logs.
        logger.exception("The bot failed to answer message %s of conversation %s", question.seq, conversation.pk)
        return BOT_FAILURE_TEXT, {"declined": True, "error": True, "reply_to": question.seq}
    finally:
        on_token.finish()
    metadata = dict(answer.as_metadata())
    metadata.update(reply_to=question.seq, answer_ms=round((time.monotonic() - started) * 1000))
    return answer.text, metadata


class _DeltaForwarder:
    """on_token callback: batches streamed tokens into bot_delta events."""

    def __init__(self, *, conversation_id: int, reply_to: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.conversation_id = conversation_id
        self.reply_to = reply_to
        self.clock = clock
        self.pending: list[str] = []
        self.sent_any = False
        self.last_flush = clock()

    def __call__(self, token: str) -> None:
        self.pending.append(token)
        if self.clock() - self.last_flush >= DELTA_FLUSH_SECONDS:
            self.flush()

    def finish(self) -> None:
        """Send the rest of a stream; an answer that came whole (extractive) sends no delta at all,
        since the stored message with the same text follows at once."""
        if self.sent_any:
            self.flush()
        self.pending = []

    def flush(self) -> None:
        self.last_flush = self.clock()
        if not self.pending:
            return
        text, self.pending = "".join(self.pending), []
        self.sent_any = True
        event: realtime.BotDeltaEvent = {"type": "bot_delta", "reply_to": self.reply_to, "text": text}
        realtime.send_to_conversation(self.conversation_id, event)
