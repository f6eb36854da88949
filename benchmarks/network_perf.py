"""Time of the paper's DNN training: 10,000 full-batch epochs of GD at n = 1000, per backend.

Usage::

    python -m kernelkit.benchmarks.network_perf                       # all three backends
    python -m kernelkit.benchmarks.network_perf --backends torch --epochs 10000 --old-epochs 500

Each backend runs in its own process. It trains the paper's synthetic-task
network (depth 1, width 64, GELU, d = 10, n = 1000, MSE, SGD at 0.1, full
batch) with `kernelkit.paper_mlp.fit_network` (many steps per compiled call)
and reports the wall time of the whole fit (compilation included) and of a
second fit of the same architecture (the compiled loop reused where the
backend caches it). For comparison it times the previous implementation, one
``model.train_on_batch`` call per step, for ``--old-epochs`` epochs, and
extrapolates that time linearly to ``--epochs`` (said so in the output).
Both start from the same weights; the losses after the old epochs are
compared, as a check that both train the same network.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

from kernelkit._backend_choice import BACKENDS
from kernelkit.benchmarks._workers import run_worker, worker_env


def worker(backend: str, threads: int, dtype: str, epochs: int, old_epochs: int, n: int) -> None:
    """Run the measurements on this process's backend; print one JSON line."""
    from kernelkit._environment import apply_threads, limit_threads_env

    limit_threads_env(threads)
    import keras
    import numpy as np

    from kernelkit import mlp
    from kernelkit.paper_mlp import fit_network
    from kernelkit.training import _resolve_optimizer

    setting = apply_threads(threads)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 10)).astype(dtype)
    y = (np.cos(X @ rng.normal(size=10)) / 2).astype(dtype)[:, None]
    row = {"backend": backend, "n": n, "epochs": epochs, "dtype": dtype, "threads": setting}
    times = []
    for _ in range(2):
        model = mlp(10, depth=1, width=64, seed=0, dtype=dtype)
        t0 = time.perf_counter()
        losses = fit_network(model, X, y, epochs=epochs, learning_rate=0.1, optimizer="sgd",
                             batch_size=None)
        times.append(time.perf_counter() - t0)
    row["compiled_first_s"], row["compiled_again_s"] = times
    row["final_loss"] = losses[-1]
    check = fit_network(mlp(10, depth=1, width=64, seed=0, dtype=dtype), X, y,
                        epochs=old_epochs, learning_rate=0.1, optimizer="sgd", batch_size=None)
    # The previous implementation: Keras' train_on_batch, one call per step.
    model = mlp(10, depth=1, width=64, seed=0, dtype=dtype)
    model.compile(optimizer=_resolve_optimizer("sgd", 0.1), loss=keras.losses.MeanSquaredError())
    t0 = time.perf_counter()
    for _ in range(old_epochs):
        old = float(keras.ops.convert_to_numpy(model.train_on_batch(X, y)))
    row["old_epochs"] = old_epochs
    row["old_s"] = time.perf_counter() - t0
    row["old_extrapolated_s"] = row["old_s"] * epochs / old_epochs
    row["loss_gap_at_old_epochs"] = abs(old - check[-1]) / max(abs(check[-1]), 1e-30)
    print(json.dumps(row), flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", nargs="+", default=list(BACKENDS))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--epochs", type=int, default=10000)
    parser.add_argument("--old-epochs", type=int, default=500,
                        help="epochs of the previous (per-step) implementation to time")
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker, args.threads, args.dtype, args.epochs, args.old_epochs, args.n)
        return 0
    print(f"machine: {platform.machine()}, {os.cpu_count()} logical CPUs, "
          f"{platform.processor() or platform.platform()}; dtype {args.dtype}; "
          f"{args.threads} thread(s); n = {args.n}, d = 10, depth 1, width 64, full-batch SGD "
          f"at 0.1, {args.epochs} epochs", flush=True)
    rows = []
    for backend in args.backends:
        got, error = run_worker("kernelkit.benchmarks.network_perf", [
            "--worker", backend, "--threads", str(args.threads), "--dtype", args.dtype,
            "--epochs", str(args.epochs), "--old-epochs", str(args.old_epochs), "--n",
            str(args.n)], worker_env(backend, args.dtype))
        if error:
            print(f"{backend}: failed\n{error}", file=sys.stderr)
            continue
        rows += got
    print(f"{'backend':10s} {'compiled [s]':>12s} {'again [s]':>9s} "
          f"{'old, per step [s]':>24s} {'speed-up':>8s} {'loss gap':>9s}")
    for r in rows:
        old = f"{r['old_extrapolated_s']:.1f} ({r['old_s']:.1f} for {r['old_epochs']})"
        print(f"{r['backend']:10s} {r['compiled_first_s']:12.2f} {r['compiled_again_s']:9.2f} "
              f"{old:>24s} {r['old_extrapolated_s'] / r['compiled_again_s']:7.0f}x "
              f"{r['loss_gap_at_old_epochs']:9.1e}")
    if rows:
        print("old: Keras train_on_batch per step, timed for the epochs in brackets and "
              "extrapolated linearly; loss gap: relative difference of the two "
              "implementations' training loss after those epochs.")
    return 0 if rows else 1


if __name__ == "__main__":
    sys.exit(main())
