"""A tiny experiment: the 12-document BEIR folder, the tiny BERT, recipes for every step kind."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml


def write_experiment(root: Path, dataset: Path, model: Path, **changes) -> Path:
    """Stage recipes, a recorded queries file and an experiment over them; returns its path."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "querygen.yaml").write_text(
        yaml.safe_dump(
            {
                "passages": {"max_tokens": 16, "tokenizer": str(model)},
                "generation": {"num_queries": 2},
            }
        )
    )
    with (root / "queries.jsonl").open("w") as handle:
        for line in (dataset / "corpus.jsonl").read_text().splitlines():
            doc = json.loads(line)
            words = doc["text"].split()
            handle.write(
                json.dumps(
                    {
                        "_id": f"{doc['_id']}-0",
                        "queries": [" ".join(words[:2]), " ".join(words[1:3])],
                    }
                )
                + "\n"
            )
    tiny = {
        "model": {"passage_max_length": 16, "context_max_length": 16},
        "training": {"logging_steps": 1, "save_steps": 1},
    }
    (root / "pretrain-contrastive.yaml").write_text(
        yaml.safe_dump(
            {"objective": "contrastive", "data": {"passages": "x", "context": "query"}, **tiny}
        )
    )
    (root / "pretrain-generative.yaml").write_text(
        yaml.safe_dump(
            {"objective": "generative", "data": {"passages": "x", "context": "query"}, **tiny}
        )
    )
    (root / "finetune.yaml").write_text(
        yaml.safe_dump(
            {
                "dataset": "unused",
                "stages": 1,
                "encoder": {"query_max_length": 8, "passage_max_length": 16},
                "bm25_negatives": {"depth": 8, "negatives": 4},
                "training": {
                    "max_steps": 2,
                    "batch_size": 2,
                    "group_size": 3,
                    "learning_rate": 1e-3,
                    "logging_steps": 1,
                },
                "evaluation": {"batch_size": 8},
            }
        )
    )
    experiment = {
        "name": "tiny",
        "dataset": str(dataset),
        "model": str(model),
        "seeds": [1],
        "executor": "inline",
        "queries": {"recipe": "querygen.yaml", "passages": None, "queries_file": "queries.jsonl"},
        "pretraining": {"max_steps": 2, "batch_size": 4, "learning_rate": 1e-3},
        "finetuning": {"recipe": "finetune.yaml"},
        "label_free": {"depth": 8, "negatives": 3, "skip_top": 1},
        "systems": [
            {"name": "bm25", "kind": "bm25"},
            {"name": "zero-shot", "kind": "zero-shot"},
            {"name": "ft-only", "kind": "finetune"},
            {
                "name": "span",
                "kind": "pretrain-finetune",
                "pretrain": "pretrain-contrastive.yaml",
                "overrides": {"data.context": "span-random"},
                "seeds": [1, 2],
            },
            {
                "name": "qc",
                "kind": "pretrain-finetune",
                "pretrain": "pretrain-contrastive.yaml",
                "seeds": [1, 2],
            },
            {
                "name": "cotmae-qc",
                "kind": "pretrain-finetune",
                "pretrain": "pretrain-generative.yaml",
            },
            {"name": "label-free", "kind": "label-free", "pretrain": "pretrain-contrastive.yaml"},
            {"name": "hybrid", "kind": "hybrid", "fuse": ["bm25", "qc"]},
        ],
        "baseline": "ft-only",
        "comparisons": [{"query": "qc", "span": "span"}],
        **changes,
    }
    path = root / "experiment.yaml"
    path.write_text(yaml.safe_dump(experiment, sort_keys=False))
    return path


@pytest.fixture()
def tiny_experiment(tmp_path, tiny_beir, tiny_bert_dir) -> Path:
    return write_experiment(tmp_path / "recipes", tiny_beir, tiny_bert_dir)
