"""Module boundaries: imports between nmfaudio's modules go one way, and no module is huge.

Counts every import, at module level or inside a function (a lazy import still ties the two
modules together), relative or absolute.
"""

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "nmfaudio"


def _module(path):
    parts = list(path.relative_to(PKG.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path, modules):
    mod = _module(path)
    package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            # "from . import _solvers" imports the submodule, not the package
            subs = {f"{target}.{a.name}" for a in node.names} & modules
            found |= subs or ({target} & modules)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names} & modules
    return found - {mod}


def _graph():
    paths = {_module(p): p for p in PKG.rglob("*.py")}
    modules = set(paths)
    return {m: _imports(p, modules) for m, p in paths.items()}


def test_graph_sees_the_package():
    g = _graph()
    assert "nmfaudio.separate" in g["nmfaudio"] and "nmfaudio.nmf" in g["nmfaudio.separate"]
    assert "nmfaudio._solvers" in g["nmfaudio.nmf"]  # a submodule imported with "from . import"


def test_no_two_modules_import_each_other():
    g = _graph()
    mutual = sorted(f"{a} <-> {b}" for a in g for b in g[a]
                    if a < b and a in g.get(b, ()) and b != "nmfaudio" and a != "nmfaudio")
    assert mutual == []


def test_modules_stay_under_500_lines():
    long = {_module(p): n for p in PKG.rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > 500}
    assert long == {}
