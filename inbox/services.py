"""The inbox's writes: an agent's reply to the visitor, internal notes, read markers."""

import re

from django.db import transaction

from agents.models import Agent, ConversationRead, InternalNote
from agents.selectors import agent_for_user
from agents.services import AgentError
from chat.models import Conversation, Message
from chat.realtime import conversation_sends_first, inbox_conversation_group, note_added_event, send_to_group
from chat.selectors import message_with_client_id
from chat.services import message_create
from handoff.access import conversation_access_denial
from handoff.services import handoff_first_reply_record, handoff_reply_claim

MAX_REPLY_CHARS = 4000
CLIENT_ID_RE = re.compile(r"[A-Za-z0-9_-]{0,64}")  # like the widget's: empty means "no retry protection"


def _refuse_unstorable(text: str) -> None:
    """PostgreSQL cannot store NUL, and a lone surrogate (an API client can send one) has no UTF-8."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        pass
    else:
        if "\x00" not in text:
            return
    raise AgentError("The text contains characters that cannot be stored (a NUL or an unpaired surrogate).")


def agent_reply(*, agent_user, conversation: Conversation, text: str, client_id: str = "") -> Message:
    """An agent's message to the visitor (only while the conversation is with a person).

    The agent must own the conversation: replying to a waiting one accepts it, one that another
    agent holds is refused (handoff_reply_claim). A `client_id` already used in the conversation
    returns the stored message (a retried send: the inbox gives each draft one, so a send whose
    answer was lost is stored once).
    """
    if not CLIENT_ID_RE.fullmatch(client_id):
        raise AgentError("This reply's id is not valid; reload the page and send it again.")
    if client_id and (existing := message_with_client_id(conversation_id=conversation.pk, client_id=client_id)):
        if existing.sender != Message.Sender.AGENT:
            raise AgentError("This reply's id is already taken; reload the page and send it again.")
        return existing  # a retry of a send that was stored: it went out, whatever changed since
    text = text.strip()
    if not text:
        raise AgentError("Write a reply first.")
    _refuse_unstorable(text)
    if len(text) > MAX_REPLY_CHARS:
        raise AgentError("Replies are limited to 4,000 characters.")
    # Once committed the visitor hears first, before the follow-ups (chat.realtime.conversation_sends_first).
    with transaction.atomic(), conversation_sends_first(conversation.pk):
        # agent_for_user: the inbox's views have looked the agent up already (no query then).
        handoff, locked = handoff_reply_claim(
            conversation=conversation, agent=agent_for_user(agent_user), actor=agent_user
        )
        message, created = message_create(
            conversation=conversation,
            sender=Message.Sender.AGENT,
            text=text,
            author=agent_user,
            client_id=client_id,
            locked=locked,
        )
        if created and handoff.first_agent_reply_at is None:  # read under the lock: only the first reply
            handoff_first_reply_record(conversation=conversation, message=message)
    return message


def note_add(*, author, conversation: Conversation, text: str) -> InternalNote:
    """An internal note: stored and shown to agents in the transcript, never sent to the visitor."""
    text = text.strip()
    if not text:
        raise AgentError("Write the note first.")
    _refuse_unstorable(text)
    with transaction.atomic():
        # Locked, so the team checked is the team the note is left under (a transfer waits for us).
        Conversation.objects.select_for_update().filter(pk=conversation.pk).first()
        if denial := conversation_access_denial(user=author, conversation=conversation):
            raise AgentError(denial)
        note = InternalNote.objects.create(conversation=conversation, author=author, text=text[:4000])
        # Agents' conversation views listen on their own group: the visitor's group never sees notes.
        send_to_group(inbox_conversation_group(conversation.pk), note_added_event(note_id=note.pk))
    return note


def conversation_mark_read(*, agent: Agent, conversation: Conversation) -> None:
    ConversationRead.objects.update_or_create(
        agent=agent, conversation=conversation, defaults={"last_read_seq": conversation.last_seq}
    )
