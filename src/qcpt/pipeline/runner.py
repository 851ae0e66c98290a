"""``qcpt run``: plan an experiment, print the plan, run the steps that need running, report.

The output folder holds ``experiment.yaml`` (the recipe as run), one folder per step (see
:mod:`qcpt.pipeline.plan`) and ``report/``. Steps run one after another in their own process
(``executor: subprocess``, the default) so each has its own peak memory and frees it; under a
``launcher`` (torchrun, accelerate launch) pre-training and fine-tuning steps use every device.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from rich.console import Console

from qcpt.errors import QcptError
from qcpt.pipeline.experiment import ExperimentConfig
from qcpt.pipeline.plan import STEP_FILE, Plan, Step, build_plan, read_record
from qcpt.pipeline.steps import DISTRIBUTED_KINDS, FIGURES_FILE, run_step
from qcpt.utils.io import read_json_record, write_json, write_text
from qcpt.utils.stage import now

EXPERIMENT_FILE = "experiment.yaml"
ACTION_STYLE = {"skip": "green", "resume": "yellow", "run": "cyan", "redo": "magenta"}


def plan_lines(plan: Plan) -> list[str]:
    """One line per step: number, action, step id, the systems it serves, why."""
    width = max(len(step.id) for step in plan.steps)
    lines = []
    for number, step in enumerate(plan.steps, start=1):
        lines.append(
            f"{number:>3}. {step.action:<6} {step.id:<{width}}  "
            f"[{', '.join(step.systems)}]  {step.reason}"
        )
    lines.append(f"     report: rebuilt from the results of {len(plan.results)} system runs")
    return lines


def run_experiment(
    experiment: ExperimentConfig,
    output: str | Path,
    *,
    dry_run: bool = False,
    report_only: bool = False,
    quiet: bool = False,
    console: Console | None = None,
) -> dict[str, Any] | None:
    """Run ``experiment`` into ``output`` (resumable: rerunning skips finished steps, resumes
    an interrupted one, redoes changed ones and their dependants). Returns the report, or None
    for ``dry_run`` (the plan is printed, nothing is written). ``report_only``: no step runs,
    the report shows what has finished (the rest as not run)."""
    from qcpt.data import resolve_dataset

    console = console or Console()
    output = Path(output).resolve()
    # a missing dataset stops here, before any step
    resolve_dataset(
        experiment.dataset,
        experiment.data_dir,
        require_qrels=experiment.evaluation.split is not None,
    )
    plan = build_plan(experiment, output)
    console.rule(
        f"qcpt run {experiment.name}: {len(plan.to_run)} of {len(plan.steps)} steps to run"
    )
    for line in plan_lines(plan):
        console.print(line, markup=False, highlight=False, soft_wrap=True)
    if dry_run:
        return None
    if report_only:
        return _report(plan, console)
    _check_output(output)
    write_text(output / EXPERIMENT_FILE, experiment.to_yaml())
    durations: dict[str, list[float]] = {}
    todo = plan.to_run
    started = time.perf_counter()
    for done, step in enumerate(todo):
        console.rule(f"[{done + 1}/{len(todo)}] {step.action} {step.id}")
        console.print(
            _eta(todo[done:], durations, time.perf_counter() - started),
            highlight=False,
            soft_wrap=True,
        )
        seconds = execute(plan, step, quiet=quiet)
        durations.setdefault(step.kind, []).append(seconds)
        console.print(f"{step.id}: finished in {seconds / 60:.1f} min", highlight=False)
    return _report(plan, console)


def _report(plan: Plan, console: Console) -> dict[str, Any]:
    from qcpt.pipeline.report import REPORT_DIR, build_report

    report = build_report(plan)
    console.rule("report")
    console.print(report["markdown"], markup=False, highlight=False, soft_wrap=True)
    console.print(
        f"report: {plan.output / REPORT_DIR / 'report.md'} (JSON, PNG plots beside it)",
        highlight=False,
        soft_wrap=True,
    )
    return report


def _check_output(output: Path) -> None:
    if output.exists() and not output.is_dir():
        raise QcptError(f"--output {output}: exists and is not a folder")
    try:
        output.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise QcptError(f"--output {output}: cannot create the folder ({error.strerror})") from None


def _eta(remaining: list[Step], durations: dict[str, list[float]], elapsed: float) -> str:
    """Elapsed time and, once a step of each remaining kind has run, the time left."""
    known = [
        sum(durations[s.kind]) / len(durations[s.kind]) for s in remaining if s.kind in durations
    ]
    text = f"{elapsed / 60:.1f} min elapsed"
    if len(known) == len(remaining):
        return f"{text}, about {sum(known) / 60:.0f} min left"
    unknown = sorted({s.kind for s in remaining if s.kind not in durations})
    return f"{text}; time left known once a step of each kind ran ({', '.join(unknown)} not yet)"


def execute(plan: Plan, step: Step, *, quiet: bool = False) -> float:
    """Run one step: empty its folder if it is redone, record it, run it, record the result.
    Returns its wall time in seconds."""
    if step.action in ("redo", "run") and step.folder.exists():
        shutil.rmtree(step.folder)
    step.folder.mkdir(parents=True, exist_ok=True)
    earlier = (read_record(step) or {}) if step.action == "resume" else {}
    record = {
        "id": step.id,
        "kind": step.kind,
        "key": step.key,
        "status": "running",
        "systems": step.systems,
        "settings": step.settings,
        "inputs": step.inputs,
        "needs": {n: plan.step(n).key for n in step.needs},
        "started": now(),
        "attempts": earlier.get("attempts", 0) + 1,
    }
    write_json(step.folder / STEP_FILE, record)
    started = time.perf_counter()
    if plan.experiment.executor == "inline":
        figures = run_step(step.folder, plan.output, progress=not quiet)
    else:
        figures = _run_in_process(plan, step, quiet)
    seconds = time.perf_counter() - started
    record.update(
        status="complete", finished=now(), wall_seconds=round(seconds, 1), figures=figures
    )
    write_json(step.folder / STEP_FILE, record)
    step.action = "skip"
    return seconds


def _run_in_process(plan: Plan, step: Step, quiet: bool) -> dict[str, Any]:
    # python, torchrun and accelerate launch all take "-m module args"
    launcher = plan.experiment.launcher if step.kind in DISTRIBUTED_KINDS else None
    command = [
        *(launcher or [sys.executable]),
        "-m",
        "qcpt.pipeline.steps",
        str(step.folder),
        str(plan.output),
    ] + (["--quiet"] if quiet else [])
    completed = subprocess.run(command, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    if completed.returncode:
        raise QcptError(
            f"step {step.id} failed (exit {completed.returncode}); its output is "
            f"above; rerun qcpt run to resume it ({step.folder})"
        )
    return read_json_record(step.folder / FIGURES_FILE, "rerun the step") or {}
