"""Empirical NTK of any Keras model from per-example Jacobians (backends/)."""

from __future__ import annotations

from typing import Any

from keras import ops

from kernelkit import backends


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


def jacobian_ntk_diag(model: Any, x: Any) -> Any:
    """Diagonal of `jacobian_ntk` in ``O(n k P)``."""
    j = model_jacobian(model, x)
    return ops.sum(j * j, axis=(1, 2)) / float(j.shape[1])
