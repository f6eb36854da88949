"""JAX, PyTorch and TensorFlow give the same kernels, KARE values and gradients.

Each backend runs tests/cross_backend/worker.py in its own process on the same
committed data and weights (fixture.npz). Every backend must run: a backend
that cannot be imported fails this test, it is never skipped.
"""

from __future__ import annotations

import numpy as np
import pytest
from backend_runner import HERE, compare_pairwise, run_workers

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
    return run_workers("worker.py", [str(HERE / "fixture.npz")],
                       tmp_path_factory.mktemp("cross_backend"), timeout=900)


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
    def tol(key: str, a: str, b: str) -> float:
        name, dtype, _ = key.split("/")
        return max(TOL[dtype], UPSTREAM.get((name, dtype, a), 0.0),
                   UPSTREAM.get((name, dtype, b), 0.0))

    by_key, failures = compare_pairwise({b: _quantities(r) for b, r in results.items()}, tol)
    worst: dict = {}
    for key, err in by_key.items():
        name, dtype, _ = key.split("/")
        worst[(name, dtype)] = max(worst.get((name, dtype), 0.0), err)
    print("worst relative difference per kernel and dtype:")
    for (name, dtype), err in sorted(worst.items()):
        print(f"  {name:16s} {dtype}: {err:.2e}")
    assert not failures, "\n".join(failures)
