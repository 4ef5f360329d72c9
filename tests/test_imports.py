"""Imports point one way (issue #10): math -> training -> model -> files/data -> estimators/CLI.

Every module's imports are read with ``ast`` — including imports inside functions and
``import_module("literal")`` calls — and the test fails on any import circle and on any module importing
one from a layer above it.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "vecprop"

# lower numbers are lower layers; a module may import its own layer or any layer below
LAYERS = {
    0: [
        "registry",
        "checks",
        "activations",
        "losses",
        "head",
        "initializers",
        "propagation",
        "optimizers",
        "schedules",
        "modelfile",
        "engines",
        "engines.base",
        "engines.reference",
        "engines.numpy_engine",
        "memory",
        "_html",
        "engines.numba_engine",
        "engines.numba_kernels",
        "engines.xp_engine",
        "engines.xp_propagation",
    ],
    1: [
        "callbacks",
        "reducers",
        "stopping",
        "training",
        "lbfgs",
        "distributed",
        "plots",
    ],  # training, beside the model (plots: a leaf)
    2: ["network", "gradcheck"],  # the model
    3: [
        "io",
        "datasets",
        "datasets.dataset",
        "datasets.builtin",
        "datasets.files",
        "datasets.preprocessing",
        "predictor",
        "course",
        "shards",
    ],  # files and data
    4: [
        "estimators",
        "sklearn",
        "sklearn._params",
        "sklearn._stopping",
        "sklearn._persist",
        "sklearn._array_api",
        "sklearn._distributed",
        "sklearn._base",
        "sklearn.classifier",
        "sklearn.regressor",
        "onnx_export",
        "playground",
        "playground.api",
        "playground.server",
        "cli",
        "cli_mpi",
        "__main__",
        "",
    ],  # on top ("" is the package itself)
}
LAYER = {f"vecprop.{m}" if m else "vecprop": level for level, mods in LAYERS.items() for m in mods}

# No exceptions: io builds estimator files through classes that vecprop.sklearn registers with it.
ALLOWED_UPWARD = set()


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(module: str, is_package: bool, level: int, name: str | None) -> str:
    base = module.split(".") if is_package else module.split(".")[:-1]
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join(base + ([name] if name else []))


def _edges(path: Path, modules: set) -> set:
    module, is_package = _module_name(path), path.name == "__init__.py"
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(module, is_package, node.level, node.module) if node.level else node.module
            targets = [f"{target}.{a.name}" if f"{target}.{a.name}" in modules else target for a in node.names]
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            name = node.args[0].value
            targets = [
                _resolve(module, is_package, len(name) - len(name.lstrip(".")), name.lstrip(".") or None)
                if name.startswith(".")
                else name
            ]
        found.update((module, t) for t in targets if t in modules and t != module)
    return found


def _graph():
    paths = sorted(SRC.rglob("*.py"))
    modules = {_module_name(p) for p in paths}
    return modules, set().union(*(_edges(p, modules) for p in paths))


def test_every_module_has_a_layer():
    modules, _ = _graph()
    missing, stale = sorted(modules - set(LAYER)), sorted(set(LAYER) - modules)
    assert not missing and not stale, f"add to LAYERS: {missing}; stale: {stale}"


def test_no_module_imports_one_above_it():
    _, edges = _graph()
    upward = sorted((a, b) for a, b in edges if LAYER[b] > LAYER[a] and (a, b) not in ALLOWED_UPWARD)
    assert not upward, f"imports pointing up a layer: {upward}"


def test_there_is_no_import_circle():
    modules, edges = _graph()
    graph = {m: sorted(b for a, b in edges if a == m and (a, b) not in ALLOWED_UPWARD) for m in modules}
    state, stack = {}, []

    def visit(m):
        state[m] = "open"
        stack.append(m)
        for n in graph[m]:
            if state.get(n) == "open":
                raise AssertionError("import circle: " + " -> ".join(stack[stack.index(n) :] + [n]))
            if n not in state:
                visit(n)
        stack.pop()
        state[m] = "done"

    for m in sorted(modules):
        if m not in state:
            visit(m)


def test_the_graph_reader_sees_imports_inside_functions_and_import_module(tmp_path):
    pkg = tmp_path / "vecprop"
    pkg.mkdir()
    (pkg / "a.py").write_text("def f():\n    from .b import x\n    import_module('vecprop.c')\n")
    for name in ("b", "c"):
        (pkg / f"{name}.py").write_text("")
    global SRC
    saved, SRC = SRC, pkg
    try:
        edges = _edges(pkg / "a.py", {"vecprop.a", "vecprop.b", "vecprop.c"})
    finally:
        SRC = saved
    assert edges == {("vecprop.a", "vecprop.b"), ("vecprop.a", "vecprop.c")}
