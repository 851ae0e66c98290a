"""How a document's or passage's title and text become the one string a model or BM25 reads."""

from __future__ import annotations

from typing import Protocol


class Titled(Protocol):
    title: str
    text: str


def document_text(document: Titled, title_separator: str = " ") -> str:
    """Join title and text with ``title_separator`` (BEIR and Tevatron use a space); any record
    with ``title`` and ``text`` (a :class:`~qcpt.data.Document`, a passage).

    A missing title gives the text alone, never a leading separator.
    """
    if document.title and document.title.strip():
        return f"{document.title.strip()}{title_separator}{document.text.strip()}".strip()
    return document.text.strip()
