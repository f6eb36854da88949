"""The runner of the cross-backend tests: one worker process per backend, and the comparison.

Each test in this folder runs a worker script once per backend, each in its own
process (``KERAS_BACKEND`` set, JAX in x64 mode), side by side; every backend
must run (one that fails to start or to finish fails the test, none is
skipped). The workers write ``.npz`` files whose entries are compared pairwise.
"""

from __future__ import annotations

import itertools
import os
import pathlib
import subprocess
import sys
from typing import Callable

import numpy as np

from kernelkit._backend_choice import BACKENDS

HERE = pathlib.Path(__file__).parent


def run_workers(worker: str, args: list[str], out_dir: pathlib.Path, *,
                timeout: int = 600) -> dict[str, dict[str, np.ndarray]]:
    """Run ``HERE/worker *args OUT`` on every backend, side by side; load what each wrote.

    ``OUT`` is ``out_dir/<backend>.npz``; the worker must store its backend's
    name under ``"backend"`` (checked, then dropped).
    """
    env_common = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    env_common.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # Each process is mostly single-threaded.
    procs = {b: subprocess.Popen(
        [sys.executable, str(HERE / worker), *args, str(out_dir / f"{b}.npz")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**env_common, "KERAS_BACKEND": b, "JAX_ENABLE_X64": "1"}) for b in BACKENDS}
    failed = {}
    for backend, proc in procs.items():
        try:
            _, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
            err = f"timed out after {timeout} s\n" + err
        if proc.returncode != 0:
            failed[backend] = err[-3000:]
    assert not failed, f"backends that did not run: {failed}"
    loaded = {b: dict(np.load(out_dir / f"{b}.npz")) for b in BACKENDS}
    for b in BACKENDS:
        assert str(loaded[b].pop("backend")) == b, "a worker ran on the wrong backend"
    return loaded


def compare_pairwise(results: dict[str, dict[str, np.ndarray]],
                     tol: float | Callable[[str, str, str], float],
                     keys: Callable[[str], bool] = lambda key: True,
                     ) -> tuple[dict[str, float], list[str]]:
    """Relative differences ``max|x - y| / max|y|`` (float64) of every entry, every pair.

    Args:
        results: ``{backend: {key: array}}``.
        tol: The tolerance, or a function ``(key, backend_a, backend_b) -> tolerance``.
        keys: Which entries to compare.

    Returns:
        ``(worst difference per key, failure lines)``.
    """
    worst: dict[str, float] = {}
    failures = []
    for a, b in itertools.combinations(BACKENDS, 2):
        for key in sorted(k for k in results[a] if keys(k)):
            x, y = results[a][key].astype(np.float64), results[b][key].astype(np.float64)
            assert x.shape == y.shape, f"{key}: {a} {x.shape} vs {b} {y.shape}"
            err = float(np.abs(x - y).max() / max(np.abs(y).max(), 1e-300))
            limit = tol(key, a, b) if callable(tol) else tol
            worst[key] = max(worst.get(key, 0.0), err)
            if not err <= limit:
                failures.append(f"{key} {a} vs {b}: {err:.2e} > {limit:.0e}")
    return worst, failures
