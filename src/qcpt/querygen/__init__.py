"""Pseudo-query generation (doc2query) for query-as-context pre-training.

Documents -> sentence-packed passages (:mod:`.passages`) -> generator (:mod:`.backends`:
seq2seq T5, few-shot causal LM on llama.cpp or transformers, precomputed files) -> cleaning and
optional consistency filtering (:mod:`.filters`) -> resumable, shardable jsonl with a sidecar
(:mod:`.writer`, :mod:`.generate`) -> quality report (:mod:`.report`).

References: Nogueira et al., "Document Expansion by Query Prediction" (2019); Nogueira & Lin,
"From doc2query to docTTTTTquery" (2019); Wu et al., "Query-as-context Pre-training for Dense
Passage Retrieval" (2023).
"""

from qcpt.querygen.backends import QueryGenerator, create_generator
from qcpt.querygen.config import (
    CleanSettings,
    ConsistencySettings,
    GenerationSettings,
    QueryGenConfig,
)
from qcpt.querygen.filters import clean_queries, consistency_filter
from qcpt.querygen.generate import GenerationSummary, generate_queries
from qcpt.querygen.passages import PassageSettings, PassageSplitter, split_documents
from qcpt.querygen.prompts import FewShotPrompt
from qcpt.querygen.writer import merge_shards

__all__ = [
    "CleanSettings",
    "ConsistencySettings",
    "FewShotPrompt",
    "GenerationSettings",
    "GenerationSummary",
    "PassageSettings",
    "PassageSplitter",
    "QueryGenConfig",
    "QueryGenerator",
    "clean_queries",
    "consistency_filter",
    "create_generator",
    "generate_queries",
    "merge_shards",
    "split_documents",
]
