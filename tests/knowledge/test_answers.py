import json

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel, GenericFakeChatModel

from knowledge import conf
from knowledge.answers import DECLINE_TEXT, answer_decide, answer_question
from knowledge.models import ArticleClassifier


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("question", "slug"),
    [
        ("How long will shipping take to Leeds?", "shipping"),
        ("i forgot my password", "password-reset"),
        ("can i send back boots i don't like", "returns"),
        ("do you accept paypal", "payment-methods"),
        ("is there a shop in Bristol", "store-locations"),
    ],
)
def test_in_scope_questions_are_answered_confidently_from_the_right_article(demo_kb, question, slug):
    decision = answer_decide(question=question)

    assert decision.article_id == demo_kb[slug].pk
    assert not decision.declined
    assert decision.confidence >= conf.ANSWER_THRESHOLD
    assert decision.decided_by == "classifier"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "question",
    [
        "what's the capital of Mongolia",
        "write me a poem about pancakes",
        "asdf qwerty zxcv",
        "who won the football last night",
    ],
)
def test_out_of_scope_questions_get_low_confidence_and_are_declined(demo_kb, question):
    answer = answer_question(question=question)

    assert answer.declined
    assert answer.confidence < conf.ANSWER_THRESHOLD
    assert answer.text == DECLINE_TEXT
    assert "person" in answer.text
    assert answer.sources == []


@pytest.mark.django_db
def test_extractive_answer_quotes_the_best_passage_and_cites_its_article(demo_kb):
    tokens = []

    answer = answer_question(question="How long do I have to return something?", on_token=tokens.append)

    assert not answer.declined
    assert answer.mode == "extractive"
    assert "30 days" in answer.text
    assert "Returns and refunds" in answer.text
    assert "<" not in answer.text
    assert [(s.article_id, s.url) for s in answer.sources] == [(demo_kb["returns"].pk, "/help/returns")]
    assert tokens == [answer.text]


@pytest.mark.django_db
def test_metadata_is_json_serialisable_with_confidence_sources_and_timing(demo_kb):
    answer = answer_question(question="What payment methods do you take?")

    metadata = json.loads(json.dumps(answer.as_metadata()))

    assert metadata["declined"] is False
    assert metadata["confidence"] == pytest.approx(answer.confidence, abs=1e-4)
    assert metadata["sources"][0] == {
        "article_id": demo_kb["payment-methods"].pk,
        "title": "Payment methods",
        "url": "/help/payment-methods",
        "score": pytest.approx(answer.sources[0].score, abs=1e-4),
    }
    assert metadata["retrieval_ms"] > 0


@pytest.mark.django_db
def test_without_a_classifier_retrieval_alone_still_answers_and_declines(demo_kb):
    ArticleClassifier.objects.all().delete()

    answered = answer_decide(question="How do I reset my password?")
    declined = answer_decide(question="what's the capital of Mongolia")

    assert (answered.decided_by, answered.article_id, answered.declined) == (
        "retrieval",
        demo_kb["password-reset"].pk,
        False,
    )
    assert declined.declined


@pytest.mark.django_db
def test_a_stale_classifier_is_ignored_until_retrained(demo_kb):
    from knowledge.classifier import classifier_current, classifier_train

    article = demo_kb["warranty"]
    article.title = "Warranty, guarantees and repairs"
    article.save()  # the knowledge base changed, so its fingerprint did

    assert classifier_current() is None
    classifier_train()
    assert classifier_current() is not None


@pytest.mark.django_db
def test_a_short_follow_up_is_understood_with_the_previous_question(demo_kb):
    history = [
        {"sender": "visitor", "text": "How much does delivery cost?"},
        {"sender": "bot", "text": "Standard delivery costs £4.95."},
    ]

    answer = answer_question(question="and to France?", history=history)

    assert not answer.declined
    assert answer.sources[0].article_id == demo_kb["shipping"].pk


@pytest.mark.django_db
def test_an_empty_knowledge_base_declines():
    answer = answer_question(question="Where is my order?")

    assert answer.declined
    assert answer.confidence == 0.0


# --- With a chat model (LangChain's fake models; no network) --------------------------------------


@pytest.mark.django_db
def test_llm_answer_is_streamed_to_on_token_and_cites_the_passage(demo_kb):
    model = GenericFakeChatModel(messages=iter(["You have 30 days from delivery to return unused items [1]."]))
    tokens = []

    answer = answer_question(question="How long do I have to return an item?", on_token=tokens.append, chat_model=model)

    assert answer.mode == "llm"
    assert answer.text == "You have 30 days from delivery to return unused items [1]."
    assert len(tokens) > 3  # streamed in pieces, not at once
    assert "".join(tokens) == answer.text
    assert [s.article_id for s in answer.sources] == [demo_kb["returns"].pk]
    assert not answer.declined


@pytest.mark.django_db
def test_llm_gets_the_retrieved_passages_and_the_question(demo_kb, settings):
    seen = []

    class RecordingModel(FakeListChatModel):
        def _call(self, messages, *args, **kwargs):
            seen.extend(messages)
            return super()._call(messages, *args, **kwargs)

        def _stream(self, messages, *args, **kwargs):
            seen.extend(messages)
            yield from super()._stream(messages, *args, **kwargs)

    settings.HANDOFF_CHAT_MODEL = RecordingModel(responses=["We accept PayPal [1]."])

    answer = answer_question(question="Can I pay with PayPal?")

    system, *_, user = seen
    assert "[1] Payment methods" in system.content
    assert "PayPal" in system.content
    assert user.content == "Can I pay with PayPal?"
    assert answer.sources[0].title == "Payment methods"


@pytest.mark.django_db
def test_the_llm_is_never_called_below_the_threshold(demo_kb):
    class ExplodingModel(FakeListChatModel):
        def _stream(self, *args, **kwargs):
            raise AssertionError("the chat model must not be asked when the bot is unsure")

        def _call(self, *args, **kwargs):
            raise AssertionError("the chat model must not be asked when the bot is unsure")

    answer = answer_question(question="what's the capital of Mongolia", chat_model=ExplodingModel(responses=["x"]))

    assert answer.declined


@pytest.mark.django_db
def test_when_the_llm_says_it_is_not_sure_the_bot_declines_without_streaming_the_marker(demo_kb):
    tokens = []

    answer = answer_question(
        question="How long does delivery take?",
        on_token=tokens.append,
        chat_model=FakeListChatModel(responses=["NOT_SURE"]),
    )

    assert answer.declined
    assert answer.text == DECLINE_TEXT
    assert "NOT_SURE" not in "".join(tokens)


@pytest.mark.django_db
def test_a_failing_llm_falls_back_to_the_extractive_answer(demo_kb):
    failing = FakeListChatModel(responses=["never"], error_on_chunk_number=0)

    answer = answer_question(question="How long does delivery take?", chat_model=failing)

    assert answer.mode == "extractive"
    assert "working days" in answer.text


def test_missing_provider_package_is_reported_with_the_pip_name(settings):
    from django.core.exceptions import ImproperlyConfigured

    from nlp.llm import get_chat_model

    settings.LLM_PROVIDER = "ollama"
    settings.LLM_MODEL = "llama3.2"
    with pytest.raises(ImproperlyConfigured, match="pip install langchain-ollama"):
        get_chat_model()
