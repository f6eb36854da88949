"""Compute K, KARE and its gradient for every kernel on one backend.

Usage: KERAS_BACKEND=<backend> python worker.py FIXTURE OUT
Writes OUT (npz) with keys "<kernel>/<dtype>/<K|kare|grad0|grad1...>".
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("JAX_ENABLE_X64", "1")

import numpy as np  # noqa: E402

import kernelkit as kk  # noqa: E402
from kernelkit import kare_value_and_grad  # noqa: E402
from kernelkit.testing import to_numpy  # noqa: E402

Z = 0.1


def kernels(f: dict, dtype: str) -> dict:
    depth = sum(1 for k in f if k.startswith("W")) - 1
    d, width = f["W0"].shape

    def ntk(implementation: str) -> kk.NTK:
        model = kk.mlp(d, depth=depth, width=width, activation="gelu", seed=0, dtype=dtype)
        model.set_weights([f[f"{p}{i}"].astype(dtype) for i in range(depth + 1) for p in "Wb"])
        return kk.NTK(model, implementation)

    return {
        "ntk-structured": ntk("structured"),
        "ntk-jacobian": ntk("jacobian"),
        "gaussian": kk.GaussianKernel(1.7, dtype=dtype),
        "anisotropic": kk.AnisotropicKernel(M=f["M"], dtype=dtype),
        "laplace": kk.LaplaceKernel(2.5, dtype=dtype),
        "laplace-metric": kk.LaplaceKernel(4.0, M=f["M"], dtype=dtype),
    }


def main(fixture: str, out: str) -> None:
    f = dict(np.load(fixture))
    results = {}
    for dtype in ("float32", "float64"):
        X, Y = f["X"].astype(dtype), f["Y"].astype(dtype)
        for name, kernel in kernels(f, dtype).items():
            results[f"{name}/{dtype}/K"] = to_numpy(kernel(X))
            value, grads = kare_value_and_grad(kernel, X, Y, z=Z)
            results[f"{name}/{dtype}/kare"] = to_numpy(value)
            for i, g in enumerate(grads):
                results[f"{name}/{dtype}/grad{i}"] = to_numpy(g)
    np.savez(out, backend=np.array(kk.backends.BACKEND), **results)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
