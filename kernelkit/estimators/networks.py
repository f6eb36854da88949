"""The paper's other two models: the trained network ("DNN") and its after-training NTK."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted, validate_data

from kernelkit.estimators._base import KernelKitClassifierMixin, KernelKitRegressorMixin
from kernelkit.kernels.ntk import NTK
from kernelkit.network import forward, mlp
from kernelkit.ridge import KernelRidge
from kernelkit.backends import to_numpy
from kernelkit.training import fit_network


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
    """Fit the MLP on its training loss; predict with it or with KRR on its NTK."""

    #: "network": predict with the trained network; "after_ntk": KRR on its NTK.
    _predictor = "network"

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
        if self._predictor == "after_ntk":
            self.kernel_ = NTK(model)
            self.krr_ = KernelRidge(self.kernel_, ridge=self.ridge, solver=self.solver).fit(X, Y)

    def _scores(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "model_")
        X = np.asarray(validate_data(self, X, reset=False), dtype=self.dtype)
        if self._predictor == "after_ntk":
            return self.krr_.predict(X)
        out = np.asarray(to_numpy(forward(self.model_, X)), dtype=np.float64)
        return out[:, 0] if self._y_ndim == 1 else out


class MLPRegressor(_NetworkMixin, KernelKitRegressorMixin, _NetworkParams):
    """The paper's "DNN": the MLP trained on mean squared error, predicting itself.

    ``ridge`` is unused (kept so that all the paper's models share parameter
    names). Adam at ``learning_rate`` 1e-3, batches of 32, 100 epochs by default.

    Example:
        >>> import numpy as np
        >>> from kernelkit.estimators import MLPRegressor
        >>> X = np.random.randn(64, 3); y = np.sin(X[:, 0])
        >>> MLPRegressor(width=8, epochs=2, random_state=0).fit(X, y).predict(X[:2]).shape
        (2,)
    """


class MLPClassifier(_NetworkMixin, KernelKitClassifierMixin, _NetworkParams):
    """The trained MLP as a classifier: MSE on +-1 for two classes, cross-entropy otherwise.

    Example:
        >>> import numpy as np
        >>> from kernelkit.estimators import MLPClassifier
        >>> X = np.random.randn(64, 2); y = (X[:, 0] > 0).astype(int)
        >>> MLPClassifier(width=8, epochs=2, random_state=0).fit(X, y).predict(X[:2]).shape
        (2,)
    """


class AfterNTKRegressor(_NetworkMixin, KernelKitRegressorMixin, _NetworkParams):
    """The paper's "after-NTK": train the MLP on MSE, then KRR on its NTK at the trained weights.

    Example:
        >>> import numpy as np
        >>> from kernelkit.estimators import AfterNTKRegressor
        >>> X = np.random.randn(64, 3); y = np.sin(X[:, 0])
        >>> AfterNTKRegressor(width=8, epochs=2, random_state=0).fit(X, y).predict(X[:2]).shape
        (2,)
    """

    _predictor = "after_ntk"


class AfterNTKClassifier(_NetworkMixin, KernelKitClassifierMixin, _NetworkParams):
    """After-NTK classifier: the MLP trained on MSE (+-1, two classes) or cross-entropy,
    then KRR with {-1, +1} one-hot targets on its NTK, argmax.

    Example:
        >>> import numpy as np
        >>> from kernelkit.estimators import AfterNTKClassifier
        >>> X = np.random.randn(64, 2); y = (X[:, 0] > 0).astype(int)
        >>> AfterNTKClassifier(width=8, epochs=2, random_state=0).fit(X, y).predict(X[:2]).shape
        (2,)
    """

    _predictor = "after_ntk"
