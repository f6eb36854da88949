"""One KARE value-and-gradient per solver path, backend and size: time and peak memory.

Usage::

    python -m kernelkit.benchmarks.solvers_perf                         # every backend, path, n
    python -m kernelkit.benchmarks.solvers_perf --backends jax --paths features \\
        --sizes 1000 4000 130000 --dims 10 50

Each measurement runs in a fresh process (so its peak resident memory is its
own), on the paper's synthetic task (eq. 9) with the NTK of an MLP of depth 1
and width 64 (GELU), float32 by default, one thread. It times the compiled
function a KARE training step runs (``jax.jit``, ``tf.function``; eager
PyTorch): KARE and its gradient in every network weight.

Paths:

- ``features``: the solver layer's features path (``Phi^T Phi``, linear in n);
- ``dense``: the dense path with the closed-form gradient;
- ``autodiff``: the pre-solver-layer dense step, autodiff through the
  Cholesky factorisation (``kare(stateless_gram(...))``), for comparison.

A (path, n) whose memory estimate exceeds the machine's available memory is
reported as "does not fit" without running. Printed per row: backend, path,
n, d, P, the first call (compile + run) and the median of the timed calls in
seconds, the process's peak resident memory and its resident memory before
the first call.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import time

from kernelkit._backend_choice import BACKENDS
from kernelkit.benchmarks._workers import run_worker, worker_env

SIZES = (1000, 2000, 4000, 8000, 16000, 32000, 130000)
DIMS = (10, 50)
PATHS = ("features", "dense", "autodiff")


def _rss_mb() -> float:
    with open("/proc/self/statm", encoding="ascii") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def worker(path: str, n: int, d: int, dtype: str, repeats: int) -> dict:
    """Measure one (path, n, d) in this process; returns the row."""
    import numpy as np

    import kernelkit as kk
    from kernelkit import backends
    from kernelkit.data import make_synthetic
    from kernelkit.solvers import KAREObjective, plan_solver
    from kernelkit.backends import to_numpy

    X, y, _, _ = make_synthetic(n, 10, d=d, gamma=1.0, sigma=0.0, seed=0)
    X, y = X.astype(dtype), y.astype(dtype)
    ntk = kk.NTK(kk.mlp(d, depth=1, width=64, seed=0, dtype=dtype))
    params = [v.value for v in ntk.trainable_variables]
    solver = "dense" if path == "autodiff" else path
    plan = plan_solver(ntk, n, d, dtype, solver)  # raises MemoryBudgetError if it cannot fit
    if path == "autodiff":
        def loss(p, xs, ys):
            return kk.kare(ntk.stateless_gram(p, xs), ys, 0.1)
    else:
        loss = KAREObjective(ntk, 0.1, solver)

    def step(p, xs, ys):
        with backends.no_tf32():
            return backends.value_and_grad(loss, p, xs, ys)

    fn = backends.compile_function(step)
    Xt, yt = keras_tensor(X), keras_tensor(y)
    before = _rss_mb()

    def run() -> float:
        t0 = time.perf_counter()
        value, grads = fn(params, Xt, yt)
        [to_numpy(g) for g in grads]
        float(to_numpy(value))
        return time.perf_counter() - t0

    first = run()
    times = [run() for _ in range(repeats)]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return {"backend": backends.BACKEND, "path": path, "n": n, "d": d, "P": plan.features,
            "dtype": dtype, "first_s": first, "median_s": statistics.median(times),
            "peak_rss_mb": peak, "rss_before_mb": before, "estimate_mb": plan.bytes / 1e6}


def keras_tensor(a):  # noqa: ANN001, ANN201 - a numpy array to a backend tensor
    import keras

    return keras.ops.convert_to_tensor(a)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", nargs="+", default=list(BACKENDS))
    parser.add_argument("--paths", nargs="+", default=list(PATHS), choices=PATHS)
    parser.add_argument("--sizes", nargs="+", type=int, default=list(SIZES))
    parser.add_argument("--dims", nargs="+", type=int, default=list(DIMS))
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3,
                        help="timed calls after the first (1 for n >= 8000)")
    parser.add_argument("--max-seconds", type=float, default=120.0,
                        help="skip larger n on a path once one call took longer than this")
    parser.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        path, n, d, repeats = args.worker
        from kernelkit.errors import MemoryBudgetError

        try:
            row = worker(path, int(n), int(d), args.dtype, int(repeats))
        except MemoryBudgetError as err:
            row = {"path": path, "n": int(n), "d": int(d), "error": f"does not fit: {err}"}
        print(json.dumps(row), flush=True)
        return 0
    print(f"machine: {platform.machine()}, {os.cpu_count()} logical CPUs; dtype {args.dtype}; "
          f"{args.threads} thread(s); NTK of an MLP d -> 64 -> 1 (GELU), synthetic eq. 9; "
          "one KARE value-and-gradient, compiled as in a training step", flush=True)
    print(f"{'backend':10s} {'path':9s} {'n':>7s} {'d':>3s} {'P':>6s} {'first [s]':>10s} "
          f"{'median [s]':>10s} {'peak RSS [MB]':>13s} {'RSS before':>10s} {'estimate':>9s}",
          flush=True)
    for backend in args.backends:
        env = worker_env(backend, args.dtype, args.threads)
        for d in args.dims:
            for path in args.paths:
                too_slow = False
                for n in sorted(args.sizes):
                    if too_slow:
                        print(f"{backend:10s} {path:9s} {n:7d} {d:3d} skipped: a smaller n took "
                              f"over {args.max_seconds:g} s", flush=True)
                        continue
                    repeats = 1 if n >= 8000 else args.repeats
                    rows, error = run_worker("kernelkit.benchmarks.solvers_perf", [
                        "--dtype", args.dtype, "--worker", path, str(n), str(d), str(repeats)],
                        env)
                    if not rows:
                        tail = (error.splitlines() or ["no output"])[-1][:200]
                        print(f"{backend:10s} {path:9s} {n:7d} {d:3d} failed: {tail}", flush=True)
                        too_slow = True
                        continue
                    r = rows[-1]
                    if "error" in r:
                        print(f"{backend:10s} {path:9s} {n:7d} {d:3d} {r['error'][:160]}",
                              flush=True)
                        continue
                    print(f"{backend:10s} {path:9s} {n:7d} {d:3d} {r['P']:6d} {r['first_s']:10.3f} "
                          f"{r['median_s']:10.3f} {r['peak_rss_mb']:13.0f} "
                          f"{r['rss_before_mb']:10.0f} {r['estimate_mb']:8.0f}M", flush=True)
                    too_slow = r["median_s"] > args.max_seconds
    return 0


if __name__ == "__main__":
    sys.exit(main())
