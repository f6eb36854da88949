"""KARE training of any `TrainableKernel` by gradient descent."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Callable

import keras
import numpy as np

from kernelkit._validation import check_matrix, check_targets
from kernelkit.errors import NumericalError
from kernelkit import kare_value_and_grad


@dataclass
class KAREHistory:
    """What happened during `fit_kare`.

    Attributes:
        kare: KARE of each completed step, before that step's update.
        stopped_early: Whether training stopped before the last epoch.
        reason: Why it stopped early ("" if it did not).
        stopped_at: The step at which it stopped (or ``None``).
    """

    kare: list[float] = field(default_factory=list)
    stopped_early: bool = False
    reason: str = ""
    stopped_at: int | None = None


def _all_finite(value: Any, grads: list) -> bool:
    from kernelkit.testing import to_numpy

    if not np.isfinite(to_numpy(value)).all():
        return False
    return all(np.isfinite(to_numpy(g)).all() for g in grads)


def fit_kare(
    kernel: Any,
    X: Any,
    y: Any,
    *,
    z: float = 0.1,
    epochs: int = 100,
    learning_rate: float = 100.0,
    optimizer: str | keras.optimizers.Optimizer = "sgd",
    callback: Callable[[int, float], None] | None = None,
) -> KAREHistory:
    """Train a kernel's variables by full-batch gradient descent on KARE.

    Each step computes KARE(y, K(X, X), z) and its gradient and applies the
    optimiser. Divergence is never hidden: a non-finite KARE or gradient, or a
    failed factorisation, stops training at that step, restores the last
    finite weights, records why in the history and warns; the optimiser never
    sees a NaN.

    Args:
        kernel: Any `TrainableKernel` (its variables are updated in place).
        X: Training inputs ``(n, d)``.
        y: Targets ``(n,)`` or ``(n, c)``.
        z: Ridge of KARE (the paper uses 0.1).
        epochs: Number of full-batch steps.
        learning_rate: Step size (the paper: 100 for the synthetic task).
        optimizer: A Keras optimiser instance or name (``"sgd"``, ``"adam"``).
        callback: Called as ``callback(step, kare)`` after every step.

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
    check_matrix(X, "X")
    check_targets(y, np.shape(X)[0])
    if isinstance(optimizer, str):
        optimizer = keras.optimizers.get({"class_name": optimizer,
                                          "config": {"learning_rate": learning_rate}})
    if not kernel.built:
        kernel(np.asarray(X)[:1])
    variables = kernel.trainable_variables
    history = KAREHistory()
    last_good: list = []
    for step in range(int(epochs)):
        try:
            value, grads = kare_value_and_grad(kernel, X, y, z)
            finite = _all_finite(value, grads)
            reason = "" if finite else "non-finite KARE or gradient"
        except Exception as err:  # noqa: BLE001 - each backend fails differently
            # X and y were checked above, so a failure here comes from the
            # weights: a non-finite kernel matrix (InputError), a failed
            # Cholesky (NumericalError, or the backend's own error type).
            finite, reason = False, f"KARE failed: {type(err).__name__}: {err}"
        if not finite:
            if step == 0:
                raise NumericalError(
                    f"KARE cannot be computed at the initial weights ({reason}). Use a "
                    "larger z, float64, or check the kernel and the data."
                )
            for var, good in zip(variables, last_good):
                var.assign(good)
            history.stopped_early, history.reason, history.stopped_at = True, reason, step
            warnings.warn(f"KARE training stopped at step {step}: {reason}; the last "
                          "finite weights were restored.", RuntimeWarning, stacklevel=2)
            break
        history.kare.append(float(keras.ops.convert_to_numpy(value)))
        last_good = [np.array(keras.ops.convert_to_numpy(v.value)) for v in variables]
        optimizer.apply(grads, variables)
        if callback is not None:
            callback(step, history.kare[-1])
    return history
