"""Recursive Feature Machines (RFM): Laplace-kernel KRR whose metric is its own AGOP.

A baseline of the paper. RFM alternates two steps: fit kernel ridge regression
with the Laplace kernel ``k_M(x, x') = exp(-||x - x'||_M / L)``, then replace
``M`` by the average gradient outer product (AGOP) of the fitted predictor over
the training points. Nothing is trained by gradient descent and nothing is
random: the same data give the same model.
"""

from __future__ import annotations

import numbers
from typing import Any

import keras
import numpy as np
from keras import ops
from sklearn.base import BaseEstimator

from kernelkit import _ops, backends
from kernelkit._validation import check_matrix, check_positive
from kernelkit.errors import InputError
from kernelkit.estimators._base import (
    KernelKitClassifierMixin,
    KernelKitRegressorMixin,
    KRRPredictMixin,
    store_params,
)
from kernelkit.kernels.distances import mahalanobis_squared_distances, metric_factor, safe_sqrt
from kernelkit.kernels.laplace import LaplaceKernel
from kernelkit.ridge import KernelRidge


def _check_bandwidth(bandwidth: Any) -> float:
    return check_positive(bandwidth, "bandwidth")


def _metric_to_numpy(M: Any, d: int) -> np.ndarray:
    if M is None:
        return np.eye(d)
    if not isinstance(M, np.ndarray) and hasattr(M, "shape"):  # a backend tensor
        M = ops.convert_to_numpy(M)
    M = np.asarray(M, dtype=np.float64)
    if M.shape != (d, d):
        raise InputError(f"M must have shape ({d}, {d}) for X with {d} features, got {M.shape}.")
    return M


def laplace_agop(X: Any, dual: Any, bandwidth: float, M: Any = None, *,
                 dtype: str | None = None) -> Any:
    """The AGOP of a Laplace-kernel predictor over its training points.

    For the predictor ``f(x) = sum_j dual[j] k_M(x, X[j])`` with the Laplace
    kernel ``k_M(x, z) = exp(-||x - z||_M / L)`` (``L = bandwidth``,
    ``||v||_M = sqrt(v^T M v)``), the gradient of one output at ``x`` is

        grad f(x) = -(1/L) sum_j dual[j] k_M(x, X[j]) / ||x - X[j]||_M  M (x - X[j])

    (a term with ``x = X[j]`` contributes 0). With ``G_i`` the ``(c, d)``
    Jacobian of the ``c`` outputs at ``X[i]``, this returns the average
    gradient outer product

        AGOP = (1/n) sum_i G_i^T G_i,

    the ``M`` of the next Recursive Feature Machine iteration. It is computed
    without a loop over points (``W = K / R`` with ``R`` the ``M``-distance
    matrix, 0 where ``R = 0``; ``G^c = -(1/L) (X * rowsum(W diag(dual_c)) -
    W diag(dual_c) X) M``), in ``O(n^2 (d + c))`` time and ``O(n^2 + n c d)``
    memory, in ``keras.ops`` (``einsum`` for every product, so float64 stays
    float64 on torch too).

    ``dual`` is the coefficient of the kernel expansion itself. For a fitted
    `KernelRidge`, whose predictor is ``(1/n) K(x, X) dual_coef_``, pass
    ``dual_coef_ / n``.

    Args:
        X: Training inputs ``(n, d)`` (numpy or backend tensor).
        dual: Coefficients ``(n,)`` or ``(n, c)``.
        bandwidth: ``L`` > 0.
        M: The symmetric PSD ``(d, d)`` metric of the kernel; ``None`` is the
            identity.
        dtype: Computation dtype; default ``X``'s float dtype, else
            ``keras.config.floatx()``.

    Returns:
        The symmetric ``(d, d)`` AGOP as a backend tensor in ``dtype``.

    Raises:
        InputError: On bad shapes, non-finite values, or a ``M`` that is not
            symmetric PSD.

    Example:
        >>> import numpy as np
        >>> from kernelkit.estimators.rfm import laplace_agop
        >>> X = np.random.randn(20, 3); dual = np.random.randn(20)
        >>> tuple(laplace_agop(X, dual, bandwidth=10.0).shape)
        (3, 3)

    Reference:
        Radhakrishnan, Beaglehole, Pandit, Belkin, "Mechanism for feature
        learning in neural networks and backpropagation-free machine learning
        models", Science 2024.
    """
    X = check_matrix(X, "X")
    n, d = (int(s) for s in X.shape)
    L = _check_bandwidth(bandwidth)
    if dtype is None:
        src = keras.backend.standardize_dtype(X.dtype)
        dtype = src if "float" in src else keras.config.floatx()
    M64 = _metric_to_numpy(M, d)
    factor = metric_factor(M64)  # checks M: square, finite, symmetric, PSD
    alpha = ops.cast(ops.convert_to_tensor(dual), dtype)
    if len(alpha.shape) == 1:
        alpha = alpha[:, None]
    if len(alpha.shape) != 2 or int(alpha.shape[0]) != n:
        raise InputError(f"dual must have shape ({n},) or ({n}, c), got {tuple(alpha.shape)}.")
    if not bool(ops.convert_to_numpy(ops.all(ops.isfinite(alpha)))):
        raise InputError("dual contains NaN or infinite values.")
    x = ops.cast(ops.convert_to_tensor(X), dtype)
    # Centring changes no difference x_i - x_j but reduces the cancellation in
    # x_i * s_i - (W X)_i below.
    x = x - _ops.mean(x, axis=0)[None, :]
    Mt = ops.convert_to_tensor(M64.astype(dtype))
    with backends.no_tf32():
        d2 = mahalanobis_squared_distances(x, x, ops.convert_to_tensor(factor.astype(dtype)))
        positive = d2 > 0
        R = safe_sqrt(d2)
        K = ops.exp(-R / L)
        W = ops.where(positive, K / ops.where(positive, R, ops.ones_like(R)), ops.zeros_like(R))
        rowsum = ops.einsum("ij,jc->ic", W, alpha)                               # (n, c)
        WX = ops.einsum("ij,jcd->icd", W, alpha[:, :, None] * x[:, None, :])     # (n, c, d)
        H = x[:, None, :] * rowsum[:, :, None] - WX  # G^c_i = -(1/L) H^c_i M
        S = ops.einsum("icd,ice->de", H, H)
        agop = ops.einsum("de,ef->df", ops.einsum("de,ef->df", Mt, S), Mt) / (n * L * L)
    return (agop + ops.transpose(agop)) / 2.0


def _psd_part(M: np.ndarray) -> np.ndarray:
    """Symmetric ``M`` with its (rounding-level) negative eigenvalues set to 0."""
    M = (M + M.T) / 2.0
    w, V = np.linalg.eigh(M)
    if w.min() >= 0:
        return M
    return (V * np.clip(w, 0.0, None)) @ V.T


class _RFMParams(BaseEstimator):
    def __init__(self, bandwidth: float = 10.0, iterations: int = 5,
                 ridge: float | str = 1e-3, diag: bool = False,
                 dtype: str = "float32", solver: str = "auto") -> None:
        store_params(self, locals())


class _RFMFitMixin(KRRPredictMixin):
    """RFM's ``_fit_targets`` (KRR and AGOP updates), predicting with the last KRR."""

    def _fit_targets(self, X: np.ndarray, Y: np.ndarray) -> None:
        bandwidth = _check_bandwidth(self.bandwidth)
        if not isinstance(self.iterations, numbers.Integral) or isinstance(self.iterations, bool) \
                or self.iterations < 0:
            raise InputError(f"iterations must be an integer >= 0, got {self.iterations!r}.")
        X = np.asarray(X, dtype=self.dtype)
        Y = np.asarray(Y, dtype=self.dtype)
        n, d = X.shape
        M = np.eye(d)
        history = []
        for step in range(int(self.iterations) + 1):
            kernel = LaplaceKernel(bandwidth, M=M, trainable=False, dtype=self.dtype)
            krr = KernelRidge(kernel, ridge=self.ridge, solver=self.solver).fit(X, Y)
            # (K/n + lam I) dual = Y, so the training residual is lam * dual.
            resid = krr.lam_ * np.asarray(ops.convert_to_numpy(krr.dual_coef_), dtype=np.float64)
            history.append(float(np.mean(resid ** 2)))
            if step == self.iterations:
                break
            M = np.asarray(ops.convert_to_numpy(
                laplace_agop(krr.X_fit_, krr.dual_coef_ / n, bandwidth, M, dtype=self.dtype)),
                dtype=np.float64)
            M = np.diag(np.diag(M)) if self.diag else _psd_part(M)
        self.M_, self.kernel_, self.krr_, self.history_ = M, kernel, krr, history


class RFMRegressor(_RFMFitMixin, KernelKitRegressorMixin, _RFMParams):
    """Recursive Feature Machine regressor (Laplace kernel, AGOP metric).

    Starting from ``M = I``, repeats ``iterations`` times: fit kernel ridge
    regression with the Laplace kernel ``exp(-||x - x'||_M / bandwidth)``,
    then set ``M`` to the AGOP of the fitted predictor over the training points
    (`laplace_agop`); finally fits KRR with the last ``M``. The learned ``M``
    weights the input directions the target depends on, so RFM does well on
    targets that depend on a few directions of many features. Deterministic
    (no random state).

    Args:
        bandwidth: Laplace bandwidth ``L`` (10, as in the RFM paper).
        iterations: Number of AGOP updates of ``M``; 0 is plain Laplace KRR.
        ridge: ``lam_tilde`` of `KernelRidge` (scaled by ``tr(K)/n^2``; the
            Laplace kernel has ``tr(K) = n``, so the system is ``K + ridge I``,
            RFM's ``reg``), or ``"kare"`` to choose it by KARE at every fit.
        diag: Keep only the diagonal of ``M`` (feature weights, no rotations).
        dtype: Computation dtype, ``"float32"`` or ``"float64"``.
        solver: Solver path of the KRR fits (``"auto"`` or ``"dense"``; the
            Laplace kernel has no finite feature map).

    Attributes:
        M_: The final metric, numpy ``(d, d)`` float64.
        kernel_: The final `LaplaceKernel` (not trainable).
        krr_: The final fitted `KernelRidge`.
        history_: Training MSE of each KRR fit (``iterations + 1`` values).
        n_features_in_: Number of features seen in ``fit``.

    Example:
        >>> import numpy as np
        >>> from kernelkit.estimators import RFMRegressor
        >>> X = np.random.randn(100, 5); y = np.sin(X[:, 0])
        >>> model = RFMRegressor(iterations=2).fit(X, y)
        >>> model.predict(X[:2]).shape, model.M_.shape
        ((2,), (5, 5))

    Reference:
        Radhakrishnan, Beaglehole, Pandit, Belkin, "Mechanism for feature
        learning in neural networks and backpropagation-free machine learning
        models", Science 2024.
    """


class RFMClassifier(_RFMFitMixin, KernelKitClassifierMixin, _RFMParams):
    """Recursive Feature Machine classifier: {-1, +1} one-hot targets, RFM, argmax.

    Same parameters and attributes as `RFMRegressor`, plus ``classes_``;
    labels of any type; two classes use one +-1 column thresholded at 0. No
    ``predict_proba``: KRR scores are not probabilities.

    Example:
        >>> import numpy as np
        >>> from kernelkit.estimators import RFMClassifier
        >>> X = np.random.randn(60, 4); y = np.where(X[:, 0] > 0, "a", "b")
        >>> RFMClassifier(iterations=2).fit(X, y).predict(X[:2]).shape
        (2,)
    """
