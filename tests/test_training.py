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
    # Restored: the weights before the last good step, where KARE was last computed.
    restored = float(to_numpy(kk.kare(kernel(X.astype("float32")), y.astype("float32"))))
    assert restored == pytest.approx(history.step_kare[-1], rel=1e-4)
    # The restored kernel still gives a finite KRR.
    pred = kk.KernelRidge(kernel, ridge=1e-3).fit(X.astype("float32"), y.astype("float32")).predict(
        X[:5].astype("float32"))
    assert np.isfinite(pred).all()


def test_mini_batches_shuffle_and_fixed_order():
    X, y = _synthetic(50, 2)

    def run(shuffle, seed):
        kernel = kk.GaussianKernel(2.0, dtype="float64")
        history = fit_kare(kernel, X, y, epochs=3, learning_rate=0.05, batch_size=16,
                           shuffle=shuffle, seed=seed)
        return history, float(to_numpy(kernel.log_bandwidth))

    h1, w1 = run(True, 0)
    h2, w2 = run(True, 0)
    h3, w3 = run(True, 1)
    h4, _ = run(False, 0)
    # 50 points in batches of 16: 3 full batches and one of 2 per epoch.
    assert len(h1.step_kare) == 12 and len(h1.kare) == 3
    assert h1.step_kare == h2.step_kare and w1 == w2          # same seed, same run
    assert h1.step_kare != h3.step_kare                       # another shuffle
    assert h4.step_kare[:4] != h1.step_kare[:4]
    assert np.allclose(h1.kare, [np.mean(h1.step_kare[i:i + 4]) for i in (0, 4, 8)])
    # Unshuffled: the first batch is always X[:16], so its first value is KARE there.
    first = float(to_numpy(kk.kare(kk.GaussianKernel(2.0, dtype="float64")(X[:16]), y[:16])))
    assert h4.step_kare[0] == pytest.approx(first, rel=1e-12)


def _float32(X, y):
    """float32 data for the float32 kernels below (float64 data would warn)."""
    return X.astype("float32"), y.astype("float32")


def test_batch_size_must_allow_kare():
    X, y = _float32(*_synthetic(10, 3))
    with pytest.raises(kk.InputError, match="batch_size"):
        fit_kare(kk.GaussianKernel(1.0), X, y, batch_size=1)


def test_integer_learning_rate_is_a_float_and_bad_ones_are_named():
    """learning_rate=5 trains like 5.0 (Keras alone refuses an int); 0 and "x" are InputErrors."""
    X, y = _float32(*_synthetic(20, 3))
    losses = [fit_kare(kk.GaussianKernel(1.0), X, y, epochs=3, learning_rate=rate).kare
              for rate in (1, 1.0)]
    np.testing.assert_allclose(losses[0], losses[1], rtol=1e-6)
    assert losses[0][-1] != losses[0][0]  # it did train
    for bad in (0, -1.0, "x", float("nan")):
        with pytest.raises(kk.InputError, match="learning_rate"):
            fit_kare(kk.GaussianKernel(1.0), X, y, epochs=1, learning_rate=bad)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_compiled_step_equals_eager_step(optimizer):
    X, y = _synthetic(40, 4)

    def run(compiled):
        ntk = kk.NTK(kk.mlp(5, depth=1, width=8, seed=1, dtype="float64"))
        history = fit_kare(ntk, X, y, epochs=4, learning_rate=1.0 if optimizer == "sgd" else 0.01,
                           optimizer=optimizer, batch_size=16, compiled=compiled)
        return history, [to_numpy(v) for v in ntk.trainable_variables]

    (h1, w1), (h2, w2) = run(True), run(False)
    np.testing.assert_allclose(h1.step_kare, h2.step_kare, rtol=1e-10)
    for a, b in zip(w1, w2):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


def test_validation_mse_matches_krr_oracle_and_logs():
    X, y = _synthetic(60, 5)
    Xv, yv = _synthetic(30, 6)
    logs = []
    kernel = kk.GaussianKernel(2.0, dtype="float64")
    history = fit_kare(kernel, X, y, z=0.1, epochs=3, learning_rate=0.05,
                       validation_data=(Xv, yv), callback=lambda e, log: logs.append(log))
    assert [sorted(log) for log in logs] == [["kare", "val_mse"]] * 3
    assert [log["val_mse"] for log in logs] == history.val_mse
    # numpy oracle of the last epoch's validation MSE: KRR with absolute ridge z.
    K = to_numpy(kernel(X)).astype(np.float64)
    alpha = np.linalg.solve(K / len(X) + 0.1 * np.eye(len(X)), y)
    pred = to_numpy(kernel(Xv, X)) @ alpha / len(X)
    assert history.val_mse[-1] == pytest.approx(np.mean((pred - yv) ** 2), rel=1e-9)


def test_bad_validation_data():
    X, y = _float32(*_synthetic(20, 7))
    with pytest.raises(kk.InputError, match="pair"):
        fit_kare(kk.GaussianKernel(1.0), X, y, validation_data=X)
    with pytest.raises(kk.InputError, match="features"):
        fit_kare(kk.GaussianKernel(1.0), X, y, validation_data=(X[:, :2], y))


def test_kernel_without_trainable_variables():
    X, y = _float32(*_synthetic(20, 8))
    fixed = kk.GaussianKernel(1.0, trainable=False)
    assert fit_kare(fixed, X, y, epochs=0).kare == []
    with pytest.raises(kk.InputError, match="no trainable variables"):
        fit_kare(fixed, X, y, epochs=3)


def test_fits_of_one_structure_share_a_compiled_step_and_match_a_fresh_one():
    """A second fit of the same architecture reuses the compiled step (JAX) and
    gives exactly what a fit with its own, freshly compiled step gives."""
    from kernelkit import _kare_step, backends

    rng = np.random.default_rng(3)
    X = rng.normal(size=(30, 3)).astype("float32")
    y = np.sin(X[:, 0]).astype("float32")

    def fit(seed):
        ntk = kk.NTK(kk.mlp(3, depth=1, width=8, seed=seed))
        return ntk, fit_kare(ntk, X, y, epochs=3, learning_rate=5.0, solver="dense")

    _kare_step._COMPILED_STEPS.clear()
    fit(0)
    cached = len(_kare_step._COMPILED_STEPS)
    ntk_b, hist_b = fit(1)
    assert len(_kare_step._COMPILED_STEPS) == cached  # no new entry: reused
    if backends.prefers_compiled_calls():
        assert cached == 1
    _kare_step._COMPILED_STEPS.clear()
    ntk_c, hist_c = fit(1)
    np.testing.assert_array_equal(hist_b.step_kare, hist_c.step_kare)
    for a, b in zip(ntk_b.trainable_variables, ntk_c.trainable_variables):
        np.testing.assert_array_equal(to_numpy(a), to_numpy(b))
