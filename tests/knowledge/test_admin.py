import pytest
from django.urls import reverse

from knowledge.models import Article, ArticleClassifier, Source


@pytest.fixture
def admin_client_for(client, manager):
    client.force_login(manager)
    return client


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url_name",
    [
        "admin:knowledge_source_changelist",
        "admin:knowledge_source_add",
        "admin:knowledge_article_changelist",
        "admin:knowledge_article_add",
        "admin:knowledge_articleclassifier_changelist",
    ],
)
def test_knowledge_admin_pages_load_for_a_manager(admin_client_for, demo_kb, url_name):
    response = admin_client_for.get(reverse(url_name))

    assert response.status_code == 200


@pytest.mark.django_db
def test_article_list_query_count_does_not_grow_with_articles(admin_client_for, demo_kb, django_assert_max_num_queries):
    # session, user, count, articles (with source and question count annotated), the source
    # filter's choices, the published filter: about ten, for any number of articles.
    with django_assert_max_num_queries(12):
        response = admin_client_for.get(reverse("admin:knowledge_article_changelist"))

    assert response.status_code == 200
    assert b"Shipping times and costs" in response.content


@pytest.mark.django_db
def test_source_list_shows_progress(admin_client_for):
    Source.objects.create(name="Help site", kind=Source.Kind.URL, status="running", progress_done=3, progress_total=10)

    response = admin_client_for.get(reverse("admin:knowledge_source_changelist"))

    assert b'<progress max="10" value="3"' in response.content
    assert b'http-equiv="refresh"' in response.content  # the list reloads while a source runs


@pytest.mark.django_db
def test_article_change_page_loads(admin_client_for, demo_kb):
    response = admin_client_for.get(reverse("admin:knowledge_article_change", args=[demo_kb["returns"].pk]))

    assert response.status_code == 200
    assert b"How do I return an item?" in response.content


@pytest.mark.django_db
def test_saving_a_changed_article_in_admin_re_embeds_it_after_commit(
    admin_client_for, demo_kb, django_capture_on_commit_callbacks
):
    article = demo_kb["returns"]
    before = article.embedded_at
    questions = list(article.example_questions.all())
    data = {
        "title": article.title,
        "body": "You can return unused items within 60 days.",
        "url": article.url,
        "tags": '["returns"]',
        "published": "on",
        "external_key": article.external_key,
        "source": article.source_id,
        "example_questions-TOTAL_FORMS": str(len(questions)),
        "example_questions-INITIAL_FORMS": str(len(questions)),
        "example_questions-MIN_NUM_FORMS": "0",
        "example_questions-MAX_NUM_FORMS": "1000",
    }
    for i, question in enumerate(questions):
        data[f"example_questions-{i}-id"] = str(question.pk)
        data[f"example_questions-{i}-article"] = str(article.pk)
        data[f"example_questions-{i}-text"] = question.text

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = admin_client_for.post(reverse("admin:knowledge_article_change", args=[article.pk]), data)

    assert response.status_code == 302, response.content.decode()[:2000]
    assert callbacks  # the embedding task was queued on commit, not before
    article.refresh_from_db()
    assert article.chunks.get().text == "You can return unused items within 60 days."
    assert article.embedded_at > before


@pytest.mark.django_db
def test_reembed_action_rebuilds_the_selected_articles(admin_client_for, demo_kb, django_capture_on_commit_callbacks):
    article = demo_kb["warranty"]
    before = article.embedded_at

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client_for.post(
            reverse("admin:knowledge_article_changelist"), {"action": "reembed", "_selected_action": [article.pk]}
        )

    assert response.status_code == 302
    article.refresh_from_db()
    assert article.embedded_at > before


@pytest.mark.django_db
def test_source_reembed_action_runs_and_retrains_the_classifier(
    admin_client_for, demo_kb, django_capture_on_commit_callbacks
):
    source = demo_kb["returns"].source
    ArticleClassifier.objects.all().delete()

    with django_capture_on_commit_callbacks(execute=True):
        admin_client_for.post(
            reverse("admin:knowledge_source_changelist"), {"action": "reembed", "_selected_action": [source.pk]}
        )

    source.refresh_from_db()
    assert source.status == Source.Status.DONE
    assert (source.progress_done, source.progress_total) == (14, 14)
    assert ArticleClassifier.objects.count() == 1


@pytest.mark.django_db
def test_unpublish_action_takes_articles_out_of_answers(admin_client_for, demo_kb, django_capture_on_commit_callbacks):
    from knowledge.answers import answer_decide

    article = demo_kb["gift-cards"]
    with django_capture_on_commit_callbacks(execute=True):
        admin_client_for.post(
            reverse("admin:knowledge_article_changelist"), {"action": "unpublish", "_selected_action": [article.pk]}
        )

    assert not Article.objects.get(pk=article.pk).published
    assert answer_decide(question="How do I check my gift card balance?").article_id != article.pk


@pytest.mark.django_db
def test_deleting_an_article_in_admin_retrains_the_classifier_without_it(
    admin_client_for, demo_kb, django_capture_on_commit_callbacks
):
    from knowledge.classifier import classifier_current

    article = demo_kb["exchanges"]
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client_for.post(reverse("admin:knowledge_article_delete", args=[article.pk]), {"post": "yes"})

    assert response.status_code == 302
    probe = classifier_current()
    assert probe is not None
    assert article.pk not in probe.labels.tolist()
