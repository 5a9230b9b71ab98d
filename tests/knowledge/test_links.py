"""Article links are http(s) or a path on the company's site, on save and on render (issue 16, item 8)."""

import pytest
from django.core.exceptions import ValidationError
from django.template.loader import render_to_string

from knowledge.importers import Columns, faq_entries_from_rows
from knowledge.models import Article
from knowledge.services import KnowledgeError, article_upsert
from tests.factories import MessageFactory

HOSTILE = [
    "javascript:alert(document.cookie)",
    "JaVaScRiPt:alert(1)",
    " javascript:alert(1)",
    "java\tscript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "//evil.example/phish",  # another host, without a scheme
    "/\\evil.example/phish",  # browsers read a backslash as a slash
    "https:evil",
]
FINE = ["https://help.example.com/returns", "http://help.example.com/", "/help/returns", "/help/returns?x=1#y"]


@pytest.mark.django_db
@pytest.mark.parametrize("url", HOSTILE)
def test_an_unsafe_article_url_is_refused_on_save(url):
    article = Article(title="Returns", body="Return unused items within 30 days.", url=url)
    with pytest.raises(ValidationError, match="http"):
        article.full_clean()
    with pytest.raises(KnowledgeError, match="cannot be a link"):
        article_upsert(source=None, external_key="returns", title="Returns", body="Within 30 days.", url=url)
    assert not Article.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("url", FINE)
def test_http_urls_and_site_paths_are_accepted(url):
    Article(title="Returns", body="Return unused items within 30 days.", url=url).full_clean()


def test_an_faq_file_with_an_unsafe_url_names_the_row():
    rows = [
        {"article": "Returns", "question": "Can I return?", "answer": "Yes.", "url": "/help/returns"},
        {"article": "Phish", "question": "Hi?", "answer": "Hi.", "url": "javascript:alert(1)"},
    ]
    with pytest.raises(KnowledgeError, match="row 2"):
        faq_entries_from_rows(rows=rows, columns=Columns())


@pytest.mark.django_db
def test_the_inbox_renders_only_safe_source_links_even_for_links_saved_before_validation():
    sources = [{"title": "Evil", "url": "javascript:alert(1)"}, {"title": "Returns", "url": "/help/returns"}]
    message = MessageFactory(sender="bot", text="See our returns page.", metadata={"sources": sources})

    html = render_to_string("inbox/partials/message.html", {"message": message})

    assert "javascript:" not in html
    assert "Evil" in html  # the title stays, as text
    assert '<a href="/help/returns"' in html
