"""Parameter helpers shared by the kernels (private; keras.ops only).

- `exact_weight`: a variable holding exactly a given value, in the layer's dtype;
- `positive_scalar_weight` / `positive_value`: a trainable scalar kept
  positive by storing its logarithm (``log_<name>``), and its current value;
- `add_metric_weight`, `check_metric_features`: a symmetric PSD ``(d, d)``
  metric ``M = L L^T`` held through its factor ``L``
  (`kernelkit.kernels.distances.metric_factor`);
- `UnitDiagonalMixin`: ``k(x, x) = 1`` (the stationary kernels);
- `BandwidthMixin`: a positive trainable bandwidth (``log_bandwidth``) with
  its current value as ``bandwidth_value``.

Example:
    >>> import keras
    >>> from kernelkit.kernels._params import positive_scalar_weight, positive_value
    >>> layer = keras.layers.Layer(dtype="float32")
    >>> var = positive_scalar_weight(layer, "scale", 2.0)
    >>> var.name, round(positive_value(var), 6)
    ('log_scale', 2.0)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from keras import ops

from kernelkit.errors import InputError
from kernelkit.kernels.distances import metric_factor


def exact_weight(layer: Any, name: str, value: Any, trainable: bool = True) -> Any:
    """Add a variable holding exactly ``value`` (in the layer's dtype).

    ``keras.initializers.Constant`` rounds through float32 on TensorFlow, so a
    float64 variable would start 1e-9 off; assigning the value does not.

    Args:
        layer: The Keras layer that owns the variable.
        name: The variable's name.
        value: Its initial value (a number or an array).
        trainable: Whether the variable is trainable.

    Returns:
        The new variable.
    """
    value = np.asarray(value, dtype=np.float64)
    var = layer.add_weight(name=name, shape=value.shape, initializer="zeros",
                           trainable=trainable)
    var.assign(value.astype(var.dtype))
    return var


def positive_scalar_weight(layer: Any, name: str, value: float, trainable: bool = True) -> Any:
    """Add a scalar variable ``log_<name>`` holding ``log(value)``, so ``value`` stays > 0.

    Args:
        layer: The Keras layer that owns the variable.
        name: The parameter's name (the variable is ``log_<name>``).
        value: Its initial value, > 0.
        trainable: Whether the variable is trainable.

    Returns:
        The new variable.

    Raises:
        InputError: If ``value`` is not positive.
    """
    if not value > 0:
        raise InputError(f"{name} must be positive, got {value!r}.")
    return exact_weight(layer, f"log_{name}", math.log(value), trainable=trainable)


def positive_value(log_var: Any) -> float:
    """The current value ``exp(log_var)`` of a `positive_scalar_weight`, as a float."""
    return float(ops.convert_to_numpy(ops.exp(log_var)))


def add_metric_weight(layer: Any, M: Any, trainable: bool) -> Any:
    """Add the variable ``metric_factor`` (L, with M = L L^T) to ``layer``."""
    return exact_weight(layer, "metric_factor", metric_factor(M), trainable=trainable)


def check_metric_features(factor: Any, x: Any) -> None:
    """Raise a clear error when ``x`` has not the ``d`` features of a ``(d, d)`` metric.

    Raises:
        InputError: ``x.shape[1] != d``.
    """
    d = int(factor.shape[0])
    if x.shape[1] != d:
        raise InputError(f"this kernel's M is {d}x{d} but x has {x.shape[1]} features.")


class UnitDiagonalMixin:
    """For kernels with ``k(x, x) = 1`` (Gaussian, Laplace, anisotropic): no Gram
    matrix is needed for the diagonal. Put it before `TrainableKernel` in the bases."""

    def diag_formula(self, x: Any) -> Any:
        """``k(x_i, x_i) = 1`` for every row."""
        return ops.ones((x.shape[0],), dtype=self.compute_dtype)


class BandwidthMixin:
    """A positive trainable bandwidth: `_init_bandwidth` stores the constructor's
    value as ``self.bandwidth`` and ``log(bandwidth)`` in the variable
    ``log_bandwidth``; `bandwidth_value` reads the current (trained) value."""

    _initial_value_keys: tuple[str, ...] = ("bandwidth",)

    def _init_bandwidth(self, bandwidth: float) -> None:
        self.bandwidth = float(bandwidth)
        self.log_bandwidth = positive_scalar_weight(self, "bandwidth", self.bandwidth)

    @property
    def bandwidth_value(self) -> float:
        """The current (possibly trained) bandwidth."""
        return positive_value(self.log_bandwidth)
