"""Two-stage fine-tuning (Tevatron recipe): BM25 negatives, then negatives mined by stage 1.

Layout of an output folder::

    config.yaml                  the resolved recipe (a rerun must use the same one)
    zero-shot/                   run.trec, metrics.json of the starting model (optional)
    dev-groups.jsonl             dev groups (BM25 negatives) for the dev loss (optional)
    stage1/groups.jsonl          training groups (BM25 negatives, or the given groups file)
    stage1/checkpoints/          Trainer checkpoints while the stage runs (resume)
    stage1/model/                the trained encoder as a qcpt model artefact
    stage1/embeddings/           corpus shards of the stage-1 model (evaluation and mining)
    stage1/run.trec, metrics.json
    stage1/stage.json            wall times (groups, training, evaluation) and Trainer figures
    stage2/groups.jsonl          negatives mined with the stage-1 model; mining-run.trec
    stage2/...                   as stage1
    summary.json, summary.md     results table and wall times

Stage 2 restarts from the starting (pre-trained) checkpoint as the authors do, or continues from
the stage-1 model. A finished stage (model and metrics present) is skipped on a rerun. Under
torchrun every process trains; the main process alone builds groups, mines and evaluates.

Reference: Gao & Callan 2022 (coCondenser fine-tuning); Karpukhin et al. 2020 (DPR).
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from qcpt.data import RetrievalDataset, resolve_dataset
from qcpt.data.training_groups import read_groups, write_groups
from qcpt.encoder.checkpoints import read_model_defaults, resolve_model
from qcpt.errors import DataFormatError, QcptError
from qcpt.evaluation import metrics_markdown, write_run
from qcpt.finetune.config import FinetuneConfig
from qcpt.finetune.groups import bm25_groups, mine_groups
from qcpt.finetune.training import train_bi_encoder
from qcpt.retrieval import DenseEncoder, EncoderSettings
from qcpt.retrieval.evaluate import METRICS_FILE
from qcpt.utils.io import file_fingerprint, write_json, write_text
from qcpt.utils.stage import open_stage
from qcpt.utils.training import distributed_state

logger = logging.getLogger(__name__)

GROUPS_FILE = "groups.jsonl"
MODEL_DIR = "model"
STAGE_FILE = "stage.json"
SUMMARY_FILE = "summary.json"
SUMMARY_MARKDOWN = "summary.md"


def run_finetune(
    config: FinetuneConfig,
    output_dir: str | Path,
    *,
    resume: bool = False,
    overwrite: bool = False,
    show_progress: bool = True,
) -> dict[str, Any]:
    """Run the recipe's stages into ``output_dir`` and return the summary (also written).

    The folder follows the stage protocol (:mod:`qcpt.utils.stage`): a finished run of the
    same recipe is skipped, an unfinished one continues (each finished stage is reused; only the
    number of stages may change), another recipe's run is refused naming the differences unless
    ``overwrite``; a start that failed before any stage began does not block the next one.
    """
    output_dir = Path(output_dir)
    state = distributed_state()
    summary_path = output_dir / SUMMARY_FILE
    stage_dirs = [output_dir / f"stage{n}" for n in range(1, config.stages + 1)]
    evaluated = config.evaluation.split is not None
    finished = summary_path.is_file() and all(
        (d / (METRICS_FILE if evaluated else f"{MODEL_DIR}/qcpt.json")).is_file()
        for d in stage_dirs
    )
    progress = any((output_dir / name).exists() for name in ("stage1", "stage2", "zero-shot"))
    stage_run = open_stage(
        output_dir,
        "finetune",
        config,
        finished=finished,
        progress=progress,
        overwrite=overwrite,
        may_change=("stages",),
        inputs={"train_groups": config.train_groups},
    )
    state.wait_for_everyone()
    if stage_run.action == "skip":
        return json.loads(summary_path.read_text())
    # given groups need no qrels to train on; without evaluation none are read at all
    dataset = resolve_dataset(
        config.dataset, config.data_dir, require_qrels=evaluated or not config.train_groups
    )
    initial = resolve_model(config.encoder.model)
    if state.is_main_process:
        _check_inputs(config, dataset, output_dir, initial)
    stage_run.start(state.is_main_process)  # the inputs loaded: the folder is this run's
    state.wait_for_everyone()
    pooling, normalize = config.encoder.vector_settings(read_model_defaults(initial))
    runner = _StageRunner(config, dataset, output_dir, pooling, normalize, resume, show_progress)

    results: dict[str, dict] = {}
    if config.evaluation.zero_shot and evaluated:
        results["zero-shot"] = runner.evaluate(initial, output_dir / "zero-shot")
    dev_groups = runner.dev_groups() if config.dev_split else None
    results["stage 1"] = runner.stage(1, initial, dev_groups)
    if config.stages == 2:
        stage2_init = (
            initial if config.stage2_init == "initial" else str(output_dir / "stage1" / MODEL_DIR)
        )
        results["stage 2"] = runner.stage(2, stage2_init, dev_groups)
    summary = _summary(config, dataset, output_dir, results)
    if state.is_main_process:
        write_json(summary_path, summary)
        write_text(output_dir / SUMMARY_MARKDOWN, summary_markdown(summary))
        stage_run.finish(
            {
                "summary": SUMMARY_FILE,
                "summary_markdown": SUMMARY_MARKDOWN,
                **{d.name: d.name for d in stage_dirs},
            }
        )
    return summary


def _check_inputs(
    config: FinetuneConfig, dataset: RetrievalDataset, output_dir: Path, initial: str
) -> None:
    """Read what the stages will read, so that a bad input fails before the output folder is
    written: the starting model's config and tokenizer, the given groups (unless stage 1 has
    its groups already) and the train, dev and test qrels and queries (the dataset keeps them,
    so they are not read twice). The corpus is left to the stages, which stream it."""
    from transformers import AutoConfig, AutoTokenizer

    try:
        AutoConfig.from_pretrained(initial)
        AutoTokenizer.from_pretrained(initial)
    except (OSError, ValueError) as error:  # ValueError: a folder without a tokenizer
        raise QcptError(f"cannot load encoder {config.encoder.model!r}: {error}") from None
    if config.train_groups and not (output_dir / "stage1" / GROUPS_FILE).is_file():
        if not sum(1 for _ in read_groups(config.train_groups)):
            raise DataFormatError(config.train_groups, None, "no training groups in file")
    splits = [config.dev_split, config.evaluation.split]
    if not config.train_groups or config.stages == 2:
        splits.append(config.train_split)
    for split in dict.fromkeys(s for s in splits if s is not None):
        dataset.queries(split)


class _StageRunner:
    """Groups, training and evaluation of one stage; main-process-only parts are fenced."""

    def __init__(
        self,
        config: FinetuneConfig,
        dataset: RetrievalDataset,
        output_dir: Path,
        pooling: str,
        normalize: bool,
        resume: bool,
        show_progress: bool,
    ):
        self.config = config
        self.dataset = dataset
        self.output_dir = output_dir
        self.pooling = pooling
        self.normalize = normalize
        self.resume = resume
        self.show_progress = show_progress
        self.state = distributed_state()

    def stage(self, number: int, init_model: str, dev_groups: Path | None) -> dict:
        """Run stage ``number`` (or reuse it when finished); returns its test metrics."""
        stage_dir = self.output_dir / f"stage{number}"
        metrics_path = stage_dir / METRICS_FILE
        model_dir = stage_dir / MODEL_DIR
        evaluated = self.config.evaluation.split is not None
        if (model_dir / "qcpt.json").is_file() and (metrics_path.is_file() or not evaluated):
            logger.info("stage %d is finished (%s): skipped", number, stage_dir)
            return json.loads(metrics_path.read_text()) if evaluated else {}
        self._record(stage_dir, stage=number, init_model=init_model)
        groups_path = stage_dir / GROUPS_FILE
        if self.state.is_main_process and not groups_path.is_file():
            with self._timed(stage_dir, "groups_s"):
                self._build_groups(number, stage_dir)
        self.state.wait_for_everyone()
        if not (model_dir / "qcpt.json").is_file():
            with self._timed(stage_dir, "train_s"):
                figures = train_bi_encoder(
                    init_model,
                    groups_path,
                    stage_dir,
                    encoder=self.config.encoder,
                    training=self.config.training,
                    pooling=self.pooling,
                    normalize=self.normalize,
                    dev_groups_path=dev_groups,
                    resume=self.resume,
                    recipe=self._recipe(number, init_model),
                    data=self._data(groups_path),
                    show_progress=self.show_progress,
                )
            self._record(stage_dir, training=figures)
        if not evaluated:
            return {}
        with self._timed(stage_dir, "evaluate_s"):
            return self.evaluate(str(model_dir), stage_dir)

    @contextlib.contextmanager
    def _timed(self, stage_dir: Path, key: str) -> Iterator[None]:
        started = time.perf_counter()
        yield
        timings = self._read_stage(stage_dir).get("timings", {})
        timings[key] = round(time.perf_counter() - started, 1)
        timings.pop("total_s", None)
        timings["total_s"] = round(sum(timings.values()), 1)
        self._record(stage_dir, timings=timings)

    def _record(self, stage_dir: Path, **fields: Any) -> None:
        """Update ``stage.json`` (wall times, training figures) on the main process."""
        if self.state.is_main_process:
            write_json(stage_dir / STAGE_FILE, {**self._read_stage(stage_dir), **fields})

    @staticmethod
    def _read_stage(stage_dir: Path) -> dict[str, Any]:
        path = stage_dir / STAGE_FILE
        return json.loads(path.read_text()) if path.is_file() else {}

    def _build_groups(self, number: int, stage_dir: Path) -> None:
        negatives = self.config.bm25_negatives if number == 1 else self.config.mined_negatives
        if number == 1 and self.config.train_groups:
            groups = list(read_groups(self.config.train_groups))
            run = None
        elif number == 1:
            groups, run = bm25_groups(
                self.dataset, self.config.train_split, negatives, self.show_progress
            )
        else:
            stage1_model = self.output_dir / "stage1" / MODEL_DIR
            encoder = DenseEncoder(self._encoder_settings(str(stage1_model)))
            groups, run = mine_groups(
                encoder,
                self.dataset,
                self.config.train_split,
                negatives,
                self.output_dir / "stage1" / "embeddings",
                self.show_progress,
            )
        if run is not None:
            write_run(run, stage_dir / "mining-run.trec", tag="bm25" if number == 1 else "dense")
        count = write_groups(groups, stage_dir / GROUPS_FILE)
        logger.info("stage %d: %d training groups in %s", number, count, stage_dir / GROUPS_FILE)

    def dev_groups(self) -> Path:
        """Dev groups with BM25 negatives (built once) for the dev loss during training."""
        path = self.output_dir / "dev-groups.jsonl"
        if self.state.is_main_process and not path.is_file():
            groups, _ = bm25_groups(
                self.dataset, self.config.dev_split, self.config.bm25_negatives, self.show_progress
            )
            write_groups(groups, path)
        self.state.wait_for_everyone()
        return path

    def evaluate(self, model: str, output_dir: Path) -> dict:
        """Test-split retrieval metrics of ``model`` (main process; the others wait)."""
        from qcpt.retrieval.evaluate import evaluate_dense

        metrics_path = output_dir / METRICS_FILE
        if self.state.is_main_process and not metrics_path.is_file():
            evaluation = self.config.evaluation
            evaluate_dense(
                self._encoder_settings(model),
                self.dataset,
                output_dir,
                split=evaluation.split,
                depth=evaluation.depth,
                factory=evaluation.factory,
                show_progress=self.show_progress,
            )
        self.state.wait_for_everyone()
        return json.loads(metrics_path.read_text())

    def _encoder_settings(self, model: str) -> EncoderSettings:
        encoder, evaluation = self.config.encoder, self.config.evaluation
        return EncoderSettings(
            model=model,
            pooling=self.pooling,
            normalize=self.normalize,
            query_max_length=encoder.query_max_length,
            passage_max_length=encoder.passage_max_length,
            title_separator=encoder.title_separator,
            batch_size=evaluation.batch_size,
            precision=evaluation.precision,
        )

    def _recipe(self, number: int, init_model: str) -> dict[str, Any]:
        negatives = (
            "given groups"
            if number == 1 and self.config.train_groups
            else "bm25"
            if number == 1
            else "mined with stage 1"
        )
        return {
            "kind": "finetune",
            "stage": number,
            "init_model": init_model,
            "negatives": negatives,
            "config": self.config.model_dump(mode="json"),
        }

    def _data(self, groups_path: Path) -> dict[str, Any]:
        data = {
            "dataset": self.dataset.name,
            "corpus": file_fingerprint(self.dataset.corpus_path),
            "groups": file_fingerprint(groups_path),
        }
        if not self.config.train_groups:  # given groups carry their own queries and positives
            split = self.config.train_split
            data.update(
                train_split=split,
                queries=file_fingerprint(self.dataset.queries_path),
                qrels=file_fingerprint(self.dataset.qrels_paths[split]),
            )
        return data


def _summary(
    config: FinetuneConfig, dataset: RetrievalDataset, output_dir: Path, results: dict[str, dict]
) -> dict[str, Any]:
    stages = {}
    for name in results:
        stage_file = output_dir / name.replace(" ", "") / STAGE_FILE
        if stage_file.is_file():
            stages[name] = json.loads(stage_file.read_text())
    return {
        "dataset": dataset.name,
        "split": config.evaluation.split,
        "model": config.encoder.model,
        "results": {name: metrics["aggregate"] for name, metrics in results.items() if metrics},
        "stages": stages,
        "output_dir": str(output_dir),
    }


def summary_markdown(summary: dict[str, Any]) -> str:
    """The results table and each stage's wall time, as markdown."""
    title = f"{summary['dataset']} ({summary['split']}), fine-tuned from {summary['model']}"
    lines = [
        metrics_markdown(summary["results"], title=title)
        if summary["results"]
        else f"**{summary['dataset']}, fine-tuned from {summary['model']}** (not evaluated)\n"
    ]
    for name, stage in summary["stages"].items():
        timings = ", ".join(
            f"{k.removesuffix('_s')} {v:.0f} s" for k, v in stage.get("timings", {}).items()
        )
        steps = stage.get("training", {}).get("global_step")
        lines.append(f"- {name}: {timings}" + (f"; {steps} steps" if steps else ""))
    return "\n".join(lines) + "\n"
