"""The house rules, kept by a test: layers import only upwards, no cycles, small units.

Every import counts: top-level, inside functions and under ``TYPE_CHECKING``. The layers, top
(imported by all) to bottom (imports from all), as in the README's contributor section.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "geoseg"

#: layer of each top-level module or subpackage of geoseg; a module may import only from its own
#: layer or an earlier one in this list
LAYERS: list[tuple[str, set[str]]] = [
    ("base", {"_version", "errors", "bands", "indices", "dates", "classes", "tiling"}),
    ("core", {"core"}),
    ("io", {"io"}),
    ("models", {"models"}),
    ("engine", {"engine"}),
    ("run", {"run"}),
    ("analysis", {"analysis"}),
    ("train", {"train"}),
    ("cli", {"cli"}),
    ("qgis", {"qgis_plugin"}),  # imports nothing of geoseg: test_the_qgis_plugin_stands_alone
]
RANK = {part: i for i, (_, parts) in enumerate(LAYERS) for part in parts}
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 80


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """geoseg modules that ``name`` imports, wherever the import statement is."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, *([base] if base else [])])
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.add(sub if sub in MODULES else base)
    return {_owner(t) for t in found if t == "geoseg" or t.startswith("geoseg.")} - {name}


def _owner(target: str) -> str:
    while target not in MODULES:
        target = target.rpartition(".")[0]
    return target


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _layer(module: str) -> int:
    return RANK[module.split(".")[1]]


def test_every_module_has_a_layer() -> None:
    unplaced = sorted(m for m in MODULES if m != "geoseg" and m.split(".")[1] not in RANK)
    assert not unplaced, f"give these a layer in LAYERS and the README: {unplaced}"


def test_imports_go_only_upwards() -> None:
    wrong = [
        f"{m} ({LAYERS[_layer(m)][0]}) imports {t} ({LAYERS[_layer(t)][0]})"
        for m, targets in GRAPH.items()
        if m != "geoseg"
        for t in targets
        if t == "geoseg" or _layer(t) > _layer(m)
    ]
    assert not wrong, "\n".join(sorted(wrong))


def test_no_import_cycles() -> None:
    edges = {m: {t for t in ts if not t.startswith(m + ".")} for m, ts in GRAPH.items()}
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    cycles: list[list[str]] = []

    def visit(m: str, path: list[str]) -> None:
        state[m] = 1
        for t in sorted(edges[m]):
            if state.get(t) == 1:
                cycles.append([*path[path.index(t) :], t])
            elif t not in state:
                visit(t, [*path, t])
        state[m] = 2

    for m in sorted(edges):
        if m not in state:
            visit(m, [m])
    assert not cycles, "\n".join(" -> ".join(c) for c in cycles)


def test_modules_and_functions_stay_small() -> None:
    big = []
    for name, path in MODULES.items():
        text = path.read_text()
        if (n := len(text.splitlines())) > MAX_MODULE_LINES:
            big.append(f"module {name}: {n} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                n = (node.end_lineno or node.lineno) - node.lineno + 1
                if n > MAX_FUNCTION_LINES:
                    big.append(f"function {name}.{node.name}: {n} lines")
    assert not big, "\n".join(sorted(big))


def test_the_qgis_plugin_stands_alone() -> None:
    """QGIS's Python has no geoseg (nor torch): the plugin imports only its own modules."""
    plugin = {m for m in MODULES if m.startswith("geoseg.qgis_plugin")}
    wrong = {f"{m} imports {t}" for m in plugin for t in GRAPH[m] - plugin}
    assert plugin and not wrong, sorted(wrong)


@pytest.mark.parametrize("module", ["geoseg.tiling", "geoseg.indices", "geoseg.core.areas"])
def test_light_modules_do_not_load_torch(module: str) -> None:
    code = f"import sys, {module}; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
