"""KernelRidge beyond the oracle: staleness, failed refits, paths, array-likes, clone, pickle."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest
from helpers import rel_err
from sklearn.base import clone

import kernelkit as kk


@pytest.fixture
def data():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(40, 3))
    return X, np.sin(X @ np.ones(3)), rng.normal(size=(7, 3))


def test_predicting_after_the_kernel_changed_is_refused(data):
    X, y, Xt = data
    kernel = kk.GaussianKernel(1.0, dtype="float64")
    model = kk.KernelRidge(kernel, ridge=1e-2).fit(X, y)
    before = model.predict(Xt)
    kernel.log_bandwidth.assign(np.log(2.0))
    with pytest.raises(kk.InputError, match="changed after fit"):
        model.predict(Xt)
    with pytest.raises(kk.InputError, match="changed after fit"):
        model.predict_path(Xt, [1e-2])
    after = model.fit(X, y).predict(Xt)
    assert rel_err(after, before) > 1e-3


def test_failed_refit_keeps_the_previous_fit(data):
    X, y, Xt = data
    model = kk.KernelRidge(kk.GaussianKernel(1.0, dtype="float64"), ridge=1e-2).fit(X, y)
    before = model.predict(Xt)
    with pytest.raises(kk.InputError):
        model.fit(X[:7], y[:6])
    with pytest.raises(kk.InputError):
        model.set_params(ridge=-1.0).fit(X[:7], y[:7])
    np.testing.assert_array_equal(model.predict(Xt), before)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_path_multi_output_and_small_ridges(dtype, data):
    X, y, Xt = (a.astype(dtype) for a in data)  # data in the kernel's dtype: no downcast
    Y = np.stack([y, np.cos(X[:, 0])], axis=1)
    kernel = kk.LaplaceKernel(2.0, dtype=dtype)
    model = kk.KernelRidge(kernel, ridge=1.0).fit(X, Y)
    ridges = [1e-6, 1e-3, 1.0]
    path = model.predict_path(Xt, ridges)
    assert path.shape == (3, 7, 2)
    tol = 1e-3 if dtype == "float32" else 1e-8
    for r, p in zip(ridges[1:], path[1:]):
        assert rel_err(p, kk.KernelRidge(kernel, ridge=r).fit(X, Y).predict(Xt)) < tol
    assert np.abs(path).max() < 10 * np.abs(Y).max()
    with pytest.raises(kk.InputError, match="> 0"):
        model.predict_path(Xt, [0.0])


def test_array_likes_are_accepted(data):
    X, y, Xt = data
    model = kk.KernelRidge(kk.GaussianKernel(1.0, dtype="float64"), 1e-2)
    a = model.fit(X.tolist(), y.tolist()).predict(Xt.tolist())
    b = model.fit(X, y).predict(Xt)
    np.testing.assert_allclose(a, b, rtol=1e-12)


@pytest.mark.parametrize("make", [
    lambda: kk.GaussianKernel(1.0, dtype="float64"),
    lambda: kk.AnisotropicKernel(M=np.eye(3), dtype="float64"),
    lambda: kk.LaplaceKernel(2.0, dtype="float64"),
    lambda: kk.NTK(kk.mlp(3, depth=1, width=8, seed=0, dtype="float64")),
])
def test_clone_and_pickle(make, data):
    X, y, Xt = data
    model = kk.KernelRidge(make(), ridge=1e-2)
    cloned = clone(model)
    assert type(cloned.kernel) is type(model.kernel) and cloned.kernel is not model.kernel
    assert cloned.get_params()["ridge"] == 1e-2
    fitted = model.fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_allclose(restored.predict(Xt), fitted.predict(Xt), rtol=1e-10)


def test_ridge_chosen_by_kare(data):
    """ridge="kare" picks the grid's KARE minimiser and predicts like a fixed-ridge fit."""
    X, y, Xt = data
    kernel = kk.GaussianKernel(1.5, dtype="float64")
    grid = [1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0]
    auto = kk.KernelRidge(kernel, ridge="kare", ridge_grid=grid).fit(X, y)
    fixed = kk.KernelRidge(kernel, ridge=1.0).fit(X, y)
    expected = fixed.kare_path(grid)
    np.testing.assert_allclose(auto.kare_grid_, expected, rtol=1e-10)
    assert auto.ridge_ == grid[int(np.argmin(expected))]
    same = kk.KernelRidge(kernel, ridge=auto.ridge_).fit(X, y)
    assert rel_err(auto.predict(Xt), same.predict(Xt)) < 1e-8
    with pytest.raises(kk.InputError, match="'kare'"):
        kk.KernelRidge(kernel, ridge="gcv").fit(X, y)
    assert kk.KernelRidge(kernel, ridge="kare").fit(X, y).ridge_ in kk.ridge.DEFAULT_RIDGE_GRID
