"""Which article links may become an href: http(s) URLs and paths on the company's own site.

An Article.url comes from managers, FAQ files and crawled pages, and is rendered as a live link
in the inbox and the widget, so `javascript:`, `data:` and look-alikes ("java\\tscript:", "//evil",
"/\\evil", which browsers read as another host) are refused on save and never rendered.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.core.exceptions import ValidationError


def is_safe_link(url: str) -> bool:
    if not url or not url.isprintable() or any(char.isspace() or char == "\\" for char in url):
        return False
    if url.startswith("/"):
        return not url.startswith("//")
    parts = urlsplit(url)
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


def validate_link(value: str) -> None:
    if value and not is_safe_link(value):
        raise ValidationError(
            "Enter a full http(s) URL (https://help.example.com/returns) or a path on your site (/help/returns).",
            code="unsafe_link",
        )
