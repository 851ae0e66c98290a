"""Examples drawn from a groups file, and their batches of tokens."""

from __future__ import annotations

import pytest
from transformers import AutoTokenizer

from qcpt.data.training_groups import GroupPassage, TrainingGroup, write_groups
from qcpt.errors import QcptError
from qcpt.finetune.collator import GroupCollator
from qcpt.finetune.dataset import GroupsDataset


@pytest.fixture()
def groups_file(tmp_path):
    groups = [
        TrainingGroup(
            "q0",
            "cells protein",
            [GroupPassage("d0", "cells protein gene", "cells")],
            [GroupPassage(f"n{i}", f"negative {i}") for i in range(5)],
        ),
        TrainingGroup(
            "q1",
            "risk",
            [GroupPassage("d1", "risk brain"), GroupPassage("d2", "blood")],
            [GroupPassage("n9", "only negative")],
        ),
        TrainingGroup("q2", "no negatives", [GroupPassage("d3", "mice")]),
    ]
    path = tmp_path / "groups.jsonl"
    write_groups(groups, path)
    return path


def test_items_are_query_and_group(groups_file, caplog):
    dataset = GroupsDataset(groups_file, group_size=3, seed=0, title_separator=" | ")
    assert len(dataset) == 2 and "1 groups have no negative" in caplog.text
    item = dataset[0]
    assert item["query"] == "cells protein"
    assert item["passages"][0] == "cells | cells protein gene"
    assert len(item["passages"]) == 3
    assert set(item["passages"][1:]) <= {f"negative {i}" for i in range(5)}
    assert dataset[1]["passages"][1:] == ["only negative", "only negative"]  # with replacement


def test_epochs_rotate_negatives_and_positives_reproducibly(groups_file):
    dataset = GroupsDataset(groups_file, group_size=3, seed=0)
    seen = []
    for epoch in range(3):
        dataset.set_epoch(epoch)
        seen.append(dataset[0]["passages"][1:])
        assert dataset[1]["passages"][0] == ["risk brain", "blood"][epoch % 2]
    assert seen[0] != seen[1]
    assert len(set(seen[0]) | set(seen[1])) == 4  # consecutive windows of one shuffle
    dataset.set_epoch(1)
    assert GroupsDataset(groups_file, group_size=3, seed=0).group(0) == dataset.group(0)
    again = GroupsDataset(groups_file, group_size=3, seed=0)
    again.set_epoch(1)
    assert again[0] == dataset[0]


def test_group_size_one_keeps_groups_without_negatives(groups_file):
    dataset = GroupsDataset(groups_file, group_size=1)
    assert len(dataset) == 3 and dataset[2]["passages"] == ["mice"]


def test_no_usable_group_is_an_error(tmp_path):
    path = tmp_path / "g.jsonl"
    write_groups([TrainingGroup("q", "q", [GroupPassage("d", "t")])], path)
    with pytest.raises(QcptError, match="no training group"):
        GroupsDataset(path, group_size=2)


def test_collator_pads_each_side_to_its_longest(tiny_bert_dir):
    tokenizer = AutoTokenizer.from_pretrained(tiny_bert_dir)
    collate = GroupCollator(tokenizer, query_max_length=4, passage_max_length=6)
    batch = collate(
        [
            {"query": "cells", "passages": ["cells protein", "gene"]},
            {"query": "risk brain blood study cancer", "passages": ["a b c d e f g h", "dna"]},
        ]
    )
    assert batch["query"]["input_ids"].shape == (2, 4)  # truncated to 4 with [CLS]/[SEP]
    assert batch["passages"]["input_ids"].shape == (4, 6)
    assert batch["query"]["attention_mask"][0].tolist() == [1, 1, 1, 0]
    assert batch["passages"]["attention_mask"][:, :4].sum().item() < 16
