"""Empirical NTK of any Keras model from per-example Jacobians (backends/)."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import ops

from kernelkit import backends
from kernelkit.kernels._activations import lookup_activation


def model_jacobian(model: Any, x: Any) -> Any:
    """Per-example Jacobian of ``model`` at ``x``: shape ``(n, k, P)``.

    Differentiates a pure function built on ``model.stateless_call`` with the
    backend's autodiff; the result stays differentiable in the weights.
    """
    params = [v.value for v in model.trainable_variables]
    fixed = [v.value for v in model.non_trainable_variables]

    def fn(p: list, xb: Any) -> Any:
        out, _ = model.stateless_call(p, fixed, xb)
        return ops.reshape(out, (xb.shape[0], -1))

    jacs = backends.per_example_jacobian(fn, params, x)
    n = x.shape[0]
    k = jacs[0].shape[1]
    return ops.concatenate([ops.reshape(j, (n, k, -1)) for j in jacs], axis=-1)


def jacobian_ntk(model: Any, x1: Any, x2: Any | None) -> Any:
    """Empirical NTK Gram matrix, averaged over outputs."""
    j1 = model_jacobian(model, x1)
    j2 = j1 if x2 is None else model_jacobian(model, x2)
    k = float(j1.shape[1])
    return ops.einsum("akp,bkp->ab", j1, j2) / k


def jacobian_ntk_features(model: Any, x: Any) -> Any:
    """Per-example Jacobians as a feature map ``(n, k * P)``, scaled by ``1/sqrt(k)``."""
    j = model_jacobian(model, x)
    return ops.reshape(j, (x.shape[0], -1)) / float(np.sqrt(j.shape[1]))


def jacobian_ntk_diag(model: Any, x: Any) -> Any:
    """Diagonal of `jacobian_ntk` in ``O(n k P)``."""
    j = model_jacobian(model, x)
    return ops.sum(j * j, axis=(1, 2)) / float(j.shape[1])


def float64_forward_traps(model: Any) -> list[str]:
    """Upstream ops in ``model``'s own forward pass that lose float64 precision.

    Probed, not assumed: a float64 ``ops.matmul`` that returns float32 (Keras
    3.15 on torch, keras issue 23704), and Keras activations of the model's
    Dense layers whose float64 values differ from kernelkit's exact ones (JAX
    ``tanh``, TensorFlow ``gelu``).
    """
    traps = []
    eye = ops.eye(2, dtype="float64")
    if keras.backend.standardize_dtype(ops.matmul(eye, eye).dtype) != "float64":
        traps.append("ops.matmul computes float64 in float32 (keras issue 23704)")
    probe = np.linspace(-3.0, 3.0, 13) + 1.0 / 3.0
    tensor = ops.convert_to_tensor(probe, dtype="float64")
    for layer in model.layers:
        fn = getattr(layer, "activation", None)
        act = lookup_activation(fn) if fn is not None else None
        if act is None:
            continue
        got = np.asarray(ops.convert_to_numpy(fn(tensor)), dtype=np.float64)
        ref = np.asarray(ops.convert_to_numpy(act.value(tensor)), dtype=np.float64)
        if np.abs(got - ref).max() > 1e-13 * np.abs(ref).max():
            traps.append(f"the Keras activation {fn.__name__!r} is not float64-accurate")
    return sorted(set(traps))
