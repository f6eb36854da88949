"""The public API: every exported name resolves, to the object and not a module."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys
import types

import kernelkit


def test_exports_are_objects_even_after_every_submodule_is_imported():
    for mod in pkgutil.walk_packages(kernelkit.__path__, "kernelkit."):
        if ".cli" not in mod.name:
            importlib.import_module(mod.name)
    for name in kernelkit.__all__:
        assert not isinstance(getattr(kernelkit, name), types.ModuleType), name
    for name in ("TrainableKernel", "NTK", "GaussianKernel", "AnisotropicKernel",
                 "LaplaceKernel", "mlp", "kare", "KernelRidge"):
        assert name in kernelkit.__all__
    assert callable(kernelkit.kare) and callable(kernelkit.mlp)


def test_import_kernelkit_and_cli_do_not_import_keras():
    code = ("import sys, kernelkit, kernelkit.cli.main; "
            "print('keras' in sys.modules, 'jax' in sys.modules, 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "False", "False"]
