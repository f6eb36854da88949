"""The Gaussian (RBF) kernel of the paper."""

from __future__ import annotations

from typing import Any

from keras import ops

from kernelkit.kernels.distances import squared_distances
from kernelkit.kernels._params import BandwidthMixin, UnitDiagonalMixin
from kernelkit.kernels.base import TrainableKernel


class GaussianKernel(BandwidthMixin, UnitDiagonalMixin, TrainableKernel):
    """Gaussian kernel ``k(x, x') = exp(-||x - x'||^2 / bandwidth^2)``.

    This is the paper's convention (no factor 2). The bandwidth is trainable
    and kept positive by storing ``log(bandwidth)`` in the variable
    ``log_bandwidth``; read the current value with `bandwidth_value`.

    Args:
        bandwidth: Initial bandwidth, > 0.
        trainable: Whether KARE training may change the bandwidth.
        **kwargs: ``name``, ``dtype`` (see `TrainableKernel`).

    Example:
        >>> import numpy as np
        >>> from kernelkit import GaussianKernel
        >>> k = GaussianKernel(bandwidth=2.0)
        >>> K = k(np.random.rand(5, 3))
        >>> tuple(K.shape)
        (5, 5)

    Reference:
        Schwab, Kelly, Malamud, Xu, "Training NTK to Generalize with KARE".
    """

    def __init__(self, bandwidth: float = 1.0, trainable: bool = True, **kwargs: Any):
        super().__init__(trainable=trainable, **kwargs)
        self._init_bandwidth(bandwidth)

    def gram(self, x1: Any, x2: Any) -> Any:
        scale = ops.exp(-2.0 * self.log_bandwidth)
        return ops.exp(-squared_distances(x1, x2) * scale)

    def get_config(self) -> dict:
        return {**super().get_config(), "bandwidth": self.bandwidth}
