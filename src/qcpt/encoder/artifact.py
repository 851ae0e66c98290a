"""Writing an encoder as a qcpt model artefact that loads everywhere.

An artefact folder holds the Hugging Face checkpoint of the encoder only (config + weights), its
tokenizer, the sentence-transformers files that describe its pooling (``modules.json``,
``1_Pooling/config.json``, ``2_Normalize/`` when vectors are L2-normalised,
``sentence_bert_config.json``, ``config_sentence_transformers.json``) and ``qcpt.json``::

    {"encoder": {"pooling", "normalize", "query_max_length", "passage_max_length",
                 "title_separator"},
     "recipe": {...}, "data": {...fingerprints...}, "steps": int}

so ``SentenceTransformer(path)``, ``AutoModel.from_pretrained(path)`` and
``DenseEncoder(EncoderSettings(model=path))`` all load it, the last two with its pooling.
The sentence-transformers files use the long-standing (v2) layout, which every
sentence-transformers release since 2.0 reads.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any, Literal

from qcpt.encoder.checkpoints import QCPT_RECIPE_FILE
from qcpt.errors import QcptError
from qcpt.utils.io import write_json


def save_encoder_artifact(
    model,
    tokenizer,
    output_dir: str | Path,
    *,
    pooling: Literal["cls", "mean"],
    normalize: bool,
    query_max_length: int,
    passage_max_length: int,
    title_separator: str = " ",
    recipe: dict[str, Any] | None = None,
    data: dict[str, Any] | None = None,
    steps: int | None = None,
    state_dict: dict | None = None,
) -> Path:
    """Write ``model`` (a ``PreTrainedModel`` encoder) and ``tokenizer`` as an artefact folder.

    ``state_dict`` replaces the model's own weights when given (e.g. gathered from DeepSpeed).
    The folder is assembled beside ``output_dir`` and renamed into place, so ``output_dir``
    either holds a complete artefact or its previous content. Returns ``output_dir``.
    """
    if pooling not in ("cls", "mean"):
        raise QcptError(f"unknown pooling {pooling!r}; use cls or mean")
    output_dir = Path(output_dir)
    staging = output_dir.with_name(f".{output_dir.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    model.save_pretrained(staging, state_dict=state_dict)
    tokenizer.save_pretrained(staging)
    _write_sentence_transformers_files(
        staging, int(model.config.hidden_size), pooling, normalize, passage_max_length
    )
    write_json(
        staging / QCPT_RECIPE_FILE,
        {
            "encoder": {
                "pooling": pooling,
                "normalize": normalize,
                "query_max_length": query_max_length,
                "passage_max_length": passage_max_length,
                "title_separator": title_separator,
            },
            "recipe": recipe or {},
            "data": data or {},
            "steps": steps,
        },
    )
    if output_dir.exists():
        shutil.rmtree(output_dir)
    os.replace(staging, output_dir)
    return output_dir


def _write_sentence_transformers_files(
    root: Path, dim: int, pooling: str, normalize: bool, max_seq_length: int
) -> None:
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {
            "idx": 1,
            "name": "1",
            "path": "1_Pooling",
            "type": "sentence_transformers.models.Pooling",
        },
    ]
    if normalize:
        modules.append(
            {
                "idx": 2,
                "name": "2",
                "path": "2_Normalize",
                "type": "sentence_transformers.models.Normalize",
            }
        )
        (root / "2_Normalize").mkdir()
    write_json(root / "modules.json", modules)
    write_json(
        root / "1_Pooling" / "config.json",
        {
            "word_embedding_dimension": dim,
            "pooling_mode_cls_token": pooling == "cls",
            "pooling_mode_mean_tokens": pooling == "mean",
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
        },
    )
    write_json(
        root / "sentence_bert_config.json",
        {"max_seq_length": max_seq_length, "do_lower_case": False},
    )
    write_json(
        root / "config_sentence_transformers.json",
        {
            "__version__": _library_versions(),
            "prompts": {},
            "default_prompt_name": None,
            "similarity_fn_name": "cosine" if normalize else "dot",
        },
    )


def _library_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for key, package in (
        ("sentence_transformers", "sentence-transformers"),
        ("transformers", "transformers"),
        ("pytorch", "torch"),
    ):
        try:
            found[key] = version(package)
        except PackageNotFoundError:
            continue
    return found
