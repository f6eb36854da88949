"""Memory estimates made before anything is allocated, and the budget they are held to.

Every solver path estimates the bytes a request needs from its sizes alone
(``n``, the number of features ``P``, the number of target columns ``c``, the
dtype's item size); `check` compares that with the memory the compute device
has and raises `kernelkit.errors.MemoryBudgetError` with the remedies when it
does not fit, so a request that cannot succeed fails in milliseconds with a
kernelkit message instead of deep inside XLA, PyTorch or TensorFlow.

The budget is the device's free memory: the accelerator's where the backend
computes on one, else the host's available memory (``MemAvailable``). Set
``KERNELKIT_MEMORY_BUDGET`` (e.g. ``8GB``, ``512MB`` or a number of bytes) to
impose a smaller one.

`steady_heap` keeps the iterative path's resident memory at what it holds:
see its docstring and ``KERNELKIT_MMAP_THRESHOLD``.
"""

from __future__ import annotations

import ctypes
import os
import platform
import re

from kernelkit.errors import InputError, MemoryBudgetError

_UNITS = {"": 1, "b": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12,
          "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}

#: n x n arrays held at once, by purpose, on the dense path: the kernel matrix,
#: A, its Cholesky factor, A^-1, A^-2, the cotangent and the kernel's own
#: autodiff intermediates for a KARE step; K, A (or V) and L for a fit; a Gram
#: matrix and its formula's temporaries (distances, elementwise terms).
DENSE_ARRAYS = {"kare": 10, "ridge": 4, "gram": 3}
#: n x P arrays on the features path (Phi, A^-1-applied copies, the cotangent,
#: autodiff intermediates) and P x P arrays (C, its factor, M^-1, M^-2).
FEATURE_ARRAYS = {"kare": (6, 5), "ridge": (3, 4)}


def parse_bytes(text: str, name: str = "KERNELKIT_MEMORY_BUDGET") -> int:
    """``"8GB"``, ``"512 MiB"`` or ``"1e9"`` as a number of bytes.

    Args:
        text: The size.
        name: The setting it came from, for the error message.

    Example:
        >>> from kernelkit.solvers.memory import parse_bytes
        >>> parse_bytes("1.5GB")
        1500000000
    """
    match = re.fullmatch(r"\s*([0-9.eE+]+)\s*([a-zA-Z]*)\s*", str(text))
    unit = match.group(2).lower() if match else None
    if match is None or unit not in _UNITS:
        raise InputError(f"{name}={text!r} is not a size such as 8GB or 512MiB.")
    return int(float(match.group(1)) * _UNITS[unit])


def format_bytes(count: float) -> str:
    """A byte count for people: ``'1.6 TB'``, ``'160 GB'``, ``'24 MB'``.

    Example:
        >>> from kernelkit.solvers.memory import format_bytes
        >>> format_bytes(160e9)
        '160 GB'
    """
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if count >= size:
            return f"{count / size:.3g} {unit}"
    return f"{int(count)} B"


def host_available_bytes() -> int | None:
    """The host's available memory (``MemAvailable``), or ``None`` if unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def available_bytes() -> tuple[int | None, str]:
    """The memory budget and where it comes from.

    Returns:
        ``(bytes or None, description)``; ``None`` means unknown (no check).
    """
    override = os.environ.get("KERNELKIT_MEMORY_BUDGET")
    if override:
        return parse_bytes(override), "KERNELKIT_MEMORY_BUDGET"
    from kernelkit import backends

    device = backends.accelerator_memory()
    if device is not None:
        return device, "free accelerator memory"
    return host_available_bytes(), "available host memory"


def dense_bytes(n: int, itemsize: int, purpose: str) -> int:
    """Bytes the dense path needs for ``n`` points (``purpose``: kare, ridge or gram)."""
    return int(DENSE_ARRAYS[purpose] * n * n * itemsize)


def feature_bytes(n: int, P: int, itemsize: int, purpose: str) -> int:
    """Bytes the features path needs for ``n`` points and ``P`` features."""
    per_np, per_pp = FEATURE_ARRAYS[purpose]
    return int((per_np * n * P + per_pp * P * P) * itemsize)


#: The iterative path's row blocks: at most this many bytes per block of the
#: kernel matrix (times the arrays a block holds at once), and at most this share
#: of the budget.
BLOCK_BYTES, BLOCK_SHARE = 256e6, 0.125
#: Arrays of one row block held at once: a product (distances, the block, a
#: temporary) and a vector-Jacobian product (forward and backward intermediates).
BLOCK_ARRAYS = {"product": 3, "vjp": 12}


def block_rows(n: int, row_width: int, itemsize: int, purpose: str = "product") -> int:
    """Rows per block of an ``n``-row computation whose rows are ``row_width`` wide.

    Sized so that a block (times `BLOCK_ARRAYS`) stays within `BLOCK_BYTES` and
    `BLOCK_SHARE` of the budget: the iterative path never holds ``n x n``.

    Example:
        >>> from kernelkit.solvers.memory import block_rows
        >>> block_rows(60_000, 60_000, 4) <= 60_000
        True
    """
    per_row = BLOCK_ARRAYS[purpose] * max(int(row_width), 1) * itemsize
    return int(max(1, min(n, block_cap() // per_row)))


def block_cap() -> float:
    """Bytes one row block may hold: `BLOCK_BYTES`, or `BLOCK_SHARE` of a smaller budget."""
    budget, _ = available_bytes()
    return BLOCK_BYTES if budget is None else min(BLOCK_BYTES, BLOCK_SHARE * budget)


#: ``P x c`` arrays a factored block holds whatever its rows (its per-factor
#: products, their concatenation, the running sum; a VJP adds its cotangent and
#: the backward pass), by purpose.
FACTORED_ARRAYS = {"product": 3, "vjp": 5}


def factored_blocks(n: int, P: int, width: int, columns: int, itemsize: int,
                    purpose: str = "product") -> tuple[int, int]:
    """Rows per block and columns per chunk of a product through feature factors.

    A factored block (`kernelkit.solvers.matvec.factored_transpose`) holds
    ``rows x width x (c + 1)`` temporaries and ``P x c`` ones whatever its
    rows: the columns are split into chunks whose ``P x c`` arrays take at
    most half of `block_cap`, and the rows fill the other half.

    Example:
        >>> from kernelkit.solvers.memory import factored_blocks
        >>> rows, cols = factored_blocks(60_000, 530_945, 512, 65, 4)
        >>> cols < 65 and rows < 60_000
        True
    """
    half = block_cap() / 2.0
    per_column = FACTORED_ARRAYS[purpose] * max(int(P), 1) * itemsize
    cols = int(max(1, min(int(columns), half // per_column)))
    per_row = BLOCK_ARRAYS[purpose] * max(int(width), 1) * (cols + 1) * itemsize
    return int(max(1, min(n, half // per_row))), cols


#: glibc's ``M_MMAP_THRESHOLD`` (the ``mallopt`` parameter) and the value
#: `steady_heap` gives it: allocations of at least 1 MiB are mapped and unmapped.
M_MMAP_THRESHOLD, MMAP_THRESHOLD = -3, 2**20
_heap_setting: int | None = None


def steady_heap() -> int | None:
    """Fix glibc's mmap threshold once per process, so freed row blocks leave the heap.

    glibc raises its mmap threshold each time a large mapped block is freed,
    after which blocks of that size come from the heap, which fragments and
    does not shrink: the iterative path's thousands of equal row blocks (a
    few MB each) then grew a worker's resident memory by about 20 MB a block
    at n = 130,000 (9 GB for one product that holds under 1 GB). A fixed
    threshold (`MMAP_THRESHOLD`) stops that at no measured cost in time.

    ``KERNELKIT_MMAP_THRESHOLD`` sets another threshold (``4MiB``, bytes) or,
    as ``off``, leaves the allocator alone; so does glibc's own
    ``MALLOC_MMAP_THRESHOLD_`` when set. A no-op off glibc.

    Returns:
        The threshold in bytes now in force, or ``None`` if left alone.

    Example:
        >>> from kernelkit.solvers.memory import steady_heap
        >>> threshold = steady_heap()  # 1048576 on glibc by default
        >>> threshold is None or threshold > 0
        True
    """
    global _heap_setting
    if _heap_setting is None:
        _heap_setting = _set_mmap_threshold() or 0
    return _heap_setting or None


def _set_mmap_threshold() -> int | None:
    """Call glibc's ``mallopt`` as `steady_heap` describes; the threshold set, or ``None``."""
    text = os.environ.get("KERNELKIT_MMAP_THRESHOLD", "").strip()
    if (text.lower() in ("off", "0", "false", "no") or "MALLOC_MMAP_THRESHOLD_" in os.environ
            or platform.system() != "Linux" or platform.libc_ver()[0] != "glibc"):
        return None
    value = parse_bytes(text, "KERNELKIT_MMAP_THRESHOLD") if text else MMAP_THRESHOLD
    try:
        ok = ctypes.CDLL("libc.so.6").mallopt(M_MMAP_THRESHOLD, ctypes.c_int(min(value, 2**31 - 1)))
    except (OSError, AttributeError):
        return None
    if ok != 1 and text:
        raise InputError(f"KERNELKIT_MMAP_THRESHOLD={text!r} was refused by glibc's mallopt; "
                         "give a smaller size (older glibc accepts at most 32MiB), or 'off' to leave "
                         "the allocator alone.")
    return value if ok == 1 else None


def iterative_bytes(n: int, columns: int, rank: int, itemsize: int, P: int | None = None) -> int:
    """Bytes the iterative path needs: ``n x (columns, rank)`` arrays and its row blocks.

    About 8 ``n x columns`` arrays (right-hand sides, solutions, residuals,
    directions, products, the cotangent factors), the preconditioner's
    ``n x rank`` factors (two, plus a float64 copy while it is built), one
    VJP row block and, on the features route (``P`` given), 4 ``P x columns``
    arrays (``Phi^T`` of the cotangent factors and their concatenation).
    """
    arrays = 8 * n * columns * itemsize + n * rank * (2 * itemsize + 16)
    if P is not None:
        arrays += 4 * P * columns * itemsize
    return int(arrays + block_cap())


def fits(needed: int) -> bool:
    """Whether ``needed`` bytes fit the budget (always, when the budget is unknown)."""
    budget, _ = available_bytes()
    return budget is None or needed <= budget


def check(needed: int, what: str, remedies: list[str]) -> None:
    """Raise `MemoryBudgetError` if ``needed`` bytes exceed the budget.

    Args:
        needed: Estimated bytes.
        what: The request, e.g. ``"KARE training with the dense solver at n=200,000"``.
        remedies: What the user can do instead, in order.

    Raises:
        MemoryBudgetError: When it does not fit.

    Example:
        >>> from kernelkit.solvers.memory import check
        >>> check(1000, "a tiny request", [])
    """
    budget, source = available_bytes()
    if budget is None or needed <= budget:
        return
    raise MemoryBudgetError(
        f"{what} needs about {format_bytes(needed)} of memory, but only "
        f"{format_bytes(budget)} are available ({source}); nothing was allocated. "
        + (f"Remedies: {'; '.join(remedies)}." if remedies else ""))
