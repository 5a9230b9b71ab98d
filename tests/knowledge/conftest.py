import pytest


@pytest.fixture
def demo_kb(db):
    """The Northwind Outfitters help centre, embedded, with its article classifier trained."""
    from knowledge.demo import load_demo_knowledge_base
    from knowledge.models import Article

    load_demo_knowledge_base()
    return {article.external_key: article for article in Article.objects.all()}


@pytest.fixture
def no_crawl_delay(settings):
    settings.HANDOFF_CRAWL_DELAY_SECONDS = 0


@pytest.fixture(autouse=True)
def _uploads_in_tmp(request, settings, tmp_path):
    """Uploaded test files go to a temporary MEDIA_ROOT, except where a worker process must read them."""
    if "worker" not in request.keywords:
        settings.MEDIA_ROOT = tmp_path / "media"
