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

import itertools
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

HERE = pathlib.Path(__file__).parent
BACKENDS = ("jax", "torch", "tensorflow")
TOL = 1e-6


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> dict:
    out_dir = tmp_path_factory.mktemp("cross_backend_seed")
    env_common = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    env_common.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    procs = {b: subprocess.Popen(
        [sys.executable, str(HERE / "seed_worker.py"), str(out_dir / f"{b}.npz")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**env_common, "KERAS_BACKEND": b, "JAX_ENABLE_X64": "1"}) for b in BACKENDS}
    failed = {}
    for backend, proc in procs.items():
        try:
            _, err = proc.communicate(timeout=600)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
            err = "timed out after 600 s\n" + err
        if proc.returncode != 0:
            failed[backend] = err[-3000:]
    assert not failed, f"backends that did not run: {failed}"
    loaded = {b: dict(np.load(out_dir / f"{b}.npz")) for b in BACKENDS}
    for b in BACKENDS:
        assert str(loaded[b].pop("backend")) == b, "a worker ran on the wrong backend"
    return loaded


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
    worst, failures = {}, []
    for a, b in itertools.combinations(BACKENDS, 2):
        for key in sorted(k for k in results[a] if k.startswith("fit/")):
            x, y = results[a][key].astype(np.float64), results[b][key].astype(np.float64)
            assert x.shape == y.shape, key
            err = float(np.abs(x - y).max() / max(np.abs(y).max(), 1e-300))
            worst[key] = max(worst.get(key, 0.0), err)
            if not err <= TOL:
                failures.append(f"{key} {a} vs {b}: {err:.2e} > {TOL:.0e}")
    print("\nworst pairwise relative difference, NTK-KARE fit from random_state=0 (float64):")
    for key, err in sorted(worst.items()):
        print(f"  {key:14s} {err:.2e}")
    assert set(worst) == {"fit/pred", "fit/kare", "fit/ridge", "fit/weights"}
    assert not failures, "\n".join(failures)
