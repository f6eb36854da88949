"""Dtype resolution: float64 is really float64, or a clear error."""

from __future__ import annotations

from typing import Any

import keras

from kernelkit import backends
from kernelkit.errors import DtypeError

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
