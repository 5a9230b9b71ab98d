"""What the visitor still needs, and the knowledge-base passages for it (the context panel's
"Suggested passages" and the "Draft from knowledge base" button).

A need is a visitor message the agent has not answered yet (written after the last agent reply;
with no reply since, the latest ones of the conversation) that says something: markup is
stripped, and greetings, thanks and messages without a word in them are skipped, so "ok thanks"
or "<br>" never replace the question the visitor is waiting on.
"""

import html
import re

from django.utils.html import strip_tags

from chat.models import Conversation, Message
from knowledge.retrieval import RetrievedPassage, retrieve
from knowledge.smalltalk import small_talk_kind

MAX_NEEDS = 3  # the newest unanswered questions; older ones have usually been dealt with
PASSAGES = 3
LOOK_BACK = 20  # visitor messages read to find the needs
_WORD = re.compile(r"[^\W\d_]{2,}")  # two letters or more, in any script


def _readable(text: str) -> str:
    return " ".join(html.unescape(strip_tags(text)).split())


def _is_need(text: str) -> bool:
    return bool(_WORD.search(text)) and small_talk_kind(text) is None


def conversation_needs(*, conversation: Conversation) -> list[str]:
    """The visitor's open needs, oldest first (at most MAX_NEEDS)."""
    last_reply = (
        conversation.messages.filter(sender=Message.Sender.AGENT).order_by("-seq").values_list("seq", flat=True).first()
    )
    asked = conversation.messages.filter(sender=Message.Sender.VISITOR).order_by("-seq")
    if last_reply is not None and asked.filter(seq__gt=last_reply).exists():
        asked = asked.filter(seq__gt=last_reply)
    needs = []
    for text in asked.values_list("text", flat=True)[:LOOK_BACK]:
        readable = _readable(text)
        if _is_need(readable) and readable not in needs:
            needs.append(readable)
        if len(needs) == MAX_NEEDS:
            break
    return list(reversed(needs))


def passages_for_needs(*, needs: list[str], limit: int = PASSAGES) -> list[RetrievedPassage]:
    """The best passages for any of the needs, one per article, best first."""
    best: dict[int, RetrievedPassage] = {}
    for need in needs:
        for passage in retrieve(query=need, limit=limit):
            if passage.article_id not in best or passage.score > best[passage.article_id].score:
                best[passage.article_id] = passage
    return sorted(best.values(), key=lambda passage: -passage.score)[:limit]
