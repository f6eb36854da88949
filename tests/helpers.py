"""Helpers shared by the tests: numpy float64 oracles and error measures."""

from __future__ import annotations

import keras
import numpy as np
from scipy.special import erf

from kernelkit.testing import to_numpy

BACKEND = keras.backend.backend()

#: Keras 3.15 on torch computes float64 Dense layers through a float32 matmul
#: (keras issue 23704): anything that runs the model's own forward pass (the
#: "jacobian" NTK) is only float32-accurate there. Measured: ~1e-7 relative.
TORCH_F64_MATMUL_BUG = BACKEND == "torch"


def jacobian_f64_tolerance(activation: str) -> float:
    """Tolerance of float64 checks on the "jacobian" NTK, which runs the model's
    own Keras forward pass; upstream Keras 3.15.1 limits it on some backends:

    - torch: float64 Dense matmul runs in float32 (keras issue 23704): float32
      accuracy, ~1e-7 and up to 1.2e-6 for a depth-4 SELU MLP (measured), so
      held to the float32 tolerance 1e-5, as in tests/cross_backend;
    - JAX: ``ops.tanh`` returns float32 for float64 input: ~1e-7;
    - TensorFlow: ``tf.nn.gelu`` is accurate to ~2e-9 in float64, which
      grows to 1.5e-8 in the NTK of a depth-4 MLP (measured).

    The "structured" NTK avoids all three and is held to 1e-10 everywhere.
    """
    if BACKEND == "torch":
        return 1e-5
    if BACKEND == "jax" and activation == "tanh":
        return 1e-6
    if BACKEND == "tensorflow" and activation == "gelu":
        return 1e-7
    return 1e-10


def rel_err(a, b) -> float:
    """``max |a - b| / max |b|`` in float64."""
    a = np.asarray(to_numpy(a), dtype=np.float64)
    b = np.asarray(to_numpy(b), dtype=np.float64)
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-300))


ACTIVATIONS = {
    "linear": lambda h: h,
    "relu": lambda h: np.maximum(h, 0.0),
    "tanh": np.tanh,
    "sigmoid": lambda h: 1.0 / (1.0 + np.exp(-h)),
    "gelu": lambda h: 0.5 * h * (1.0 + erf(h / np.sqrt(2.0))),
    "softplus": lambda h: np.log1p(np.exp(h)),
    "silu": lambda h: h / (1.0 + np.exp(-h)),
    "elu": lambda h: np.where(h > 0, h, np.expm1(np.minimum(h, 0.0))),
}


def mlp_weights(model) -> list[tuple[np.ndarray, np.ndarray | None]]:
    """(W, b) per Dense layer in float64 (b is None without bias)."""
    out = []
    for layer in model.layers:
        W = to_numpy(layer.kernel).astype(np.float64)
        b = to_numpy(layer.bias).astype(np.float64) if layer.use_bias else None
        out.append((W, b))
    return out


def numpy_mlp(weights, activation: str, x: np.ndarray) -> np.ndarray:
    """Forward pass of a Dense MLP in float64 numpy (linear last layer)."""
    s = ACTIVATIONS[activation]
    a = x
    for i, (W, b) in enumerate(weights):
        h = a @ W + (0.0 if b is None else b)
        a = h if i == len(weights) - 1 else s(h)
    return a


def numpy_fd_jacobian(weights, activation: str, x: np.ndarray, eps: float = 1e-6):
    """Per-example Jacobian ``(n, k, P)`` by central differences in float64."""
    flat = [p for Wb in weights for p in Wb if p is not None]
    cols = []
    for p in flat:
        for idx in np.ndindex(p.shape):
            old = p[idx]
            p[idx] = old + eps
            up = numpy_mlp(weights, activation, x)
            p[idx] = old - eps
            down = numpy_mlp(weights, activation, x)
            p[idx] = old
            cols.append((up - down) / (2 * eps))
    return np.stack(cols, axis=-1)


def numpy_kare(K: np.ndarray, Y: np.ndarray, z: float) -> float:
    """KARE from its formula with an explicit inverse (an oracle only)."""
    n = K.shape[0]
    Y = Y.reshape(n, -1)
    Ainv = np.linalg.inv(K / n + z * np.eye(n))
    num = np.mean(np.sum((Ainv @ Y) ** 2, axis=0)) / n
    return float(num / (np.trace(Ainv) / n) ** 2)
