"""The features exact path: K = Phi Phi^T through the P x P matrix Phi^T Phi.

With ``Phi`` of shape ``(n, P)``, ``C = Phi^T Phi`` and ``M = C/n + z I_P``
(Woodbury, DESIGN.md "KARE at scale")::

    A^-1 v   = (v - Phi M^-1 Phi^T v / n) / z
    A^-2 Phi = Phi M^-2
    tr(A^-1) = (n - P)/z + tr(M^-1)
    dKARE/dPhi = 2 G Phi
               = (2/n) [ -(alpha (Phi^T beta)^T + beta (Phi^T alpha)^T) / (n c D^2)
                         + 2 N Phi M^-2 / (n D^3) ]

so KARE, its gradient and kernel ridge regression cost ``O(n P^2 + P^3)``
time and ``O(n P + P^2)`` memory: linear in ``n``, and never an ``n x n``
array. It is exact: equal to the dense path up to rounding.
"""

from __future__ import annotations

from typing import Any

from keras import ops

from kernelkit import backends
from kernelkit.solvers.dense import REMEDY
from kernelkit.solvers.linalg import cholesky, cholesky_inverse


def gram_of_features(Phi: Any, z: float) -> Any:
    """``M = Phi^T Phi / n + z I_P``."""
    n, P = Phi.shape
    C = ops.einsum("np,nq->pq", Phi, Phi)
    return (C + ops.transpose(C)) / (2 * n) + z * ops.eye(P, dtype=Phi.dtype)


def apply_inverse(Phi: Any, Minv: Any, v: Any, z: float) -> Any:
    """``A^-1 v = (v - Phi M^-1 Phi^T v / n) / z`` for ``A = Phi Phi^T / n + z I``."""
    n = Phi.shape[0]
    w = ops.einsum("pq,qc->pc", Minv, ops.einsum("np,nc->pc", Phi, v))
    return (v - ops.einsum("np,pc->nc", Phi, w) / n) / z


def kare_and_cotangent(Phi: Any, Y: Any, z: float) -> tuple[Any, Any]:
    """KARE of the kernel ``Phi Phi^T`` and its gradient in ``Phi``.

    Args:
        Phi: Feature matrix ``(n, P)`` (a constant here: no autodiff).
        Y: Targets ``(n, c)`` in ``Phi``'s dtype.
        z: Ridge, > 0.

    Returns:
        ``(value, H)`` with ``H = dKARE/dPhi`` of shape ``(n, P)``.

    Example:
        >>> import numpy as np
        >>> from kernelkit.solvers.features import kare_and_cotangent
        >>> Phi = np.random.rand(20, 3)
        >>> value, H = kare_and_cotangent(Phi, Phi[:, :1], 0.1)
        >>> tuple(H.shape)
        (20, 3)
    """
    Phi = ops.convert_to_tensor(Phi)
    Y = ops.cast(ops.convert_to_tensor(Y), Phi.dtype)
    n, P = Phi.shape
    c = Y.shape[1]
    with backends.no_tf32():
        L = cholesky(gram_of_features(Phi, z), what="Phi^T Phi / n + z I", remedy=REMEDY)
        Minv = cholesky_inverse(L)
        alpha = apply_inverse(Phi, Minv, Y, z)
        beta = apply_inverse(Phi, Minv, alpha, z)
        N = ops.sum(alpha * alpha) / (n * c)
        D = ((n - P) / z + ops.trace(Minv)) / n
        Pa = ops.einsum("np,nc->pc", Phi, alpha)
        Pb = ops.einsum("np,nc->pc", Phi, beta)
        low_rank = ops.einsum("nc,pc->np", alpha, Pb) + ops.einsum("nc,pc->np", beta, Pa)
        Minv2 = ops.einsum("pq,qr->pr", Minv, Minv)
        H = (2.0 / n) * (-low_rank / (n * c * D * D)
                         + (2.0 * N / (n * D * D * D)) * ops.einsum("np,pq->nq", Phi, Minv2))
        return N / (D * D), H
