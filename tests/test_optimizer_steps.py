"""The backend's optimiser steps (`kernelkit.backends._steps`): adopt, refuse, gate.

Checked against the plain SGD update ``w - lr * grad`` in numpy, on whichever
way the backend applies a step (pure on JAX and PyTorch, in place with a
rollback on TensorFlow).
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

from kernelkit import backends


def _quadratic(params, x, y):
    """``sum(x * w^2) + y``: gradient ``2 x w``."""
    w = params[0]
    return keras.ops.sum(x * w * w) + y, [2.0 * x * w]


def _one_step(alive=True, x=(1.0, 2.0)):
    w = keras.Variable(np.array([1.0, -3.0], dtype="float32"))
    steps = backends.optimizer_steps(keras.optimizers.SGD(0.25), [w])
    step = steps.build(_quadratic)
    x = keras.ops.convert_to_tensor(np.array(x, dtype="float32"))
    y = keras.ops.convert_to_tensor(np.float32(0.5))
    if steps.pure:
        value, ok, params, state = step(steps.params, steps.opt_state, x, y, alive=alive)
        if bool(backends.to_numpy(ok)):
            steps.adopt((list(params), list(state)))
    else:
        value, ok = step(x, y, alive=alive)
    steps.commit()
    return float(backends.to_numpy(value)), bool(backends.to_numpy(ok)), backends.to_numpy(w)


def test_a_finite_step_is_the_sgd_update():
    value, ok, w = _one_step()
    w0, x = np.array([1.0, -3.0]), np.array([1.0, 2.0])
    assert ok and value == pytest.approx(float(np.sum(x * w0 * w0) + 0.5))
    np.testing.assert_allclose(w, w0 - 0.25 * 2.0 * x * w0, rtol=1e-6)


@pytest.mark.parametrize("alive", [False, np.bool_(False)])
def test_a_closed_gate_changes_nothing(alive):
    value, ok, w = _one_step(alive=keras.ops.convert_to_tensor(alive))
    assert not ok and np.isfinite(value)
    np.testing.assert_array_equal(w, [1.0, -3.0])


def test_a_non_finite_gradient_changes_nothing():
    value, ok, w = _one_step(x=(np.inf, 2.0))
    assert not ok
    np.testing.assert_array_equal(w, [1.0, -3.0])
