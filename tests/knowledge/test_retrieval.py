import pytest

from knowledge.models import Article
from knowledge.retrieval import retrieve
from knowledge.services import article_upsert, articles_embed


@pytest.mark.django_db
def test_retrieval_ranks_the_article_whose_example_question_matches(demo_kb):
    passages = retrieve(query="what is your policy on returning things", limit=3)

    assert passages[0].article_id == demo_kb["returns"].pk
    assert passages[0].url == "/help/returns"
    assert "30 days" in passages[0].text
    assert passages[0].score > passages[1].score


@pytest.mark.django_db
def test_vector_search_finds_a_paraphrase_with_no_shared_words(demo_kb):
    # None of these words occurs in the password article or its example questions.
    passages = retrieve(query="locked out, can't remember my login secret", limit=3)

    assert passages[0].article_id == demo_kb["password-reset"].pk


@pytest.mark.django_db
def test_full_text_search_finds_an_exact_term_the_embedding_blurs(demo_kb):
    article, _ = article_upsert(
        source=None,
        external_key="",
        title="Stove recall",
        body="Model QX-7734 camping stoves made in March have a faulty valve; stop using them.",
    )
    articles_embed(articles=[article])

    passages = retrieve(query="QX-7734", limit=3)

    assert passages[0].article_id == article.pk


@pytest.mark.django_db
def test_unpublished_articles_are_never_retrieved(demo_kb):
    Article.objects.filter(pk=demo_kb["gift-cards"].pk).update(published=False)

    passages = retrieve(query="gift card balance", limit=5)

    assert demo_kb["gift-cards"].pk not in [p.article_id for p in passages]


@pytest.mark.django_db
def test_retrieval_on_an_empty_knowledge_base_returns_nothing():
    assert retrieve(query="where is my order") == []
