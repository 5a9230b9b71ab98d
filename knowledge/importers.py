"""FAQ import from CSV or JSON: one article per distinct `article`, each row's question an example question.

CSV: a header row; the columns default to `article,question,answer` and can be renamed (e.g. the
Bitext set: `--article-column intent --question-column instruction --answer-column response`).
Optional `url` and `tags` columns (tags separated by commas or semicolons). Without an article
column each row is its own article, titled by its question.

JSON: a list of objects with the same keys, where `questions` may also be a list; or an object
with such a list under "articles".
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter
from dataclasses import dataclass, field

from knowledge.links import is_safe_link
from knowledge.models import Source
from knowledge.services import IngestResult, KnowledgeError, article_upsert


@dataclass(frozen=True)
class Columns:
    article: str = "article"
    question: str = "question"
    answer: str = "answer"
    url: str = "url"
    tags: str = "tags"


@dataclass
class FaqEntry:
    """One article-to-be, gathered from every row that names it."""

    key: str
    title: str
    answers: Counter = field(default_factory=Counter)
    questions: list[str] = field(default_factory=list)
    url: str = ""
    tags: list[str] = field(default_factory=list)

    @property
    def body(self) -> str:
        # The most common answer wins: a few rows with a stray variant must not change the article.
        return self.answers.most_common(1)[0][0] if self.answers else ""


def faq_entries_from_file(*, name: str, data: bytes, columns: Columns | None = None) -> list[FaqEntry]:
    columns = columns or Columns()
    text = data.decode("utf-8-sig")
    if name.lower().endswith(".json"):
        rows = _json_rows(text)
    elif name.lower().endswith((".csv", ".tsv")):
        rows = _csv_rows(text, columns, delimiter="\t" if name.lower().endswith(".tsv") else ",")
    else:
        raise KnowledgeError(f"{name}: an FAQ file must be .csv, .tsv or .json")
    return faq_entries_from_rows(rows=rows, columns=columns, origin=name)


def faq_entries_from_rows(*, rows: list[dict], columns: Columns, origin: str = "FAQ") -> list[FaqEntry]:
    entries: dict[str, FaqEntry] = {}
    for number, row in enumerate(rows, start=1):
        questions = _as_list(row.get(columns.question) or row.get("questions"))
        answer = str(row.get(columns.answer) or row.get("body") or "").strip()
        article = str(row.get(columns.article) or row.get("title") or "").strip()
        if not article:
            if not questions:
                raise KnowledgeError(f"{origin}, row {number}: it names neither an article nor a question")
            article = questions[0]
        entry = entries.get(article)
        if entry is None:
            entry = entries[article] = FaqEntry(key=article[:500], title=article)
        if answer:
            entry.answers[answer] += 1
        entry.questions.extend(questions)
        url = str(row.get(columns.url) or "").strip()
        if url and not is_safe_link(url):
            raise KnowledgeError(f"{origin}, row {number}: url {url[:80]!r} is neither an http(s) URL nor a /path")
        entry.url = entry.url or url
        for tag in _as_list(row.get(columns.tags), split=True):
            if tag not in entry.tags:
                entry.tags.append(tag)
    missing = [entry.title for entry in entries.values() if not entry.body]
    if missing:
        raise KnowledgeError(f"{origin}: no answer for {len(missing)} article(s), e.g. {missing[0]!r}")
    return list(entries.values())


def faq_import(*, source: Source, entries: list[FaqEntry]) -> IngestResult:
    """Upsert `entries` into `source`; articles the file no longer has are unpublished, not deleted."""
    result = IngestResult()
    seen: set[int] = set()
    for entry in entries:
        article, outcome = article_upsert(
            source=source,
            external_key=entry.key,
            title=entry.title,
            body=entry.body,
            url=entry.url,
            tags=entry.tags,
            questions=entry.questions,
        )
        seen.add(article.pk)
        setattr(result, outcome, getattr(result, outcome) + 1)
    result.unpublished = source.articles.exclude(pk__in=seen).filter(published=True).update(published=False)
    return result


def faq_ingest(*, source: Source) -> IngestResult:
    """The source's uploaded FAQ file (CSV or JSON, the default columns) becomes its articles."""
    if not source.file:
        raise KnowledgeError(f"{source} has no file to import; upload a CSV or JSON file first")
    with source.file.open("rb") as handle:
        entries = faq_entries_from_file(name=source.file.name, data=handle.read())
    return faq_import(source=source, entries=entries)


def _csv_rows(text: str, columns: Columns, *, delimiter: str) -> list[dict]:
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    header = set(reader.fieldnames or [])
    if columns.question not in header and columns.article not in header:
        raise KnowledgeError(
            f"the CSV header {sorted(header)} has neither a {columns.question!r} nor an {columns.article!r} column"
        )
    if columns.answer not in header:
        raise KnowledgeError(f"the CSV header {sorted(header)} has no {columns.answer!r} column")
    return list(reader)


def _json_rows(text: str) -> list[dict]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise KnowledgeError(f"not valid JSON: {error}") from error
    if isinstance(data, dict):
        data = data.get("articles", data.get("faq"))
    if not isinstance(data, list) or not all(isinstance(row, dict) for row in data):
        raise KnowledgeError('JSON FAQ must be a list of objects (or {"articles": [...]})')
    return data


def _as_list(value, *, split: bool = False) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(item).strip() for item in value if str(item).strip()]
    value = str(value).strip()
    if not value:
        return []
    return [part.strip() for part in re.split(r"[;,]", value) if part.strip()] if split else [value]
