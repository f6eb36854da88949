"""The one float64 rule (kernelkit/_dtypes.py), at every public entry, on this backend.

Computation runs in the kernel's dtype (``kare``: ``K``'s). float64 data given
to a float32 computation is cast with one PrecisionWarning naming the remedy
(once per kernel, never per batch); float64 that the backend cannot do is a
DtypeError; exact casts and the estimators (which cast to their own ``dtype``)
are silent.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import warnings

import keras
import numpy as np
import pytest

import kernelkit as kk
from kernelkit import kare_value_and_grad
from kernelkit.estimators import KernelKARERegressor, NTKKARERegressor
from kernelkit.testing import to_numpy
from kernelkit.training import fit_kare

DOWNCAST = "is float64 but the computation runs in float32"


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(12, 3))
    return X, np.sin(X[:, 0])


def downcast_warnings(fn):
    """Run ``fn``; return its result and the PrecisionWarnings about a float64 downcast."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = fn()
    return out, [w for w in caught
                 if issubclass(w.category, kk.PrecisionWarning) and DOWNCAST in str(w.message)]


def _ntk():
    return kk.NTK(kk.mlp(3, depth=1, width=8, seed=0, dtype="float32"))


def _f32(a):
    return a.astype("float32")


#: Every public entry, called with float64 data (X64, y64) and a float32 kernel.
ENTRIES = {
    "kernel(x1)": lambda k, X, y: k(X),
    "kernel(x1, x2)": lambda k, X, y: k(_f32(X), X),
    "kernel.diag": lambda k, X, y: k.diag(X),
    "NTK": lambda k, X, y: _ntk()(X),
    "kare (y)": lambda k, X, y: kk.kare(k(_f32(X)), y),
    "kare_value_and_grad": lambda k, X, y: kare_value_and_grad(k, X, y)[0],
    "KernelRidge.fit": lambda k, X, y: kk.KernelRidge(k, 1e-2).fit(X, y).predict(_f32(X)),
    "KernelRidge.predict": lambda k, X, y: kk.KernelRidge(k, 1e-2).fit(
        _f32(X), _f32(y)).predict(X),
    "KernelRidge.predict_path": lambda k, X, y: kk.KernelRidge(k, 1e-2).fit(
        _f32(X), _f32(y)).predict_path(X, [1e-2]),
    "fit_kare": lambda k, X, y: fit_kare(k, X, y, epochs=2, learning_rate=0.1, batch_size=4),
    "fit_kare validation_data": lambda k, X, y: fit_kare(
        k, _f32(X), _f32(y), epochs=2, learning_rate=0.1, validation_data=(X, y)).val_mse,
}


@pytest.mark.parametrize("entry", ENTRIES)
def test_float64_data_into_float32_warns_once_with_remedy(entry, data):
    X, y = data
    _, caught = downcast_warnings(lambda: ENTRIES[entry](kk.GaussianKernel(1.0, dtype="float32"),
                                                         X, y))
    assert len(caught) == 1, [str(w.message) for w in caught]
    message = str(caught[0].message)
    assert 'dtype="float64"' in message and "kernelkit.enable_float64()" in message
    assert "float32 data" in message
    assert caught[0].filename == __file__  # points at the user's call, not kernelkit


@pytest.mark.parametrize("entry", ENTRIES)
def test_float32_data_is_silent_and_gives_the_same_result(entry, data):
    X, y = data
    out32, caught = downcast_warnings(
        lambda: ENTRIES[entry](kk.GaussianKernel(1.0, dtype="float32"), _f32(X), _f32(y)))
    assert caught == []
    out64, _ = downcast_warnings(
        lambda: ENTRIES[entry](kk.GaussianKernel(1.0, dtype="float32"), X, y))
    if entry.startswith("fit_kare"):
        return  # a history: compared in test_fit_kare_computes_in_the_kernel_dtype
    a, b = np.asarray(to_numpy(out32)), np.asarray(to_numpy(out64))
    assert a.dtype == b.dtype == np.float32  # computed in the kernel's dtype
    np.testing.assert_array_equal(a, b)


def test_fit_kare_computes_in_the_kernel_dtype(data):
    X, y = data
    runs = []
    for Xi, yi in ((X, y), (_f32(X), _f32(y))):
        kernel = kk.GaussianKernel(1.0, dtype="float32")
        history, _ = downcast_warnings(
            lambda: fit_kare(kernel, Xi, yi, epochs=3, learning_rate=0.1, batch_size=4))
        runs.append((history.step_kare, to_numpy(kernel.trainable_variables[0])))
    assert runs[0][0] == runs[1][0]
    np.testing.assert_array_equal(runs[0][1], runs[1][1])


def test_one_warning_per_kernel_not_per_call_or_batch(data):
    X, y = data
    kernel = kk.GaussianKernel(1.0, dtype="float32")

    def many():
        fit_kare(kernel, X, y, epochs=3, learning_rate=0.1, batch_size=3)
        model = kk.KernelRidge(kernel, 1e-2).fit(X, y)
        model.predict(X)
        kernel(X)

    _, caught = downcast_warnings(many)
    assert len(caught) == 1
    _, caught = downcast_warnings(lambda: kk.GaussianKernel(1.0, dtype="float32")(X))
    assert len(caught) == 1  # a new kernel warns again


def test_float64_kernel_takes_any_data_silently(data):
    X, y = data
    kernel = kk.GaussianKernel(1.0, dtype="float64")
    out, caught = downcast_warnings(
        lambda: kk.KernelRidge(kernel, 1e-2).fit(_f32(X), y).predict(X.astype(int)))
    assert caught == [] and out.dtype == np.float64
    value, caught = downcast_warnings(lambda: kk.kare(X @ X.T, _f32(y)))
    assert caught == [] and keras.backend.standardize_dtype(value.dtype) == "float64"


@pytest.mark.parametrize("make", [
    lambda: NTKKARERegressor(width=8, epochs=2, random_state=0, ridge=1e-2),
    lambda: KernelKARERegressor(kk.GaussianKernel(1.0), epochs=2, ridge=1e-2),
])
def test_estimators_cast_to_their_dtype_without_warning(make, data):
    X, y = data
    _, caught = downcast_warnings(lambda: make().fit(X, y).predict(X))
    assert caught == []


def test_the_same_rule_without_float64_on_every_backend():
    """Without JAX's x64 mode (on torch/TF float64 simply exists), one script:
    a float32 kernel casts float64 data with the warning on every backend;
    float64 requested where it is impossible is a DtypeError."""
    code = """
    import warnings, numpy as np, kernelkit as kk
    from kernelkit.training import fit_kare
    X = np.random.default_rng(0).normal(size=(8, 2)); y = X[:, 0]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pred = kk.KernelRidge(kk.GaussianKernel(1.0), 1e-2).fit(X, y).predict(X)
        fit_kare(kk.NTK(kk.mlp(2, width=4, seed=0)), X, y, epochs=1, learning_rate=0.1)
    downcasts = [w for w in caught if issubclass(w.category, kk.PrecisionWarning)]
    assert len(downcasts) == 2 and pred.dtype == np.float32, (downcasts, pred.dtype)
    f64 = kk.backends.float64_enabled()
    for make in (lambda: kk.GaussianKernel(1.0, dtype="float64"),
                 lambda: kk.NTK(kk.mlp(2, dtype="float64")),
                 lambda: kk.kare(X @ X.T, y)):
        try:
            make()
        except kk.DtypeError as err:
            assert not f64 and "enable_float64" in str(err)
        else:
            assert f64, "float64 without x64 was not rejected"
    print("ok", f64)
    """
    env = {**os.environ, "JAX_ENABLE_X64": "0"}
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, env=env, timeout=300)
    assert proc.returncode == 0 and "ok" in proc.stdout, proc.stderr[-3000:]
    expected = kk.backends.BACKEND != "jax"
    assert proc.stdout.split()[-1] == str(expected)
