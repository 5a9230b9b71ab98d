from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector
from django.db import models
from pgvector.django import HnswIndex, VectorField

from knowledge.links import validate_link

EMBEDDING_DIMENSIONS = 384  # all-MiniLM-L6-v2


class Source(models.Model):
    """Where articles came from: typed in admin, an FAQ file, an uploaded document, or a crawled site."""

    class Kind(models.TextChoices):
        MANUAL = "manual", "Written in admin"
        FAQ = "faq", "FAQ import (CSV/JSON)"
        FILE = "file", "Uploaded file"
        URL = "url", "Website crawl"

    class Status(models.TextChoices):
        IDLE = "idle", "Idle"
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.MANUAL)
    url = models.URLField(blank=True, help_text="Start URL for a website crawl.")
    file = models.FileField(upload_to="sources/", blank=True)
    page_limit = models.PositiveIntegerField(default=50, help_text="Most pages a crawl fetches.")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.IDLE)
    # Progress of the running ingestion or embedding job, shown in admin.
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.name


class Article(models.Model):
    source = models.ForeignKey(Source, null=True, blank=True, on_delete=models.SET_NULL, related_name="articles")
    # Stable identity inside a source (FAQ key, page URL, file name), so re-imports update in place.
    external_key = models.CharField(max_length=500, blank=True)
    title = models.CharField(max_length=300)
    body = models.TextField()
    # A full http(s) URL or a path on the company's own site ("/help/shipping"); the widget links it.
    url = models.CharField(blank=True, max_length=500, validators=[validate_link])
    tags = models.JSONField(default=list, blank=True)
    published = models.BooleanField(default=True)
    # Hash of the embedded text; unchanged content is not re-chunked or re-embedded.
    content_hash = models.CharField(max_length=64, blank=True)
    embedded_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_key"],
                condition=~models.Q(external_key=""),
                name="article_unique_key_per_source",
            )
        ]

    def __str__(self) -> str:
        return self.title


class ExampleQuestion(models.Model):
    """A phrasing customers use for an article; matched directly at retrieval time."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="example_questions")
    text = models.CharField(max_length=500)
    embedding = VectorField(dimensions=EMBEDDING_DIMENSIONS, null=True, blank=True)
    # Written by knowledge.question_generation for an article that came without questions (a crawled
    # page, an upload); rebuilt when the article changes, dropped once it has questions of its own.
    generated = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["article", "text"], name="example_question_unique")]
        indexes = [
            HnswIndex(
                name="example_question_embedding",
                fields=["embedding"],
                m=16,
                ef_construction=64,
                opclasses=["vector_cosine_ops"],
            ),
            GinIndex(SearchVector("text", config="english"), name="example_question_fts"),
        ]

    def __str__(self) -> str:
        return self.text


class Chunk(models.Model):
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="chunks")
    index = models.PositiveIntegerField()
    text = models.TextField()
    embedding = VectorField(dimensions=EMBEDDING_DIMENSIONS)

    class Meta:
        ordering = ["article", "index"]
        constraints = [models.UniqueConstraint(fields=["article", "index"], name="chunk_unique_index")]
        indexes = [
            HnswIndex(
                name="chunk_embedding",
                fields=["embedding"],
                m=16,
                ef_construction=64,
                opclasses=["vector_cosine_ops"],
            ),
            GinIndex(SearchVector("text", config="english"), name="chunk_fts"),
        ]

    def __str__(self) -> str:
        return f"{self.article} [{self.index}]"


class ArticleClassifier(models.Model):
    """A linear probe (knowledge/probe.py) trained on the example questions of the published articles.

    It is valid only for the knowledge base it was trained on: `fingerprint` is
    knowledge.classifier.knowledge_fingerprint() at training time, and a stale one is ignored.
    """

    fingerprint = models.CharField(max_length=64, db_index=True)
    weights = models.BinaryField()
    article_count = models.PositiveIntegerField()
    example_count = models.PositiveIntegerField()
    training_ms = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        get_latest_by = "created_at"

    def __str__(self) -> str:
        return f"Classifier over {self.article_count} articles ({self.created_at:%Y-%m-%d %H:%M})"


# --- Human in the loop: what the bot learns from agents, approved by a reviewer -------------------


class TrainingSuggestion(models.Model):
    """A proposed change to the knowledge base, generated from conversations, waiting for a reviewer.

    Generated by knowledge.learning (after each resolved conversation and nightly); approving
    applies it through knowledge.services, and `applied_change` records what changed so that the
    approval can be reverted. Every status change is also a SuggestionEvent row.
    """

    class Kind(models.TextChoices):
        NEW_ARTICLE = "new_article", "New article"
        EXAMPLE_QUESTION = "example_question", "New example question"
        CONTENT_GAP = "content_gap", "Content gap"
        ANSWER_REVISION = "answer_revision", "Answer revision"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        REVERTED = "reverted", "Reverted"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING, db_index=True)
    title = models.CharField(max_length=300)
    # The visitor's question: the example question to add, or the new article's first one.
    question = models.CharField(max_length=500, blank=True)
    # The proposed article body (new article, content gap) or revised body (answer revision).
    body = models.TextField(blank=True)
    target_article = models.ForeignKey(
        Article, null=True, blank=True, on_delete=models.SET_NULL, related_name="training_suggestions"
    )
    confidence = models.FloatField(default=0.0, help_text="How likely the change is right, 0 to 1.")
    impact = models.PositiveIntegerField(default=0, help_text="Conversations it would have answered.")
    # kind + normalised question or target article: an exact repeat finds its pending suggestion.
    dedupe_key = models.CharField(max_length=64, db_index=True)
    # The question's embedding: a paraphrase of a pending suggestion adds evidence to it.
    question_embedding = VectorField(dimensions=EMBEDDING_DIMENSIONS, null=True, blank=True)
    # Kind-specific facts for the reviewer: the cluster's questions and counts, how the body was written.
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_reason = models.TextField(blank=True)
    # What approval changed (created article / example question ids, previous title and body).
    applied_change = models.JSONField(default=dict, blank=True)
    reverted_at = models.DateTimeField(null=True, blank=True)
    reverted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-impact", "-confidence", "created_at"]
        constraints = [
            # Generation is idempotent: one pending suggestion per key, whatever runs concurrently.
            models.UniqueConstraint(
                fields=["dedupe_key"], condition=models.Q(status="pending"), name="one_pending_suggestion_per_key"
            ),
            models.CheckConstraint(
                condition=models.Q(confidence__gte=0, confidence__lte=1), name="suggestion_confidence_0_to_1"
            ),
        ]
        indexes = [models.Index(fields=["status", "-impact"], name="suggestion_review_queue")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.title}"


class SuggestionEvidence(models.Model):
    """A message that led to a suggestion (the visitor's question, the agent's answer, a thumbs-down answer)."""

    suggestion = models.ForeignKey(TrainingSuggestion, on_delete=models.CASCADE, related_name="evidence")
    conversation = models.ForeignKey("chat.Conversation", on_delete=models.CASCADE, related_name="+")
    message = models.ForeignKey("chat.Message", on_delete=models.CASCADE, related_name="+")
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["conversation_id", "message__seq"]
        verbose_name_plural = "suggestion evidence"
        constraints = [
            models.UniqueConstraint(fields=["suggestion", "message"], name="suggestion_evidence_unique_message")
        ]

    def __str__(self) -> str:
        return f"{self.note or 'evidence'} in conversation {self.conversation_id}"


class SuggestionEvent(models.Model):
    """Every status change of a suggestion (created, approved, rejected, reverted) and edits, as a row."""

    class Action(models.TextChoices):
        CREATE = "create", "Created"
        EDIT = "edit", "Edited"
        APPROVE = "approve", "Approved"
        REJECT = "reject", "Rejected"
        REVERT = "revert", "Reverted"

    suggestion = models.ForeignKey(TrainingSuggestion, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(max_length=20, choices=Action.choices)
    from_status = models.CharField(max_length=20, choices=TrainingSuggestion.Status.choices, blank=True)
    to_status = models.CharField(max_length=20, choices=TrainingSuggestion.Status.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    reason = models.TextField(blank=True)
    change = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_action_display()}: {self.from_status or '-'} → {self.to_status}"


class WeeklyReviewItem(models.Model):
    """One of the week's bot conversations sampled for a reviewer to judge (about a minute each)."""

    class Stratum(models.TextChoices):
        HANDED_OFF = "handed_off", "Handed off"
        LOW_CSAT = "low_csat", "Low CSAT"
        NEGATIVE_FEEDBACK = "negative_feedback", "Thumbs down"
        RANDOM = "random", "Random"

    class Verdict(models.TextChoices):
        ON_BRAND = "on_brand", "On brand"
        NEEDS_WORK = "needs_work", "Needs work"

    week_start = models.DateField(db_index=True, help_text="The Monday of the sampled week.")
    conversation = models.ForeignKey("chat.Conversation", on_delete=models.CASCADE, related_name="+")
    stratum = models.CharField(max_length=20, choices=Stratum.choices)
    verdict = models.CharField(max_length=20, choices=Verdict.choices, blank=True)
    note = models.TextField(blank=True)
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["week_start", "id"]
        verbose_name = "weekly review item"
        constraints = [
            models.UniqueConstraint(fields=["week_start", "conversation"], name="weekly_review_once_per_week")
        ]

    def __str__(self) -> str:
        return f"Week of {self.week_start:%d %b %Y}: conversation {self.conversation_id}"


class AnswerSettings(models.Model):
    """The manager's choice of answer/decline trade-off, and its last estimate on this knowledge base (one row)."""

    class Preset(models.TextChoices):
        DEFAULT = "", "The deployment's default (HANDOFF_ANSWER_THRESHOLD)"
        CAUTIOUS = "cautious", "Cautious: answer only when quite sure"
        BALANCED = "balanced", "Balanced: answer when more likely right than wrong"
        EAGER = "eager", "Eager: answer unless quite unsure"

    preset = models.CharField(max_length=20, blank=True, choices=Preset.choices, default=Preset.DEFAULT)
    # knowledge.tradeoff_estimate.Estimate.as_dict() of the last estimate, shown in admin.
    estimate = models.JSONField(default=dict, blank=True)
    estimated_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "answer settings"
        verbose_name_plural = "answer settings"

    def __str__(self) -> str:
        return "Answer settings"
