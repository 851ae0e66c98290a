"""Few-shot query generation with llama.cpp (llama-cpp-python), parallel sequences in one cache.

The GGUF model runs natively (quantised). The few-shot prefix is evaluated once into sequence 0
of a unified KV cache and never again. Passages are then processed ``parallel`` at a time: the
prefix is shared into one sequence per passage (a tag on the cached cells, not a copy), all
passages' tokens are evaluated in one batch, each passage's sequence is forked into
``num_queries`` sequences, and all of them are sampled together, one token per sequence per
decode step, until a line break or end-of-generation token. Sampling uses llama.cpp's own chain
(top-k, temperature, top-p, random draw seeded per batch). On CPUs with native bf16 the 4-bit
GGUF is first converted to bf16 (``llama_weights``), which made prompt processing several times
faster here. llama.cpp's threads spin while they wait for each other, so on cores that other
busy processes share, fewer ``threads`` can be much faster.

References: Gerganov et al., llama.cpp (``examples/batched``, ``examples/parallel``);
Bonifacio et al., "InPars" (2022) for few-shot query generation.
"""

from __future__ import annotations

import ctypes
import logging
import os
from collections.abc import Sequence
from pathlib import Path

from qcpt.errors import QcptError
from qcpt.querygen.backends.base import QueryGenerator, causal_description, passage_input
from qcpt.querygen.backends.models import is_gguf, llama_weights_path, resolve_causal_model
from qcpt.querygen.config import PAPER_NUM_QUERIES, GenerationSettings
from qcpt.querygen.prompts import FewShotPrompt


def _llama():
    try:
        import llama_cpp
    except ImportError as error:
        raise QcptError(
            "the llama.cpp runtime needs llama-cpp-python: pip install 'qcpt[gen]' "
            "(or use --runtime transformers)"
        ) from error
    logging.getLogger("llama-cpp-python").setLevel(logging.ERROR)  # silence load messages
    return llama_cpp


class LlamaCppGenerator(QueryGenerator):
    """Few-shot prompted GGUF model on llama.cpp (see the module docstring)."""

    def __init__(self, settings: GenerationSettings, prompt: FewShotPrompt):
        self.lib = lib = _llama()
        self.settings = settings
        self.prompt = prompt
        self.model_path = resolve_causal_model(settings.resolved_model())
        if not is_gguf(self.model_path):
            raise QcptError(f"llama.cpp needs a .gguf model file, got {self.model_path!r}")
        lib.llama_backend_init()
        self.load_path = llama_weights_path(self.model_path, settings.llama_weights)
        self._model = lib.llama_model_load_from_file(
            self.load_path.encode(), lib.llama_model_default_params()
        )
        if not self._model:
            raise QcptError(f"llama.cpp cannot load {self.model_path}")
        self._vocab = lib.llama_model_get_vocab(self._model)
        self.threads = settings.threads or len(os.sched_getaffinity(0))
        self.prefix_ids = self._tokenize(prompt.prefix(), special=True)
        self.cue_ids = self._tokenize(prompt.query_cue(), special=False)
        self._pieces = [self._piece(t) for t in range(lib.llama_vocab_n_tokens(self._vocab))]
        self._stops = [
            b"\n" in piece or lib.llama_vocab_is_eog(self._vocab, t)
            for t, piece in enumerate(self._pieces)
        ]
        self._ctx = None
        self._samples = 0  # sequences per passage the context was sized for

    def _tokenize(self, text: str, special: bool) -> list[int]:
        data = text.encode("utf-8")
        size = len(data) + 8
        buffer = (self.lib.llama_token * size)()
        count = self.lib.llama_tokenize(self._vocab, data, len(data), buffer, size, special, False)
        if count < 0:
            raise QcptError("llama.cpp tokenisation failed")
        return list(buffer[:count])

    def _piece(self, token: int) -> bytes:
        buffer = ctypes.create_string_buffer(64)
        count = self.lib.llama_token_to_piece(self._vocab, token, buffer, 64, 0, False)
        return buffer.raw[: max(count, 0)]

    def _context(self, samples: int) -> None:
        """(Re)create the context for ``samples`` sequences per passage; evaluate the prefix."""
        if self._ctx is not None and self._samples == samples:
            return
        self.close()
        lib, s = self.lib, self.settings
        passages = s.parallel
        params = lib.llama_context_default_params()
        params.n_ctx = len(self.prefix_ids) + passages * (
            s.max_input_tokens + samples * (s.max_new_tokens + 1)
        )
        params.n_batch = params.n_ctx
        params.n_seq_max = 1 + passages * samples
        params.kv_unified = True
        params.n_threads = params.n_threads_batch = self.threads
        if params.n_seq_max > lib.llama_max_parallel_sequences():
            raise QcptError(
                f"parallel x num_queries = {passages * samples} sequences exceeds llama.cpp's "
                f"{lib.llama_max_parallel_sequences() - 1}; lower --parallel"
            )
        self._ctx = lib.llama_init_from_model(self._model, params)
        if not self._ctx:
            raise QcptError("llama.cpp cannot create a context (out of memory?)")
        self._memory = lib.llama_get_memory(self._ctx)
        self._batch = lib.llama_batch_init(params.n_batch, 0, params.n_seq_max)
        self._samples = samples
        self._decode([(t, i, 0, False) for i, t in enumerate(self.prefix_ids)])

    def _decode(self, entries: Sequence[tuple[int, int, int, bool]]) -> None:
        """Evaluate ``(token, position, sequence, want logits)`` entries in one batch."""
        batch = self._batch
        for i, (token, position, sequence, logits) in enumerate(entries):
            batch.token[i] = token
            batch.pos[i] = position
            batch.n_seq_id[i] = 1
            batch.seq_id[i][0] = sequence
            batch.logits[i] = logits
        batch.n_tokens = len(entries)
        status = self.lib.llama_decode(self._ctx, batch)
        if status != 0:
            raise QcptError(f"llama.cpp decode failed (status {status})")

    def generate(self, passages: Sequence, num_queries: int | None, seed: int) -> list[list[str]]:
        n = num_queries or PAPER_NUM_QUERIES
        self._context(n)
        lib, s = self.lib, self.settings
        chain = lib.llama_sampler_chain_init(lib.llama_sampler_chain_default_params())
        if s.top_k:
            lib.llama_sampler_chain_add(chain, lib.llama_sampler_init_top_k(s.top_k))
        lib.llama_sampler_chain_add(chain, lib.llama_sampler_init_temp(s.temperature))
        lib.llama_sampler_chain_add(chain, lib.llama_sampler_init_top_p(s.top_p, 1))
        lib.llama_sampler_chain_add(chain, lib.llama_sampler_init_dist(seed))
        try:
            results: list[list[str]] = []
            for start in range(0, len(passages), s.parallel):
                results += self._group(passages[start : start + s.parallel], n, chain)
            return results
        finally:
            lib.llama_sampler_free(chain)

    def _group(self, passages: Sequence, n: int, chain) -> list[list[str]]:
        lib, s = self.lib, self.settings
        prefix_len = len(self.prefix_ids)
        head_limit = max(1, s.max_input_tokens - len(self.cue_ids))
        entries, last_index, lengths = [], [], []
        for j, passage in enumerate(passages):
            head = self.prompt.passage_head(passage_input(passage, s.with_title))
            ids = self._tokenize(head, special=False)[:head_limit] + self.cue_ids
            sequence = 1 + j * n
            lib.llama_memory_seq_cp(self._memory, 0, sequence, -1, -1)
            for i, token in enumerate(ids):
                entries.append((token, prefix_len + i, sequence, i == len(ids) - 1))
            last_index.append(len(entries) - 1)
            lengths.append(len(ids))
        self._decode(entries)
        tokens: dict[int, list[int]] = {}
        position: dict[int, int] = {}
        logits_at: dict[int, int] = {}
        for j in range(len(passages)):
            for k in range(n):
                sequence = 1 + j * n + k
                if k:
                    lib.llama_memory_seq_cp(self._memory, 1 + j * n, sequence, -1, -1)
                tokens[sequence] = []
                position[sequence] = prefix_len + lengths[j]
                logits_at[sequence] = last_index[j]
        active = list(tokens)
        for step in range(s.max_new_tokens):
            running = []
            for sequence in active:
                token = lib.llama_sampler_sample(chain, self._ctx, logits_at[sequence])
                tokens[sequence].append(token)
                if not self._stops[token]:
                    running.append(sequence)
            if not running or step == s.max_new_tokens - 1:
                break
            entries = [(tokens[q][-1], position[q], q, True) for q in running]
            for i, q in enumerate(running):
                position[q] += 1
                logits_at[q] = i
            self._decode(entries)
            active = running
        for sequence in tokens:
            lib.llama_memory_seq_rm(self._memory, sequence, -1, -1)
        texts = [
            b"".join(self._pieces[t] for t in tokens[q]).decode("utf-8", errors="ignore")
            for q in sorted(tokens)
        ]
        queries = [text.split("\n", 1)[0] for text in texts]
        return [queries[j * n : (j + 1) * n] for j in range(len(passages))]

    def close(self) -> None:
        """Free the context (the model stays loaded)."""
        if self._ctx is not None:
            self.lib.llama_batch_free(self._batch)
            self.lib.llama_free(self._ctx)
            self._ctx = None

    def __del__(self):
        try:
            self.close()
            if getattr(self, "_model", None):
                self.lib.llama_model_free(self._model)
                self._model = None
        except Exception:  # interpreter shutdown: the library may already be gone
            pass

    def describe(self) -> dict:
        s = self.settings
        return {
            **causal_description(
                s,
                self.prompt,
                self.model_path,
                "llama-cpp",
                "line break or end-of-generation token",
            ),
            "weights": Path(self.load_path).name,
            "parallel": s.parallel,
            "threads": self.threads,
        }
