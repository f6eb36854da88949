"""Recursive Feature Machines: AGOP vs numpy float64 oracles, learning, sklearn behaviour."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import rel_err
from sklearn.exceptions import NotFittedError

import kernelkit as kk
from kernelkit.estimators import RFMClassifier, RFMRegressor, laplace_agop
from kernelkit.testing import to_numpy

# ----------------------------------------------------------- numpy oracles


def np_laplace(A: np.ndarray, B: np.ndarray, L: float, M: np.ndarray) -> np.ndarray:
    """``exp(-||a - b||_M / L)`` from the differences themselves (no expansion)."""
    D = A[:, None, :] - B[None, :, :]
    return np.exp(-np.sqrt(np.maximum(np.einsum("ijd,de,ije->ij", D, M, D), 0.0)) / L)


def np_krr_alpha(X, Y, L, M, reg):
    """RFM's KRR: ``alpha = (K + reg I)^-1 Y``, ``f(x) = k(x, X) alpha``."""
    return np.linalg.solve(np_laplace(X, X, L, M) + reg * np.eye(len(X)), Y)


def np_agop_closed(X, alpha, L, M):
    """AGOP from the closed-form gradient, one point and one centre at a time."""
    n, d = X.shape
    out = np.zeros((d, d))
    for i in range(n):
        G = np.zeros((alpha.shape[1], d))
        for j in range(n):
            v = X[i] - X[j]
            r = np.sqrt(v @ M @ v)
            if r > 0:
                G += np.outer(alpha[j], -np.exp(-r / L) / (L * r) * (M @ v))
        out += G.T @ G
    return out / n


def np_agop_fd(X, alpha, L, M, h=1e-5):
    """AGOP from central finite differences of the KRR predictor.

    At ``x = X[i]`` the term ``k(x, X[i])`` is even in the step, so central
    differences give it the zero gradient of the convention.
    """
    n, d = X.shape

    def f(x):
        return (np_laplace(x[None, :], X, L, M) @ alpha)[0]

    out = np.zeros((d, d))
    for i in range(n):
        G = np.stack([(f(X[i] + h * e) - f(X[i] - h * e)) / (2 * h) for e in np.eye(d)], 1)
        out += G.T @ G
    return out / n


@pytest.fixture
def problem():
    rng = np.random.default_rng(0)
    n, d = 40, 5
    X = rng.normal(size=(n, d))
    Y = np.stack([np.sin(X[:, 0]), X[:, 1] * X[:, 2]], 1)
    A = rng.normal(size=(d, d))
    return X, Y, A @ A.T / d


# ------------------------------------------------------------------ AGOP


@pytest.mark.parametrize("bandwidth", [1.0, 10.0])
@pytest.mark.parametrize("metric", ["identity", "random"])
def test_agop_matches_numpy_oracles(problem, bandwidth, metric):
    X, Y, Mr = problem
    n, d = X.shape
    M = np.eye(d) if metric == "identity" else Mr
    alpha = np_krr_alpha(X, Y, bandwidth, M, reg=1e-3)
    # kernelkit's KernelRidge with ridge=reg solves the same system: alpha = dual_coef_ / n.
    krr = kk.KernelRidge(kk.LaplaceKernel(bandwidth, M=M, trainable=False, dtype="float64"),
                         ridge=1e-3).fit(X, Y)
    assert rel_err(to_numpy(krr.dual_coef_) / n, alpha) < 1e-10
    got = to_numpy(laplace_agop(X, alpha, bandwidth, M, dtype="float64"))
    assert got.dtype == np.float64
    closed, fd = np_agop_closed(X, alpha, bandwidth, M), np_agop_fd(X, alpha, bandwidth, M)
    assert rel_err(closed, fd) < 1e-6  # the oracles agree with each other
    assert rel_err(got, closed) < 1e-12  # measured <= 2e-14
    assert rel_err(got, fd) < 1e-6  # measured <= 3e-10
    np.testing.assert_array_equal(got, got.T)


def test_agop_single_output_duplicates_and_default_metric(problem):
    X, Y, _ = problem
    X = X.copy()
    X[5] = X[2]  # a duplicate point: R = 0 off the diagonal, no NaN
    alpha = Y[:, 1] - Y[:, 0]
    got = to_numpy(laplace_agop(X, alpha, 2.0, dtype="float64"))
    assert np.isfinite(got).all()
    assert rel_err(got, np_agop_closed(X, alpha[:, None], 2.0, np.eye(5))) < 1e-12
    assert rel_err(got, to_numpy(laplace_agop(X, alpha[:, None], 2.0, np.eye(5),
                                              dtype="float64"))) == 0.0


def test_agop_bad_inputs():
    X = np.random.default_rng(2).normal(size=(6, 2))
    with pytest.raises(kk.InputError, match="dual must have shape"):
        laplace_agop(X, np.ones(5), 1.0)
    with pytest.raises(kk.InputError, match="M must have shape"):
        laplace_agop(X, np.ones(6), 1.0, np.eye(3))
    with pytest.raises(kk.InputError, match="semi-definite"):
        laplace_agop(X, np.ones(6), 1.0, -np.eye(2))
    with pytest.raises(kk.InputError, match="bandwidth"):
        laplace_agop(X, np.ones(6), 0.0)
    with pytest.raises(kk.InputError):
        laplace_agop(np.full((6, 2), np.nan), np.ones(6), 1.0)


# ------------------------------------------------------------- estimators


def test_fit_matches_numpy_rfm(problem):
    """Two RFM iterations against the plain numpy algorithm (float64)."""
    X, Y, _ = problem
    L, reg = 10.0, 1e-3
    M = np.eye(X.shape[1])
    for _ in range(2):
        M = np_agop_closed(X, np_krr_alpha(X, Y, L, M, reg), L, M)
    model = RFMRegressor(bandwidth=L, iterations=2, ridge=reg, dtype="float64").fit(X, Y)
    assert rel_err(model.M_, M) < 1e-8
    Xt = np.random.default_rng(5).normal(size=(7, X.shape[1]))
    expected = np_laplace(Xt, X, L, M) @ np_krr_alpha(X, Y, L, M, reg)
    assert rel_err(model.predict(Xt), expected) < 1e-8
    assert len(model.history_) == 3 and model.n_features_in_ == X.shape[1]
    assert isinstance(model.kernel_, kk.LaplaceKernel) and not model.kernel_.trainable


@pytest.fixture
def wide():
    """300 + 400 points with 10 features (float32 fits: the default dtype)."""
    rng = np.random.default_rng(0)
    return rng.normal(size=(300, 10)), rng.normal(size=(400, 10))


def test_rfm_learns_a_low_dimensional_target(wide):
    X, Xt = wide

    def f(Z):
        return np.sin(2 * Z[:, 0]) + Z[:, 0]

    rfm = RFMRegressor(iterations=3).fit(X, f(X))
    plain = RFMRegressor(iterations=0).fit(X, f(X))  # Laplace KRR, M = I
    np.testing.assert_array_equal(plain.M_, np.eye(10))
    assert rfm.M_.dtype == np.float64 and rfm.M_.shape == (10, 10)
    assert rfm.M_[0, 0] / np.trace(rfm.M_) > 0.95  # measured 0.9999
    mse_rfm = np.mean((rfm.predict(Xt) - f(Xt)) ** 2)
    mse_plain = np.mean((plain.predict(Xt) - f(Xt)) ** 2)
    assert mse_rfm < 0.2 * mse_plain  # measured 0.0055 vs 0.33


def test_diag_keeps_only_the_diagonal(problem):
    X, Y, _ = problem
    full = RFMRegressor(iterations=2, dtype="float64").fit(X, Y)
    diag = RFMRegressor(iterations=2, diag=True, dtype="float64").fit(X, Y)
    off = diag.M_ - np.diag(np.diag(diag.M_))
    assert np.count_nonzero(off) == 0 and np.all(np.diag(diag.M_) > 0)
    assert np.abs(full.M_ - np.diag(np.diag(full.M_))).max() > 0
    # The first update is the same AGOP; diag keeps its diagonal.
    one_full = RFMRegressor(iterations=1, dtype="float64").fit(X, Y).M_
    one_diag = RFMRegressor(iterations=1, diag=True, dtype="float64").fit(X, Y).M_
    np.testing.assert_allclose(np.diag(one_diag), np.diag(one_full), rtol=1e-12)


def test_classifier_with_string_labels(wide):
    X, Xt = wide

    def labels(Z):
        return np.array(["low", "mid", "high"])[np.digitize(Z[:, 1], [-0.5, 0.5])]

    clf = RFMClassifier(iterations=3).fit(X, labels(X))
    assert list(clf.classes_) == ["high", "low", "mid"]
    assert clf.decision_function(Xt).shape == (400, 3)
    assert set(clf.predict(Xt)) <= {"low", "mid", "high"}
    assert clf.score(Xt, labels(Xt)) > 0.9  # measured 0.96
    assert clf.M_[1, 1] / np.trace(clf.M_) > 0.9  # measured 0.995
    assert not hasattr(clf, "predict_proba")
    yb = np.where(X[:, 0] > 0, "yes", "no")
    binary = RFMClassifier(iterations=2).fit(X, yb)
    assert binary.decision_function(Xt).shape == (400,)
    assert binary.score(Xt, np.where(Xt[:, 0] > 0, "yes", "no")) > 0.9


def test_bad_input_and_bad_parameters(problem):
    X, Y, _ = problem
    y = Y[:, 0]
    with pytest.raises(NotFittedError):
        RFMRegressor().predict(X)
    with pytest.raises(NotFittedError):
        RFMClassifier().decision_function(X)
    bad = X.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        RFMRegressor(iterations=1, dtype="float64").fit(bad, y)
    model = RFMRegressor(iterations=1, dtype="float64").fit(X, y)
    with pytest.raises(ValueError, match="NaN"):
        model.predict(bad)
    with pytest.raises(ValueError, match="features"):
        model.predict(X[:, :2])
    for params in ({"iterations": -1}, {"iterations": 1.5}, {"bandwidth": 0.0},
                   {"bandwidth": np.inf}, {"ridge": "gcv"}):
        with pytest.raises(ValueError):
            RFMRegressor(**params).fit(X, y)


def test_ridge_kare_and_get_params(problem):
    X, Y, _ = problem
    model = RFMRegressor(iterations=1, ridge="kare", dtype="float64").fit(X, Y)
    assert model.krr_.ridge_ in kk.ridge.DEFAULT_RIDGE_GRID
    assert RFMClassifier().get_params() == {
        "bandwidth": 10.0, "iterations": 5, "ridge": 1e-3, "diag": False, "dtype": "float32",
        "solver": "auto"}
