"""A user's own kernel: written here as a user would, in keras.ops only.

It passes the shipped KernelTestCase and trains with KARE through the same
path as the shipped kernels (kare_value_and_grad + a Keras optimiser).
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

import kernelkit as kk
from kernelkit import kare_value_and_grad
from kernelkit.testing import KernelTestCase, to_numpy


@keras.saving.register_keras_serializable(package="tests")
class RationalQuadratic(kk.TrainableKernel):
    """k(x, x') = (1 + |x - x'|^2 / (2 alpha l^2))^-alpha, l and alpha trainable."""

    def __init__(self, lengthscale=1.0, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        self.lengthscale = lengthscale
        self.alpha = alpha
        self.log_l = self.add_weight(shape=(), initializer="zeros", name="log_l")
        self.log_alpha = self.add_weight(shape=(), initializer="zeros", name="log_alpha")
        self.log_l.assign(np.log(lengthscale))
        self.log_alpha.assign(np.log(alpha))

    def gram(self, x1, x2):
        d2 = (ops.sum(x1 * x1, axis=1)[:, None] + ops.sum(x2 * x2, axis=1)[None, :]
              - 2.0 * ops.einsum("id,jd->ij", x1, x2))
        d2 = ops.relu(d2)
        alpha = ops.exp(self.log_alpha)
        return (1.0 + d2 * ops.exp(-2.0 * self.log_l) / (2.0 * alpha)) ** (-alpha)

    def get_config(self):
        return {**super().get_config(), "lengthscale": self.lengthscale, "alpha": self.alpha}


class TestRationalQuadratic(KernelTestCase):
    # The |a|^2 + |b|^2 - 2ab expansion leaves ~1e-15 on the diagonal in float64.
    rtol = {"float32": 1e-5, "float64": 1e-9}

    def create_kernel(self, dtype):
        return RationalQuadratic(lengthscale=0.7, alpha=2.0, dtype=dtype)


def test_custom_kernel_trains_with_kare():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2))
    y = np.sin(3.0 * X[:, 0])
    kernel = RationalQuadratic(lengthscale=5.0, alpha=1.0, dtype="float64")
    optimizer = keras.optimizers.Adam(learning_rate=0.1)
    history = []
    for _ in range(30):
        value, grads = kare_value_and_grad(kernel, X, y, z=0.01)
        history.append(float(to_numpy(value)))
        optimizer.apply(grads, kernel.trainable_variables)
    assert np.isfinite(history).all()
    assert history[-1] < 0.5 * history[0], history
    # The trained kernel fits a KRR that generalises better than the initial one.
    Xt = rng.normal(size=(200, 2))
    yt = np.sin(3.0 * Xt[:, 0])
    trained = kk.KernelRidge(kernel, ridge=1e-3).fit(X, y).predict(Xt)
    initial = kk.KernelRidge(RationalQuadratic(5.0, 1.0, dtype="float64"), 1e-3).fit(X, y).predict(Xt)
    assert np.mean((trained - yt) ** 2) < np.mean((initial - yt) ** 2)
