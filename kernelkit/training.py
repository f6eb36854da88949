"""KARE training of any `TrainableKernel` by gradient descent."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Callable

import keras
import numpy as np

from kernelkit._validation import check_matrix, check_targets
from kernelkit.errors import InputError, NumericalError
from kernelkit.risk import kare_value_and_grad


@dataclass
class KAREHistory:
    """What happened during `fit_kare`.

    Attributes:
        kare: Mean KARE over the batches of each completed epoch, each batch's
            value taken before that batch's update (full batch: one value).
        step_kare: KARE of every completed step (batch).
        stopped_early: Whether training stopped before the last epoch.
        reason: Why it stopped early ("" if it did not).
        stopped_at: The step (counted over all epochs) at which it stopped.
    """

    kare: list[float] = field(default_factory=list)
    step_kare: list[float] = field(default_factory=list)
    stopped_early: bool = False
    reason: str = ""
    stopped_at: int | None = None


def _all_finite(value: Any, grads: list) -> bool:
    from kernelkit.testing import to_numpy

    if not np.isfinite(to_numpy(value)).all():
        return False
    return all(np.isfinite(to_numpy(g)).all() for g in grads)


def _batches(n: int, batch_size: int | None, shuffle: bool, rng: np.random.Generator) -> list:
    """Index arrays of one epoch; a last batch of fewer than 2 points is dropped."""
    if batch_size is None or batch_size >= n:
        return [np.arange(n)]
    order = rng.permutation(n) if shuffle else np.arange(n)
    batches = [order[i:i + batch_size] for i in range(0, n, batch_size)]
    return [b for b in batches if len(b) >= 2]


def fit_kare(
    kernel: Any,
    X: Any,
    y: Any,
    *,
    z: float = 0.1,
    epochs: int = 100,
    learning_rate: float = 100.0,
    optimizer: str | keras.optimizers.Optimizer = "sgd",
    batch_size: int | None = None,
    shuffle: bool = True,
    seed: int | None = 0,
    callback: Callable[[int, float], None] | None = None,
) -> KAREHistory:
    """Train a kernel's variables by gradient descent on KARE.

    Each step computes KARE(y_B, K(X_B, X_B), z) on a batch B and its gradient
    and applies the optimiser. Full batch by default; with ``batch_size`` the
    data are cut into mini-batches (the paper uses 32 for data sets of 5,000
    points or more), reshuffled every epoch from ``seed``, or fixed and in
    order with ``shuffle=False``. Divergence is never hidden: a non-finite
    KARE or gradient, or a failed factorisation, stops training at that step,
    restores the last finite weights, records why in the history and warns;
    the optimiser never sees a NaN.

    Args:
        kernel: Any `TrainableKernel` (its variables are updated in place).
        X: Training inputs ``(n, d)``.
        y: Targets ``(n,)`` or ``(n, c)``.
        z: Ridge of KARE (the paper uses 0.1).
        epochs: Number of passes over the data.
        learning_rate: Step size (the paper: 100 for the synthetic task).
        optimizer: A Keras optimiser instance or name (``"sgd"``, ``"adam"``).
        batch_size: Points per batch (``None``: full batch).
        shuffle: Reshuffle the batches every epoch.
        seed: Seed of the shuffling.
        callback: Called as ``callback(epoch, kare)`` after every epoch.

    Returns:
        The `KAREHistory`.

    Raises:
        NumericalError: If KARE cannot be computed at the initial weights.

    Example:
        >>> import numpy as np
        >>> from kernelkit import GaussianKernel
        >>> from kernelkit.training import fit_kare
        >>> X = np.random.rand(30, 2); y = np.sin(3 * X[:, 0])
        >>> history = fit_kare(GaussianKernel(1.0), X, y, epochs=5, learning_rate=0.1)
        >>> len(history.kare)
        5
    """
    X = check_matrix(X, "X")
    y = check_targets(y, np.shape(X)[0])
    if batch_size is not None and int(batch_size) < 2:
        raise InputError(f"batch_size must be at least 2 (KARE needs 2 points), got {batch_size}.")
    if isinstance(optimizer, str):
        optimizer = keras.optimizers.get({"class_name": optimizer,
                                          "config": {"learning_rate": learning_rate}})
    X, y = np.asarray(X), np.asarray(y)
    if not kernel.built:
        kernel(X[:1])
    variables = kernel.trainable_variables
    rng = np.random.default_rng(seed)
    history = KAREHistory()
    last_good: list = []
    step = 0
    for epoch in range(int(epochs)):
        values = []
        for batch in _batches(len(X), batch_size, shuffle, rng):
            reason, value, grads, error = _step(kernel, X[batch], y[batch], z)
            if reason:
                if not history.step_kare:
                    raise NumericalError(
                        f"KARE cannot be computed at the initial weights ({reason}). Use a "
                        "larger z, float64, or check the kernel and the data."
                    ) from error
                for var, good in zip(variables, last_good):
                    var.assign(good)
                history.stopped_early, history.reason, history.stopped_at = True, reason, step
                warnings.warn(f"KARE training stopped at step {step} (epoch {epoch}): "
                              f"{reason}; the last finite weights were restored.",
                              RuntimeWarning, stacklevel=2)
                return history
            values.append(value)
            history.step_kare.append(value)
            step += 1
            last_good = [np.array(keras.ops.convert_to_numpy(v.value)) for v in variables]
            optimizer.apply(grads, variables)
        history.kare.append(float(np.mean(values)))
        if callback is not None:
            callback(epoch, history.kare[-1])
    return history


def _step(kernel: Any, Xb: np.ndarray, yb: np.ndarray, z: float) -> tuple:
    """KARE and its gradient on one batch.

    Returns ``(failure reason or "", value, grads, exception or None)``.
    """
    try:
        value, grads = kare_value_and_grad(kernel, Xb, yb, z)
    except Exception as err:  # noqa: BLE001 - each backend fails differently
        # X and y were checked, so a failure here comes from the weights: a
        # non-finite kernel matrix (InputError) or a failed Cholesky
        # (NumericalError, or the backend's own error type).
        return f"KARE failed: {type(err).__name__}: {err}", float("nan"), [], err
    if not _all_finite(value, grads):
        return "non-finite KARE or gradient", float("nan"), [], None
    return "", float(keras.ops.convert_to_numpy(value)), grads, None


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
    """Train a Keras model on its training loss (the paper's "DNN" baseline).

    Batches are drawn from ``seed`` with numpy (no global random state is
    touched), so the same seed and initial weights give the same network.

    Args:
        model: A built Keras model (trained in place).
        X: Inputs ``(n, d)``.
        Y: Targets: ``(n,)``/``(n, c)`` values for ``loss="mse"``, one-hot
            ``(n, c)`` for ``loss="cross_entropy"`` (softmax of the outputs).
        loss: ``"mse"`` or ``"cross_entropy"``.
        epochs: Passes over the data.
        learning_rate: Step size of the optimiser.
        optimizer: A Keras optimiser instance or name.
        batch_size: Points per batch (``None``: full batch).
        seed: Seed of the batch order.

    Returns:
        The mean training loss of each epoch.

    Example:
        >>> import numpy as np
        >>> from kernelkit import mlp
        >>> from kernelkit.training import fit_network
        >>> X = np.random.rand(40, 2).astype("float32"); y = X.sum(1, keepdims=True)
        >>> losses = fit_network(mlp(2, width=8, seed=0), X, y, epochs=2)
        >>> len(losses)
        2
    """
    X = check_matrix(X, "X")
    Y = check_targets(Y, np.shape(X)[0])
    losses = {"mse": keras.losses.MeanSquaredError(),
              "cross_entropy": keras.losses.CategoricalCrossentropy(from_logits=True)}
    if loss not in losses:
        raise InputError(f"loss must be 'mse' or 'cross_entropy', got {loss!r}.")
    if isinstance(optimizer, str):
        optimizer = keras.optimizers.get({"class_name": optimizer,
                                          "config": {"learning_rate": learning_rate}})
    model.compile(optimizer=optimizer, loss=losses[loss])
    X, Y = np.asarray(X), np.asarray(Y)
    Y = Y[:, None] if Y.ndim == 1 else Y
    rng = np.random.default_rng(seed)
    history = []
    for _ in range(int(epochs)):
        values = [float(keras.ops.convert_to_numpy(model.train_on_batch(X[b], Y[b])))
                  for b in _batches(len(X), batch_size, True, rng)]
        history.append(float(np.mean(values)))
        if not np.isfinite(history[-1]):
            warnings.warn("network training diverged (non-finite loss); stopping.",
                          RuntimeWarning, stacklevel=2)
            break
    return history
