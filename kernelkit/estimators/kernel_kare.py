"""Any `TrainableKernel` trained on KARE, then kernel ridge regression."""

from __future__ import annotations

from typing import Any

import keras
from sklearn.base import BaseEstimator

from kernelkit.defaults import DEFAULT_Z
from kernelkit.errors import InputError
from kernelkit.estimators._base import (
    KAREFitMixin,
    KernelKitClassifierMixin,
    KernelKitRegressorMixin,
    store_params,
)
from kernelkit.kernels.base import TrainableKernel
from kernelkit.kernels.gaussian import GaussianKernel


class _KernelKAREParams(BaseEstimator):
    def __init__(self, kernel: TrainableKernel | None = None, z: float = DEFAULT_Z,
                 epochs: int = 100, learning_rate: float = 0.1,
                 batch_size: int | None = None, optimizer: Any = "adam",
                 ridge: float | str = "kare", random_state: int | None = None,
                 dtype: str = "float32", solver: str = "auto") -> None:
        store_params(self, locals())

    def _make_kernel(self, n_features: int, n_outputs: int) -> TrainableKernel:
        """A fresh copy of ``kernel`` (never trained in place) in ``dtype``."""
        template = GaussianKernel(bandwidth=1.0) if self.kernel is None else self.kernel
        if not isinstance(template, TrainableKernel):
            raise InputError(
                f"kernel must be a kernelkit TrainableKernel, got {type(template).__name__}."
            )
        config = template.get_config()
        config["dtype"] = self.dtype
        kernel = keras.saving.deserialize_keras_object(
            {**keras.saving.serialize_keras_object(template), "config": config})
        # Start from the template's current weights, not from its initialisers:
        # a network inside the kernel (NTK, DeepKernel) was seeded when it was
        # built, and its config alone does not hold those values.
        if template.weights:
            if len(kernel.weights) != len(template.weights):  # variables made in build()
                kernel.build((None, n_features))
            if [tuple(w.shape) for w in kernel.weights] == [
                    tuple(w.shape) for w in template.weights]:
                kernel.set_weights(template.get_weights())
        return kernel


class KernelKARERegressor(KAREFitMixin, KernelKitRegressorMixin, _KernelKAREParams):
    """Train any kernel's parameters on KARE, then predict with KRR.

    ``kernel`` is a template (Gaussian with bandwidth 1 by default): ``fit``
    trains a fresh copy built from its config (``kernel_``), so the same
    template can be reused, cloned and grid-searched (any `TrainableKernel`
    subclass can: it is registered with Keras' serialisation on definition). Defaults:
    Adam at learning rate 0.1 for 100 full-batch epochs, ``ridge="kare"``.

    Example:
        >>> import numpy as np
        >>> from kernelkit import LaplaceKernel
        >>> from kernelkit.estimators import KernelKARERegressor
        >>> X = np.random.randn(80, 2); y = np.sin(X[:, 0])
        >>> model = KernelKARERegressor(LaplaceKernel(2.0), epochs=5).fit(X, y)
        >>> model.predict(X[:2]).shape
        (2,)
    """


class KernelKAREClassifier(KAREFitMixin, KernelKitClassifierMixin, _KernelKAREParams):
    """`KernelKARERegressor` for classification: {-1, +1} one-hot targets, argmax.

    Example:
        >>> import numpy as np
        >>> from kernelkit.estimators import KernelKAREClassifier
        >>> X = np.random.randn(60, 2); y = (X[:, 1] > 0).astype(int)
        >>> KernelKAREClassifier(epochs=3).fit(X, y).predict(X[:2]).shape
        (2,)
    """
