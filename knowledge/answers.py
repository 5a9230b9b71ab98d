"""What the bot says: pick the article that answers the question, and decline when unsure.

`answer_decide` is the whole decision (the `evaluate answers` command runs exactly it):
  1. embed the question; hybrid retrieval (knowledge.retrieval.search) finds candidate articles;
  2. if a classifier for the current knowledge base exists, it names the article and its calibrated
     confidence comes from scoring.probe_confidence; an article it has never seen (added since, or
     without example questions) that retrieval ranks first wins when retrieval's own calibrated
     confidence clears the threshold (or beats the classifier's);
  3. below the threshold (knowledge.policy.answer_threshold) the bot declines and offers a person.
`answer_question` then writes the reply: with a chat model configured (nlp.llm), a short
answer grounded in the chosen passages with [n] citations, streamed to `on_token`; without one,
the best passage itself. The chat model is never asked when the decision was to decline.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.utils.html import strip_tags

from knowledge import conf
from knowledge.policy import answer_threshold
from knowledge.prompting import Role, chat_messages, message_text
from knowledge.retrieval import ArticleHit, article_hit, search
from knowledge.scoring import probe_confidence, retrieval_confidence
from knowledge.smalltalk import small_talk_kind
from nlp.embeddings import text_vector
from nlp.llm import get_chat_model

logger = logging.getLogger(__name__)

DECLINE_TEXT = (
    "I'm not sure about that one, and I'd rather not guess. "
    "Would you like me to connect you with a person from our team?"
)
NOT_SURE_MARKER = "NOT_SURE"
SYSTEM_PROMPT = (
    "You are the customer support assistant of this company. Answer the customer's last message "
    "using only the numbered help-centre passages below. Cite the passages you use like [1]. "
    "Be brief (at most 4 sentences), friendly and plain text: no HTML, no Markdown headings. "
    f"If the passages do not answer the question, reply with exactly {NOT_SURE_MARKER} and nothing else."
)
# Follow-ups this short ("and to Canada?") are retried with the previous question when unsure alone.
FOLLOW_UP_MAX_WORDS = 8


@dataclass(frozen=True)
class AnswerSource:
    article_id: int
    title: str
    url: str  # article.url or "" (the widget links it when non-empty)
    score: float


@dataclass(frozen=True)
class BotAnswer:
    text: str  # plain text, may contain newlines; never HTML
    confidence: float  # calibrated 0..1
    sources: list[AnswerSource]
    declined: bool  # below threshold: the text says the bot is not sure and offers a person
    retrieval_ms: float = 0.0
    mode: str = "extractive"  # "extractive" | "llm" | "declined" | "small_talk"
    decided_by: str = ""  # "classifier" | "retrieval" | "" (empty knowledge base) | the small talk kind
    threshold: float = 0.0  # the threshold the decision was made against

    def as_metadata(self) -> dict[str, Any]:
        if self.mode == "small_talk":
            # No confidence: a "hello" says nothing about how well the bot knows its articles, and the
            # "bot struggling" rules must not count it either way.
            return {"declined": False, "mode": self.mode, "decided_by": self.decided_by, "sources": []}
        return {
            "confidence": round(self.confidence, 4),
            "sources": [
                {"article_id": s.article_id, "title": s.title, "url": s.url, "score": round(s.score, 4)}
                for s in self.sources
            ],
            "declined": self.declined,
            "retrieval_ms": round(self.retrieval_ms, 1),
            "mode": self.mode,
            "decided_by": self.decided_by,
            "threshold": self.threshold,
        }


@dataclass
class Decision:
    article_id: int | None
    confidence: float
    declined: bool
    decided_by: str
    hit: ArticleHit | None  # the chosen article, with its passages
    others: list[ArticleHit] = field(default_factory=list)  # other retrieved articles, best first
    elapsed_ms: float = 0.0
    threshold: float = 0.0


def answer_decide(*, question: str) -> Decision:
    """Which article answers `question`, how sure we are, and whether that is sure enough."""
    # The classifier needs numpy: loaded by the first answer, so importing this module stays cheap
    # (tests/knowledge/test_tasks_and_demo.py checks it).
    from knowledge.classifier import classifier_current  # noqa: PLC0415 - numpy, on first use

    started = time.perf_counter()
    threshold = answer_threshold()
    # Shared with the sentiment scorer and the trigger rules, which embedded the same message just before.
    vector = text_vector(question)[None, :]
    hits = search(query=question, vector=vector[0], limit=5) if question.strip() else []

    chosen: ArticleHit | None = None
    confidence, decided_by = 0.0, ""
    if hits:
        top = hits[0]
        # Calibrated on cosine similarities alone (bench/knowledge_calibrate.py); full text only ranks.
        runner_up = max((h.similarity for h in hits[1:]), default=0.0)
        confidence = retrieval_confidence(score=top.similarity, margin=top.similarity - runner_up)
        chosen, decided_by = top, "retrieval"

    probe = classifier_current() if question.strip() else None
    if probe is not None:
        probabilities = probe.predict_proba(vectors=vector, texts=[question])[0]
        best = int(probabilities.argmax())
        article_id = int(probe.labels[best])
        hit = next((h for h in hits if h.article_id == article_id), None) or article_hit(
            article_id=article_id, vector=vector[0]
        )
        if hit is not None:
            probe_conf = probe_confidence(probability=float(probabilities[best]), similarity=hit.question_similarity)
            known = set(probe.labels.tolist())
            # Retrieval overrules the classifier only for an article the classifier has never seen (added
            # since it was trained, or without example questions): the classifier cannot vote for it,
            # so when retrieval ranks it first and is sure enough on its own, retrieval decides.
            unseen = chosen is not None and chosen.article_id not in known
            if not unseen or (confidence < threshold and probe_conf >= confidence):
                chosen, confidence, decided_by = hit, probe_conf, "classifier"

    elapsed_ms = (time.perf_counter() - started) * 1000
    others = [h for h in hits if chosen is None or h.article_id != chosen.article_id]
    return Decision(
        article_id=chosen.article_id if chosen else None,
        confidence=confidence,
        declined=chosen is None or confidence < threshold,
        decided_by=decided_by,
        hit=chosen,
        others=others,
        elapsed_ms=elapsed_ms,
        threshold=threshold,
    )


def _reply(decision: Decision, retrieval_ms: float, *, text: str, sources: list[AnswerSource], mode: str) -> BotAnswer:
    return BotAnswer(
        text=text,
        confidence=decision.confidence,
        sources=sources,
        declined=mode == "declined",
        retrieval_ms=retrieval_ms,
        mode=mode,
        decided_by=decision.decided_by,
        threshold=decision.threshold,
    )


def _declined(decision: Decision, retrieval_ms: float) -> BotAnswer:
    """Not sure enough to answer: say so and offer a person (never guess)."""
    return _reply(decision, retrieval_ms, text=DECLINE_TEXT, sources=[], mode="declined")


def answer_question(
    *,
    question: str,
    history: list[dict] | None = None,
    on_token: Callable[[str], None] | None = None,
    chat_model: Any = None,
) -> BotAnswer:
    """The bot's reply to `question`; `chat_model` overrides the configured one (see nlp.llm)."""
    kind = small_talk_kind(question)
    if kind is not None:
        text = conf.get("SMALL_TALK_REPLIES")[kind]
        if on_token is not None:
            on_token(text)
        return BotAnswer(text=text, confidence=1.0, sources=[], declined=False, mode="small_talk", decided_by=kind)
    decision = answer_decide(question=question)
    retrieval_ms = decision.elapsed_ms
    previous = _previous_visitor_text(history, current=question)
    if decision.declined and previous and len(question.split()) <= FOLLOW_UP_MAX_WORDS:
        follow_up = answer_decide(question=f"{previous} {question}")
        retrieval_ms += follow_up.elapsed_ms
        if not follow_up.declined:
            decision = follow_up

    if decision.declined or decision.hit is None:
        return _declined(decision, retrieval_ms)

    if chat_model is None:
        chat_model = get_chat_model()
    if chat_model is not None:
        try:
            answer = _llm_answer(question, history or [], decision, chat_model, on_token, retrieval_ms)
        except Exception:
            # A slow or broken LLM endpoint must not leave the visitor without an answer.
            logger.exception("The chat model failed; answering from the knowledge base directly")
        else:
            return answer if answer is not None else _declined(decision, retrieval_ms)

    text = _extractive_text(decision.hit)
    if on_token is not None:
        on_token(text)
    return _reply(
        decision, retrieval_ms, text=text, sources=[_source(decision.hit, decision.confidence)], mode="extractive"
    )


def _llm_answer(
    question: str,
    history: list[dict],
    decision: Decision,
    chat_model: Any,
    on_token: Callable[[str], None] | None,
    retrieval_ms: float,
) -> BotAnswer | None:
    """A grounded, cited answer from the chat model; None if the model itself says it is not sure."""
    passages: list[tuple[ArticleHit, str]] = [(decision.hit, text) for _i, text, _s in decision.hit.best_passages(2)]
    # A close runner-up article may hold the other half of the answer.
    if decision.others and decision.others[0].score >= decision.hit.score - 0.05:
        passages += [(decision.others[0], text) for _i, text, _s in decision.others[0].best_passages(1)]
    if not passages:
        return None
    context = "\n\n".join(f"[{n}] {hit.title}\n{text}" for n, (hit, text) in enumerate(passages, start=1))

    turns: list[tuple[Role, str]] = [("system", f"{SYSTEM_PROMPT}\n\nPassages:\n{context}")]
    for turn in history[-6:]:
        text = str(turn.get("text", ""))
        if text:
            turns.append(("human" if turn.get("sender") == "visitor" else "ai", text))
    turns.append(("human", question))

    pieces: list[str] = []
    emitted = 0
    for chunk in chat_model.stream(chat_messages(turns)):
        piece = message_text(chunk)
        if not piece:
            continue
        pieces.append(piece)
        so_far = "".join(pieces)
        # Hold back the first characters until they can't be the NOT_SURE marker.
        if on_token is not None and not NOT_SURE_MARKER.startswith(so_far.strip()[: len(NOT_SURE_MARKER)]):
            on_token(so_far[emitted:])
            emitted = len(so_far)
    text = strip_tags("".join(pieces)).strip()
    if not text or NOT_SURE_MARKER in text:
        return None
    if on_token is not None and emitted < len("".join(pieces)):
        on_token("".join(pieces)[emitted:])

    cited = {int(n) for n in re.findall(r"\[(\d+)\]", text) if 0 < int(n) <= len(passages)}
    sources: list[AnswerSource] = []
    for n in sorted(cited) or [1]:
        hit = passages[n - 1][0]
        if all(s.article_id != hit.article_id for s in sources):
            score = decision.confidence if hit is decision.hit else hit.score
            sources.append(_source(hit, score))
    return _reply(decision, retrieval_ms, text=text, sources=sources, mode="llm")


def _extractive_text(hit: ArticleHit) -> str:
    limit = conf.get("EXTRACT_MAX_CHARS")
    passages = hit.best_passages(2)
    text = _plain(passages[0][1]) if passages else ""
    # A short best passage ("Within 30 days.") reads better with its neighbour.
    if len(passages) > 1 and len(text) < limit // 3:
        text = f"{text}\n\n{_plain(passages[1][1])}"
    text = _trim(text, limit)
    return (
        f"{text}\n\n(From our help article “{hit.title}”.)" if text else f"Our help article “{hit.title}” covers this."
    )


def _plain(text: str) -> str:
    text = strip_tags(text)
    text = re.sub(r"^#{1,6}\s*", "", text, flags=re.MULTILINE)
    text = re.sub(r"(\*\*|__)(.+?)\1", r"\2", text)
    return text.strip()


def _trim(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit]
    end = max(cut.rfind(". "), cut.rfind("\n"), cut.rfind("? "), cut.rfind("! "))
    return (cut[: end + 1] if end > limit // 2 else cut.rsplit(" ", 1)[0] + " …").strip()


def _source(hit: ArticleHit, score: float) -> AnswerSource:
    return AnswerSource(article_id=hit.article_id, title=hit.title, url=hit.url, score=float(score))


def _previous_visitor_text(history: list[dict] | None, *, current: str) -> str:
    for turn in reversed(history or []):
        text = str(turn.get("text", "")).strip()
        # Callers may or may not include the current question as the last turn.
        if turn.get("sender") == "visitor" and text and text != current.strip():
            return text
    return ""
