"""The paper's multilayer perceptron."""

from __future__ import annotations

import math
from typing import Any

import keras
import numpy as np

from kernelkit._dtypes import resolve_dtype
from kernelkit.errors import InputError


def mlp(
    input_dim: int,
    depth: int = 1,
    width: int = 64,
    activation: str = "gelu",
    output_dim: int = 1,
    seed: int | None = None,
    use_bias: bool = True,
    dtype: Any = None,
) -> keras.Sequential:
    """Build the paper's MLP: ``depth`` hidden Dense layers and a linear output.

    Weights are drawn from ``U(-sqrt(6/n_in), sqrt(6/n_in))`` and biases from
    ``U(-1/sqrt(n_in), 1/sqrt(n_in))``, with ``n_in`` the layer's fan-in, by
    numpy (``np.random.default_rng(seed)``, layer by layer, weights then
    biases), in float64, then cast to ``dtype`` and assigned exactly. A seed is
    therefore the same network on every backend, bit for bit (Keras' own
    initialisers draw from each backend's random generator).

    Args:
        input_dim: Number of input features ``d``.
        depth: Number of hidden layers (the paper uses 1 to 4).
        width: Units in each hidden layer.
        activation: Keras activation name of the hidden layers.
        output_dim: Number of outputs (classes for classification).
        seed: Seed of the initial weights (``None``: fresh random weights).
        use_bias: Whether the layers have biases.
        dtype: Variable and compute dtype (default ``keras.config.floatx()``).

    Returns:
        A built ``keras.Sequential`` model mapping ``(n, d)`` to ``(n, output_dim)``.

    Example:
        >>> from kernelkit import mlp
        >>> model = mlp(10, depth=2, width=32, seed=0)
        >>> model.output_shape
        (None, 1)
    """
    for name, value in (("input_dim", input_dim), ("depth", depth), ("width", width),
                        ("output_dim", output_dim)):
        if int(value) != value or value < (0 if name == "depth" else 1):
            raise InputError(f"{name} must be a positive integer, got {value!r}.")
    dtype = resolve_dtype(dtype)
    sizes = [int(width)] * int(depth) + [int(output_dim)]
    layers: list[keras.layers.Layer] = [keras.Input(shape=(int(input_dim),), dtype=dtype)]
    for i, units in enumerate(sizes):
        last = i == len(sizes) - 1
        layers.append(keras.layers.Dense(
            units, activation=None if last else activation, use_bias=use_bias,
            kernel_initializer="zeros", bias_initializer="zeros", dtype=dtype,
            name=f"dense_{i}" if not last else "output"))
    model = keras.Sequential(layers, name=f"mlp_d{depth}_w{width}")
    model.set_weights(initial_weights(int(input_dim), sizes, use_bias, seed, dtype))
    return model


def initial_weights(input_dim: int, sizes: list[int], use_bias: bool, seed: int | None,
                    dtype: str) -> list[np.ndarray]:
    """The paper's initial MLP weights, drawn by numpy (the same on every backend).

    Args:
        input_dim: Number of input features.
        sizes: Units of each Dense layer, the output layer last.
        use_bias: Whether the layers have biases.
        seed: Seed of ``np.random.default_rng`` (``None``: fresh entropy).
        dtype: The dtype of the returned arrays (drawn in float64, then cast).

    Returns:
        ``[W_0, b_0, W_1, b_1, ...]`` (no ``b_i`` without biases), in the order
        of ``model.set_weights``.

    Example:
        >>> [w.shape for w in initial_weights(3, [4, 1], True, seed=0, dtype="float32")]
        [(3, 4), (4,), (4, 1), (1,)]
    """
    rng = np.random.default_rng(seed)
    out, fan_in = [], input_dim
    for units in sizes:
        w, b = math.sqrt(6.0 / fan_in), 1.0 / math.sqrt(fan_in)
        out.append(rng.uniform(-w, w, size=(fan_in, units)).astype(dtype))
        if use_bias:
            out.append(rng.uniform(-b, b, size=(units,)).astype(dtype))
        fan_in = units
    return out


def forward(model: keras.Model, x: Any) -> Any:
    """The output of ``model`` at ``x``, exact in float64 for a Dense MLP.

    For a ``keras.Sequential`` of Dense layers (as built by `mlp`) the layers
    are evaluated with ``einsum`` and kernelkit's exact activations: Keras
    3.15 on torch runs float64 Dense matmuls in float32 (keras issue 23704),
    which makes ``model(x)`` float32-accurate and batch-dependent there.
    Other models are simply called.

    Args:
        model: A built Keras model.
        x: Inputs ``(n, d)`` in the model's dtype.

    Returns:
        The model's output ``(n, k)`` as a backend tensor.

    Example:
        >>> import numpy as np
        >>> from kernelkit.network import forward, mlp
        >>> tuple(forward(mlp(3, width=4, seed=0), np.ones((2, 3), "float32")).shape)
        (2, 1)
    """
    from keras import ops

    from kernelkit.kernels._activations import lookup_activation
    from kernelkit.kernels._ntk_structured import structured_reason

    dtype = model.trainable_variables[0].dtype
    x = ops.cast(ops.convert_to_tensor(x), dtype)
    if structured_reason(model) is not None:
        return model(x)
    a = x
    for layer in model.layers:
        h = ops.einsum("nd,dw->nw", a, layer.kernel)
        if layer.use_bias:
            h = h + layer.bias
        a = lookup_activation(layer.activation).value(h)
    return a
