"""KARE, the Kernel Alignment Risk Estimator, in keras.ops."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from kernelkit._dtypes import conform, resolve_dtype
from kernelkit._validation import check_finite, check_positive, check_targets
from kernelkit.defaults import DEFAULT_Z
from kernelkit.errors import InputError
from kernelkit.solvers import dense



def check_z(z: Any) -> float:
    """Validate a KARE ridge: a finite number > 0.

    Raises:
        InputError: Otherwise, naming the value.

    Example:
        >>> from kernelkit.risk import check_z
        >>> check_z(0.1)
        0.1
    """
    return check_positive(z, "z", " (the paper uses 0.1)")


def _as_columns(y: Any, dtype: str) -> Any:
    y = ops.cast(ops.convert_to_tensor(y), dtype)
    return y[:, None] if len(y.shape) == 1 else y


def kare(K: Any, y: Any, z: float = DEFAULT_Z) -> Any:
    """Kernel Alignment Risk Estimator of kernel ridge regression.

    With ``A = K/n + z I``::

        KARE = [ (1/n) mean_c ||A^{-1} y_c||^2 ] / [ (1/n) tr(A^{-1}) ]^2

    computed by the dense solver (`kernelkit.solvers.dense.kare_value`) from
    one Cholesky factorisation ``A = L L^T`` (two triangular solves for
    ``A^{-1} y``; ``tr(A^{-1}) = ||L^{-1}||_F^2``), never an explicit inverse
    or ``eigh``, so it is safe to differentiate. KARE equals
    generalised cross-validation of KRR with ridge ``n z`` on ``K``.

    Args:
        K: Kernel matrix ``(n, n)`` (a backend tensor or numpy array).
        y: Targets ``(n,)`` or ``(n, c)``; the mean is over columns.
        z: Ridge, > 0 (the paper uses 0.1).

    Returns:
        A scalar tensor in ``K``'s dtype.

    Raises:
        InputError: On shapes that do not match, ``z <= 0`` or NaN/inf values.
        NumericalError: If ``A`` cannot be factorised (eager mode).

    Example:
        >>> import numpy as np
        >>> from kernelkit import kare
        >>> X = np.random.rand(20, 3)
        >>> float(kare(X @ X.T, X[:, 0], z=0.1)) > 0
        True

    Reference:
        Jacot, Simsek, Spadaro, Hongler, Gabriel, "Kernel Alignment Risk
        Estimator: Risk Prediction from Training Data", NeurIPS 2020.
    """
    z = check_z(z)
    K, y = conform(K, K, y, names=("K", "y"))  # kernelkit's dtype rule (kernelkit/_dtypes.py)
    K = ops.convert_to_tensor(K)
    shape = tuple(K.shape)
    if len(shape) != 2 or shape[0] != shape[1] or shape[0] == 0:
        raise InputError(f"K must be a non-empty square (n, n) matrix, got shape {shape}.")
    n = shape[0]
    y = check_targets(y, n)
    check_finite(K, "K")
    dtype = keras.backend.standardize_dtype(K.dtype)
    if dtype not in ("float32", "float64"):
        dtype = resolve_dtype(None)  # integers, float16: compute in floatx
        K = ops.cast(K, dtype)
    return dense.kare_value(K, _as_columns(y, dtype), z)


def kare_value_and_grad(
    kernel: Any, x: Any, y: Any, z: float = DEFAULT_Z, solver: Any = "auto",
    return_info: bool = False,
) -> tuple:
    """KARE of ``kernel`` on ``(x, y)`` and its gradient in the kernel's variables.

    The gradient is the solver path's closed form (no autodiff through a
    factorisation; `kernelkit.solvers.KAREObjective`), then one
    vector-Jacobian product through the kernel (second order for an NTK),
    one entry per ``kernel.trainable_variables`` (zeros for variables KARE
    does not use). It runs compiled (once per kernel and input shape); where
    that fails, the factorisation is redone outside autodiff, so a Cholesky
    that needs jitter gets it (with a `JitterWarning`).

    Args:
        kernel: A `TrainableKernel`.
        x: Inputs ``(n, d)``.
        y: Targets ``(n,)`` or ``(n, c)``.
        z: Ridge of KARE, > 0.
        solver: ``"auto"``, ``"dense"``, ``"features"`` (kernels with a
            feature map; linear in ``n``), ``"iterative"`` (matrix-free; or a
            `kernelkit.solvers.Iterative` with its settings). See
            `kernelkit.solvers.plan_solver`.
        return_info: Also return a dict of what the solver did: ``solver``,
            ``reason`` and, on the iterative path, the CG iterations and
            residuals, probes, rank and ``kare_error`` (the estimated error of
            the value, from the probes' spread and the CG residual).

    Returns:
        ``(value, grads)``: a scalar tensor and a list of tensors;
        ``(value, grads, info)`` with ``return_info=True``.

    Raises:
        InputError: Bad inputs, ``z <= 0``, an unknown solver, or
            ``"features"`` for a kernel without a feature map.
        MemoryBudgetError: The request does not fit in memory (before allocating).

    Example:
        >>> import numpy as np
        >>> from kernelkit import GaussianKernel
        >>> from kernelkit import kare_value_and_grad
        >>> X = np.random.rand(20, 2).astype("float32")
        >>> value, grads = kare_value_and_grad(GaussianKernel(1.0), X, X[:, 0])
        >>> len(grads)
        1
    """
    from kernelkit._validation import check_matrix
    from kernelkit.solvers import plan_solver
    from kernelkit.solvers.objective import objective_for

    z = check_z(z)
    x = check_matrix(x, "x")
    y = check_targets(y, x.shape[0])
    x, y = conform(kernel, x, y, names=("x", "y"))
    dtype = kernel.compute_dtype
    x = ops.cast(ops.convert_to_tensor(x), dtype)
    y = ops.cast(ops.convert_to_tensor(y), dtype)
    kernel.ensure_built(x)
    params = [v.value for v in kernel.trainable_variables]
    if not params:
        raise InputError(f"{type(kernel).__name__} has no trainable variables.")
    plan = plan_solver(kernel, int(x.shape[0]), int(x.shape[1]),
                       keras.backend.standardize_dtype(dtype), solver, "kare")
    objective = objective_for(kernel, z, plan.path)
    value, grads = objective.value_and_grad(params, x, y)
    if not return_info:
        return value, grads
    info = {"solver": plan.solver, "reason": plan.reason}
    if objective.info is not None:
        info.update(objective.info.as_dict())
    return value, grads, info
