"""`RayEngine`: each unit a Ray task, on a cluster or on a local one started here.

``address`` (``"auto"`` or ``HOST:PORT``) joins a running cluster (``ray start
--head`` on the head node, ``ray start --address HEAD:PORT`` on the others;
kernelkit must be installed on every node). Without it a local cluster is
started on 127.0.0.1 with the dashboard off and ``workers`` CPUs (default:
all), and stopped by `RayEngine.close`; a Ray already initialised in this
process is used as it is. Workers get the driver's backend, device and
thread settings as the tasks' ``runtime_env`` environment variables, so they
apply before the worker imports a framework.

At most as many tasks are submitted as the cluster can run at once (its CPUs
over ``cpus_per_unit``, or its GPUs over ``gpus_per_unit``, checked every
10 s so that nodes may join). With a timeout, each task reports on a small
queue (a Ray actor holding no CPU) when its worker is set up and starts the
unit: the timeout counts from there, not from the worker's start-up.
"""

from __future__ import annotations

import os
import time
from typing import Any, Iterable, Iterator

from kernelkit.benchmarks.engines import (RAY_INSTALL, OnStart, Result, _Retries, deadline,
                                          worker_setup)
from kernelkit.benchmarks.unitrun import classify, describe, run_unit
from kernelkit.errors import InputError

_SETUP: tuple | None = None


def _task(unit: dict, dtype: str, env: dict, threads: int, started: Any, token: int) -> tuple:
    """The Ray task: ``("ok", rows)`` or ``(status, reason)``; never raises for a unit.

    Once set up, it puts ``token`` on the ``started`` queue (when there is a
    timeout): the unit's timeout counts from there, not from the worker's start.
    """
    global _SETUP
    if _SETUP != (tuple(sorted(env.items())), threads):
        worker_setup(env, threads)
        _SETUP = (tuple(sorted(env.items())), threads)
    if started is not None:
        started.put_nowait(token)
    try:
        return ("ok", run_unit(unit, dtype, in_process=False))
    except Exception as err:  # noqa: BLE001 - the driver records it
        return (classify(err), describe(err))


def import_ray() -> Any:
    """``ray``, or an `InputError` naming the install command."""
    try:
        import ray
    except ImportError:
        raise InputError(f"--engine ray needs Ray: {RAY_INSTALL}") from None
    return ray


class RayEngine:
    """Units as Ray tasks, with timeouts, retries and dead-worker recovery.

    Args:
        dtype: ``"float32"`` or ``"float64"``.
        env: Environment of the workers (backend, device, threads).
        threads: Threads per unit.
        workers: CPUs of a local cluster (default: all of this machine's).
        timeout: Seconds a unit may run (``None``: no limit).
        address: A running cluster's address (``"auto"``, ``HOST:PORT``), or
            ``None`` for a local one started and stopped here.
        cpus_per_unit, gpus_per_unit: Resources each unit asks for (fractions allowed).

    Example:
        >>> from kernelkit.benchmarks.rayengine import RayEngine  # doctest: +SKIP
        >>> engine = RayEngine("float32", {"KERAS_BACKEND": "jax"}, 1, workers=2)
        >>> results = list(engine.run(units)); engine.close()  # doctest: +SKIP
    """

    name = "ray"

    def __init__(self, dtype: str, env: dict, threads: int, *, workers: int | None = None,
                 timeout: float | None = None, address: str | None = None,
                 cpus_per_unit: float = 1.0, gpus_per_unit: float = 0.0) -> None:
        self.ray = ray = import_ray()
        if cpus_per_unit <= 0 or gpus_per_unit < 0:
            raise InputError("--cpus-per-unit must be > 0 and --gpus-per-unit >= 0.")
        self.dtype, self.threads, self.timeout = dtype, threads, timeout
        self.cpus, self.gpus = float(cpus_per_unit), float(gpus_per_unit)
        if gpus_per_unit:  # Ray assigns each task its GPUs
            env = {k: v for k, v in env.items() if k not in ("CUDA_VISIBLE_DEVICES",
                                                              "JAX_PLATFORMS")}
            env["XLA_PYTHON_CLIENT_PREALLOCATE"] = "false"
        self.env = env
        self._owned = not ray.is_initialized()  # else: the caller's Ray, left running
        if self._owned:
            common = {"log_to_driver": False, "configure_logging": False}
            if address:
                ray.init(address=address, **common)
            else:
                ray.init(num_cpus=workers or os.cpu_count() or 1, include_dashboard=False,
                         _node_ip_address="127.0.0.1", **common)
        runtime_env = {"env_vars": {k: str(v) for k, v in env.items()}}
        self._remote = ray.remote(_task).options(num_cpus=self.cpus, num_gpus=self.gpus,
                                                 max_retries=0, runtime_env=runtime_env)
        self._slots, self._checked, self._token = 1, -float("inf"), 0
        self._started = None
        if timeout:
            from ray.util.queue import Queue

            self._started = Queue(actor_options={"num_cpus": 0})

    def _capacity(self) -> int:
        """Units the cluster can run at once (refreshed every 10 s)."""
        if time.monotonic() - self._checked > 10:
            resources = self.ray.cluster_resources()
            slots = int(resources.get("CPU", 1) // self.cpus)
            if self.gpus:
                slots = min(slots, int(resources.get("GPU", 0) // self.gpus))
            if slots < 1:
                raise InputError(f"the Ray cluster has {resources.get('CPU', 0):g} CPUs and "
                                 f"{resources.get('GPU', 0):g} GPUs: not enough for one unit "
                                 "(lower --cpus-per-unit / --gpus-per-unit, or add nodes).")
            self._slots, self._checked = slots, time.monotonic()
        return self._slots

    def run(self, units: Iterable[dict], on_start: OnStart | None = None) -> Iterator[Result]:
        ray = self.ray
        queue = list(units)[::-1]
        retries = _Retries(self.name)
        pending: dict = {}  # ObjectRef -> (unit, deadline)
        tokens: dict = {}  # token -> ObjectRef, until the task reports its start
        while queue or pending:
            while queue and len(pending) < self._capacity():
                unit = queue.pop()
                self._token += 1
                ref = self._remote.remote(unit, self.dtype, self.env, self.threads,
                                          self._started, self._token)
                pending[ref], tokens[self._token] = (unit, float("inf")), ref
                if on_start:
                    on_start(unit)
            soonest = min(d for _, d in pending.values())
            wait = min(max(soonest - time.monotonic(), 0.0) + 0.01,
                       1.0 if self._started else 10.0)
            ready, _ = ray.wait(list(pending), num_returns=1, timeout=wait)
            self._note_starts(pending, tokens)
            for ref in ready:
                unit, _ = pending.pop(ref)
                outcome = self._outcome(ref)
                if outcome[0] == "ok":
                    yield retries.ok(unit, outcome[1])
                    continue
                rows = retries.failed(unit, *outcome)
                if rows is None:
                    queue.append(unit)
                else:
                    yield unit, rows
            for ref, (unit, ends) in list(pending.items()):
                if time.monotonic() >= ends:
                    ray.cancel(ref, force=True)  # kills the worker process
                    del pending[ref]
                    rows = retries.failed(unit, "timeout", f"ran over --unit-timeout "
                                          f"{self.timeout:g} s; its worker was killed")
                    if rows is None:
                        queue.append(unit)
                    else:
                        yield unit, rows

    def _note_starts(self, pending: dict, tokens: dict) -> None:
        """Start the clocks of the tasks that reported their start."""
        if self._started is None or self._started.empty():
            return
        for token in self._started.get_nowait_batch(self._started.qsize()):
            ref = tokens.pop(token, None)
            if ref in pending:
                pending[ref] = (pending[ref][0], deadline(self.timeout))

    def _outcome(self, ref: Any) -> tuple:
        exc = self.ray.exceptions
        try:
            return self.ray.get(ref)
        except exc.OutOfMemoryError as err:
            return ("oom", describe(err))
        except (exc.WorkerCrashedError, exc.NodeDiedError, exc.LocalRayletDiedError,
                exc.ObjectLostError) as err:
            return ("failed", f"Ray worker died: {describe(err)}")
        except exc.RayError as err:
            return (classify(err), describe(err))

    def close(self) -> None:
        """Shut Ray down if this engine started or joined it."""
        if self._started is not None and self.ray.is_initialized():
            self.ray.kill(self._started.actor)
            self._started = None
        if self._owned and self.ray.is_initialized():
            self.ray.shutdown()
