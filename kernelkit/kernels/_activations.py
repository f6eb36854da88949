"""Values and derivatives of Keras' elementwise activations, for the structured NTK.

Both are written here in float64-safe keras.ops (see ``kernelkit._ops``):
Keras' own ``tanh`` (JAX) and ``gelu`` (TensorFlow) lose float64 precision.
"""

from __future__ import annotations

import math
from typing import Any, Callable, NamedTuple

import keras
from keras import ops

from kernelkit import _ops

_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_SELU_ALPHA, _SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946


class Activation(NamedTuple):
    """An activation ``s`` and its derivative ``s'``, both in keras.ops."""

    value: Callable[[Any], Any]
    derivative: Callable[[Any], Any]


def _sigmoid_prime(h: Any) -> Any:
    s = ops.sigmoid(h)
    return s * (1.0 - s)


def _gelu_prime(h: Any) -> Any:
    cdf = 0.5 * (1.0 + ops.erf(h / math.sqrt(2.0)))
    return cdf + h * ops.exp(-0.5 * h * h) * _INV_SQRT_2PI


def _silu_prime(h: Any) -> Any:
    s = ops.sigmoid(h)
    return s * (1.0 + h * (1.0 - s))


def _positive(h: Any) -> Any:
    return h > 0


def _negative_part(h: Any) -> Any:
    """``min(h, 0)``: exp of it never overflows in the branch ``where`` discards
    (an inf there turns the gradient into NaN)."""
    return ops.minimum(h, ops.zeros_like(h))


_ACTIVATIONS: dict[str, Activation] = {
    "linear": Activation(lambda h: h, ops.ones_like),
    "relu": Activation(ops.relu, lambda h: ops.cast(_positive(h), h.dtype)),
    "tanh": Activation(_ops.tanh, lambda h: 1.0 - _ops.tanh(h) ** 2),
    "sigmoid": Activation(ops.sigmoid, _sigmoid_prime),
    "gelu": Activation(_ops.gelu, _gelu_prime),
    "softplus": Activation(ops.softplus, ops.sigmoid),
    "silu": Activation(lambda h: h * ops.sigmoid(h), _silu_prime),
    "elu": Activation(
        lambda h: ops.where(_positive(h), h, ops.exp(_negative_part(h)) - 1.0),
        lambda h: ops.where(_positive(h), ops.ones_like(h), ops.exp(_negative_part(h))),
    ),
    "selu": Activation(
        lambda h: _SELU_SCALE * ops.where(
            _positive(h), h, _SELU_ALPHA * (ops.exp(_negative_part(h)) - 1.0)
        ),
        lambda h: _SELU_SCALE * ops.where(
            _positive(h), ops.ones_like(h), _SELU_ALPHA * ops.exp(_negative_part(h))
        ),
    ),
}


def lookup_activation(fn: Any) -> Activation | None:
    """The `Activation` of a Keras activation function, or ``None``.

    Only Keras' own activation functions are recognised, by identity, so a
    lambda or another GELU approximation is never mistaken for one.

    Args:
        fn: The ``activation`` attribute of a Dense layer.

    Returns:
        The value/derivative pair, or ``None`` if unknown.
    """
    for name, act in _ACTIVATIONS.items():
        if fn is keras.activations.get(name):
            return act
    return None


def supported_activations() -> list[str]:
    """Names of the activations the structured NTK supports."""
    return list(_ACTIVATIONS)
