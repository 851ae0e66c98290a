"""The launch files in configs/launch/ for the GPU recipes, checked with the libraries' own code.

The accelerate configs are read by accelerate's config classes and turned into torchrun
processes by its launcher's own argument handling (nothing is started). The DeepSpeed ZeRO-2
config is filled by transformers' ``HfTrainerDeepSpeedConfig`` from the TrainingArguments each
GPU recipe builds: every ``"auto"`` must be filled, with no mismatch. Without the ``deepspeed``
package (not installed here: it needs CUDA to be useful), that class's fill methods run on
accelerate's base config class, which is what the class derives from when deepspeed is present.
The ``training.deepspeed`` option (``--deepspeed``) is followed from the command line to the
keyword arguments of ``TrainingArguments`` (nothing trains), and what makes it unusable (a
missing or malformed file, no deepspeed package, GradCache) stops the recipe from loading.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qcpt.errors import QcptError
from qcpt.finetune.config import FinetuneConfig
from qcpt.pretrain.config import PretrainConfig
from qcpt.utils import trainer_settings as training_module
from qcpt.utils.training import training_arguments

REPO = Path(__file__).resolve().parents[1]
CONFIGS = REPO / "configs"
LAUNCH = CONFIGS / "launch"
ZERO2 = LAUNCH / "deepspeed-zero2.json"
SINGLE_NODE = LAUNCH / "accelerate-1node-8gpu.yaml"
MULTI_NODE = LAUNCH / "accelerate-multinode.yaml"
# GPU recipes DeepSpeed can run (the coCondenser ones use GradCache, which refuses it)
DEEPSPEED_RECIPES = [
    (PretrainConfig, "pretrain-cotmae-qc-msmarco-gpu.yaml"),
    (PretrainConfig, "pretrain-cotmae-msmarco-gpu.yaml"),
    (FinetuneConfig, "finetune-msmarco-gpu.yaml"),
]
GRADCACHE_RECIPES = [
    "pretrain-cocondenser-qc-msmarco-gpu.yaml",
    "pretrain-cocondenser-msmarco-gpu.yaml",
]
QCPT_COMMAND = [
    "-m",
    "qcpt",
    "pretrain",
    "-c",
    "configs/pretrain-cotmae-qc-msmarco-gpu.yaml",
    "-o",
    "outputs/pretrain-cotmae-qc",
]


# -- accelerate ----------------------------------------------------------------------------


@pytest.mark.parametrize("path", [SINGLE_NODE, MULTI_NODE], ids=lambda p: p.name)
def test_accelerate_configs_load_with_accelerates_classes(path):
    from accelerate.commands.config.config_args import ClusterConfig, load_config_from_file
    from accelerate.utils import DistributedType

    config = ClusterConfig.from_yaml_file(str(path))  # raises on a key accelerate does not know
    assert isinstance(load_config_from_file(str(path)), ClusterConfig)
    assert config.distributed_type == DistributedType.MULTI_GPU
    assert config.num_processes % config.num_machines == 0
    # a value other than 'no' would override the recipe's training.precision (fp32 included)
    assert config.mixed_precision == "no"


def _launch(config: Path, *options: str):
    """What ``accelerate launch --config_file CONFIG OPTIONS -m qcpt pretrain ...`` hands to
    torchrun: accelerate's own parser, config merge and multi-GPU environment."""
    from accelerate.commands.launch import _validate_launch_command, launch_command_parser
    from accelerate.utils.launch import prepare_multi_gpu_env

    args = launch_command_parser().parse_args(
        ["--config_file", str(config), *options, *QCPT_COMMAND]
    )
    args, _, _ = _validate_launch_command(args)
    return args, prepare_multi_gpu_env(args)


def test_single_node_config_launches_eight_processes_of_the_qcpt_command():
    args, env = _launch(SINGLE_NODE)
    assert args.multi_gpu and not args.use_deepspeed
    assert args.nproc_per_node == "8" and args.num_machines == 1
    assert args.module and args.training_script == "qcpt"
    assert args.training_script_args == QCPT_COMMAND[2:]
    assert env["ACCELERATE_MIXED_PRECISION"] == "no"
    args, _ = _launch(SINGLE_NODE, "--num_processes", "4")
    assert args.nproc_per_node == "4"


def test_multinode_config_takes_each_machines_rank_and_the_main_address():
    args, env = _launch(MULTI_NODE, "--machine_rank", "1", "--main_process_ip", "192.0.2.7")
    assert args.multi_gpu and args.nnodes == "2" and args.nproc_per_node == "8"
    assert args.node_rank == 1
    assert args.rdzv_endpoint == "192.0.2.7:29500" and args.rdzv_backend == "static"
    assert env["ACCELERATE_MIXED_PRECISION"] == "no"


# -- DeepSpeed -----------------------------------------------------------------------------


def _auto_keys(node, prefix: str = "") -> list[str]:
    """Dotted keys whose value is ``"auto"``."""
    if isinstance(node, dict):
        return [
            key for name, value in node.items() for key in _auto_keys(value, f"{prefix}{name}.")
        ]
    return [prefix.rstrip(".")] if node == "auto" else []


def _trainer_deepspeed_config(config: dict):
    """transformers' ``HfTrainerDeepSpeedConfig`` over ``config``; without deepspeed, that
    class's fill methods on accelerate's ``HfDeepSpeedConfig`` (its base with deepspeed)."""
    from transformers.integrations.deepspeed import (
        HfTrainerDeepSpeedConfig,
        is_deepspeed_available,
    )

    if is_deepspeed_available():
        return HfTrainerDeepSpeedConfig(config)
    from accelerate.utils.deepspeed import HfDeepSpeedConfig

    fill = (
        "is_auto",
        "fill_match",
        "fill_only",
        "trainer_config_process",
        "trainer_config_finalize",
    )
    methods = {name: HfTrainerDeepSpeedConfig.__dict__[name] for name in fill}
    filler = type("TrainerDeepSpeedConfig", (HfDeepSpeedConfig,), methods)(config)
    filler.mismatches = []
    return filler


def test_zero2_config_is_stage_2_without_offload():
    from accelerate.utils.deepspeed import HfDeepSpeedConfig

    config = json.loads(ZERO2.read_text())
    assert config["zero_optimization"]["stage"] == 2
    parsed = HfDeepSpeedConfig(config)
    assert parsed.is_zero2() and not parsed.is_offload()
    # the Trainer's AdamW and the recipe's linear warm-up/decay run as without DeepSpeed
    assert "optimizer" not in config and "scheduler" not in config
    assert set(_auto_keys(config)) == {
        "train_batch_size",
        "train_micro_batch_size_per_gpu",
        "gradient_accumulation_steps",
        "gradient_clipping",
        "bf16.enabled",
        "fp16.enabled",
    }


def _trained_module(recipe, tiny_bert_dir):
    """The module the recipe's Trainer gets (a wrapper without a HF ``config``), tiny."""
    if isinstance(recipe, FinetuneConfig):
        from qcpt.finetune.model import BiEncoder

        return BiEncoder.from_pretrained(tiny_bert_dir)
    from qcpt.pretrain.modeling import load_mlm_model
    from qcpt.pretrain.training import build_model

    return build_model(recipe, load_mlm_model(tiny_bert_dir), "cls", False)[0]


@pytest.mark.parametrize(("recipe_class", "name"), DEEPSPEED_RECIPES, ids=lambda v: str(v))
def test_every_auto_value_is_filled_from_the_recipes_training_arguments(
    recipe_class, name, tmp_path, tiny_bert_dir
):
    recipe = recipe_class.from_yaml(CONFIGS / name)
    args = training_arguments(recipe.training, tmp_path)  # the stage's own, without DeepSpeed
    filler = _trainer_deepspeed_config(json.loads(ZERO2.read_text()))
    filler.trainer_config_process(args)
    steps = recipe.training.max_steps if recipe.training.max_steps > 0 else 1000
    # raises on a value that contradicts TrainingArguments, or on an "auto" that needs the
    # model's hidden size (the trainers' wrappers have no HF config to read it from)
    filler.trainer_config_finalize(args, _trained_module(recipe, tiny_bert_dir), steps)
    filled, training = filler.config, recipe.training
    assert _auto_keys(filled) == []
    assert filled["train_micro_batch_size_per_gpu"] == training.batch_size
    assert filled["gradient_accumulation_steps"] == training.gradient_accumulation_steps
    assert filled["train_batch_size"] == (
        training.batch_size * training.gradient_accumulation_steps * args.world_size
    )
    assert filled["gradient_clipping"] == training.max_grad_norm
    assert training.precision == "bf16" and filled["bf16"]["enabled"] is True
    assert filled["fp16"]["enabled"] is False


# -- the training.deepspeed option ---------------------------------------------------------


class _Captured(Exception):
    """Stops a command at the stage call, carrying the recipe the stage was given."""


@pytest.mark.parametrize(
    ("command", "stage", "name"),
    [
        ("pretrain", "qcpt.pretrain.training.pretrain", "pretrain-cotmae-qc-msmarco-gpu.yaml"),
        ("finetune", "qcpt.finetune.run.run_finetune", "finetune-msmarco-gpu.yaml"),
    ],
)
def test_deepspeed_option_reaches_the_training_arguments(
    app, monkeypatch, tmp_path, command, stage, name
):
    def stage_call(recipe, *args, **kwargs):
        raise _Captured(recipe)

    recorded = {}
    monkeypatch.setattr(stage, stage_call)
    monkeypatch.setattr(training_module, "deepspeed_installed", lambda: True)
    monkeypatch.setattr("transformers.TrainingArguments", lambda **kw: recorded.update(kw))
    result = CliRunner().invoke(
        app, [command, "-c", str(CONFIGS / name), "-o", str(tmp_path), "--deepspeed", str(ZERO2)]
    )
    assert isinstance(result.exception, _Captured), result.output
    recipe = result.exception.args[0]
    assert recipe.training.deepspeed == str(ZERO2)
    training_arguments(recipe.training, tmp_path / "checkpoints")  # what both stages call
    assert recorded["deepspeed"] == str(ZERO2)
    assert recorded["per_device_train_batch_size"] == recipe.training.batch_size
    assert recorded["bf16"] is True


def test_bad_deepspeed_files_are_one_line_naming_the_option(tmp_path):
    recipe = CONFIGS / "pretrain-cotmae-qc-msmarco-gpu.yaml"
    missing = tmp_path / "missing.json"
    with pytest.raises(
        QcptError,
        match=r"bad pre-training config: training\.deepspeed: no such "
        rf"DeepSpeed config file: {re.escape(str(missing))}$",
    ):
        PretrainConfig.from_yaml(recipe, {"training.deepspeed": str(missing)})
    broken = tmp_path / "broken.json"
    broken.write_text('{\n  "train_batch_size": auto\n}\n')
    with pytest.raises(QcptError, match=r"training\.deepspeed: .*broken.json:2:23: not valid JSON"):
        PretrainConfig.from_yaml(recipe, {"training.deepspeed": str(broken)})
    listed = tmp_path / "list.json"
    listed.write_text("[]")
    with pytest.raises(QcptError, match=r"training\.deepspeed: .* is a JSON object"):
        FinetuneConfig.from_yaml(
            CONFIGS / "finetune-msmarco-gpu.yaml", {"training.deepspeed": str(listed)}
        )


def test_deepspeed_without_the_package_fails_at_the_start_naming_the_option(
    app, tmp_path, monkeypatch
):
    monkeypatch.setattr(training_module, "deepspeed_installed", lambda: False)
    output = tmp_path / "run"
    result = CliRunner().invoke(
        app,
        [
            "finetune",
            "-c",
            str(CONFIGS / "finetune-msmarco-gpu.yaml"),
            "-o",
            str(output),
            "--deepspeed",
            str(ZERO2),
        ],
    )
    assert isinstance(result.exception, QcptError)
    assert str(result.exception).endswith(
        "bad fine-tuning config: training.deepspeed: needs the deepspeed package, which is not "
        "installed: pip install deepspeed (on a machine with CUDA)"
    )
    assert not output.exists()  # nothing that would block the rerun without --deepspeed


@pytest.mark.parametrize("name", GRADCACHE_RECIPES)
def test_gradcache_recipes_refuse_deepspeed(name, monkeypatch):
    monkeypatch.setattr(training_module, "deepspeed_installed", lambda: True)
    assert PretrainConfig.from_yaml(CONFIGS / name).contrastive.chunk_size
    with pytest.raises(
        QcptError,
        match=r"contrastive\.chunk_size \(GradCache\) and "
        r"training\.deepspeed do not go together",
    ):
        PretrainConfig.from_yaml(CONFIGS / name, {"training.deepspeed": str(ZERO2)})
