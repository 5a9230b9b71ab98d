"""Hybrid retrieval: pgvector cosine search plus PostgreSQL full-text search, over chunks and example questions.

Four small queries (vector and full-text, on each table) are fused per article:
score = best cosine similarity + FTS_WEIGHT * share of the question's words the article contains.
Vectors find paraphrases ("my parcel never came" for a shipping article); full text finds exact
words the embedding blurs (product codes, names).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import reduce

from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db import connection
from django.db.models import Min
from django.db.models.expressions import RawSQL
from pgvector.django import CosineDistance

from knowledge import conf
from knowledge.models import Article, Chunk, ExampleQuestion
from nlp.embeddings import embed_one

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
# pgvector's HNSW search returns at most ef_search rows (default 40); ask for a little more than we fetch.
_EF_SEARCH_MARGIN = 20


@dataclass(frozen=True)
class RetrievedPassage:
    article_id: int
    title: str
    url: str
    text: str
    score: float
    chunk_index: int | None = None
    matched_question: str = ""


@dataclass
class ArticleHit:
    article_id: int
    title: str = ""
    url: str = ""
    score: float = 0.0
    vector_similarity: float = 0.0
    question_similarity: float = 0.0
    matched_question: str = ""
    fts: float = 0.0
    # chunk index -> (text, score)
    chunks: dict[int, tuple[str, float]] = field(default_factory=dict)

    @property
    def similarity(self) -> float:
        """Best cosine similarity of the question to this article's example questions or passages."""
        return max(self.vector_similarity, self.question_similarity)

    def best_passages(self, limit: int = 2) -> list[tuple[int, str, float]]:
        ranked = sorted(self.chunks.items(), key=lambda item: (-item[1][1], item[0]))
        return [(index, text, score) for index, (text, score) in ranked[:limit]]


def retrieve(*, query: str, limit: int = 5) -> list[RetrievedPassage]:
    """The best passage of each of the `limit` best-matching published articles, best first."""
    if not query.strip():
        return []
    hits = search(query=query, vector=embed_one(query), limit=limit)
    passages = []
    for hit in hits:
        best = hit.best_passages(1)
        index, text = (best[0][0], best[0][1]) if best else (None, "")
        passages.append(
            RetrievedPassage(
                article_id=hit.article_id,
                title=hit.title,
                url=hit.url,
                text=text,
                score=round(hit.score, 4),
                chunk_index=index,
                matched_question=hit.matched_question,
            )
        )
    return passages


def search(*, query: str, vector: Sequence[float], limit: int = 5) -> list[ArticleHit]:
    """Fused per-article hits for `query` (whose embedding is `vector`), best first, passages filled in."""
    candidates = conf.get("VECTOR_CANDIDATES")
    fts_weight = conf.get("FTS_WEIGHT")
    hits: dict[int, ArticleHit] = {}

    def hit(article_id: int) -> ArticleHit:
        return hits.setdefault(article_id, ArticleHit(article_id=article_id))

    with connection.cursor() as cursor:
        cursor.execute("SET hnsw.ef_search = %s", [candidates + _EF_SEARCH_MARGIN])

    question_rows = (
        ExampleQuestion.objects.filter(article__published=True, embedding__isnull=False)
        .annotate(distance=CosineDistance("embedding", vector))
        .order_by("distance")
        .values_list("article_id", "text", "distance")[:candidates]
    )
    for article_id, text, distance in question_rows:
        h = hit(article_id)
        similarity = 1.0 - float(distance)
        if similarity > h.question_similarity:
            h.question_similarity, h.matched_question = similarity, text

    chunk_rows = (
        Chunk.objects.filter(article__published=True)
        .annotate(distance=CosineDistance("embedding", vector))
        .order_by("distance")
        .values_list("article_id", "index", "text", "distance")[:candidates]
    )
    for article_id, index, text, distance in chunk_rows:
        h = hit(article_id)
        similarity = 1.0 - float(distance)
        h.vector_similarity = max(h.vector_similarity, similarity)
        h.chunks[index] = (text, similarity)

    lexemes = _query_lexemes(query)
    if lexemes:
        # Already normalised, so each lexeme is matched as it is ("simple"); any of them may match.
        ts_query = reduce(operator.or_, (SearchQuery(lexeme, config="simple") for lexeme in lexemes))
        for article_id, text, coverage in _fts(ExampleQuestion, ts_query, lexemes, ("article_id", "text"), candidates):
            h = hit(article_id)
            h.fts = max(h.fts, coverage)
            if not h.matched_question:
                h.matched_question = text
        for article_id, index, text, coverage in _fts(
            Chunk, ts_query, lexemes, ("article_id", "index", "text"), candidates
        ):
            h = hit(article_id)
            h.fts = max(h.fts, coverage)
            previous = h.chunks.get(index, (text, 0.0))[1]
            h.chunks[index] = (text, previous + fts_weight * coverage)

    if not hits:
        return []
    _fill_similarities([h for h in hits.values() if not h.vector_similarity and not h.question_similarity], vector)
    for h in hits.values():
        h.score = h.similarity + fts_weight * h.fts
    ranked = sorted(hits.values(), key=lambda h: -h.score)[:limit]
    _fill_articles(ranked, vector)
    return ranked


def article_hit(*, article_id: int, vector: Sequence[float]) -> ArticleHit | None:
    """A hit for one article chosen by other means (the classifier), with its nearest passages."""
    row = (
        ExampleQuestion.objects.filter(article_id=article_id, embedding__isnull=False)
        .annotate(distance=CosineDistance("embedding", vector))
        .order_by("distance")
        .values_list("text", "distance")
        .first()
    )
    h = ArticleHit(article_id=article_id)
    if row is not None:
        h.matched_question, h.question_similarity = row[0], 1.0 - float(row[1])
    _fill_articles([h], vector)
    if not h.title:
        return None
    h.score = max(h.question_similarity, h.vector_similarity)
    return h


def _fill_articles(hits: list[ArticleHit], vector: Sequence[float]) -> None:
    """Titles and URLs, and the nearest chunks of articles that were found by their questions only."""
    articles = Article.objects.filter(pk__in=[h.article_id for h in hits], published=True).in_bulk()
    for h in hits:
        article = articles.get(h.article_id)
        if article is not None:
            h.title, h.url = article.title, article.url
    missing = [h for h in hits if not h.chunks and h.article_id in articles]
    if missing:
        by_id = {h.article_id: h for h in missing}
        rows = (
            Chunk.objects.filter(article_id__in=by_id)
            .annotate(distance=CosineDistance("embedding", vector))
            .order_by("article_id", "distance")
            .values_list("article_id", "index", "text", "distance")
        )
        for article_id, index, text, distance in rows:
            h = by_id[article_id]
            if len(h.chunks) < 3:
                similarity = 1.0 - float(distance)
                h.chunks[index] = (text, similarity)
                h.vector_similarity = max(h.vector_similarity, similarity)


def _query_lexemes(query: str) -> list[str]:
    """The question's words as PostgreSQL's English dictionary normalises them (stemmed, no stop words)."""
    if not _WORD.search(query):
        return []
    # The raw question, so its words split exactly as the documents' did ("QX-7734" -> qx, -7734).
    with connection.cursor() as cursor:
        cursor.execute("SELECT tsvector_to_array(to_tsvector('english', %s))", [query[:1000]])
        (lexemes,) = cursor.fetchone()
    return sorted(lexemes or [])[:32]


def _fts(model, ts_query: SearchQuery, lexemes: list[str], fields: tuple[str, ...], limit: int):
    """Rows matching any of `lexemes`, with the share of the question's lexemes they contain.

    Coverage rather than ts_rank: a product code typed alone ("QX-7734") matches its article
    completely, and that is what should outweigh a vaguely similar embedding.
    """
    # The same expression as the GIN index, so the @@ filter can use it.
    document = SearchVector("text", config="english")
    coverage = RawSQL(
        "(SELECT count(*) FROM unnest(tsvector_to_array(to_tsvector('english'::regconfig, COALESCE(text, ''))))"
        " AS lexeme WHERE lexeme = ANY(%s))::float / %s",
        (lexemes, len(lexemes)),
    )
    return (
        model.objects.filter(article__published=True)
        .annotate(document=document)
        .filter(document=ts_query)
        .annotate(coverage=coverage)
        .order_by("-coverage")
        .values_list(*fields, "coverage")[:limit]
    )


def _fill_similarities(hits: list[ArticleHit], vector: Sequence[float]) -> None:
    """Real cosine similarities for articles that only full-text search found."""
    if not hits:
        return
    by_id = {h.article_id: h for h in hits}
    for model in (Chunk, ExampleQuestion):
        rows = (
            model.objects.filter(article_id__in=by_id, embedding__isnull=False)
            .annotate(distance=CosineDistance("embedding", vector))
            .values("article_id")
            .annotate(best=Min("distance"))
            .values_list("article_id", "best")
        )
        for article_id, distance in rows:
            h = by_id[article_id]
            if model is Chunk:
                h.vector_similarity = max(h.vector_similarity, 1.0 - float(distance))
            else:
                h.question_similarity = max(h.question_similarity, 1.0 - float(distance))
