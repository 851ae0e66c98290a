"""BM25 retrieval with bm25s: English stemming and stop words by default, saved and loadable index.

Reference: Lù, "BM25S: Orders of magnitude faster lexical search via eager sparse scoring" (2024);
Robertson & Zaragoza, "The Probabilistic Relevance Framework: BM25 and Beyond" (2009).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import bm25s
from bm25s.tokenization import Tokenizer
from pydantic import BaseModel, ValidationError
from tqdm.auto import tqdm

from qcpt.data import Document
from qcpt.data.text import document_text
from qcpt.errors import QcptError
from qcpt.evaluation.runs import Run
from qcpt.utils.config import validation_problems
from qcpt.utils.io import write_json

logger = logging.getLogger(__name__)

_SETTINGS_FILE = "qcpt_bm25.json"
_IDS_FILE = "doc_ids.json"


class BM25Settings(BaseModel):
    """How text is tokenised and scored. Defaults follow the BEIR/Lucene setting."""

    k1: float = 1.5
    b: float = 0.75
    method: str = "lucene"
    stemmer: str | None = "english"
    stopwords: str | None = "en"
    title_separator: str = " "


class BM25Index:
    """A bm25s index plus the document ids and the tokenizer needed to query it."""

    def __init__(self, settings: BM25Settings | None = None):
        self.settings = settings or BM25Settings()
        self.tokenizer = Tokenizer(
            stemmer=_make_stemmer(self.settings.stemmer),
            stopwords=self.settings.stopwords or [],
        )
        self.retriever = bm25s.BM25(
            k1=self.settings.k1, b=self.settings.b, method=self.settings.method
        )
        self.doc_ids: list[str] = []

    def index(self, documents: Iterable[Document], show_progress: bool = True) -> BM25Index:
        """Tokenise and index ``documents`` (title joined to text); returns self.

        Texts are streamed into the tokenizer one document at a time, so the corpus text is
        never held in memory: only the ids and bm25s' token-id lists, which its indexer needs.
        """

        def texts() -> Iterator[str]:
            for document in documents:
                self.doc_ids.append(document.id)
                yield document_text(document, self.settings.title_separator)

        stream = self.tokenizer.tokenize(texts(), update_vocab=True, return_as="stream")
        tokens = list(tqdm(stream, desc="Tokenize texts", leave=False, disable=not show_progress))
        if not tokens:
            raise QcptError("cannot build a BM25 index over an empty corpus")
        self.retriever.index(tokens, show_progress=show_progress)
        return self

    def search(self, queries: Mapping[str, str], k: int = 1000, show_progress: bool = True) -> Run:
        """Score ``queries`` (id -> text) and return the top ``k`` documents of each as a run."""
        query_ids = list(queries)
        tokens = self.tokenizer.tokenize(
            [queries[q] for q in query_ids],
            update_vocab=False,
            return_as="ids",
            show_progress=False,
        )
        k = min(k, len(self.doc_ids))
        run: Run = {}
        # bm25s maps a query with no indexed terms to the id of its empty-string token
        blank = self.tokenizer.get_vocab_dict().get("")
        empty = [i for i, ids in enumerate(tokens) if all(t == blank for t in ids)]
        if empty:
            logger.warning(
                "%d queries have no indexed terms and get no results (e.g. %r)",
                len(empty),
                query_ids[empty[0]],
            )
        nonempty = sorted(set(range(len(tokens))) - set(empty))
        for q in (query_ids[i] for i in empty):
            run[q] = {}
        if nonempty:
            indices, scores = self.retriever.retrieve(
                [tokens[i] for i in nonempty], k=k, show_progress=show_progress
            )
            for row, i in enumerate(nonempty):
                keep = scores[row] > 0
                run[query_ids[i]] = {
                    self.doc_ids[d]: float(s)
                    for d, s in zip(indices[row][keep], scores[row][keep], strict=True)
                }
        return run

    def save(self, directory: str | Path) -> Path:
        """Write the index, vocabulary, ids and settings to ``directory``."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.retriever.save(str(directory), show_progress=False)
        self.tokenizer.save_vocab(str(directory))
        write_json(directory / _IDS_FILE, self.doc_ids, indent=0)
        # written last: its presence marks a complete index
        write_json(directory / _SETTINGS_FILE, self.settings.model_dump())
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> BM25Index:
        """Load an index written by :meth:`save`."""
        directory = Path(directory)
        settings_path = directory / _SETTINGS_FILE
        if not settings_path.is_file():
            raise QcptError(f"{directory} is not a qcpt BM25 index (no {_SETTINGS_FILE})")
        try:
            index = cls(BM25Settings.model_validate_json(settings_path.read_text()))
            index.retriever = bm25s.BM25.load(str(directory), show_progress=False)
            index.tokenizer.load_vocab(str(directory))
            index.doc_ids = json.loads((directory / _IDS_FILE).read_text())
        except ValidationError as error:
            raise QcptError(
                f"{settings_path}: {validation_problems(error)}; remove {directory} "
                "to build the index again"
            ) from None
        except (OSError, ValueError) as error:  # a missing or malformed file of the index
            raise QcptError(
                f"{directory}: cannot load the BM25 index ({error}); remove the "
                "folder to build it again"
            ) from None
        return index


def _make_stemmer(language: str | None):
    if not language:
        return None
    import Stemmer

    try:
        return Stemmer.Stemmer(language)
    except KeyError as error:
        raise QcptError(
            f"unknown stemmer language {language!r}; choose one of "
            f"{', '.join(Stemmer.algorithms())}"
        ) from error


__all__ = ["BM25Index", "BM25Settings"]
