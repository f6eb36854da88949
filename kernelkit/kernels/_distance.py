"""Distance helpers shared by the stationary kernels (keras.ops only)."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import ops

from kernelkit import _ops


def squared_distances(x1: Any, x2: Any) -> Any:
    """Pairwise squared Euclidean distances, clipped at 0.

    Uses ``einsum`` for the cross term: Keras' torch ``matmul`` drops float64
    to float32 (keras issue 23704); ``einsum`` keeps the dtype. The inputs are
    centred on ``x1``'s mean first (distances do not change) to reduce the
    cancellation of the ``|a|^2 + |b|^2 - 2 a.b`` expansion, and when ``x2 is
    x1`` the diagonal is exactly 0, so ``sqrt`` (Laplace) does not turn a
    rounding residue of 1e-16 into 1e-8.
    """
    same = x2 is x1
    centre = _ops.mean(x1, axis=0)[None, :]
    x1 = x1 - centre
    x2 = x1 if same else x2 - centre
    n1 = ops.sum(x1 * x1, axis=1)
    n2 = ops.sum(x2 * x2, axis=1)
    cross = ops.einsum("id,jd->ij", x1, x2)
    scale = n1[:, None] + n2[None, :]
    d2 = scale - 2.0 * cross
    # Below the expansion's rounding floor (a few eps x |a|^2 + |b|^2) a distance
    # is indistinguishable from 0: make it exactly 0, so coincident points in
    # different arrays (or duplicate rows) get k = 1 under sqrt (Laplace) too.
    # (ops.where/relu, not ops.maximum(., 0.0): on torch that returns float32.)
    floor = 16.0 * float(np.finfo(keras.backend.standardize_dtype(d2.dtype)).eps) * scale
    d2 = ops.relu(ops.where(d2 > floor, d2, ops.zeros_like(d2)))
    if same:
        d2 = d2 * (1.0 - ops.eye(d2.shape[0], dtype=d2.dtype))
    return d2


def safe_sqrt(d2: Any) -> Any:
    """``sqrt(d2)`` with a zero (not infinite) gradient where ``d2`` is 0.

    The Laplace kernel is ``exp(-sqrt(d2))``; at the diagonal ``d2 = 0`` and
    the naive gradient is ``inf * 0 = NaN``. The double ``where`` keeps both
    the value and the gradient finite.
    """
    positive = d2 > 0
    safe = ops.where(positive, d2, ops.ones_like(d2))
    return ops.where(positive, ops.sqrt(safe), ops.zeros_like(d2))


def exact_weight(layer: Any, name: str, value: Any, trainable: bool = True) -> Any:
    """Add a variable holding exactly ``value`` (in the layer's dtype).

    ``keras.initializers.Constant`` rounds through float32 on TensorFlow, so a
    float64 variable would start 1e-9 off; assigning the value does not.
    """
    import numpy as np

    value = np.asarray(value, dtype=np.float64)
    var = layer.add_weight(name=name, shape=value.shape, initializer="zeros",
                           trainable=trainable)
    var.assign(value.astype(var.dtype))
    return var


def positive_scalar_weight(layer: Any, name: str, value: float) -> Any:
    """Add a trainable scalar stored as ``log(value)``, so ``value`` stays > 0."""
    import math

    if not value > 0:
        from kernelkit.errors import InputError

        raise InputError(f"{name} must be positive, got {value!r}.")
    return exact_weight(layer, f"log_{name}", math.log(value))


def metric_factor(M: Any) -> Any:
    """A factor ``L`` with ``L @ L.T == M`` for a symmetric PSD matrix ``M``.

    Uses the symmetric square root (eigh), so a singular ``M`` works too.

    Raises:
        InputError: If ``M`` is not square, symmetric, finite and PSD.
    """
    import numpy as np

    from kernelkit.errors import InputError

    M = np.asarray(M, dtype=np.float64)
    if M.ndim != 2 or M.shape[0] != M.shape[1] or M.shape[0] == 0:
        raise InputError(f"M must be a square (d, d) matrix, got shape {M.shape}.")
    if not np.isfinite(M).all():
        raise InputError("M contains NaN or infinite values.")
    scale = max(np.abs(M).max(), 1e-300)
    if not np.allclose(M, M.T, atol=1e-10 * scale):
        raise InputError("M must be symmetric.")
    w, V = np.linalg.eigh((M + M.T) / 2)
    if w.min() < -1e-8 * scale:
        raise InputError(
            f"M must be positive semi-definite; its smallest eigenvalue is {w.min():.3g}."
        )
    return V * np.sqrt(np.clip(w, 0.0, None))


def add_metric_weight(layer: Any, M: Any, trainable: bool) -> Any:
    """Add the variable ``metric_factor`` (L, with M = L L^T) to ``layer``."""
    return exact_weight(layer, "metric_factor", metric_factor(M), trainable=trainable)


def mahalanobis_squared_distances(x1: Any, x2: Any, factor: Any) -> Any:
    """``(x - x')^T M (x - x')`` for ``M = factor @ factor.T``, via ``x @ factor``."""
    z1 = ops.einsum("id,dr->ir", x1, factor)
    return squared_distances(z1, z1 if x2 is x1 else ops.einsum("id,dr->ir", x2, factor))
