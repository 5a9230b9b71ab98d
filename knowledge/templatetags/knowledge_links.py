from django import template

from knowledge.links import is_safe_link

register = template.Library()


@register.filter
def safe_link(url) -> str:
    """The URL when it may be an href (knowledge.links), else "": links saved before validation stay inert."""
    return url if isinstance(url, str) and is_safe_link(url) else ""
