"""NTK-KARE on the synthetic task with the iterative path against the dense path.

Usage::

    KERAS_BACKEND=jax python -m kernelkit.benchmarks.iterative_synthetic [--epochs 100] [--learning-rate 100]

The setting of tests/test_synthetic_task.py (n = 1,000, gamma = 1, sigma = 0,
depth 1, width 64, GELU, z = 0.1, SGD at learning rate 100, ridge 1e-2,
float32): the same network trained by KARE with ``solver="dense"`` and
``solver="iterative"`` (fit_kare and the final KRR both on that path).
Printed: test MSE of each, their ratio, final KARE, time, and the iterative
path's mean CG iterations per step. At learning rate 100 the training is
sensitive to rounding (the dense path alone ends at different test MSEs on
different backends); a smaller ``--learning-rate`` separates the solver's
error from that sensitivity.
"""

from __future__ import annotations

import argparse
import time


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--learning-rate", type=float, default=100.0)
    args = parser.parse_args(argv)
    import keras
    import numpy as np

    from kernelkit import backends
    from kernelkit.data import make_synthetic
    from kernelkit.estimators import NTKKARERegressor

    backends.set_threads(1)
    X, y, Xt, yt = make_synthetic(args.n, 1000, d=10, gamma=1.0, sigma=0.0, seed=0)
    common = dict(depth=1, width=64, activation="gelu", z=0.1, ridge=1e-2, random_state=0,
                  learning_rate=args.learning_rate, epochs=args.epochs)
    out = {}
    for solver in ("dense", "iterative"):
        t0 = time.perf_counter()
        model = NTKKARERegressor(solver=solver, **common).fit(X, y)
        elapsed = time.perf_counter() - t0
        mse = float(np.mean((model.predict(Xt) - yt) ** 2))
        its = [sum(i["iterations"]) for i in model.history_.solver_info]
        out[solver] = mse
        print(f"{keras.backend.backend():10s} {solver:9s} n={args.n} epochs={args.epochs} "
              f"lr={args.learning_rate:g} "
              f"test MSE {mse:.5f}  KARE {model.history_.kare[0]:.4f} -> "
              f"{model.history_.kare[-1]:.4f}  {elapsed:6.1f} s"
              + (f"  CG iterations/step {np.mean(its):.1f}  KRR solver {model.krr_.solver_}"
                 if its else ""), flush=True)
    print(f"iterative / dense test MSE: {out['iterative'] / out['dense']:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
