"""`PoolEngine`: units in spawned worker processes on this machine.

Each worker is a process of its own with a pipe to the driver; it sets the
driver's backend, device and threads before importing a framework, then runs
the units it is sent. The driver waits on the pipes and on the processes'
sentinels, so it sees a worker die at once, kills one whose unit outlives
the timeout (counted from the moment the worker starts the unit, not from
its own start-up) and starts a fresh worker in its place. On Linux a worker dies
with its driver (``PR_SET_PDEATHSIG``), so a killed driver leaves no orphans.
"""

from __future__ import annotations

import multiprocessing
import signal
import time
from multiprocessing.connection import Connection, wait
from typing import Iterable, Iterator

from kernelkit.benchmarks.engines import OnStart, Result, _Retries, deadline, worker_setup
from kernelkit.benchmarks.unitrun import classify, describe, run_unit


def _die_with_parent() -> None:
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # not Linux: a killed driver's workers exit after their unit


def _worker_main(conn: Connection, env: dict, threads: int, dtype: str) -> None:
    _die_with_parent()
    worker_setup(env, threads)
    while True:
        try:
            unit = conn.recv()
        except (EOFError, KeyboardInterrupt):
            return
        if unit is None:
            return
        try:
            conn.send(("started",))  # the unit's timeout counts from here
            conn.send(("ok", run_unit(unit, dtype, in_process=False)))
        except KeyboardInterrupt:
            return
        except Exception as err:  # noqa: BLE001 - the driver records it
            conn.send((classify(err), describe(err)))


class _Worker:
    def __init__(self, context: multiprocessing.context.BaseContext, args: tuple) -> None:
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_worker_main, args=(child, *args), daemon=True)
        self.process.start()
        child.close()
        self.unit: dict | None = None
        self.deadline = float("inf")

    def stop(self, kill: bool = False) -> None:
        if not kill:
            try:
                self.conn.send(None)
            except OSError:
                pass
            self.process.join(5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(5)
        self.conn.close()


class PoolEngine:
    """Units in ``workers`` spawned processes, with timeouts and dead-worker recovery.

    Args:
        workers: Worker processes.
        dtype: ``"float32"`` or ``"float64"``.
        env: Environment of the workers (backend, device, threads), set before
            they import a framework.
        threads: Threads per worker.
        timeout: Seconds a unit may run (``None``: no limit).

    Example:
        >>> from kernelkit.benchmarks.pool import PoolEngine  # doctest: +SKIP
        >>> engine = PoolEngine(2, "float32", {"KERAS_BACKEND": "jax"}, 1, timeout=600)
        >>> results = list(engine.run(units)); engine.close()  # doctest: +SKIP
    """

    name = "local"

    def __init__(self, workers: int, dtype: str, env: dict, threads: int,
                 timeout: float | None = None) -> None:
        self.workers, self.timeout = int(workers), timeout
        self._args = (env, threads, dtype)
        self._context = multiprocessing.get_context("spawn")
        self._pool: list[_Worker] = []

    def _spawn(self) -> _Worker:
        return _Worker(self._context, self._args)

    def run(self, units: Iterable[dict], on_start: OnStart | None = None) -> Iterator[Result]:
        queue = list(units)[::-1]  # pop() from the end: the plan's order
        retries = _Retries(self.name)
        while queue or any(w.unit is not None for w in self._pool):
            while len(self._pool) < min(self.workers, len(queue) + len(self._pool)):
                self._pool.append(self._spawn())
            for i, worker in enumerate(self._pool):
                if worker.unit is None and queue:
                    if not worker.process.is_alive():  # died between units
                        worker.stop(kill=True)
                        worker = self._pool[i] = self._spawn()
                    worker.unit = queue.pop()
                    worker.conn.send(worker.unit)
                    worker.deadline = float("inf")  # until the worker starts it
                    if on_start:
                        on_start(worker.unit)
            yield from self._collect(retries, queue)

    def _collect(self, retries: _Retries, queue: list) -> Iterator[Result]:
        busy = [w for w in self._pool if w.unit is not None]
        now = time.monotonic()
        soonest = min(w.deadline for w in busy)
        wait([w.conn for w in busy] + [w.process.sentinel for w in busy],
             timeout=None if soonest == float("inf") else max(soonest - now, 0.0) + 0.01)
        # (a "started" message also wakes this up: the loop then waits again)
        for i, worker in enumerate(self._pool):
            unit = worker.unit
            if unit is None:
                continue
            outcome = self._outcome(worker)
            if outcome is None:
                continue
            worker.unit = None
            if outcome[0] == "ok":
                yield retries.ok(unit, outcome[1])
                continue
            if outcome[0] != "reply":  # the worker is gone or was killed: replace it
                worker.stop(kill=True)
                self._pool[i] = self._spawn()
                outcome = outcome[1:]
            rows = retries.failed(unit, *outcome)
            if rows is None:
                queue.append(unit)  # next to run
            else:
                yield unit, rows

    def _outcome(self, worker: _Worker) -> tuple | None:
        """``("ok", rows)``, ``("reply", status, reason)``, ``("dead", status, reason)`` or None."""
        while worker.conn.poll():
            try:
                message = worker.conn.recv()
            except (EOFError, OSError):
                break
            if message[0] == "started":
                worker.deadline = deadline(self.timeout)
                continue
            return message if message[0] == "ok" else ("reply", *message)
        if not worker.process.is_alive():
            code = worker.process.exitcode
            how = f"signal {-code}" if code is not None and code < 0 else f"exit code {code}"
            hint = " (out of memory, or killed)" if code == -signal.SIGKILL else ""
            return ("dead", "failed", f"worker process died ({how}){hint}")
        if time.monotonic() >= worker.deadline:
            return ("dead", "timeout", f"ran over --unit-timeout {self.timeout:g} s; "
                                       "its worker was killed")
        return None

    def close(self) -> None:
        """Stop the workers (also after Ctrl-C)."""
        for worker in self._pool:
            worker.stop(kill=worker.unit is not None)
        self._pool = []
