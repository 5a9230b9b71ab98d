"""Hybrid retrieval: pgvector cosine search plus PostgreSQL full-text search, over chunks and example questions.

One statement (vector and full-text candidates, from each table) whose rows are fused per article:
score = best cosine similarity + FTS_WEIGHT * share of the question's words the article contains.
Vectors find paraphrases ("my parcel never came" for a shipping article); full text finds exact
words the embedding blurs (product codes, names).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Min, Value
from pgvector import Vector
from pgvector.django import CosineDistance

from knowledge import conf
from knowledge.hnsw import ef_search_ensure
from knowledge.models import Article, Chunk, ExampleQuestion
from nlp.embeddings import embed_one

_WORD = re.compile(r"[^\W_]+", re.UNICODE)


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

    def hit(article_id: int, title: str, url: str) -> ArticleHit:
        return hits.setdefault(article_id, ArticleHit(article_id=article_id, title=title, url=url))

    ef_search_ensure(connection)  # set when the connection opened: no query
    rows: dict[str, list[tuple]] = {kind: [] for kind in _SEARCH_KINDS}
    with connection.cursor() as cursor:
        cursor.execute(
            _SEARCH_SQL,
            {
                "vector": Vector(vector).to_text(),
                # The raw question, so its words split exactly as the documents' did ("QX-7734" -> qx, -7734).
                "question": query[:1000] if _WORD.search(query) else "",
                "candidates": candidates,
            },
        )
        for kind, *row in cursor.fetchall():
            rows[kind].append(row)

    for article_id, title, url, _index, text, distance in rows["question"]:
        h = hit(article_id, title, url)
        similarity = 1.0 - float(distance)
        if similarity > h.question_similarity:
            h.question_similarity, h.matched_question = similarity, text
    for article_id, title, url, index, text, distance in rows["chunk"]:
        h = hit(article_id, title, url)
        similarity = 1.0 - float(distance)
        h.vector_similarity = max(h.vector_similarity, similarity)
        h.chunks[index] = (text, similarity)
    for article_id, title, url, _index, text, coverage in rows["question_fts"]:
        h = hit(article_id, title, url)
        h.fts = max(h.fts, coverage)
        if not h.matched_question:
            h.matched_question = text
    for article_id, title, url, index, text, coverage in rows["chunk_fts"]:
        h = hit(article_id, title, url)
        h.fts = max(h.fts, coverage)
        previous = h.chunks.get(index, (text, 0.0))[1]
        h.chunks[index] = (text, previous + fts_weight * coverage)

    if not hits:
        return []
    _fill_similarities([h for h in hits.values() if not h.vector_similarity and not h.question_similarity], vector)
    for h in hits.values():
        h.score = h.similarity + fts_weight * h.fts
    ranked = sorted(hits.values(), key=lambda h: -h.score)[:limit]
    _fill_chunks(ranked, vector)
    return ranked


# The four candidate lists of `search` in one round trip, each row with its article's title and URL (the
# published-article join is there anyway), each list in its own order and told apart by its kind:
# - the nearest example questions and the nearest chunks, each through its own HNSW index;
# - the example questions and chunks containing any of the question's words, with the share of those
#   words they contain. Coverage rather than ts_rank: a product code typed alone ("QX-7734") matches
#   its article completely, and that is what should outweigh a vaguely similar embedding.
# The question's words are its lexemes as PostgreSQL's English dictionary normalises them (stemmed, no
# stop words), at most 32 in code-point order. Normalised already, each is matched as it is ("simple").
# The documents' expression is the GIN indexes' own (SearchVector("text", config="english")), so @@ uses them;
# a question without words skips the full-text lists (a one-time filter). Equal coverage goes by id, so
# the cut at the limit is the same every time.
_SEARCH_KINDS = ("question", "chunk", "question_fts", "chunk_fts")
_SEARCH_SQL = """
WITH words AS (
    SELECT lexemes, cardinality(lexemes) AS total,
        ARRAY(SELECT plainto_tsquery('simple'::regconfig, lexeme) FROM unnest(lexemes) AS lexeme) AS queries
    FROM (SELECT ARRAY(
        SELECT lexeme FROM unnest(tsvector_to_array(to_tsvector('english'::regconfig, %(question)s))) AS lexeme
        ORDER BY lexeme COLLATE "C" LIMIT 32
    ) AS lexemes) AS question
)
(
    SELECT 'question', q.article_id, a.title, a.url, NULL::integer, q.text,
        q.embedding <=> %(vector)s::vector AS distance
    FROM knowledge_examplequestion q JOIN knowledge_article a ON a.id = q.article_id
    WHERE a.published AND q.embedding IS NOT NULL
    ORDER BY distance LIMIT %(candidates)s
) UNION ALL (
    SELECT 'chunk', c.article_id, a.title, a.url, c.index, c.text,
        c.embedding <=> %(vector)s::vector AS distance
    FROM knowledge_chunk c JOIN knowledge_article a ON a.id = c.article_id
    WHERE a.published
    ORDER BY distance LIMIT %(candidates)s
) UNION ALL (
    SELECT 'question_fts', q.article_id, a.title, a.url, NULL::integer, q.text,
        (SELECT count(*)
         FROM unnest(tsvector_to_array(to_tsvector('english'::regconfig, COALESCE((q.text)::text, '')))) AS lexeme
         WHERE lexeme = ANY((SELECT lexemes FROM words)::text[])
        )::float / (SELECT total FROM words) AS coverage
    FROM knowledge_examplequestion q JOIN knowledge_article a ON a.id = q.article_id
    WHERE (SELECT total FROM words) > 0 AND a.published
        AND to_tsvector('english'::regconfig, COALESCE((q.text)::text, ''))
            @@ ANY((SELECT queries FROM words)::tsquery[])
    ORDER BY coverage DESC, q.id LIMIT %(candidates)s
) UNION ALL (
    SELECT 'chunk_fts', c.article_id, a.title, a.url, c.index, c.text,
        (SELECT count(*)
         FROM unnest(tsvector_to_array(to_tsvector('english'::regconfig, COALESCE((c.text)::text, '')))) AS lexeme
         WHERE lexeme = ANY((SELECT lexemes FROM words)::text[])
        )::float / (SELECT total FROM words) AS coverage
    FROM knowledge_chunk c JOIN knowledge_article a ON a.id = c.article_id
    WHERE (SELECT total FROM words) > 0 AND a.published
        AND to_tsvector('english'::regconfig, COALESCE((c.text)::text, ''))
            @@ ANY((SELECT queries FROM words)::tsquery[])
    ORDER BY coverage DESC, c.id LIMIT %(candidates)s
)
"""


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
    """Titles and URLs of published articles, and their nearest chunks when they have none yet."""
    articles = Article.objects.filter(pk__in=[h.article_id for h in hits], published=True).in_bulk()
    for h in hits:
        article = articles.get(h.article_id)
        if article is not None:
            h.title, h.url = article.title, article.url
    _fill_chunks([h for h in hits if h.article_id in articles], vector)


def _fill_chunks(hits: list[ArticleHit], vector: Sequence[float]) -> None:
    """The nearest chunks of articles that were found by their questions only."""
    missing = [h for h in hits if not h.chunks]
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


def _fill_similarities(hits: list[ArticleHit], vector: Sequence[float]) -> None:
    """Real cosine similarities for articles that only full-text search found (one query for both tables)."""
    if not hits:
        return
    by_id = {h.article_id: h for h in hits}

    def best(model, kind: str):
        return (
            model.objects.filter(article_id__in=by_id, embedding__isnull=False)
            .annotate(distance=CosineDistance("embedding", vector))
            .values("article_id")
            .annotate(best=Min("distance"), kind=Value(kind))
            .values_list("kind", "article_id", "best")
        )

    for kind, article_id, distance in best(Chunk, "chunk").union(best(ExampleQuestion, "question"), all=True):
        h = by_id[article_id]
        if kind == "chunk":
            h.vector_similarity = max(h.vector_similarity, 1.0 - float(distance))
        else:
            h.question_similarity = max(h.question_similarity, 1.0 - float(distance))
