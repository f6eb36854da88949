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
    try:
        return np.asarray(x)
    except ValueError as err:  # e.g. rows of different lengths
        raise InputError(f"the input could not be read as an array: {err}") from None


#: numpy dtype kinds of numbers kernelkit accepts: floats, signed and unsigned
#: integers, and booleans (read as 0 and 1, as numpy and scikit-learn do).
_REAL_KINDS = "fiub"


def check_numeric(x: Any, name: str = "X") -> None:
    """Raise `InputError` unless ``x`` holds real numbers (floats, integers or booleans).

    Complex, string, bytes, object, datetime and other non-numeric arrays are
    rejected with the remedy, before anything converts them (numpy would drop
    an imaginary part with only a ``ComplexWarning``; JAX would fail with a
    raw ``TypeError``). Booleans are accepted as 0 and 1.

    Args:
        x: A numpy array or backend tensor (anything with a ``dtype``).
        name: Name used in the error message.

    Raises:
        InputError: For a non-real or non-numeric dtype.

    Example:
        >>> import numpy as np
        >>> check_numeric(np.ones((2, 2), dtype=complex))
        Traceback (most recent call last):
        ...
        kernelkit.errors.InputError: X is complex (complex128): ...
    """
    if isinstance(x, np.ndarray):
        kind, label = x.dtype.kind, str(x.dtype)
    else:
        try:
            label = keras.backend.standardize_dtype(x.dtype)
        except (TypeError, ValueError, AttributeError):  # e.g. a pandas categorical
            label, kind = str(x.dtype), "V"
        else:
            kind = "c" if label.startswith("complex") else "U" if label == "string" else "f"
    if kind in _REAL_KINDS:
        return
    if kind == "c":
        raise InputError(
            f"{name} is complex ({label}): kernelkit works with real numbers only. Pass "
            f"the real part ({name}.real), or the real and imaginary parts as separate "
            "columns (np.concatenate([X.real, X.imag], axis=1)).")
    if kind in "USO":
        what = "strings" if kind in "US" else "Python objects (dtype object)"
        raise InputError(
            f"{name} holds {what}, not numbers ({label}). Convert it to a numeric array "
            f"first, e.g. np.asarray({name}, dtype='float32') for numbers stored as "
            "text or objects, or encode categorical columns (e.g. "
            "sklearn.preprocessing.OneHotEncoder).")
    raise InputError(
        f"{name} has dtype {label}, which is not numeric; convert it to float32 or "
        "float64 first.")


def check_matrix(x: Any, name: str = "X", *, allow_empty: bool = False) -> Any:
    """Check that ``x`` is a 2-D array with samples and features and finite values.

    Args:
        x: Array-like (numpy or backend tensor).
        name: Name used in the error message.
        allow_empty: Whether 0 rows are acceptable.

    Returns:
        ``x`` itself, or a numpy array for lists and other array-likes.

    Raises:
        InputError: On non-numeric values (see `check_numeric`), a wrong rank,
            an empty axis or NaN/inf values.
    """
    x = as_array(x)
    check_numeric(x, name)
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

    Raises:
        InputError: On non-numeric values (see `check_numeric`), a wrong
            shape or length, or NaN/inf values.
    """
    y = as_array(y)
    check_numeric(y, name)
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


def check_positive(value: Any, name: str, hint: str = "") -> float:
    """A finite number > 0, or an `InputError` naming ``name`` (and ``hint``).

    Example:
        >>> from kernelkit._validation import check_positive
        >>> check_positive(0.1, "z")
        0.1
    """
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number, got {value!r}.") from None
    if not (np.isfinite(number) and number > 0):
        raise InputError(f"{name} must be finite and > 0{hint}, got {value!r}.")
    return number


def same_values(x1: Any, x2: Any) -> bool:
    """Whether two eager arrays of one shape hold identical values."""
    if x1 is x2:
        return True
    if _shape(x1) != _shape(x2) or is_traced(x1) or is_traced(x2):
        return False
    return bool(keras.ops.convert_to_numpy(ops.all(ops.equal(x1, x2))))
