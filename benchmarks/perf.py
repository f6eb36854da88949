"""NTK Gram matrix and KARE value-and-gradient timings per backend and implementation.

Usage::

    python -m kernelkit.benchmarks.perf                    # all three backends
    python -m kernelkit.benchmarks.perf --backends torch --threads 2 --repeats 5

Each backend runs in its own process. For every configuration and NTK
implementation it reports the median wall time of one Gram matrix
``K(X, X)`` and of one KARE value-and-gradient (second-order autodiff for the
NTK), after one warm-up call whose time (which includes tracing/compilation)
is reported too. Everything runs eagerly, as a user's call does.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from typing import Any

from kernelkit._backend_choice import BACKENDS
from kernelkit.benchmarks._workers import run_worker, worker_env

CONFIGS = [
    {"n": 1000, "d": 10, "width": 64, "depth": 1},
    {"n": 1000, "d": 576, "width": 128, "depth": 4},
]
IMPLEMENTATIONS = ("structured", "jacobian")


def _time(fn: Any, repeats: int) -> tuple[float, float]:
    t0 = time.perf_counter()
    fn()
    first = time.perf_counter() - t0
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return first, statistics.median(times)


def worker(backend: str, threads: int, repeats: int, dtype: str, configs: list) -> None:
    """Run the measurements on the current process's backend; print JSON lines."""
    from kernelkit._environment import apply_threads, limit_threads_env

    limit_threads_env(threads)
    import numpy as np

    import kernelkit as kk
    from kernelkit import kare_value_and_grad
    from kernelkit.backends import to_numpy

    setting = apply_threads(threads)
    for cfg in configs:
        rng = np.random.default_rng(0)
        X = rng.normal(size=(cfg["n"], cfg["d"])).astype(dtype)
        y = np.sin(X[:, 0]).astype(dtype)
        model = kk.mlp(cfg["d"], depth=cfg["depth"], width=cfg["width"], seed=0, dtype=dtype)
        params = sum(int(np.prod(v.shape)) for v in model.trainable_variables)
        for impl in IMPLEMENTATIONS:
            ntk = kk.NTK(model, impl)
            row = {"backend": backend, **cfg, "params": params, "implementation": impl,
                   "dtype": dtype, "threads": setting}
            try:
                row["gram_first_s"], row["gram_s"] = _time(lambda: to_numpy(ntk(X)), repeats)
                row["kare_grad_first_s"], row["kare_grad_s"] = _time(
                    lambda: [to_numpy(g) for g in kare_value_and_grad(ntk, X, y, 0.1)[1]],
                    repeats)
            except Exception as err:  # report, do not lose the other rows
                row["error"] = f"{type(err).__name__}: {str(err)[:200]}"
            print(json.dumps(row), flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", nargs="+", default=list(BACKENDS))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke test)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    configs = ([{"n": 64, "d": 10, "width": 16, "depth": 1}] if args.quick else CONFIGS)
    if args.worker:
        worker(args.worker, args.threads, args.repeats, args.dtype, configs)
        return 0
    print(f"machine: {platform.machine()}, {os.cpu_count()} logical CPUs, "
          f"{platform.processor() or platform.platform()}; dtype {args.dtype}; "
          f"{args.threads} thread(s); median of {args.repeats} after 1 warm-up", flush=True)
    rows = []
    for backend in args.backends:
        got, error = run_worker("kernelkit.benchmarks.perf", [
            "--worker", backend, "--threads", str(args.threads), "--repeats", str(args.repeats),
            "--dtype", args.dtype] + (["--quick"] if args.quick else []),
            worker_env(backend, args.dtype))
        if error:
            print(f"{backend}: failed\n{error}", file=sys.stderr)
            continue
        rows += got
    print(f"{'backend':10s} {'n':>5s} {'d':>4s} {'width':>5s} {'depth':>5s} {'P':>7s} "
          f"{'impl':10s} {'gram [s]':>9s} {'KARE+grad [s]':>13s} {'first gram/grad [s]':>20s}")
    for r in rows:
        if "error" in r:
            print(f"{r['backend']:10s} {r['n']:5d} {r['d']:4d} {r['width']:5d} {r['depth']:5d} "
                  f"{r['params']:7d} {r['implementation']:10s} error: {r['error']}")
            continue
        print(f"{r['backend']:10s} {r['n']:5d} {r['d']:4d} {r['width']:5d} {r['depth']:5d} "
              f"{r['params']:7d} {r['implementation']:10s} {r['gram_s']:9.4f} "
              f"{r['kare_grad_s']:13.4f} {r['gram_first_s']:9.2f}/{r['kare_grad_first_s']:.2f}")
    for backend in {r["backend"] for r in rows}:
        for cfg in configs:
            sel = {r["implementation"]: r for r in rows if r["backend"] == backend
                   and r["d"] == cfg["d"] and "error" not in r}
            if len(sel) == 2:
                print(f"{backend}, d={cfg['d']}: structured is "
                      f"{sel['jacobian']['gram_s'] / sel['structured']['gram_s']:.0f}x faster "
                      f"(Gram), {sel['jacobian']['kare_grad_s'] / sel['structured']['kare_grad_s']:.0f}x"
                      " (KARE+grad)")
    if rows:
        print(f"threads: {rows[0]['threads']} (and OMP/MKL/OPENBLAS_NUM_THREADS={args.threads})")
    return 0 if rows else 1


if __name__ == "__main__":
    sys.exit(main())
