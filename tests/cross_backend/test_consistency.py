"""JAX, PyTorch and TensorFlow give the same kernels, KARE values and gradients.

Each backend runs tests/cross_backend/worker.py in its own process on the same
committed data and weights (fixture.npz). Every backend must run: a backend
that cannot be imported fails this test, it is never skipped.
"""

from __future__ import annotations

import itertools
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

HERE = pathlib.Path(__file__).parent
BACKENDS = ("jax", "torch", "tensorflow")
TOL = {"float32": 1e-5, "float64": 1e-10}
#: Named upstream limits (Keras 3.15.1), measured in tests/test_ntk_implementations.py:
#: the "jacobian" NTK runs the model's own Keras forward pass, and in float64
#: torch's Dense matmul runs in float32 (keras issue 23704), so torch's float64
#: Jacobian path is float32-accurate (K ~1e-7, KARE gradient ~1e-6: tested at
#: the float32 tolerance), and TensorFlow's tf.nn.gelu is accurate to ~2e-9
#: (~1e-8 in the NTK).
UPSTREAM = {("ntk-jacobian", "float64", "torch"): TOL["float32"],
            ("ntk-jacobian", "float64", "tensorflow"): 1e-7}


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> dict:
    out_dir = tmp_path_factory.mktemp("cross_backend")
    env_common = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    procs = {}
    for backend in BACKENDS:
        env = {**env_common, "KERAS_BACKEND": backend, "JAX_ENABLE_X64": "1"}
        procs[backend] = subprocess.run(
            [sys.executable, str(HERE / "worker.py"), str(HERE / "fixture.npz"),
             str(out_dir / f"{backend}.npz")],
            capture_output=True, text=True, env=env, timeout=900,
        )
    failed = {b: p.stderr[-3000:] for b, p in procs.items() if p.returncode != 0}
    assert not failed, f"backends that did not run: {failed}"
    loaded = {b: dict(np.load(out_dir / f"{b}.npz")) for b in BACKENDS}
    for b in BACKENDS:
        assert str(loaded[b].pop("backend")) == b, "a worker ran on the wrong backend"
    return loaded


def test_every_backend_ran_every_quantity(results):
    keys = [set(r) for r in results.values()]
    assert all(k == keys[0] for k in keys)
    names = {k.split("/")[0] for k in keys[0]}
    assert names == {"ntk-structured", "ntk-jacobian", "gaussian", "anisotropic",
                     "laplace", "laplace-metric"}
    assert any("/grad" in k for k in keys[0])


def _quantities(result: dict) -> dict:
    """K, KARE and the whole gradient (all variables, flattened) per kernel/dtype.

    A gradient is compared as one vector, relative to its largest entry: one
    variable's gradient can be a near-cancelling sum (the Laplace bandwidth's
    is 2e-4 against 0.5 for the metric's), where float32 rounding alone gives
    a 3e-5 error relative to itself on every backend alike.
    """
    out = {}
    for key in sorted(result):
        name, dtype, what = key.split("/")
        if what.startswith("grad"):
            prev = out.get(f"{name}/{dtype}/grad", np.zeros(0))
            out[f"{name}/{dtype}/grad"] = np.concatenate([prev, result[key].ravel()])
        else:
            out[key] = result[key]
    return out


def test_backends_agree(results):
    worst = {}
    failures = []
    quantities = {b: _quantities(r) for b, r in results.items()}
    for a, b in itertools.combinations(BACKENDS, 2):
        for key in quantities[a]:
            name, dtype, _ = key.split("/")
            x = quantities[a][key].astype(np.float64)
            y = quantities[b][key].astype(np.float64)
            err = float(np.abs(x - y).max() / max(np.abs(y).max(), 1e-300))
            tol = max(TOL[dtype], UPSTREAM.get((name, dtype, a), 0.0),
                      UPSTREAM.get((name, dtype, b), 0.0))
            worst[(name, dtype)] = max(worst.get((name, dtype), 0.0), err)
            if not err <= tol:
                failures.append(f"{key} {a} vs {b}: {err:.2e} > {tol:.0e}")
    print("worst relative difference per kernel and dtype:")
    for (name, dtype), err in sorted(worst.items()):
        print(f"  {name:16s} {dtype}: {err:.2e}")
    assert not failures, "\n".join(failures)
