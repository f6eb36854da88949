"""KARE gradients of every shipped kernel against central finite differences (float64)."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import BACKEND, rel_err
from keras import ops

import kernelkit as kk
from kernelkit import kare_value_and_grad
from kernelkit.testing import to_numpy


def _kernels():
    A = np.random.default_rng(1).normal(size=(3, 3))
    return {
        "gaussian": lambda: kk.GaussianKernel(1.5, dtype="float64"),
        "anisotropic": lambda: kk.AnisotropicKernel(M=A @ A.T / 3, dtype="float64"),
        "laplace": lambda: kk.LaplaceKernel(2.0, dtype="float64"),
        "laplace-metric": lambda: kk.LaplaceKernel(3.0, M=A @ A.T, dtype="float64"),
        "ntk-structured": lambda: kk.NTK(
            kk.mlp(3, depth=2, width=4, activation="gelu", seed=5, dtype="float64"),
            "structured"),
        "ntk-jacobian": lambda: kk.NTK(
            kk.mlp(3, depth=2, width=4, activation="relu", seed=5, dtype="float64"),
            "jacobian"),
        "ntk-multi-output": lambda: kk.NTK(
            kk.mlp(3, depth=1, width=4, output_dim=2, seed=6, dtype="float64")),
    }


def _kare_at(kernel, values, x, y, z):
    tensors = [ops.convert_to_tensor(v, dtype="float64") for v in values]
    return float(to_numpy(kk.kare(kernel.stateless_gram(tensors, x), y, z)))


def finite_differences(kernel, x, y, z, eps=1e-6):
    """Central differences of KARE in every element of every trainable variable."""
    base = [to_numpy(v).astype(np.float64) for v in kernel.trainable_variables]
    grads = []
    for i, value in enumerate(base):
        g = np.zeros_like(value)
        for idx in np.ndindex(value.shape):
            h = eps * max(1.0, abs(value[idx]))
            values = [b.copy() for b in base]
            values[i][idx] = value[idx] + h
            up = _kare_at(kernel, values, x, y, z)
            values[i][idx] = value[idx] - h
            down = _kare_at(kernel, values, x, y, z)
            g[idx] = (up - down) / (2 * h)
        grads.append(g)
    return grads


@pytest.mark.parametrize("name", list(_kernels()))
def test_kare_gradient_matches_finite_differences(name):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(12, 3))
    kernel = _kernels()[name]()
    k = 2 if name == "ntk-multi-output" else 1
    y = np.sin(x @ rng.normal(size=(3, k)))
    if k == 1:
        y = y[:, 0]
    value, grads = kare_value_and_grad(kernel, x, y, z=0.1)
    oracle_kernel = kernel
    if name == "ntk-jacobian" and BACKEND == "torch":
        # Keras 3.15 runs float64 Dense matmuls in float32 on torch (keras issue
        # 23704), so finite differences of the model's own forward pass would
        # be noise; difference the structured NTK of the same weights instead.
        oracle_kernel = kk.NTK(kernel.model, "structured")
    fd = finite_differences(oracle_kernel, x, y, 0.1)
    assert len(grads) == len(fd) == len(kernel.trainable_variables)
    for var, g, g_fd in zip(kernel.trainable_variables, grads, fd):
        err = rel_err(g, g_fd)
        assert err <= 1e-5, f"{var.path}: relative error {err:.2e}"
    assert abs(float(to_numpy(value)) - _kare_at(kernel, [to_numpy(v) for v in
                                                          kernel.trainable_variables], x, y, 0.1)) < 1e-12


@pytest.mark.parametrize("activation", ["elu", "selu", "softplus", "silu", "sigmoid"])
def test_gradients_stay_finite_at_large_preactivations(activation):
    """exp() in the branch where() discards must not overflow into NaN gradients."""
    model = kk.mlp(2, depth=1, width=3, activation=activation, seed=0, dtype="float32")
    weights = model.get_weights()
    weights[0] = weights[0] * 200.0  # pre-activations of several hundred
    model.set_weights(weights)
    x = np.random.default_rng(0).normal(size=(6, 2)).astype("float32")
    value, grads = kare_value_and_grad(kk.NTK(model, "structured"), x, x[:, 0])
    assert np.isfinite(to_numpy(value))
    assert all(np.isfinite(to_numpy(g)).all() for g in grads)


def test_unused_variable_gets_zero_gradient():
    """A variable the kernel does not use gets a zero, not None or an error."""

    class WithSpare(kk.GaussianKernel):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.spare = self.add_weight(shape=(2,), initializer="ones")

    x = np.random.default_rng(0).normal(size=(8, 2))
    _, grads = kare_value_and_grad(WithSpare(bandwidth=1.0, dtype="float64"), x, x[:, 0])
    assert np.array_equal(to_numpy(grads[1]), np.zeros(2))
