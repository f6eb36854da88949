"""Bad input gets a clear error naming the problem, never a silent NaN."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import kernelkit as kk


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    # float32, the kernels' dtype here: float64 data would warn (PrecisionWarning).
    return rng.normal(size=(10, 3)).astype("float32"), rng.normal(size=10).astype("float32")


KERNELS = [
    lambda: kk.GaussianKernel(1.0),
    lambda: kk.LaplaceKernel(1.0),
    lambda: kk.AnisotropicKernel(),
    lambda: kk.NTK(kk.mlp(3, depth=1, width=4, seed=0)),
]


@pytest.mark.parametrize("make", KERNELS)
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_kernel_rejects_non_finite(make, bad, data):
    X, _ = data
    X = X.copy()
    X[2, 1] = bad
    with pytest.raises(kk.InputError, match="NaN or infinite"):
        make()(X)
    with pytest.raises(kk.InputError, match="x2 contains NaN"):
        make()(data[0], X)


@pytest.mark.parametrize("make", KERNELS)
def test_kernel_rejects_bad_shapes(make, data):
    X, _ = data
    with pytest.raises(kk.InputError, match="2-D.*reshape"):
        make()(X[:, 0])
    with pytest.raises(kk.InputError, match="0 samples"):
        make()(X[:0])
    with pytest.raises(kk.InputError, match="0 features"):
        make()(X[:, :0])
    with pytest.raises(kk.InputError, match="different numbers of features"):
        make()(X, X[:, :2])


def test_kare_rejects_bad_input(data):
    X, y = data
    K = X @ X.T
    with pytest.raises(kk.InputError, match="y has 9 rows"):
        kk.kare(K, y[:9])
    y_nan = y.copy()
    y_nan[0] = np.nan
    with pytest.raises(kk.InputError, match="y contains NaN"):
        kk.kare(K, y_nan)
    K_inf = K.copy()
    K_inf[0, 0] = np.inf
    with pytest.raises(kk.InputError, match="K contains NaN"):
        kk.kare(K_inf, y)
    with pytest.raises(kk.InputError, match="z must be finite and > 0"):
        kk.kare(K, y, z=0.0)
    with pytest.raises(kk.InputError, match="square"):
        kk.kare(K[:, :5], y)
    with pytest.raises(kk.InputError, match="square"):
        kk.kare(np.zeros((0, 0)), y[:0])


def test_kernel_ridge_rejects_bad_input(data):
    X, y = data
    model = kk.KernelRidge(kk.GaussianKernel(1.0), ridge=1e-3)
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        model.predict(X)
    with pytest.raises(kk.InputError, match="y has 9 rows"):
        model.fit(X, y[:9])
    with pytest.raises(kk.InputError, match="2-D"):
        model.fit(X[:, 0], y)
    with pytest.raises(kk.InputError, match="ridge must be finite and >= 0"):
        kk.KernelRidge(kk.GaussianKernel(1.0), ridge=-1.0).fit(X, y)
    with pytest.raises(kk.InputError, match="TrainableKernel"):
        kk.KernelRidge("rbf").fit(X, y)
    model.fit(X, y)
    with pytest.raises(kk.InputError, match="fitted with 3"):
        model.predict(X[:, :2])
    with pytest.raises(kk.InputError, match="> 0"):
        model.kare_path([0.0])


def test_cholesky_jitter_escalates_then_raises_with_remedy():
    n = 6
    v = np.ones((n, 1))
    # Rank one: K/n + z I is fine for z > 0, but a negative-definite K is not.
    with pytest.raises(kk.NumericalError, match="larger z.*float64"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", kk.JitterWarning)
            kk.kare(-np.eye(n), v[:, 0], z=0.1)
    # Slightly indefinite: a small jitter rescues it, with a warning.
    from kernelkit.solvers.linalg import cholesky

    A = v @ v.T
    A[0, 0] -= 1e-13
    with pytest.warns(kk.JitterWarning, match="succeeded after adding"):
        L = cholesky(A.astype("float64"), what="test matrix")
    assert np.isfinite(kk.testing.to_numpy(L)).all()


def test_kernel_ridge_cholesky_failure_names_remedy(data):
    X, y = data

    from keras import ops

    class Indefinite(kk.GaussianKernel):
        """2 I - 1 1^T: positive trace, eigenvalue 2 - n < 0."""

        def gram(self, x1, x2):
            n1, n2 = x1.shape[0], x2.shape[0]
            return 2.0 * ops.eye(n1, n2, dtype=x1.dtype) - ops.ones((n1, n2), dtype=x1.dtype)

    class Negative(kk.GaussianKernel):
        def gram(self, x1, x2):
            return -super().gram(x1, x2)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", kk.JitterWarning)
        with pytest.raises(kk.NumericalError, match="larger ridge"):
            kk.KernelRidge(Indefinite(1.0), ridge=1e-3).fit(X, y)
    with pytest.raises(kk.NumericalError, match="trace .* <= 0"):
        kk.KernelRidge(Negative(1.0), ridge=1e-3).fit(X, y)


def test_bad_constructor_arguments():
    with pytest.raises(kk.InputError, match="bandwidth must be positive"):
        kk.GaussianKernel(bandwidth=0.0)
    with pytest.raises(kk.InputError, match="positive semi-definite"):
        kk.AnisotropicKernel(M=-np.eye(2))
    with pytest.raises(kk.InputError, match="symmetric"):
        kk.LaplaceKernel(M=np.array([[1.0, 2.0], [0.0, 1.0]]))
    with pytest.raises(kk.InputError, match="implementation"):
        kk.NTK(kk.mlp(2), implementation="fast")
    with pytest.raises(kk.InputError, match="keras.Model"):
        kk.NTK("not a model")
    with pytest.raises(kk.InputError, match="width must be a positive integer"):
        kk.mlp(3, width=0)
