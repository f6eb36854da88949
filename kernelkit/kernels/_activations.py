"""Derivatives of Keras' elementwise activations, for the structured NTK."""

from __future__ import annotations

import math
from typing import Any, Callable

import keras
from keras import ops

_SQRT_2PI = math.sqrt(2.0 * math.pi)


def _sigmoid_prime(h: Any) -> Any:
    s = ops.sigmoid(h)
    return s * (1.0 - s)


def _gelu_prime(h: Any) -> Any:
    # Exact (erf) GELU, Keras' default for activation="gelu".
    cdf = 0.5 * (1.0 + ops.erf(h / math.sqrt(2.0)))
    return cdf + h * ops.exp(-0.5 * h * h) / _SQRT_2PI


def _silu_prime(h: Any) -> Any:
    s = ops.sigmoid(h)
    return s * (1.0 + h * (1.0 - s))


def _selu_prime(h: Any) -> Any:
    alpha, scale = 1.6732632423543772, 1.0507009873554805
    return scale * ops.where(h > 0, ops.ones_like(h), alpha * ops.exp(h))


_DERIVATIVES: dict[str, Callable[[Any], Any]] = {
    "linear": ops.ones_like,
    "relu": lambda h: ops.cast(h > 0, h.dtype),
    "tanh": lambda h: 1.0 - ops.tanh(h) ** 2,
    "sigmoid": _sigmoid_prime,
    "gelu": _gelu_prime,
    "softplus": ops.sigmoid,
    "silu": _silu_prime,
    "elu": lambda h: ops.where(h > 0, ops.ones_like(h), ops.exp(h)),
    "selu": _selu_prime,
}


def activation_derivative(fn: Any) -> Callable[[Any], Any] | None:
    """The derivative of a Keras activation, or ``None`` if it is not known.

    Only Keras' own activation functions (compared by identity, so a lambda or
    a different GELU approximation is not mistaken for one) are recognised.

    Args:
        fn: The ``activation`` attribute of a Dense layer.

    Returns:
        A function ``h -> s'(h)`` in keras.ops, or ``None``.
    """
    for name, deriv in _DERIVATIVES.items():
        if fn is keras.activations.get(name):
            return deriv
    return None


def supported_activations() -> list[str]:
    """Names of the activations the structured NTK supports."""
    return list(_DERIVATIVES)
