"""The steps of an experiment, their dependencies, and what a run of them will do.

An experiment unfolds into steps (generation, pre-training per system and seed, label-free
groups, fine-tuning, evaluation, fusion), each with its own folder under the output folder and
a key: the hash of its settings and of the keys of the steps it reads. Two systems whose steps
have the same key share the step (it runs once). Each step folder holds ``step.json``: the key,
settings and status the pipeline wrote when it started and finished the step. A step is

- ``skip``   when its record is complete with the same key;
- ``resume`` when its record has the same key but the step did not finish (the stage continues
  from its checkpoint or partial output);
- ``run``    when it never started, or ``redo`` when its settings or an input step changed (the
  reason names the differences; the folder is emptied first). A step that reruns changes the
  key of every step that reads it, so exactly it and its dependants run again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qcpt.finetune.config import FinetuneConfig
from qcpt.pipeline.experiment import ExperimentConfig, SystemSettings
from qcpt.pretrain.config import PretrainConfig
from qcpt.querygen.config import QueryGenConfig
from qcpt.utils.config import set_dotted
from qcpt.utils.io import file_fingerprint, read_json_record
from qcpt.utils.stage import differences

STEP_FILE = "step.json"
OUTPUT_TOKEN = "${output}"

QUERIES_DIR = "queries"
PASSAGES_ALL = "passages-all.jsonl"
PASSAGES_SAMPLE = "passages.jsonl"
QUERIES_FILE = "queries.jsonl"
PASSAGES_PRETRAIN = "passages-pretrain.jsonl"  # the sample's passages that have queries
GROUPS_FILE = "groups.jsonl"


@dataclass
class Step:
    """One unit of work: its folder, what defines it, and the steps it reads. ``inputs``: files
    outside the output folder that it reads by path; their content is in the settings (and so
    in the key), their place is not (another clone of the repository is the same step)."""

    id: str
    kind: str
    folder: Path
    settings: dict[str, Any]
    needs: list[str] = field(default_factory=list)
    inputs: dict[str, str] = field(default_factory=dict)
    systems: list[str] = field(default_factory=list)
    key: str = ""
    action: str = "run"
    reason: str = ""


@dataclass
class Result:
    """Where one (system, seed) finds its scores: the step that writes them and its files."""

    system: str
    seed: int
    step: str
    metrics: Path
    run: Path


@dataclass
class Plan:
    """The experiment's steps in the order they run, and each row's results."""

    experiment: ExperimentConfig
    output: Path
    steps: list[Step]
    results: list[Result]

    def step(self, step_id: str) -> Step:
        return next(step for step in self.steps if step.id == step_id)

    @property
    def to_run(self) -> list[Step]:
        return [step for step in self.steps if step.action != "skip"]


def _map_strings(value: Any, change: Callable[[str], str]) -> Any:
    """``value`` (JSON-like) with ``change`` applied to every string in it."""
    if isinstance(value, str):
        return change(value)
    if isinstance(value, dict):
        return {k: _map_strings(v, change) for k, v in value.items()}
    if isinstance(value, list):
        return [_map_strings(v, change) for v in value]
    return value


def portable(value: Any, output: Path) -> Any:
    """``value`` with the output folder written as ``${output}`` (keys survive a moved folder)."""
    return _map_strings(value, lambda text: text.replace(str(output), OUTPUT_TOKEN))


def resolved(value: Any, output: Path) -> Any:
    """Undo :func:`portable`: ``${output}`` -> the output folder."""
    return _map_strings(value, lambda text: text.replace(OUTPUT_TOKEN, str(output)))


def _key(kind: str, settings: dict[str, Any], needs: dict[str, str]) -> str:
    text = json.dumps({"kind": kind, "settings": settings, "needs": needs}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class _Builder:
    def __init__(self, experiment: ExperimentConfig, output: Path):
        self.experiment = experiment
        self.output = output
        self.steps: dict[str, Step] = {}
        self.by_key: dict[str, str] = {}

    def add(
        self,
        step_id: str,
        kind: str,
        settings: dict[str, Any],
        needs: list[str],
        system: str,
        inputs: dict[str, str] | None = None,
    ) -> Step:
        """Add a step, or return the existing one with the same key (shared by systems)."""
        settings = portable(settings, self.output)
        key = _key(kind, settings, {n: self.steps[n].key for n in needs})
        if key in self.by_key:
            shared = self.steps[self.by_key[key]]
            if system not in shared.systems:
                shared.systems.append(system)
            return shared
        # ids hold the (unique) system name and seed: two steps with one id have one key
        step = Step(
            step_id, kind, self.output / step_id, settings, list(needs), inputs or {}, [system], key
        )
        self.steps[step_id] = step
        self.by_key[key] = step_id
        return step


def build_plan(experiment: ExperimentConfig, output: str | Path) -> Plan:
    """Unfold ``experiment`` into steps under ``output`` and decide what each will do.

    Every stage recipe is loaded and validated here, so a bad recipe or override stops the
    experiment before anything runs.
    """
    output = Path(output).resolve()
    builder = _Builder(experiment, output)
    results: list[Result] = []
    queries_step = None
    if experiment.queries is not None and any(
        s.kind in ("pretrain-finetune", "label-free") for s in experiment.systems
    ):
        spec = experiment.queries
        querygen = QueryGenConfig.from_yaml(spec.recipe, spec.overrides)
        queries_step = builder.add(
            QUERIES_DIR,
            "queries",
            {
                "dataset": experiment.dataset,
                "data_dir": experiment.data_dir,
                "querygen": querygen.model_dump(mode="json"),
                "passages": spec.passages,
                "sample_seed": spec.sample_seed,
                "queries_file": _content(spec.queries_file),
            },
            [],
            "queries",
            inputs={"queries_file": spec.queries_file} if spec.queries_file else {},
        )
    finetune_base = None
    if experiment.finetuning is not None:
        finetune_base = FinetuneConfig.from_yaml(
            experiment.finetuning.recipe, experiment.finetuning.overrides
        )
    split = experiment.evaluation.split

    for system in experiment.systems:
        if system.kind == "hybrid":
            continue
        for seed in experiment.seeds_of(system):
            results.append(
                _system_steps(builder, experiment, system, seed, queries_step, finetune_base, split)
            )
    for system in experiment.systems:
        if system.kind != "hybrid":
            continue
        for seed in experiment.seeds_of(system):
            parts = [_result_for(results, name, seed) for name in system.fuse]
            step = builder.add(
                f"evaluate/{system.name}-seed{seed}",
                "fuse",
                {
                    "runs": [str(part.run) for part in parts],
                    "dataset": experiment.dataset,
                    "data_dir": experiment.data_dir,
                    "split": split,
                },
                sorted({part.step for part in parts}),
                system.name,
            )
            results.append(_result(system, seed, step.folder, step))
    plan = Plan(experiment, output, list(builder.steps.values()), results)
    decide(plan)
    return plan


def _result_for(results: list[Result], name: str, seed: int) -> Result:
    """The result of ``name`` with ``seed``, or its only run (BM25, zero-shot)."""
    candidates = [r for r in results if r.system == name]
    for result in candidates:
        if result.seed == seed:
            return result
    return candidates[0]


def _result(system: SystemSettings, seed: int, folder: Path, step: Step) -> Result:
    return Result(system.name, seed, step.id, folder / "metrics.json", folder / "run.trec")


def _system_steps(
    builder: _Builder,
    experiment: ExperimentConfig,
    system: SystemSettings,
    seed: int,
    queries_step: Step | None,
    finetune_base: FinetuneConfig | None,
    split: str | None,
) -> Result:
    data = {"dataset": experiment.dataset, "data_dir": experiment.data_dir, "split": split}
    if system.kind == "bm25":
        step = builder.add(f"evaluate/{system.name}", "evaluate-bm25", data, [], system.name)
        return _result(system, seed, step.folder, step)
    if system.kind == "zero-shot":
        step = builder.add(
            f"evaluate/{system.name}",
            "evaluate-dense",
            {
                **data,
                "encoder": encoder_settings(finetune_base, experiment.model),
                "depth": finetune_base.evaluation.depth,
                "factory": finetune_base.evaluation.factory,
            },
            [],
            system.name,
        )
        return _result(system, seed, step.folder, step)

    needs: list[str] = []  # what the fine-tuning step reads
    start_model = experiment.model
    pretrain_step = None
    if system.pretrain:
        budget = experiment.pretraining
        # a system may start from another checkpoint (model.model in its overrides), but the
        # data, budget and seed are the experiment's: every row reads and spends the same
        config = PretrainConfig.from_yaml(
            system.pretrain,
            {
                "model.model": experiment.model,
                **system.overrides,
                "data.passages": str(queries_step.folder / PASSAGES_PRETRAIN),
                "data.queries": str(queries_step.folder / QUERIES_FILE),
                "data.data_dir": experiment.data_dir,
                "training.max_steps": budget.max_steps,
                "training.batch_size": budget.batch_size,
                "training.learning_rate": budget.learning_rate,
                "training.warmup_ratio": budget.warmup_ratio,
                "training.seed": seed,
            },
        )
        pretrain_step = builder.add(
            f"pretrain/{system.name}-seed{seed}",
            "pretrain",
            {"config": config.model_dump(mode="json")},
            [queries_step.id],
            system.name,
        )
        needs.append(pretrain_step.id)
        start_model = str(pretrain_step.folder / "model")

    overrides: dict[str, Any] = {
        "dataset": experiment.dataset,
        "data_dir": experiment.data_dir,
        "encoder.model": start_model,
        "training.seed": seed,
        "evaluation.split": split,
        "evaluation.zero_shot": False,
    }
    if system.kind == "label-free":
        groups = builder.add(
            f"label-free/{system.name}-seed{seed}",
            "label-free-groups",
            {
                "dataset": experiment.dataset,
                "data_dir": experiment.data_dir,
                "encoder": encoder_settings(finetune_base, start_model),
                "queries": str(queries_step.folder / QUERIES_FILE),
                "passages": str(queries_step.folder / PASSAGES_PRETRAIN),
                "label_free": experiment.label_free.model_dump(mode="json"),
                "seed": seed,
            },
            [queries_step.id] + ([pretrain_step.id] if pretrain_step else []),
            system.name,
        )
        needs.append(groups.id)
        # the generated groups replace the train qrels: one stage, no dev split, no mining
        overrides.update(
            {"train_groups": str(groups.folder / GROUPS_FILE), "stages": 1, "dev_split": None}
        )
    settings = finetune_base.model_dump(mode="json")
    for key, value in overrides.items():  # set_dotted, not from_yaml: None values count here
        set_dotted(settings, key, value)
    config = FinetuneConfig.model_validate(settings)
    step = builder.add(
        f"finetune/{system.name}-seed{seed}",
        "finetune",
        {"config": config.model_dump(mode="json")},
        needs,
        system.name,
    )
    return _result(system, seed, step.folder / f"stage{config.stages}", step)


def encoder_settings(finetune, model: str) -> dict[str, Any]:
    """The encoding settings of every dense evaluation: the fine-tuning recipe's lengths and
    evaluation settings (pooling and normalisation: the checkpoint's own)."""
    encoder, evaluation = finetune.encoder, finetune.evaluation
    return {
        "model": model,
        "pooling": encoder.pooling,
        "normalize": encoder.normalize,
        "query_max_length": encoder.query_max_length,
        "passage_max_length": encoder.passage_max_length,
        "title_separator": encoder.title_separator,
        "batch_size": evaluation.batch_size,
        "precision": evaluation.precision,
    }


def _content(path: str | None) -> dict[str, Any] | None:
    """Size and sha256 of a file (not its place), or None."""
    if path is None:
        return None
    fingerprint = file_fingerprint(path)
    return {"bytes": fingerprint["bytes"], "sha256": fingerprint["sha256"]}


def read_record(step: Step) -> dict[str, Any] | None:
    """The step's ``step.json``, or None when the pipeline never started it."""
    return read_json_record(step.folder / STEP_FILE, "remove the step folder to redo it")


def decide(plan: Plan) -> None:
    """Set each step's action and reason from its record (module docstring)."""
    for step in plan.steps:
        record = read_record(step)
        if record is None:
            step.action = "run"
            step.reason = "new" if not step.folder.exists() else "no step record: started afresh"
            continue
        if record.get("key") == step.key:
            if record.get("status") == "complete":
                step.action, step.reason = "skip", "finished, same settings and inputs"
            else:
                step.action, step.reason = "resume", "interrupted: continues where it stopped"
            continue
        changed = differences(record.get("settings", {}), step.settings)
        inputs = [n for n in step.needs if record.get("needs", {}).get(n) != plan.step(n).key]
        parts = [f"input step {n} changed" for n in inputs]
        if changed:
            shown = changed[:3] + ([f"... {len(changed) - 3} more"] if len(changed) > 3 else [])
            parts.insert(0, "settings changed: " + "; ".join(shown))
        step.action, step.reason = "redo", "; ".join(parts) or "another step"
