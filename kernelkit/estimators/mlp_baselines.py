"""The paper's network baselines as estimators: the trained MLP ("DNN") and its after-training NTK.

Both train the paper's MLP (`kernelkit.paper_mlp`) on its own loss; they
differ only in what predicts afterwards, a small predictor mixin each:
`_PredictsWithNetwork` (the network itself) and `_PredictsWithAfterNTK`
(kernel ridge regression on the NTK at the trained weights).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted, validate_data

from kernelkit.estimators._base import KernelKitClassifierMixin, KernelKitRegressorMixin
from kernelkit.kernels.ntk import NTK
from kernelkit.paper_mlp import fit_network, forward, mlp
from kernelkit.ridge import KernelRidge
from kernelkit.backends import to_numpy


class _NetworkParams(BaseEstimator):
    def __init__(self, depth: int = 1, width: int = 64, activation: str = "gelu",
                 epochs: int = 100, learning_rate: float = 1e-3,
                 batch_size: int | None = 32, optimizer: Any = "adam",
                 ridge: float | str = "kare", random_state: int | None = None,
                 dtype: str = "float32", solver: str = "auto") -> None:
        self.depth = depth
        self.width = width
        self.activation = activation
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.optimizer = optimizer
        self.ridge = ridge
        self.random_state = random_state
        self.dtype = dtype
        self.solver = solver


class _NetworkMixin:
    """Fit the MLP on its training loss, then the predictor (``_fit_predictor``)."""

    def _fit_targets(self, X: np.ndarray, Y: np.ndarray) -> None:
        X = np.asarray(X, dtype=self.dtype)
        Y = np.asarray(Y, dtype=self.dtype)
        n_outputs = 1 if Y.ndim == 1 else Y.shape[1]
        model = mlp(X.shape[1], depth=self.depth, width=self.width,
                    activation=self.activation, output_dim=n_outputs,
                    seed=self.random_state, dtype=self.dtype)
        multiclass = hasattr(self, "classes_") and len(self.classes_) > 2
        # Multiclass: cross-entropy on 0/1 one-hot targets; otherwise MSE on
        # the values (+-1 for two classes).
        targets = (Y > 0).astype(self.dtype) if multiclass else Y
        self.loss_curve_ = fit_network(
            model, X, targets, loss="cross_entropy" if multiclass else "mse",
            epochs=self.epochs, learning_rate=self.learning_rate, optimizer=self.optimizer,
            batch_size=self.batch_size, seed=self.random_state)
        self.model_ = model
        self._y_ndim = Y.ndim
        self._fit_predictor(X, Y)

    def _scores(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "model_")
        X = np.asarray(validate_data(self, X, reset=False), dtype=self.dtype)
        return self._predict_scores(X)


class _PredictsWithNetwork:
    """The predictor of the "DNN": the trained network's own outputs."""

    def _fit_predictor(self, X: np.ndarray, Y: np.ndarray) -> None:
        pass  # the network is the predictor

    def _predict_scores(self, X: np.ndarray) -> np.ndarray:
        out = np.asarray(to_numpy(forward(self.model_, X)), dtype=np.float64)
        return out[:, 0] if self._y_ndim == 1 else out


class _PredictsWithAfterNTK:
    """The predictor of "after-NTK": KRR on the NTK of the trained network (``kernel_``, ``krr_``)."""

    def _fit_predictor(self, X: np.ndarray, Y: np.ndarray) -> None:
        self.kernel_ = NTK(self.model_)
        self.krr_ = KernelRidge(self.kernel_, ridge=self.ridge, solver=self.solver).fit(X, Y)

    def _predict_scores(self, X: np.ndarray) -> np.ndarray:
        return self.krr_.predict(X)


class MLPRegressor(_PredictsWithNetwork, _NetworkMixin, KernelKitRegressorMixin, _NetworkParams):
    """The paper's "DNN": the MLP trained on mean squared error, predicting itself.

    ``ridge`` is unused (kept so that all the paper's models share parameter
    names). Adam at ``learning_rate`` 1e-3, batches of 32, 100 epochs by default; the paper
    trains it by full-batch gradient descent (``optimizer="sgd", batch_size=None``) at 0.1
    for 10,000 epochs (synthetic, MNIST, Higgs), compiled (`kernelkit.paper_mlp.fit_network`).

    Example:
        >>> import numpy as np
        >>> from kernelkit.estimators import MLPRegressor
        >>> X = np.random.randn(64, 3); y = np.sin(X[:, 0])
        >>> MLPRegressor(width=8, epochs=2, random_state=0).fit(X, y).predict(X[:2]).shape
        (2,)
    """


class MLPClassifier(_PredictsWithNetwork, _NetworkMixin, KernelKitClassifierMixin, _NetworkParams):
    """The trained MLP as a classifier: MSE on +-1 for two classes, cross-entropy otherwise.

    Example:
        >>> import numpy as np
        >>> from kernelkit.estimators import MLPClassifier
        >>> X = np.random.randn(64, 2); y = (X[:, 0] > 0).astype(int)
        >>> MLPClassifier(width=8, epochs=2, random_state=0).fit(X, y).predict(X[:2]).shape
        (2,)
    """


class AfterNTKRegressor(_PredictsWithAfterNTK, _NetworkMixin, KernelKitRegressorMixin,
                        _NetworkParams):
    """The paper's "after-NTK": train the MLP on MSE, then KRR on its NTK at the trained weights.

    Example:
        >>> import numpy as np
        >>> from kernelkit.estimators import AfterNTKRegressor
        >>> X = np.random.randn(64, 3); y = np.sin(X[:, 0])
        >>> AfterNTKRegressor(width=8, epochs=2, random_state=0).fit(X, y).predict(X[:2]).shape
        (2,)
    """


class AfterNTKClassifier(_PredictsWithAfterNTK, _NetworkMixin, KernelKitClassifierMixin,
                         _NetworkParams):
    """After-NTK classifier: the MLP trained on MSE (+-1, two classes) or cross-entropy,
    then KRR with {-1, +1} one-hot targets on its NTK, argmax.

    Example:
        >>> import numpy as np
        >>> from kernelkit.estimators import AfterNTKClassifier
        >>> X = np.random.randn(64, 2); y = (X[:, 0] > 0).astype(int)
        >>> AfterNTKClassifier(width=8, epochs=2, random_state=0).fit(X, y).predict(X[:2]).shape
        (2,)
    """
