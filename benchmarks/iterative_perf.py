"""One KARE value-and-gradient on the iterative path at large n: time, CG iterations, memory.

Usage::

    python -m kernelkit.benchmarks.iterative_perf --backend torch \\
        --cases gaussian:4000 gaussian:16000 gaussian:60000 ntk:4000 ntk:16000

Each case runs in a fresh process (its peak resident memory is its own), on
the paper's synthetic task (eq. 9, d = 10), float32 by default, one thread:
the Gaussian kernel (bandwidth sqrt(d)) or the NTK of an MLP of depth 3 and
width 512 (GELU; P = 530,945). Printed per case: the route of the products
with K, the preconditioner rank, the CG iterations of the two solves, the
products with K, the time of the whole value-and-gradient, of one product
with the ``[Y, probes]`` block (65 columns), of the preconditioner and of the
gradient's part (``<K, U V^T>`` differentiated through the kernel, 66
columns), and the peak resident memory. ``--products-only`` skips the KARE
step and times only those three parts (for sizes whose step would take
hours); ``--step-only`` runs the KARE step alone (for sizes whose parts are
already measured). The parts let the cost of sizes not run be estimated: a
step is about one 65-column product per iteration of the first solve, one
1-column product per iteration of the second (``beta``), the preconditioner
and the gradient's part.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time

from kernelkit.benchmarks._workers import run_worker, worker_env


#: The kernels a case may name.
KINDS = ("gaussian", "ntk")


def worker(kind: str, n: int, dtype: str, step: bool = True, parts: bool = True) -> dict:
    """One case: the KARE step unless ``step=False``, then the parts unless ``parts=False``."""
    import numpy as np

    import kernelkit as kk
    from kernelkit import backends
    from kernelkit.backends import to_numpy
    from kernelkit.data import make_synthetic
    from kernelkit.solvers import Iterative
    from kernelkit.solvers.matvec import KernelOperator
    from kernelkit.solvers.pcg import NystromPreconditioner

    backends.set_threads(1)
    X, y, _, _ = make_synthetic(n, 10, d=10, gamma=1.0, sigma=0.0, seed=0)
    X, y = X.astype(dtype), y.astype(dtype)
    if kind == "ntk":
        kernel = kk.NTK(kk.mlp(10, depth=3, width=512, seed=0, dtype=dtype))
    else:
        kernel = kk.GaussianKernel(float(np.sqrt(10)), dtype=dtype)
    kernel(X[:1])
    settings = Iterative()
    row: dict = {"kernel": kind, "n": n, "dtype": dtype,
                 "P": kernel.num_features(10) if kernel.has_features else None}
    if step:
        t0 = time.perf_counter()
        value, grads, info = kk.kare_value_and_grad(kernel, X, y, solver=settings,
                                                    return_info=True)
        [to_numpy(g) for g in grads]
        row.update(time_s=time.perf_counter() - t0, iterations=info["iterations"],
                   products=info["products"], kare=float(to_numpy(value)),
                   kare_error=info["kare_error"], route=info["route"], rank=info["rank"],
                   peak_rss_mb=_peak_rss_mb())
    if not parts:
        return row
    values = [v.value for v in kernel.trainable_variables]
    op = KernelOperator(kernel, values, X, columns=settings.probes + 1)
    rank = settings.preconditioner_rank(n, np.dtype(dtype).itemsize)
    V = np.random.default_rng(0).normal(size=(n, settings.probes + 1)).astype(dtype)
    t0 = time.perf_counter()
    to_numpy(op.matmul(V))
    product = time.perf_counter() - t0
    t0 = time.perf_counter()
    NystromPreconditioner(op, rank, 0)
    pre = time.perf_counter() - t0
    # The gradient's part: <K, U V^T> through the kernel, U and V of [alpha, beta, W]'s width.
    U, V = np.random.default_rng(1).normal(size=(2, n, settings.probes + 2)).astype(dtype)
    t0 = time.perf_counter()
    [to_numpy(g) for g in op.surrogate_grad(U, V)]
    row.update(route=op.route, rank=rank, product_s=product, preconditioner_s=pre,
               gradient_s=time.perf_counter() - t0,
               peak_rss_mb=_peak_rss_mb())
    return row


def _cell(row: dict, key: str, width: int) -> str:
    """``row[key]`` to two decimals, or ``-`` where the part was not timed."""
    return f"{row[key]:{width}.2f}" if key in row else f"{'-':>{width}s}"


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="+",
                        default=["gaussian:4000", "gaussian:16000", "gaussian:60000",
                                 "ntk:4000", "ntk:16000"])
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--backend", default=os.environ.get("KERAS_BACKEND", "jax"),
                        help="Keras backend of the workers (default: $KERAS_BACKEND, else jax)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--products-only", action="store_true",
                      help="time one product, the preconditioner and the gradient's part "
                           "only, not the KARE step (for sizes whose step is too long to run)")
    mode.add_argument("--step-only", action="store_true",
                      help="run the KARE step only, not the parts timed after it")
    parser.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        kind, n, dtype, step = args.worker
        print(json.dumps(worker(kind, int(n), dtype, step != "product", step != "step-only")),
              flush=True)
        return 0
    cases = [case.partition(":") for case in args.cases]
    bad = [a + b + c for a, b, c in cases if a not in KINDS or not c.isdigit()]
    if bad:
        parser.error(f"cases are KIND:N with KIND one of {', '.join(KINDS)}; got {' '.join(bad)}")
    import platform

    print(f"backend {args.backend}, {args.dtype}, one thread, "
          f"{platform.machine()} {os.cpu_count()} cores; z = 0.1, Iterative() defaults")
    print("kernel    n        route     rank  CG its     products  time_s   product_s  "
          "precond_s  gradient_s  peak RSS MB  KARE (est. error)")
    env = worker_env(args.backend, args.dtype, threads=1)
    for kind, _, n in cases:
        rows, error = run_worker("kernelkit.benchmarks.iterative_perf",
                                 ["--worker", kind, n, args.dtype,
                                  "product" if args.products_only
                                  else "step-only" if args.step_only else "step"], env)
        if not rows:
            print(f"{kind:9s} {n:8s} failed: {error.splitlines()[-1:]}")
            continue
        r = rows[0]
        step = (f"{str(r['iterations']):10s} {r['products']:5d}  {r['time_s']:8.1f}"
                if "time_s" in r else f"{'-':10s} {'-':>5s}  {'-':>8s}")
        kare = f"{r['kare']:.5f} ({r['kare_error']:.1e})" if "kare" in r else "-"
        print(f"{r['kernel']:9s} {r['n']:<8d} {r['route']:9s} {r['rank']:4d}  {step}  "
              f"{_cell(r, 'product_s', 8)}  {_cell(r, 'preconditioner_s', 8)}  "
              f"{_cell(r, 'gradient_s', 10)}  {r['peak_rss_mb']:10.0f}  "
              f"{kare}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
