"""Recipes as pydantic models read from YAML, with dotted command-line overrides."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from qcpt.errors import QcptError

ConfigT = TypeVar("ConfigT", bound=BaseModel)


class Section(BaseModel):
    """A config section: unknown keys are errors (a typo must not be silently ignored).
    Sections are named ``*Settings``, whole recipes (:class:`Recipe`) ``*Config``."""

    model_config = ConfigDict(extra="forbid")


def load_config(
    cls: type[ConfigT],
    path: str | Path | None,
    overrides: dict[str, Any] | None = None,
    what: str = "config",
) -> ConfigT:
    """Read a YAML recipe (or none) into ``cls`` and apply ``overrides`` given as dotted keys.

    ``{"training.max_steps": 10, "model.name": "x"}`` sets nested fields; ``None`` values are
    ignored, so unset command-line options keep the recipe's values. Errors name the file and
    every invalid field.
    """
    data: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise QcptError(f"{path}: no such config file")
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as error:
            raise QcptError(yaml_error_message(path, error)) from None
        except (OSError, UnicodeDecodeError) as error:
            raise QcptError(f"{path}: cannot read the config: {error}") from None
        if not isinstance(data, dict):
            raise QcptError(f"{path}: a config is a mapping of sections")
    for dotted, value in (overrides or {}).items():
        if value is None:
            continue
        set_dotted(data, dotted, value, path)
    try:
        return cls.model_validate(data)
    except ValidationError as error:
        where = f"{path}: " if path is not None else ""
        raise QcptError(f"{where}bad {what}: {validation_problems(error)}") from None


def set_dotted(
    data: dict[str, Any], dotted: str, value: Any, path: str | Path | None = None
) -> None:
    """Set ``data["a"]["b"] = value`` for ``"a.b"``; a number indexes a list
    (``"systems.2.seeds"``)."""
    keys = dotted.split(".")
    node: Any = data
    for depth, key in enumerate(keys):
        if isinstance(node, list) and (not key.isdigit() or int(key) >= len(node)):
            where = f"{path}: " if path is not None else ""
            raise QcptError(f"{where}{dotted}: {key!r} is not an index of a list of {len(node)}")
        index: Any = int(key) if isinstance(node, list) else key
        if depth == len(keys) - 1:
            node[index] = value
        elif isinstance(node, list):
            node = node[index]
        else:
            node = node.setdefault(key, {})


def registered(value: str, registry: dict, what: str) -> str:
    """``value`` when it names an entry of ``registry``; else the ValueError a pydantic
    validator turns into ``key: unknown <what> ...; use one of ...``."""
    if value not in registry:
        raise ValueError(f"unknown {what} {value!r}; use one of {', '.join(registry)}")
    return value


def validation_problems(error: ValidationError) -> str:
    """One line for a pydantic error: ``key.path: message; ...`` (for unknown keys pydantic's
    'Extra inputs are not permitted' reads 'unknown key')."""
    parts = []
    for problem in error.errors():
        message = problem["msg"]
        if problem.get("type") == "extra_forbidden":
            message = "unknown key"
        message = message.removeprefix("Value error, ")  # a validator's own sentence
        where = ".".join(map(str, problem["loc"]))
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)


def yaml_error_message(path: Path, error: yaml.YAMLError) -> str:
    """``file:line:column: not valid YAML: problem`` (1-based), in one line."""
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
    problem = getattr(error, "problem", None) or str(error)
    return f"{where}: not valid YAML: {' '.join(str(problem).split())}"


def dump_config(config: BaseModel) -> str:
    """A config as YAML (what :func:`load_config` reads back)."""
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)


RecipeT = TypeVar("RecipeT", bound="Recipe")


class Recipe(Section):
    """A whole stage recipe: ``from_yaml`` with dotted overrides, ``to_yaml`` to read back."""

    kind: ClassVar[str] = "config"  # named in error messages

    @classmethod
    def from_yaml(
        cls: type[RecipeT], path: str | Path | None, overrides: dict[str, Any] | None = None
    ) -> RecipeT:
        """Load a YAML recipe (or none) and apply dotted ``overrides`` (see ``load_config``)."""
        return load_config(cls, path, overrides, cls.kind)

    def to_yaml(self) -> str:
        """The recipe as YAML (what ``from_yaml`` reads back)."""
        return dump_config(self)
