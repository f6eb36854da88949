"""Run the estimators and their building blocks on one backend, in float64.

Usage: KERAS_BACKEND=<backend> python estimators_worker.py FIXTURE OUT
Writes OUT (npz) with keys "<quantity>/<what>" (predictions, KARE histories,
trained weights, chosen ridges), computed from the fixed data and MLP weights
of FIXTURE (estimators_fixture.npz).

The estimators build their MLP with `kernelkit.mlp`. Its seeded weights are
now the same on every backend (tests/cross_backend/test_seed_consistency.py
checks that); this test keeps the committed fixture's weights, independent of
the seed's draws, by injecting them: `kernelkit.mlp`, as the estimator
modules call it, is replaced by a wrapper that builds the model and then sets
the fixture's weights for its number of outputs. Everything else
(validation, target encoding, KARE training, KRR, ridge="kare") is the
estimators' own code.
"""

from __future__ import annotations

import contextlib
import os
import sys

os.environ.setdefault("JAX_ENABLE_X64", "1")

import numpy as np  # noqa: E402

import kernelkit as kk  # noqa: E402
import kernelkit.estimators.mlp_baselines as networks_module  # noqa: E402
import kernelkit.estimators.ntk_kare as ntk_kare_module  # noqa: E402
from kernelkit.estimators import (  # noqa: E402
    AfterNTKClassifier,
    AfterNTKRegressor,
    KernelKAREClassifier,
    KernelKARERegressor,
    MLPRegressor,
    NTKKAREClassifier,
    NTKKARERegressor,
)
from kernelkit.paper_mlp import forward  # noqa: E402
from kernelkit.testing import to_numpy  # noqa: E402
from kernelkit.training import fit_kare  # noqa: E402

DTYPE = "float64"
Z = 0.1
RIDGE = 1e-2
#: KARE training: a few full-batch SGD epochs (deterministic), and a
#: mini-batch run whose batches are drawn from a numpy seed.
EPOCHS, LEARNING_RATE, BATCH = 5, 2.0, 20
#: The trained network baselines (Adam, mini-batches from random_state).
NET_EPOCHS = 3


def weights(f: dict, outputs: int) -> list:
    depth = sum(1 for k in f if k.startswith(f"out{outputs}/W")) - 1
    return [f[f"out{outputs}/{p}{i}"] for i in range(depth + 1) for p in "Wb"]


def fixture_mlp(f: dict, outputs: int = 1):
    W = weights(f, outputs)
    d, width = W[0].shape
    model = kk.mlp(d, depth=len(W) // 2 - 1, width=width, activation="gelu",
                   output_dim=outputs, seed=0, dtype=DTYPE)
    model.set_weights(W)
    return model


@contextlib.contextmanager
def injected_weights(f: dict):
    """Make the estimators' `mlp(...)` return the fixture's weights."""
    real_mlp = kk.mlp

    def mlp(input_dim, *args, output_dim=1, **kwargs):
        model = real_mlp(input_dim, *args, output_dim=output_dim, **kwargs)
        model.set_weights(weights(f, output_dim))  # raises if the shapes differ
        return model

    modules = (ntk_kare_module, networks_module)
    originals = [m.mlp for m in modules]  # AttributeError if a module stops using mlp
    assert all(o is real_mlp for o in originals), "an estimator module has its own mlp"
    for m in modules:
        m.mlp = mlp
    try:
        yield
    finally:
        for m, o in zip(modules, originals):
            m.mlp = o


def building_blocks(f: dict) -> dict:
    """`NTK`, `KernelRidge`, `fit_kare` and `forward` at the fixture's weights."""
    X, y, Xt = f["X"], f["y"], f["Xt"]
    out = {}
    model = fixture_mlp(f)
    ntk = kk.NTK(model)
    assert ntk.implementation_ == "structured", ntk.implementation_
    out["ntk-krr/pred"] = kk.KernelRidge(ntk, ridge=RIDGE).fit(X, y).predict(Xt)
    auto = kk.KernelRidge(ntk, ridge="kare").fit(X, y)
    out["ntk-krr-kare/pred"] = auto.predict(Xt)
    out["ntk-krr-kare/ridge"] = np.array(auto.ridge_)
    out["ntk-krr-kare/kare_grid"] = auto.kare_grid_
    out["forward/pred"] = to_numpy(forward(model, Xt))

    # Full-batch SGD on KARE from the fixture's weights, then KRR.
    history = fit_kare(ntk, X, y, z=Z, epochs=EPOCHS, learning_rate=LEARNING_RATE,
                       optimizer="sgd", validation_data=(Xt, np.sin(Xt[:, 0])))
    assert not history.stopped_early, history.reason
    out["fit-kare/kare"] = np.array(history.kare)
    out["fit-kare/val_mse"] = np.array(history.val_mse)
    out["fit-kare/weights"] = np.concatenate([w.ravel() for w in model.get_weights()])
    out["fit-kare/pred"] = kk.KernelRidge(ntk, ridge=RIDGE).fit(X, y).predict(Xt)
    out["fit-kare/forward"] = to_numpy(forward(model, Xt))

    # Mini-batches (reshuffled from a numpy seed every epoch; two batches of 20) with Adam.
    ntk_b = kk.NTK(fixture_mlp(f))
    history = fit_kare(ntk_b, X, y, z=Z, epochs=EPOCHS, learning_rate=1e-2,
                       optimizer="adam", batch_size=BATCH, seed=3)
    assert not history.stopped_early, history.reason
    out["fit-kare-batches/step_kare"] = np.array(history.step_kare)
    out["fit-kare-batches/pred"] = kk.KernelRidge(ntk_b, ridge=RIDGE).fit(X, y).predict(Xt)
    return out


def estimators(f: dict) -> dict:
    """The public estimators' fit/predict, with the fixture's MLP weights injected."""
    X, y, Xt, labels = f["X"], f["y"], f["Xt"], f["y_class"]
    binary = (labels == 2).astype(int)
    common = dict(dtype=DTYPE, random_state=0)
    out = {}
    with injected_weights(f):
        est = NTKKARERegressor(depth=2, width=8, epochs=EPOCHS, learning_rate=LEARNING_RATE,
                               **common).fit(X, y)
        out["NTKKARERegressor/pred"] = est.predict(Xt)
        out["NTKKARERegressor/kare"] = np.array(est.history_.kare)
        out["NTKKARERegressor/ridge"] = np.array(est.krr_.ridge_)
        est = NTKKAREClassifier(depth=2, width=8, epochs=EPOCHS, learning_rate=LEARNING_RATE,
                                **common).fit(X, labels)
        out["NTKKAREClassifier/scores"] = est.decision_function(Xt)
        out["NTKKAREClassifier/classes"] = est.predict(Xt).astype(np.float64)

        # After-NTK at the given weights (no network training): KRR on the NTK.
        est = AfterNTKRegressor(depth=2, width=8, epochs=0, **common).fit(X, y)
        out["AfterNTKRegressor-given/pred"] = est.predict(Xt)
        est = AfterNTKClassifier(depth=2, width=8, epochs=0, **common).fit(X, labels)
        out["AfterNTKClassifier-given/scores"] = est.decision_function(Xt)
        est = MLPRegressor(depth=2, width=8, epochs=0, **common).fit(X, y)
        out["MLPRegressor-given/pred"] = est.predict(Xt)

        # Trained networks (Adam on MSE / cross-entropy through Keras' own Dense).
        est = AfterNTKRegressor(depth=2, width=8, epochs=NET_EPOCHS, batch_size=16,
                                learning_rate=1e-2, **common).fit(X, y)
        out["AfterNTKRegressor-trained/pred"] = est.predict(Xt)
        out["AfterNTKRegressor-trained/loss"] = np.array(est.loss_curve_)
        est = AfterNTKClassifier(depth=2, width=8, epochs=NET_EPOCHS, batch_size=16,
                                 learning_rate=1e-2, **common).fit(X, labels)
        out["AfterNTKClassifier-trained/scores"] = est.decision_function(Xt)
        est = MLPRegressor(depth=2, width=8, epochs=NET_EPOCHS, batch_size=16,
                           learning_rate=1e-2, **common).fit(X, y)
        out["MLPRegressor-trained/pred"] = est.predict(Xt)

    # Any kernel trained on KARE (no network: nothing to inject).
    est = KernelKARERegressor(kk.GaussianKernel(1.5), epochs=EPOCHS, **common).fit(X, y)
    out["KernelKARERegressor/pred"] = est.predict(Xt)
    out["KernelKARERegressor/bandwidth"] = np.array(est.kernel_.bandwidth_value)
    est = KernelKAREClassifier(kk.LaplaceKernel(2.0), epochs=EPOCHS, ridge=RIDGE,
                               **common).fit(X, binary)
    out["KernelKAREClassifier/scores"] = est.decision_function(Xt)
    return out


def main(fixture: str, out: str) -> None:
    f = dict(np.load(fixture))
    results = {**building_blocks(f), **estimators(f)}
    results = {k: np.asarray(v, dtype=np.float64) for k, v in results.items()}
    np.savez(out, backend=np.array(kk.backends.BACKEND), **results)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
