"""Kernels, KARE and KRR against independent float64 numpy oracles."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import ACTIVATIONS, jacobian_f64_tolerance, mlp_weights, numpy_fd_jacobian, numpy_kare, rel_err
from sklearn.kernel_ridge import KernelRidge as SkKernelRidge

import kernelkit as kk
from kernelkit.testing import to_numpy


def one_hidden_layer_ntk(W1, b1, W2, x1, x2, activation: str) -> np.ndarray:
    """Closed-form NTK of s(x W1 + b1) W2 + b2 averaged over the k outputs.

    grad wrt W2, b2: a(x).a(x') + 1 (for every output);
    grad wrt W1, b1: (x.x' + 1) sum_i s'(h_i) s'(h'_i) W2[i, j]^2 for output j.
    s' by a central difference of the numpy activation: independent of kernelkit.
    """
    s = ACTIVATIONS[activation]
    eps = 1e-6
    h1, h2 = x1 @ W1 + b1, x2 @ W1 + b1
    d1 = (s(h1 + eps) - s(h1 - eps)) / (2 * eps)
    d2 = (s(h2 + eps) - s(h2 - eps)) / (2 * eps)
    outer = s(h1) @ s(h2).T + 1.0
    inner = x1 @ x2.T + 1.0
    k = W2.shape[1]
    hidden = sum((d1 * W2[:, j]) @ (d2 * W2[:, j]).T for j in range(k)) / k
    return outer + inner * hidden


@pytest.mark.parametrize("implementation", ["structured", "jacobian"])
@pytest.mark.parametrize("activation,k", [("tanh", 1), ("gelu", 1), ("relu", 3), ("sigmoid", 2)])
def test_one_hidden_layer_ntk_matches_closed_form(implementation, activation, k, rng):
    model = kk.mlp(4, depth=1, width=16, activation=activation, output_dim=k, seed=3,
                   dtype="float64")
    (W1, b1), (W2, _) = mlp_weights(model)
    x1, x2 = rng.normal(size=(11, 4)), rng.normal(size=(7, 4))
    expected = one_hidden_layer_ntk(W1, b1, W2, x1, x2, activation)
    got = kk.NTK(model, implementation)(x1, x2)
    # 1e-8: the oracle's s' is a central difference (error ~1e-10 relative).
    tol = 1e-8
    if implementation == "jacobian":
        tol = max(tol, jacobian_f64_tolerance(activation))
    assert rel_err(got, expected) < tol


def test_deep_ntk_matches_finite_difference_jacobian(rng):
    model = kk.mlp(3, depth=3, width=5, activation="tanh", output_dim=2, seed=4,
                   dtype="float64")
    x = rng.normal(size=(6, 3))
    J = numpy_fd_jacobian(mlp_weights(model), "tanh", x)
    expected = np.einsum("akp,bkp->ab", J, J) / J.shape[1]
    assert rel_err(kk.NTK(model, "structured")(x), expected) < 1e-8


def test_stationary_kernels_match_numpy(rng):
    x1, x2 = rng.normal(size=(9, 3)), rng.normal(size=(5, 3))
    diff = x1[:, None, :] - x2[None, :, :]
    A = rng.normal(size=(3, 3))
    M = A @ A.T
    maha = np.einsum("ijd,de,ije->ij", diff, M, diff)
    cases = [
        (kk.GaussianKernel(1.3, dtype="float64"), np.exp(-(diff**2).sum(-1) / 1.3**2)),
        (kk.AnisotropicKernel(M=M, dtype="float64"), np.exp(-maha)),
        (kk.AnisotropicKernel(dtype="float64"), np.exp(-(diff**2).sum(-1) / 3)),
        (kk.LaplaceKernel(2.5, dtype="float64"), np.exp(-np.sqrt((diff**2).sum(-1)) / 2.5)),
        (kk.LaplaceKernel(10.0, M=M, dtype="float64"), np.exp(-np.sqrt(maha) / 10.0)),
    ]
    for kernel, expected in cases:
        assert rel_err(kernel(x1, x2), expected) < 1e-12, type(kernel).__name__


@pytest.mark.parametrize("columns", [None, 1, 3])
def test_kare_matches_formula(columns, rng):
    n = 30
    X = rng.normal(size=(n, 4))
    K = np.exp(-((X[:, None] - X[None]) ** 2).sum(-1) / 4)
    Y = rng.normal(size=(n,) if columns is None else (n, columns))
    for z in (1e-3, 0.1, 10.0):
        assert rel_err(kk.kare(K, Y, z), numpy_kare(K, Y, z)) < 1e-10


def test_kare_equals_gcv_of_krr(rng):
    """KARE(y, K, z) = GCV of KRR with ridge n z: f = K (K + n z I)^-1 y."""
    n, z = 40, 0.05
    X = rng.normal(size=(n, 3))
    K = X @ X.T + (X @ X.T) ** 2
    y = rng.normal(size=n)
    H = K @ np.linalg.inv(K + n * z * np.eye(n))
    resid = y - H @ y
    gcv = (resid @ resid / n) / (np.trace(np.eye(n) - H) / n) ** 2
    assert rel_err(kk.kare(K, y, z), np.array(gcv)) < 1e-10


@pytest.mark.parametrize("multi", [False, True])
def test_kernel_ridge_matches_sklearn(multi, rng):
    n, m = 50, 12
    X, Xt = rng.normal(size=(n, 3)), rng.normal(size=(m, 3))
    y = rng.normal(size=(n, 2) if multi else n)
    kernel = kk.GaussianKernel(2.0, dtype="float64")
    K = to_numpy(kernel(X))
    Kt = to_numpy(kernel(Xt, X))
    ridge = 1e-2
    lam = ridge * np.trace(K) / n**2
    ref = SkKernelRidge(alpha=n * lam, kernel="precomputed").fit(K, y).predict(Kt)
    model = kk.KernelRidge(kernel, ridge=ridge).fit(X, y)
    got = model.predict(Xt)
    assert isinstance(got, np.ndarray) and got.shape == ref.shape
    assert rel_err(got, ref) < 1e-9
    assert model.lam_ == pytest.approx(lam, rel=1e-12)


def test_ridge_paths_match_single_fits(rng):
    n = 40
    X, Xt = rng.normal(size=(n, 2)), rng.normal(size=(9, 2))
    y = np.sin(X.sum(1))
    kernel = kk.LaplaceKernel(1.0, dtype="float64")
    ridges = [1e-4, 1e-2, 1.0, 100.0]
    model = kk.KernelRidge(kernel, ridge=1.0).fit(X, y)
    path = model.predict_path(Xt, ridges)
    kares = model.kare_path(ridges)
    K = to_numpy(kernel(X))
    for i, r in enumerate(ridges):
        single = kk.KernelRidge(kernel, ridge=r).fit(X, y).predict(Xt)
        assert rel_err(path[i], single) < 1e-8
        lam = r * np.trace(K) / n**2
        assert rel_err(np.array(kares[i]), np.array(numpy_kare(K, y, lam))) < 1e-8
