"""Kernel ridge regression systems: one per solver path, one interface.

A system holds what a fitted KRR model needs of its training data, and
answers every KRR question the same way on each path:

- `trace`: ``tr(K)`` (for the paper's trace-scaled ridge);
- `solve(lam)`: coefficients for one absolute ridge ``lam``;
- `dual(coef, lam)`: ``(K/n + lam I)^-1 Y`` (the dual coefficients);
- `predict(coef, x)`: ``(1/n) K(x, X) (K/n + lam I)^-1 Y``;
- `spectrum()` and `path(x, lams)`: KARE and predictions for a whole grid of
  ridges from one eigendecomposition.

`KRRSystem` is the interface and what the paths share (the training data,
``n``, the eigendecomposition computed once). `DenseSystem` factorises the
``n x n`` matrix; `FeatureSystem` works with
``Phi`` (``n x P``) and ``Phi^T Phi`` (``P x P``) and never forms an ``n x n``
array (push-through: ``Phi^T (Phi Phi^T/n + lam)^-1 = (Phi^T Phi/n + lam)^-1 Phi^T``);
`kernelkit.solvers.iterative.IterativeSystem` solves by preconditioned CG from
products with ``K`` alone (a ridge grid: one solve per ridge).
"""

from __future__ import annotations

from typing import Any, Sequence

import keras
import numpy as np
from keras import ops

from kernelkit import backends
from kernelkit.solvers.dense import RIDGE_REMEDY as REMEDY
from kernelkit.solvers.iterative import IterativeSystem
from kernelkit.solvers.linalg import cho_solve, cholesky
from kernelkit.solvers.spectral import Spectrum, make_spectrum


def _numpy(x: Any) -> np.ndarray:
    return np.asarray(keras.ops.convert_to_numpy(x), dtype=np.float64)


def _path(B: Any, Q: np.ndarray, w: np.ndarray, n: int, lams: Sequence[float]) -> np.ndarray:
    """``B @ (Q / (w/n + lam))`` for every lam, on the host: ``(L, m, c)`` in ``B``'s dtype."""
    dtype = keras.backend.standardize_dtype(B.dtype)
    B = _numpy(B)
    return np.stack([B @ (Q / (w / n + lam)[:, None]) for lam in lams]).astype(dtype)


class KRRSystem:
    """The interface of a KRR system, and the parts every solver path shares.

    A subclass names its path (`solver`) and answers `trace`, `solve`,
    `dual`, `predict`, `spectrum` and `path` (see the module docstring); for
    the last two it defines `_decompose`, whose eigendecomposition `_eigh`
    computes once, with TF32 off, and caches.

    Args:
        kernel: The kernel.
        X: Training inputs, a tensor in the kernel's dtype.
        Y: Targets ``(n, c)`` in the kernel's dtype.

    Example:
        >>> from kernelkit.solvers.systems import SYSTEMS, KRRSystem
        >>> all(issubclass(s, KRRSystem) for s in SYSTEMS.values())
        True
    """

    #: The solver path's name, as in `SYSTEMS`.
    solver: str = ""

    def __init__(self, kernel: Any, X: Any, Y: Any) -> None:
        self.kernel, self.X, self.Y = kernel, X, Y
        self.n = int(X.shape[0])
        self._eig: tuple | None = None

    def _decompose(self) -> tuple:
        """The eigendecomposition that `spectrum`, `path` and a later `solve` reuse."""
        raise NotImplementedError(f"{type(self).__name__} has no eigendecomposition")

    def _eigh(self) -> tuple:
        if self._eig is None:
            with backends.no_tf32():
                self._eig = self._decompose()
        return self._eig

    def trace(self) -> float:
        """``tr(K)``, for the paper's trace-scaled ridge."""
        raise NotImplementedError

    def solve(self, lam: float) -> Any:
        """The coefficients for one absolute ridge ``lam``."""
        raise NotImplementedError

    def dual(self, coef: Any, lam: float) -> Any:
        """``(K/n + lam I)^-1 Y`` from the coefficients of `solve`."""
        raise NotImplementedError

    def predict(self, coef: Any, x: Any) -> Any:
        """``(1/n) K(x, X) (K/n + lam I)^-1 Y`` from the coefficients of `solve`."""
        raise NotImplementedError

    def spectrum(self) -> Spectrum:
        """KARE for a whole grid of ridges, from one eigendecomposition."""
        raise NotImplementedError

    def path(self, x: Any, lams: Sequence[float]) -> np.ndarray:
        """Predictions ``(L, m, c)`` at ``x`` for every ridge in ``lams``."""
        raise NotImplementedError


def _trace(M: Any) -> float:
    return float(keras.ops.convert_to_numpy(ops.trace(M)))


class DenseSystem(KRRSystem):
    """KRR through the ``n x n`` kernel matrix (Cholesky for one ridge, eigh for a grid).

    Args:
        kernel: The kernel.
        X: Training inputs, a tensor in the kernel's dtype.
        Y: Targets ``(n, c)`` in the kernel's dtype.

    Example:
        >>> import numpy as np
        >>> from kernelkit import GaussianKernel
        >>> from kernelkit.solvers.systems import DenseSystem
        >>> X = np.random.rand(20, 2).astype("float32")
        >>> s = DenseSystem(GaussianKernel(1.0), X, X[:, :1])
        >>> tuple(s.predict(s.solve(1e-3), X[:3]).shape)
        (3, 1)
    """

    solver = "dense"

    def __init__(self, kernel: Any, X: Any, Y: Any) -> None:
        super().__init__(kernel, X, Y)
        # stop_gradient: a fitted model must not keep an autograd graph alive.
        self.K = ops.stop_gradient(kernel(X))

    def trace(self) -> float:
        return _trace(self.K)

    def _decompose(self) -> tuple:
        w, V = ops.linalg.eigh(self.K)
        return w, V, ops.einsum("nr,nc->rc", V, self.Y)

    def solve(self, lam: float) -> Any:
        with backends.no_tf32():
            if self._eig is not None:  # reuse the eigendecomposition: no second factorisation
                w, V, VtY = self._eig
                return ops.einsum("nr,rc->nc", V, VtY / (ops.relu(w) / self.n + lam)[:, None])
            A = self.K / self.n + lam * ops.eye(self.n, dtype=self.K.dtype)
            return cho_solve(cholesky(A, what="K/n + lam I", remedy=REMEDY), self.Y)

    def dual(self, coef: Any, lam: float) -> Any:
        return coef

    def predict(self, coef: Any, x: Any) -> Any:
        Kx = ops.stop_gradient(self.kernel(x, self.X))
        with backends.no_tf32():
            return ops.einsum("mn,nc->mc", Kx, coef) / self.n

    def spectrum(self) -> Spectrum:
        w, _, VtY = self._eigh()
        return make_spectrum(self.n, _numpy(w), _numpy(VtY))

    def path(self, x: Any, lams: Sequence[float]) -> np.ndarray:
        w, V, VtY = self._eigh()
        Kx = ops.stop_gradient(self.kernel(x, self.X))
        with backends.no_tf32():
            B = ops.einsum("mn,nr->mr", Kx, V) / self.n
        return _path(B, _numpy(VtY), np.clip(_numpy(w), 0.0, None), self.n, lams)


class FeatureSystem(KRRSystem):
    """KRR through a finite feature map: ``P x P`` systems, linear in ``n``.

    The coefficients are primal weights ``w = (Phi^T Phi/n + lam I)^-1 Phi^T Y / n``
    (``P x c``); predictions are ``Phi(x) w``.

    Args:
        kernel: A kernel with a feature map (`TrainableKernel.features`).
        X: Training inputs, a tensor in the kernel's dtype.
        Y: Targets ``(n, c)`` in the kernel's dtype.

    Example:
        >>> import numpy as np
        >>> from kernelkit import NTK, mlp
        >>> from kernelkit.solvers.systems import FeatureSystem
        >>> X = np.random.rand(30, 2).astype("float32")
        >>> s = FeatureSystem(NTK(mlp(2, width=4, seed=0)), X, X[:, :1])
        >>> tuple(s.predict(s.solve(1e-2), X[:3]).shape)
        (3, 1)
    """

    solver = "features"

    def __init__(self, kernel: Any, X: Any, Y: Any) -> None:
        super().__init__(kernel, X, Y)
        self.Phi = ops.stop_gradient(kernel.feature_map(X))
        self.P = int(self.Phi.shape[1])
        with backends.no_tf32():
            C = ops.einsum("np,nq->pq", self.Phi, self.Phi)
            self.C = (C + ops.transpose(C)) / 2.0
            self.PtY = ops.einsum("np,nc->pc", self.Phi, Y)

    def trace(self) -> float:
        return _trace(self.C)

    def _decompose(self) -> tuple:
        s, U = ops.linalg.eigh(self.C)
        return ops.relu(s), U, ops.einsum("pr,pc->rc", U, self.PtY)

    def solve(self, lam: float) -> Any:
        with backends.no_tf32():
            if self._eig is not None:
                s, U, UtPtY = self._eig
                return ops.einsum("pr,rc->pc", U, UtPtY / (s / self.n + lam)[:, None]) / self.n
            M = self.C / self.n + lam * ops.eye(self.P, dtype=self.C.dtype)
            L = cholesky(M, what="Phi^T Phi / n + lam I", remedy=REMEDY)
            return cho_solve(L, self.PtY) / self.n

    def dual(self, coef: Any, lam: float) -> Any:
        with backends.no_tf32():
            return (self.Y - ops.einsum("np,pc->nc", self.Phi, coef)) / lam

    def predict(self, coef: Any, x: Any) -> Any:
        phi = ops.stop_gradient(self.kernel.feature_map(x))
        with backends.no_tf32():
            return ops.einsum("mp,pc->mc", phi, coef)

    def spectrum(self) -> Spectrum:
        s, U, UtPtY = self._eigh()
        s_np = _numpy(s)
        # Eigenvalues of K = Phi Phi^T: the nonzero ones of C. Below the
        # rounding floor a direction counts as null (its part of Y is "outside").
        eps = float(np.finfo(keras.backend.standardize_dtype(self.C.dtype)).eps)
        keep = s_np > max(self.n, self.P) * eps * max(s_np.max(initial=0.0), 1e-300)
        idx = np.flatnonzero(keep)
        coords = _numpy(UtPtY)[idx] / np.sqrt(s_np[idx])[:, None]
        with backends.no_tf32():
            sel = ops.convert_to_tensor(idx.astype("int32"))
            Uk = ops.take(U, sel, axis=1)
            dtype = keras.backend.standardize_dtype(self.C.dtype)
            inv = ops.convert_to_tensor((1.0 / s_np[idx]).astype(dtype))
            proj = ops.einsum("np,pc->nc", self.Phi, ops.einsum(
                "pr,rc->pc", Uk, ops.take(UtPtY, sel, axis=0) * inv[:, None]))
            resid = self.Y - proj
            outside = ops.sum(resid * resid, axis=0)
        return make_spectrum(self.n, s_np[idx], coords, _numpy(outside))

    def path(self, x: Any, lams: Sequence[float]) -> np.ndarray:
        s, U, UtPtY = self._eigh()
        phi = ops.stop_gradient(self.kernel.feature_map(x))
        with backends.no_tf32():
            B = ops.einsum("mp,pr->mr", phi, U)
        return _path(B, _numpy(UtPtY) / self.n, _numpy(s), self.n, lams)


#: The KRR system of each solver path (`IterativeSystem` has no spectrum: one solve per ridge).
SYSTEMS: dict[str, type] = {"dense": DenseSystem, "features": FeatureSystem,
                            "iterative": IterativeSystem}
