"""The compiled network trainer (`kernelkit.paper_mlp.fit_network`) against Keras' own training."""

from __future__ import annotations

import warnings

import keras
import numpy as np
import pytest

from kernelkit import mlp
from kernelkit import paper_mlp
from kernelkit.errors import InputError
from kernelkit.paper_mlp import fit_network
from kernelkit.training import _batches, _resolve_optimizer

N, D = 70, 3  # batches of 32: 32, 32 and a ragged 6


def _data(outputs=1, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(N, D)).astype("float32")
    if outputs == 1:
        return X, np.sin(X[:, :1]).astype("float32")
    return X, np.eye(outputs, dtype="float32")[rng.integers(0, outputs, N)]


def _keras_reference(X, Y, loss, optimizer, lr, batch_size, epochs):
    """The same training by Keras' ``train_on_batch``, one call per batch, same batch order."""
    model = mlp(D, width=8, seed=0, output_dim=Y.shape[1])
    losses = {"mse": keras.losses.MeanSquaredError(),
              "cross_entropy": keras.losses.CategoricalCrossentropy(from_logits=True)}
    model.compile(optimizer=_resolve_optimizer(optimizer, lr), loss=losses[loss])
    rng, curve = np.random.default_rng(0), []
    for _ in range(epochs):
        curve.append(np.mean([float(keras.ops.convert_to_numpy(model.train_on_batch(X[b], Y[b])))
                              for b in _batches(N, batch_size, True, rng)]))
    return model.get_weights(), curve


@pytest.mark.parametrize("loss, optimizer, batch_size", [
    ("mse", "sgd", None), ("mse", "adam", 32), ("cross_entropy", "sgd", 32)])
def test_matches_keras_train_on_batch(loss, optimizer, batch_size):
    X, Y = _data(1 if loss == "mse" else 3)
    model = mlp(D, width=8, seed=0, output_dim=Y.shape[1])
    curve = fit_network(model, X, Y, loss=loss, epochs=4, learning_rate=0.05,
                        optimizer=optimizer, batch_size=batch_size, seed=0)
    weights, reference = _keras_reference(X, Y, loss, optimizer, 0.05, batch_size, 4)
    np.testing.assert_allclose(curve, reference, rtol=1e-5, atol=1e-6)
    for got, want in zip(model.get_weights(), weights):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert curve[-1] < curve[0]


def test_chunks_carry_the_weights_and_optimiser_state(monkeypatch):
    X, Y = _data()
    one = mlp(D, width=8, seed=0)
    whole = fit_network(one, X, Y, epochs=5, optimizer="adam", learning_rate=0.01, batch_size=32)
    monkeypatch.setattr(paper_mlp, "_CHUNK_STEPS", 4)  # 3 steps an epoch: one epoch a call
    many = mlp(D, width=8, seed=0)
    split = fit_network(many, X, Y, epochs=5, optimizer="adam", learning_rate=0.01, batch_size=32)
    np.testing.assert_allclose(split, whole, rtol=1e-6)
    for a, b in zip(many.get_weights(), one.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_divergence_stops_at_the_last_finite_weights():
    X, Y = _data()
    model = mlp(D, width=8, seed=0)
    with pytest.warns(RuntimeWarning, match="diverged"):
        curve = fit_network(model, X, 1e3 * Y, epochs=50, learning_rate=10.0, optimizer="sgd",
                            batch_size=None)
    assert len(curve) < 50 and not np.isfinite(curve[-1]) and np.isfinite(curve[:-1]).all()
    # The step whose loss was not finite changed nothing: the weights are those
    # after the finite epochs.
    again = mlp(D, width=8, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no divergence within those epochs
        fit_network(again, X, 1e3 * Y, epochs=len(curve) - 1, learning_rate=10.0,
                    optimizer="sgd", batch_size=None)
    for a, b in zip(model.get_weights(), again.get_weights()):
        assert np.isfinite(a).all()
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_bad_options_are_input_errors():
    X, Y = _data()
    with pytest.raises(InputError, match="loss"):
        fit_network(mlp(D, width=4, seed=0), X, Y, loss="hinge", epochs=1)
    with pytest.raises(InputError, match="batch_size"):
        fit_network(mlp(D, width=4, seed=0), X, Y, epochs=1, batch_size=0)
    assert fit_network(mlp(D, width=4, seed=0), X, Y, epochs=0) == []
