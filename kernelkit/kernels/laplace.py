"""The Laplace kernel with an optional Mahalanobis metric (as in RFM)."""

from __future__ import annotations

from typing import Any

import numpy as np
from keras import ops

from kernelkit.kernels.distances import mahalanobis_squared_distances, safe_sqrt, squared_distances
from kernelkit.kernels._params import (
    BandwidthMixin,
    UnitDiagonalMixin,
    add_metric_weight,
    check_metric_features,
)
from kernelkit.kernels.base import TrainableKernel


class LaplaceKernel(BandwidthMixin, UnitDiagonalMixin, TrainableKernel):
    """Laplace kernel ``k(x, x') = exp(-||x - x'||_M / bandwidth)``.

    ``||v||_M = sqrt(v^T M v)``; with ``M=None`` it is the Euclidean norm.
    This is the kernel of Recursive Feature Machines (bandwidth 10 there).
    The bandwidth is trainable and kept positive (variable ``log_bandwidth``);
    when ``M`` is given, its factor ``L`` (``M = L L^T``, variable
    ``metric_factor``) is trainable too unless ``train_metric=False``. The
    square root has a finite (zero) gradient at ``x = x'``.

    Args:
        bandwidth: Initial bandwidth, > 0.
        M: Optional symmetric PSD ``(d, d)`` metric.
        train_metric: Whether KARE training may change ``M``.
        trainable: Whether KARE training may change anything.
        **kwargs: ``name``, ``dtype`` (see `TrainableKernel`).

    Example:
        >>> import numpy as np
        >>> from kernelkit import LaplaceKernel
        >>> k = LaplaceKernel(bandwidth=10.0)
        >>> tuple(k(np.random.rand(4, 3)).shape)
        (4, 4)

    Reference:
        Radhakrishnan, Beaglehole, Pandit, Belkin, "Mechanism for feature
        learning in neural networks and backpropagation-free machine learning
        models", Science 2024.
    """

    _initial_value_keys = BandwidthMixin._initial_value_keys + ("M",)

    def __init__(
        self,
        bandwidth: float = 10.0,
        M: Any = None,
        train_metric: bool = True,
        trainable: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(trainable=trainable, **kwargs)
        self._init_bandwidth(bandwidth)
        self.M = None if M is None else np.asarray(M, dtype=np.float64).tolist()
        self.train_metric = bool(train_metric)
        if M is not None:
            self.metric_factor = add_metric_weight(
                self, np.asarray(M), trainable=self.train_metric
            )

    def gram(self, x1: Any, x2: Any) -> Any:
        if self.M is None:
            d2 = squared_distances(x1, x2)
        else:
            check_metric_features(self.metric_factor, x1)
            d2 = mahalanobis_squared_distances(x1, x2, self.metric_factor)
        return ops.exp(-safe_sqrt(d2) * ops.exp(-self.log_bandwidth))

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "bandwidth": self.bandwidth,
            "M": self.M,
            "train_metric": self.train_metric,
        }
