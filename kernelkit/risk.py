"""KARE, the Kernel Alignment Risk Estimator, in keras.ops."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from kernelkit import _ops, backends
from kernelkit._dtypes import conform, resolve_dtype
from kernelkit._validation import check_finite, check_targets
from kernelkit.errors import InputError
from kernelkit.linalg import cholesky

_REMEDY = (
    "Remedies: use a larger z, compute in float64 (kernelkit.enable_float64()), "
    "or check that the kernel is positive semi-definite."
)


def _as_columns(y: Any, dtype: str) -> Any:
    y = ops.cast(ops.convert_to_tensor(y), dtype)
    return y[:, None] if len(y.shape) == 1 else y


def kare(K: Any, y: Any, z: float = 0.1) -> Any:
    """Kernel Alignment Risk Estimator of kernel ridge regression.

    With ``A = K/n + z I``::

        KARE = [ (1/n) mean_c ||A^{-1} y_c||^2 ] / [ (1/n) tr(A^{-1}) ]^2

    computed from one Cholesky factorisation ``A = L L^T`` (two triangular
    solves for ``A^{-1} y``; ``tr(A^{-1}) = ||L^{-1}||_F^2``), never an
    explicit inverse or ``eigh``, so it is safe to differentiate. KARE equals
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
    if not float(z) > 0:
        raise InputError(f"z must be positive, got {z!r}.")
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
    Y = _as_columns(y, dtype)
    with backends.no_tf32():
        # Symmetrised: backends read different triangles of a non-symmetric K.
        A = (K + ops.transpose(K)) / (2 * n) + z * ops.eye(n, dtype=dtype)
        L = cholesky(A, what="K/n + z I", remedy=_REMEDY)
        U = ops.solve_triangular(L, Y, lower=True)
        V = ops.solve_triangular(ops.transpose(L), U, lower=False)
        Linv = ops.solve_triangular(L, ops.eye(n, dtype=dtype), lower=True)
        num = _ops.mean(ops.sum(V * V, axis=0)) / n
        den = ops.sum(Linv * Linv) / n
        return num / (den * den)


def kare_value_and_grad(
    kernel: Any, x: Any, y: Any, z: float = 0.1
) -> tuple[Any, list]:
    """KARE of ``kernel`` on ``(x, y)`` and its gradient in the kernel's variables.

    The gradient is taken through `TrainableKernel.stateless_gram` with
    the backend's autodiff (second order for an NTK), one entry per
    ``kernel.trainable_variables`` (zeros for variables KARE does not use).

    Args:
        kernel: A `TrainableKernel`.
        x: Inputs ``(n, d)``.
        y: Targets ``(n,)`` or ``(n, c)``.
        z: Ridge of KARE, > 0.

    Returns:
        ``(value, grads)``: a scalar tensor and a list of tensors.

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

    x = check_matrix(x, "x")
    y = check_targets(y, x.shape[0])
    x, y = conform(kernel, x, y, names=("x", "y"))
    dtype = kernel.compute_dtype
    x = ops.cast(ops.convert_to_tensor(x), dtype)
    y = ops.cast(ops.convert_to_tensor(y), dtype)
    if not kernel.built:
        kernel(x[:1])
    params = [v.value for v in kernel.trainable_variables]
    if not params:
        raise InputError(f"{type(kernel).__name__} has no trainable variables.")

    with backends.no_tf32():  # the backward pass too
        return backends.value_and_grad(kare_loss(kernel, z), params, x, y)


def kare_loss(kernel: Any, z: float = 0.1) -> Any:
    """The pure function ``loss(values, x, y) = KARE(y, K_values(x, x), z)``.

    ``values`` replace ``kernel.trainable_variables`` (in that order), so the
    function can be differentiated and compiled (see `kare_value_and_grad` and
    `kernelkit.training.fit_kare`).

    Args:
        kernel: A built `TrainableKernel`.
        z: Ridge of KARE, > 0.

    Returns:
        A function of ``(values, x, y)`` returning a scalar tensor.

    Example:
        >>> import numpy as np
        >>> from kernelkit import GaussianKernel
        >>> from kernelkit.risk import kare_loss
        >>> k = GaussianKernel(1.0); X = np.random.rand(10, 2).astype("float32")
        >>> loss = kare_loss(k, 0.1)
        >>> float(loss([v.value for v in k.trainable_variables], X, X[:, 0])) > 0
        True
    """

    def loss(values: list, xs: Any, ys: Any) -> Any:
        return kare(kernel.stateless_gram(values, xs), ys, z)

    return loss
