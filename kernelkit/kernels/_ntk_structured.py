"""Closed-form empirical NTK of a Dense MLP, written once in keras.ops.

For ``h_l = a_{l-1} W_l + b_l`` and ``a_l = s(h_l)``::

    K = (1/k) sum_outputs sum_l (G_l G_l^T) * (A_{l-1} A_{l-1}^T + 1)

with ``A_l`` the layer inputs and ``G_l`` the backpropagated signals of each
example (``g_L = e_j`` for output ``j``, ``g_l = (g_{l+1} W_{l+1}^T) * s'(h_l)``);
the ``+ 1`` is the bias term and is left out for layers without bias. Cost
``O(n^2 k sum(widths))``, no per-example Jacobian. All products use
``einsum`` (Keras' torch ``matmul`` drops float64 to float32).
"""

from __future__ import annotations

import math
from typing import Any

import keras
from keras import ops

from kernelkit.kernels._activations import lookup_activation


def structured_reason(model: Any) -> str | None:
    """Why the structured NTK does not apply to ``model``, or ``None`` if it does."""
    if type(model) is not keras.Sequential:  # a subclass may change call()
        return f"the model is a {type(model).__name__}, not a keras.Sequential of Dense layers"
    layers = model.layers
    if not layers:
        return "the model has no layers"
    for layer in layers:
        if type(layer) is not keras.layers.Dense:
            return f"layer {layer.name!r} is a {type(layer).__name__}, not a Dense layer"
        if getattr(layer, "lora_enabled", False) or getattr(layer, "quantization_mode", None):
            return f"layer {layer.name!r} uses LoRA or quantisation"
        if not layer.trainable:
            return f"layer {layer.name!r} is frozen (trainable=False)"
        if lookup_activation(layer.activation) is None:
            return (
                f"layer {layer.name!r} has an activation the structured NTK does not "
                "know (use a Keras activation by name, e.g. 'gelu' or 'relu')"
            )
    return None


def _forward(layers: list, x: Any) -> tuple[list, list, Any]:
    """Layer inputs ``A_{l-1}`` and activation derivatives ``s'(h_l)``."""
    inputs, slopes = [], []
    a = x
    for layer in layers:
        inputs.append(a)
        h = ops.einsum("nd,dw->nw", a, layer.kernel)
        if layer.use_bias:
            h = h + layer.bias
        act = lookup_activation(layer.activation)
        slopes.append(act.derivative(h))
        a = act.value(h)
    return inputs, slopes, a


def _signals(layers: list, slopes: list) -> list:
    """Backpropagated signals ``G_l`` of shape ``(n, k, width_l)``, last layer first."""
    k = int(layers[-1].units)
    n = slopes[0].shape[0]
    eye = ops.eye(k, dtype=slopes[0].dtype)
    g = ops.broadcast_to(eye[None, :, :], (n, k, k)) * slopes[-1][:, None, :]
    out = [g]
    for l in range(len(layers) - 2, -1, -1):
        g = ops.einsum("nkj,ij->nki", g, layers[l + 1].kernel) * slopes[l][:, None, :]
        out.append(g)
    return out[::-1]


def structured_ntk(layers: list, x1: Any, x2: Any | None) -> Any:
    """Empirical NTK Gram matrix of a Dense MLP, averaged over outputs."""
    k = float(layers[-1].units)
    in1, sl1, _ = _forward(layers, x1)
    g1 = _signals(layers, sl1)
    if x2 is None:
        in2, g2 = in1, g1
    else:
        in2, sl2, _ = _forward(layers, x2)
        g2 = _signals(layers, sl2)
    total = None
    for layer, a1, a2, s1, s2 in zip(layers, in1, in2, g1, g2):
        feat = ops.einsum("ad,bd->ab", a1, a2)
        if layer.use_bias:
            feat = feat + 1.0
        term = ops.einsum("akw,bkw->ab", s1, s2) * feat
        total = term if total is None else total + term
    return total / k


def structured_ntk_diag(layers: list, x: Any) -> Any:
    """Diagonal of `structured_ntk` in ``O(n k sum(widths))``."""
    k = float(layers[-1].units)
    inputs, slopes, _ = _forward(layers, x)
    total = None
    for layer, a, g in zip(layers, inputs, _signals(layers, slopes)):
        feat = ops.sum(a * a, axis=1)
        if layer.use_bias:
            feat = feat + 1.0
        term = ops.sum(g * g, axis=(1, 2)) * feat
        total = term if total is None else total + term
    return total / k


def _is_linear(layer: Any) -> bool:
    return layer.activation is keras.activations.get("linear")


def structured_feature_count(layers: list, d: int) -> int:
    """Columns of `structured_ntk_features` for inputs with ``d`` features."""
    k = int(layers[-1].units)
    collapse = _is_linear(layers[-1])
    total, fan_in = 0, int(d)
    for index, layer in enumerate(layers):
        per_output = (fan_in + int(layer.use_bias)) * int(layer.units)
        if index == len(layers) - 1:
            per_output = fan_in + int(layer.use_bias)
            total += per_output if collapse else k * per_output
        elif index == len(layers) - 2 and collapse:
            total += per_output
        else:
            total += k * per_output
        fan_in = int(layer.units)
    return total


def structured_ntk_feature_factors(layers: list, x: Any) -> list[tuple[Any, Any]]:
    """`structured_ntk_features` as factor pairs ``(a, g)``, without forming ``Phi``.

    ``Phi`` is the concatenation, over the pairs, of the per-example outer
    products ``reshape(einsum("nd,nkw->nkdw", a, g), (n, -1))``: ``a`` of
    shape ``(n, d)`` (a layer's input, or ones for a bias), ``g`` of shape
    ``(n, k, w)`` (its backpropagated signals). Products with ``Phi`` and
    ``Phi^T`` can then be taken factor by factor
    (`kernelkit.solvers.matvec.factored_transpose`), in ``O(n P)`` with no
    ``n x P`` array.

    Per Dense layer, the per-example weight gradients ``a_{l-1,i} g_{l,i}^T``
    and bias gradients ``g_{l,i}`` of every output, scaled by ``1/sqrt(k)``
    (the output-averaged NTK). No autodiff: the forward pass and the
    backpropagated signals give every column.

    With a linear output layer two blocks collapse exactly, so ``P`` does not
    grow with the number of outputs ``k`` there: the output layer's gradients
    are ``a_L e_j^T`` for output ``j`` (their average over outputs is
    ``a_L . a_L'``: features ``[a_L, 1]``), and the last hidden layer's signals
    ``W_L[u, j] s'_u`` enter only through ``sum_j W_L[u, j]^2 / k`` (features
    ``a_{L-1} (c * s')^T`` with ``c_u = ||W_L[u, :]|| / sqrt(k)``). A depth-1
    MLP has ``(d + 1) w + w + 1`` features for any ``k``.
    """
    k = int(layers[-1].units)
    inputs, slopes, _ = _forward(layers, x)
    n = x.shape[0]
    collapse = _is_linear(layers[-1])
    signals = _signals(layers, slopes)
    ones = ops.ones((n, 1), dtype=x.dtype)
    factors = []
    for index, (layer, a, g) in enumerate(zip(layers, inputs, signals)):
        if collapse and index == len(layers) - 1:  # the output layer: [a_L, 1]
            unit = ones[:, :, None]
            factors.append((a, unit))
            if layer.use_bias:
                factors.append((ones, unit))
            continue
        if collapse and index == len(layers) - 2:  # the last hidden layer: one signal
            w = layers[-1].kernel
            ss = ops.sum(w * w, axis=1) / k
            positive = ss > 0
            c = ops.where(positive, ops.sqrt(ops.where(positive, ss, ops.ones_like(ss))),
                          ops.zeros_like(ss))
            g = (c[None, :] * slopes[index])[:, None, :]
        else:
            g = g / math.sqrt(k)
        factors.append((a, g))
        if layer.use_bias:
            factors.append((ones, g))
    return factors


def structured_ntk_features(layers: list, x: Any) -> Any:
    """The NTK's feature map: ``Phi`` with ``Phi Phi^T`` = `structured_ntk`.

    The outer products of `structured_ntk_feature_factors`, side by side.
    """
    n = x.shape[0]
    blocks = [ops.reshape(ops.einsum("nd,nkw->nkdw", a, g), (n, -1))
              for a, g in structured_ntk_feature_factors(layers, x)]
    return ops.concatenate(blocks, axis=-1) if len(blocks) > 1 else blocks[0]
