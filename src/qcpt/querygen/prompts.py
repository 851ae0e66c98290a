"""Few-shot prompts for causal language models that generate MS MARCO-style search queries.

A small instruct model asked in chat form tends to answer or summarise; shown a few
``Passage: ... / Query: ...`` pairs, it continues the pattern with one query and a line break.
The examples below were written for qcpt (short web-style queries, lower case, mixed topics);
a prompt of one's own can be loaded from YAML or JSON with the same fields.

Reference: Bonifacio et al., "InPars: Data Augmentation for Information Retrieval using Large
Language Models" (2022), for few-shot query generation with plain-text prompts.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from pydantic import BaseModel, Field, ValidationError

from qcpt.errors import QcptError
from qcpt.utils.config import validation_problems, yaml_error_message

DEFAULT_INSTRUCTION = "Write a short search query that the passage answers."
DEFAULT_EXAMPLES: list[tuple[str, str]] = [
    (
        "Vitamin D is made in the skin when it is exposed to ultraviolet light from the sun. "
        "People who live far from the equator, have darker skin or spend little time outdoors "
        "are more likely to have low blood levels of vitamin D, especially in winter.",
        "what causes low vitamin d levels",
    ),
    (
        "In a randomized trial of 1,200 adults with type 2 diabetes, those who took metformin "
        "and followed a daily walking program lowered their HbA1c by 0.8 points after one year, "
        "compared with 0.5 points for metformin alone.",
        "does walking improve blood sugar control in diabetes",
    ),
    (
        "A Roth IRA is funded with money that has already been taxed. Withdrawals in retirement, "
        "including investment gains, are tax free if the account has been open for at least "
        "five years and the owner is 59 and a half or older.",
        "are roth ira withdrawals taxed",
    ),
]


class FewShotPrompt(BaseModel):
    """An instruction, worked examples and the labels that frame each passage and query.

    The model sees ``prefix()`` (computed once and cached) followed by ``passage_part(text)``,
    and its continuation up to the first line break is the query.
    """

    instruction: str = DEFAULT_INSTRUCTION
    examples: list[tuple[str, str]] = Field(default_factory=lambda: list(DEFAULT_EXAMPLES))
    passage_label: str = "Passage"
    query_label: str = "Query"

    def prefix(self) -> str:
        """Instruction and examples, ending with a blank line."""
        parts = [f"{self.instruction}\n\n"] if self.instruction else []
        parts += [f"{self.passage_part(p)} {q}\n\n" for p, q in self.examples]
        return "".join(parts)

    def passage_part(self, text: str) -> str:
        """The per-passage part of the prompt: ``passage_head(text) + query_cue()``."""
        return self.passage_head(text) + self.query_cue()

    def passage_head(self, text: str) -> str:
        """``Passage: <text>`` with whitespace collapsed (runtimes truncate it in tokens)."""
        return f"{self.passage_label}: {' '.join(text.split())}"

    def query_cue(self) -> str:
        """The line break and query label after which the model writes the query."""
        return f"\n{self.query_label}:"

    @classmethod
    def load(cls, path: str | Path) -> FewShotPrompt:
        """Read a prompt from YAML or JSON (``instruction``, ``examples: [[passage, query]]``)."""
        path = Path(path)
        try:
            raw = path.read_text(encoding="utf-8")
            data = json.loads(raw) if path.suffix == ".json" else yaml.safe_load(raw)
            return cls.model_validate(data)
        except ValidationError as error:
            raise QcptError(f"{path}: bad prompt: {validation_problems(error)}") from None
        except yaml.YAMLError as error:
            raise QcptError(yaml_error_message(path, error)) from None
        except (OSError, ValueError) as error:
            raise QcptError(f"cannot read prompt {path}: {error}") from error
