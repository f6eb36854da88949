"""The paper's multilayer perceptron."""

from __future__ import annotations

import math
from typing import Any

import keras

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
    ``U(-1/sqrt(n_in), 1/sqrt(n_in))``, with ``n_in`` the layer's fan-in.

    Args:
        input_dim: Number of input features ``d``.
        depth: Number of hidden layers (the paper uses 1 to 4).
        width: Units in each hidden layer.
        activation: Keras activation name of the hidden layers.
        output_dim: Number of outputs (classes for classification).
        seed: Seed for the initial weights (``None``: random).
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
    seed_gen = None if seed is None else int(seed)
    layers: list[keras.layers.Layer] = [keras.Input(shape=(int(input_dim),), dtype=dtype)]
    fan_in = int(input_dim)
    sizes = [int(width)] * int(depth) + [int(output_dim)]
    for i, units in enumerate(sizes):
        last = i == len(sizes) - 1
        w = math.sqrt(6.0 / fan_in)
        b = 1.0 / math.sqrt(fan_in)
        layer_seed = None if seed_gen is None else seed_gen * 1000 + 2 * i
        layers.append(
            keras.layers.Dense(
                units,
                activation=None if last else activation,
                use_bias=use_bias,
                kernel_initializer=keras.initializers.RandomUniform(-w, w, seed=layer_seed),
                bias_initializer=keras.initializers.RandomUniform(
                    -b, b, seed=None if layer_seed is None else layer_seed + 1
                ),
                dtype=dtype,
                name=f"dense_{i}" if not last else "output",
            )
        )
        fan_in = units
    return keras.Sequential(layers, name=f"mlp_d{depth}_w{width}")


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
