"""The solver layer: the features path equals the dense path, the closed-form
gradient equals autodiff through the factorisation, solver choice, memory
checks before allocation, and singular systems (float64, every backend)."""

from __future__ import annotations

import platform
import time
import warnings

import keras
import numpy as np
import pytest
from helpers import rel_err
from test_gradients import _kernels as shipped_kernels

import kernelkit as kk
from kernelkit import backends, kare_value_and_grad
from kernelkit.errors import InputError, JitterWarning, MemoryBudgetError
from kernelkit.solvers import KAREObjective, plan_solver
from kernelkit.testing import to_numpy
from kernelkit.training import fit_kare

TOL = 1e-10


def _grads_close(ga, gb, tol=TOL):
    """Every variable's gradient within ``tol`` relative to the largest gradient entry."""
    scale = max(np.abs(to_numpy(g)).max() for g in gb)
    for a, b in zip(ga, gb):
        err = np.abs(to_numpy(a) - to_numpy(b)).max() / scale
        assert err <= tol, f"gradient relative difference {err:.2e}"


# (depth, width, bias, n): P < n and P > n for every depth.
NTK_CASES = [(1, 3, True, 40), (1, 12, False, 20), (2, 2, True, 40), (2, 8, True, 30),
             (3, 2, False, 50), (3, 6, True, 30), (4, 2, True, 60), (4, 5, False, 25)]


def _ntk(depth, width, bias, d=3, outputs=1, seed=3):
    return kk.NTK(kk.mlp(d, depth=depth, width=width, use_bias=bias, output_dim=outputs,
                         seed=seed, dtype="float64"), "structured")


@pytest.mark.parametrize("depth,width,bias,n", NTK_CASES)
def test_features_path_equals_dense_path(depth, width, bias, n):
    rng = np.random.default_rng(depth * 10 + width)
    X, Xt = rng.normal(size=(n, 3)), rng.normal(size=(7, 3))
    y = np.sin(X @ rng.normal(size=3))
    ntk = _ntk(depth, width, bias)
    P = ntk.num_features(3)
    assert P == int(to_numpy(ntk.feature_map(X[:2])).shape[1])
    K = to_numpy(ntk(X))
    Phi = to_numpy(ntk.feature_map(X))
    assert rel_err(Phi @ Phi.T, K) <= TOL
    vd, gd = kare_value_and_grad(ntk, X, y, solver="dense")
    vf, gf = kare_value_and_grad(ntk, X, y, solver="features")
    assert rel_err(vf, vd) <= TOL
    _grads_close(gf, gd)
    # ridge="kare" over a grid whose systems are well conditioned (at lam_tilde
    # = 1e-5 rounding alone, amplified by the condition number, reaches ~1e-10).
    grid = list(np.logspace(-3, 3, 13))
    for ridge in (1e-2, "kare"):
        dense = kk.KernelRidge(ntk, ridge=ridge, ridge_grid=grid, solver="dense").fit(X, y)
        feats = kk.KernelRidge(ntk, ridge=ridge, ridge_grid=grid, solver="features").fit(X, y)
        assert (dense.solver_, feats.solver_) == ("dense", "features")
        assert dense.ridge_ == feats.ridge_
        assert rel_err(feats.predict(Xt), dense.predict(Xt)) <= TOL
        assert rel_err(feats.dual_coef_, dense.dual_coef_) <= 1e-8  # = residual / lam
    ridges = [1e-3, 1e-2, 1.0]
    assert rel_err(feats.predict_path(Xt, ridges), dense.predict_path(Xt, ridges)) <= TOL
    # The null-space part of y enters as ||y_perp||^2 / lam^2: a difference of
    # squares, computed differently on the two paths.
    assert rel_err(feats.kare_path(ridges), dense.kare_path(ridges)) <= 1e-7


@pytest.mark.parametrize("depth,outputs,bias", [(1, 5, True), (2, 2, True), (3, 3, False)])
def test_multi_output_feature_map_stays_small_and_exact(depth, outputs, bias):
    rng = np.random.default_rng(depth)
    X = rng.normal(size=(20, 3))
    ntk = _ntk(depth, 4, bias, outputs=outputs)
    Phi = to_numpy(ntk.feature_map(X))
    assert Phi.shape[1] == ntk.num_features(3)
    assert rel_err(Phi @ Phi.T, ntk(X)) <= TOL
    if depth == 1:  # (d + 1) w + w + 1 for any number of outputs
        assert Phi.shape[1] == (3 + bias) * 4 + 4 + bias


def test_features_path_multi_output_and_multi_target():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(40, 3))
    Y = np.stack([np.sin(X[:, 0]), np.cos(X[:, 1])], axis=1)
    ntk = _ntk(2, 3, True, outputs=2)
    # Output layer [a, 1]: 4; last hidden layer, one signal: 4 * 3; first, per output: 2 * 4 * 3.
    assert ntk.num_features(3) == 4 + 12 + 24 == int(to_numpy(ntk.feature_map(X[:1])).shape[1])
    vd, gd = kare_value_and_grad(ntk, X, Y, solver="dense")
    vf, gf = kare_value_and_grad(ntk, X, Y, solver="features")
    assert rel_err(vf, vd) <= TOL
    _grads_close(gf, gd)


def test_jacobian_ntk_features_match_its_gram():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(10, 3))
    ntk = kk.NTK(kk.mlp(3, depth=2, width=4, activation="relu", seed=1, dtype="float64"),
                 "jacobian")
    Phi = to_numpy(ntk.feature_map(X))
    # float32-accurate on torch (keras issue 23704): the model's own forward pass.
    assert rel_err(Phi @ Phi.T, ntk(X)) <= (1e-6 if backends.BACKEND == "torch" else TOL)


@pytest.mark.parametrize("name", list(shipped_kernels()))
def test_closed_form_gradient_equals_autodiff_through_the_factorisation(name):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(15, 3))
    y = np.sin(X @ rng.normal(size=(3, 2 if name == "ntk-multi-output" else 1)))
    kernel = shipped_kernels()[name]()
    kernel(X[:1])
    params = [v.value for v in kernel.trainable_variables]
    value, grads = kare_value_and_grad(kernel, X, y, solver="dense")
    old_value, old_grads = backends.value_and_grad(
        lambda p, x, t: kk.kare(kernel.stateless_gram(p, x), t, 0.1), params, X, y)
    assert rel_err(value, old_value) <= TOL
    _grads_close(grads, old_grads)


@pytest.mark.parametrize("solver", ["dense", "features"])
def test_traced_objective_equals_the_eager_two_phase_one(solver):
    """The compiled step differentiates KAREObjective.__call__: same value, same gradient."""
    rng = np.random.default_rng(4)
    X = keras.ops.convert_to_tensor(rng.normal(size=(25, 3)))
    y = keras.ops.convert_to_tensor(np.cos(to_numpy(X)[:, 0]))
    ntk = _ntk(2, 3, True)
    objective = KAREObjective(ntk, 0.1, solver)
    params = [v.value for v in ntk.trainable_variables]
    v1, g1 = objective.two_phase(params, X, y)
    v2, g2 = backends.value_and_grad(objective, params, X, y)
    assert rel_err(v2, v1) <= 1e-14
    _grads_close(g2, g1, 1e-12)


class PolynomialFeatures(kk.TrainableKernel):
    """A user kernel with a feature map: (scale * x, 1)(scale * x', 1)^T."""

    def __init__(self, scale=1.0, **kwargs):
        super().__init__(**kwargs)
        self.scale = scale
        self.log_scale = self.add_weight(shape=(), initializer="zeros", name="log_scale")
        self.log_scale.assign(np.log(scale))

    def features(self, x):
        s = keras.ops.exp(self.log_scale)
        return keras.ops.concatenate([s * x, keras.ops.ones_like(x[:, :1])], axis=1)

    def gram(self, x1, x2):
        return keras.ops.einsum("ip,jp->ij", self.features(x1), self.features(x2))

    def get_config(self):
        return {**super().get_config(), "scale": self.scale}


def test_a_user_kernel_with_features_uses_the_features_path():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(30, 4))
    y = X @ rng.normal(size=4) + 0.1 * rng.normal(size=30)
    kernel = PolynomialFeatures(0.7, dtype="float64")
    assert kernel.has_features and kernel.num_features(4) == 5
    assert plan_solver(kernel, 30, 4, "float64").solver == "features"
    vd, gd = kare_value_and_grad(kernel, X, y, solver="dense")
    vf, gf = kare_value_and_grad(kernel, X, y, solver="features")
    assert rel_err(vf, vd) <= TOL
    _grads_close(gf, gd)
    history = fit_kare(kernel, X, y, epochs=3, learning_rate=0.05)
    assert history.solver == "features" and "auto" in history.solver_reason


def test_auto_chooses_by_cost_and_records_the_choice():
    ntk = _ntk(1, 4, True)  # P = 21
    assert plan_solver(ntk, n=2000, d=3, dtype="float32").solver == "features"
    assert plan_solver(ntk, n=10, d=3, dtype="float32").solver == "dense"
    assert plan_solver(kk.GaussianKernel(1.0), n=2000, d=3, dtype="float32").solver == "dense"
    rng = np.random.default_rng(6)
    X = rng.normal(size=(200, 3))
    model = kk.KernelRidge(ntk, ridge=1e-3).fit(X, X[:, 0])
    assert model.solver_ == "features" and model.solver_reason_.startswith("auto")
    history = fit_kare(_ntk(1, 4, True), X, X[:, 0], epochs=2, learning_rate=1.0)
    assert history.solver == "features"
    history = fit_kare(_ntk(1, 4, True), X, X[:, 0], epochs=1, learning_rate=1.0, batch_size=8)
    assert history.solver == "dense"  # a batch of 8 < P = 21


def test_bad_solver_arguments_are_clear_errors():
    X = np.random.default_rng(0).normal(size=(10, 2))
    with pytest.raises(InputError, match="defines no features"):
        kare_value_and_grad(kk.GaussianKernel(1.0, dtype="float64"), X, X[:, 0],
                            solver="features")
    with pytest.raises(InputError, match="defines no features"):
        kk.KernelRidge(kk.LaplaceKernel(1.0, dtype="float64"), solver="features").fit(X, X[:, 0])
    with pytest.raises(InputError, match="solver must be one of"):
        fit_kare(kk.GaussianKernel(1.0, dtype="float64"), X, X[:, 0], solver="cg")
    for z in (-1.0, 0.0, float("nan"), "a"):
        with pytest.raises(InputError, match="z must be"):
            fit_kare(kk.GaussianKernel(1.0, dtype="float64"), X, X[:, 0], z=z)


class _NeverEvaluated(kk.GaussianKernel):
    """Fails if asked for any Gram matrix larger than a build call's one row."""

    def gram(self, x1, x2):
        if x1.shape[0] > 1:  # pragma: no cover - the point is that it is never reached
            raise AssertionError("the Gram matrix was computed")
        return super().gram(x1, x2)


def test_a_request_that_cannot_fit_fails_before_allocating():
    X = np.random.default_rng(0).normal(size=(200_000, 10)).astype("float32")
    start = time.perf_counter()
    with pytest.raises(MemoryBudgetError) as info:
        kk.KernelRidge(_NeverEvaluated(1.0, dtype="float32"), solver="dense").fit(X, X[:, 0])
    message = str(info.value)
    assert "200,000 x 200,000" in message and "160 GB" in message
    assert "nothing was allocated" in message and "--max-n" in message
    assert "solver='iterative'" in message
    with pytest.raises(MemoryBudgetError, match="Gram matrix"):
        _NeverEvaluated(1.0, dtype="float32")(X)
    ntk = kk.NTK(kk.mlp(10, depth=1, width=64, seed=0))
    with pytest.raises(MemoryBudgetError, match="Gram matrix of NTK"):
        ntk(X)
    with pytest.raises(MemoryBudgetError, match="mini-batches"):
        fit_kare(_NeverEvaluated(1.0, dtype="float32"), X, X[:, 0], epochs=1, solver="dense")
    assert time.perf_counter() - start < 60  # seconds, not an allocation attempt
    # The NTK has a feature map: at this n, auto takes the features path and fits;
    # a kernel without one gets the iterative path (planned, nothing computed).
    assert plan_solver(ntk, 200_000, 10, "float32").solver == "features"
    assert plan_solver(_NeverEvaluated(1.0, dtype="float32"), 200_000, 10,
                       "float32").solver == "iterative"


def test_memory_budget_override(monkeypatch):
    monkeypatch.setenv("KERNELKIT_MEMORY_BUDGET", "1MB")
    X = np.random.default_rng(0).normal(size=(300, 3))
    with pytest.raises(MemoryBudgetError, match="KERNELKIT_MEMORY_BUDGET"):
        kk.KernelRidge(kk.GaussianKernel(1.0, dtype="float64")).fit(X, X[:, 0])
    ntk = _ntk(1, 3, True)  # features fit where dense does not
    assert kk.KernelRidge(ntk).fit(X, X[:, 0]).solver_ == "features"
    monkeypatch.setenv("KERNELKIT_MEMORY_BUDGET", "lots")
    with pytest.raises(InputError, match="not a size"):
        kk.KernelRidge(kk.GaussianKernel(1.0, dtype="float64")).fit(X, X[:, 0])


_GLIBC = platform.libc_ver()[0] == "glibc"


@pytest.mark.skipif(not _GLIBC, reason="the mmap threshold is a glibc setting")
def test_steady_heap_fixes_the_mmap_threshold_once_with_an_opt_out(monkeypatch):
    from kernelkit.solvers import memory

    def fresh(**env):
        monkeypatch.setattr(memory, "_heap_setting", None)
        for name in ("KERNELKIT_MMAP_THRESHOLD", "MALLOC_MMAP_THRESHOLD_"):
            monkeypatch.delenv(name, raising=False)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return memory.steady_heap()

    assert fresh() == memory.MMAP_THRESHOLD == 2**20
    monkeypatch.setenv("KERNELKIT_MMAP_THRESHOLD", "off")
    assert memory.steady_heap() == 2**20  # once per process: the first setting stays
    assert fresh(KERNELKIT_MMAP_THRESHOLD="4MiB") == 4 * 2**20
    assert fresh(KERNELKIT_MMAP_THRESHOLD="off") is None
    assert fresh(MALLOC_MMAP_THRESHOLD_="65536") is None  # glibc's own setting wins
    refusing = type("Libc", (), {"mallopt": staticmethod(lambda *args: 0)})
    with monkeypatch.context() as patch:
        patch.setattr(memory.ctypes, "CDLL", lambda name: refusing)
        with pytest.raises(InputError, match="refused by glibc.*at most 32MiB.*'off'"):
            fresh(KERNELKIT_MMAP_THRESHOLD="1GB")
        with pytest.raises(InputError, match="refused"):  # every time, not once
            memory.steady_heap()
        assert fresh() is None  # the default refused: left alone, no error
    with pytest.raises(InputError, match="KERNELKIT_MMAP_THRESHOLD='big' is not a size"):
        fresh(KERNELKIT_MMAP_THRESHOLD="big")
    fresh()


def test_the_iterative_operator_steadies_the_heap(monkeypatch):
    from kernelkit.solvers import matvec, memory

    calls = []
    monkeypatch.setattr(memory, "steady_heap", lambda: calls.append(1))
    k = kk.GaussianKernel(1.0)
    X = np.random.default_rng(0).normal(size=(20, 2)).astype("float32")
    k(X[:1])
    matvec.KernelOperator(k, [v.value for v in k.trainable_variables], X)
    assert calls == [1]


def test_singular_feature_gram_takes_the_jitter_path_never_nan():
    """Duplicate rows and a tiny z: Phi^T Phi / n + z I is singular in float64."""
    rng = np.random.default_rng(7)
    X = np.repeat(rng.normal(size=(3, 3)), 20, axis=0)  # 60 rows, 3 distinct
    y = np.repeat(rng.normal(size=3), 20)
    ntk = _ntk(1, 6, True)  # P = 31 > 3 distinct rows: rank-3 Phi^T Phi
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value, grads = kare_value_and_grad(ntk, X, y, z=1e-30, solver="features")
    assert any(issubclass(w.category, JitterWarning) for w in caught)
    assert np.isfinite(to_numpy(value)) and all(np.isfinite(to_numpy(g)).all() for g in grads)
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        history = fit_kare(ntk, X, y, z=1e-30, epochs=2, learning_rate=1e-3,
                           solver="features")
    assert np.isfinite(history.kare).all() or history.stopped_early
