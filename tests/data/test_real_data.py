"""The real SciFact copy in ../shared/data (skipped when it is absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

from qcpt.data import resolve_dataset

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


@pytest.mark.slow
@pytest.mark.skipif(not (SHARED_DATA / "scifact").is_dir(), reason="../shared/data/scifact absent")
def test_scifact_sizes():
    dataset = resolve_dataset("scifact", data_dir=SHARED_DATA)
    assert len(dataset.corpus()) == 5183
    assert len(dataset.queries("test")) == 300
    qrels = dataset.qrels("test", drop_unknown_docs=True)
    assert sum(len(judged) for judged in qrels.values()) == 339
