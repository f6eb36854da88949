"""NTK-KARE: the paper's model, the NTK of an MLP trained on KARE, then KRR."""

from __future__ import annotations

from typing import Any

from sklearn.base import BaseEstimator

from kernelkit.defaults import DEFAULT_Z
from kernelkit.estimators._base import (
    KAREFitMixin,
    KernelKitClassifierMixin,
    KernelKitRegressorMixin,
    store_params,
)
from kernelkit.kernels.ntk import NTK
from kernelkit.paper_mlp import mlp


class _NTKKAREParams(BaseEstimator):
    def __init__(self, depth: int = 1, width: int = 64, activation: str = "gelu",
                 z: float = DEFAULT_Z, epochs: int = 100, learning_rate: float = 100.0,
                 batch_size: int | None = None, optimizer: Any = "sgd",
                 ridge: float | str = "kare", random_state: int | None = None,
                 dtype: str = "float32", solver: str = "auto") -> None:
        store_params(self, locals())

    def _make_kernel(self, n_features: int, n_outputs: int) -> NTK:
        model = mlp(n_features, depth=self.depth, width=self.width,
                    activation=self.activation, output_dim=n_outputs,
                    seed=self.random_state, dtype=self.dtype)
        return NTK(model)


class NTKKARERegressor(KAREFitMixin, KernelKitRegressorMixin, _NTKKAREParams):
    """The paper's NTK-KARE regressor.

    Builds the paper's MLP (``depth`` hidden layers of ``width`` units), trains
    its empirical NTK on KARE (``z``, ``epochs``, ``learning_rate``,
    ``optimizer``, ``batch_size``), then predicts with kernel ridge
    regression on the trained NTK at ``ridge`` (``lam_tilde``; ``"kare"``
    chooses it by KARE on the training data). Defaults follow the paper's
    synthetic setting (depth 1, width 64, GELU, z = 0.1, SGD at learning rate
    100 for 100 epochs). ``solver`` (``"auto"``, ``"dense"``, ``"features"``)
    picks the solver path of training and KRR (`kernelkit.solvers`); the NTK's
    feature map makes ``"features"`` linear in the number of points.

    Attributes:
        kernel_: The trained `NTK`.
        krr_: The fitted `KernelRidge`.
        history_: The `KAREHistory` of the training.

    Example:
        >>> import numpy as np
        >>> from kernelkit.estimators import NTKKARERegressor
        >>> X = np.random.randn(100, 3); y = np.sin(X[:, 0])
        >>> NTKKARERegressor(width=16, epochs=5, random_state=0).fit(X, y).predict(X[:2]).shape
        (2,)

    Reference:
        Schwab, Kelly, Malamud, Xu, "Training NTK to Generalize with KARE".
    """


class NTKKAREClassifier(KAREFitMixin, KernelKitClassifierMixin, _NTKKAREParams):
    """The paper's NTK-KARE classifier: one-hot {-1, +1} targets, KARE, KRR, argmax.

    Same parameters as `NTKKARERegressor`; labels of any type (``classes_``);
    two classes use one +-1 column thresholded at 0. No ``predict_proba``: KRR
    scores are not probabilities.

    Example:
        >>> import numpy as np
        >>> from kernelkit.estimators import NTKKAREClassifier
        >>> X = np.random.randn(60, 2); y = np.where(X[:, 0] > 0, "a", "b")
        >>> NTKKAREClassifier(width=8, epochs=3, random_state=0).fit(X, y).predict(X[:2]).shape
        (2,)
    """
