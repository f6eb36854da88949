"""The Gaussian (RBF) kernel of the paper."""

from __future__ import annotations

from typing import Any

from keras import ops

from kernelkit.kernels._distance import positive_scalar_weight, squared_distances
from kernelkit.kernels.base import TrainableKernel


class GaussianKernel(TrainableKernel):
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
        self.bandwidth = float(bandwidth)
        self.log_bandwidth = positive_scalar_weight(self, "bandwidth", self.bandwidth)

    @property
    def bandwidth_value(self) -> float:
        """The current (possibly trained) bandwidth."""
        return float(ops.convert_to_numpy(ops.exp(self.log_bandwidth)))

    def gram(self, x1: Any, x2: Any) -> Any:
        scale = ops.exp(-2.0 * self.log_bandwidth)
        return ops.exp(-squared_distances(x1, x2) * scale)

    def diag_formula(self, x: Any) -> Any:
        return ops.ones((x.shape[0],), dtype=self.compute_dtype)

    def get_config(self) -> dict:
        return {**super().get_config(), "bandwidth": self.bandwidth}
