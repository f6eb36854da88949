"""Backend selection, dtypes and global state: float64 is float64 or an error."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
from helpers import BACKEND

import kernelkit as kk
from kernelkit import backends
from kernelkit.testing import to_numpy


def run_python(code: str, **env: str) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **env}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)],
                          capture_output=True, text=True, env=full_env, timeout=300)


def test_backend_is_the_one_keras_uses():
    assert backends.BACKEND == keras.backend.backend() == os.environ.get("KERAS_BACKEND", BACKEND)


def test_import_changes_no_global_state():
    code = """
    import json, keras
    def state():
        s = {"floatx": keras.config.floatx()}
        b = keras.backend.backend()
        if b == "jax":
            import jax; s["x64"] = bool(jax.config.jax_enable_x64)
            s["precision"] = str(jax.config.jax_default_matmul_precision)
        if b == "torch":
            import torch; s["tf32"] = [torch.backends.cuda.matmul.allow_tf32,
                                       torch.backends.cudnn.allow_tf32]
        if b == "tensorflow":
            import tensorflow as tf
            s["tf32"] = tf.config.experimental.tensor_float_32_execution_enabled()
        return s
    before = state()
    import numpy as np, kernelkit as kk
    after_import = state()
    kk.kare(kk.GaussianKernel(1.0)(np.ones((3, 2))), np.ones(3))
    after_use = state()
    print(json.dumps([before, after_import, after_use]))
    """
    proc = run_python(code, JAX_ENABLE_X64="0")
    assert proc.returncode == 0, proc.stderr
    before, after_import, after_use = json.loads(proc.stdout.strip().splitlines()[-1])
    assert before == after_import == after_use


@pytest.mark.skipif(BACKEND != "jax", reason="x64 mode exists only on JAX")
def test_jax_float64_without_x64_is_a_clear_error():
    code = """
    import kernelkit as kk
    for make in (lambda: kk.GaussianKernel(1.0, dtype="float64"),
                 lambda: kk.mlp(3, dtype="float64")):
        try:
            make()
        except kk.DtypeError as err:
            assert "JAX_ENABLE_X64=1" in str(err) and "enable_float64" in str(err), err
        else:
            raise SystemExit("float64 without x64 was not rejected")
    import numpy as np
    try:
        kk.kare(np.eye(3), np.ones(3))
    except kk.DtypeError:
        pass
    else:
        raise SystemExit("kare of a float64 numpy K without x64 was not rejected")
    kk.enable_float64()
    import numpy as np, keras
    K = kk.GaussianKernel(1.0)(np.ones((3, 2)))
    assert keras.backend.standardize_dtype(K.dtype) == "float64", K.dtype
    print("ok")
    """
    proc = run_python(code, JAX_ENABLE_X64="0")
    assert proc.returncode == 0 and "ok" in proc.stdout, proc.stderr[-2000:]


def test_float64_is_really_float64():
    """Values that float32 cannot represent survive a float64 kernel and KARE."""
    x = np.array([[1.0], [1.0 + 1e-12]])
    K = kk.LaplaceKernel(1e-12, dtype="float64")(x)
    # exp(-|1e-12| / 1e-12) = exp(-1): float32 would see identical points (K = 1).
    assert abs(float(to_numpy(K)[0, 1]) - np.exp(-1.0)) < 1e-3
    assert keras.backend.standardize_dtype(K.dtype) == "float64"
    value = kk.kare(np.eye(2) * (1 + 1e-12), np.array([1.0, -1.0]), z=0.1)
    assert keras.backend.standardize_dtype(value.dtype) == "float64"


def _allow_tf32(on: bool) -> None:
    if BACKEND == "torch":
        import torch

        torch.backends.cuda.matmul.allow_tf32 = on
        torch.backends.cudnn.allow_tf32 = on
    elif BACKEND == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_tensor_float_32_execution(on)
    else:
        import jax

        jax.config.update("jax_default_matmul_precision", None if on else "highest")


def test_tf32_is_off_inside_kernel_work_and_restored():
    """With TF32 allowed globally, kernel, KARE, gradient and KRR work runs without it."""
    seen = []

    class Spy(kk.GaussianKernel):
        def gram(self, x1, x2):
            seen.append(backends.tf32_enabled())
            return super().gram(x1, x2)

    from kernelkit import kare_value_and_grad

    x = np.random.default_rng(0).normal(size=(6, 2)).astype("float32")  # Spy's dtype
    _allow_tf32(True)
    try:
        assert backends.tf32_enabled() is True
        kernel = Spy(1.0)
        kernel(x)
        kare_value_and_grad(kernel, x, x[:, 0])
        model = kk.KernelRidge(kernel, 1e-2).fit(x, x[:, 0])
        model.predict_path(x, [1e-2])
        assert seen and not any(seen), seen
        assert backends.tf32_enabled() is True  # restored
    finally:
        _allow_tf32(False)


def test_every_backend_module_defines_the_same_functions():
    import ast
    import pathlib

    root = pathlib.Path(backends.__file__).parent
    for name in ("jax", "torch", "tensorflow"):
        tree = ast.parse((root / f"{name}.py").read_text())
        functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
        assert set(backends.API) <= set(functions), (name, set(backends.API) - set(functions))
        signatures = {f: [a.arg for a in functions[f].args.args] + [
            a.arg for a in [functions[f].args.vararg] if a] for f in backends.API}
        if name == "jax":
            reference = signatures
        assert signatures == reference, name
