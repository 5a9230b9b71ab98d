"""What one conversation teaches: new articles, example questions and answer revisions.

Runs in a worker after each resolved conversation (and nightly over every recent conversation, see
knowledge.learning.nightly). Idempotent: a message is evidence once per kind (knowledge.learning.recording).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils.html import strip_tags

from chat.models import Conversation, Message
from handoff.models import Handoff, HandoffEvent
from knowledge import conf, scrub
from knowledge.answers import answer_decide
from knowledge.learning.recording import GenerationReport, Kind, Proposal, clamp, proposals_record
from knowledge.models import Article, SuggestionEvidence
from knowledge.prompting import chat_messages, message_text
from knowledge.retrieval import search
from knowledge.tasks import generate_suggestions_for_conversation as generate_suggestions_for_conversation_task
from nlp.embeddings import embed
from nlp.llm import get_chat_model

logger = logging.getLogger(__name__)

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


def suggestions_request_generation(*, conversation_id: int) -> None:
    """Generate suggestions from this conversation in a worker once the current transaction commits.

    robust: a broker hiccup must not turn an agent's successful "Resolve" into an error.
    """
    transaction.on_commit(
        lambda: generate_suggestions_for_conversation_task.delay(conversation_id),
        robust=True,
    )


def suggestions_generate_for_conversation(*, conversation_id: int, chat_model: Any = None) -> GenerationReport:
    """Learn from one conversation: new articles, example questions and answer revisions. Idempotent."""
    report = GenerationReport()
    conversation = Conversation.objects.select_related("customer").filter(pk=conversation_id).first()
    if conversation is None:
        return report
    report.conversations = 1
    facts = _ConversationFacts.load(conversation)
    proposals = _handoff_lessons(facts, chat_model) + _bot_answer_lessons(facts, chat_model)
    proposals_record(proposals=proposals, report=report)
    return report


def is_person_request(text: str) -> bool:
    """A short message asking for a person ("can I talk to someone?"), which is no question to learn."""
    return bool(_PERSON_REQUEST.search(text)) and scrub.word_count(text) <= 6


def title_from_question(question: str) -> str:
    title = question.strip().rstrip(" ?.!")
    return (title[:1].upper() + title[1:] + "?")[:300] if title else "Untitled"


@dataclass
class _ConversationFacts:
    conversation: Conversation
    messages: list[Message]
    handoffs: list[Handoff]
    reopened_at: list[datetime]
    ratings: dict[int | None, int]  # handoff id (None: bot-only) -> score
    used: set[tuple[int, str]]  # (message id, kind) already evidence of a suggestion
    names: list[str]

    @classmethod
    def load(cls, conversation: Conversation) -> _ConversationFacts:
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


# --- What agents answered after handoffs ----------------------------------------------------------


def _handoff_lessons(facts: _ConversationFacts, chat_model: Any) -> list[Proposal]:
    """What agents answered after handoffs the bot could not avoid."""
    proposals: list[Proposal] = []
    previous_end: datetime | None = None
    for handoff in facts.handoffs:
        segment_start, previous_end = previous_end, handoff.ended_at or previous_end
        if handoff.status != Handoff.Status.RESOLVED or handoff.ended_at is None:
            continue
        if any(at > handoff.ended_at for at in facts.reopened_at):
            continue  # the visitor came back: the answer did not settle it
        score = facts.ratings.get(handoff.pk)
        if score is not None and score <= conf.get("SUGGEST_NEGATIVE_CSAT"):
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
        and not is_person_request(m.text)
    ]
    if not candidates:
        return None
    low = conf.get("SUGGEST_LOW_CONFIDENCE")
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
) -> Proposal | None:
    used_kinds = {kind for message_id, kind in facts.used if message_id == question.pk}
    if used_kinds & {Kind.NEW_ARTICLE, Kind.EXAMPLE_QUESTION, Kind.CONTENT_GAP}:
        return None
    question_text = scrub.scrub_question(question.text, names=facts.names)
    answer_text = "\n\n".join(text for _message, text in answers)
    vectors = embed([question_text, answer_text[:2000]])
    evidence = [(facts.conversation.pk, question.pk, "visitor question")]
    evidence += [(facts.conversation.pk, m.pk, "agent answer") for m, _text in answers]

    matches = search(query=answer_text[:1000], vector=vectors[1], limit=3)
    match = matches[0] if matches and matches[0].score >= conf.get("SUGGEST_ANSWER_MATCH_SCORE") else None
    now = answer_decide(question=question_text)
    answered_now = not now.declined and now.confidence >= conf.get("SUGGEST_LOW_CONFIDENCE")
    if match is not None:
        if answered_now and now.article_id == match.article_id:
            return None  # the bot answers this from that article already (an earlier approval, say)
        return Proposal(
            kind=Kind.EXAMPLE_QUESTION,
            title=f"“{question_text[:200]}” → {match.title}"[:300],
            question=question_text[:500],
            target_article_id=match.article_id,
            confidence=clamp(match.score - 0.1),
            evidence=evidence,
            vector=vectors[0],
            details={"questions": [question_text], "why": "The agent's answer matches this article."},
        )
    if answered_now:
        return None  # the bot is sure of an article now; if that answer was wrong, answer_revision says so

    title, body, how = _article_from_answer(question_text, answer_text, chat_model)
    declined = bool((reply := facts.bot_reply(question)) and reply.metadata.get("declined"))
    confidence = 0.5 + 0.15 * declined + 0.15 * (csat is not None and csat >= 4) + 0.1 * (scrub.word_count(body) >= 12)
    return Proposal(
        kind=Kind.NEW_ARTICLE,
        title=title,
        question=question_text[:500],
        body=body,
        confidence=clamp(confidence),
        evidence=evidence,
        vector=vectors[0],
        details={"questions": [question_text], "body_from": how},
    )


def _article_from_answer(question: str, answer: str, chat_model: Any) -> tuple[str, str, str]:
    """(title, body, how): the chat model's rewrite when one is configured, else the cleaned answer."""
    model = chat_model if chat_model is not None else get_chat_model()
    if model is not None:
        # Only scrubbed text is sent: the chat model may be a third party's endpoint.
        text = _llm_text(model, REWRITE_PROMPT, f"Customer question: {question}\n\nAgent reply:\n{answer}")
        if text:
            first, _, rest = text.partition("\n")
            title = re.sub(r"^(?:#+\s*|title:\s*)", "", first.strip(), flags=re.I).strip(" *\"'")
            body = scrub.scrub_personal_data(rest.strip())
            if title and body:
                return title[:300], body, "llm"
    return title_from_question(question), answer, "extracted"


def _llm_text(model: Any, system: str, user: str) -> str:
    try:
        result = model.invoke(chat_messages([("system", system), ("human", user)]))
    except Exception:
        # Generation must not fail because the chat model does: the extracted text is a fine draft.
        logger.exception("The chat model failed to draft a suggestion; using the extracted answer")
        return ""
    return strip_tags(message_text(result)).strip()


# --- What the bot's own answers teach -------------------------------------------------------------


def _bot_answer_lessons(facts: _ConversationFacts, chat_model: Any) -> list[Proposal]:
    """Answers the visitor disliked (revisions) or that were right but unsure (example questions)."""
    proposals: list[Proposal] = []
    low = conf.get("SUGGEST_LOW_CONFIDENCE")
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
                Proposal(
                    kind=Kind.EXAMPLE_QUESTION,
                    title=f"“{question_text[:200]}” → {article.title}"[:300],
                    question=question_text[:500],
                    target_article_id=article.pk,
                    confidence=clamp(0.85 if thumbs == "up" else 0.65),
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


def _handoff_followed(facts: _ConversationFacts, answer: Message, bot_answers: list[Message]) -> Handoff | None:
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
    handoff: Handoff | None,
    chat_model: Any,
) -> Proposal:
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
        model = chat_model if chat_model is not None else get_chat_model()
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
    return Proposal(
        kind=Kind.ANSWER_REVISION,
        title=f"Revise “{article.title}”"[:300],
        question=question_text[:500],
        body=body,
        target_article_id=article.pk,
        confidence=clamp(0.55 if thumbs == "down" else 0.4),
        evidence=evidence,
        details={"questions": [question_text], "body_from": how, "agent_answer": agent_answer},
    )
