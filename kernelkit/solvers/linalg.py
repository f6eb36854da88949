"""Cholesky factorisation with checked results and escalating jitter; SPD inverses."""

from __future__ import annotations

import warnings
from typing import Any

import keras
import numpy as np
from keras import ops

from kernelkit import backends
from kernelkit.errors import JitterWarning, NumericalError

#: Relative jitters (times the mean diagonal) tried after a failed factorisation.
JITTERS = {"float64": (1e-12, 1e-10, 1e-8), "float32": (1e-7, 1e-6, 1e-5)}


def _finite(x: Any) -> bool:
    return bool(np.isfinite(keras.ops.convert_to_numpy(ops.sum(x))))


def _try_cholesky(a: Any, errors: list | None = None) -> Any | None:
    try:
        chol = ops.linalg.cholesky(a)
    except Exception as err:  # backends raise different types for a non-PD matrix
        if errors is not None:
            errors.append(f"{type(err).__name__}: {str(err)[:200]}")
        return None
    return chol if _finite(chol) else None


def cholesky(a: Any, *, what: str = "the matrix", remedy: str = "") -> Any:
    """Lower Cholesky factor of a symmetric positive definite matrix.

    In eager mode the factor is checked: a failed or non-finite factorisation
    is retried with a small diagonal jitter (relative to the mean diagonal,
    escalating, each with a `JitterWarning`), then a
    `NumericalError` names the remedy. Inside a traced function (jit,
    autodiff on JAX, tf.function) no Python check is possible: a failure shows
    as NaN, which callers must check.

    Args:
        a: Symmetric matrix ``(n, n)``.
        what: Name of the matrix for messages, e.g. ``"K/n + z I"``.
        remedy: Extra advice appended to the error.

    Returns:
        The lower-triangular factor ``L`` with ``L L^T = a (+ jitter I)``.

    Raises:
        NumericalError: If even the largest jitter fails.

    Example:
        >>> import numpy as np
        >>> from kernelkit.solvers.linalg import cholesky
        >>> L = cholesky(np.eye(3))
    """
    a = ops.convert_to_tensor(a)
    if backends.is_traced(a):
        try:
            return ops.linalg.cholesky(a)
        except ValueError as err:  # Keras' JAX cholesky checks concrete values
            raise NumericalError(
                f"Cholesky factorisation of {what} failed inside autodiff, where no "
                f"jitter can be added. {remedy}".rstrip()
            ) from err
    errors: list = []
    chol = _try_cholesky(a, errors)
    if chol is not None:
        return chol
    dtype = keras.backend.standardize_dtype(a.dtype)
    n = a.shape[0]
    scale = float(keras.ops.convert_to_numpy(ops.mean(ops.abs(ops.diagonal(a)))))
    if not np.isfinite(scale):
        raise NumericalError(
            f"{what} contains NaN or infinite values: the kernel overflowed or was "
            "given non-finite inputs. Check the inputs and the kernel parameters."
        )
    eye = ops.eye(n, dtype=dtype)
    for rel in JITTERS.get(dtype, JITTERS["float32"]):
        jitter = rel * max(scale, np.finfo(np.float64).tiny)
        chol = _try_cholesky(a + jitter * eye, errors)
        if chol is not None:
            warnings.warn(
                f"Cholesky factorisation of {what} failed; succeeded after adding "
                f"{jitter:.3g} to its diagonal ({rel:g} x mean diagonal).",
                JitterWarning,
                stacklevel=3,
            )
            return chol
    raise NumericalError(
        f"Cholesky factorisation of {what} ({n}x{n}, {dtype}) failed even with a "
        f"diagonal jitter of {JITTERS.get(dtype, JITTERS['float32'])[-1]:g} x its mean "
        f"diagonal: it is not numerically positive definite. {remedy}".rstrip()
        + (f" (last backend error: {errors[-1]})" if errors else "")
    )


def cholesky_inverse(L: Any) -> Any:
    """``A^{-1} = L^{-T} L^{-1}`` from the lower Cholesky factor ``L`` of ``A``.

    Two triangular products, symmetrised; used where a closed-form gradient
    needs ``A^{-1}`` itself (never ``inv``).

    Example:
        >>> import numpy as np
        >>> from kernelkit.solvers.linalg import cholesky, cholesky_inverse
        >>> A = np.array([[2.0, 0.5], [0.5, 1.0]])
        >>> bool(np.allclose(np.asarray(cholesky_inverse(cholesky(A))) @ A, np.eye(2)))
        True
    """
    n = L.shape[0]
    Linv = ops.solve_triangular(L, ops.eye(n, dtype=L.dtype), lower=True)
    inv = ops.einsum("ki,kj->ij", Linv, Linv)
    return (inv + ops.transpose(inv)) / 2.0


def cho_solve(L: Any, B: Any) -> Any:
    """``A^{-1} B`` from the lower Cholesky factor ``L`` of ``A`` (two triangular solves)."""
    return ops.solve_triangular(ops.transpose(L), ops.solve_triangular(L, B, lower=True),
                                lower=False)
