"""The enabled rules, compiled once per process and recompiled only after a change.

A rule change (triggers.signals) bumps one version row; every process compares that token with
the one its compiled rules were built from, so an edit in admin applies to the next message
everywhere. Rules that read knowledge-base categories also watch a fingerprint of the articles.
"""

from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count, Max
from django.utils import timezone

from chat.db import ReadEvery
from knowledge.models import Article
from nlp.embeddings import embed
from triggers.engine import RuleSet, RuleSpec, compile_rules
from triggers.models import RuleSetVersion, TriggerRule
from triggers.selectors import rules_enabled
from triggers.vectors import EmbeddingMemo

logger = logging.getLogger(__name__)

# The rules' example phrases and the articles' titles and questions, embedded once per process.
phrase_vectors = EmbeddingMemo(embed, size=10_000)


@dataclass(frozen=True)
class CompiledRules:
    token: Any
    ruleset: RuleSet
    rules: dict[int, TriggerRule]  # the model rows, for actions (team, tags, messages)


_cache_lock = threading.Lock()
_cache: dict[str, CompiledRules] = {}


def rules_version_bump() -> None:
    """Mark every process's compiled rules stale (called whenever a rule changes)."""
    if not RuleSetVersion.objects.filter(pk=1).update(token=uuid.uuid4(), changed_at=timezone.now()):
        try:
            with transaction.atomic():
                RuleSetVersion.objects.create(pk=1)
        except IntegrityError:  # another process created it first: its token is just as new
            pass
    # This process reads the new token at once: in this transaction, and (other threads) once it commits.
    _current_token.forget()
    transaction.on_commit(_current_token.forget)


def _read_token() -> Any:
    token = RuleSetVersion.objects.filter(pk=1).values_list("token", flat=True).first()
    if token is None:
        rules_version_bump()
        token = RuleSetVersion.objects.filter(pk=1).values_list("token", flat=True).first()
    return token


def _read_knowledge_state() -> tuple:
    found = Article.objects.aggregate(
        n=Count("id", distinct=True),
        latest=Max("updated_at"),
        questions=Count("example_questions", distinct=True),
        last_question=Max("example_questions__id"),
    )
    return tuple(found.values())


# Read at most every second per process (two queries per message otherwise): a change made in another
# process applies within that time, one made in this process at once (rules_version_bump, and
# rules_knowledge_changed from triggers.signals).
_current_token = ReadEvery(_read_token, seconds=1.0)
_knowledge_state = ReadEvery(_read_knowledge_state, seconds=1.0)


def rules_knowledge_changed() -> None:
    """This process changed an article: read the knowledge base's state again on the next message."""
    _knowledge_state.forget()


def _knowledge_fingerprint(categories: frozenset[str]) -> tuple:
    """Changes when articles that feed intent categories might have changed."""
    return _knowledge_state() if categories else ()


def _knowledge_examples(categories: frozenset[str]) -> dict[str, list[str]]:
    """Titles and example questions of published articles tagged with each category."""
    if not categories:
        return {}
    examples: dict[str, list[str]] = {category: [] for category in categories}
    articles = Article.objects.filter(published=True).prefetch_related("example_questions")
    for article in articles:
        tags = {str(tag).strip().casefold() for tag in article.tags or []}
        for category in categories & tags:
            examples[category].append(article.title)
            examples[category].extend(question.text for question in article.example_questions.all())
    return examples


def ruleset_embedded(specs: list[RuleSpec], *, plain: RuleSet) -> RuleSet:
    """The second pass: the rules compiled with their example phrases, and the knowledge base's
    for the categories `plain` (the first pass, without embeddings) found the rules reading."""
    return compile_rules(specs, embed=phrase_vectors, extra_examples=_knowledge_examples(plain.knowledge_categories))


def rules_compiled(*, use_embeddings: bool = True) -> CompiledRules:
    """The enabled rules, compiled, from this process's cache while the version token is unchanged.

    One small query per call (the token, plus a knowledge-base fingerprint when rules read
    articles); recompiling happens only after a change, in whichever process sees it first.
    """
    key = "embed" if use_embeddings else "plain"
    token = _current_token()
    cached = _cache.get(key)
    if (
        cached is not None
        and cached.token[0] == token
        and cached.token[1] == _knowledge_fingerprint(cached.ruleset.knowledge_categories)
    ):
        return cached
    with _cache_lock:
        rows = list(rules_enabled())
        specs = [rule_spec(row) for row in rows]
        ruleset = compile_rules(specs, embed=None)  # first pass: which KB categories the rules read
        # Read before the examples: an article changed in between makes the next call recompile.
        fingerprint = _knowledge_fingerprint(ruleset.knowledge_categories)
        if use_embeddings:
            ruleset = ruleset_embedded(specs, plain=ruleset)
        for rule_id, error in ruleset.errors.items():
            logger.warning("Trigger rule %s is skipped: %s", rule_id, error)
        compiled = CompiledRules((token, fingerprint), ruleset, {row.pk: row for row in rows})
        _cache[key] = compiled
        return compiled


def rule_spec(rule: TriggerRule) -> RuleSpec:
    return RuleSpec(
        id=rule.pk,
        name=rule.name,
        conditions=rule.conditions,
        match=rule.match,
        order=rule.order,
        handoff=rule.handoff,
        enabled=rule.enabled,
        team=rule.team.slug if rule.team_id else "",
    )
