"""keras.ops replacements that keep float64 precision on every backend.

Keras 3.15.1 silently computes some float64 operations in float32 (measured
by tests/test_precision.py):

- ``ops.mean`` on JAX and torch accumulates in float32 (relative error ~3e-8);
- ``ops.tanh`` on JAX returns float32 for float64 input;
- ``ops.maximum(x, 0.0)`` on torch returns float32 for float64 ``x``;
- ``ops.matmul``/``ops.dot`` on torch return float32 for float64 inputs
  (keras issue 23704), and so do float64 ``Dense`` layers there;
- ``keras.activations.gelu`` on TensorFlow (``tf.nn.gelu``) is only accurate
  to ~2e-9 in float64.

kernelkit's core uses the functions here (and ``einsum`` for products)
instead, so its float64 results are float64-accurate.
"""

from __future__ import annotations

import math
from typing import Any

from keras import ops


def mean(x: Any, axis: Any = None) -> Any:
    """Mean as sum / count (``ops.mean`` accumulates float64 in float32)."""
    if axis is None:
        count = math.prod(x.shape)
    else:
        axes = (axis,) if isinstance(axis, int) else tuple(axis)
        count = math.prod(x.shape[a] for a in axes)
    return ops.sum(x, axis=axis) / count


def tanh(x: Any) -> Any:
    """``tanh`` in the input's precision: ``2 sigmoid(2x) - 1``."""
    return 2.0 * ops.sigmoid(2.0 * x) - 1.0


def gelu(x: Any) -> Any:
    """Exact (erf) GELU, ``0.5 x (1 + erf(x / sqrt 2))``."""
    return 0.5 * x * (1.0 + ops.erf(x / math.sqrt(2.0)))
