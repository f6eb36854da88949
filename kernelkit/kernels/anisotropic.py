"""The anisotropic (Mahalanobis) Gaussian kernel."""

from __future__ import annotations

from typing import Any

import numpy as np
from keras import ops

from kernelkit.errors import InputError
from kernelkit.kernels.distances import mahalanobis_squared_distances
from kernelkit.kernels._params import UnitDiagonalMixin, add_metric_weight, check_metric_features
from kernelkit.kernels.base import TrainableKernel


class AnisotropicKernel(UnitDiagonalMixin, TrainableKernel):
    """Anisotropic Gaussian kernel ``k(x, x') = exp(-(x - x')^T M (x - x'))``.

    ``M = L L^T`` is trainable through its factor ``L`` (the variable
    ``metric_factor``, shape ``(d, d)``), so ``M`` stays positive
    semi-definite during training. ``M`` starts at the given matrix, or at
    the identity scaled by ``1/d`` (built from the first input when neither
    ``M`` nor ``input_dim`` is given). Read the current metric with
    `metric`.

    Args:
        M: Optional initial metric, a symmetric PSD ``(d, d)`` array.
        input_dim: Number of features ``d`` when ``M`` is not given.
        trainable: Whether KARE training may change ``M``.
        **kwargs: ``name``, ``dtype`` (see `TrainableKernel`).

    Example:
        >>> import numpy as np
        >>> from kernelkit import AnisotropicKernel
        >>> k = AnisotropicKernel(M=np.diag([1.0, 0.1]))
        >>> tuple(k(np.random.rand(4, 2)).shape)
        (4, 4)

    Reference:
        The Mahalanobis kernels of Recursive Feature Machines, Radhakrishnan
        et al., Science 2024.
    """

    _initial_value_keys = ("M",)

    def __init__(
        self,
        M: Any = None,
        input_dim: int | None = None,
        trainable: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(trainable=trainable, **kwargs)
        self.M = None if M is None else np.asarray(M, dtype=np.float64).tolist()
        self.input_dim = input_dim
        if M is not None:
            if input_dim is not None and np.shape(M) != (input_dim, input_dim):
                raise InputError(
                    f"M has shape {np.shape(M)} but input_dim is {input_dim}."
                )
            self._make_metric(np.asarray(M))
        elif input_dim is not None:
            self._make_metric(np.eye(int(input_dim)) / int(input_dim))
        if hasattr(self, "metric_factor"):
            self.built = True

    def _make_metric(self, M: np.ndarray) -> None:
        self.metric_factor = add_metric_weight(self, M, trainable=self.trainable)

    def build(self, x1_shape: Any, x2_shape: Any = None) -> None:
        if not hasattr(self, "metric_factor"):
            d = int(x1_shape[-1])
            self._make_metric(np.eye(d) / d)

    def metric(self) -> np.ndarray:
        """The current metric ``M = L L^T`` as a float64 numpy array."""
        L = np.asarray(ops.convert_to_numpy(self.metric_factor), dtype=np.float64)
        return L @ L.T

    def gram(self, x1: Any, x2: Any) -> Any:
        check_metric_features(self.metric_factor, x1)
        return ops.exp(-mahalanobis_squared_distances(x1, x2, self.metric_factor))

    def get_config(self) -> dict:
        return {**super().get_config(), "M": self.M, "input_dim": self.input_dim}
