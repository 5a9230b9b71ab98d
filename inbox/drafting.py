"""A reply drafted from the knowledge base for the agent to edit: never sent by itself.

Without a chat model the draft is extractive: a greeting, the first sentences of the best passage
for each open need (inbox.suggestions) and where to read more. With one (nlp.llm, the same
setting as the bot's), the model writes it from those passages only; the visitor's words are
scrubbed of personal data before they leave the process, and a model that fails or answers
nothing falls back to the extractive draft.
"""

import logging
import re
from dataclasses import dataclass

from django.utils.html import strip_tags

from agents.models import Agent
from agents.services import AgentError
from chat.models import Conversation
from inbox.suggestions import conversation_needs, passages_for_needs
from knowledge.prompting import chat_messages, message_text
from knowledge.retrieval import RetrievedPassage
from knowledge.scrub import scrub_personal_data
from nlp.llm import get_chat_model

logger = logging.getLogger(__name__)

SENTENCES_PER_PASSAGE = 2
PASSAGES_USED = 2
MAX_DRAFT_CHARS = 1500
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")

SYSTEM_PROMPT = (
    "You draft a reply for a customer-support agent, who will edit it before sending. Answer the "
    "customer's questions using only the numbered passages; if they do not answer something, say the "
    "agent will check. Be brief and friendly, plain text, no markdown, no sign-off."
)


@dataclass(frozen=True)
class Draft:
    text: str
    mode: str  # "extractive" or "llm"
    sources: list[RetrievedPassage]


def _first_sentences(text: str, count: int) -> str:
    return " ".join(_SENTENCE_END.split(" ".join(strip_tags(text).split()))[:count])


def _greeting(conversation: Conversation) -> str:
    name = conversation.customer.name.split()[0] if conversation.customer.name.strip() else ""
    return f"Hi {name}," if name else "Hi,"


def _extractive(conversation: Conversation, passages: list[RetrievedPassage]) -> str:
    parts = [_greeting(conversation)]
    for passage in passages[:PASSAGES_USED]:
        parts.append(_first_sentences(passage.text, SENTENCES_PER_PASSAGE))
    more = [p for p in passages[:PASSAGES_USED] if p.url]
    if more:
        parts.append("You can read more here: " + ", ".join(f"{p.title} ({p.url})" for p in more))
    return "\n\n".join(parts)


def _with_model(chat_model, conversation: Conversation, needs: list[str], passages: list[RetrievedPassage]) -> str:
    context = "\n\n".join(f"[{n}] {p.title}\n{p.text}" for n, p in enumerate(passages, start=1))
    names = [conversation.customer.name] if conversation.customer.name else []
    asked = "\n".join(scrub_personal_data(need, names=names) for need in needs)
    reply = chat_model.invoke(chat_messages([("system", f"{SYSTEM_PROMPT}\n\nPassages:\n{context}"), ("human", asked)]))
    body = strip_tags(message_text(reply)).strip()
    return f"{_greeting(conversation)}\n\n{body}" if body else ""


def reply_draft(*, conversation: Conversation, agent: Agent | None, chat_model=None) -> Draft:
    """A draft for what the visitor still needs; raises AgentError when the knowledge base has nothing."""
    needs = conversation_needs(conversation=conversation)
    if not needs:
        raise AgentError("The visitor has not asked anything yet: there is nothing to draft from.")
    passages = passages_for_needs(needs=needs)
    if not passages:
        raise AgentError("Nothing in the knowledge base matches what the visitor asked; this one needs your words.")
    model = chat_model if chat_model is not None else get_chat_model()
    if model is not None:
        try:
            text = _with_model(model, conversation, needs, passages)
            if text:
                return Draft(text[:MAX_DRAFT_CHARS], "llm", passages)
        except Exception:  # a model outage must not take the agent's button away: draft without it
            logger.exception("drafting with the chat model failed for conversation %s", conversation.pk)
    return Draft(_extractive(conversation, passages)[:MAX_DRAFT_CHARS], "extractive", passages)
