"""Shared machinery of kernelkit's estimators: validation, targets, fitting and prediction.

Every estimator is three classes in this order (scikit-learn wants its mixins
before ``BaseEstimator``):

1. a *fit* mixin that defines ``_fit_targets(X, Y)`` (train on numeric targets
   ``Y``, ``(n,)`` or ``(n, c)``) and ``_scores(X)`` (the raw predictions):
   `KAREFitMixin` (train a kernel on KARE, then KRR), RFM's, the networks';
2. `KernelKitRegressorMixin` or `KernelKitClassifierMixin`: scikit-learn's
   ``fit``/``predict`` (and ``decision_function``), input validation and, for
   classifiers, the {-1, +1} one-hot encoding of the labels;
3. a ``BaseEstimator`` holding the parameters.

Example:
    >>> from kernelkit.estimators import NTKKARERegressor
    >>> from kernelkit.estimators._base import KAREFitMixin, KernelKitRegressorMixin
    >>> issubclass(NTKKARERegressor, (KAREFitMixin, KernelKitRegressorMixin))
    True
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from kernelkit.ridge import KernelRidge
from kernelkit.training import fit_kare


def store_params(estimator: Any, params: dict[str, Any]) -> None:
    """Store each ``__init__`` argument, unchanged, as the attribute of its name.

    scikit-learn reads an estimator's parameters from the explicit signature of
    its ``__init__`` and wants ``__init__`` to store them and do nothing else
    (validation happens in ``fit``); ``store_params(self, locals())`` as its only
    statement does exactly that.

    Args:
        estimator: The estimator being constructed (``self``).
        params: ``locals()`` at the start of its ``__init__``.

    Example:
        >>> from sklearn.base import BaseEstimator
        >>> class Est(BaseEstimator):
        ...     def __init__(self, alpha=1.0, beta="x"):
        ...         store_params(self, locals())
        >>> Est(alpha=2.0).get_params()
        {'alpha': 2.0, 'beta': 'x'}
    """
    for name, value in params.items():
        if name not in ("self", "__class__"):
            setattr(estimator, name, value)


class KRRPredictMixin:
    """``_scores``: the predictions of the fitted `KernelRidge` ``self.krr_``."""

    def _scores(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "krr_")
        X = validate_data(self, X, reset=False)
        return self.krr_.predict(np.asarray(X, dtype=self.dtype))


class KAREFitMixin(KRRPredictMixin):
    """Train ``self._make_kernel(...)`` on KARE, then fit KRR on the trained kernel.

    Subclasses define ``_make_kernel(n_features, n_outputs)`` and the shared
    parameters ``z, epochs, learning_rate, batch_size, optimizer, ridge,
    random_state, dtype, solver``.
    """

    def _fit_targets(self, X: np.ndarray, Y: np.ndarray) -> None:
        X = np.asarray(X, dtype=self.dtype)
        Y = np.asarray(Y, dtype=self.dtype)
        n_outputs = 1 if Y.ndim == 1 else Y.shape[1]
        kernel = self._make_kernel(X.shape[1], n_outputs)
        history = fit_kare(kernel, X, Y, z=self.z, epochs=self.epochs,
                           learning_rate=self.learning_rate, optimizer=self.optimizer,
                           batch_size=self.batch_size, seed=self.random_state,
                           solver=self.solver)
        self.krr_ = KernelRidge(kernel, ridge=self.ridge, solver=self.solver).fit(X, Y)
        self.kernel_, self.history_ = kernel, history


class KernelKitRegressorMixin(RegressorMixin):
    """``fit``/``predict`` for regression; ``y`` of shape (n,) or (n, c).

    Needs ``_fit_targets`` and ``_scores`` from a fit mixin placed before it.
    """

    def fit(self, X: Any, y: Any) -> "KernelKitRegressorMixin":
        """Validate ``X`` and ``y``, then fit the model (``_fit_targets``)."""
        X, y = validate_data(self, X, y, multi_output=True, y_numeric=True)
        self._fit_targets(X, y)
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Predictions, shaped like the training ``y``."""
        return self._scores(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


class KernelKitClassifierMixin(ClassifierMixin):
    """Classification: one-hot targets in {-1, +1} (one +-1 column if binary).

    Needs ``_fit_targets`` and ``_scores`` from a fit mixin placed before it.
    """

    def fit(self, X: Any, y: Any) -> "KernelKitClassifierMixin":
        """Encode the labels, then fit the model on the codes (``_fit_targets``)."""
        X, y = validate_data(self, X, y)
        check_classification_targets(y)
        self.classes_, codes = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(
                f"The classifier needs samples of at least 2 classes in the data, but "
                f"the data contain only one class: {self.classes_[0]!r}."
            )
        if len(self.classes_) == 2:
            Y = np.where(codes == 1, 1.0, -1.0)
        else:
            Y = -np.ones((len(codes), len(self.classes_)))
            Y[np.arange(len(codes)), codes] = 1.0
        self._fit_targets(X, Y)
        return self

    def decision_function(self, X: Any) -> np.ndarray:
        """Scores: (m,) for two classes (> 0 means ``classes_[1]``), else (m, C)."""
        return self._scores(X)

    def predict(self, X: Any) -> np.ndarray:
        """The class with the largest score (binary: the sign)."""
        scores = self._scores(X)
        if scores.ndim == 1:
            return self.classes_[(scores > 0).astype(int)]
        return self.classes_[np.argmax(scores, axis=1)]
