"""The knowledge base in Django admin, one module per area; importing them registers their admins.

sources: where articles come from, and running their ingestion; articles: the articles, their example
questions and the trained classifier; suggestions: the review queue of what the bot learned; weekly:
the weekly review of a sample of the bot's conversations; answer_settings: when the bot answers
(the cautious / balanced / eager trade-off, estimated on the knowledge base).
"""

from knowledge.admin import answer_settings, articles, sources, suggestions, weekly

__all__ = ["answer_settings", "articles", "sources", "suggestions", "weekly"]
