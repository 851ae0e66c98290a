"""Check qcpt's import layers: no module imports a higher layer, and the stages never import
each other (they talk through files).

Layers from the bottom (a module may import its own layer and any layer below):

    0 foundation  qcpt.errors, qcpt.utils
    1 data        qcpt.data (readers and writers of every stage file format)
    2 encoder     qcpt.encoder (checkpoints, pooling, model folders)
    3 evaluation  qcpt.evaluation
    4 retrieval   qcpt.retrieval
    5 stages      qcpt.querygen, qcpt.pretrain, qcpt.finetune (siblings: none imports another)
    6 pipeline    qcpt.pipeline
    7 cli         qcpt.cli, qcpt.__main__

Every ``import`` and ``from ... import`` in ``src/qcpt`` counts, also those inside functions
(a lazy import is still a dependency). Prints the layer table and each violation with its
file and line; exits 1 when there is any.

    python scripts/check_layers.py [--src src/qcpt]
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections import defaultdict
from pathlib import Path

LAYERS = {
    "errors": (0, "foundation"),
    "utils": (0, "foundation"),
    "__init__": (0, "foundation"),
    "data": (1, "data"),
    "encoder": (2, "encoder"),
    "evaluation": (3, "evaluation"),
    "retrieval": (4, "retrieval"),
    "querygen": (5, "stages"),
    "pretrain": (5, "stages"),
    "finetune": (5, "stages"),
    "pipeline": (6, "pipeline"),
    "cli": (7, "cli"),
    "__main__": (7, "cli"),
}
STAGES = {"querygen", "pretrain", "finetune"}


def top_package(module: str) -> str | None:
    """``qcpt.pretrain.dataset`` -> ``pretrain``; None outside qcpt."""
    parts = module.split(".")
    if parts[0] != "qcpt":
        return None
    return parts[1] if len(parts) > 1 else "__init__"


def module_name(path: Path, src: Path) -> str:
    relative = path.relative_to(src.parent).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imports_of(path: Path, module: str) -> list[tuple[int, str]]:
    """(line, imported module) of every qcpt import in ``path``, relative ones resolved."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.append((node.lineno, target))
    return [(line, target) for line, target in found if top_package(target)]


def check(src: Path) -> tuple[list[str], dict[str, set[str]]]:
    """Violations as printable lines, and which packages each package imports."""
    violations, edges = [], defaultdict(set)
    for path in sorted(src.rglob("*.py")):
        module = module_name(path, src)
        own = top_package(module)
        if own not in LAYERS:
            violations.append(f"{path}: package {own!r} has no layer in scripts/check_layers.py")
            continue
        for line, target in imports_of(path, module):
            other = top_package(target)
            if other == own:
                continue
            edges[own].add(other)
            if other not in LAYERS:
                violations.append(f"{path}:{line}: imports {target}, which has no layer")
            elif LAYERS[other][0] > LAYERS[own][0]:
                violations.append(
                    f"{path}:{line}: {LAYERS[own][1]} ({own}) imports the higher "
                    f"layer {LAYERS[other][1]} ({target})"
                )
            elif own in STAGES and other in STAGES:
                violations.append(
                    f"{path}:{line}: stage {own} imports stage {other} "
                    f"({target}); stages talk through files"
                )
    return violations, edges


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--src", type=Path, default=Path(__file__).resolve().parents[1] / "src" / "qcpt"
    )
    args = parser.parse_args()
    violations, edges = check(args.src)
    print("| layer | packages | imports |\n|---:|---|---|")
    by_layer = defaultdict(list)
    for package, (rank, name) in LAYERS.items():
        if (args.src / package).is_dir() or (args.src / f"{package}.py").is_file():
            by_layer[(rank, name)].append(package)
    for (rank, name), packages in sorted(by_layer.items()):
        used = sorted({other for p in packages for other in edges.get(p, ())})
        print(f"| {rank} {name} | {', '.join(sorted(packages))} | {', '.join(used) or '-'} |")
    print(f"\n{len(violations)} violation(s)")
    for line in violations:
        print(line)
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
