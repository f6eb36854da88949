"""The Keras 3.15.1 float64 traps that kernelkit._ops works around, measured.

If one of these starts failing because upstream fixed it, the workaround in
kernelkit/_ops.py may go (and the tolerance named in tests/helpers.py).
Each test also checks that kernelkit's replacement is float64-accurate.
"""

from __future__ import annotations

import keras
import numpy as np
from helpers import BACKEND
from keras import ops
from scipy.special import erf

from kernelkit import _ops
from kernelkit.testing import to_numpy

X = np.linspace(-3.0, 3.0, 101) + 1.0 / 3.0


def _err(got, ref) -> float:
    return float(np.abs(to_numpy(got).astype(np.float64) - ref).max() / np.abs(ref).max())


def test_mean():
    t = ops.convert_to_tensor(X * 1e5)
    upstream = _err(ops.mean(t), np.mean(X * 1e5))
    assert (upstream > 1e-12) == (BACKEND in ("jax", "torch")), upstream
    assert _err(_ops.mean(t), np.mean(X * 1e5)) < 1e-14


def test_tanh():
    t = ops.convert_to_tensor(X)
    upstream = _err(ops.tanh(t), np.tanh(X))
    assert (upstream > 1e-12) == (BACKEND == "jax"), upstream
    assert _err(_ops.tanh(t), np.tanh(X)) < 1e-14


def test_gelu():
    t = ops.convert_to_tensor(X)
    ref = 0.5 * X * (1.0 + erf(X / np.sqrt(2.0)))
    upstream = _err(keras.activations.gelu(t), ref)
    assert (upstream > 1e-12) == (BACKEND == "tensorflow"), upstream
    assert _err(_ops.gelu(t), ref) < 1e-14


def test_maximum_with_python_scalar_and_matmul():
    t = ops.convert_to_tensor(X)
    m = ops.reshape(t[:100], (10, 10))
    downcast = keras.backend.standardize_dtype(ops.maximum(t, 0.0).dtype) == "float32"
    matmul32 = keras.backend.standardize_dtype(ops.matmul(m, m).dtype) == "float32"
    assert downcast == matmul32 == (BACKEND == "torch")
    assert keras.backend.standardize_dtype(ops.relu(t).dtype) == "float64"
    assert keras.backend.standardize_dtype(ops.einsum("ij,jk->ik", m, m).dtype) == "float64"
