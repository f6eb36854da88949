"""Kernel ridge regression with the paper's trace-scaled ridge."""

from __future__ import annotations

from typing import Any, Sequence

import keras
import numpy as np
from keras import ops
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from kernelkit import backends
from kernelkit._dtypes import conform
from kernelkit._validation import check_matrix, check_targets
from kernelkit.errors import InputError, NumericalError
from kernelkit.kernels.base import TrainableKernel
from kernelkit.linalg import cholesky

_REMEDY = (
    "Remedies: use a larger ridge, compute in float64 (kernelkit.enable_float64()), "
    "or check that the kernel is positive semi-definite."
)


#: The default grid of ``lam_tilde`` for ``ridge="kare"`` (the paper's range).
DEFAULT_RIDGE_GRID = tuple(float(r) for r in np.logspace(-5, 5, 21))


def _kare_values(w: np.ndarray, VtY: np.ndarray, n: int, lams: Sequence[float]) -> np.ndarray:
    """KARE at ``z = lam`` for each lam from ``K = V diag(w) V^T`` (float64, host)."""
    w = np.clip(np.asarray(w, dtype=np.float64), 0.0, None)
    VtY = np.asarray(VtY, dtype=np.float64)
    out = []
    for lam in lams:
        inv = 1.0 / (w / n + lam)
        num = np.mean(np.sum((VtY * inv[:, None]) ** 2, axis=0)) / n
        out.append(num / (np.sum(inv) / n) ** 2)
    return np.asarray(out)


def ridge_scale(K: Any) -> float:
    """``tr(K) / n^2``: multiply ``lam_tilde`` by this to get ``lam``."""
    n = K.shape[0]
    return float(keras.ops.convert_to_numpy(ops.trace(K))) / (n * n)


class KernelRidge(RegressorMixin, BaseEstimator):
    """Kernel ridge regression with a `TrainableKernel`.

    Predicts ``f(x) = (1/n) K(x, X) (K/n + lam I)^{-1} Y`` with the paper's
    scale-free ridge ``lam = ridge * tr(K) / n^2``. This equals scikit-learn's
    ``KernelRidge(alpha=n * lam, kernel="precomputed")``. Accepts and returns
    numpy arrays; ``y`` may be ``(n,)`` or ``(n, c)``.

    `predict_path` and `kare_path` give predictions and KARE for a
    whole grid of ``ridge`` values from one eigendecomposition of ``K``.

    Args:
        kernel: The kernel, e.g. ``NTK(mlp(...))`` or ``GaussianKernel(1.0)``.
        ridge: ``lam_tilde`` >= 0, the ridge relative to ``tr(K)/n^2``; or
            ``"kare"``: choose it on the training data alone, as the minimiser
            of KARE over ``ridge_grid`` (one eigendecomposition of ``K``).
        ridge_grid: Candidate values for ``ridge="kare"`` (default
            ``DEFAULT_RIDGE_GRID``, 1e-5 to 1e5).

    Attributes:
        ridge_: The ``lam_tilde`` used (the chosen one for ``ridge="kare"``).
        kare_grid_: KARE per ``ridge_grid`` value (``ridge="kare"`` only).
        X_fit_: Training inputs (backend tensor in the kernel's dtype).
        dual_coef_: ``(K/n + lam I)^{-1} Y``, shape ``(n, c)``.
        lam_: The absolute ridge ``lam``.
        n_features_in_: Number of features seen in ``fit``.

    Example:
        >>> import numpy as np
        >>> from kernelkit import GaussianKernel, KernelRidge
        >>> X = np.random.rand(50, 2); y = np.sin(X.sum(1))
        >>> model = KernelRidge(GaussianKernel(1.0), ridge=1e-3).fit(X, y)
        >>> model.predict(X[:3]).shape
        (3,)

    Reference:
        Schwab, Kelly, Malamud, Xu, "Training NTK to Generalize with KARE".
    """

    def __init__(self, kernel: TrainableKernel, ridge: float | str = 1e-3,
                 ridge_grid: Sequence[float] | None = None) -> None:
        self.kernel = kernel
        self.ridge = ridge
        self.ridge_grid = ridge_grid

    # --------------------------------------------------------------- fitting
    def fit(self, X: Any, y: Any) -> "KernelRidge":
        """Fit on ``X`` (n, d) and ``y`` (n,) or (n, c)."""
        if not isinstance(self.kernel, TrainableKernel):
            raise InputError(
                f"kernel must be a kernelkit TrainableKernel, got {type(self.kernel).__name__}."
            )
        by_kare = isinstance(self.ridge, str)
        if by_kare and self.ridge != "kare":
            raise InputError(f"ridge must be a number or 'kare', got {self.ridge!r}.")
        grid = [self._check_ridge(r, strictly_positive=True)
                for r in (self.ridge_grid or DEFAULT_RIDGE_GRID)] if by_kare else []
        ridge = None if by_kare else self._check_ridge(self.ridge)
        X = check_matrix(X, "X")
        y = check_targets(y, np.shape(X)[0])
        X, y = conform(self.kernel, X, y)
        dtype = self.kernel.compute_dtype
        X_fit = ops.cast(ops.convert_to_tensor(X), dtype)
        Y = ops.cast(ops.convert_to_tensor(y), dtype)
        Y = Y[:, None] if len(np.shape(y)) == 1 else Y
        # stop_gradient: a fitted model must not keep an autograd graph alive.
        K = ops.stop_gradient(self.kernel(X_fit))
        n = K.shape[0]
        scale = ridge_scale(K)
        if not scale > 0:
            raise NumericalError(
                f"the kernel matrix has trace {scale * n * n:.3g} <= 0: it is zero (e.g. an "
                "NTK whose units are all inactive) or not positive semi-definite, so "
                "the trace-scaled ridge is undefined. Check the kernel and the data."
            )
        eig, kare_grid = None, None
        if by_kare:
            with backends.no_tf32():
                eig = ops.linalg.eigh(K)
                VtY = ops.einsum("nr,nc->rc", eig[1], Y)
            kare_grid = _kare_values(ops.convert_to_numpy(eig[0]), ops.convert_to_numpy(VtY),
                                     n, [r * scale for r in grid])
            ridge = grid[int(np.nanargmin(kare_grid))]
        lam = ridge * scale
        with backends.no_tf32():
            if eig is not None:  # reuse the eigendecomposition: no second factorisation
                w = ops.relu(eig[0]) / n + lam
                coef = ops.einsum("nr,rc->nc", eig[1], VtY / w[:, None])
            else:
                A = K / n + lam * ops.eye(n, dtype=dtype)
                L = cholesky(A, what="K/n + lam I", remedy=_REMEDY)
                U = ops.solve_triangular(L, Y, lower=True)
                coef = ops.solve_triangular(ops.transpose(L), U, lower=False)
        # Assigned only now, so that a failed fit leaves no half-fitted model.
        self.ridge_ = ridge
        if by_kare:
            self.kare_grid_ = kare_grid
        self._y_ndim = len(np.shape(y))
        self.X_fit_, self._Y, self._K, self.lam_ = X_fit, Y, K, lam
        self.n_features_in_ = int(np.shape(X)[1])
        self.dual_coef_ = coef
        self._eig = eig
        self._weights_at_fit = self._kernel_weights()
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Predictions for ``X`` (m, d): shape (m,) or (m, c) as ``y`` was."""
        Kx = self._cross_kernel(X)
        with backends.no_tf32():
            out = ops.einsum("mn,nc->mc", Kx, self.dual_coef_) / self.X_fit_.shape[0]
        return self._shape_output(keras.ops.convert_to_numpy(out))

    # ---------------------------------------------------------- ridge paths
    def predict_path(self, X: Any, ridges: Sequence[float]) -> np.ndarray:
        """Predictions for every ``ridge`` (lam_tilde) from one factorisation.

        Uses one eigendecomposition of ``K`` (eigenvalues below 0, rounding
        noise, are clipped at 0).

        Args:
            X: Inputs (m, d).
            ridges: Values of ``lam_tilde`` (each > 0).

        Returns:
            Array ``(len(ridges), m)`` or ``(len(ridges), m, c)``.
        """
        lams = self._lams(ridges)
        w, V = self._eigh()
        n = self.X_fit_.shape[0]
        Kx = self._cross_kernel(X)
        with backends.no_tf32():
            B = keras.ops.convert_to_numpy(ops.einsum("mn,nr->mr", Kx, V)) / n
            VtY = keras.ops.convert_to_numpy(ops.einsum("nr,nc->rc", V, self._Y))
        w = np.clip(keras.ops.convert_to_numpy(w), 0.0, None)
        out = np.stack([B @ (VtY / (w / n + lam)[:, None]) for lam in lams])
        return np.stack([self._shape_output(o) for o in out])

    def kare_path(self, ridges: Sequence[float]) -> np.ndarray:
        """KARE of the fitted kernel and targets at ``z = lam`` for every ridge.

        ``KARE(Y, K, z=lam)`` is the generalised cross-validation estimate of
        this model's test risk at that ridge; its argmin is a validation-free
        choice of ``lam_tilde``.

        Args:
            ridges: Values of ``lam_tilde`` (each > 0).

        Returns:
            Array of KARE values, one per ridge.
        """
        lams = self._lams(ridges)
        w, V = self._eigh()
        with backends.no_tf32():
            VtY = keras.ops.convert_to_numpy(ops.einsum("nr,nc->rc", V, self._Y))
        return _kare_values(keras.ops.convert_to_numpy(w), VtY, self.X_fit_.shape[0], lams)

    # -------------------------------------------------------------- helpers
    @staticmethod
    def _check_ridge(ridge: Any, strictly_positive: bool = False) -> float:
        try:
            value = float(ridge)
        except (TypeError, ValueError):
            raise InputError(f"ridge must be a number, got {ridge!r}.") from None
        if not np.isfinite(value) or value < 0 or (strictly_positive and value == 0):
            need = "> 0" if strictly_positive else ">= 0"
            raise InputError(f"ridge must be finite and {need}, got {ridge!r}.")
        return value

    def _lams(self, ridges: Sequence[float]) -> list:
        self._check_unchanged()
        scale = ridge_scale(self._K)
        return [self._check_ridge(r, strictly_positive=True) * scale for r in ridges]

    def _kernel_weights(self) -> list:
        return [np.array(keras.ops.convert_to_numpy(v.value)) for v in self.kernel.weights]

    def _check_unchanged(self) -> None:
        """Refuse to predict with a kernel whose weights changed after ``fit``."""
        check_is_fitted(self, "dual_coef_")
        now = self._kernel_weights()
        if len(now) != len(self._weights_at_fit) or any(
            not np.array_equal(a, b) for a, b in zip(now, self._weights_at_fit)
        ):
            raise InputError(
                "the kernel's weights changed after fit (e.g. further KARE training): "
                "the fitted coefficients no longer match it. Call fit again."
            )

    def _eigh(self) -> tuple:
        if self._eig is None:
            with backends.no_tf32():
                self._eig = ops.linalg.eigh(self._K)
        return self._eig

    def _cross_kernel(self, X: Any) -> Any:
        self._check_unchanged()
        X = check_matrix(X, "X")
        if np.shape(X)[1] != self.n_features_in_:
            raise InputError(
                f"X has {np.shape(X)[1]} features, but KernelRidge was fitted with "
                f"{self.n_features_in_}."
            )
        return ops.stop_gradient(self.kernel(X, self.X_fit_))

    def _shape_output(self, out: np.ndarray) -> np.ndarray:
        return out[:, 0] if self._y_ndim == 1 else out
