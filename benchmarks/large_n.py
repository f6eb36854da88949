"""Full-batch NTK-KARE at large n on the features path: wall time, KARE curve, test error.

Usage::

    python -m kernelkit.benchmarks.large_n synthetic --n 130000 --d 10 --epochs 100
    python -m kernelkit.benchmarks.large_n synthetic --n 130000 --d 50 --epochs 1
    python -m kernelkit.benchmarks.large_n uci --data-dir ../shared/data/uci121 \\
        --name chess-krvk --fold 0 --epochs 100
    python -m kernelkit.benchmarks.large_n uci --data-dir ../shared/data/uci121 \\
        --name chess-krvk --kernel gaussian --solver iterative --epochs 5 --lr 0.05 --ridge 0.01

``synthetic`` trains the NTK of the paper's MLP (depth 1, width 64, GELU) on
eq. 9 with full-batch SGD on KARE (z = 0.1) and prints KARE every 10 steps,
the time per step and the KRR test MSE over a lam_tilde grid (2,000 test
points). ``uci`` trains the NTK-KARE classifier on the training part of one
of a data set's 4 folds (the whole training part in every step) and prints
its test accuracy; ``--kernel gaussian`` (or ``anisotropic``) trains that
kernel's bandwidth(s) on KARE instead (KernelKARE, Adam), with no feature
map, on the iterative path at this n. Both say the machine, backend, dtype and threads.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import time

LAMS = (1e-4, 1e-3, 1e-2, 1e-1, 1.0)


def _header(args: argparse.Namespace) -> None:
    import keras

    from kernelkit import backends

    print(f"machine: {platform.machine()}, {os.cpu_count()} logical CPUs; backend "
          f"{backends.BACKEND} ({backends.device_summary()}); keras {keras.__version__}; "
          f"dtype {args.dtype}; {args.threads} thread(s); solver {args.solver}", flush=True)


def _peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0 ** 2


def synthetic(args: argparse.Namespace) -> None:
    import numpy as np

    import kernelkit as kk
    from kernelkit.data import make_synthetic
    from kernelkit.training import fit_kare

    X, y, Xt, yt = make_synthetic(args.n, 2000, d=args.d, gamma=1.0, sigma=0.0, seed=0)
    X, y, Xt = X.astype(args.dtype), y.astype(args.dtype), Xt.astype(args.dtype)
    ntk = kk.NTK(kk.mlp(args.d, depth=1, width=64, seed=0, dtype=args.dtype))
    steps: list[float] = []
    start = time.perf_counter()

    def log(epoch: int, logs: dict) -> None:
        steps.append(time.perf_counter())
        if epoch % 10 == 0 or epoch == args.epochs - 1:
            print(f"  step {epoch + 1:4d}: KARE {logs['kare']:.5f}  "
                  f"({steps[-1] - start:7.1f} s)", flush=True)

    history = fit_kare(ntk, X, y, epochs=args.epochs, learning_rate=args.lr,
                       callback=log, solver=args.solver)
    train_s = time.perf_counter() - start
    per_step = np.diff([start] + steps)
    print(f"n={args.n:,} d={args.d} P={ntk.num_features(args.d)}: {len(history.kare)} "
          f"full-batch steps in {train_s:.1f} s (solver {history.solver}); first step "
          f"{per_step[0]:.2f} s (with compilation), median step {np.median(per_step):.2f} s; "
          f"KARE {history.kare[0]:.5f} -> {history.kare[-1]:.5f}"
          + (f"; stopped early: {history.reason}" if history.stopped_early else ""), flush=True)
    t0 = time.perf_counter()
    krr = kk.KernelRidge(ntk, ridge=1e-3, solver=args.solver).fit(X, y)
    path = krr.predict_path(Xt, list(LAMS))
    mse = ((path - yt[None, :]) ** 2).mean(axis=1)
    print(f"KRR fit + path over {len(LAMS)} ridges: {time.perf_counter() - t0:.1f} s; test MSE "
          + ", ".join(f"lam={lam:g}: {m:.4f}" for lam, m in zip(LAMS, mse))
          + f"; test target variance {np.var(yt):.4f}; peak RSS {_peak_gb():.2f} GB", flush=True)


def uci(args: argparse.Namespace) -> None:
    import numpy as np

    from kernelkit.data.uci import UCIScaler, load_uci
    from kernelkit.estimators import NTKKAREClassifier

    ds = load_uci(args.data_dir, args.name)
    train, test = ds.folds[args.fold]
    scaler = UCIScaler().fit(ds.X[train])
    X, Xt = scaler.transform(ds.X[train]), scaler.transform(ds.X[test])
    ridge = args.ridge if args.ridge == "kare" else float(args.ridge)
    if args.kernel == "ntk":
        est = NTKKAREClassifier(depth=1, width=64, epochs=args.epochs, learning_rate=args.lr,
                                random_state=0, dtype=args.dtype, solver=args.solver,
                                ridge=ridge)
    else:  # a stationary kernel: no feature map, so the iterative path at this n
        import kernelkit as kk
        from kernelkit.estimators import KernelKAREClassifier

        bandwidth = float(np.sqrt(ds.d))
        kernel = (kk.GaussianKernel(bandwidth) if args.kernel == "gaussian"
                  else kk.AnisotropicKernel(M=np.eye(ds.d) / bandwidth ** 2))
        est = KernelKAREClassifier(kernel, epochs=args.epochs, learning_rate=args.lr,
                                   optimizer="adam", random_state=0, dtype=args.dtype,
                                   solver=args.solver, ridge=ridge)
    start = time.perf_counter()
    est.fit(X, ds.y[train])
    fit_s = time.perf_counter() - start
    acc = float(np.mean(est.predict(Xt) == ds.y[test]))
    h = est.history_
    size = (f"P={est.kernel_.num_features(ds.d)}" if est.kernel_.has_features
            else f"kernel {args.kernel}, no feature map")
    how = "by KARE" if ridge == "kare" else "fixed"
    krr_info = est.krr_.solver_info_ or {}
    cg = f", CG iterations {krr_info.get('iterations')}" if krr_info else ""
    print(f"{args.name} fold {args.fold}: n_train={len(train):,}, n_test={len(test):,}, d={ds.d}, "
          f"{ds.n_classes} classes, {size}; {len(h.kare)} full-batch KARE steps (solver "
          f"{h.solver}) + KRR (solver {est.krr_.solver_}, ridge {est.krr_.ridge_:g} {how}{cg}) "
          f"in {fit_s:.1f} s; KARE {h.kare[0]:.4f} -> {h.kare[-1]:.4f}"
          + (f" (stopped early: {h.reason})" if h.stopped_early else "")
          + f"; test accuracy {acc:.4f}; peak RSS {_peak_gb():.2f} GB", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="task", required=True)
    for name in ("synthetic", "uci"):
        p = sub.add_parser(name)
        p.add_argument("--epochs", type=int, default=100)
        p.add_argument("--lr", type=float, default=100.0 if name == "synthetic" else 10.0)
        p.add_argument("--dtype", default="float32")
        p.add_argument("--threads", type=int, default=1)
        p.add_argument("--solver", default="features")
        if name == "synthetic":
            p.add_argument("--n", type=int, default=130_000)
            p.add_argument("--d", type=int, default=10)
        else:
            p.add_argument("--data-dir", required=True)
            p.add_argument("--name", default="chess-krvk")
            p.add_argument("--fold", type=int, default=0)
            p.add_argument("--kernel", choices=("ntk", "gaussian", "anisotropic"),
                           default="ntk", help="ntk: NTK-KARE (depth 1, width 64); "
                           "gaussian/anisotropic: KernelKARE, Adam, bandwidth sqrt(d)")
            p.add_argument("--ridge", default="kare",
                           help="lam_tilde of the KRR fit, or 'kare' (a solve per grid "
                           "value on the iterative path)")
    args = parser.parse_args(argv)
    from kernelkit._environment import apply_threads, limit_threads_env

    limit_threads_env(args.threads)
    apply_threads(args.threads)
    _header(args)
    (synthetic if args.task == "synthetic" else uci)(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
