"""Framework code lives in backends/ only: no other module imports jax, torch or tensorflow."""

from __future__ import annotations

import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]
FRAMEWORKS = {"jax", "jaxlib", "torch", "tensorflow"}
PACKAGES = ("kernelkit", "cli", "benchmarks")  # everything installed but backends/


def _framework_imports(path: pathlib.Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif (isinstance(node, ast.Call) and node.args
              and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)
              and (getattr(node.func, "id", None) == "__import__"
                   or getattr(node.func, "attr", None) == "import_module")):
            names = [node.args[0].value]
        found += [f"{path.relative_to(ROOT)}:{node.lineno} imports {name}"
                  for name in names if name.split(".")[0] in FRAMEWORKS]
    return found


def test_no_module_outside_backends_imports_a_framework():
    files = [p for package in PACKAGES for p in (ROOT / package).rglob("*.py")]
    assert len(files) > 40  # the scan sees the code
    offenders = [hit for path in files for hit in _framework_imports(path)]
    assert offenders == [], "framework code outside backends/: " + "; ".join(offenders)


def test_the_scan_finds_every_kind_of_framework_import(tmp_path, monkeypatch):
    monkeypatch.setattr(__import__(__name__), "ROOT", tmp_path)
    sample = tmp_path / "m.py"
    sample.write_text("import torch.nn\nfrom jax import numpy\nimport importlib\n"
                      "importlib.import_module('tensorflow')\n__import__('jaxlib')\n"
                      "import numpy, keras\nfrom kernelkit import backends\n")
    assert len(_framework_imports(sample)) == 4


def test_backend_modules_define_the_same_functions():
    from kernelkit._backend_choice import BACKENDS

    api = None
    for name in BACKENDS:
        tree = ast.parse((ROOT / "backends" / f"{name}.py").read_text(encoding="utf-8"))
        defined = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)
                   and not n.name.startswith("_")}
        api = defined if api is None else api
        assert defined == api, f"backends/{name}.py differs: {defined ^ api}"
    text = (ROOT / "backends" / "__init__.py").read_text(encoding="utf-8")
    assert all(f'"{fn}"' in text for fn in api)  # every function listed in backends.API
