"""The paper's multilayer perceptron: built (`mlp`), evaluated (`forward`), trained (`fit_network`).

The model itself, backend-agnostic (keras.ops; the per-backend loop is
`kernelkit.backends.scan`). The scikit-learn estimators built on it, the
paper's "DNN" and "after-NTK" baselines, are in
`kernelkit.estimators.mlp_baselines`.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Callable

import keras
import numpy as np

from kernelkit._dtypes import resolve_dtype  # kernelkit's own dtype rules (internal module)
from kernelkit._validation import check_matrix, check_targets
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
        >>> from kernelkit.paper_mlp import forward, mlp
        >>> tuple(forward(mlp(3, width=4, seed=0), np.ones((2, 3), "float32")).shape)
        (2, 1)
    """
    from keras import ops

    from kernelkit.kernels._ntk_structured import structured_reason

    dtype = model.trainable_variables[0].dtype
    x = ops.cast(ops.convert_to_tensor(x), dtype)
    if structured_reason(model) is not None:
        return model(x)
    return _apply(model, [v.value for v in model.trainable_variables], x)


def _apply(model: keras.Model, params: list, x: Any) -> Any:
    """``model(x)`` with the trainable values ``params`` (a pure function of them).

    A Dense MLP is evaluated layer by layer with ``einsum`` and kernelkit's
    exact activations (see `forward`); any other model by ``stateless_call``.
    """
    from keras import ops

    from kernelkit.kernels._activations import lookup_activation
    from kernelkit.kernels._ntk_structured import structured_reason

    if structured_reason(model) is not None:
        fixed = [v.value for v in model.non_trainable_variables]
        return model.stateless_call(params, fixed, x)[0]
    a, values = x, iter(params)
    for layer in model.layers:
        h = ops.einsum("nd,dw->nw", a, next(values))
        if layer.use_bias:
            h = h + next(values)
        a = lookup_activation(layer.activation).value(h)
    return a


# ------------------------------------------------------------------- training
#: Most batch indices one compiled call holds (bounds the index table's memory).
_CHUNK_INDICES = 1 << 21
#: Most steps one compiled call runs (a divergence is seen after at most this many).
_CHUNK_STEPS = 2000


def _loss_fn(model: keras.Model, loss: str) -> Callable[..., Any]:
    """``loss(params, x, y, w)``: the ``w``-weighted mean loss of a batch."""
    from keras import ops

    def mse(params: list, x: Any, y: Any, w: Any) -> Any:
        per_example = ops.mean((_apply(model, params, x) - y) ** 2, axis=-1)
        return ops.sum(w * per_example) / ops.sum(w)

    def cross_entropy(params: list, x: Any, y: Any, w: Any) -> Any:
        logp = ops.log_softmax(_apply(model, params, x), axis=-1)
        return ops.sum(w * -ops.sum(y * logp, axis=-1)) / ops.sum(w)

    return {"mse": mse, "cross_entropy": cross_entropy}[loss]


class _Trainer:
    """Many optimiser steps per compiled call (`kernelkit.backends.scan` inside
    `kernelkit.backends.compile_function`), the weights kept on device between calls.

    Each step is the backend's own optimiser step (`kernelkit.backends._steps`:
    pure on JAX and PyTorch, in place with a rollback on TensorFlow), the one
    KARE training uses. A step whose loss, gradient or updated weights are not
    finite changes nothing and stops every later step (its ``alive`` gate,
    selected on device), so training ends at the last finite weights; its loss
    is recorded, the later ones are NaN.
    """

    def __init__(self, model: keras.Model, loss: str, optimizer: keras.optimizers.Optimizer,
                 X: Any, Y: Any, full_batch: bool) -> None:
        from keras import ops

        from kernelkit import backends
        from kernelkit._kare_step import _COMPILED_STEPS, _remember, _structure_key

        self.full_batch = full_batch
        dtype = model.trainable_variables[0].dtype
        self.X = ops.cast(ops.convert_to_tensor(X), dtype)
        self.Y = ops.cast(ops.convert_to_tensor(Y), dtype)
        self.steps = backends.optimizer_steps(optimizer, model.trainable_variables)
        self.alive = ops.convert_to_tensor(True)
        loss_of = _loss_fn(model, loss)
        step = self.steps.build(
            lambda params, x, y, w: backends.value_and_grad(loss_of, params, x, y, w))
        pure = self.steps.pure

        def scan_step(carry: list, b: list, X: Any, Y: Any) -> tuple:
            batch = self._batch(b, X, Y)
            if pure:
                params, state, alive = carry
                value, ok, params, state = step(params, state, *batch, alive=alive)
                carry = [params, state, ok]
            else:
                (alive,) = carry
                value, ok = step(*batch, alive=alive)
                carry = [ok]
            return carry, ops.where(alive, value, float("nan"))

        # Pure steps that compile (JAX) are shared by fits of the same structure
        # (architecture, optimiser configuration, loss, batching), as KARE's are.
        key = _structure_key(model, optimizer, 0.0, f"network/{loss}/full={full_batch}") \
            if pure and backends.prefers_compiled_calls() else None
        self._chunk = _COMPILED_STEPS.get(key) if key is not None else None
        if self._chunk is None:
            self._chunk = backends.compile_function(
                lambda carry, idx, w, X, Y: backends.scan(
                    lambda c, b: scan_step(c, b, X, Y), carry, [idx, w]))
            if key is not None:
                _remember(key, self._chunk)

    def _batch(self, b: list, X: Any, Y: Any) -> tuple:
        from keras import ops

        if self.full_batch:
            return X, Y, ops.ones((X.shape[0],), dtype=X.dtype)
        idx, w = b
        return ops.take(X, idx, axis=0), ops.take(Y, idx, axis=0), ops.cast(w, X.dtype)

    def run(self, idx: np.ndarray, w: np.ndarray) -> np.ndarray:
        """Run one step per row of ``idx``/``w`` (batch indices, weights); their losses."""
        from keras import ops

        from kernelkit import backends

        steps = self.steps
        carry = [steps.params, steps.opt_state, self.alive] if steps.pure else [self.alive]
        carry, losses = self._chunk(carry, ops.convert_to_tensor(idx), ops.convert_to_tensor(w),
                                    self.X, self.Y)
        if steps.pure:
            params, state, self.alive = carry
            steps.adopt((list(params), list(state)))
        else:
            (self.alive,) = carry
        return np.asarray(backends.to_numpy(losses), dtype=np.float64)

    def commit(self) -> None:
        """Write the trained values into the model's and the optimiser's variables."""
        self.steps.commit()


def _epoch_batches(n: int, batch_size: int | None, epochs: int,
                   rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, int]:
    """Index and weight tables ``(epochs * steps, width)``; steps per epoch.

    The order is that of `kernelkit.training._batches` (a fresh permutation
    from ``rng`` each epoch; a last batch of fewer than 2 points dropped); a
    shorter last batch is padded with weight 0, so every row has one width.
    """
    from kernelkit.training import _batches

    per_epoch = [_batches(n, batch_size, True, rng) for _ in range(epochs)]
    steps, width = len(per_epoch[0]), max(len(b) for b in per_epoch[0])
    idx = np.zeros((epochs * steps, width), dtype=np.int32)
    w = np.zeros((epochs * steps, width), dtype=np.float32)
    for e, batches in enumerate(per_epoch):
        for s, batch in enumerate(batches):
            idx[e * steps + s, :len(batch)] = batch
            w[e * steps + s, :len(batch)] = 1.0
    return idx, w, steps


def fit_network(
    model: keras.Model,
    X: Any,
    Y: Any,
    *,
    loss: str = "mse",
    epochs: int = 100,
    learning_rate: float = 1e-3,
    optimizer: str | keras.optimizers.Optimizer = "adam",
    batch_size: int | None = 32,
    seed: int | None = 0,
) -> list[float]:
    """Train a Keras model on its training loss (the paper's "DNN" baseline), compiled.

    Many steps run in one compiled call (`kernelkit.backends.scan` inside
    `kernelkit.backends.compile_function`: one XLA loop on JAX, one
    ``tf.while_loop`` on TensorFlow; PyTorch runs its steps eagerly without
    Keras' per-batch overhead), with the weights and the optimiser state kept
    on device between calls, so the paper's 10,000 full-batch epochs are a
    few calls. Batches are drawn from ``seed`` with numpy (no global random
    state is touched), a fresh permutation every epoch; a last batch of fewer
    than 2 points is dropped. The loss of each step is taken before its
    update; an epoch's loss is the mean over its batches. A non-finite loss,
    gradient or update stops training at the last finite weights, with a
    warning; the returned curve then ends with that epoch's non-finite loss.

    The paper trains it by full-batch gradient descent at learning rate 0.1
    for 10,000 epochs (synthetic task, MNIST, Higgs; ``optimizer="sgd"``,
    ``batch_size=None``) and on UCI for 400 epochs in batches of 32.

    Args:
        model: A built Keras model (trained in place).
        X: Inputs ``(n, d)``.
        Y: Targets: ``(n,)``/``(n, c)`` values for ``loss="mse"``, one-hot
            ``(n, c)`` for ``loss="cross_entropy"`` (softmax of the outputs).
        loss: ``"mse"`` or ``"cross_entropy"``.
        epochs: Passes over the data.
        learning_rate: Step size of the optimiser.
        optimizer: A Keras optimiser instance or name (``"sgd"``, ``"adam"``).
        batch_size: Points per batch (``None``: full batch).
        seed: Seed of the batch order.

    Returns:
        The mean training loss of each epoch.

    Raises:
        InputError: Bad inputs, loss or batch size.

    Example:
        >>> import numpy as np
        >>> from kernelkit import mlp
        >>> from kernelkit.paper_mlp import fit_network
        >>> X = np.random.rand(40, 2).astype("float32"); y = X.sum(1, keepdims=True)
        >>> losses = fit_network(mlp(2, width=8, seed=0), X, y, epochs=2)
        >>> len(losses)
        2
    """
    from kernelkit.training import _resolve_optimizer

    X = np.asarray(check_matrix(X, "X"))
    Y = np.asarray(check_targets(Y, np.shape(X)[0]))
    if loss not in ("mse", "cross_entropy"):
        raise InputError(f"loss must be 'mse' or 'cross_entropy', got {loss!r}.")
    if batch_size is not None and int(batch_size) < 1:
        raise InputError(f"batch_size must be a positive integer or None, got {batch_size!r}.")
    if int(epochs) <= 0:
        return []
    Y = Y[:, None] if Y.ndim == 1 else Y
    n = len(X)
    full = batch_size is None or int(batch_size) >= n
    trainer = _Trainer(model, loss, _resolve_optimizer(optimizer, learning_rate), X, Y, full)
    rng = np.random.default_rng(seed)
    steps = 1 if full else len(_batch_sizes(n, int(batch_size)))
    width = n if full else int(batch_size)
    chunk = max(1, min(int(epochs), _CHUNK_STEPS // steps or 1,
                       _CHUNK_INDICES // (steps * width) or 1))
    history: list[float] = []
    done = 0
    while done < int(epochs):
        count = min(chunk, int(epochs) - done)
        if full:  # no index table: every step takes the whole training set
            idx = w = np.zeros((count, 1), dtype=np.int32)
        else:
            idx, w, _ = _epoch_batches(n, int(batch_size), count, rng)
        losses = trainer.run(idx, w).reshape(count, steps).mean(axis=1)
        done += count
        bad = np.flatnonzero(~np.isfinite(losses))
        if bad.size:
            history += [float(v) for v in losses[:bad[0] + 1]]
            warnings.warn(f"network training diverged (non-finite loss) in epoch "
                          f"{len(history) - 1}; stopped at the last finite weights.",
                          RuntimeWarning, stacklevel=2)
            break
        history += [float(v) for v in losses]
    trainer.commit()
    return history


def _batch_sizes(n: int, batch_size: int) -> list[int]:
    """Sizes of one epoch's batches (those `kernelkit.training._batches` keeps)."""
    sizes = [min(batch_size, n - i) for i in range(0, n, batch_size)]
    return [s for s in sizes if s >= 2]
