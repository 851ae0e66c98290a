"""Training examples from a groups file: a query and a group of 1 positive + n-1 negatives.

The file is indexed by line offsets and each group is parsed when it is drawn, so MS MARCO-size
files with 128 negatives per query do not have to fit in memory. Sampling follows Tevatron
(Gao & Callan 2022): the positive cycles through a group's positives by epoch; negatives come
from a fixed seeded shuffle of the group's negatives, a different window of it each epoch, and
are drawn with replacement when a group has fewer than needed.
"""

from __future__ import annotations

import logging
import random
from pathlib import Path

from torch.utils.data import Dataset

from qcpt.data import Document
from qcpt.data.text import document_text
from qcpt.data.training_groups import GroupPassage, TrainingGroup, parse_group_line
from qcpt.errors import QcptError

logger = logging.getLogger(__name__)


class GroupsDataset(Dataset):
    """Item ``i`` is ``{"query": str, "passages": [positive, negative, ...]}`` (group_size texts).

    Passages are ``title + title_separator + text``. Groups without negatives are skipped (with
    one warning) when ``group_size > 1``. ``set_epoch`` changes which positive and negatives are
    drawn; the same (seed, epoch, item) always gives the same example.
    """

    def __init__(
        self, path: str | Path, group_size: int, *, seed: int = 42, title_separator: str = " "
    ):
        if group_size < 1:
            raise QcptError(f"group_size must be at least 1, got {group_size}")
        self.path = Path(path)
        self.group_size = group_size
        self.seed = seed
        self.title_separator = title_separator
        self.epoch = 0
        self._offsets = self._index_lines()
        if not self._offsets:
            raise QcptError(f"{self.path}: no training group usable with group size {group_size}")

    def _index_lines(self) -> list[tuple[int, int]]:
        offsets, without_negatives = [], 0
        with self.path.open("rb") as handle:
            number, offset = 0, 0
            for raw in handle:
                number += 1
                if raw.strip():
                    group = parse_group_line(raw.decode("utf-8"), self.path, number)
                    if self.group_size > 1 and not group.negatives:
                        without_negatives += 1
                    else:
                        offsets.append((offset, number))
                offset += len(raw)
        if without_negatives:
            logger.warning(
                "%s: %d groups have no negative passage and are skipped",
                self.path,
                without_negatives,
            )
        return offsets

    def __len__(self) -> int:
        return len(self._offsets)

    def set_epoch(self, epoch: int) -> None:
        """Draw the examples of ``epoch`` from now on."""
        self.epoch = epoch

    def group(self, index: int) -> TrainingGroup:
        """The parsed group behind item ``index``."""
        offset, number = self._offsets[index]
        with self.path.open("rb") as handle:
            handle.seek(offset)
            return parse_group_line(handle.readline().decode("utf-8"), self.path, number)

    def __getitem__(self, index: int) -> dict:
        group = self.group(index)
        positive = group.positives[self.epoch % len(group.positives)]
        wanted = self.group_size - 1
        negatives = list(group.negatives)
        if wanted == 0:
            chosen: list[GroupPassage] = []
        elif len(negatives) < wanted:
            chosen = random.Random(f"{self.seed}:{index}:{self.epoch}").choices(negatives, k=wanted)
        else:
            random.Random(f"{self.seed}:{index}").shuffle(negatives)
            start = self.epoch * wanted % len(negatives)
            chosen = (negatives + negatives)[start : start + wanted]
        return {"query": group.query, "passages": [self._text(p) for p in [positive, *chosen]]}

    def _text(self, passage: GroupPassage) -> str:
        return document_text(
            Document(passage.docid, passage.text, passage.title), self.title_separator
        )
