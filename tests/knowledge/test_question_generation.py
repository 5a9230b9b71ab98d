"""Articles that came without example questions get generated ones, and can win the answer."""

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from knowledge.answers import answer_decide
from knowledge.classifier import classifier_train
from knowledge.models import ExampleQuestion, Source
from knowledge.question_generation import questions_from_structure, questions_generate
from knowledge.services import article_save, article_upsert, articles_embed

FAQ_PAGE = """# Delivery FAQ

We deliver to the UK and most of Europe.

## Delivery times
Standard delivery takes 3-5 working days.

How much does express delivery cost?
Express delivery costs £6.95.

- Do you deliver on Saturdays?
Yes, in London.
"""

GIFT_WRAPPING = (
    "Add gift wrapping to any order at checkout for £3.50 per item. We wrap each item in recycled paper "
    "with a ribbon and add a handwritten card with your message. Prices are hidden from the packing slip "
    "of wrapped orders. Gift wrapping is not available for furniture or oversized items."
)


def test_structure_gives_the_title_the_faq_questions_the_headings_and_the_first_sentence():
    questions = questions_from_structure(title="Delivery FAQ", body=FAQ_PAGE)

    assert questions[:2] == ["Delivery FAQ", "Do you offer delivery FAQ?"]
    assert "How much does express delivery cost?" in questions
    assert "Do you deliver on Saturdays?" in questions
    assert "Delivery times?" in questions
    assert "We deliver to the UK and most of Europe." in questions
    assert len(questions) <= 8 and len({q.lower() for q in questions}) == len(questions)


def test_a_chat_model_writes_the_questions_when_one_is_configured():
    model = FakeListChatModel(responses=["1. Can you gift wrap my order?\n- How much is gift wrapping?\n\n<b>x</b>"])

    questions = questions_generate(title="Gift wrapping", body=GIFT_WRAPPING, chat_model=model)

    assert questions[:2] == ["Can you gift wrap my order?", "How much is gift wrapping?"]
    assert "Gift wrapping" in questions  # the structural ones follow
    assert all("<" not in q for q in questions)


class _BrokenChatModel(FakeListChatModel):
    def invoke(self, *args, **kwargs):
        raise ConnectionError("the endpoint is down")


def test_a_failing_chat_model_falls_back_to_the_structure():
    questions = questions_generate(
        title="Gift wrapping", body=GIFT_WRAPPING, chat_model=_BrokenChatModel(responses=[""])
    )

    assert questions[:2] == ["Gift wrapping", "Do you offer gift wrapping?"]


def _crawled(title: str, body: str, key: str):
    source, _ = Source.objects.get_or_create(name="Shop website", defaults={"kind": Source.Kind.URL})
    article, _ = article_upsert(source=source, external_key=key, title=title, body=body, url=key)
    return article


@pytest.mark.django_db
def test_a_crawled_page_gets_generated_questions_which_its_own_questions_replace():
    article = _crawled("Gift wrapping", GIFT_WRAPPING, "https://shop.example/help/gift-wrapping")

    articles_embed(articles=[article])

    generated = list(article.example_questions.order_by("id"))
    assert [q.text for q in generated][:2] == ["Gift wrapping", "Do you offer gift wrapping?"]
    assert all(q.generated and q.embedding is not None for q in generated)

    # Crawling the same page again changes nothing: the generated questions stay, nothing re-embeds.
    _crawled("Gift wrapping", GIFT_WRAPPING, "https://shop.example/help/gift-wrapping")
    article.refresh_from_db()
    assert articles_embed(articles=[article]) == 0
    assert article.example_questions.count() == len(generated)

    # A question typed by a person makes the generated ones redundant.
    article_upsert(
        source=article.source,
        external_key=article.external_key,
        title=article.title,
        body=article.body,
        url=article.url,
        questions=["Can you wrap a present for me?"],
        sync_questions=False,
    )
    article.refresh_from_db()
    articles_embed(articles=[article])
    assert list(article.example_questions.values_list("text", "generated")) == [
        ("Can you wrap a present for me?", False)
    ]


@pytest.mark.django_db
def test_do_you_offer_gift_wrapping_gets_the_crawled_gift_wrapping_page_not_gift_cards(demo_kb):
    # Before: the classifier knew only articles with typed questions, so it sent this to Gift cards
    # although retrieval ranked the crawled Gift wrapping page first.
    page = _crawled("Gift wrapping", GIFT_WRAPPING, "https://shop.example/help/gift-wrapping")
    articles_embed(articles=[page])
    classifier_train()

    decision = answer_decide(question="do you offer gift wrapping?")

    assert decision.article_id == page.pk, decision.hit and decision.hit.title
    assert not decision.declined
    assert decision.decided_by == "classifier"
    # The demo's own questions still go where they went.
    assert answer_decide(question="Do you sell gift cards?").article_id == demo_kb["gift-cards"].pk


@pytest.mark.django_db
def test_retrieval_answers_for_an_article_the_classifier_has_never_seen(demo_kb):
    page = _crawled("Gift wrapping", GIFT_WRAPPING, "https://shop.example/help/gift-wrapping")
    articles_embed(articles=[page])
    # A page whose example questions were deleted: it has passages but the classifier cannot name it.
    ExampleQuestion.objects.filter(article=page).delete()
    classifier_train()

    decision = answer_decide(question="do you offer gift wrapping?")

    assert decision.article_id == page.pk  # the classifier alone would say Gift cards
    assert decision.decided_by == "retrieval"
    assert not decision.declined


@pytest.mark.django_db
def test_a_question_sent_through_the_api_that_was_generated_becomes_the_articles_own():
    article = _crawled("Gift wrapping", GIFT_WRAPPING, "https://shop.example/help/gift-wrapping")
    articles_embed(articles=[article])

    article_save(article=article, changes={}, questions=["Do you offer gift wrapping?", "Can you wrap my parcel?"])
    article.refresh_from_db()
    articles_embed(articles=[article])

    assert sorted(article.example_questions.values_list("text", "generated")) == [
        ("Can you wrap my parcel?", False),
        ("Do you offer gift wrapping?", False),
    ]
