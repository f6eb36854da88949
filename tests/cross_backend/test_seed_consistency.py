"""A seed is the same network on JAX, PyTorch and TensorFlow, and the same fit.

Each backend runs tests/cross_backend/seed_worker.py in its own process, with
no injected weights: ``kernelkit.mlp(seed=s)`` must give bit-identical initial
weights (numpy draws them), and a whole ``NTKKARERegressor(random_state=0,
dtype="float64")`` fit (KARE training, ridge="kare", KRR) must give the same
predictions within 1e-6 relative. Every backend must run; none is skipped.

Measured (Keras 3.15.1, CPU): weights identical; the NTK-KARE predictions,
KARE history and trained weights agree to ~1e-13.
"""

from __future__ import annotations

import pytest
from backend_runner import BACKENDS, compare_pairwise, run_workers

TOL = 1e-6


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> dict:
    return run_workers("seed_worker.py", [], tmp_path_factory.mktemp("cross_backend_seed"))


def test_seeded_weights_are_bit_identical(results):
    keys = {k for k in results["jax"] if k.startswith("weights/")}
    assert len({k.split("/")[1] for k in keys}) == 4
    for b in BACKENDS[1:]:
        assert {k for k in results[b] if k.startswith("weights/")} == keys
        for key in sorted(keys):
            a, x = results["jax"][key], results[b][key]
            assert a.dtype == x.dtype and a.shape == x.shape, key
            assert a.tobytes() == x.tobytes(), f"{key}: jax and {b} differ"


def test_ntk_kare_fit_from_a_seed_agrees(results):
    worst, failures = compare_pairwise(results, TOL, keys=lambda key: key.startswith("fit/"))
    print("\nworst pairwise relative difference, NTK-KARE fit from random_state=0 (float64):")
    for key, err in sorted(worst.items()):
        print(f"  {key:14s} {err:.2e}")
    assert set(worst) == {"fit/pred", "fit/kare", "fit/ridge", "fit/weights"}
    assert not failures, "\n".join(failures)
