"""fit_kare lowers KARE, and divergence is stopped, recorded and undone."""

from __future__ import annotations

import numpy as np
import pytest

import kernelkit as kk
from kernelkit.testing import to_numpy
from kernelkit.training import fit_kare


def _synthetic(n, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5))
    w = rng.normal(size=5)
    t = X @ w
    return X, np.cos(t) / (1.0 + np.exp(t))


def test_ntk_kare_training_lowers_kare():
    X, y = _synthetic(80, 0)
    ntk = kk.NTK(kk.mlp(5, depth=1, width=16, seed=0, dtype="float64"))
    history = fit_kare(ntk, X, y, z=0.1, epochs=15, learning_rate=10.0)
    assert not history.stopped_early and len(history.kare) == 15
    assert history.kare[-1] < history.kare[0]


def test_divergence_stops_restores_and_records():
    X, y = _synthetic(40, 1)
    kernel = kk.NTK(kk.mlp(5, depth=2, width=8, seed=0, dtype="float32"))
    with pytest.warns(RuntimeWarning, match="stopped at step"):
        history = fit_kare(kernel, X.astype("float32"), y.astype("float32"), epochs=50,
                           learning_rate=1e20)
    assert history.stopped_early and history.stopped_at is not None
    assert "non-finite" in history.reason or "KARE failed" in history.reason
    assert len(history.kare) == history.stopped_at
    assert all(np.isfinite(to_numpy(v)).all() for v in kernel.trainable_variables)
    # The restored kernel still gives a finite KRR.
    pred = kk.KernelRidge(kernel, ridge=1e-3).fit(X, y).predict(X[:5])
    assert np.isfinite(pred).all()
