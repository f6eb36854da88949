"""The end-to-end example behind ``kernelkit example``."""

from __future__ import annotations

import time

import numpy as np
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

RIDGES = (1e-3, 1e-2, 1e-1, 1.0)


def run_example(n_train: int, epochs: int, learning_rate: float, seed: int) -> None:
    """Train an NTK on KARE and compare KRR test MSE before and after."""
    import kernelkit as kk
    from kernelkit.data import make_synthetic
    from kernelkit.defaults import DEFAULT_Z
    from kernelkit.training import fit_kare

    console = Console(stderr=True)
    X, y, Xt, yt = make_synthetic(n_train, 1000, d=10, gamma=1.0, sigma=0.0, seed=seed)
    X, y, Xt, yt = (a.astype("float32") for a in (X, y, Xt, yt))
    model = kk.mlp(10, depth=1, width=64, activation="gelu", seed=seed)
    ntk = kk.NTK(model)
    before = kk.KernelRidge(kk.NTK(kk.mlp(10, depth=1, width=64, seed=seed)), 1.0).fit(X, y)
    mse_before = ((before.predict_path(Xt, RIDGES) - yt) ** 2).mean(axis=1)
    start = time.perf_counter()
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("KARE training", total=epochs)
        history = fit_kare(ntk, X, y, epochs=epochs, learning_rate=learning_rate,
                           callback=lambda epoch, logs: progress.update(task, advance=1))
    seconds = time.perf_counter() - start
    after = kk.KernelRidge(ntk, 1.0).fit(X, y)
    mse_after = ((after.predict_path(Xt, RIDGES) - yt) ** 2).mean(axis=1)
    out = Console()
    out.print(f"backend {kk.backends.BACKEND}; n={n_train}, d=10, depth 1, width 64, GELU, "
              f"z={DEFAULT_Z}, lr={learning_rate}, {len(history.kare)} epochs in {seconds:.1f} s")
    out.print(f"KARE: {history.kare[0]:.4g} -> {history.kare[-1]:.4g}"
              + (f" (stopped: {history.reason})" if history.stopped_early else ""))
    table = Table(title="KRR test MSE on 1000 test points")
    table.add_column("ridge (lam_tilde)")
    table.add_column("NTK at init")
    table.add_column("NTK-KARE")
    for r, b, a in zip(RIDGES, mse_before, mse_after):
        table.add_row(f"{r:g}", f"{b:.4f}", f"{a:.4f}")
    out.print(table)
    out.print(f"variance of the test targets: {np.var(yt):.4f}")
