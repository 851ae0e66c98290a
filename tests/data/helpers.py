"""Plain helpers for the data tests: the tiny BEIR data set and JSON Lines text."""

from __future__ import annotations

import json
from pathlib import Path

TINY_CORPUS = [
    {"_id": "d1", "title": "Cats", "text": "cats purr, loudly"},
    {"_id": "d2", "title": "", "text": "dogs bark"},
    {"_id": "d3", "title": "Birds", "text": "birds sing in the morning"},
    {"_id": "d4", "text": "fish swim silently in deep blue water"},
]
TINY_QUERIES = [
    {"_id": "q1", "text": "do cats purr?"},
    {"_id": "q2", "text": "barking dogs"},
    {"_id": "q3", "text": "where do birds sing"},
]
TINY_QRELS = {
    # q7 has no query text; d9 is not in the corpus.
    "test": "query-id\tcorpus-id\tscore\nq1\td1\t1\nq1\td2\t0\nq2\td2\t2\nq2\td9\t1\nq7\td3\t1\n",
    "train": "query-id\tcorpus-id\tscore\nq3\td3\t1\nq3\td4\t0\n",
}


def jsonl(records: list) -> str:
    """JSON Lines text for ``records``."""
    return "".join(json.dumps(record) + "\n" for record in records)


def write_beir(folder: Path) -> Path:
    """Write the tiny BEIR data set into ``folder`` and return it."""
    (folder / "qrels").mkdir(parents=True)
    (folder / "corpus.jsonl").write_text(jsonl(TINY_CORPUS))
    (folder / "queries.jsonl").write_text(jsonl(TINY_QUERIES))
    for split, text in TINY_QRELS.items():
        (folder / "qrels" / f"{split}.tsv").write_text(text)
    return folder
