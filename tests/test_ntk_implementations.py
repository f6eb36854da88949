""""structured" equals "jacobian" across depths, activations, biases and dtypes."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from helpers import BACKEND, jacobian_f64_tolerance, rel_err

import kernelkit as kk
from kernelkit.kernels._activations import supported_activations

DEPTHS = [1, 2, 3, 4]


def _pair(depth, activation, use_bias, dtype, output_dim=1, seed=0):
    model = kk.mlp(5, depth=depth, width=7, activation=activation, output_dim=output_dim,
                   use_bias=use_bias, seed=seed, dtype=dtype)
    return kk.NTK(model, "structured"), kk.NTK(model, "jacobian")


def _inputs(n=10, seed=0):
    return np.random.default_rng(seed).normal(size=(n, 5))


@pytest.mark.parametrize("depth", DEPTHS)
@pytest.mark.parametrize("activation", supported_activations())
def test_float64_all_activations(depth, activation):
    s, j = _pair(depth, activation, True, "float64", seed=depth)
    x1, x2 = _inputs(10, 1), _inputs(6, 2)
    tol = jacobian_f64_tolerance(activation)
    assert rel_err(s(x1), j(x1)) <= tol
    assert rel_err(s(x1, x2), j(x1, x2)) <= tol
    assert rel_err(s.diag(x1), j.diag(x1)) <= tol


@pytest.mark.parametrize("depth", DEPTHS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_without_bias(depth, dtype):
    s, j = _pair(depth, "gelu", False, dtype)
    x = _inputs()
    tol = 1e-5 if dtype == "float32" else jacobian_f64_tolerance("gelu")
    assert rel_err(s(x), j(x)) <= tol


@pytest.mark.parametrize("depth", DEPTHS)
@pytest.mark.parametrize("activation", ["relu", "gelu", "tanh", "sigmoid"])
def test_float32(depth, activation):
    s, j = _pair(depth, activation, True, "float32", seed=7)
    x = _inputs().astype("float32")
    K = s(x)
    assert keras.backend.standardize_dtype(K.dtype) == "float32"
    assert rel_err(K, j(x)) <= 1e-5


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_multi_output_is_mean_of_per_output_ntks(dtype):
    """The convention: an NTK with k outputs is the mean of the k per-output NTKs."""
    model = kk.mlp(5, depth=2, width=6, output_dim=3, seed=3, dtype=dtype)
    x = _inputs(8)
    per_output = []
    for j in range(3):
        single = kk.mlp(5, depth=2, width=6, output_dim=1, seed=3, dtype=dtype)
        weights = model.get_weights()
        weights[-2] = weights[-2][:, j:j + 1]
        weights[-1] = weights[-1][j:j + 1]
        single.set_weights(weights)
        per_output.append(kk.testing.to_numpy(kk.NTK(single, "jacobian")(x)))
    expected = np.mean(per_output, axis=0)
    tol = 1e-5 if dtype == "float32" else jacobian_f64_tolerance("gelu")
    for impl in ("structured", "jacobian"):
        assert rel_err(kk.NTK(model, impl)(x), expected) <= tol


def test_auto_picks_structured_and_falls_back():
    model = kk.mlp(5, depth=1, width=4, seed=0)
    assert kk.NTK(model).implementation_ == "structured"
    inputs = keras.Input(shape=(5,))
    hidden = keras.layers.Dense(4, activation="relu")(inputs)
    functional = keras.Model(inputs, keras.layers.Dense(1)(hidden))
    assert kk.NTK(functional).implementation_ == "jacobian"
    custom = keras.Sequential([keras.Input(shape=(5,)),
                               keras.layers.Dense(4, activation=lambda h: h * h),
                               keras.layers.Dense(1)])
    assert kk.NTK(custom).implementation_ == "jacobian"
    with pytest.raises(kk.InputError, match="structured"):
        kk.NTK(custom, "structured")


def test_jacobian_works_for_a_non_mlp_model():
    """Any Keras model: here a functional model with a skip connection."""
    inputs = keras.Input(shape=(5,), dtype="float64")
    h = keras.layers.Dense(6, activation="tanh", dtype="float64")(inputs)
    out = keras.layers.Dense(1, dtype="float64")(keras.layers.Concatenate(dtype="float64")([h, inputs]))
    model = keras.Model(inputs, out)
    K = kk.testing.to_numpy(kk.NTK(model)(_inputs()))
    assert K.shape == (10, 10) and np.allclose(K, K.T)
    assert np.linalg.eigvalsh(K).min() > -1e-8 * np.abs(K).max()
    # The skip connection's weights contribute x.x' + 1 through the output layer.
    assert np.isfinite(K).all() and BACKEND in ("jax", "torch", "tensorflow")
