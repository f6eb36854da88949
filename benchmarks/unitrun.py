"""One unit, wherever it runs: its memory peak, the cleanup after it, its failure rows.

Every engine (in-process, worker pool, Ray) runs a unit through `run_unit`,
which wraps `kernelkit.benchmarks.suites.execute`:

- ``peak_mem_mb`` becomes the unit's own peak. Linux resets a process's
  resident high-water mark on request (``/proc/self/clear_refs``), so the
  peak is read exactly; elsewhere a thread samples the resident size every
  20 ms. ``mem_measure`` names what was measured: ``worker-peak`` (the peak
  resident memory of the worker process while it ran the unit; the process
  holds the framework and this unit only) or ``in-process-growth`` (the peak
  during the unit minus the resident memory when it started: the driver's own
  memory is left out), with ``/sampled`` where the peak was sampled.
- Keras' global state is cleared after each unit (`keras.backend.clear_session`
  and a garbage collection). On JAX that is not enough: its caches keep an
  executable for every shape seen (eager operations and jitted steps alike,
  60-100 MB per new UCI data set), which made a one-process sweep grow by
  about 13 MB a unit. Clearing them after every unit would throw away the
  compiled steps that units of the same shapes share, so they are cleared
  only when the process has grown by ``KERNELKIT_BENCH_CACHE_MB`` (default
  1024) over its size after its first unit, followed by ``malloc_trim``.
- ``KERNELKIT_TEST_FAULT`` (tests only) makes chosen units misbehave, to test
  the engines' timeouts, retries and dead workers.
"""

from __future__ import annotations

import gc
import json
import math
import os
import socket
import threading
import time
from typing import Any

#: Statuses an engine gives a unit whose last attempt did not return rows.
FAILURES = ("failed", "timeout", "oom")

_CLEAR_REFS = "/proc/self/clear_refs"


def _rss_mb() -> float:
    try:
        with open("/proc/self/statm", encoding="ascii") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, AttributeError):
        import resource  # not Linux: the peak so far is the best there is

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _hwm_mb() -> float | None:
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


class UnitMemory:
    """The peak resident memory of this process while a block runs.

    Args:
        in_process: Report the growth above the start (the block shares its
            process with the driver) instead of the process's peak.

    Example:
        >>> from kernelkit.benchmarks.unitrun import UnitMemory
        >>> with UnitMemory(in_process=False) as mem:
        ...     block = bytearray(50 * 2**20)
        >>> mem.peak_mb > 40, mem.measure.startswith("worker-peak")
        (True, True)
    """

    def __init__(self, in_process: bool) -> None:
        self.in_process = in_process
        self.peak_mb = math.nan
        self.measure = ""
        self._stop = threading.Event()
        self._sampled = 0.0
        self._thread: threading.Thread | None = None

    def __enter__(self) -> "UnitMemory":
        self._start = _rss_mb()
        try:
            with open(_CLEAR_REFS, "w", encoding="ascii") as fh:
                fh.write("5")  # reset the high-water mark (Linux >= 4.0)
            self._exact = _hwm_mb() is not None
        except OSError:
            self._exact = False
        if not self._exact:
            self._sampled = self._start
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self._sampled = max(self._sampled, _rss_mb())

    def __exit__(self, *exc: object) -> None:
        if self._exact:
            peak = max(_hwm_mb() or 0.0, _rss_mb())
        else:
            self._stop.set()
            self._thread.join()
            peak = max(self._sampled, _rss_mb())
        self.peak_mb = max(peak - self._start, 0.0) if self.in_process else peak
        self.measure = ("in-process-growth" if self.in_process else "worker-peak") + (
            "" if self._exact else "/sampled")


def run_unit(unit: dict, dtype: str, in_process: bool) -> list[dict]:
    """Run one unit: its rows with host, device and its own memory peak.

    Errors that `execute` does not turn into rows (out of memory, a bug)
    propagate: the engine retries the unit once, then records a failure row.

    Example:
        >>> from kernelkit.benchmarks.unitrun import run_unit  # doctest: +SKIP
        >>> rows = run_unit(unit, "float32", in_process=False)  # doctest: +SKIP
    """
    from kernelkit.benchmarks.suites import execute

    _test_fault(unit)
    try:
        with UnitMemory(in_process) as mem:
            rows = execute(unit, dtype)
    finally:
        _cleanup()
    where = {"host": socket.gethostname(), "device": _device(), "peak_mem_mb": mem.peak_mb,
             "mem_measure": mem.measure}
    return [{**row, **where} for row in rows]


#: MB a process may grow above its size after its first unit before JAX's caches are cleared.
CACHE_BUDGET_MB = float(os.environ.get("KERNELKIT_BENCH_CACHE_MB", 1024))
_baseline_mb: list[float] = []


def _cleanup() -> None:
    """Drop this unit's Keras state; clear JAX's caches only over budget (module doc)."""
    import keras

    keras.backend.clear_session()
    gc.collect()
    if keras.backend.backend() != "jax":
        return
    if not _baseline_mb:
        _baseline_mb.append(_rss_mb())
    elif _rss_mb() > _baseline_mb[0] + CACHE_BUDGET_MB:
        from kernelkit import backends

        backends.clear_caches()  # JAX: every executable of every shape seen so far
        gc.collect()
        _malloc_trim()


def _malloc_trim() -> None:
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)  # give freed heap back to the OS (glibc)
    except (OSError, AttributeError):
        pass


def _device() -> str:
    from kernelkit import backends

    return f"{backends.BACKEND}: {backends.device_summary()}"


def failure_rows(unit: dict, status: str, reason: str, host: str = "") -> list[dict]:
    """The one row of a unit whose last attempt failed, timed out or ran out of memory."""
    identity = {k: unit.get(k) for k in ("suite", "protocol", "dataset", "setting", "fold",
                                          "split", "method", "config", "seed")}
    metric = "accuracy" if unit.get("suite") == "uci" else "mse"
    return [{**identity, "metric": metric, "value": math.nan, "status": status,
             "reason": reason[:500], "host": host}]


def classify(err: BaseException) -> str:
    """``oom`` for an out-of-memory error of Python or a framework, else ``failed``."""
    text = f"{type(err).__name__} {err}".lower()
    if isinstance(err, MemoryError) or "out of memory" in text or "resource_exhausted" in text \
            or "outofmemory" in text:
        return "oom"
    return "failed"


def describe(err: BaseException) -> str:
    """A one-line reason for a row."""
    return f"{type(err).__name__}: {err}".splitlines()[0][:500]


# -------------------------------------------------------------- test hook
FAULT_ENV = "KERNELKIT_TEST_FAULT"


def _test_fault(unit: dict) -> None:
    """Misbehave as ``$KERNELKIT_TEST_FAULT`` says (tests only; unset: nothing).

    The variable holds JSON ``{"match": {field: value}, "action": ..., "once": path}``
    (or a list of such faults):
    a unit whose fields match runs ``action``: ``"exit"`` (the process dies),
    ``"sleep:S"``, ``"raise"`` or ``"oom"`` (raises MemoryError). With ``once``,
    only the first attempt faults (it creates the file ``once``), so the retry
    succeeds.
    """
    spec = os.environ.get(FAULT_ENV)
    if not spec:
        return
    faults = json.loads(spec)
    for fault in faults if isinstance(faults, list) else [faults]:
        _apply_fault(fault, unit)


def _apply_fault(fault: dict[str, Any], unit: dict) -> None:
    if any(str(unit.get(k)) != str(v) for k, v in fault.get("match", {}).items()):
        return
    once = fault.get("once")
    if once:
        try:
            os.close(os.open(once, os.O_CREAT | os.O_EXCL))
        except FileExistsError:
            return
    action = fault["action"]
    if action == "exit":
        os._exit(3)
    if action.startswith("sleep:"):
        time.sleep(float(action.split(":", 1)[1]))
    elif action == "oom":
        raise MemoryError("test fault: out of memory")
    elif action == "raise":
        raise RuntimeError("test fault")
