"""Exception and warning types raised by kernelkit."""

from __future__ import annotations


class KernelkitError(Exception):
    """Base class of kernelkit's own errors."""


class InputError(KernelkitError, ValueError):
    """Bad input: wrong shape, non-finite values, mismatched lengths.

    Subclasses ``ValueError`` so that code written for scikit-learn's errors
    keeps working.
    """


class NumericalError(KernelkitError, ArithmeticError):
    """A factorisation or computation failed; the message names the remedy."""


class DtypeError(KernelkitError, TypeError):
    """A requested dtype is not available as requested (never silently changed)."""


class PrecisionWarning(UserWarning):
    """A float64 result will be less accurate than float64 because of an upstream op."""


class JitterWarning(UserWarning):
    """A Cholesky factorisation needed extra diagonal jitter to succeed."""


class ConvergenceWarning(UserWarning):
    """An iterative solve stopped at its iteration limit before reaching its tolerance."""


class DataError(KernelkitError, OSError):
    """A data file is missing, corrupt or of the wrong layout; the message names its path."""


class MemoryBudgetError(KernelkitError, MemoryError):
    """A computation would need more memory than the device has; raised before allocating.

    The message says how much the request needs, how much is available, and
    what to do (fewer points, mini-batches, another solver, a larger device).
    """


class BackendError(KernelkitError, ImportError):
    """The Keras backend asked for is unknown or not installed; the message names the pip command."""
