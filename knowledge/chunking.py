"""Split article bodies into passages with LangChain's text splitters (imported on first use)."""

from __future__ import annotations

from knowledge import conf


def split_text(*, text: str, markdown: bool = False) -> list[str]:
    """Passages of about CHUNK_SIZE characters, cut at paragraph, then sentence, then word breaks."""
    from langchain_text_splitters import Language, RecursiveCharacterTextSplitter  # noqa: PLC0415 - LangChain, on first use

    text = text.strip()
    if not text:
        return []
    size, overlap = conf.get("CHUNK_SIZE"), conf.get("CHUNK_OVERLAP")
    if markdown:
        # Prefers cutting before headings, so a section's heading stays with its text.
        splitter = RecursiveCharacterTextSplitter.from_language(
            Language.MARKDOWN, chunk_size=size, chunk_overlap=overlap
        )
    else:
        splitter = RecursiveCharacterTextSplitter(
            chunk_size=size,
            chunk_overlap=overlap,
            separators=["\n\n", "\n", ". ", "? ", "! ", "; ", ", ", " ", ""],
            keep_separator="end",  # a sentence keeps its full stop instead of lending it to the next chunk
        )
    return [chunk.strip() for chunk in splitter.split_text(text) if chunk.strip()]
