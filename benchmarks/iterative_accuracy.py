"""The iterative path against the dense path: KARE, its gradient and KRR predictions.

Usage::

    KERAS_BACKEND=torch python -m kernelkit.benchmarks.iterative_accuracy            # n = 2000
    KERAS_BACKEND=torch python -m kernelkit.benchmarks.iterative_accuracy --n 1000 \\
        --dtypes float64 --no-sweep

On the paper's synthetic task (eq. 9, d = 10), for the NTK (depth 2, width 64,
GELU: P = 5,057 > n), Gaussian, Laplace and anisotropic kernels, it prints,
at the default `kernelkit.solvers.Iterative` settings and for each dtype:
KARE's relative error, the gradient's cosine and relative error, KRR's
prediction relative error (ridge 1e-3 x tr(K)/n^2 and 1e-1), the CG
iterations, the estimated KARE error and the times of both paths. Then
(float64) a sweep of how the errors fall with the tolerance, the probes and
the trace estimator (mean over 3 probe seeds).
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("JAX_ENABLE_X64", "1")


def _kernels(d: int, dtype: str) -> dict:
    import numpy as np

    import kernelkit as kk

    rng = np.random.default_rng(1)
    A = rng.normal(size=(d, d)) / d
    return {
        "ntk": lambda: kk.NTK(kk.mlp(d, depth=2, width=64, seed=0, dtype=dtype)),
        "gaussian": lambda: kk.GaussianKernel(float(np.sqrt(d)), dtype=dtype),
        "laplace": lambda: kk.LaplaceKernel(float(np.sqrt(d)), dtype=dtype),
        "anisotropic": lambda: kk.AnisotropicKernel(M=np.eye(d) / d + A @ A.T, dtype=dtype),
    }


def _flat(grads: list):  # noqa: ANN202
    import numpy as np

    from kernelkit.backends import to_numpy

    return np.concatenate([np.asarray(to_numpy(g), dtype=np.float64).ravel() for g in grads])


def compare(kernel, X, y, Xt, solver, dense=None) -> dict:  # noqa: ANN001
    """One iterative-vs-dense comparison (``dense``: cached dense results)."""
    import numpy as np

    import kernelkit as kk
    from kernelkit.backends import to_numpy

    if dense is None:
        t0 = time.perf_counter()
        vd, gd = kk.kare_value_and_grad(kernel, X, y, solver="dense")
        dense = {"value": float(to_numpy(vd)), "grad": _flat(gd),
                 "time": time.perf_counter() - t0}
        for ridge in (1e-3, 1e-1):
            dense[ridge] = kk.KernelRidge(kernel, ridge=ridge, solver="dense").fit(X, y).predict(Xt)
    t0 = time.perf_counter()
    vi, gi, info = kk.kare_value_and_grad(kernel, X, y, solver=solver, return_info=True)
    elapsed = time.perf_counter() - t0
    g = _flat(gi)
    row = {"kare_rel": abs(float(to_numpy(vi)) - dense["value"]) / abs(dense["value"]),
           "cos": float(g @ dense["grad"] / (np.linalg.norm(g) * np.linalg.norm(dense["grad"]))),
           "grad_rel": float(np.linalg.norm(g - dense["grad"]) / np.linalg.norm(dense["grad"])),
           "est_rel": info["kare_error"] / abs(dense["value"]), "iters": info["iterations"],
           "rank": info["rank"], "route": info["route"], "time": elapsed,
           "dense_time": dense["time"]}
    return row, dense


def krr_errors(kernel, X, y, Xt, dense, solver) -> dict:  # noqa: ANN001
    import numpy as np

    import kernelkit as kk

    out = {}
    for ridge in (1e-3, 1e-1):
        model = kk.KernelRidge(kernel, ridge=ridge, solver=solver).fit(X, y)
        p = model.predict(Xt)
        out[ridge] = (float(np.linalg.norm(p - dense[ridge]) / np.linalg.norm(dense[ridge])),
                      model.solver_info_["iterations"][0])
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--dtypes", nargs="+", default=["float64", "float32"])
    parser.add_argument("--kernels", nargs="+", default=["ntk", "gaussian", "laplace",
                                                          "anisotropic"])
    parser.add_argument("--no-sweep", action="store_true")
    args = parser.parse_args(argv)
    import keras

    from kernelkit import backends
    from kernelkit.data import make_synthetic
    from kernelkit.solvers import Iterative

    backends.set_threads(1)
    print(f"backend {keras.backend.backend()}, n = {args.n}, d = 10, one thread, z = 0.1")
    X64, y64, Xt64, _ = make_synthetic(args.n, 500, d=10, gamma=1.0, sigma=0.0, seed=0)
    cache = {}
    print("kernel       dtype    KARE rel  est.rel   grad cos    grad rel  KRR 1e-3 (it)   "
          "KRR 1e-1 (it)   CG its   rank route     t_iter  t_dense")
    for dtype in args.dtypes:
        X, y, Xt = X64.astype(dtype), y64.astype(dtype), Xt64.astype(dtype)
        for name in args.kernels:
            kernel = _kernels(10, dtype)[name]()
            kernel(X[:1])
            row, dense = compare(kernel, X, y, Xt, "iterative")
            cache[name, dtype] = (kernel, dense)
            krr = krr_errors(kernel, X, y, Xt, dense, "iterative")
            print(f"{name:12s} {dtype:8s} {row['kare_rel']:.2e}  {row['est_rel']:.2e}  "
                  f"{row['cos']:.7f}  {row['grad_rel']:.2e}  {krr[1e-3][0]:.2e} ({krr[1e-3][1]:3d})"
                  f"  {krr[1e-1][0]:.2e} ({krr[1e-1][1]:3d})  {str(row['iters']):8s} "
                  f"{row['rank']:4d} {row['route']:8s} {row['time']:6.2f}s {row['dense_time']:6.2f}s",
                  flush=True)
    if args.no_sweep or "float64" not in args.dtypes:
        return 0
    print("\nsweep (float64; mean over probe seeds 0-2): KARE rel error / gradient cosine "
          "/ gradient rel error")
    print("kernel       trace       tol     probes  KARE rel  grad cos    grad rel  CG its")
    X, y, Xt = X64, y64, Xt64
    for name in [k for k in ("gaussian", "anisotropic", "ntk") if k in args.kernels]:
        kernel, dense = cache[name, "float64"]
        for trace in ("hutchinson", "deflated"):
            for tol in (1e-4, 1e-6, 1e-8):
                for probes in (16, 64, 256):
                    rows = [compare(kernel, X, y, Xt, Iterative(
                        tol=tol, probes=probes, trace=trace, seed=seed, warm_start=False),
                        dense)[0] for seed in range(3)]
                    mean = {k: sum(r[k] for r in rows) / 3 for k in ("kare_rel", "cos",
                                                                       "grad_rel")}
                    print(f"{name:12s} {trace:10s} {tol:.0e}  {probes:5d}   "
                          f"{mean['kare_rel']:.2e}  {mean['cos']:.7f}  {mean['grad_rel']:.2e}  "
                          f"{rows[0]['iters']}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
