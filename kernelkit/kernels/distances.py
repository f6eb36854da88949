"""Pairwise distances and metric factors of the stationary kernels.

The numerical building blocks of the Gaussian, anisotropic and Laplace
kernels, for the kernels themselves and for code built on their distances
(RFM's AGOP, `kernelkit.estimators.rfm.laplace_agop`). Distances are in
``keras.ops`` and differentiable; `metric_factor` checks a metric in numpy.
The kernels' parameter helpers (positive scalars, metric weights) are private,
in ``kernelkit/kernels/_params.py``.

- `squared_distances(x1, x2)`: ``||x - x'||^2``, exactly 0 on the diagonal;
- `mahalanobis_squared_distances(x1, x2, factor)`: ``(x - x')^T M (x - x')``
  for ``M = factor @ factor.T``;
- `safe_sqrt(d2)`: ``sqrt`` with a finite gradient at 0;
- `metric_factor(M)`: a factor ``L`` with ``L @ L.T == M``, checking that
  ``M`` is a symmetric PSD matrix.

Example:
    >>> import keras, numpy as np
    >>> from kernelkit.kernels.distances import metric_factor, squared_distances
    >>> x = keras.ops.convert_to_tensor(np.array([[0.0, 0.0], [3.0, 4.0]], "float32"))
    >>> keras.ops.convert_to_numpy(squared_distances(x, x)).tolist()
    [[0.0, 25.0], [25.0, 0.0]]
    >>> L = metric_factor(np.diag([4.0, 1.0])); bool(np.allclose(L @ L.T, np.diag([4.0, 1.0])))
    True
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import ops

from kernelkit import _ops
from kernelkit.errors import InputError


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


def metric_factor(M: Any) -> np.ndarray:
    """A factor ``L`` with ``L @ L.T == M`` for a symmetric PSD matrix ``M``.

    Uses the symmetric square root (eigh), so a singular ``M`` works too.

    Raises:
        InputError: If ``M`` is not square, symmetric, finite and PSD.
    """
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
