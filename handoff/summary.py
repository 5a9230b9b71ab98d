"""A short summary of the conversation so far, for the agent who takes it over.

Extractive: each thing the visitor asked, in order, with what the bot answered to it (matched by the
answer's `reply_to`, never by position) and how sure it was, then why it was handed off: the rule
that fired and what it saw. (No chat model writes it: the transcript would leave the process
unscrubbed, and the request would wait on it.)
"""

from chat.models import Conversation, Message

MAX_QUOTE = 200
MAX_NEEDS = 8  # the latest ones; the agent has the whole transcript beside the summary
# Keys of a condition's evidence (triggers' firing details) that are about the rule, not what it saw.
_NOT_EVIDENCE = {"kind", "signal", "via", "match", "matched", "negated"}


def _quote(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_QUOTE else text[: MAX_QUOTE - 1] + "…"


def _answer_line(answer: Message | None) -> str:
    if answer is None:
        return "not answered"
    confidence = answer.metadata.get("confidence")
    sure = f" (confidence {confidence:.0%})" if isinstance(confidence, int | float) else ""
    verb = "bot declined" if answer.metadata.get("declined") else "bot answered"
    return f"{verb}{sure}: “{_quote(answer.text)}”"


def summary_needs(messages: list[Message]) -> list[str]:
    """One line per visitor message: what they asked and what the bot replied to that message."""
    answers = {
        m.metadata.get("reply_to"): m for m in messages if m.sender == Message.Sender.BOT and m.metadata.get("reply_to")
    }
    lines = []
    for message in messages:
        if message.sender != Message.Sender.VISITOR:
            continue
        if message.metadata.get("handoff_button"):
            lines.append("(pressed “Talk to a person”)")
            continue
        lines.append(f"“{_quote(message.text)}” → {_answer_line(answers.get(message.seq))}")
    shown = lines[-MAX_NEEDS:]
    earlier = len(lines) - len(shown)
    numbered = [f"{n}. {line}" for n, line in enumerate(shown, start=earlier + 1)]
    return (
        [f"({earlier} earlier message{'s' if earlier != 1 else ''} in the transcript)"] if earlier else []
    ) + numbered


def _evidence(details: dict) -> list[str]:
    """What each matched condition saw, readably: "bot negative_feedback: count 2"."""
    if details.get("kind") == "group":
        return [line for inner in details.get("matched", []) for line in _evidence(inner)]
    label = " ".join(str(details[key]) for key in ("kind", "signal", "via") if details.get(key))
    seen = ", ".join(f"{key} {value}" for key, value in details.items() if key not in _NOT_EVIDENCE)
    return [f"{label}: {seen}" if seen else label]


def summary_reason(*, reason: str, trigger: dict | None) -> str:
    """Why: the reason, and for a trigger the rule by name with what it matched."""
    trigger = trigger or {}
    if not trigger.get("rule_name"):
        return f"Handed off because: {reason}"
    evidence = "; ".join(_evidence(trigger.get("matched") or {}))
    return f"Handed off because: {reason} (rule “{trigger['rule_name']}”{': ' + evidence if evidence else ''})"


def summary_extractive(*, messages: list[Message], reason: str, trigger: dict | None = None) -> str:
    needs = summary_needs(messages)
    lines = ["The visitor asked:", *needs] if needs else ["The visitor has not written yet."]
    lines.append(summary_reason(reason=reason, trigger=trigger))
    return "\n".join(lines)


def summary_for_handoff(*, conversation: Conversation, reason: str, trigger: dict | None = None) -> str:
    return summary_extractive(messages=list(conversation.messages.order_by("seq")), reason=reason, trigger=trigger)
