import subprocess
import sys
from pathlib import Path

import pytest

from knowledge.demo import ARTICLES, load_demo_knowledge_base
from knowledge.models import Article, ExampleQuestion

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_importing_knowledge_tasks_loads_no_heavy_library():
    code = (
        "import django, os, sys; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'config.settings_test'); "
        "django.setup(); import knowledge.tasks, knowledge.answers, knowledge.retrieval, knowledge.admin; "
        "heavy = {'onnxruntime', 'langchain_core', 'langchain_text_splitters', 'trafilatura', 'pypdf', 'numpy'}; "
        "loaded = heavy & set(sys.modules); assert not loaded, loaded"
    )

    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True)

    assert result.returncode == 0, result.stderr[-2000:]


@pytest.mark.django_db
def test_demo_knowledge_base_is_idempotent_and_has_slug_urls():
    first = load_demo_knowledge_base()
    second = load_demo_knowledge_base()

    assert first == second == len(ARTICLES) == Article.objects.count()
    assert ExampleQuestion.objects.count() == sum(len(questions) for *_, questions in ARTICLES)
    assert all(url.startswith("/help/") for url in Article.objects.values_list("url", flat=True))
    assert not Article.objects.filter(embedded_at__isnull=True).exists()


@pytest.mark.django_db
def test_every_demo_example_question_is_answered_from_its_own_article(demo_kb):
    from knowledge.answers import answer_decide

    for slug, _title, _tags, _body, questions in ARTICLES:
        decision = answer_decide(question=questions[0])
        assert (decision.article_id, decision.declined) == (demo_kb[slug].pk, False), questions[0]


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_faq_ingestion_runs_in_a_real_celery_worker_and_reports_progress(celery_worker):
    import time

    from django.core.files.base import ContentFile
    from django.db import transaction

    from knowledge.models import ArticleClassifier, Source
    from knowledge.services import source_request_ingestion

    source = Source.objects.create(name="faq.csv", kind=Source.Kind.FAQ)
    source.file.save(
        "faq.csv",
        ContentFile(
            b"article,question,answer\n"
            b"Returns,How do I return an item?,Return unused items within 30 days.\n"
            b"Shipping,How long does delivery take?,Delivery takes 2-4 working days.\n"
        ),
        save=True,
    )

    with transaction.atomic():
        source_request_ingestion(source=source)
        assert Source.objects.get(pk=source.pk).status == Source.Status.QUEUED

    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        source.refresh_from_db()
        if source.status in (Source.Status.DONE, Source.Status.FAILED) and ArticleClassifier.objects.exists():
            break
        time.sleep(0.2)
    assert (source.status, source.last_error) == (Source.Status.DONE, "")
    assert (source.progress_done, source.progress_total) == (2, 2)
    assert not Article.objects.filter(embedded_at__isnull=True).exists()
    assert ArticleClassifier.objects.get().article_count == 2
