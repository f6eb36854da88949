"""Preconditioned conjugate gradients on ``A = K/n + mu I`` with a Nystrom preconditioner.

`NystromPreconditioner` approximates ``K`` by ``K_hat = U diag(s) U^T`` (rank
``r``, ``U`` orthonormal) from ``r`` landmark columns ``K(X, X_S)`` (uniformly
drawn, seeded) and applies ``M^-1 = (K_hat/n + mu I)^-1`` by Woodbury::

    M^-1 v = U diag(1 / (s/n + mu)) U^T v + (v - U U^T v) / mu

(``tr(M^-1) = sum 1/(s/n + mu) + (n - r)/mu`` exactly, which the deflated
trace estimator uses). `pcg` runs preconditioned conjugate gradients on all
columns of a block ``B`` at once (one product with ``K`` per iteration for
the whole block), from an optional warm start ``x0``, to a relative residual
``tol`` or ``max_iter`` iterations, and returns the iterations used and the
final relative residual of every column.

The factors are built on the host in float64 (numpy) and cast to the
compute dtype; products are keras.ops.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import keras
import numpy as np
from keras import ops

from kernelkit import backends


def _numpy(x: Any) -> np.ndarray:
    return np.asarray(keras.ops.convert_to_numpy(x), dtype=np.float64)


class NystromPreconditioner:
    """``(K_hat/n + mu I)^-1`` for a rank-``r`` Nystrom approximation ``K_hat`` of ``K``.

    Args:
        operator: A `kernelkit.solvers.matvec.KernelOperator`.
        rank: Number of landmarks ``r`` (``0``: the identity, no preconditioning).
        seed: Seed of the landmark draw.

    Example:
        >>> import numpy as np
        >>> from kernelkit import GaussianKernel
        >>> from kernelkit.solvers.matvec import KernelOperator
        >>> from kernelkit.solvers.pcg import NystromPreconditioner
        >>> k = GaussianKernel(1.0); X = np.random.rand(50, 2); _ = k(X[:1])
        >>> pre = NystromPreconditioner(KernelOperator(k, [v.value for v in
        ...     k.trainable_variables], X), rank=10, seed=0)
        >>> pre.rank <= 10
        True
    """

    def __init__(self, operator: Any, rank: int, seed: int = 0) -> None:
        self.n, self.dtype = operator.n, operator.dtype
        rank = int(min(rank, operator.n))
        if rank <= 0:
            self.U, self.s, self.rank = None, np.zeros(0), 0
            return
        idx = np.sort(np.random.default_rng(seed).choice(operator.n, rank, replace=False))
        C = _numpy(operator.columns(idx))                       # K(X, X_S), n x r
        W = (C[idx] + C[idx].T) / 2.0                           # K(X_S, X_S)
        w, Q = np.linalg.eigh(W)
        keep = w > max(w.max(initial=0.0), 1e-300) * rank * np.finfo(np.float64).eps * 10
        B = C @ (Q[:, keep] / np.sqrt(w[keep]))                 # K_hat = B B^T
        Qb, R = np.linalg.qr(B)
        s, V = np.linalg.eigh(R @ R.T)
        order = np.argsort(s)[::-1]
        s, V = np.clip(s[order], 0.0, None), V[:, order]
        self.U = ops.convert_to_tensor((Qb @ V).astype(self.dtype))
        self.s = s
        self.rank = int(len(s))

    def _scale(self, mu: float) -> Any:
        return ops.convert_to_tensor((1.0 / (self.s / self.n + mu) - 1.0 / mu).astype(self.dtype))

    def solve(self, R: Any, mu: float) -> Any:
        """``M^-1 R`` for ``M = K_hat/n + mu I``."""
        if self.U is None:
            return R / mu
        with backends.no_tf32():
            UtR = ops.einsum("nr,nc->rc", self.U, R)
            return R / mu + ops.einsum("nr,rc->nc", self.U, UtR * self._scale(mu)[:, None])

    def trace_inverse(self, mu: float) -> float:
        """``tr(M^-1)`` exactly."""
        return float(np.sum(1.0 / (self.s / self.n + mu)) + (self.n - self.rank) / mu)

    def quadratic(self, Z: Any, mu: float) -> np.ndarray:
        """``z_i^T M^-1 z_i`` for every column of ``Z``."""
        return _numpy(ops.sum(Z * self.solve(Z, mu), axis=0))


@dataclass
class CGResult:
    """What `pcg` returns.

    Attributes:
        x: The solutions ``(n, c)``.
        iterations: Iterations (products with ``K``) used.
        residuals: Final relative residual ``||b - A x|| / ||b||`` per column.
        converged: Whether every column reached the tolerance.
    """

    x: Any
    iterations: int
    residuals: np.ndarray
    converged: bool


def pcg(matmul: Callable[[Any], Any], B: Any, mu: float, n: int, precond: Any,
        tol: float, max_iter: int, x0: Any = None) -> CGResult:
    """Preconditioned CG on ``(K/n + mu I) X = B`` for every column of ``B`` at once.

    Args:
        matmul: ``V -> K V``.
        B: Right-hand sides ``(n, c)``.
        mu: The shift, > 0.
        n: The ``n`` of ``K/n``.
        precond: A `NystromPreconditioner` (its ``solve(R, mu)``).
        tol: Relative residual to reach, per column.
        max_iter: Most iterations.
        x0: Optional warm start ``(n, c)``; a start worse than zero is dropped.

    Returns:
        A `CGResult`.

    Example:
        >>> import numpy as np
        >>> from kernelkit.solvers.pcg import pcg
        >>> class Identity:
        ...     def solve(self, R, mu): return R / mu
        >>> K = np.diag([1.0, 2.0, 3.0]); B = np.ones((3, 1))
        >>> r = pcg(lambda V: K @ V, B, 0.1, 3, Identity(), 1e-10, 10)
        >>> bool(np.allclose((K / 3 + 0.1 * np.eye(3)) @ np.asarray(r.x), B))
        True
    """
    def apply(V: Any) -> Any:
        return matmul(V) / n + mu * V

    B = ops.convert_to_tensor(B)
    bnorm = np.maximum(_numpy(ops.sqrt(ops.sum(B * B, axis=0))), np.finfo(np.float64).tiny)
    if x0 is not None:
        X = ops.convert_to_tensor(x0)
        R = B - apply(X)
        if np.any(_numpy(ops.sqrt(ops.sum(R * R, axis=0))) > bnorm):
            X, R = None, None
    else:
        X = R = None
    iterations = 0
    if X is None:
        X, R = ops.zeros_like(B), B
    with backends.no_tf32():
        Zt = precond.solve(R, mu)
        Pd = Zt
        rz = ops.sum(R * Zt, axis=0)
        for iterations in range(int(max_iter) + 1):
            rel = _numpy(ops.sqrt(ops.sum(R * R, axis=0))) / bnorm
            if np.all(rel <= tol) or iterations == int(max_iter):
                break
            active = ops.convert_to_tensor(rel > tol)
            AP = apply(Pd)
            pAp = ops.sum(Pd * AP, axis=0)
            safe = ops.where(active, pAp, ops.ones_like(pAp))
            a = ops.where(active, rz / safe, ops.zeros_like(rz))
            X = X + a[None, :] * Pd
            R = R - a[None, :] * AP
            Zt = precond.solve(R, mu)
            rz_new = ops.sum(R * Zt, axis=0)
            rz_safe = ops.where(active, rz, ops.ones_like(rz))
            b = ops.where(active, rz_new / rz_safe, ops.zeros_like(rz))
            Pd = Zt + b[None, :] * Pd
            rz = ops.where(active, rz_new, rz)
    return CGResult(X, iterations, rel, bool(np.all(rel <= tol)))
