"""Kernel algebra (sums, products, scales) and deep kernels: the kernel contract, values,
the features path (= the dense path), training, serialisation and clear errors."""

from __future__ import annotations

import pickle

import keras
import numpy as np
import pytest
from helpers import numpy_kare, rel_err
from sklearn.base import clone

import kernelkit as kk
from kernelkit import kare_value_and_grad
from kernelkit.errors import InputError
from kernelkit.estimators import KernelKAREClassifier, KernelKARERegressor
from kernelkit.paper_mlp import forward
from kernelkit.solvers import plan_solver
from kernelkit.testing import KernelTestCase, to_numpy
from kernelkit.training import fit_kare

TOL = 1e-10


def _ntk(d=3, width=2, seed=1, depth=1, dtype="float64"):
    return kk.NTK(kk.mlp(d, depth=depth, width=width, seed=seed, dtype=dtype), "structured")


def _net(d=3, width=6, out=2, seed=1, dtype="float64", depth=1):
    return kk.mlp(d, depth=depth, width=width, output_dim=out, seed=seed, dtype=dtype)


# ------------------------------------------------------------ the contract
class TestSumKernel(KernelTestCase):
    def create_kernel(self, dtype):
        return kk.GaussianKernel(1.7, dtype=dtype) + kk.LaplaceKernel(2.0, dtype=dtype)


class TestProductKernel(KernelTestCase):
    def create_kernel(self, dtype):
        return kk.GaussianKernel(1.7, dtype=dtype) * kk.LaplaceKernel(
            3.0, M=np.diag([1.0, 0.5, 2.0]), dtype=dtype)


class TestScaleKernel(KernelTestCase):
    def create_kernel(self, dtype):
        return 2.5 * kk.GaussianKernel(1.7, dtype=dtype)


class TestNestedComposite(KernelTestCase):
    # An anisotropic part that creates its metric in build(): built through the composite.
    def create_kernel(self, dtype):
        inner = kk.GaussianKernel(1.7, dtype=dtype) + kk.AnisotropicKernel(dtype=dtype)
        return kk.ScaleKernel(inner, 0.7) * kk.LaplaceKernel(2.0, dtype=dtype)


class TestSumOfNTKs(KernelTestCase):
    def create_kernel(self, dtype):
        return _ntk(dtype=dtype, seed=1) + 0.5 * _ntk(dtype=dtype, seed=2, width=3)


class TestDeepKernel(KernelTestCase):
    def create_kernel(self, dtype):
        return kk.DeepKernel(_net(dtype=dtype), kk.GaussianKernel(1.3, dtype=dtype))


class TestDeepKernelOnASum(KernelTestCase):
    def create_kernel(self, dtype):
        base = kk.GaussianKernel(1.3, dtype=dtype) + kk.LaplaceKernel(2.0, dtype=dtype)
        return kk.DeepKernel(_net(dtype=dtype, seed=3), base)


# ------------------------------------------------------------------ values
def test_composites_compute_the_sum_product_and_scale_of_their_parts():
    X = np.random.default_rng(0).normal(size=(12, 3))
    g, lap = kk.GaussianKernel(1.5, dtype="float64"), kk.LaplaceKernel(2.0, dtype="float64")
    G, L = to_numpy(g(X)), to_numpy(lap(X))
    assert rel_err((g + lap)(X), G + L) <= 1e-14
    assert rel_err((g * lap)(X), G * L) <= 1e-14
    for k in (3.0 * g, g * 3.0, kk.ScaleKernel(g, 3.0), np.float64(3.0) * g, 3 * g):
        assert isinstance(k, kk.ScaleKernel)
        assert rel_err(k(X), 3.0 * G) <= 1e-14
        assert k.scale_value == pytest.approx(3.0, rel=1e-14)
    g2 = kk.GaussianKernel.from_config(g.get_config())
    nested = 0.5 * (g + lap) * g2
    assert rel_err(nested(X), 0.5 * (G + L) * G) <= 1e-14
    assert rel_err(nested.diag(X), np.diag(0.5 * (G + L) * G)) <= 1e-14
    # Variables: the parts' (plus the scale), in order.
    assert [id(v) for v in nested.trainable_variables] == [id(v) for v in (
        nested.k1.log_scale, g.log_bandwidth, lap.log_bandwidth, g2.log_bandwidth)]


def test_deep_kernel_is_the_base_kernel_on_the_network_outputs():
    X = np.random.default_rng(1).normal(size=(10, 3))
    net = _net(out=3)
    base = kk.LaplaceKernel(2.0, dtype="float64")
    k = kk.DeepKernel(net, base)
    Z = to_numpy(forward(net, X))
    assert rel_err(k(X), base(Z)) <= 1e-14
    Xt = np.random.default_rng(2).normal(size=(4, 3))
    assert rel_err(k(Xt, X), base(to_numpy(forward(net, Xt)), Z)) <= 1e-14
    # Default base: a Gaussian kernel with bandwidth sqrt(k).
    default = kk.DeepKernel(_net(out=4))
    assert isinstance(default.base, kk.GaussianKernel)
    assert default.base.bandwidth_value == pytest.approx(2.0)


# ------------------------------------------------------ features == dense
def _feature_cases():
    return {
        "sum": lambda: _ntk(seed=1) + _ntk(seed=2, width=3),
        "product": lambda: _ntk(seed=1) * _ntk(seed=2),
        "scale": lambda: 0.3 * _ntk(seed=1, depth=2),
        "nested": lambda: 2.0 * (_ntk(seed=1) + _ntk(seed=2) * _ntk(seed=3)),
        "deep": lambda: kk.DeepKernel(_net(out=2), _ntk(d=2, width=3, seed=4)),
    }


@pytest.mark.parametrize("name", list(_feature_cases()))
def test_features_path_equals_dense_path(name):
    rng = np.random.default_rng(3)
    X, Xt = rng.normal(size=(30, 3)), rng.normal(size=(6, 3))
    y = np.sin(X @ rng.normal(size=3))
    kernel = _feature_cases()[name]()
    assert kernel.has_features
    Phi = to_numpy(kernel.feature_map(X))
    assert Phi.shape == (30, kernel.num_features(3))
    assert rel_err(Phi @ Phi.T, kernel(X)) <= TOL
    assert plan_solver(kernel, 30, 3, "float64", "features").features == Phi.shape[1]
    vd, gd = kare_value_and_grad(kernel, X, y, solver="dense")
    vf, gf = kare_value_and_grad(kernel, X, y, solver="features")
    assert rel_err(vf, vd) <= TOL
    assert rel_err(vd, numpy_kare(to_numpy(kernel(X)), y, 0.1)) <= 1e-9
    assert len(gd) == len(kernel.trainable_variables)
    scale = max(np.abs(to_numpy(g)).max() for g in gd)
    for a, b in zip(gf, gd):
        assert np.abs(to_numpy(a) - to_numpy(b)).max() / scale <= TOL
    dense = kk.KernelRidge(kernel, ridge=1e-2, solver="dense").fit(X, y)
    feats = kk.KernelRidge(kernel, ridge=1e-2, solver="features").fit(X, y)
    assert rel_err(feats.predict(Xt), dense.predict(Xt)) <= TOL


def test_a_part_without_features_means_the_dense_path():
    k = _ntk() + kk.GaussianKernel(1.0, dtype="float64")
    assert not k.has_features and not (2.0 * k).has_features
    assert not kk.DeepKernel(_net(), kk.GaussianKernel(1.0, dtype="float64")).has_features
    assert plan_solver(k, 5000, 3, "float64").solver == "dense"
    X = np.random.default_rng(0).normal(size=(10, 3))
    with pytest.raises(InputError, match="defines no features"):
        kare_value_and_grad(k, X, X[:, 0], solver="features")


# ---------------------------------------------------------------- training
def test_kare_training_trains_every_part_together():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(40, 3))
    y = np.sin(2 * X[:, 0]) + np.abs(X[:, 1])
    kernel = 0.5 * kk.GaussianKernel(2.0, dtype="float64") + kk.LaplaceKernel(
        3.0, dtype="float64")
    before = [to_numpy(v).copy() for v in kernel.trainable_variables]
    history = fit_kare(kernel, X, y, epochs=8, learning_rate=0.1)
    assert history.kare[-1] < history.kare[0]
    for old, v in zip(before, kernel.trainable_variables):
        assert not np.allclose(old, to_numpy(v)), v.path


def test_frozen_parts_and_a_fixed_scale_do_not_train():
    g = kk.GaussianKernel(2.0, trainable=False, dtype="float64")
    k = kk.ScaleKernel(g + kk.LaplaceKernel(3.0, dtype="float64"), 2.0, train_scale=False)
    assert len(k.weights) == 3
    assert [id(v) for v in k.trainable_variables] == [id(k.base.k2.log_bandwidth)]
    assert len(kk.ScaleKernel(kk.GaussianKernel(1.0), trainable=False).trainable_variables) == 0


def test_deep_kernel_gradient_matches_finite_differences():
    """KARE's gradient reaches the network's weights (and the base's): central differences."""
    rng = np.random.default_rng(5)
    X = rng.normal(size=(15, 3))
    y = np.cos(X @ rng.normal(size=3))
    kernel = kk.DeepKernel(_net(width=4, out=2, seed=2), kk.LaplaceKernel(1.5, dtype="float64"))
    value, grads = kare_value_and_grad(kernel, X, y)
    assert len(grads) == 5  # 2 Dense layers (kernel, bias) + the bandwidth
    eps = 1e-6

    def kare_at(var, value):
        var.assign(value)
        return numpy_kare(to_numpy(kernel(X)), y, 0.1)

    for var, grad in zip(kernel.trainable_variables, grads):
        start = to_numpy(var).astype(np.float64).copy()
        grad = to_numpy(grad)
        assert np.abs(grad).max() > 0, var.path
        for idx in list(np.ndindex(start.shape))[:3]:
            step = np.zeros_like(start)
            step[idx] = eps
            fd = (kare_at(var, start + step) - kare_at(var, start - step)) / (2 * eps)
            var.assign(start)
            assert abs(fd - grad[idx]) <= 1e-6 * max(1.0, abs(fd)), (var.path, idx, fd, grad[idx])


def test_deep_kernel_on_any_keras_model_trains():
    inputs = keras.Input(shape=(3,), dtype="float64")
    h = keras.layers.Dense(5, activation="tanh", dtype="float64")(inputs)
    h = keras.layers.LayerNormalization(dtype="float64")(h)
    model = keras.Model(inputs, keras.layers.Dense(2, dtype="float64")(h))
    kernel = kk.DeepKernel(model, kk.GaussianKernel(1.0, dtype="float64"))
    X = np.random.default_rng(6).normal(size=(20, 3))
    value, grads = kare_value_and_grad(kernel, X, np.sin(X[:, 0]))
    assert len(grads) == len(model.trainable_variables) + 1
    assert all(np.isfinite(to_numpy(g)).all() and np.abs(to_numpy(g)).max() > 0 for g in grads)


# ------------------------------------------------ estimators and pickling
@pytest.mark.parametrize("make", [
    lambda: 0.5 * kk.GaussianKernel(2.0, dtype="float64") + kk.LaplaceKernel(3.0, dtype="float64"),
    lambda: kk.DeepKernel(_net(out=2), kk.GaussianKernel(1.5, dtype="float64")),
], ids=["sum", "deep"])
def test_estimators_clone_and_refit_composites(make):
    rng = np.random.default_rng(7)
    X = rng.normal(size=(30, 3))
    y = np.sin(X[:, 0])
    template = make()
    before = [to_numpy(w).copy() for w in template.get_weights()]
    est = clone(KernelKARERegressor(kernel=template, epochs=3, dtype="float32")).fit(X, y)
    assert est.kernel_ is not template and type(est.kernel_) is type(template)
    assert keras.backend.standardize_dtype(est.kernel_.compute_dtype) == "float32"
    assert all(keras.backend.standardize_dtype(w.dtype) == "float32" for w in est.kernel_.weights)
    assert est.predict(X[:4]).shape == (4,) and np.isfinite(est.predict(X)).all()
    for old, w in zip(before, template.get_weights()):  # the template is never trained
        assert np.array_equal(old, w)
    labels = (X[:, 1] > 0).astype(int)
    clf = KernelKAREClassifier(kernel=template, epochs=2, dtype="float64").fit(X, labels)
    assert clf.score(X, labels) > 0.5
    restored = pickle.loads(pickle.dumps(est.kernel_))
    assert rel_err(restored(X), est.kernel_(X)) <= 1e-6


def test_pickle_rebuilds_parts_created_in_build():
    X = np.random.default_rng(8).normal(size=(7, 3))
    k = kk.GaussianKernel(1.0, dtype="float64") * kk.AnisotropicKernel(dtype="float64")
    assert not k.built
    K = k(X)
    restored = pickle.loads(pickle.dumps(k))
    assert len(restored.weights) == 2 and rel_err(restored(X), K) <= 1e-14


# ------------------------------------------------------------------ errors
def test_clear_errors():
    g = kk.GaussianKernel(1.0, dtype="float64")
    with pytest.raises(InputError, match="adding a number to a kernel"):
        g + 1.0
    with pytest.raises(InputError, match="adding a number to a kernel"):
        1.0 + g
    with pytest.raises(InputError, match="DeepKernel"):
        g + kk.mlp(3)
    with pytest.raises(InputError, match="both operands must be kernelkit TrainableKernels"):
        g * "two"
    for bad in (-1.0, 0.0, float("nan"), float("inf")):
        with pytest.raises(InputError, match="positive and finite"):
            bad * g
    with pytest.raises(InputError, match="positive number"):
        kk.ScaleKernel(g, True)
    with pytest.raises(InputError, match="must be a kernelkit TrainableKernel"):
        kk.SumKernel(g, keras.layers.Dense(2))
    with pytest.raises(InputError, match="ScaleKernel\\(k, 2.0\\)"):
        g + g
    with pytest.raises(InputError, match="different dtypes"):
        g + kk.GaussianKernel(1.0, dtype="float32")
    with pytest.raises(InputError, match="omit dtype"):
        kk.SumKernel(g, kk.LaplaceKernel(1.0, dtype="float64"), dtype="float32")
    with pytest.raises(InputError, match="keras.Model"):
        kk.DeepKernel(keras.layers.Dense(3))
    with pytest.raises(InputError, match="base kernel with dtype='float64'"):
        kk.DeepKernel(_net(), kk.GaussianKernel(1.0, dtype="float32"))
    with pytest.raises(InputError, match="must be built"):
        kk.DeepKernel(keras.Sequential([keras.layers.Dense(2)]))


# ------------------------------------------------------------- benchmarks
def test_deep_kernel_is_an_opt_in_benchmark_method():
    from kernelkit.benchmarks.grids import GRIDS, configs
    from kernelkit.benchmarks.methods import Task, run_method

    for suite, grids in GRIDS.items():
        for name, grid in grids.items():
            assert "deep-kernel" in grid and "deep-kernel" not in grid["methods"], (suite, name)
    rng = np.random.default_rng(9)
    X, Xt = rng.normal(size=(30, 3)), rng.normal(size=(10, 3))
    task = Task(X, np.sin(X[:, 0]), Xt, np.sin(Xt[:, 0]), "regression", dtype="float64")
    (default,) = configs(GRIDS["synthetic"]["quick"]["deep-kernel"])
    assert (default["output_dim"], default["learning_rate"], default["optimizer"]) == (8, 1e-2,
                                                                                       "adam")
    config = {**default, "width": 8, "epochs": 3}
    entries = run_method("deep-kernel", task, config, 0, [1e-3, 1e-1])
    assert [e[:2] for e in entries] == [("deep-kernel", 1e-3), ("deep-kernel", 1e-1)]
    assert all(e[3] == "ok" and np.isfinite(e[2]) for e in entries), entries
