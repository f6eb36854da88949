"""Distance helpers shared by the stationary kernels (keras.ops only).

Parameter helpers (positive scalars, metrics) are in `kernelkit.kernels._params`.
"""

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


def mahalanobis_squared_distances(x1: Any, x2: Any, factor: Any) -> Any:
    """``(x - x')^T M (x - x')`` for ``M = factor @ factor.T``, via ``x @ factor``."""
    z1 = ops.einsum("id,dr->ir", x1, factor)
    return squared_distances(z1, z1 if x2 is x1 else ops.einsum("id,dr->ir", x2, factor))
