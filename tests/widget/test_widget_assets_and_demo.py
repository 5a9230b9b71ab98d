"""The embeddable script and stylesheet, and the demo shop that embeds them."""

import gzip

import pytest

from tests.factories import ArticleFactory


@pytest.mark.parametrize(("path", "content_type"), [("/widget.js", "text/javascript"), ("/widget.css", "text/css")])
def test_widget_assets_are_served_for_any_site_with_caching(client, path, content_type):
    response = client.get(path)
    assert response.status_code == 200
    assert response["Content-Type"].startswith(content_type)
    assert response["Access-Control-Allow-Origin"] == "*"
    assert response["Cross-Origin-Resource-Policy"] == "cross-origin"
    assert "max-age=" in response["Cache-Control"]
    assert response["ETag"]


def test_the_script_is_gzipped_when_the_browser_accepts_it_and_revalidates_cheaply(client):
    plain = client.get("/widget.js")
    zipped = client.get("/widget.js", headers={"accept-encoding": "gzip, br"})
    assert zipped["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in zipped["Vary"]
    assert gzip.decompress(zipped.content) == plain.content
    assert client.get("/widget.js", headers={"if-none-match": plain["ETag"]}).status_code == 304


def test_the_script_is_small_and_never_writes_chat_text_as_html(client):
    source = client.get("/widget.js").content.decode()
    assert len(source.encode()) < 40_000
    assert "innerHTML" not in source and "insertAdjacentHTML" not in source and "document.write" not in source


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/", "/products", "/help"])
def test_every_demo_page_embeds_the_widget_with_one_tag(client, path):
    html = client.get(path).content.decode()
    assert html.count('/widget.js"') == 1
    assert 'data-greeting="' in html and "Northwind Outfitters" in html


@pytest.mark.django_db
def test_help_pages_show_the_published_articles_the_bot_links_to(client):
    ArticleFactory(title="Shipping times", body="We ship <fast>.\n\nReally.", url="/help/shipping")
    ArticleFactory(title="Returns", body="30 days.", url="https://shop.example.com/help/returns")
    ArticleFactory(title="Draft", body="Not yet.", url="/help/draft", published=False)
    ArticleFactory(title="Elsewhere", body="x", url="https://example.com/blog/post")

    index = client.get("/help").content.decode()
    assert 'href="/help/shipping"' in index and 'href="/help/returns"' in index
    assert "Draft" not in index and "Elsewhere" not in index

    page = client.get("/help/shipping")
    assert page.status_code == 200
    assert "We ship &lt;fast&gt;." in page.content.decode()  # article text is escaped
    assert client.get("/help/returns").status_code == 200
    assert client.get("/help/draft").status_code == 404
    assert client.get("/help/nope").status_code == 404
