"""A short summary of the conversation so far, for the agent who takes it over.

With an LLM configured it writes three sentences; without one (the default) the summary is
extractive: the visitor's question, what the bot answered, and why it stopped.
"""

import logging

from chat.models import Conversation, Message

logger = logging.getLogger(__name__)

MAX_QUOTE = 300


def _quote(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_QUOTE else text[: MAX_QUOTE - 1] + "…"


def summary_extractive(*, messages: list[Message], reason: str) -> str:
    visitor = [m for m in messages if m.sender == Message.Sender.VISITOR]
    bot = [m for m in messages if m.sender == Message.Sender.BOT]
    lines = []
    if visitor:
        lines.append(f"Visitor asked: “{_quote(visitor[0].text)}”")
        if len(visitor) > 1:
            lines.append(f"Latest from the visitor: “{_quote(visitor[-1].text)}”")
    if bot:
        confidence = bot[-1].metadata.get("confidence")
        suffix = f" (confidence {confidence:.0%})" if isinstance(confidence, int | float) else ""
        lines.append(f"Bot answered{suffix}: “{_quote(bot[-1].text)}”")
    else:
        lines.append("The bot had not answered yet.")
    lines.append(f"Handed off because: {reason}")
    return "\n".join(lines)


def summary_for_handoff(*, conversation: Conversation, reason: str) -> str:
    messages = list(conversation.messages.order_by("seq"))
    extractive = summary_extractive(messages=messages, reason=reason)
    try:
        from nlp.llm import summarize_for_agent
    except ImportError:
        return extractive
    try:
        return summarize_for_agent(transcript=messages, reason=reason) or extractive
    except Exception:  # the agent still gets the extractive summary if the LLM fails
        logger.exception("LLM summary failed for conversation %s", conversation.pk)
        return extractive
