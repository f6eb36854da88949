"""KARE training of any `TrainableKernel` by gradient descent."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Callable

import keras
import numpy as np

from kernelkit._dtypes import conform
from kernelkit._validation import check_matrix, check_positive, check_targets
from kernelkit.errors import InputError, NumericalError
from kernelkit._kare_step import KAREStepper
from kernelkit.risk import DEFAULT_Z, check_z


@dataclass
class KAREHistory:
    """What happened during `fit_kare`.

    Attributes:
        kare: Mean KARE over the batches of each completed epoch, each batch's
            value taken before that batch's update (full batch: one value).
        step_kare: KARE of every completed step (batch).
        val_mse: With validation data, after each epoch: the validation MSE
            of kernel ridge regression on the whole training set with the
            absolute ridge ``z`` (the predictor whose risk KARE estimates).
        stopped_early: Whether training stopped before the last epoch.
        reason: Why it stopped early ("" if it did not).
        stopped_at: The step (counted over all epochs) at which it stopped.
        solver: The solver path the steps used (``"dense"`` or ``"features"``).
        solver_reason: Why ``solver="auto"`` chose it (or ``"requested"``).
        solver_info: On the iterative path, per step: tolerance, probes,
            preconditioner rank, CG iterations and residuals, and the estimated
            error of the KARE value (`kernelkit.solvers.SolveInfo` as a dict).
    """

    kare: list[float] = field(default_factory=list)
    step_kare: list[float] = field(default_factory=list)
    val_mse: list[float] = field(default_factory=list)
    stopped_early: bool = False
    reason: str = ""
    stopped_at: int | None = None
    solver: str = ""
    solver_reason: str = ""
    solver_info: list[dict] = field(default_factory=list)


def _resolve_optimizer(optimizer: str | keras.optimizers.Optimizer,
                       learning_rate: float) -> keras.optimizers.Optimizer:
    """The optimiser (by name or instance) with float hyper-parameters held as numpy float64.

    Keras 3.15.1 on TensorFlow casts a Python float through float32
    (``ops.cast(0.999, "float64") == 0.99900001``), which put float64 Adam 7e-6
    off the other backends; numpy float64 scalars are cast exactly everywhere.
    """
    if isinstance(optimizer, str):
        # float(): Keras refuses an int learning rate (learning_rate=5) with a ValueError.
        rate = check_positive(learning_rate, "learning_rate")
        optimizer = keras.optimizers.get({"class_name": optimizer,
                                          "config": {"learning_rate": rate}})
    for name in ("beta_1", "beta_2", "epsilon", "momentum", "rho"):
        value = getattr(optimizer, name, None)
        if isinstance(value, float):
            setattr(optimizer, name, np.float64(value))
    return optimizer


def _batches(n: int, batch_size: int | None, shuffle: bool, rng: np.random.Generator) -> list:
    """Index arrays of one epoch; a last batch of fewer than 2 points is dropped."""
    if batch_size is None or batch_size >= n:
        return [np.arange(n)]
    order = rng.permutation(n) if shuffle else np.arange(n)
    batches = [order[i:i + batch_size] for i in range(0, n, batch_size)]
    return [b for b in batches if len(b) >= 2]


def _validation_mse(kernel: Any, X: np.ndarray, Y: np.ndarray, Xv: np.ndarray,
                    Yv: np.ndarray, z: float, solver: str) -> float:
    """Validation MSE of KRR ``(1/n) K(Xv, X) (K/n + z I)^{-1} Y`` (the solver layer's)."""
    from keras import ops

    from kernelkit.solvers import make_system

    dtype = kernel.compute_dtype
    Ys = ops.cast(ops.convert_to_tensor(Y.reshape(len(X), -1)), dtype)
    system, _ = make_system(kernel, ops.cast(ops.convert_to_tensor(X), dtype), Ys, solver)
    pred = system.predict(system.solve(z), ops.cast(ops.convert_to_tensor(Xv), dtype))
    return float(np.mean((keras.ops.convert_to_numpy(pred) - Yv.reshape(len(Xv), -1)) ** 2))


def _check_validation(validation_data: Any, d: int, y_ndim: int) -> tuple:
    try:
        Xv, yv = validation_data
    except (TypeError, ValueError):
        raise InputError("validation_data must be a pair (X_val, y_val).") from None
    Xv = np.asarray(check_matrix(Xv, "X_val"))
    yv = np.asarray(check_targets(yv, Xv.shape[0]))
    if Xv.shape[1] != d:
        raise InputError(f"X_val has {Xv.shape[1]} features but X has {d}.")
    if yv.ndim != y_ndim:
        raise InputError(f"y_val has {yv.ndim} dimensions but y has {y_ndim}.")
    return Xv, yv


def fit_kare(
    kernel: Any,
    X: Any,
    y: Any,
    *,
    z: float = DEFAULT_Z,
    epochs: int = 100,
    learning_rate: float = 100.0,
    optimizer: str | keras.optimizers.Optimizer = "sgd",
    batch_size: int | None = None,
    shuffle: bool = True,
    seed: int | None = 0,
    validation_data: tuple[Any, Any] | None = None,
    callback: Callable[[int, dict], None] | None = None,
    compiled: bool = True,
    solver: str = "auto",
) -> KAREHistory:
    """Train a kernel's variables by gradient descent on KARE.

    Each step computes KARE(y_B, K(X_B, X_B), z) on a batch B and its gradient
    and applies the optimiser, in one compiled step per backend (``jax.jit``,
    ``tf.function``, eager PyTorch). Full batch by default; with
    ``batch_size`` the data are cut into mini-batches (the paper uses 32 for
    data sets of 5,000 points or more), reshuffled every epoch from ``seed``,
    or fixed and in order with ``shuffle=False``. Divergence is never hidden:
    a non-finite KARE or gradient, or a failed factorisation, stops training
    at that step, restores the last weights at which KARE was finite (those
    before the last successful update), records why in the history
    and warns; the optimiser never sees a NaN.

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
        validation_data: Optional ``(X_val, y_val)``: records
            ``history.val_mse`` after every epoch (costs one KRR fit on the
            whole training set per epoch).
        callback: Called as ``callback(epoch, logs)`` after every epoch, with
            ``logs = {"kare": ..., "val_mse": ...}`` (``val_mse`` only with
            validation data); a progress bar can hook in here.
        compiled: Compile the step (``False`` runs it eagerly, for debugging).
        solver: ``"auto"``, ``"dense"``, ``"features"`` (kernels with a
            feature map, e.g. the NTK: linear in ``n``), ``"iterative"``
            (matrix-free, any kernel; or a `kernelkit.solvers.Iterative` with its
            settings; runs eagerly); "auto" chooses from the
            batch size, the feature count and a memory estimate, and the
            history records the choice (`kernelkit.solvers.plan_solver`).

    Returns:
        The `KAREHistory`.

    Raises:
        InputError: Bad inputs or options (``z <= 0``, an unknown solver, ...).
        NumericalError: If KARE cannot be computed at the initial weights.
        MemoryBudgetError: The steps cannot fit in memory (before allocating).

    Example:
        >>> import numpy as np
        >>> from kernelkit import GaussianKernel
        >>> from kernelkit.training import fit_kare
        >>> X = np.random.rand(30, 2); y = np.sin(3 * X[:, 0])
        >>> history = fit_kare(GaussianKernel(1.0), X, y, epochs=5, learning_rate=0.1)
        >>> len(history.kare)
        5
    """
    from kernelkit.solvers import check_solver, plan_solver

    z = check_z(z)
    check_solver(solver)
    X = np.asarray(check_matrix(X, "X"))
    y = np.asarray(check_targets(y, np.shape(X)[0]))
    if batch_size is not None and int(batch_size) < 2:
        raise InputError(f"batch_size must be at least 2 (KARE needs 2 points), got {batch_size}.")
    X, y = conform(kernel, X, y)
    if validation_data is not None:
        validation_data = _check_validation(validation_data, X.shape[1], y.ndim)
        validation_data = conform(kernel, *validation_data, names=("X_val", "y_val"))
    kernel.ensure_built(X)
    history = KAREHistory()
    if int(epochs) == 0:
        return history
    if not kernel.trainable_variables:
        raise InputError(
            f"{type(kernel).__name__} has no trainable variables, so KARE training has "
            "nothing to change: use epochs=0, or KernelRidge with the kernel directly.")
    step_n = len(X) if batch_size is None else min(int(batch_size), len(X))
    plan = plan_solver(kernel, step_n, X.shape[1],
                       keras.backend.standardize_dtype(kernel.compute_dtype), solver, "kare")
    history.solver, history.solver_reason = plan.solver, plan.reason
    optimizer = _resolve_optimizer(optimizer, learning_rate)
    stepper = KAREStepper(kernel, optimizer, z, plan.path, compiled=compiled)
    rng = np.random.default_rng(seed)
    for epoch in range(int(epochs)):
        values = []
        for batch in _batches(len(X), batch_size, shuffle, rng):
            reason, value, error = stepper.step(X[batch], y[batch])
            if reason:
                _stop(history, stepper, reason, error, epoch)
                return history
            values.append(value)
            history.step_kare.append(value)
            if stepper.objective.info is not None:  # the iterative path
                history.solver_info.append(stepper.objective.info.as_dict())
        history.kare.append(float(np.mean(values)))
        stepper.commit()
        logs = {"kare": history.kare[-1]}
        if validation_data is not None:
            history.val_mse.append(_validation_mse(kernel, X, y, *validation_data, z, solver))
            logs["val_mse"] = history.val_mse[-1]
        if callback is not None:
            callback(epoch, logs)
    return history


def _stop(history: KAREHistory, stepper: KAREStepper, reason: str,
          error: Exception | None, epoch: int) -> None:
    """Record a failed step and restore the weights of the last finite KARE (raise at step 0)."""
    step = len(history.step_kare)
    if step == 0:
        raise NumericalError(
            f"KARE cannot be computed at the initial weights ({reason}). Use a "
            "larger z, float64, or check the kernel and the data."
        ) from error
    stepper.rollback()
    stepper.commit()
    history.stopped_early, history.reason, history.stopped_at = True, reason, step
    warnings.warn(f"KARE training stopped at step {step} (epoch {epoch}): {reason}; "
                  "the last weights with a finite KARE were restored.", RuntimeWarning,
                  stacklevel=3)

