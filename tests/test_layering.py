"""The direction of imports that docs/design.md states: each package imports only from itself
and from the layers below it, so a lower floor never pulls in an upper one (inference never
loads training code) and there is no import cycle between modules."""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from pathlib import Path

import dasr

PACKAGE = Path(dasr.__file__).parent

LAYERS = (
    ("errors",),
    ("files",),
    ("config", "ops", "weights"),
    ("data",),
    ("archs", "metrics", "degradations", "datasets"),
    ("losses",),
    ("engine",),
    ("inference",),
    ("evaluation",),
    ("report",),
    ("stage1_dsn",),
    ("stage1_5_maps",),
    ("stage2_srn",),
    ("pipeline",),
    ("demo",),
    ("cli",),
    ("__main__",),
)
"""Lowest first, as in docs/design.md. Inference, evaluation and the report sit below the
training stages: upscaling, scoring and reporting need no training code. The package root
(``dasr/__init__.py``) is outside the layers: it holds ``__version__``, which any layer may
read, and imports ``load_model`` lazily, on first use, for users."""
RANK = {package: rank for rank, packages in enumerate(LAYERS) for package in packages}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports() -> dict[str, set[str]]:
    """Module -> the dasr modules it imports (anywhere in the file, lazy imports included)."""
    modules = {_module_name(path): path for path in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = defaultdict(set)
    for module, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "dasr":
                for alias in node.names:
                    child = f"{node.module}.{alias.name}"
                    graph[module].add(child if child in modules else node.module)
            elif isinstance(node, ast.Import):
                graph[module].update(alias.name for alias in node.names if alias.name in modules)
    return graph


def _package(module: str) -> str:
    return module.split(".")[1]


def test_every_package_has_a_layer() -> None:
    packages = {path.name if path.is_dir() else path.stem for path in PACKAGE.iterdir()
                if (path.is_dir() and (path / "__init__.py").is_file()) or path.suffix == ".py"} - {"__init__"}
    assert packages == set(RANK), "add the package to LAYERS here and to docs/design.md"


def _upward(graph: dict[str, set[str]]) -> list[str]:
    return sorted(
        f"{module} imports {target}"
        for module, targets in graph.items()
        if module != "dasr"
        for target in targets
        if target != "dasr" and _package(target) != _package(module)
        and RANK[_package(target)] >= RANK[_package(module)]
    )


def test_imports_point_down() -> None:
    assert not _upward(_imports())


def test_no_import_cycle_between_modules() -> None:
    graph = _imports()
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    cycles: list[list[str]] = []

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(graph.get(module, ())):
            if state.get(target) == 1:
                cycles.append([*path[path.index(target):], target])
            elif target not in state:
                visit(target, [*path, target])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert not cycles


def test_the_checker_sees_an_upward_import(tmp_path: Path, monkeypatch) -> None:
    """The test above can fail: a lower package importing an upper one is reported."""
    fake = tmp_path / "dasr"
    (fake / "ops").mkdir(parents=True)
    (fake / "cli").mkdir()
    for init in (fake / "__init__.py", fake / "ops" / "__init__.py", fake / "cli" / "__init__.py"):
        init.write_text("")
    (fake / "cli" / "main.py").write_text("def main():\n    return 0\n")
    (fake / "ops" / "bad.py").write_text("def f():\n    from dasr.cli.main import main\n    return main\n")
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", fake)
    assert _upward(_imports()) == ["dasr.ops.bad imports dasr.cli.main"]
