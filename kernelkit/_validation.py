"""Input checks shared by kernels, KARE and kernel ridge regression."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import ops

from kernelkit.backends import is_traced
from kernelkit.errors import InputError


def _shape(x: Any) -> tuple:
    return tuple(x.shape)


def as_array(x: Any) -> Any:
    """Backend tensors and numpy arrays as they are; other array-likes via numpy."""
    if isinstance(x, np.ndarray) or hasattr(x, "shape") and hasattr(x, "dtype"):
        return x
    return np.asarray(x)


def check_matrix(x: Any, name: str = "X", *, allow_empty: bool = False) -> Any:
    """Check that ``x`` is a 2-D array with samples and features and finite values.

    Args:
        x: Array-like (numpy or backend tensor).
        name: Name used in the error message.
        allow_empty: Whether 0 rows are acceptable.

    Returns:
        ``x`` itself, or a numpy array for lists and other array-likes.

    Raises:
        InputError: On a wrong rank, an empty axis or NaN/inf values.
    """
    x = as_array(x)
    shape = _shape(x)
    if len(shape) != 2:
        hint = (
            f" Reshape it: {name}.reshape(-1, 1) for one feature, or "
            f"{name}.reshape(1, -1) for one sample."
            if len(shape) == 1
            else ""
        )
        raise InputError(
            f"{name} must be a 2-D array of shape (n_samples, n_features), "
            f"got shape {shape}.{hint}"
        )
    if shape[0] == 0 and not allow_empty:
        raise InputError(f"{name} has 0 samples (shape {shape}); at least 1 is needed.")
    if shape[1] == 0:
        raise InputError(f"{name} has 0 features (shape {shape}); at least 1 is needed.")
    check_finite(x, name)
    return x


def check_finite(x: Any, name: str) -> None:
    """Raise `InputError` if ``x`` holds NaN or inf (eager values only)."""
    if isinstance(x, np.ndarray):
        ok = bool(np.isfinite(x).all()) if x.dtype.kind in "fc" else True
    elif is_traced(x):
        return
    else:
        ok = bool(keras.ops.convert_to_numpy(ops.all(ops.isfinite(x))))
    if not ok:
        raise InputError(
            f"{name} contains NaN or infinite values; remove or impute them first."
        )


def check_same_features(x1: Any, x2: Any) -> None:
    """Raise if ``x1`` and ``x2`` have different numbers of features."""
    if _shape(x1)[1] != _shape(x2)[1]:
        raise InputError(
            f"x1 and x2 have different numbers of features: {_shape(x1)[1]} "
            f"and {_shape(x2)[1]}."
        )


def check_targets(y: Any, n: int, name: str = "y") -> Any:
    """Check targets of shape (n,) or (n, c): length ``n``, finite, not empty.

    Returns ``y`` itself, or a numpy array for lists and other array-likes.
    """
    y = as_array(y)
    shape = _shape(y)
    if len(shape) not in (1, 2):
        raise InputError(f"{name} must have shape (n,) or (n, c), got {shape}.")
    if shape[0] != n:
        raise InputError(
            f"{name} has {shape[0]} rows but the kernel/data has {n} samples; "
            "they must match."
        )
    if len(shape) == 2 and shape[1] == 0:
        raise InputError(f"{name} has 0 columns (shape {shape}).")
    check_finite(y, name)
    return y


def same_values(x1: Any, x2: Any) -> bool:
    """Whether two eager arrays of one shape hold identical values."""
    if x1 is x2:
        return True
    if _shape(x1) != _shape(x2) or is_traced(x1) or is_traced(x2):
        return False
    return bool(keras.ops.convert_to_numpy(ops.all(ops.equal(x1, x2))))
