"""Start-up cost and declared dependencies.

``import nmfaudio`` must stay light (no scikit-learn, matplotlib, mir_eval or dask until a
function needs them), and every third-party module that nmfaudio imports must be declared
in ``pyproject.toml`` (as a dependency or in an optional extra).
"""

import ast
import importlib.metadata
import pathlib
import re
import subprocess
import sys
import tomllib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PKG = ROOT / "nmfaudio"


def test_import_loads_no_heavy_dependency():
    code = ("import sys, nmfaudio; heavy = ['sklearn', 'matplotlib', 'mir_eval', 'dask', 'distributed']; "
            "print(','.join(m for m in heavy if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "", f"import nmfaudio loaded {out.stdout.strip()}"


def test_lazy_estimator_attribute():
    import nmfaudio
    from nmfaudio.estimator import NMF

    assert nmfaudio.NMF is NMF
    assert "NMF" in dir(nmfaudio) and "NMF" in nmfaudio.__all__
    with pytest.raises(AttributeError, match="no_such_name"):
        nmfaudio.no_such_name  # noqa: B018


def _imported_top_level_modules():
    mods = set()
    for path in PKG.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                mods |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                mods.add(node.module.split(".")[0])
    return {m for m in mods if m not in sys.stdlib_module_names and m != "nmfaudio"}


def _declared_distributions():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    reqs = list(meta["dependencies"])
    for extra in meta.get("optional-dependencies", {}).values():
        reqs += extra
    names = set()
    for r in reqs:
        name = re.match(r"[A-Za-z0-9_.-]+", r).group(0)
        names.add(name.lower().replace("_", "-"))
        # "dask[distributed]" brings the distributed package
        names |= {e.strip().lower() for e in re.findall(r"\[([^\]]*)\]", r)[0].split(",")} if "[" in r else set()
    return names


def test_every_third_party_import_is_declared():
    declared = _declared_distributions()
    dist_of = importlib.metadata.packages_distributions()
    missing = []
    for mod in sorted(_imported_top_level_modules()):
        dists = {d.lower().replace("_", "-") for d in dist_of.get(mod, [mod])}
        if not dists & declared:
            missing.append(f"{mod} (distribution {sorted(dists)})")
    assert not missing, f"imported by nmfaudio but not declared in pyproject.toml: {missing}"
