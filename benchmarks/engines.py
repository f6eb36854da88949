"""Engines: where a suite's units run. The runner plans, skips and records; engines execute.

An engine's ``run(units, on_start)`` yields ``(unit, rows)`` as units finish,
in any order; ``on_start(unit)`` is called when a unit is handed to a worker.
A unit whose attempt raised (out of memory, a bug), outlived ``timeout``
seconds or whose worker died is retried once, then yields one row with status
``failed``, ``timeout`` or ``oom`` and the reason: a sweep never stops for a
unit. Only the driver writes results, so a run resumes on any engine.

- `LocalEngine`: in this process. It cannot stop a unit that hangs or kill
  one that crashes the process; `make_engine` uses a one-worker `PoolEngine`
  instead when a ``--unit-timeout`` is set.
- `PoolEngine`: spawned worker processes on this machine (``--workers N``),
  restarted when one dies or is killed for a timeout.
- `RayEngine`: Ray tasks on a cluster (``--address``) or on a local one it
  starts and stops (127.0.0.1, no dashboard).

Example:
    >>> from kernelkit.benchmarks.engines import LocalEngine  # doctest: +SKIP
    >>> for unit, rows in LocalEngine("float32").run(units):  # doctest: +SKIP
    ...     print(unit["method"], rows[0]["status"])
"""

from __future__ import annotations

import collections
import os
import time
from typing import Callable, Iterable, Iterator, Protocol

from kernelkit.benchmarks.unitrun import classify, describe, failure_rows, run_unit
from kernelkit.errors import InputError

ENGINES = ("local", "ray")
RAY_INSTALL = 'pip install "kernelkit[ray]"'
Result = tuple[dict, list[dict]]
OnStart = Callable[[dict], None]


class Engine(Protocol):
    """What the runner needs of an engine."""

    name: str

    def run(self, units: Iterable[dict], on_start: OnStart | None = None) -> Iterator[Result]: ...
    def close(self) -> None: ...


class _Retries:
    """Retry-once bookkeeping shared by the engines."""

    def __init__(self, engine: str) -> None:
        self.engine = engine
        self.attempts: collections.Counter = collections.Counter()

    def failed(self, unit: dict, status: str, reason: str, host: str = "") -> list[dict] | None:
        """``None``: run the unit again; else its failure rows (the second failure)."""
        key = id(unit)
        self.attempts[key] += 1
        if self.attempts[key] < 2:
            return None
        return [{**row, "engine": self.engine}
                for row in failure_rows(unit, status, f"{reason} (tried twice)", host)]

    def ok(self, unit: dict, rows: list[dict]) -> Result:
        self.attempts.pop(id(unit), None)
        return unit, [{**row, "engine": self.engine} for row in rows]


class LocalEngine:
    """Units one after the other in this process.

    Args:
        dtype: ``"float32"`` or ``"float64"``.
    """

    name = "local"

    def __init__(self, dtype: str) -> None:
        self.dtype = dtype

    def run(self, units: Iterable[dict], on_start: OnStart | None = None) -> Iterator[Result]:
        retries = _Retries(self.name)
        for unit in units:
            while True:
                if on_start:
                    on_start(unit)
                try:
                    yield retries.ok(unit, run_unit(unit, self.dtype, in_process=True))
                    break
                except Exception as err:  # noqa: BLE001 - a failed unit is a row
                    rows = retries.failed(unit, classify(err), describe(err))
                    if rows is not None:
                        yield unit, rows
                        break

    def close(self) -> None:
        pass


def worker_setup(env: dict, threads: int) -> None:
    """A worker process: the driver's backend, device and threads, before any framework."""
    os.environ.update(env)
    from kernelkit.benchmarks._framework import load_only
    from kernelkit._environment import apply_threads, limit_threads_env

    backend = env.get("KERAS_BACKEND", "tensorflow")
    limit_threads_env(threads)
    load_only(backend)
    apply_threads(threads)
    import kernelkit.benchmarks.methods  # noqa: F401 - imports keras before a unit's clock
    import kernelkit.estimators  # noqa: F401


def worker_env(env: dict) -> dict:
    """The environment workers get: the driver's settings and, in tests, the fault hook."""
    from kernelkit.benchmarks.unitrun import FAULT_ENV

    extra = {FAULT_ENV: os.environ[FAULT_ENV]} if os.environ.get(FAULT_ENV) else {}
    return {**env, **extra}


def deadline(timeout: float | None) -> float:
    """The monotonic time at which a unit started now times out (inf: never)."""
    return time.monotonic() + timeout if timeout else float("inf")


def make_engine(engine: str, *, dtype: str, env: dict, threads: int, workers: int | None,
                timeout: float | None = None, address: str | None = None,
                cpus_per_unit: float = 1.0, gpus_per_unit: float = 0.0) -> Engine:
    """The engine named ``engine`` (``"local"`` or ``"ray"``) for these options.

    ``local`` runs in this process, or in a pool of ``workers`` processes when
    ``workers > 1`` or a ``timeout`` is set (a hung unit can only be stopped in
    a process of its own).

    Raises:
        InputError: Unknown engine, or ``ray`` without Ray installed.

    Example:
        >>> from kernelkit.benchmarks.engines import make_engine
        >>> make_engine("local", dtype="float32", env={}, threads=1, workers=1).name
        'local'
    """
    if engine == "local":
        if (workers or 1) <= 1 and not timeout:
            return LocalEngine(dtype)
        from kernelkit.benchmarks.pool import PoolEngine

        return PoolEngine(workers or 1, dtype, worker_env(env), threads, timeout)
    if engine == "ray":
        from kernelkit.benchmarks.rayengine import RayEngine

        return RayEngine(dtype, worker_env(env), threads, workers=workers, timeout=timeout,
                         address=address, cpus_per_unit=cpus_per_unit,
                         gpus_per_unit=gpus_per_unit)
    raise InputError(f"unknown engine {engine!r}; choose one of {ENGINES}.")
