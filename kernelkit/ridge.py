"""Kernel ridge regression with the paper's trace-scaled ridge."""

from __future__ import annotations

from typing import Any, Sequence

import keras
import numpy as np
from keras import ops
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from kernelkit._dtypes import conform
from kernelkit._validation import check_matrix, check_targets
from kernelkit.errors import InputError, NumericalError
from kernelkit.kernels.base import TrainableKernel
from kernelkit.solvers import check_solver, make_system

#: The default grid of ``lam_tilde`` for ``ridge="kare"`` (the paper's range).
DEFAULT_RIDGE_GRID = tuple(float(r) for r in np.logspace(-5, 5, 21))


def ridge_scale(K: Any) -> float:
    """``tr(K) / n^2``: multiply ``lam_tilde`` by this to get ``lam``.

    Example:
        >>> import numpy as np
        >>> from kernelkit.ridge import ridge_scale
        >>> ridge_scale(np.eye(4))
        0.25
    """
    n = K.shape[0]
    return float(keras.ops.convert_to_numpy(ops.trace(ops.convert_to_tensor(K)))) / (n * n)


class KernelRidge(RegressorMixin, BaseEstimator):
    """Kernel ridge regression with a `TrainableKernel`.

    Predicts ``f(x) = (1/n) K(x, X) (K/n + lam I)^{-1} Y`` with the paper's
    scale-free ridge ``lam = ridge * tr(K) / n^2``. This equals scikit-learn's
    ``KernelRidge(alpha=n * lam, kernel="precomputed")``. Accepts and returns
    numpy arrays; ``y`` may be ``(n,)`` or ``(n, c)``.

    `predict_path` and `kare_path` give predictions and KARE for a
    whole grid of ``ridge`` values from one eigendecomposition (of ``K``, or
    of ``Phi^T Phi`` on the features path). Every factorisation and solve goes
    through the solver layer (`kernelkit.solvers`): ``solver="features"``
    (kernels with a feature map, e.g. the NTK) never forms an ``n x n`` array
    and is linear in ``n``; ``"auto"`` chooses from ``n``, the feature count
    and a memory estimate, before anything is allocated.

    Args:
        kernel: The kernel, e.g. ``NTK(mlp(...))`` or ``GaussianKernel(1.0)``.
        ridge: ``lam_tilde`` >= 0, the ridge relative to ``tr(K)/n^2``; or
            ``"kare"``: choose it on the training data alone, as the minimiser
            of KARE over ``ridge_grid`` (one eigendecomposition of ``K``).
        ridge_grid: Candidate values for ``ridge="kare"`` (default
            ``DEFAULT_RIDGE_GRID``, 1e-5 to 1e5).
        solver: ``"auto"``, ``"dense"``, ``"features"``, ``"iterative"``
            (matrix-free preconditioned CG; ``ridge="kare"`` then costs one
            solve per grid value) or a `kernelkit.solvers.Iterative`.

    Attributes:
        ridge_: The ``lam_tilde`` used (the chosen one for ``ridge="kare"``).
        kare_grid_: KARE per ``ridge_grid`` value (``ridge="kare"`` only).
        X_fit_: Training inputs (backend tensor in the kernel's dtype).
        dual_coef_: ``(K/n + lam I)^{-1} Y``, shape ``(n, c)``.
        lam_: The absolute ridge ``lam``.
        solver_: The solver path used (``"dense"`` or ``"features"``).
        solver_reason_: Why ``solver="auto"`` chose it.
        solver_info_: On the iterative path, the solve's tolerance, probes,
            rank, CG iterations and residual (a dict); else ``None``.
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
                 ridge_grid: Sequence[float] | None = None, solver: Any = "auto") -> None:
        self.kernel = kernel
        self.ridge = ridge
        self.ridge_grid = ridge_grid
        self.solver = solver

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
        check_solver(self.solver)
        X = check_matrix(X, "X")
        y = check_targets(y, np.shape(X)[0])
        X, y = conform(self.kernel, X, y)
        dtype = self.kernel.compute_dtype
        X_fit = ops.cast(ops.convert_to_tensor(X), dtype)
        Y = ops.cast(ops.convert_to_tensor(y), dtype)
        Y = Y[:, None] if len(np.shape(y)) == 1 else Y
        self.kernel.ensure_built(X_fit)
        system, plan = make_system(self.kernel, X_fit, Y, self.solver)
        n = int(X_fit.shape[0])
        scale = system.trace() / (n * n)
        if not scale > 0:
            raise NumericalError(
                f"the kernel matrix has trace {scale * n * n:.3g} <= 0: it is zero (e.g. an "
                "NTK whose units are all inactive) or not positive semi-definite, so "
                "the trace-scaled ridge is undefined. Check the kernel and the data."
            )
        kare_grid = None
        if by_kare:  # one eigendecomposition scores the grid and gives the coefficients
            kare_grid = system.spectrum().kare([r * scale for r in grid])
            ridge = grid[int(np.nanargmin(kare_grid))]
        lam = ridge * scale
        coef = system.solve(lam)
        # Assigned only now, so that a failed fit leaves no half-fitted model.
        self.ridge_ = ridge
        if by_kare:
            self.kare_grid_ = kare_grid
        self._y_ndim = len(np.shape(y))
        self.X_fit_, self._system, self._coef, self.lam_ = X_fit, system, coef, lam
        self.solver_, self.solver_reason_ = plan.solver, plan.reason
        info = getattr(system, "info", None)
        self.solver_info_ = info.as_dict() if info is not None else None
        self.n_features_in_ = int(np.shape(X)[1])
        self.dual_coef_ = system.dual(coef, lam)
        self._weights_at_fit = self._kernel_weights()
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Predictions for ``X`` (m, d): shape (m,) or (m, c) as ``y`` was."""
        X = self._inputs(X)
        out = self._system.predict(self._coef, X)
        return self._shape_output(keras.ops.convert_to_numpy(out))

    # ---------------------------------------------------------- ridge paths
    def predict_path(self, X: Any, ridges: Sequence[float]) -> np.ndarray:
        """Predictions for every ``ridge`` (lam_tilde) from one factorisation.

        Uses one eigendecomposition (of ``K`` or of ``Phi^T Phi``; eigenvalues
        below 0, rounding noise, are clipped at 0).

        Args:
            X: Inputs (m, d).
            ridges: Values of ``lam_tilde`` (each > 0).

        Returns:
            Array ``(len(ridges), m)`` or ``(len(ridges), m, c)``.
        """
        lams = self._lams(ridges)
        out = self._system.path(self._inputs(X), lams)  # _lams checked fitted
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
        return self._system.spectrum().kare(self._lams(ridges))

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
        n = int(self.X_fit_.shape[0])
        scale = self._system.trace() / (n * n)
        return [self._check_ridge(r, strictly_positive=True) * scale for r in ridges]

    def _kernel_weights(self) -> list:
        return [np.array(keras.ops.convert_to_numpy(v.value)) for v in self.kernel.weights]

    def _check_unchanged(self) -> None:
        """Refuse to predict with a kernel whose weights changed after ``fit``."""
        check_is_fitted(self, "_coef")
        now = self._kernel_weights()
        if len(now) != len(self._weights_at_fit) or any(
            not np.array_equal(a, b) for a, b in zip(now, self._weights_at_fit)
        ):
            raise InputError(
                "the kernel's weights changed after fit (e.g. further KARE training): "
                "the fitted coefficients no longer match it. Call fit again."
            )

    def _inputs(self, X: Any) -> Any:
        self._check_unchanged()
        X = check_matrix(X, "X")
        if np.shape(X)[1] != self.n_features_in_:
            raise InputError(
                f"X has {np.shape(X)[1]} features, but KernelRidge was fitted with "
                f"{self.n_features_in_}."
            )
        return X

    def _shape_output(self, out: np.ndarray) -> np.ndarray:
        return out[:, 0] if self._y_ndim == 1 else out
