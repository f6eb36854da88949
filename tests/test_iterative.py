"""The iterative (matrix-free) path: block products equal K @ V, PCG equals a direct
solve, the trace estimate converges with the probes, the adjoint-identity gradient
equals the dense closed form (exactly with a complete probe set, to the estimate's
accuracy with random probes) and finite differences, KRR equals the dense path, a
user kernel's matvec hook, "auto" under a memory budget, training, bad settings."""

from __future__ import annotations

import warnings

import keras
import numpy as np
import pytest
from helpers import rel_err
from test_gradients import _kernels as shipped_kernels
from test_gradients import finite_differences

import kernelkit as kk
from kernelkit import kare_value_and_grad
from kernelkit.errors import ConvergenceWarning, InputError, MemoryBudgetError
from kernelkit.solvers import Iterative, memory, plan_solver
from kernelkit.solvers.iterative import IterativeKARE
from kernelkit.solvers.matvec import KernelOperator
from kernelkit.solvers.pcg import NystromPreconditioner, pcg
from kernelkit.testing import to_numpy
from kernelkit.training import fit_kare

KERNELS = ["gaussian", "laplace", "anisotropic", "ntk-structured"]


def _flat(grads):
    return np.concatenate([to_numpy(g).ravel() for g in grads])


def _cosine(a, b):
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def _data(n, d=3, seed=0, dtype="float64"):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = np.sin(X @ rng.normal(size=d)) + 0.1 * rng.normal(size=n)
    return X.astype(dtype), y.astype(dtype)


def _built(name, X):
    kernel = shipped_kernels()[name]()
    kernel(X[:1])
    return kernel


def _values(kernel):
    return [v.value for v in kernel.trainable_variables]


def _chunked_factors(monkeypatch, rows, cols):
    """Factored products in ``rows``-row blocks and ``cols``-column chunks."""
    monkeypatch.setattr(memory, "factored_blocks", lambda n, *args, **kw: (rows, cols))


@pytest.mark.parametrize("route", ["gram", "features", "features-blocks", "features-factors",
                                   "features-chunks"])
def test_block_products_equal_dense_products(route, monkeypatch):
    X, _ = _data(90)
    kernel = _built("ntk-structured", X)
    if route.startswith("features-"):  # Phi not held: factor by factor, or Phi's row blocks
        monkeypatch.setattr(memory, "BLOCK_BYTES", 3 * 20 * kernel.num_features(3) * 8)
        if route == "features-blocks":
            monkeypatch.setattr(type(kernel), "has_feature_factors", property(lambda k: False))
        if route == "features-chunks":  # 6 row blocks x 2 column chunks
            _chunked_factors(monkeypatch, 17, 3)
    elif route == "gram":
        monkeypatch.setattr(memory, "BLOCK_BYTES", 3 * 25 * 90 * 8)  # 25-row blocks
    op = KernelOperator(kernel, _values(kernel), X, route.split("-")[0])
    assert (op._phi is None) == (route != "features")
    assert bool(op._factor_width) == (route in ("features-factors", "features-chunks"))
    if route == "features-chunks":
        blocks, chunks = op._factor_plan(4)
        assert len(blocks) == 6 and chunks == [(0, 3), (3, 4)]
    K = to_numpy(kernel(X))
    V = np.random.default_rng(1).normal(size=(90, 4))
    assert rel_err(to_numpy(op.matmul(V)), K @ V) <= 1e-12
    idx = np.array([3, 40, 77])
    assert rel_err(to_numpy(op.columns(idx)), K[:, idx]) <= 1e-12
    assert rel_err(to_numpy(op.diag()), np.diag(K)) <= 1e-12


@pytest.mark.parametrize("outputs,activation,bias", [(1, None, True), (3, None, False),
                                                     (2, "tanh", True), (1, "gelu", False)])
@pytest.mark.parametrize("depth", [1, 3])
def test_feature_factors_give_phi_products(depth, outputs, activation, bias):
    """Phi^T V and Phi T factor by factor equal those with the NTK's feature map (float64)."""
    from kernelkit.solvers.matvec import factored_apply, factored_transpose

    X, _ = _data(40, d=4)
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((4,))]
        + [keras.layers.Dense(6, "gelu", use_bias=bias, dtype="float64") for _ in range(depth)]
        + [keras.layers.Dense(outputs, activation, use_bias=bias, dtype="float64")])
    kernel = kk.NTK(model, implementation="structured")
    kernel(X[:1])
    assert kernel.has_feature_factors
    phi = to_numpy(kernel.feature_map(X))
    np.testing.assert_allclose(phi @ phi.T, to_numpy(kernel(X)), rtol=1e-12, atol=1e-12)
    factors = kernel.stateless_feature_factors(_values(kernel), X)
    rng = np.random.default_rng(3)
    V, T = rng.normal(size=(40, 5)), rng.normal(size=(phi.shape[1], 5))
    assert rel_err(to_numpy(factored_transpose(factors, keras.ops.convert_to_tensor(V))),
                   phi.T @ V) <= 1e-12
    assert rel_err(to_numpy(factored_apply(factors, keras.ops.convert_to_tensor(T))),
                   phi @ T) <= 1e-12


@pytest.mark.parametrize("variant", ["phi", "phi-blocks", "factors", "factor-chunks"])
def test_surrogate_gradients_of_the_feature_routes_equal_the_gram_route(variant, monkeypatch):
    """d<K, U V^T>: held Phi, Phi's row blocks and factor by factor, against the gram route."""
    X, _ = _data(50, seed=6)
    kernel = _built("ntk-multi-output", X)
    rng = np.random.default_rng(4)
    U, V = rng.normal(size=(50, 3)), rng.normal(size=(50, 3))
    expected = _flat(KernelOperator(kernel, _values(kernel), X, "gram").surrogate_grad(U, V))
    if variant != "phi":
        monkeypatch.setattr(memory, "BLOCK_BYTES", 3 * 20 * kernel.num_features(3) * 8)
        if variant == "phi-blocks":
            monkeypatch.setattr(type(kernel), "has_feature_factors", property(lambda k: False))
        if variant == "factor-chunks":  # [U, V]: 6 columns in chunks of 4 and 2, 3 row blocks
            _chunked_factors(monkeypatch, 17, 4)
    op = KernelOperator(kernel, _values(kernel), X, "features")
    assert bool(op._factor_width) == variant.startswith("factor")
    assert rel_err(_flat(op.surrogate_grad(U, V)), expected) <= 1e-11


@pytest.mark.filterwarnings("ignore::kernelkit.errors.PrecisionWarning")
def test_factored_blocks_keep_the_block_budget(monkeypatch):
    """The NTK at 60k: columns chunked so that neither half of a block overflows the cap."""
    monkeypatch.setattr(memory, "available_bytes", lambda: (None, "unknown"))
    P, width, half = 530_945, 512, memory.BLOCK_BYTES / 2
    for purpose, columns in (("product", 65), ("vjp", 132)):
        rows, cols = memory.factored_blocks(60_000, P, width, columns, 4, purpose)
        assert 1 <= cols < columns and 1 <= rows < 60_000
        assert memory.FACTORED_ARRAYS[purpose] * P * cols * 4 <= half
        assert memory.BLOCK_ARRAYS[purpose] * width * (cols + 1) * 4 * rows <= half
        assert memory.FACTORED_ARRAYS[purpose] * P * (cols + 1) * 4 > half  # the widest chunk
    assert memory.factored_blocks(1000, 800, 16, 65, 8) == (1000, 65)  # small: one block
    assert memory.iterative_bytes(1000, 66, 100, 4, P=P) - memory.iterative_bytes(
        1000, 66, 100, 4) == 4 * P * 66 * 4


@pytest.mark.parametrize("bad", ["missing-bias", "flat-g", "not-a-pair"])
def test_feature_factors_that_do_not_give_phi_are_input_errors(bad, monkeypatch):
    """A kernel's factors are checked on one row: no silently wrong products."""
    X, _ = _data(30)
    kernel = _built("ntk-structured", X)
    real = type(kernel).feature_factors

    def broken(self, x):
        factors = real(self, x)
        if bad == "missing-bias":
            return factors[:-1]
        if bad == "flat-g":
            return [(a, g[:, 0, :]) for a, g in factors]
        return [a for a, _ in factors]

    monkeypatch.setattr(type(kernel), "feature_factors", broken)
    monkeypatch.setattr(memory, "BLOCK_BYTES", 3 * 20 * kernel.num_features(3) * 8)
    message = "feature columns" if bad == "missing-bias" else "pairs \\(a, g\\)"
    with pytest.raises(InputError, match=message):
        KernelOperator(kernel, _values(kernel), X, "features")


def test_an_ntk_subclass_with_its_own_features_has_no_factors():
    X, _ = _data(20)

    class Scaled(kk.NTK):
        def features(self, x):
            return 2.0 * super().features(x)

    kernel = Scaled(kk.mlp(3, depth=1, width=8, seed=0, dtype="float64"))
    kernel(X[:1])
    assert kernel.implementation_ == "structured" and not kernel.has_feature_factors
    assert _built("ntk-structured", X).has_feature_factors


def test_jacobian_ntk_has_no_feature_factors():
    X, _ = _data(10)
    kernel = kk.NTK(kk.mlp(3, width=4, seed=0, dtype="float64"), implementation="jacobian")
    kernel(X[:1])
    assert not kernel.has_feature_factors
    with pytest.raises(NotImplementedError):
        kernel.feature_factors(X)


@pytest.mark.parametrize("rank", [0, 30])
def test_pcg_equals_a_direct_solve(rank):
    X, _ = _data(120)
    kernel = _built("gaussian", X)
    op = KernelOperator(kernel, _values(kernel), X)
    K = to_numpy(kernel(X))
    B = np.random.default_rng(2).normal(size=(120, 3))
    mu = 1e-3
    pre = NystromPreconditioner(op, rank, seed=0)
    exact = np.linalg.solve(K / 120 + mu * np.eye(120), B)
    result = pcg(op.matmul, B, mu, 120, pre, 1e-10, 500)
    assert result.converged and np.all(result.residuals <= 1e-10)
    assert rel_err(to_numpy(result.x), exact) <= 1e-7
    if rank:  # the preconditioner cuts the iterations; a warm start at the solution: none
        plain = pcg(op.matmul, B, mu, 120, NystromPreconditioner(op, 0), 1e-10, 500)
        assert result.iterations < plain.iterations
        again = pcg(op.matmul, B, mu, 120, pre, 1e-8, 500, x0=result.x)
        assert again.iterations == 0
    capped = pcg(op.matmul, B, mu, 120, pre, 1e-14, 2)
    assert capped.iterations == 2 and not capped.converged


def test_trace_estimates_converge_with_probes_and_deflation_helps():
    X, _ = _data(300)
    kernel = _built("gaussian", X)
    K = to_numpy(kernel(X))
    Y = np.zeros((300, 1)) + 1.0
    exact = np.trace(np.linalg.inv(K / 300 + 0.1 * np.eye(300))) / 300
    errors = {}
    for trace in ("hutchinson", "deflated"):
        for probes in (4, 256):
            errs = []
            for seed in range(3):
                obj = IterativeKARE(kernel, 0.1, Iterative(probes=probes, rank=20, trace=trace,
                                                           seed=seed))
                obj.value_and_grad(_values(kernel), X, Y)
                errs.append(abs(_last_D(obj, kernel, X, Y) - exact) / exact)
            errors[trace, probes] = np.mean(errs)
    for trace in ("hutchinson", "deflated"):
        assert errors[trace, 256] < errors[trace, 4]
    assert errors["deflated", 4] < errors["hutchinson", 4]
    assert errors["deflated", 256] < 1e-3


def _last_D(obj, kernel, X, Y):
    """D = tr(A^-1)/n from the estimate: N / KARE, with N computed exactly."""
    K = to_numpy(kernel(X))
    alpha = np.linalg.solve(K / len(X) + 0.1 * np.eye(len(X)), to_numpy(Y))
    N = np.sum(alpha ** 2) / len(X)
    value, _ = obj.value_and_grad(_values(kernel), X, Y)
    return float(np.sqrt(N / float(to_numpy(value))))


def _exact_probes(kernel, n, dtype="float64"):
    """An `IterativeKARE` whose probes are sqrt(n) times the n unit vectors (the same
    norm as Rademacher probes): the trace and A^-2 are then exact."""
    obj = IterativeKARE(kernel, 0.1, Iterative(probes=n, rank=n // 4))
    obj._probes[(n, dtype)] = keras.ops.convert_to_tensor(np.sqrt(n) * np.eye(n, dtype=dtype))
    return obj


@pytest.mark.parametrize("name", KERNELS + ["ntk-multi-output"])
def test_adjoint_gradient_equals_the_dense_closed_form(name):
    """With a complete probe set the estimate is exact: only the adjoint identities remain."""
    X, y = _data(60, seed=3)
    kernel = _built(name, X)
    Y = np.stack([y, np.cos(X[:, 0])], 1) if name == "ntk-multi-output" else y
    vd, gd = kare_value_and_grad(kernel, X, Y, solver="dense")
    vi, gi = _exact_probes(kernel, 60).value_and_grad(_values(kernel), X, Y)
    assert rel_err(vi, vd) <= 1e-8
    assert rel_err(_flat(gi), _flat(gd)) <= 1e-7


def test_adjoint_gradient_equals_finite_differences():
    X, y = _data(25, seed=4)
    kernel = _built("anisotropic", X)
    _, gi = _exact_probes(kernel, 25).value_and_grad(_values(kernel), X, y)
    fd = finite_differences(kernel, X, y, 0.1)
    assert rel_err(_flat(gi), np.concatenate([g.ravel() for g in fd])) <= 1e-6


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", KERNELS)
def test_iterative_kare_matches_dense_at_default_settings(name, dtype):
    X, y = _data(400, seed=5, dtype=dtype)
    kernel = shipped_kernels()[name]()
    if dtype == "float32":  # the same kernel in float32
        config = kernel.get_config()
        if name == "ntk-structured":
            kernel = kk.NTK(kk.mlp(3, depth=2, width=4, activation="gelu", seed=5,
                                   dtype="float32"), "structured")
        else:
            kernel = type(kernel).from_config({**config, "dtype": "float32"})
    kernel(X[:1])
    vd, gd = kare_value_and_grad(kernel, X, y, solver="dense")
    vi, gi, info = kare_value_and_grad(kernel, X, y, solver="iterative", return_info=True)
    assert info["solver"] == "iterative" and info["probes"] == 64
    assert rel_err(vi, vd) <= 1e-3
    assert _cosine(_flat(gi), _flat(gd)) >= 0.999
    assert rel_err(_flat(gi), _flat(gd)) <= 0.05
    # The error estimate covers the actual error.
    assert abs(float(to_numpy(vi)) - float(to_numpy(vd))) <= 3 * info["kare_error"] + 1e-7


@pytest.mark.parametrize("name", ["gaussian", "ntk-structured"])
def test_kernel_ridge_iterative_equals_dense(name):
    X, y = _data(300, seed=6)
    Xt = np.random.default_rng(7).normal(size=(40, 3))
    kernel = _built(name, X)
    for ridge in (1e-3, 1e-1):
        dense = kk.KernelRidge(kernel, ridge=ridge, solver="dense").fit(X, y)
        it = kk.KernelRidge(kernel, ridge=ridge, solver="iterative").fit(X, y)
        assert it.solver_ == "iterative" and it.solver_info_["iterations"][0] > 0
        assert dense.solver_info_ is None
        assert rel_err(it.predict(Xt), dense.predict(Xt)) <= 1e-6
    grid = [1e-3, 1e-2, 1e-1, 1.0]
    dense = kk.KernelRidge(kernel, ridge="kare", ridge_grid=grid, solver="dense").fit(X, y)
    it = kk.KernelRidge(kernel, ridge="kare", ridge_grid=grid, solver="iterative").fit(X, y)
    assert it.ridge_ == dense.ridge_
    # A stochastic estimate, less accurate at small ridges (2e-3 measured at 1e-3).
    assert rel_err(it.kare_grid_, dense.kare_grid_) <= 1e-2
    lams = [1e-2, 1.0]
    assert rel_err(it.predict_path(Xt, lams), dense.predict_path(Xt, lams)) <= 1e-6


class LinearMatvec(kk.TrainableKernel):
    """A user kernel with its own products: K = s x x^T, K v = s x (x^T v)."""

    def __init__(self, scale=1.0, **kwargs):
        super().__init__(**kwargs)
        self.scale = scale
        self.log_scale = self.add_weight(shape=(), initializer="zeros", name="log_scale")
        self.log_scale.assign(np.log(scale))

    def gram(self, x1, x2):
        return keras.ops.exp(self.log_scale) * keras.ops.einsum("id,jd->ij", x1, x2)

    def matvec(self, x, v):
        return keras.ops.exp(self.log_scale) * keras.ops.einsum(
            "id,dc->ic", x, keras.ops.einsum("id,ic->dc", x, v))

    def get_config(self):
        return {**super().get_config(), "scale": self.scale}


def test_a_user_kernel_with_a_matvec_hook():
    X, y = _data(80, d=4, seed=8)
    kernel = LinearMatvec(0.5, dtype="float64")
    assert kernel.has_matvec and not kk.GaussianKernel(1.0).has_matvec
    op = KernelOperator(kernel, _values(kernel), X)
    assert op.route == "matvec"
    V = np.random.default_rng(9).normal(size=(80, 2))
    assert rel_err(to_numpy(op.matmul(V)), to_numpy(kernel(X)) @ V) <= 1e-12
    vd, gd = kare_value_and_grad(kernel, X, y, solver="dense")
    vi, gi = _exact_probes(kernel, 80).value_and_grad(_values(kernel), X, y)
    assert rel_err(vi, vd) <= 1e-8 and rel_err(_flat(gi), _flat(gd)) <= 1e-7
    it = kk.KernelRidge(kernel, ridge=1e-2, solver="iterative").fit(X, y)
    dense = kk.KernelRidge(kernel, ridge=1e-2, solver="dense").fit(X, y)
    assert rel_err(it.predict(X[:10]), dense.predict(X[:10])) <= 1e-6


def test_auto_takes_the_iterative_path_when_no_exact_path_fits(monkeypatch):
    X, y = _data(400, seed=10)
    monkeypatch.setenv("KERNELKIT_MEMORY_BUDGET", "4MB")  # dense needs 5.1 MB (KRR)
    kernel = kk.GaussianKernel(1.5, dtype="float64")
    plan = plan_solver(kernel, 400, 3, "float64")
    assert plan.solver == "iterative" and "dense would need" in plan.reason
    model = kk.KernelRidge(kernel, ridge=1e-2).fit(X, y)
    assert model.solver_ == "iterative" and model.solver_reason_.startswith("auto")
    history = fit_kare(kernel, X, y, epochs=1, learning_rate=1.0)
    assert history.solver == "iterative" and len(history.solver_info) == 1
    with pytest.raises(MemoryBudgetError, match="solver='iterative'"):
        kk.KernelRidge(kernel, solver="dense").fit(X, y)


def test_fit_kare_on_the_iterative_path_reduces_kare_like_dense():
    X, y = _data(200, seed=11)
    histories = {}
    for solver in ("dense", Iterative(probes=32)):
        kernel = kk.AnisotropicKernel(M=np.eye(3) / 9, dtype="float64")
        histories[str(solver)[:5]] = fit_kare(kernel, X, y, epochs=4, learning_rate=0.5,
                                             optimizer="adam", solver=solver)
    it, dense = histories["Itera"], histories["dense"]
    assert it.solver == "iterative" and it.kare[-1] < it.kare[0]
    # Each value within ~1e-4; four Adam steps amplify it (1.4e-3 measured).
    assert rel_err(np.asarray(it.kare), np.asarray(dense.kare)) <= 1e-2
    info = it.solver_info[-1]
    assert info["probes"] == 32 and info["tol"] == 1e-8 and info["kare_error"] > 0



def test_warm_start_from_the_previous_solutions():
    X, y = _data(150, seed=13)
    kernel = _built("gaussian", X)
    _, _, first = kare_value_and_grad(kernel, X, y, solver="iterative", return_info=True)
    _, _, again = kare_value_and_grad(kernel, X, y, solver="iterative", return_info=True)
    assert min(first["iterations"]) > 0 and again["iterations"] == [0, 0]
    cold = Iterative(warm_start=False)
    _, _, c1 = kare_value_and_grad(kernel, X, y, solver=cold, return_info=True)
    _, _, c2 = kare_value_and_grad(kernel, X, y, solver=cold, return_info=True)
    assert c1["iterations"] == c2["iterations"] == first["iterations"]


def test_max_iter_reached_is_a_warning_not_silence():
    X, y = _data(100, seed=12)
    kernel = _built("gaussian", X)
    with pytest.warns(ConvergenceWarning, match="max_iter=1"):
        kk.KernelRidge(kernel, ridge=1e-5, solver=Iterative(max_iter=1, rank=0)).fit(X, y)


@pytest.mark.parametrize("bad", [dict(tol=0.0), dict(tol=2.0), dict(tol="a"), dict(probes=1),
                                 dict(probes=2.5), dict(max_iter=0), dict(rank=-1),
                                 dict(trace="lanczos"), dict(route="cg")])
def test_bad_iterative_settings_are_input_errors(bad):
    with pytest.raises(InputError, match="Iterative"):
        Iterative(**bad)


def test_bad_solver_names_mention_iterative():
    X, y = _data(10)
    with pytest.raises(InputError, match="iterative"):
        kare_value_and_grad(kk.GaussianKernel(1.0, dtype="float64"), X, y, solver="cg")
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        value, _ = kare_value_and_grad(kk.GaussianKernel(1.0, dtype="float64"), X, y,
                                       solver="iterative")
    assert np.isfinite(float(to_numpy(value)))
