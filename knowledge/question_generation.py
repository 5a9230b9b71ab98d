"""Example questions for articles that came without any (crawled pages, uploads, pasted text).

The article classifier learns only from example questions, so an article without them could never
be its answer: "do you offer gift wrapping?" went to Gift cards although the crawled Gift wrapping
page ranked first in retrieval. Generated questions are stored like typed ones, flagged
`generated`, and rebuilt whenever the article changes; an article that has typed questions keeps
only those.

Without a chat model they come from the article's structure: its title, its headings, the questions
an FAQ page already asks, and its first sentence. With one configured (nlp.llm), the model writes
them, and the structural ones are the fallback when it fails or says nothing usable.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from knowledge.prompting import chat_messages, message_text

logger = logging.getLogger(__name__)

MAX_QUESTIONS = 8
MAX_CHARS = 200
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)
_QUESTION_LINE = re.compile(r"^[\s*\-\d.)]*(?:Q:\s*)?([^\n?]{8,200}\?)", re.MULTILINE)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s")
_LIST_MARKER = re.compile(r"^\s*(?:\d+[.)]|[-*•])\s*")
LLM_PROMPT = (
    "Write {n} short, different questions a customer might type into a support chat that the help "
    "article below answers. Plain questions, one per line, no numbering, nothing else.\n\n"
    "Title: {title}\n\n{body}"
)


def questions_from_structure(*, title: str, body: str) -> list[str]:
    """Questions from the article's title, headings, FAQ questions and first sentence."""
    candidates: list[str] = []
    topic = _clean(title)
    if topic:
        lowered = topic[0].lower() + topic[1:] if not topic[:2].isupper() else topic
        candidates += [topic, f"Do you offer {lowered}?", f"How does {lowered} work?", f"Tell me about {lowered}"]
    candidates += [match.strip() for match in _QUESTION_LINE.findall(body)]
    for heading in _HEADING.findall(body):
        heading = _clean(heading)
        if heading and heading.lower() != topic.lower():
            candidates.append(heading if heading.endswith("?") else f"{heading}?")
    first = _first_sentence(body)
    if first:
        candidates.append(first)
    return _unique(candidates)


def questions_from_llm(*, title: str, body: str, chat_model: Any) -> list[str]:
    """Questions written by the chat model; empty if it fails or writes nothing usable."""
    prompt = LLM_PROMPT.format(n=5, title=title, body=body[:3000])
    try:
        text = message_text(chat_model.invoke(chat_messages([("human", prompt)])))
    except Exception:
        # A broken endpoint must not stop an import: the structural questions still go in.
        logger.exception("The chat model failed to write example questions for %r", title)
        return []
    lines = [_LIST_MARKER.sub("", line).strip().strip('"') for line in text.splitlines()]
    return _unique([line for line in lines if 3 <= len(line) <= MAX_CHARS and "<" not in line])


def questions_generate(*, title: str, body: str, chat_model: Any = None) -> list[str]:
    """The example questions to store for an article that has none of its own."""
    written = questions_from_llm(title=title, body=body, chat_model=chat_model) if chat_model is not None else []
    # The title itself stays: it is what the page is called wherever it is linked from.
    return _unique([*written, *questions_from_structure(title=title, body=body)])


def _first_sentence(body: str) -> str:
    text = _HEADING.sub("", body)
    for paragraph in text.split("\n"):
        paragraph = _clean(paragraph)
        if len(paragraph) >= 20:
            sentence = _SENTENCE_END.split(paragraph, maxsplit=1)[0]
            return sentence[:MAX_CHARS].rsplit(" ", 1)[0] if len(sentence) > MAX_CHARS else sentence
    return ""


def _clean(text: str) -> str:
    text = re.sub(r"[*_`]+", "", text)
    return re.sub(r"\s+", " ", text).strip()[:MAX_CHARS]


def _unique(questions: list[str]) -> list[str]:
    seen: set[str] = set()
    kept = []
    for question in questions:
        key = question.lower().rstrip("?. ")
        if question and key not in seen:
            seen.add(key)
            kept.append(question)
    return kept[:MAX_QUESTIONS]
