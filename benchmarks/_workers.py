"""One benchmark worker per backend: each Keras backend in its own process.

Keras fixes its backend at import, so a benchmark that compares backends runs
itself again as ``python -m MODULE --worker ...`` once per backend and reads
the JSON lines the worker prints.

Example:
    >>> from kernelkit.benchmarks._workers import worker_env
    >>> worker_env("jax", "float64")["JAX_ENABLE_X64"]
    '1'
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from kernelkit._environment import limit_threads_env


def worker_env(backend: str, dtype: str, threads: int | None = None) -> dict:
    """This process's environment for a worker of ``backend`` (and ``threads`` threads)."""
    env = {**os.environ, "KERAS_BACKEND": backend}
    if threads is not None:
        env.update(limit_threads_env(threads))
    if dtype == "float64":
        env["JAX_ENABLE_X64"] = "1"
    return env


def run_worker(module: str, args: list[str], env: dict) -> tuple[list[dict], str]:
    """Run ``python -m module *args`` and parse the lines it prints that start with ``{``.

    Returns:
        ``(rows, error)``: the parsed rows, and ``""`` or the end of stderr
        when the worker failed or printed nothing.
    """
    proc = subprocess.run([sys.executable, "-m", module, *args], capture_output=True,
                          text=True, env=env)
    rows = [json.loads(ln) for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not rows:
        return rows, (proc.stderr.strip()[-2000:] or "no output")
    return rows, ""
