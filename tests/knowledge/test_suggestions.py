"""Training suggestions: what the bot learns from conversations, and what approving, rejecting and
reverting do to the knowledge base. Conversations are built through the real services: the bot's
answers come from widget.pipeline.bot_reply over the embedded demo knowledge base."""

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage

from chat.models import Message
from chat.services import message_create
from handoff.models import Handoff
from handoff.services import conversation_reopen, handoff_assign, handoff_request, handoff_resolve, rating_submit
from knowledge.answers import answer_decide
from knowledge.classifier import classifier_current, classifier_train
from knowledge.learning.generation import suggestions_generate_for_conversation
from knowledge.learning.nightly import suggestions_generate_nightly
from knowledge.learning.review import (
    SuggestionError,
    suggestion_approve,
    suggestion_edit,
    suggestion_reject,
    suggestion_revert,
)
from knowledge.models import Article, ExampleQuestion, SuggestionEvent, SuggestionEvidence, TrainingSuggestion
from knowledge.services import article_embed
from tests.factories import ConversationFactory
from widget.pipeline import bot_reply
from widget.services import message_feedback_set

Kind = TrainingSuggestion.Kind
Status = TrainingSuggestion.Status
REPO_ROOT = Path(__file__).resolve().parents[2]

ENGRAVING_ANSWER = (
    "Hi Ada, thanks for waiting! Yes, we engrave Northwind water bottles and flasks free of charge, "
    "up to 20 characters. Choose Add engraving on the product page before adding it to your basket; "
    "engraved items can't be returned. Best, Dana"
)
ENGRAVING_PARAPHRASES = [
    "Can you engrave my water bottle?",
    "Is engraving available on bottles?",
    "Do you engrave names on flasks?",
    "Can I get my name engraved on a bottle?",
]
FISHING = [
    "Do you sell fishing licences?",
    "Can I buy a fishing permit from you?",
    "Where can I get a fishing licence?",
]


# --- Conversations through the real services --------------------------------------------------------


def visitor_asks(conversation, text: str) -> tuple[Message, Message]:
    """The visitor's message and the bot's stored reply, as the widget's pipeline makes them."""
    question, _ = message_create(conversation=conversation, sender=Message.Sender.VISITOR, text=text)
    reply = bot_reply(conversation=conversation, question=question)
    assert reply is not None
    return question, reply


def agent_answers_and_resolves(conversation, agent, *replies: str, rating: int | None = None) -> Handoff:
    from inbox.services import agent_reply

    handoff = handoff_request(conversation=conversation, reason="Visitor asked for a person")
    handoff_assign(handoff=handoff, agent=agent)
    conversation.refresh_from_db()
    for text in replies:
        agent_reply(agent_user=agent.user, conversation=conversation, text=text)
    handoff_resolve(conversation=conversation, actor=agent.user)
    if rating is not None:
        rating_submit(conversation=conversation, score=rating)
    return handoff


def engraving_conversation(agent, *, question: str = "Hi, can you engrave my water bottle?", rating=None):
    conversation = ConversationFactory(customer__name="Ada Lovelace")
    _question, reply = visitor_asks(conversation, question)
    assert reply.metadata["declined"], "the demo knowledge base does not cover engraving"
    agent_answers_and_resolves(conversation, agent, ENGRAVING_ANSWER, rating=rating)
    return conversation


@pytest.fixture
def kb(demo_kb, support_team):
    """The demo help centre and a support team to hand off to."""
    return demo_kb


class RecordingChatModel:
    """A chat model that answers from a list and remembers what it was sent."""

    def __init__(self, *responses: str) -> None:
        self.responses = list(responses)
        self.calls: list[list] = []

    def invoke(self, messages):
        self.calls.append(messages)
        return AIMessage(content=self.responses.pop(0))


# --- New articles from agents' answers ---------------------------------------------------------------


@pytest.mark.django_db
def test_a_resolved_handoff_teaches_a_new_article_cleaned_of_greetings_and_names(kb, agent):
    conversation = engraving_conversation(agent, rating=5)

    report = suggestions_generate_for_conversation(conversation_id=conversation.pk)

    assert report.created == {Kind.NEW_ARTICLE: 1}
    suggestion = TrainingSuggestion.objects.get()
    assert (suggestion.kind, suggestion.status, suggestion.impact) == (Kind.NEW_ARTICLE, Status.PENDING, 1)
    assert suggestion.question == "Can you engrave my water bottle?"
    assert suggestion.title == "Can you engrave my water bottle?"
    assert suggestion.body.startswith("Yes, we engrave Northwind water bottles and flasks free of charge")
    assert "engraved items can't be returned." in suggestion.body
    for personal in ("Ada", "Dana", "Hi", "thanks for waiting", "Best"):
        assert personal not in suggestion.body
    assert suggestion.details["body_from"] == "extracted"
    assert suggestion.confidence >= 0.8  # the bot declined, the agent's answer is substantial, CSAT 5
    notes = sorted(SuggestionEvidence.objects.filter(suggestion=suggestion).values_list("message__sender", "note"))
    assert notes == [("agent", "agent answer"), ("visitor", "visitor question")]
    assert SuggestionEvent.objects.get(suggestion=suggestion).action == "create"


@pytest.mark.django_db
def test_resolving_a_conversation_generates_its_suggestions_on_commit(kb, agent, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        engraving_conversation(agent)

    assert TrainingSuggestion.objects.filter(kind=Kind.NEW_ARTICLE).count() == 1


@pytest.mark.django_db
def test_with_a_chat_model_the_answer_is_rewritten_and_only_scrubbed_text_is_sent(kb, agent):
    conversation = ConversationFactory(customer__name="Ada Lovelace")
    visitor_asks(conversation, "Can you engrave my water bottle? My order is NW-48213, email ada@example.com")
    agent_answers_and_resolves(
        conversation, agent, "Hi Ada! Yes: engraving is free on bottles, up to 20 characters. Call 0330 123 4567."
    )
    model = RecordingChatModel(
        "Engraving bottles and flasks\n\nEngraving is free on Northwind bottles and flasks, up to 20 characters."
    )

    suggestions_generate_for_conversation(conversation_id=conversation.pk, chat_model=model)

    suggestion = TrainingSuggestion.objects.get()
    assert suggestion.title == "Engraving bottles and flasks"
    assert suggestion.body == "Engraving is free on Northwind bottles and flasks, up to 20 characters."
    assert suggestion.details["body_from"] == "llm"
    sent = " ".join(str(m.content) for m in model.calls[0])
    for personal in ("NW-48213", "ada@example.com", "0330 123 4567", "Ada"):
        assert personal not in sent
    assert "[order number]" in sent and "[phone number]" in sent


@pytest.mark.django_db
def test_a_failing_chat_model_falls_back_to_the_extracted_answer(kb, agent):
    conversation = engraving_conversation(agent)

    class Broken:
        def invoke(self, messages):
            raise TimeoutError("the endpoint is down")

    suggestions_generate_for_conversation(conversation_id=conversation.pk, chat_model=Broken())

    assert TrainingSuggestion.objects.get().details["body_from"] == "extracted"


@pytest.mark.django_db
@pytest.mark.parametrize("what", ["reopened", "rated 1 of 5"])
def test_a_reopened_or_badly_rated_handoff_teaches_nothing(kb, agent, what):
    conversation = engraving_conversation(agent, rating=1 if what == "rated 1 of 5" else None)
    if what == "reopened":
        conversation_reopen(conversation=conversation)

    report = suggestions_generate_for_conversation(conversation_id=conversation.pk)

    assert sum(report.created.values()) == 0
    assert not TrainingSuggestion.objects.exists()


@pytest.fixture
def eager_bot(settings):
    """A bot that answers from a confidence of 0.1 (the default is 0.5), so that "answered, but unsure"
    (below SUGGEST_LOW_CONFIDENCE) happens with the demo's articles."""
    settings.HANDOFF_ANSWER_THRESHOLD = 0.1


@pytest.mark.django_db
def test_an_agent_answer_matching_an_existing_article_suggests_an_example_question(kb, agent, eager_bot):
    conversation = ConversationFactory()
    _question, reply = visitor_asks(conversation, "the sole came off my boots after a month")
    assert not reply.metadata["declined"] and reply.metadata["confidence"] < 0.5  # right article, unsure
    agent_answers_and_resolves(
        conversation,
        agent,
        "That's covered: all Northwind-branded gear has a 2-year warranty against manufacturing defects. "
        "Send us photos of the defect and your order number and we'll repair or replace them.",
    )

    suggestions_generate_for_conversation(conversation_id=conversation.pk)

    example = TrainingSuggestion.objects.get(kind=Kind.EXAMPLE_QUESTION)
    assert example.target_article == kb["warranty"]
    assert example.question == "The sole came off my boots after a month"
    assert example.confidence > 0.5
    # The unsure answer was followed by a handoff: its article is proposed for revision too,
    # with the agent's answer appended for the reviewer to work in.
    revision = TrainingSuggestion.objects.get(kind=Kind.ANSWER_REVISION)
    assert revision.target_article == kb["warranty"]
    assert revision.body.startswith(kb["warranty"].body)
    assert "repair or replace them" in revision.body


@pytest.mark.django_db
def test_a_paraphrase_answered_unsure_and_liked_becomes_an_example_question(kb, eager_bot):
    conversation = ConversationFactory()
    _question, reply = visitor_asks(conversation, "can i swap these for a bigger pair")
    assert reply.metadata["sources"][0]["article_id"] == kb["exchanges"].pk
    assert reply.metadata["confidence"] < 0.5
    message_feedback_set(conversation=conversation, seq=reply.seq, value="up")

    suggestions_generate_for_conversation(conversation_id=conversation.pk)

    suggestion = TrainingSuggestion.objects.get()
    assert (suggestion.kind, suggestion.target_article, suggestion.question) == (
        Kind.EXAMPLE_QUESTION,
        kb["exchanges"],
        "Can i swap these for a bigger pair",
    )
    assert suggestion.confidence >= 0.8

    suggestion_approve(suggestion=suggestion, reviewer=None)

    assert kb["exchanges"].example_questions.filter(text="Can i swap these for a bigger pair").exists()


# --- Answer revisions ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_thumbs_down_answer_suggests_revising_its_article_and_the_revision_can_be_reverted(kb, manager):
    conversation = ConversationFactory()
    _question, reply = visitor_asks(conversation, "How long does delivery take?")
    message_feedback_set(conversation=conversation, seq=reply.seq, value="down")

    suggestions_generate_nightly(since=conversation.created_at - timedelta(minutes=1))

    suggestion = TrainingSuggestion.objects.get()
    shipping = kb["shipping"]
    assert (suggestion.kind, suggestion.target_article, suggestion.title) == (
        Kind.ANSWER_REVISION,
        shipping,
        "Revise “Shipping times and costs”",
    )
    assert suggestion.body == shipping.body, "no agent answered: the draft is the article as it is"
    assert SuggestionEvidence.objects.get(suggestion=suggestion, message=reply).note == "bot answer, thumbs down"

    with pytest.raises(SuggestionError, match="edit it before approving"):
        suggestion_approve(suggestion=suggestion, reviewer=manager)

    new_body = shipping.body + " Orders placed on Saturday ship on Monday."
    suggestion_approve(suggestion=suggestion, reviewer=manager, edited_body=new_body)

    shipping.refresh_from_db()
    assert shipping.body == new_body
    suggestion.refresh_from_db()
    assert suggestion.applied_change["previous_body"] != new_body
    assert suggestion.applied_change["edited"] == ["body"]

    suggestion_revert(suggestion=suggestion, reviewer=manager)

    shipping.refresh_from_db()
    suggestion.refresh_from_db()
    assert shipping.body == suggestion.applied_change["previous_body"]
    assert (suggestion.status, suggestion.reverted_by) == (Status.REVERTED, manager)
    assert list(suggestion.events.values_list("action", "from_status", "to_status", "actor")) == [
        ("create", "", "pending", None),
        ("approve", "pending", "approved", manager.pk),
        ("revert", "approved", "reverted", manager.pk),
    ]


@pytest.mark.django_db
def test_a_revision_is_not_reverted_over_a_later_edit_of_the_article(kb, manager):
    conversation = ConversationFactory()
    _question, reply = visitor_asks(conversation, "How long does delivery take?")
    message_feedback_set(conversation=conversation, seq=reply.seq, value="down")
    suggestions_generate_for_conversation(conversation_id=conversation.pk)
    suggestion = suggestion_approve(
        suggestion=TrainingSuggestion.objects.get(), reviewer=manager, edited_body="Delivery takes 2-4 days."
    )
    Article.objects.filter(pk=kb["shipping"].pk).update(body="Edited by hand since.")

    with pytest.raises(SuggestionError, match="was edited after this change was approved"):
        suggestion_revert(suggestion=suggestion, reviewer=manager)


# --- Content gaps ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_content_gaps_cluster_unanswered_questions_with_counts_and_propose_the_largest_first(kb):
    start = ConversationFactory().created_at - timedelta(minutes=1)
    for text in [*ENGRAVING_PARAPHRASES, *FISHING, "what's the capital of Mongolia"]:
        visitor_asks(ConversationFactory(), text)

    report = suggestions_generate_nightly(since=start)

    assert report.created == {Kind.CONTENT_GAP: 2}
    engraving, fishing = TrainingSuggestion.objects.order_by("-impact")
    assert engraving.impact == 4 and fishing.impact == 3
    assert "engrav" in engraving.title.lower() and "fishing" in fishing.title.lower()
    assert engraving.details["question_count"] == 4 and engraving.details["largest"] is True
    assert sorted(engraving.details["questions"]) == sorted(ENGRAVING_PARAPHRASES)
    assert "largest" not in fishing.details
    assert engraving.body == "", "nobody answered: the reviewer writes the answer"
    with pytest.raises(SuggestionError, match="Write the article's answer"):
        suggestion_approve(suggestion=engraving, reviewer=None)


@pytest.mark.django_db
def test_an_approved_content_gap_becomes_an_article_with_every_question_and_is_not_proposed_again(kb, manager):
    start = ConversationFactory().created_at - timedelta(minutes=1)
    for text in ENGRAVING_PARAPHRASES[:3]:
        visitor_asks(ConversationFactory(), text)
    suggestions_generate_nightly(since=start)
    gap = TrainingSuggestion.objects.get(kind=Kind.CONTENT_GAP)

    gap = suggestion_approve(suggestion=gap, reviewer=manager, edited_body="Engraving is free on bottles and flasks.")

    article = Article.objects.get(pk=gap.applied_change["article_id"])
    assert sorted(article.example_questions.values_list("text", flat=True)) == sorted(ENGRAVING_PARAPHRASES[:3])
    visitor_asks(ConversationFactory(), ENGRAVING_PARAPHRASES[3])
    article_embed(article_id=article.pk)
    report = suggestions_generate_nightly(since=start)
    assert sum(report.created.values()) == 0


# --- Deduplication and idempotency ----------------------------------------------------------------


@pytest.mark.django_db
def test_a_paraphrase_of_a_pending_suggestion_adds_evidence_instead_of_a_duplicate(kb, agent):
    first = engraving_conversation(agent)
    second = engraving_conversation(agent, question="Do you engrave names on flasks?")

    suggestions_generate_for_conversation(conversation_id=first.pk)
    report = suggestions_generate_for_conversation(conversation_id=second.pk)

    assert sum(report.created.values()) == 0 and report.evidence_added == 2
    suggestion = TrainingSuggestion.objects.get()
    assert suggestion.impact == 2
    assert set(suggestion.evidence.values_list("conversation_id", flat=True)) == {first.pk, second.pk}
    assert suggestion.details["questions"] == ["Can you engrave my water bottle?", "Do you engrave names on flasks?"]


@pytest.mark.django_db
def test_generation_is_idempotent(kb, agent):
    conversation = engraving_conversation(agent)
    other = ConversationFactory()
    _q, reply = visitor_asks(other, "How long does delivery take?")
    message_feedback_set(conversation=other, seq=reply.seq, value="down")
    since = conversation.created_at - timedelta(minutes=1)
    suggestions_generate_nightly(since=since)
    counts = (TrainingSuggestion.objects.count(), SuggestionEvidence.objects.count(), SuggestionEvent.objects.count())
    assert counts[0] == 2

    again = suggestions_generate_nightly(since=since)
    suggestions_generate_for_conversation(conversation_id=conversation.pk)

    assert sum(again.created.values()) == 0 and again.evidence_added == 0
    assert (
        TrainingSuggestion.objects.count(),
        SuggestionEvidence.objects.count(),
        SuggestionEvent.objects.count(),
    ) == counts


# --- Rejection, approval, revert --------------------------------------------------------------------


@pytest.mark.django_db
def test_a_rejected_suggestion_stays_rejected_and_absorbs_exact_repeats(kb, agent, manager):
    suggestions_generate_for_conversation(conversation_id=engraving_conversation(agent).pk)
    suggestion = TrainingSuggestion.objects.get()

    suggestion_reject(suggestion=suggestion, reviewer=manager, reason="We stopped engraving in March.")

    suggestion.refresh_from_db()
    assert (suggestion.status, suggestion.reviewer, suggestion.review_reason) == (
        Status.REJECTED,
        manager,
        "We stopped engraving in March.",
    )
    assert suggestion.reviewed_at is not None
    event = suggestion.events.get(action="reject")
    assert (event.actor, event.reason) == (manager, "We stopped engraving in March.")
    assert not Article.objects.filter(title__icontains="engrave").exists()

    repeat = engraving_conversation(agent)
    suggestions_generate_for_conversation(conversation_id=repeat.pk)

    suggestion.refresh_from_db()
    assert TrainingSuggestion.objects.count() == 1
    assert (suggestion.status, suggestion.impact) == (Status.REJECTED, 2)
    with pytest.raises(SuggestionError, match="already rejected by morgan"):
        suggestion_approve(suggestion=suggestion, reviewer=manager)


@pytest.mark.django_db
def test_an_approved_article_answers_a_paraphrase_before_and_after_the_classifier_catches_up(
    kb, agent, manager, django_capture_on_commit_callbacks
):
    paraphrase = "Can I get my name engraved on a bottle?"
    assert answer_decide(question=paraphrase).declined
    suggestions_generate_for_conversation(conversation_id=engraving_conversation(agent).pk)
    suggestion = TrainingSuggestion.objects.get()

    with django_capture_on_commit_callbacks() as callbacks:
        suggestion_approve(suggestion=suggestion, reviewer=manager, edited_title="Engraving bottles and flasks")
    assert len(callbacks) == 1, "re-embedding is queued after commit"

    suggestion.refresh_from_db()
    article = Article.objects.get(pk=suggestion.applied_change["article_id"])
    assert (article.title, article.source.name, article.published) == (
        "Engraving bottles and flasks",
        "Learned from conversations",
        True,
    )
    assert list(article.example_questions.values_list("text", flat=True)) == ["Can you engrave my water bottle?"]
    assert suggestion.applied_change["edited"] == ["title"]

    # Embedded, the classifier not yet retrained: it is stale, and retrieval finds the new article.
    article_embed(article_id=article.pk)
    assert classifier_current() is None
    decision = answer_decide(question=paraphrase)
    assert (decision.article_id, decision.declined, decision.decided_by) == (article.pk, False, "retrieval")

    classifier_train()
    decision = answer_decide(question=paraphrase)
    assert (decision.article_id, decision.declined, decision.decided_by) == (article.pk, False, "classifier")


@pytest.mark.django_db
def test_approval_re_embeds_and_retrains_through_the_tasks_so_the_next_message_uses_it(
    kb, agent, manager, django_capture_on_commit_callbacks
):
    suggestions_generate_for_conversation(conversation_id=engraving_conversation(agent).pk)

    with django_capture_on_commit_callbacks(execute=True):
        suggestion = suggestion_approve(suggestion=TrainingSuggestion.objects.get(), reviewer=manager)

    conversation = ConversationFactory()
    _question, reply = visitor_asks(conversation, "Can I get my name engraved on a bottle?")
    assert not reply.metadata["declined"]
    assert reply.metadata["sources"][0]["article_id"] == suggestion.applied_change["article_id"]
    assert reply.metadata["decided_by"] == "classifier", "the classifier was retrained after embedding"


@pytest.mark.django_db
def test_reverting_an_approved_article_unpublishes_it_and_the_bot_declines_again(
    kb, agent, manager, django_capture_on_commit_callbacks
):
    suggestions_generate_for_conversation(conversation_id=engraving_conversation(agent).pk)
    with django_capture_on_commit_callbacks(execute=True):
        suggestion = suggestion_approve(suggestion=TrainingSuggestion.objects.get(), reviewer=manager)
    article_id = suggestion.applied_change["article_id"]

    with django_capture_on_commit_callbacks(execute=True):
        suggestion_revert(suggestion=suggestion, reviewer=manager)

    assert not Article.objects.get(pk=article_id).published
    assert answer_decide(question="Can I get my name engraved on a bottle?").declined
    suggestion.refresh_from_db()
    assert suggestion.status == Status.REVERTED and suggestion.reverted_at is not None
    assert suggestion.events.get(action="revert").change["unpublished"] is True
    with pytest.raises(SuggestionError, match="Only approved suggestions can be reverted"):
        suggestion_revert(suggestion=suggestion, reviewer=manager)
    # Its conversations were learned from already: generating again proposes nothing new.
    assert sum(suggestions_generate_nightly(since=suggestion.created_at - timedelta(hours=1)).created.values()) == 0


@pytest.mark.django_db
def test_reverting_an_example_question_removes_only_what_approval_added(kb, manager, eager_bot):
    conversation = ConversationFactory()
    _question, reply = visitor_asks(conversation, "can i swap these for a bigger pair")
    message_feedback_set(conversation=conversation, seq=reply.seq, value="up")
    suggestions_generate_for_conversation(conversation_id=conversation.pk)
    before = set(kb["exchanges"].example_questions.values_list("text", flat=True))
    suggestion = suggestion_approve(
        suggestion=TrainingSuggestion.objects.get(), reviewer=manager, edited_question="Can I swap for a bigger size?"
    )
    assert set(kb["exchanges"].example_questions.values_list("text", flat=True)) == before | {
        "Can I swap for a bigger size?",
        "Can i swap these for a bigger pair",
    }

    suggestion_revert(suggestion=suggestion, reviewer=manager)

    assert set(kb["exchanges"].example_questions.values_list("text", flat=True)) == before
    assert ExampleQuestion.objects.filter(pk__in=suggestion.applied_change["example_question_ids"]).count() == 0


@pytest.mark.django_db
def test_a_draft_edit_is_recorded_and_a_decided_suggestion_cannot_be_edited(kb, agent, manager):
    suggestions_generate_for_conversation(conversation_id=engraving_conversation(agent).pk)
    suggestion = TrainingSuggestion.objects.get()

    suggestion_edit(suggestion=suggestion, editor=manager, title="Engraving", body=suggestion.body)

    suggestion.refresh_from_db()
    assert suggestion.title == "Engraving"
    assert suggestion.events.get(action="edit").change == {"edited": ["title"]}
    suggestion_reject(suggestion=suggestion, reviewer=manager)
    with pytest.raises(SuggestionError, match="Can't edit"):
        suggestion_edit(suggestion=suggestion, editor=manager, title="Again")


def test_importing_the_suggestion_services_loads_no_heavy_library():
    code = (
        "import django, os, sys; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'config.settings_test'); "
        "django.setup(); import knowledge.learning.generation, knowledge.learning.review, knowledge.learning.weekly, "
        "knowledge.learning.selectors, handoff.services; "
        "heavy = {'onnxruntime', 'langchain_core', 'numpy'}; "
        "loaded = heavy & set(sys.modules); assert not loaded, loaded"
    )

    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True)

    assert result.returncode == 0, result.stderr[-2000:]
