"""The demo shop (Northwind Outfitters) and the widget's embeddable assets."""

from __future__ import annotations

import gzip
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db.models import Q
from django.http import Http404, HttpResponse, HttpResponseNotModified
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_safe

from knowledge.models import Article

# --- The widget's script and stylesheet ---------------------------------------------------------
# Served by a view at a stable URL (/widget.js) rather than a hashed static path, because the
# embed tag lives in other people's HTML and can't change with each release; a short max-age
# plus an ETag keeps updates quick and repeat loads cheap. Read from the source tree, so
# `collectstatic` is not needed for it.

WIDGET_DIR = Path(settings.BASE_DIR) / "static" / "widget"
WIDGET_MAX_AGE_SECONDS = 300


@dataclass(frozen=True)
class _Asset:
    mtime_ns: int
    body: bytes
    gzipped: bytes
    etag: str


_assets: dict[str, _Asset] = {}


def _asset(name: str) -> _Asset:
    path = WIDGET_DIR / name
    mtime_ns = path.stat().st_mtime_ns
    cached = _assets.get(name)
    if cached is None or cached.mtime_ns != mtime_ns:
        body = path.read_bytes()
        etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
        cached = _Asset(mtime_ns=mtime_ns, body=body, gzipped=gzip.compress(body, mtime=0), etag=etag)
        _assets[name] = cached
    return cached


def _serve_asset(request, name: str, content_type: str) -> HttpResponse:
    asset = _asset(name)
    if asset.etag in request.headers.get("If-None-Match", ""):
        response = HttpResponseNotModified()
    else:
        use_gzip = "gzip" in request.headers.get("Accept-Encoding", "")
        response = HttpResponse(asset.gzipped if use_gzip else asset.body, content_type=content_type)
        if use_gzip:
            response["Content-Encoding"] = "gzip"
    response["ETag"] = asset.etag
    response["Cache-Control"] = f"public, max-age={WIDGET_MAX_AGE_SECONDS}"
    # Any site may load the script (with or without crossorigin=anonymous, or under COEP);
    # what it may do is decided by the WebSocket's origin check, not by who can fetch the file.
    response["Access-Control-Allow-Origin"] = "*"
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    patch_vary_headers(response, ["Accept-Encoding"])
    return response


@require_safe
def widget_js(request):
    return _serve_asset(request, "widget.js", "text/javascript; charset=utf-8")


@require_safe
def widget_css(request):
    return _serve_asset(request, "widget.css", "text/css; charset=utf-8")


# --- The demo shop ------------------------------------------------------------------------------

PRODUCTS = [
    {"name": "Summit 45L Backpack", "price": "149.00", "blurb": "Adjustable back system, rain cover included."},
    {"name": "Trailhead Rain Shell", "price": "189.00", "blurb": "Three-layer waterproof, pit zips, packs small."},
    {"name": "Ridgeline Hiking Boots", "price": "165.00", "blurb": "Leather uppers, grippy soles, half sizes."},
    {"name": "Basecamp 2P Tent", "price": "279.00", "blurb": "Freestanding, 2.1 kg, two doors and vestibules."},
    {"name": "Emberlite Stove", "price": "59.00", "blurb": "Boils a litre in under four minutes."},
    {"name": "Driftwood Merino Tee", "price": "69.00", "blurb": "Soft, odour-resistant, made for long trips."},
]


def demo_home(request):
    """The demo shop's front page, with the chat widget embedded as a customer would embed it."""
    return render(request, "demo/home.html", {"products": PRODUCTS[:3]})


def demo_products(request):
    return render(request, "demo/products.html", {"products": PRODUCTS})


HELP_SLUG_RE = re.compile(r"/help/([-a-zA-Z0-9_]+)/?$")


def _help_articles():
    return Article.objects.filter(published=True, url__contains="/help/")


def demo_help(request):
    # Linked by slug to our own route, never by the stored url (an href is not escaped into safety).
    articles = [
        {"title": article.title, "slug": match.group(1)}
        for article in _help_articles().order_by("title")
        if (match := HELP_SLUG_RE.search(article.url))
    ]
    return render(request, "demo/help.html", {"articles": articles})


def demo_help_article(request, slug: str):
    """A help page per published article whose url ends in /help/<slug>: the bot's source links land here."""
    article = _help_articles().filter(Q(url=f"/help/{slug}") | Q(url__endswith=f"/help/{slug}")).first()
    if article is None:
        raise Http404("No help article with that address")
    return render(request, "demo/help_article.html", {"article": article})
