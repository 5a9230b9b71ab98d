"""A short summary of the conversation so far, for the agent who takes it over.

Extractive: the visitor's question, what the bot answered, and why it stopped. (No chat model
writes it: the transcript would leave the process unscrubbed, and the request would wait on it.)
"""

from chat.models import Conversation, Message

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
    return summary_extractive(messages=list(conversation.messages.order_by("seq")), reason=reason)
