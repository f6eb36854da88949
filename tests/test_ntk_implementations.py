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


def _inputs(n=10, seed=0, dtype="float64"):
    """Inputs in the kernel's dtype (float64 data into a float32 kernel would warn)."""
    return np.random.default_rng(seed).normal(size=(n, 5)).astype(dtype)


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
    x = _inputs(dtype=dtype)
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
    x = _inputs(8, dtype=dtype)
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
    """Any Keras model: a functional model with a skip connection, against its closed form.

    f(x) = s(x W1 + b1) . v + x . u + c with s = relu, so
    K = s(h)s(h')^T + x x'^T + 1 + (x x'^T + 1) * (s'(h) * v)(s'(h') * v)^T.
    """
    inputs = keras.Input(shape=(5,), dtype="float64")
    hidden = keras.layers.Dense(6, activation="relu", dtype="float64")(inputs)
    both = keras.layers.Concatenate(dtype="float64")([hidden, inputs])
    model = keras.Model(inputs, keras.layers.Dense(1, dtype="float64")(both))
    ntk = kk.NTK(model)
    assert ntk.implementation_ == "jacobian"
    W1, b1, Wout, _ = [kk.testing.to_numpy(w) for w in model.weights]
    v, u = Wout[:6, 0], Wout[6:, 0]
    x = _inputs()
    h = x @ W1 + b1
    a, g = np.maximum(h, 0.0), (h > 0) * v
    lin = x @ x.T + 1.0
    expected = a @ a.T + lin + lin * (g @ g.T)
    tol = 1e-6 if BACKEND == "torch" else 1e-10  # torch: keras issue 23704
    assert rel_err(ntk(x), expected) <= tol


def test_sequential_subclass_is_not_treated_as_an_mlp():
    class Scaled(keras.Sequential):
        def call(self, x, training=None, mask=None):
            return 3.0 * super().call(x, training=training, mask=mask)

    model = Scaled([keras.Input(shape=(5,)), keras.layers.Dense(4, activation="relu"),
                    keras.layers.Dense(1)])
    ntk = kk.NTK(model)
    assert ntk.implementation_ == "jacobian"
    plain = keras.Sequential([keras.Input(shape=(5,)), keras.layers.Dense(4, activation="relu"),
                              keras.layers.Dense(1)])
    plain.set_weights(model.get_weights())
    x = _inputs().astype("float32")
    assert rel_err(ntk(x), 9.0 * kk.testing.to_numpy(kk.NTK(plain)(x))) < 1e-5


def test_ntk_dtype_must_match_the_model():
    with pytest.raises(kk.InputError, match="must be the model's"):
        kk.NTK(kk.mlp(5, dtype="float32"), dtype="float64")


def test_float64_jacobian_warns_where_keras_loses_precision():
    """A PrecisionWarning iff an upstream op in the forward pass is not float64-exact."""
    import warnings

    from kernelkit.kernels._ntk_jacobian import float64_forward_traps

    for activation in ("relu", "tanh", "gelu"):
        model = kk.mlp(5, depth=1, width=4, activation=activation, dtype="float64")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            kk.NTK(model, "jacobian")
        warned = any(issubclass(w.category, kk.PrecisionWarning) for w in caught)
        expected = (BACKEND == "torch" or (BACKEND == "jax" and activation == "tanh")
                    or (BACKEND == "tensorflow" and activation == "gelu"))
        assert warned == expected == bool(float64_forward_traps(model)), activation
