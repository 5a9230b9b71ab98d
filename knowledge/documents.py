"""Uploaded files (Markdown, HTML, PDF, plain text) to one article each.

trafilatura extracts an HTML page's main text (dropping navigation and footers) and pypdf a PDF's
text layer. Only ingestion (a worker's task) imports this module, so the web process never loads them.
"""

from __future__ import annotations

import io
import re
import time
from dataclasses import dataclass
from pathlib import PurePath

import trafilatura
from pypdf import PdfReader
from pypdf.errors import PyPdfError

from knowledge import conf
from knowledge.models import Source
from knowledge.services import IngestResult, KnowledgeError, article_upsert

MARKDOWN = (".md", ".markdown")
HTML = (".html", ".htm")
TEXT = (".txt", ".text")
PDF = (".pdf",)
SUPPORTED = MARKDOWN + HTML + TEXT + PDF


@dataclass(frozen=True)
class Document:
    title: str
    body: str


def document_from_bytes(*, name: str, data: bytes) -> Document:
    """The title and text of an uploaded file; KnowledgeError if there is no text to use."""
    suffix = PurePath(name).suffix.lower()
    fallback_title = _title_from_name(name)
    if suffix in MARKDOWN + TEXT:
        text = data.decode("utf-8-sig", errors="replace").strip()
        heading = re.search(r"^#\s+(.+?)\s*#*\s*$", text, flags=re.MULTILINE) if suffix in MARKDOWN else None
        document = Document(title=heading.group(1) if heading else fallback_title, body=text)
    elif suffix in HTML:
        document = html_to_document(
            html=data.decode("utf-8", errors="replace"), url=None, fallback_title=fallback_title
        )
    elif suffix in PDF:
        document = _pdf_to_document(data, fallback_title)
    else:
        raise KnowledgeError(f"{name}: unsupported file type; upload one of {', '.join(SUPPORTED)}")
    if not document.body.strip():
        raise KnowledgeError(f"{name}: no text found (a scanned PDF needs OCR first)")
    limit = conf.get("DOCUMENT_MAX_CHARS")
    if len(document.body) > limit:
        raise KnowledgeError(
            f"{name}: {len(document.body):,} characters of text, more than the {limit:,} one article may hold; "
            "split it into several files"
        )
    return document


def html_to_document(*, html: str, url: str | None, fallback_title: str = "") -> Document:
    """The main content of an HTML page as Markdown, with the page's headline as title."""
    # favor_precision: on short help pages the default's fallback keeps menus ("Home, Cart") as text.
    extracted = trafilatura.bare_extraction(
        html, url=url, with_metadata=True, include_comments=False, favor_precision=True
    )
    body = trafilatura.extract(
        html,
        url=url,
        output_format="markdown",
        include_comments=False,
        include_tables=True,
        with_metadata=False,
        favor_precision=True,
    )
    title = (getattr(extracted, "title", None) or fallback_title or url or "Untitled").strip()
    return Document(title=title, body=(body or "").strip())


def _pdf_to_document(data: bytes, fallback_title: str) -> Document:
    """The PDF's text layer, within the page, time and text budgets (knowledge.conf): a crafted PDF
    must not hold the worker for minutes. pypdf's own errors become a message a manager can act on."""
    max_pages, max_seconds, max_chars = (
        conf.get("PDF_MAX_PAGES"),
        conf.get("PDF_MAX_SECONDS"),
        conf.get("DOCUMENT_MAX_CHARS"),
    )
    started = time.monotonic()
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise KnowledgeError(f"{fallback_title}: the PDF is password-protected; upload an unprotected copy")
        if len(reader.pages) > max_pages:
            raise KnowledgeError(
                f"{fallback_title}: {len(reader.pages)} pages, more than {max_pages}; split the PDF into smaller files"
            )
        pages, length = [], 0
        for page in reader.pages:
            if time.monotonic() - started > max_seconds:
                raise KnowledgeError(
                    f"{fallback_title}: reading the PDF took over {max_seconds:.0f} s; export it again "
                    "(e.g. print to PDF) or upload its text as Markdown"
                )
            text = (page.extract_text() or "").strip()
            length += len(text)
            if length > max_chars:  # the caller's message says how much is allowed
                pages.append(text)
                break
            pages.append(text)
        metadata_title = (reader.metadata.title if reader.metadata else None) or ""
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as error:
        raise KnowledgeError(
            f"{fallback_title}: this PDF could not be read (it looks damaged: {type(error).__name__}); "
            "export it again or upload it as Markdown or text"
        ) from error
    return Document(title=str(metadata_title).strip() or fallback_title, body="\n\n".join(p for p in pages if p))


def file_ingest(*, source: Source) -> IngestResult:
    """The source's uploaded file becomes (or updates) one article keyed by the file name."""
    if not source.file:
        raise KnowledgeError(f"{source} has no file; upload a Markdown, HTML, PDF or text file first")
    with source.file.open("rb") as handle:
        data = handle.read()
    name = _upload_name(source.file.name)
    document = document_from_bytes(name=name, data=data)
    _article, outcome = article_upsert(
        source=source, external_key=name, title=document.title, body=document.body, sync_questions=False
    )
    result = IngestResult()
    setattr(result, outcome, 1)
    return result


def _upload_name(stored_name: str) -> str:
    """The name the file was uploaded as: storage adds "_<7 random characters>" when a name is taken,
    and a re-upload of care.md must update the article care.md created."""
    path = PurePath(stored_name)
    return re.sub(r"_[A-Za-z0-9]{7}$", "", path.stem) + path.suffix


def _title_from_name(name: str) -> str:
    stem = PurePath(_upload_name(name)).stem
    return re.sub(r"[-_]+", " ", stem).strip().capitalize() or "Untitled"
