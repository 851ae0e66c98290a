"""The experiment recipe of ``qcpt run``: a dataset, its generated queries, the systems to
compare, their budgets and seeds.

Every stage setting stays in the stage's own recipe (``qcpt generate-queries``, ``qcpt
pretrain``, ``qcpt finetune`` configs), which the experiment names by path (relative to the
experiment file) and overrides with dotted keys; what the experiment adds is only what makes
the rows comparable: the starting model, the data every pre-training row reads, one budget for
all pre-training rows, one fine-tuning recipe, the seeds, and which rows are compared.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from qcpt.encoder import DEFAULT_MODEL
from qcpt.errors import QcptError
from qcpt.utils.config import Recipe, Section

SystemKind = Literal["bm25", "zero-shot", "finetune", "pretrain-finetune", "label-free", "hybrid"]
NAME_PATTERN = r"^[a-z0-9][a-z0-9._-]*$"


class QueriesSettings(Section):
    """The generation step: the passages pre-training reads and their generated queries."""

    recipe: str = Field(description="query-generation recipe (qcpt generate-queries -c)")
    passages: int | None = Field(
        3200,
        gt=0,
        description="pre-train on the passages of seeded-random whole documents, at "
        "least this many (null: every passage of the corpus)",
    )
    sample_seed: int = 13
    queries_file: str | None = Field(
        None,
        description="import these generated queries (jsonl with its .meta.json sidecar) "
        "with the file backend instead of running the generator",
    )
    overrides: dict[str, Any] = Field(
        default_factory=dict, description="dotted overrides of the query-generation recipe"
    )


class PretrainingSettings(Section):
    """One budget for every pre-training system (written into each recipe's training section)."""

    max_steps: int = Field(100, gt=0)
    batch_size: int = Field(32, gt=0, description="pairs per device and step")
    learning_rate: float = Field(5e-5, gt=0)
    warmup_ratio: float = Field(0.1, ge=0, le=1)


class FinetuningSettings(Section):
    """The fine-tuning recipe every fine-tuned system uses (qcpt finetune -c)."""

    recipe: str
    overrides: dict[str, Any] = Field(
        default_factory=dict, description="dotted overrides of the fine-tuning recipe"
    )


class LabelFreeSettings(Section):
    """Fine-tuning without human labels: generated queries, their passages' documents as
    positives, negatives mined by the pre-trained encoder."""

    queries_per_passage: int = Field(1, gt=0)
    max_queries: int | None = Field(
        None, gt=0, description="a seeded sample of this many generated queries (null: all)"
    )
    depth: int = Field(100, gt=0, description="ranks mined per query")
    negatives: int = Field(30, gt=0)
    skip_top: int = Field(
        3,
        ge=0,
        description="ranks skipped before sampling negatives: "
        "without labels the top of a ranking holds unjudged positives",
    )


class SystemSettings(Section):
    """One row of the comparison."""

    name: str = Field(pattern=NAME_PATTERN, description="folder and table name")
    kind: SystemKind
    label: str | None = Field(None, description="name shown in the report (default: name)")
    pretrain: str | None = Field(
        None, description="pre-training recipe (qcpt pretrain -c); pretrain-finetune and label-free"
    )
    overrides: dict[str, Any] = Field(
        default_factory=dict, description="dotted overrides of the pre-training recipe"
    )
    seeds: list[int] | None = Field(
        None, min_length=1, description="default: the experiment's seeds"
    )
    fuse: list[str] = Field(default_factory=list, description="hybrid: the systems fused")

    @model_validator(mode="after")
    def _kind_needs(self) -> SystemSettings:
        if self.kind == "pretrain-finetune" and not self.pretrain:
            raise ValueError(f"system {self.name!r}: a pretrain-finetune system needs pretrain")
        if self.kind not in ("pretrain-finetune", "label-free") and self.pretrain:
            raise ValueError(f"system {self.name!r}: a {self.kind} system takes no pretrain")
        if self.kind == "hybrid" and len(self.fuse) < 2:
            raise ValueError(f"system {self.name!r}: a hybrid fuses at least 2 systems")
        if self.kind != "hybrid" and self.fuse:
            raise ValueError(f"system {self.name!r}: only a hybrid system fuses")
        return self

    @property
    def display(self) -> str:
        return self.label or self.name


class Comparison(Section):
    """A query-context system against its span-context twin."""

    query: str
    span: str


class ExperimentEvaluationSettings(Section):
    """Where every system is scored (BM25 and zero-shot use the fine-tuning recipe's encoder
    lengths and evaluation settings, so every dense row is encoded alike)."""

    split: str | None = Field(
        "test",
        description="null: a corpus without qrels, nothing is evaluated (label-free adaptation)",
    )
    main_measure: str = "nDCG@10"


class ExperimentConfig(Recipe):
    """A whole ``qcpt run`` experiment."""

    kind = "experiment recipe"

    name: str = Field(pattern=NAME_PATTERN)
    dataset: str = Field(description="dataset folder or name resolved in data_dir")
    data_dir: str | None = None
    model: str = Field(DEFAULT_MODEL, description="the starting encoder of every dense system")
    seeds: list[int] = Field(default_factory=lambda: [42], min_length=1)
    queries: QueriesSettings | None = None
    pretraining: PretrainingSettings = PretrainingSettings()
    finetuning: FinetuningSettings | None = None
    label_free: LabelFreeSettings = LabelFreeSettings()
    evaluation: ExperimentEvaluationSettings = ExperimentEvaluationSettings()
    systems: list[SystemSettings] = Field(min_length=1)
    baseline: str | None = Field(None, description="the system every other is tested against")
    comparisons: list[Comparison] = Field(default_factory=list)
    executor: Literal["subprocess", "inline"] = Field(
        "subprocess",
        description="run each step in its own process (its own peak memory, "
        "freed afterwards) or in this one (tests)",
    )
    launcher: list[str] | None = Field(
        None,
        description="command that starts pre-training and fine-tuning steps, e.g. "
        "[torchrun, --nproc_per_node, '4'] or [accelerate, launch]; default: python",
    )

    @model_validator(mode="after")
    def _consistent(self) -> ExperimentConfig:
        names = [system.name for system in self.systems]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"systems named twice: {', '.join(repeated)}")
        known = set(names)
        by_name = {system.name: system for system in self.systems}
        for system in self.systems:
            for part in system.fuse:
                if part not in known:
                    raise ValueError(f"system {system.name!r} fuses unknown system {part!r}")
                if by_name[part].kind == "hybrid":
                    raise ValueError(f"system {system.name!r} fuses hybrid {part!r}")
        for label, name in [("baseline", self.baseline)] + [
            (f"comparison {c.query} vs {c.span}", n)
            for c in self.comparisons
            for n in (c.query, c.span)
        ]:
            if name is not None and name not in known:
                raise ValueError(f"{label}: unknown system {name!r}")
        kinds = {system.kind for system in self.systems}
        if kinds & {"pretrain-finetune", "label-free"} and self.queries is None:
            raise ValueError("pre-training systems need the queries section")
        if kinds & {"finetune", "pretrain-finetune", "label-free"} and self.finetuning is None:
            raise ValueError("fine-tuned systems need the finetuning section")
        if self.evaluation.split is None and kinds & {"bm25", "zero-shot", "hybrid"}:
            raise ValueError(
                "bm25, zero-shot and hybrid systems are only evaluated: they need evaluation.split"
            )
        if kinds & {"zero-shot", "hybrid"} and self.finetuning is None:
            raise ValueError(
                "dense systems are encoded with the finetuning recipe's encoder "
                "settings: add the finetuning section"
            )
        return self

    def system(self, name: str) -> SystemSettings:
        return next(system for system in self.systems if system.name == name)

    def seeds_of(self, system: SystemSettings) -> list[int]:
        """The seeds a system runs with; BM25 and zero-shot are deterministic (one run)."""
        if system.kind in ("bm25", "zero-shot"):
            return [self.seeds[0]]
        if system.kind == "hybrid":
            parts = [self.seeds_of(self.system(name)) for name in system.fuse]
            return max(parts, key=len)
        return system.seeds or self.seeds


def load_experiment(path: str | Path, overrides: dict[str, Any] | None = None) -> ExperimentConfig:
    """Read an experiment recipe; the recipe paths inside it are made absolute, relative to the
    recipe's folder (so the experiment runs from any working directory)."""
    path = Path(path)
    experiment = ExperimentConfig.from_yaml(path, overrides)
    base = path.resolve().parent

    def absolute(value: str | None, key: str) -> str | None:
        if value is None:
            return None
        resolved = Path(value).expanduser()
        resolved = resolved if resolved.is_absolute() else base / resolved
        if not resolved.is_file():
            raise QcptError(
                f"{path}: {key}: no such file {value!r} (paths are relative to "
                "the experiment recipe)"
            )
        return str(resolved)

    if experiment.queries is not None:
        experiment.queries.recipe = absolute(experiment.queries.recipe, "queries.recipe")
        experiment.queries.queries_file = absolute(
            experiment.queries.queries_file, "queries.queries_file"
        )
    if experiment.finetuning is not None:
        experiment.finetuning.recipe = absolute(experiment.finetuning.recipe, "finetuning.recipe")
    for index, system in enumerate(experiment.systems):
        system.pretrain = absolute(system.pretrain, f"systems.{index}.pretrain")
    return experiment
