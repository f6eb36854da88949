"""The dense exact path: the n x n kernel matrix, one Cholesky factorisation.

With ``A = K/n + z I``, ``alpha = A^-1 Y``, ``beta = A^-1 alpha``,
``N = ||alpha||^2 / (n c)``, ``D = tr(A^-1) / n`` and ``KARE = N / D^2``, the
gradient in ``K`` has the closed form (DESIGN.md, "KARE at scale")::

    G = dKARE/dK = (1/n) [ -(alpha beta^T + beta alpha^T) / (n c D^2)
                           + 2 N A^-2 / (n D^3) ]

so a KARE step never differentiates through a factorisation: it needs one
Cholesky factor, ``A^-1`` and ``A^-2``, then one vector-Jacobian product of
the kernel with ``G`` (`kernelkit.solvers.objective`).
"""

from __future__ import annotations

from typing import Any

from keras import ops

from kernelkit import backends
from kernelkit.solvers.linalg import cho_solve, cholesky, cholesky_inverse

REMEDY = (
    "Remedies: use a larger z, compute in float64 (kernelkit.enable_float64()), "
    "or check that the kernel is positive semi-definite."
)
RIDGE_REMEDY = REMEDY.replace("a larger z", "a larger ridge")


def shifted(K: Any, z: float) -> Any:
    """``A = (K + K^T) / (2n) + z I`` (symmetrised: backends read different triangles)."""
    n = K.shape[0]
    return (K + ops.transpose(K)) / (2 * n) + z * ops.eye(n, dtype=K.dtype)


def kare_value(K: Any, Y: Any, z: float) -> Any:
    """KARE of ``(K, Y)`` at ridge ``z`` from one Cholesky factor (value only).

    Args:
        K: Kernel matrix ``(n, n)``.
        Y: Targets ``(n, c)`` in ``K``'s dtype.
        z: Ridge, > 0.

    Returns:
        A scalar tensor.

    Example:
        >>> import numpy as np
        >>> from kernelkit.solvers.dense import kare_value
        >>> X = np.random.rand(10, 2)
        >>> float(kare_value(X @ X.T, X[:, :1], 0.1)) > 0
        True
    """
    K = ops.convert_to_tensor(K)
    n = K.shape[0]
    with backends.no_tf32():
        L = cholesky(shifted(K, z), what="K/n + z I", remedy=REMEDY)
        alpha = cho_solve(L, ops.cast(Y, K.dtype))
        Linv = ops.solve_triangular(L, ops.eye(n, dtype=K.dtype), lower=True)
        num = ops.sum(alpha * alpha) / (n * Y.shape[1])
        den = ops.sum(Linv * Linv) / n
        return num / (den * den)


def kare_and_cotangent(K: Any, Y: Any, z: float) -> tuple[Any, Any]:
    """KARE and its gradient ``G = dKARE/dK`` in closed form.

    Args:
        K: Kernel matrix ``(n, n)`` (treated as a constant: no autodiff here).
        Y: Targets ``(n, c)`` in ``K``'s dtype.
        z: Ridge, > 0.

    Returns:
        ``(value, G)``: a scalar tensor and the symmetric ``(n, n)`` gradient.

    Example:
        >>> import numpy as np
        >>> from kernelkit.solvers.dense import kare_and_cotangent
        >>> X = np.random.rand(8, 2)
        >>> value, G = kare_and_cotangent(X @ X.T, X[:, :1], 0.1)
        >>> tuple(G.shape)
        (8, 8)
    """
    K = ops.convert_to_tensor(K)
    Y = ops.cast(ops.convert_to_tensor(Y), K.dtype)
    n, c = K.shape[0], Y.shape[1]
    with backends.no_tf32():
        L = cholesky(shifted(K, z), what="K/n + z I", remedy=REMEDY)
        Ainv = cholesky_inverse(L)
        alpha = ops.einsum("ij,jc->ic", Ainv, Y)
        beta = ops.einsum("ij,jc->ic", Ainv, alpha)
        N = ops.sum(alpha * alpha) / (n * c)
        D = ops.trace(Ainv) / n
        Ainv2 = ops.einsum("ij,jk->ik", Ainv, Ainv)
        ab = ops.einsum("ic,jc->ij", alpha, beta)
        G = (-(ab + ops.transpose(ab)) / (n * c * D * D)
             + (2.0 * N / (n * D * D * D)) * Ainv2) / n
        return N / (D * D), G
