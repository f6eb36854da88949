"""Dtype resolution: float64 is really float64, or a clear error.

The one dtype rule of kernelkit, applied by `conform` at every public entry
(`kare`, `kare_value_and_grad`, `KernelRidge`, every `TrainableKernel` call,
`fit_kare` and its validation data):

1. A computation runs in one dtype, its *computation dtype*: the kernel's
   (``kernel.compute_dtype``; an ``NTK`` has its model's) wherever a kernel
   is given, and for ``kare(K, y)`` the dtype of ``K`` itself.
2. A float64 computation that the backend cannot do (JAX without x64) is a
   `DtypeError`, never a silent float32 one.
3. Inputs are cast to the computation dtype. Exact casts (integers,
   booleans, float16, float32 into float64) are silent. float64 data cast
   into a float32 computation warns with a `PrecisionWarning` that names the
   remedy, once per kernel (per call site for ``kare``, which has no
   kernel), never once per batch.
"""

from __future__ import annotations

import os
import sys
import warnings
import weakref
from typing import Any

import keras
import numpy as np

from kernelkit import backends
from kernelkit._validation import as_array, check_numeric
from kernelkit.errors import DtypeError, PrecisionWarning

_FLOATS = ("float32", "float64")


def resolve_dtype(dtype: Any = None) -> str:
    """Return a standard float dtype name, checking that the backend supports it.

    Args:
        dtype: ``None`` (Keras' ``floatx()``), a name or a dtype object.

    Returns:
        The standardised name, e.g. ``"float64"``.

    Raises:
        DtypeError: For a non-float dtype, or float64 on JAX without x64 mode.
    """
    name = keras.backend.standardize_dtype(dtype or keras.config.floatx())
    if name not in _FLOATS:
        raise DtypeError(
            f"kernelkit computes in float32 or float64; got {name!r}. Half precision is "
            "too coarse for kernel solves."
        )
    if name == "float64" and not backends.float64_enabled():
        raise DtypeError(
            "float64 was requested but JAX is in float32 mode (x64 disabled), so "
            "the result would silently be float32. Set JAX_ENABLE_X64=1 in the "
            "environment before starting Python, or call "
            "kernelkit.enable_float64() before creating any array."
        )
    return name


def check_result_dtype(x: Any, expected: str, what: str) -> None:
    """Raise `DtypeError` if ``x`` did not come out in ``expected``."""
    got = keras.backend.standardize_dtype(x.dtype)
    if got != expected:
        raise DtypeError(
            f"{what} came out as {got} although {expected} was requested; "
            f"this is a backend limitation ({backends.BACKEND}). Please report it."
        )


def enable_float64(set_floatx: bool = True) -> None:
    """Make float64 available (JAX x64 mode) and optionally the Keras default.

    Call it at the start of a program, before any array or layer exists. This
    is the only kernelkit function that changes global state, and only when
    called.

    Args:
        set_floatx: Also call ``keras.config.set_floatx("float64")``.

    Example:
        >>> import kernelkit
        >>> kernelkit.enable_float64()
    """
    backends.enable_float64()
    if set_floatx:
        keras.config.set_floatx("float64")


def computation_dtype(target: Any) -> str:
    """The dtype a computation on ``target`` runs in (rule 1 of the module docstring).

    Args:
        target: A kernel (its ``compute_dtype``), a dtype name, or an array
            (``kare``'s ``K``: its own float32/float64 dtype; any other dtype,
            e.g. integers, computes in ``keras.config.floatx()``).

    Returns:
        ``"float32"`` or ``"float64"``.

    Raises:
        DtypeError: For float64 on JAX without x64 mode (or a non-float dtype name).
    """
    if hasattr(target, "compute_dtype"):
        return resolve_dtype(target.compute_dtype)
    if isinstance(target, str) or not hasattr(target, "dtype"):
        return resolve_dtype(target)
    name = keras.backend.standardize_dtype(target.dtype)
    return resolve_dtype(name if name in _FLOATS else None)


def conform(target: Any, *arrays: Any, names: tuple = ("X", "y")) -> Any:
    """Apply kernelkit's dtype rule to the inputs of one computation.

    Checks that each array holds real numbers (`check_numeric`), then casts
    it to the computation dtype of ``target`` (see `computation_dtype`):
    numpy arrays stay numpy arrays, backend tensors stay tensors, ``None``
    stays ``None``. Casting float64 data into a float32 computation warns
    (`PrecisionWarning`) once per kernel, or per call site when ``target``
    is not a kernel.

    Args:
        target: The kernel (or ``kare``'s ``K``, or a dtype name) that fixes
            the computation dtype.
        *arrays: The inputs; array-likes such as lists become numpy arrays.
        names: Their names in messages, one per array.

    Returns:
        The cast array, or a tuple of them when more than one is given.

    Raises:
        DtypeError: If the computation dtype is float64 and the backend
            cannot compute in float64 (JAX without x64 mode).
        InputError: For complex, string, object or other non-numeric input.

    Example:
        >>> import numpy as np
        >>> from kernelkit import GaussianKernel
        >>> from kernelkit._dtypes import conform
        >>> X, y = conform(GaussianKernel(1.0, dtype="float32"), np.ones((2, 1), "float32"),
        ...                np.ones(2, "float32"))
        >>> X.dtype, y.dtype
        (dtype('float32'), dtype('float32'))
    """
    checked = [None if x is None else as_array(x) for x in arrays]
    for x, name in zip(checked, names):
        if x is not None:
            check_numeric(x, name)
    for x, x_checked in zip(arrays, checked):
        if target is x:  # kare(K, y): K, checked, fixes the dtype
            target = x_checked
    dtype = computation_dtype(target)
    out = [None if x is None else _cast(x, dtype, name, target)
           for x, name in zip(checked, names)]
    return out[0] if len(out) == 1 else tuple(out)


def _cast(x: Any, dtype: str, name: str, target: Any) -> Any:
    source = keras.backend.standardize_dtype(x.dtype)
    if source == dtype:
        return x
    if source == "float64":  # into a float32 computation
        _warn_downcast(name, target)
    if isinstance(x, np.ndarray):
        return x.astype(dtype)
    return keras.ops.cast(x, dtype)


#: Kernels that have already warned about a float64 -> float32 cast.
_WARNED: "weakref.WeakSet[Any]" = weakref.WeakSet()


def _warn_downcast(name: str, target: Any) -> None:
    kernel = hasattr(target, "compute_dtype")
    if kernel:
        if target in _WARNED:
            return
        _WARNED.add(target)
    where = f"the float32 kernel {type(target).__name__}" if kernel else "a float32 K"
    warnings.warn(
        f"{name} is float64 but the computation runs in float32 ({where}), so it was "
        "cast to float32 (about 7 significant digits). To compute in float64, create "
        'the kernel with dtype="float64" (an NTK: mlp(..., dtype="float64"); on JAX '
        "call kernelkit.enable_float64() first); to silence this warning, pass float32 "
        'data (X.astype("float32")).',
        PrecisionWarning,
        stacklevel=_user_stacklevel(),
    )


_INTERNAL = tuple(os.path.dirname(os.path.abspath(m.__file__)) + os.sep
                  for m in (sys.modules["kernelkit"], backends))


def _user_stacklevel() -> int:
    """The ``stacklevel`` of the first caller outside kernelkit (for `warnings.warn`)."""
    frame, level = sys._getframe(1), 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_INTERNAL):
        frame, level = frame.f_back, level + 1
    return level
