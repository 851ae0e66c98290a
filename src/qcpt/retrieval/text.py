"""How a document's title and text become the one string an encoder or BM25 reads."""

from __future__ import annotations

from qcpt.data import Document


def document_text(document: Document, title_separator: str = " ") -> str:
    """Join title and text with ``title_separator`` (BEIR and Tevatron use a space).

    A missing title gives the text alone, never a leading separator.
    """
    if document.title and document.title.strip():
        return f"{document.title.strip()}{title_separator}{document.text.strip()}".strip()
    return document.text.strip()
