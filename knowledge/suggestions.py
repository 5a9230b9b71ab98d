"""Human in the loop: training suggestions learned from conversations, and the reviewer's decisions.

Generation (after each resolved conversation, and nightly) reads what happened and proposes:
  - new_article: an agent answered, after a handoff, a question the bot could not (the handoff was
    resolved, not reopened, and not rated badly): the visitor's question becomes the example
    question and the agent's answer the body (rewritten by the chat model when one is configured,
    otherwise cleaned of greetings and personal data by knowledge.scrub);
  - example_question: the agent's answer matches an existing article, or the bot answered the
    question unsure and the visitor liked it (thumbs up, good rating): the phrasing is added to it;
  - content_gap: clusters of questions the bot declined or was unsure about over a period, that no
    person answered, with their counts: a proposed article for a reviewer to write;
  - answer_revision: a bot answer that got a thumbs down, or after which the visitor asked for a
    person: the article it came from needs work.
A proposal that repeats a pending suggestion (same key, or a paraphrase by embedding similarity)
adds its messages as evidence instead; a message is used as evidence once per kind, so running
generation again changes nothing. Generation is serialised by an advisory lock: it is rare and
cheap next to a reviewer reading two similar suggestions.

Reviewing (knowledge/admin.py calls these): approve (optionally edited), reject, revert. Approval
writes through knowledge.services and queues embedding on commit; until the embedding and the
classifier catch up, answer_decide sees a changed knowledge fingerprint, ignores the stale
classifier and answers from hybrid retrieval, which already finds the new article once embedded.
"""

from __future__ import annotations

import hashlib
import logging
import math
import random
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from chat.models import Conversation, Message
from knowledge import scrub
from knowledge.models import (
    Article,
    ExampleQuestion,
    Source,
    SuggestionEvent,
    SuggestionEvidence,
    TrainingSuggestion,
    WeeklyReviewItem,
)

if TYPE_CHECKING:
    import numpy as np

logger = logging.getLogger(__name__)

Kind = TrainingSuggestion.Kind
Status = TrainingSuggestion.Status


def _setting(name: str, default: Any) -> Any:
    return getattr(settings, f"HANDOFF_SUGGEST_{name}", default)


# Tunables (each overridable as a HANDOFF_SUGGEST_<NAME> setting). Cosine similarities are of
# all-MiniLM-L6-v2 vectors: paraphrases of one question score 0.6-0.8, different questions of the
# same shop up to ~0.6 ("reset my password" / "delete my account" is 0.58).
DEFAULTS: dict[str, Any] = {
    # An answer with a calibrated confidence below this was a guess, even when above the threshold.
    "LOW_CONFIDENCE": 0.5,
    # Hybrid retrieval score of an agent's answer against an article above which it *is* that article.
    "ANSWER_MATCH_SCORE": 0.7,
    # A new question this close to a pending suggestion's question is the same suggestion.
    "DEDUPE_SIMILARITY": 0.72,
    # ... or at least this close when the two answers are this close too (the same answer, reworded).
    "DEDUPE_LOOSE_SIMILARITY": 0.55,
    "DEDUPE_ANSWER_SIMILARITY": 0.8,
    # Example questions are all paraphrases of one article; only near-identical ones are merged.
    "EXAMPLE_DEDUPE_SIMILARITY": 0.9,
    # A question joins a content-gap cluster when this close to the cluster's centroid.
    "GAP_SIMILARITY": 0.6,
    "GAP_MIN_CONVERSATIONS": 3,
    # CSAT at or below this is negative: the agent's answer is not a lesson worth keeping.
    "NEGATIVE_CSAT": 2,
    # Nightly generation looks this far back (idempotent, so overlapping runs are harmless).
    "NIGHTLY_LOOKBACK_DAYS": 7,
}


def tunable(name: str) -> Any:
    return _setting(name, DEFAULTS[name])


LEARNED_SOURCE_NAME = "Learned from conversations"
GAP_MAX_QUESTIONS = 4000
MAX_QUESTIONS = 20
# "Talk to a person" typed as a message is the request for a handoff, not the question.
_PERSON_REQUEST = re.compile(r"\b(human|person|agent|someone|somebody|representative|operator|staff)\b", re.I)

REWRITE_PROMPT = (
    "You write the help centre of an online shop. Rewrite the support agent's chat reply below as a "
    "short, neutral help-centre answer to the customer's question. Keep every fact and instruction; "
    "drop greetings, thanks, apologies, names and anything about this one customer (emails, phone "
    "numbers, order numbers). Plain text, at most 5 sentences. Reply with a short title on the first "
    "line, a blank line, then the answer."
)
REVISE_PROMPT = (
    "You maintain the help centre of an online shop. A customer was not helped by the article below. "
    "Revise the article so it answers their question, using the support agent's reply for the facts. "
    "Keep what is still right; no greetings, names or personal data. Plain text. Reply with the revised "
    "article body only."
)


class SuggestionError(Exception):
    """A review action that cannot happen now; the message tells the reviewer why."""


@dataclass
class GenerationReport:
    conversations: int = 0
    created: Counter = field(default_factory=Counter)
    evidence_added: int = 0

    def merge(self, other: GenerationReport) -> None:
        self.conversations += other.conversations
        self.created.update(other.created)
        self.evidence_added += other.evidence_added

    def as_dict(self) -> dict[str, Any]:
        return {
            "conversations": self.conversations,
            "created": {kind: self.created.get(kind, 0) for kind in Kind.values},
            "evidence_added": self.evidence_added,
        }


@dataclass
class _Proposal:
    kind: str
    title: str
    question: str
    evidence: list[tuple[int, int, str]]  # (conversation id, message id, note)
    confidence: float
    body: str = ""
    target_article_id: int | None = None
    details: dict[str, Any] = field(default_factory=dict)
    vector: Any = None  # the question's embedding (numpy row), for dedupe by similarity


# --- Generation -----------------------------------------------------------------------------------


def suggestions_request_generation(*, conversation_id: int) -> None:
    """Generate suggestions from this conversation in a worker once the current transaction commits.

    robust: a broker hiccup must not turn an agent's successful "Resolve" into an error.
    """
    from knowledge import tasks

    transaction.on_commit(lambda: tasks.generate_suggestions_for_conversation.delay(conversation_id), robust=True)


def suggestions_generate_for_conversation(*, conversation_id: int, chat_model: Any = None) -> GenerationReport:
    """Learn from one conversation: new articles, example questions and answer revisions. Idempotent."""
    report = GenerationReport()
    conversation = Conversation.objects.select_related("customer").filter(pk=conversation_id).first()
    if conversation is None:
        return report
    report.conversations = 1
    facts = _ConversationFacts.load(conversation)
    proposals = _handoff_lessons(facts, chat_model) + _bot_answer_lessons(facts, chat_model)
    _record_all(proposals, report)
    return report


def suggestions_generate_nightly(
    *, since: datetime, until: datetime | None = None, chat_model: Any = None
) -> GenerationReport:
    """Every conversation with bot or agent messages in the period, then content gaps over it."""
    until = until or timezone.now()
    report = GenerationReport()
    conversation_ids = (
        Message.objects.filter(
            created_at__gte=since, created_at__lt=until, sender__in=[Message.Sender.BOT, Message.Sender.AGENT]
        )
        .order_by()
        .values_list("conversation_id", flat=True)
        .distinct()
    )
    for conversation_id in sorted(conversation_ids):
        report.merge(suggestions_generate_for_conversation(conversation_id=conversation_id, chat_model=chat_model))
    _record_all(_content_gap_proposals(since=since, until=until), report)
    logger.info("Training suggestions since %s: %s", since, report.as_dict())
    return report


@dataclass
class _ConversationFacts:
    conversation: Conversation
    messages: list[Message]
    handoffs: list[Any]
    reopened_at: list[datetime]
    ratings: dict[int | None, int]  # handoff id (None: bot-only) -> score
    used: set[tuple[int, str]]  # (message id, kind) already evidence of a suggestion
    names: list[str]

    @classmethod
    def load(cls, conversation: Conversation) -> _ConversationFacts:
        from handoff.models import HandoffEvent

        messages = list(conversation.messages.select_related("author__agent").order_by("seq"))
        handoffs = list(conversation.handoffs.select_related("agent__user").order_by("requested_at"))
        reopened_at = list(
            conversation.handoff_events.filter(action=HandoffEvent.Action.REOPEN).values_list("created_at", flat=True)
        )
        ratings = dict(conversation.ratings.values_list("handoff_id", "score"))
        used = set(
            SuggestionEvidence.objects.filter(conversation=conversation).values_list("message_id", "suggestion__kind")
        )
        names = [conversation.customer.name]
        for message in messages:
            if message.author is not None:
                # Not the username: "support" or "manager" would scrub those words from every answer.
                names += [message.author.first_name, message.author.last_name]
                agent = getattr(message.author, "agent", None)
                if agent is not None:
                    names.append(agent.display_name)
        for handoff in handoffs:
            if handoff.agent is not None:
                names.append(handoff.agent.public_name)
        return cls(conversation, messages, handoffs, reopened_at, ratings, used, [n for n in names if n])

    def reply_to(self, bot_message: Message) -> Message | None:
        seq = bot_message.metadata.get("reply_to")
        return next((m for m in self.messages if m.seq == seq and m.sender == Message.Sender.VISITOR), None)

    def bot_reply(self, visitor_message: Message) -> Message | None:
        return next(
            (
                m
                for m in self.messages
                if m.sender == Message.Sender.BOT and m.metadata.get("reply_to") == visitor_message.seq
            ),
            None,
        )


def _handoff_lessons(facts: _ConversationFacts, chat_model: Any) -> list[_Proposal]:
    """What agents answered after handoffs the bot could not avoid."""
    from handoff.models import Handoff

    proposals: list[_Proposal] = []
    previous_end: datetime | None = None
    for handoff in facts.handoffs:
        segment_start, previous_end = previous_end, handoff.ended_at or previous_end
        if handoff.status != Handoff.Status.RESOLVED or handoff.ended_at is None:
            continue
        if any(at > handoff.ended_at for at in facts.reopened_at):
            continue  # the visitor came back: the answer did not settle it
        score = facts.ratings.get(handoff.pk)
        if score is not None and score <= tunable("NEGATIVE_CSAT"):
            continue
        agent_messages = [
            m
            for m in facts.messages
            if m.sender == Message.Sender.AGENT and handoff.requested_at <= m.created_at <= handoff.ended_at
        ]
        if not agent_messages:
            continue
        question = _question_before(facts, first_answer=agent_messages[0], since=segment_start)
        if question is None:
            continue
        answer_messages = [
            (m, text)
            for m in agent_messages
            if m.seq > question.seq and scrub.word_count(text := scrub.scrub_answer(m.text, names=facts.names)) >= 4
        ]
        if not answer_messages:
            continue
        proposal = _lesson_from_answer(
            facts, question=question, answers=answer_messages, csat=score, chat_model=chat_model
        )
        if proposal is not None:
            proposals.append(proposal)
    return proposals


def _question_before(facts: _ConversationFacts, *, first_answer: Message, since: datetime | None) -> Message | None:
    """The visitor's question the agent answered: the one the bot declined, else was unsure of, else the last."""
    candidates = [
        m
        for m in facts.messages
        if m.sender == Message.Sender.VISITOR
        and m.seq < first_answer.seq
        and (since is None or m.created_at > since)
        and scrub.word_count(m.text) >= 3
        and not (_PERSON_REQUEST.search(m.text) and scrub.word_count(m.text) <= 6)
    ]
    if not candidates:
        return None
    low = tunable("LOW_CONFIDENCE")
    for wanted in ("declined", "unsure"):
        for message in reversed(candidates):
            reply = facts.bot_reply(message)
            if reply is None:
                continue
            declined = bool(reply.metadata.get("declined"))
            if (wanted == "declined" and declined) or (
                wanted == "unsure" and not declined and float(reply.metadata.get("confidence", 1)) < low
            ):
                return message
    return candidates[-1]


def _lesson_from_answer(
    facts: _ConversationFacts,
    *,
    question: Message,
    answers: list[tuple[Message, str]],
    csat: int | None,
    chat_model: Any,
) -> _Proposal | None:
    from knowledge.answers import answer_decide
    from knowledge.retrieval import search
    from nlp.embeddings import embed

    used_kinds = {kind for message_id, kind in facts.used if message_id == question.pk}
    if used_kinds & {Kind.NEW_ARTICLE, Kind.EXAMPLE_QUESTION, Kind.CONTENT_GAP}:
        return None
    question_text = scrub.scrub_question(question.text, names=facts.names)
    answer_text = "\n\n".join(text for _message, text in answers)
    vectors = embed([question_text, answer_text[:2000]])
    evidence = [(facts.conversation.pk, question.pk, "visitor question")]
    evidence += [(facts.conversation.pk, m.pk, "agent answer") for m, _text in answers]

    matches = search(query=answer_text[:1000], vector=vectors[1], limit=3)
    match = matches[0] if matches and matches[0].score >= tunable("ANSWER_MATCH_SCORE") else None
    now = answer_decide(question=question_text)
    answered_now = not now.declined and now.confidence >= tunable("LOW_CONFIDENCE")
    if match is not None:
        if answered_now and now.article_id == match.article_id:
            return None  # the bot answers this from that article already (an earlier approval, say)
        return _Proposal(
            kind=Kind.EXAMPLE_QUESTION,
            title=f"“{question_text[:200]}” → {match.title}"[:300],
            question=question_text[:500],
            target_article_id=match.article_id,
            confidence=_clamp(match.score - 0.1),
            evidence=evidence,
            vector=vectors[0],
            details={"questions": [question_text], "why": "The agent's answer matches this article."},
        )
    if answered_now:
        return None  # the bot is sure of an article now; if that answer was wrong, answer_revision says so

    title, body, how = _article_from_answer(question_text, answer_text, chat_model)
    declined = bool((reply := facts.bot_reply(question)) and reply.metadata.get("declined"))
    confidence = 0.5 + 0.15 * declined + 0.15 * (csat is not None and csat >= 4) + 0.1 * (scrub.word_count(body) >= 12)
    return _Proposal(
        kind=Kind.NEW_ARTICLE,
        title=title,
        question=question_text[:500],
        body=body,
        confidence=_clamp(confidence),
        evidence=evidence,
        vector=vectors[0],
        details={"questions": [question_text], "body_from": how},
    )


def _article_from_answer(question: str, answer: str, chat_model: Any) -> tuple[str, str, str]:
    """(title, body, how): the chat model's rewrite when one is configured, else the cleaned answer."""
    model = _chat_model(chat_model)
    if model is not None:
        # Only scrubbed text is sent: the chat model may be a third party's endpoint.
        text = _llm_text(model, REWRITE_PROMPT, f"Customer question: {question}\n\nAgent reply:\n{answer}")
        if text:
            first, _, rest = text.partition("\n")
            title = re.sub(r"^(?:#+\s*|title:\s*)", "", first.strip(), flags=re.I).strip(" *\"'")
            body = scrub.scrub_personal_data(rest.strip())
            if title and body:
                return title[:300], body, "llm"
    return _title_from_question(question), answer, "extracted"


def _title_from_question(question: str) -> str:
    title = question.strip().rstrip(" ?.!")
    return (title[:1].upper() + title[1:] + "?")[:300] if title else "Untitled"


def _chat_model(chat_model: Any) -> Any:
    if chat_model is not None:
        return chat_model
    from nlp.llm import get_chat_model

    return get_chat_model()


def _llm_text(model: Any, system: str, user: str) -> str:
    from django.utils.html import strip_tags
    from langchain_core.messages import HumanMessage, SystemMessage

    try:
        result = model.invoke([SystemMessage(content=system), HumanMessage(content=user)])
    except Exception:
        # Generation must not fail because the chat model does: the extracted text is a fine draft.
        logger.exception("The chat model failed to draft a suggestion; using the extracted answer")
        return ""
    content = result.content if isinstance(result.content, str) else "".join(map(str, result.content))
    return strip_tags(content).strip()


def _bot_answer_lessons(facts: _ConversationFacts, chat_model: Any) -> list[_Proposal]:
    """Answers the visitor disliked (revisions) or that were right but unsure (example questions)."""
    proposals: list[_Proposal] = []
    low = tunable("LOW_CONFIDENCE")
    bot_answers = [
        m
        for m in facts.messages
        if m.sender == Message.Sender.BOT
        and not m.metadata.get("declined")
        and not m.metadata.get("error")
        and m.metadata.get("sources")
    ]
    article_ids = {int(m.metadata["sources"][0]["article_id"]) for m in bot_answers}
    articles = Article.objects.in_bulk(article_ids)
    for answer in bot_answers:
        article = articles.get(int(answer.metadata["sources"][0]["article_id"]))
        question = facts.reply_to(answer)
        if article is None or question is None:
            continue
        thumbs = answer.metadata.get("feedback")
        handoff_after = _handoff_followed(facts, answer, bot_answers)
        if thumbs == "down" or handoff_after is not None:
            if (answer.pk, Kind.ANSWER_REVISION) in facts.used:
                continue
            proposals.append(_revision(facts, article, answer, question, thumbs, handoff_after, chat_model))
        elif float(answer.metadata.get("confidence", 1)) < low:
            # Unsure alone is no evidence the article was right (often it is a near miss, which the
            # content-gap clustering is for); the visitor's thumbs up or a good rating of the bot is.
            liked = thumbs == "up" or (facts.ratings.get(None) or 0) >= 4
            if not liked or (question.pk, Kind.EXAMPLE_QUESTION) in facts.used:
                continue
            question_text = scrub.scrub_question(question.text, names=facts.names)
            known = {scrub.normalise(t) for t in article.example_questions.values_list("text", flat=True)}
            if scrub.word_count(question_text) < 3 or scrub.normalise(question_text) in known:
                continue
            proposals.append(
                _Proposal(
                    kind=Kind.EXAMPLE_QUESTION,
                    title=f"“{question_text[:200]}” → {article.title}"[:300],
                    question=question_text[:500],
                    target_article_id=article.pk,
                    confidence=_clamp(0.85 if thumbs == "up" else 0.65),
                    evidence=[
                        (facts.conversation.pk, question.pk, "visitor question"),
                        (
                            facts.conversation.pk,
                            answer.pk,
                            "unsure answer, " + ("thumbs up" if thumbs == "up" else "rated well"),
                        ),
                    ],
                    details={
                        "questions": [question_text],
                        "why": f"The bot answered from this article with confidence {answer.metadata['confidence']}.",
                    },
                )
            )
    return proposals


def _handoff_followed(facts: _ConversationFacts, answer: Message, bot_answers: list[Message]) -> Any:
    """The handoff asked for after `answer`, if `answer` was the bot's last answer before it."""
    for handoff in facts.handoffs:
        if handoff.requested_at <= answer.created_at:
            continue
        later = [m for m in bot_answers if answer.created_at < m.created_at < handoff.requested_at]
        return None if later else handoff
    return None


def _revision(
    facts: _ConversationFacts,
    article: Article,
    answer: Message,
    question: Message,
    thumbs: str | None,
    handoff: Any,
    chat_model: Any,
) -> _Proposal:
    question_text = scrub.scrub_question(question.text, names=facts.names)
    why = "thumbs down" if thumbs == "down" else "then a handoff"
    agent_answer = ""
    if handoff is not None:
        agent_answer = "\n\n".join(
            text
            for m in facts.messages
            if m.sender == Message.Sender.AGENT
            and m.created_at >= handoff.requested_at
            and (handoff.ended_at is None or m.created_at <= handoff.ended_at)
            and scrub.word_count(text := scrub.scrub_answer(m.text, names=facts.names)) >= 4
        )
    body, how = article.body, "current article"
    if agent_answer:
        model = _chat_model(chat_model)
        revised = (
            _llm_text(
                model,
                REVISE_PROMPT,
                f"Article “{article.title}”:\n{article.body}\n\nCustomer question: {question_text}\n\n"
                f"Agent reply:\n{agent_answer}",
            )
            if model is not None
            else ""
        )
        if revised:
            body, how = scrub.scrub_personal_data(revised), "llm"
        else:
            body, how = f"{article.body.rstrip()}\n\n{agent_answer}", "current article + agent answer"
    evidence = [
        (facts.conversation.pk, question.pk, "visitor question"),
        (facts.conversation.pk, answer.pk, f"bot answer, {why}"),
    ]
    return _Proposal(
        kind=Kind.ANSWER_REVISION,
        title=f"Revise “{article.title}”"[:300],
        question=question_text[:500],
        body=body,
        target_article_id=article.pk,
        confidence=_clamp(0.55 if thumbs == "down" else 0.4),
        evidence=evidence,
        details={"questions": [question_text], "body_from": how, "agent_answer": agent_answer},
    )


def _content_gap_proposals(*, since: datetime, until: datetime) -> list[_Proposal]:
    """Clusters of questions the bot declined or was unsure about, that no suggestion covers yet."""
    import numpy as np

    from knowledge.answers import answer_decide
    from nlp.embeddings import embed

    low = tunable("LOW_CONFIDENCE")
    weak_answers = (
        Message.objects.filter(created_at__gte=since, created_at__lt=until, sender=Message.Sender.BOT)
        .filter(metadata__has_key="reply_to")
        .filter(Q(metadata__declined=True) | Q(metadata__confidence__lt=low))
        .exclude(metadata__has_key="error")  # outages, not gaps (and a NULL-safe test, unlike error=True)
        .values_list("conversation_id", "metadata__reply_to")
    )
    wanted = {(conversation_id, int(seq)) for conversation_id, seq in weak_answers if seq is not None}
    if not wanted:
        return []
    used = set(
        SuggestionEvidence.objects.filter(
            conversation_id__in={c for c, _s in wanted},
            suggestion__kind__in=[Kind.NEW_ARTICLE, Kind.EXAMPLE_QUESTION, Kind.CONTENT_GAP],
        ).values_list("message_id", flat=True)
    )
    questions: list[tuple[Message, str]] = []
    rows = (
        Message.objects.filter(conversation_id__in={c for c, _s in wanted}, sender=Message.Sender.VISITOR)
        .select_related("conversation__customer")
        .order_by("-id")
    )
    for message in rows:
        if (message.conversation_id, message.seq) not in wanted or message.pk in used:
            continue
        if _PERSON_REQUEST.search(message.text) and scrub.word_count(message.text) <= 6:
            continue
        text = scrub.scrub_question(message.text, names=[message.conversation.customer.name])
        if scrub.word_count(text) >= 3:
            questions.append((message, text))
        if len(questions) >= GAP_MAX_QUESTIONS:
            break  # the newest ones; the similarity matrix is quadratic
    if not questions:
        return []

    vectors = embed([text for _m, text in questions])
    proposals: list[_Proposal] = []
    clusters = _cluster(vectors, threshold=tunable("GAP_SIMILARITY"))
    for members in clusters:
        conversations = {questions[i][0].conversation_id for i in members}
        if len(conversations) < tunable("GAP_MIN_CONVERSATIONS"):
            continue
        centroid = vectors[members].mean(axis=0)
        centroid /= max(float(np.linalg.norm(centroid)), 1e-12)
        central = max(members, key=lambda i: float(vectors[i] @ centroid))
        title_question = questions[central][1]
        decision = answer_decide(question=title_question)
        if not decision.declined and decision.confidence >= tunable("LOW_CONFIDENCE"):
            continue  # answered now (an article was approved since)
        by_closeness = sorted(members, key=lambda i: -float(vectors[i] @ centroid))
        texts = list(dict.fromkeys(questions[i][1] for i in by_closeness))
        proposals.append(
            _Proposal(
                kind=Kind.CONTENT_GAP,
                title=_title_from_question(title_question),
                question=title_question[:500],
                confidence=_clamp(min(0.9, 0.3 + 0.1 * len(conversations))),
                evidence=[
                    (questions[i][0].conversation_id, questions[i][0].pk, "unanswered question") for i in by_closeness
                ],
                vector=vectors[central],
                details={
                    "questions": texts[:MAX_QUESTIONS],
                    "question_count": len(members),
                    "conversation_count": len(conversations),
                    "period": [since.isoformat(), until.isoformat()],
                    "why": "Visitors asked this and nobody answered: write the article's answer, then approve.",
                    # A near miss rather than a gap when this is the right article: reject, and add
                    # the questions to it instead.
                    "nearest_article": (
                        {
                            "id": decision.article_id,
                            "title": decision.hit.title,
                            "confidence": round(decision.confidence, 2),
                        }
                        if decision.hit is not None
                        else None
                    ),
                },
            )
        )
    if proposals:
        max(proposals, key=lambda p: p.details["question_count"]).details["largest"] = True
    return proposals


def _cluster(vectors: np.ndarray, *, threshold: float) -> list[list[int]]:
    """Taylor-Butina clustering of unit vectors: biggest clusters first, deterministic.

    The question with the most neighbours (cosine >= threshold) seeds a cluster of itself and its
    unclaimed neighbours, then the next densest unclaimed one, and so on. Unlike greedy clustering
    in arrival order, the result does not depend on the order of the questions, which idempotent
    generation relies on. Quadratic in memory: callers cap the number of questions.
    """
    import numpy as np

    if len(vectors) == 0:
        return []
    similar = (vectors @ vectors.T) >= threshold
    density = similar.sum(axis=1)
    claimed = np.zeros(len(vectors), dtype=bool)
    clusters: list[list[int]] = []
    for seed in sorted(range(len(vectors)), key=lambda i: (-int(density[i]), i)):
        if claimed[seed]:
            continue
        members = np.flatnonzero(similar[seed] & ~claimed).tolist()
        claimed[members] = True
        clusters.append(sorted(members, key=lambda i: (i != seed, i)))
    return sorted(clusters, key=lambda m: (-len(m), m[0]))


# --- Recording proposals: dedupe, evidence, impact ----------------------------------------------------


def _record_all(proposals: Sequence[_Proposal], report: GenerationReport) -> None:
    for proposal in proposals:
        if proposal.vector is None and proposal.question:
            from nlp.embeddings import embed

            proposal.vector = embed([proposal.question])[0]
        _suggestion, created, added = _record(proposal)
        if created:
            report.created[proposal.kind] += 1
        else:
            report.evidence_added += added


def _dedupe_key(kind: str, *, target_article_id: int | None, question: str) -> str:
    if kind == Kind.ANSWER_REVISION:
        raw = f"{kind}|{target_article_id}"  # one pending revision per article gathers every complaint
    else:
        raw = f"{kind}|{target_article_id or ''}|{scrub.normalise(question)}"
    return hashlib.sha256(raw.encode()).hexdigest()


def _record(proposal: _Proposal) -> tuple[TrainingSuggestion, bool, int]:
    """Store `proposal` as a new suggestion, or as evidence of the pending one it repeats."""
    key = _dedupe_key(proposal.kind, target_article_id=proposal.target_article_id, question=proposal.question)
    with transaction.atomic():
        # One generator at a time: similarity dedupe reads then writes, which the unique
        # constraint on dedupe_key alone cannot protect (paraphrases have different keys).
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext('knowledge.training_suggestions'))")
        existing = _matching_suggestion(proposal, key)
        if existing is not None:
            return existing, False, _add_evidence(existing, proposal)
        suggestion = TrainingSuggestion.objects.create(
            kind=proposal.kind,
            title=proposal.title[:300],
            question=proposal.question[:500],
            body=proposal.body,
            target_article_id=proposal.target_article_id,
            confidence=_clamp(proposal.confidence),
            dedupe_key=key,
            question_embedding=_as_list(proposal.vector),
            details=proposal.details,
        )
        SuggestionEvent.objects.create(
            suggestion=suggestion,
            action=SuggestionEvent.Action.CREATE,
            to_status=Status.PENDING,
            change={"evidence": len(proposal.evidence)},
        )
        _add_evidence(suggestion, proposal, fresh=True)
    return suggestion, True, 0


def _matching_suggestion(proposal: _Proposal, key: str) -> TrainingSuggestion | None:
    from pgvector.django import CosineDistance

    same_key = TrainingSuggestion.objects.filter(dedupe_key=key)
    # A rejected suggestion absorbs exact repeats (the reviewer said no to this); it does not
    # absorb paraphrases, which may deserve a second look.
    existing = same_key.filter(status=Status.PENDING).first() or same_key.filter(status=Status.REJECTED).first()
    if existing is not None or proposal.vector is None:
        return existing
    if proposal.kind == Kind.EXAMPLE_QUESTION:
        candidates = TrainingSuggestion.objects.filter(kind=proposal.kind, target_article_id=proposal.target_article_id)
        threshold = tunable("EXAMPLE_DEDUPE_SIMILARITY")
    elif proposal.kind in (Kind.NEW_ARTICLE, Kind.CONTENT_GAP):
        # A gap that repeats a pending new article (or the reverse) is one topic.
        candidates = TrainingSuggestion.objects.filter(kind__in=[Kind.NEW_ARTICLE, Kind.CONTENT_GAP])
        threshold = tunable("DEDUPE_SIMILARITY")
    else:
        return None
    nearest = list(
        candidates.filter(status=Status.PENDING, question_embedding__isnull=False)
        .annotate(distance=CosineDistance("question_embedding", _as_list(proposal.vector)))
        .order_by("distance")[:5]
    )
    if nearest and 1.0 - float(nearest[0].distance) >= threshold:
        return nearest[0]
    if proposal.kind == Kind.NEW_ARTICLE and proposal.body:
        # Paraphrases often score 0.6-0.7 ("Can you engrave my water bottle?" / "Do you engrave names
        # on flasks?"), as do different questions; two agents giving the same answer settles it.
        loose = [s for s in nearest if s.body and 1.0 - float(s.distance) >= tunable("DEDUPE_LOOSE_SIMILARITY")]
        if loose:
            from nlp.embeddings import embed

            vectors = embed([proposal.body[:2000]] + [s.body[:2000] for s in loose])
            for suggestion, vector in zip(loose, vectors[1:], strict=True):
                if float(vectors[0] @ vector) >= tunable("DEDUPE_ANSWER_SIMILARITY"):
                    return suggestion
    return None


def _add_evidence(suggestion: TrainingSuggestion, proposal: _Proposal, *, fresh: bool = False) -> int:
    """Link the proposal's messages to `suggestion`; returns how many were new. Recomputes impact."""
    before = 0 if fresh else suggestion.evidence.count()
    SuggestionEvidence.objects.bulk_create(
        [
            SuggestionEvidence(suggestion=suggestion, conversation_id=c, message_id=m, note=note[:200])
            for c, m, note in proposal.evidence
        ],
        ignore_conflicts=True,  # the same message twice is the idempotent re-run, not an error
    )
    added = suggestion.evidence.count() - before
    if not added and not fresh:
        return 0
    suggestion = TrainingSuggestion.objects.select_for_update().get(pk=suggestion.pk)
    details = dict(suggestion.details)
    questions = list(details.get("questions", []))
    for text in proposal.details.get("questions", []):
        if scrub.normalise(text) not in {scrub.normalise(q) for q in questions} and len(questions) < MAX_QUESTIONS:
            questions.append(text)
    details["questions"] = questions
    if not suggestion.body and proposal.body and suggestion.status == Status.PENDING:
        # A content gap that an agent has now answered gets the answer as its draft.
        suggestion.body = proposal.body
        details["body_from"] = proposal.details.get("body_from", "")
    if proposal.kind == Kind.CONTENT_GAP and suggestion.kind == Kind.CONTENT_GAP:
        details.update({k: proposal.details[k] for k in ("question_count", "conversation_count", "period")})
    suggestion.details = details
    suggestion.confidence = _clamp(max(suggestion.confidence, proposal.confidence))
    suggestion.impact = suggestion.evidence.order_by().values("conversation_id").distinct().count()
    suggestion.save(update_fields=["details", "body", "confidence", "impact", "updated_at"])
    return added


# --- Review -------------------------------------------------------------------------------------


def suggestion_edit(
    *,
    suggestion: TrainingSuggestion,
    editor,
    title: str | None = None,
    body: str | None = None,
    question: str | None = None,
    questions: Sequence[str] | None = None,
) -> TrainingSuggestion:
    """Save a reviewer's edits of a pending suggestion (a draft, without deciding)."""
    with transaction.atomic():
        suggestion = _lock_pending(suggestion, "edit")
        changed = _apply_edits(suggestion, title=title, body=body, question=question, questions=questions)
        if changed:
            suggestion.save(update_fields=["title", "body", "question", "details", "updated_at"])
            _event(suggestion, SuggestionEvent.Action.EDIT, Status.PENDING, actor=editor, change={"edited": changed})
    return suggestion


def suggestion_approve(
    *,
    suggestion: TrainingSuggestion,
    reviewer,
    edited_title: str | None = None,
    edited_body: str | None = None,
    edited_question: str | None = None,
    edited_questions: Sequence[str] | None = None,
) -> TrainingSuggestion:
    """Apply the suggestion to the knowledge base (edited first if given) and queue its re-embedding.

    `edited_questions` replaces the example questions to add (the first becomes the question);
    `edited_question` replaces only the first.

    The bot uses the change from the next message on: embedding runs on commit (Celery), and
    until the classifier is retrained the changed fingerprint makes answer_decide use retrieval.
    """
    from knowledge.services import article_request_embedding, article_upsert

    with transaction.atomic():
        suggestion = _lock_pending(suggestion, "approve")
        edited = _apply_edits(
            suggestion, title=edited_title, body=edited_body, question=edited_question, questions=edited_questions
        )
        _validate_for_approval(suggestion)
        questions = _questions_of(suggestion)
        if suggestion.kind in (Kind.NEW_ARTICLE, Kind.CONTENT_GAP):
            source, _ = Source.objects.get_or_create(name=LEARNED_SOURCE_NAME, defaults={"kind": Source.Kind.MANUAL})
            article, _outcome = article_upsert(
                source=source,
                external_key=f"suggestion-{suggestion.pk}",
                title=suggestion.title,
                body=suggestion.body,
                tags=["learned"],
                questions=questions,
            )
            change = {
                "article_id": article.pk,
                "created_article": True,
                "example_question_ids": list(article.example_questions.values_list("pk", flat=True)),
            }
        elif suggestion.kind == Kind.EXAMPLE_QUESTION:
            article = Article.objects.select_for_update().get(pk=suggestion.target_article_id)
            known = {scrub.normalise(t) for t in article.example_questions.values_list("text", flat=True)}
            new = [q for q in questions if scrub.normalise(q) not in known]
            if not new:
                raise SuggestionError(f"“{article.title}” already has this example question; reject the suggestion.")
            created = [ExampleQuestion.objects.create(article=article, text=q[:500]) for q in new]
            change = {"article_id": article.pk, "example_question_ids": [q.pk for q in created]}
        else:
            article = Article.objects.select_for_update().get(pk=suggestion.target_article_id)
            # A revision changes the body only: the suggestion's title names the task, not the article.
            change = {"article_id": article.pk, "previous_body": article.body}
            article.body = suggestion.body
            article.save(update_fields=["body", "updated_at"])
            change["body"] = article.body
        change["edited"] = edited
        article_request_embedding(article=article)
        suggestion.status = Status.APPROVED
        suggestion.reviewer, suggestion.reviewed_at = reviewer, timezone.now()
        suggestion.applied_change = change
        suggestion.save(
            update_fields=[
                "title", "body", "question", "details", "status", "reviewer", "reviewed_at", "applied_change",
                "updated_at",
            ]
        )  # fmt: skip
        _event(suggestion, SuggestionEvent.Action.APPROVE, Status.PENDING, actor=reviewer, change=change)
    return suggestion


def suggestion_reject(*, suggestion: TrainingSuggestion, reviewer, reason: str = "") -> TrainingSuggestion:
    """Decline the suggestion; it stays rejected, and exact repeats are added to it rather than resurfacing."""
    with transaction.atomic():
        suggestion = _lock_pending(suggestion, "reject")
        suggestion.status = Status.REJECTED
        suggestion.reviewer, suggestion.reviewed_at = reviewer, timezone.now()
        suggestion.review_reason = reason.strip()[:2000]
        suggestion.save(update_fields=["status", "reviewer", "reviewed_at", "review_reason", "updated_at"])
        _event(suggestion, SuggestionEvent.Action.REJECT, Status.PENDING, actor=reviewer, reason=reason.strip())
    return suggestion


def suggestion_revert(*, suggestion: TrainingSuggestion, reviewer) -> TrainingSuggestion:
    """Undo an approved change: unpublish the created article, remove the added example questions,
    or restore the article's previous text. The bot stops using it after the next re-embedding."""
    from knowledge.services import article_request_embedding, articles_set_published

    with transaction.atomic():
        suggestion = TrainingSuggestion.objects.select_for_update().get(pk=suggestion.pk)
        if suggestion.status != Status.APPROVED:
            raise SuggestionError(f"Only approved suggestions can be reverted; this one is {suggestion.status}.")
        applied = suggestion.applied_change
        article = Article.objects.select_for_update().filter(pk=applied.get("article_id")).first()
        undone: dict[str, Any] = {"article_id": applied.get("article_id")}
        if article is None:
            undone["note"] = "The article had been deleted already."
        elif suggestion.kind in (Kind.NEW_ARTICLE, Kind.CONTENT_GAP):
            articles_set_published(article_ids=[article.pk], published=False)
            undone["unpublished"] = True
        elif suggestion.kind == Kind.EXAMPLE_QUESTION:
            deleted, _ = ExampleQuestion.objects.filter(pk__in=applied.get("example_question_ids", [])).delete()
            undone["example_questions_removed"] = deleted
            article_request_embedding(article=article)
        else:
            if article.body != applied.get("body"):
                raise SuggestionError(
                    f"“{article.title}” was edited after this change was approved; "
                    "edit the article itself to change it back."
                )
            article.body = applied["previous_body"]
            article.save(update_fields=["body", "updated_at"])
            undone["restored"] = True
            article_request_embedding(article=article)
        suggestion.status = Status.REVERTED
        suggestion.reverted_by, suggestion.reverted_at = reviewer, timezone.now()
        suggestion.save(update_fields=["status", "reverted_by", "reverted_at", "updated_at"])
        _event(suggestion, SuggestionEvent.Action.REVERT, Status.APPROVED, actor=reviewer, change=undone)
    return suggestion


def _lock_pending(suggestion: TrainingSuggestion, what: str) -> TrainingSuggestion:
    # Two reviewers on one suggestion: the second waits here and then sees the first's decision.
    locked = TrainingSuggestion.objects.select_for_update().get(pk=suggestion.pk)
    if locked.status != Status.PENDING:
        who = f" by {locked.reviewer}" if locked.reviewer else ""
        raise SuggestionError(f"Can't {what} “{locked.title}”: it was already {locked.status}{who}.")
    return locked


def _apply_edits(suggestion: TrainingSuggestion, *, title=None, body=None, question=None, questions=None) -> list[str]:
    changed = []
    if questions is not None:
        cleaned = list(dict.fromkeys(q.strip()[:500] for q in questions if q and q.strip()))
        if cleaned and cleaned != _questions_of(suggestion):
            suggestion.details = {**suggestion.details, "questions": cleaned}
            changed.append("questions")
            question = cleaned[0]
    for name, value, limit in (("title", title, 300), ("body", body, None), ("question", question, 500)):
        if value is None:
            continue
        value = value.replace("\r\n", "\n").strip()
        value = value[:limit] if limit else value
        if value != getattr(suggestion, name):
            setattr(suggestion, name, value)
            changed.append(name)
    return changed


def _validate_for_approval(suggestion: TrainingSuggestion) -> None:
    if not suggestion.title.strip():
        raise SuggestionError("Give the suggestion a title before approving it.")
    if suggestion.kind in (Kind.NEW_ARTICLE, Kind.CONTENT_GAP, Kind.ANSWER_REVISION) and not suggestion.body.strip():
        raise SuggestionError("Write the article's answer in the body before approving.")
    if suggestion.kind == Kind.EXAMPLE_QUESTION and not suggestion.question.strip():
        raise SuggestionError("The example question is empty; write one or reject the suggestion.")
    targeted = suggestion.kind in (Kind.EXAMPLE_QUESTION, Kind.ANSWER_REVISION)
    if targeted and not Article.objects.filter(pk=suggestion.target_article_id).exists():
        raise SuggestionError("The article this suggestion is for was deleted; reject the suggestion.")
    if suggestion.kind == Kind.ANSWER_REVISION:
        article = Article.objects.get(pk=suggestion.target_article_id)
        if article.body.strip() == suggestion.body.strip():
            raise SuggestionError("The proposed body is the article as it is; edit it before approving, or reject.")


def suggestion_questions(*, suggestion: TrainingSuggestion) -> list[str]:
    """The example questions approving would add: the suggestion's question, then gathered paraphrases."""
    return _questions_of(suggestion)


def _questions_of(suggestion: TrainingSuggestion) -> list[str]:
    """The suggestion's question first, then the paraphrases gathered from its evidence."""
    texts = [suggestion.question, *suggestion.details.get("questions", [])]
    seen: set[str] = set()
    result = []
    for text in texts:
        key = scrub.normalise(text or "")
        if key and key not in seen:
            seen.add(key)
            result.append(text.strip()[:500])
    return result[:MAX_QUESTIONS]


def _event(suggestion, action: str, from_status: str, *, actor=None, reason: str = "", change=None) -> None:
    SuggestionEvent.objects.create(
        suggestion=suggestion,
        action=action,
        from_status=from_status,
        to_status=suggestion.status,
        actor=actor,
        reason=reason,
        change=change or {},
    )


# --- The weekly review ----------------------------------------------------------------------------


def week_start_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def weekly_review_sample(*, week_start: date, size: int = 30) -> list[WeeklyReviewItem]:
    """A stratified sample of the week's bot conversations for a reviewer (about a minute each).

    Equal shares of handed-off, low-CSAT, thumbs-down and other conversations, each conversation in
    its most telling stratum; a short stratum's share goes to the others. Idempotent: items already
    sampled for the week stay (with their verdicts) and count towards `size`.
    """
    from handoff.models import Handoff, SatisfactionRating

    week_start = week_start_of(week_start)
    start = timezone.make_aware(datetime.combine(week_start, time.min))
    end = start + timedelta(days=7)
    with transaction.atomic():
        existing = list(WeeklyReviewItem.objects.select_for_update().filter(week_start=week_start))
        taken = {item.conversation_id for item in existing}
        room = size - len(existing)
        if room > 0:
            ids = (
                set(
                    Message.objects.filter(sender=Message.Sender.BOT, created_at__gte=start, created_at__lt=end)
                    .order_by()
                    .values_list("conversation_id", flat=True)
                    .distinct()
                )
                - taken
            )
            low_csat = set(
                SatisfactionRating.objects.filter(
                    conversation_id__in=ids, score__lte=tunable("NEGATIVE_CSAT")
                ).values_list("conversation_id", flat=True)
            )
            thumbs_down = set(
                Message.objects.filter(
                    conversation_id__in=ids, sender=Message.Sender.BOT, metadata__feedback="down"
                ).values_list("conversation_id", flat=True)
            )
            handed_off = set(Handoff.objects.filter(conversation_id__in=ids).values_list("conversation_id", flat=True))
            strata: dict[str, list[int]] = {s: [] for s in WeeklyReviewItem.Stratum.values}
            for conversation_id in sorted(ids):
                if conversation_id in low_csat:
                    stratum = WeeklyReviewItem.Stratum.LOW_CSAT
                elif conversation_id in thumbs_down:
                    stratum = WeeklyReviewItem.Stratum.NEGATIVE_FEEDBACK
                elif conversation_id in handed_off:
                    stratum = WeeklyReviewItem.Stratum.HANDED_OFF
                else:
                    stratum = WeeklyReviewItem.Stratum.RANDOM
                strata[stratum].append(conversation_id)
            rng = random.Random(week_start.toordinal())  # the same week samples the same way
            for members in strata.values():
                rng.shuffle(members)
            have = Counter(item.stratum for item in existing)
            share = math.ceil(size / len(strata))
            picked: list[tuple[int, str]] = []
            for stratum, members in strata.items():
                quota = max(0, min(share - have[stratum], room - len(picked)))
                picked += [(c, stratum) for c in members[:quota]]
                del members[:quota]
            leftovers = [(c, s) for s, members in strata.items() for c in members]
            rng.shuffle(leftovers)
            picked += leftovers[: max(0, room - len(picked))]
            WeeklyReviewItem.objects.bulk_create(
                [WeeklyReviewItem(week_start=week_start, conversation_id=c, stratum=s) for c, s in picked],
                ignore_conflicts=True,
            )
    return list(WeeklyReviewItem.objects.filter(week_start=week_start).order_by("id"))


def weekly_review_mark(*, item: WeeklyReviewItem, reviewer, verdict: str, note: str = "") -> WeeklyReviewItem:
    """Record the reviewer's verdict ("on_brand", "needs_work", or "" to clear it) and note."""
    if verdict not in ("", *WeeklyReviewItem.Verdict.values):
        raise SuggestionError("Choose “On brand” or “Needs work”.")
    with transaction.atomic():
        item = WeeklyReviewItem.objects.select_for_update().get(pk=item.pk)
        item.verdict, item.note = verdict, note.strip()[:4000]
        item.reviewer = reviewer if verdict or item.note else None
        item.reviewed_at = timezone.now() if verdict else None
        item.save(update_fields=["verdict", "note", "reviewer", "reviewed_at"])
    return item


# --- helpers --------------------------------------------------------------------------------------


def _clamp(value: float) -> float:
    return round(min(1.0, max(0.0, float(value))), 4)


def _as_list(vector: Any) -> list[float] | None:
    if vector is None:
        return None
    return [float(x) for x in (vector.tolist() if hasattr(vector, "tolist") else vector)]
