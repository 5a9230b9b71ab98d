from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector
from django.db import models
from pgvector.django import HnswIndex, VectorField

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
    # A full URL or a path on the company's own site ("/help/shipping"); the widget links it.
    url = models.CharField(blank=True, max_length=500)
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
