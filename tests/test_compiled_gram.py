"""Eager Gram matrices through one compiled program (JAX) are the kernel's own, always.

On JAX `TrainableKernel.__call__` runs the formula as one jitted program shared
by kernels of one structure (`kernelkit.kernels._compiled`); on the other
backends it runs eagerly. Either way the Gram matrix must be that of *this*
kernel's current variables, in its dtype: checked against numpy float64
formulas.
"""

import keras
import numpy as np
import pytest

import kernelkit as kk
from kernelkit import backends
from kernelkit.kernels._compiled import share_key

rng = np.random.default_rng(0)
X = rng.standard_normal((7, 3))
X2 = rng.standard_normal((5, 3))


def _gaussian(a, b, bandwidth):
    d2 = ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)
    return np.exp(-d2 / bandwidth ** 2)


def _np(K):
    return np.asarray(keras.ops.convert_to_numpy(K), dtype=np.float64)


def test_updated_variables_are_seen_not_baked_in():
    k = kk.GaussianKernel(1.5, dtype="float64")
    np.testing.assert_allclose(_np(k(X, X2)), _gaussian(X, X2, 1.5), rtol=1e-12)
    k.log_bandwidth.assign(np.log(0.7))
    np.testing.assert_allclose(_np(k(X, X2)), _gaussian(X, X2, 0.7), rtol=1e-12)
    np.testing.assert_allclose(_np(k(X)), _gaussian(X, X, 0.7), rtol=1e-12)


def test_kernels_of_one_structure_share_a_program_and_keep_their_own_values():
    a, b = kk.GaussianKernel(1.0, dtype="float64"), kk.GaussianKernel(1.0, dtype="float64")
    b.log_bandwidth.assign(np.log(3.0))
    assert share_key(a) is not None and share_key(a) == share_key(b)
    np.testing.assert_allclose(_np(a(X, X2)), _gaussian(X, X2, 1.0), rtol=1e-12)
    np.testing.assert_allclose(_np(b(X, X2)), _gaussian(X, X2, 3.0), rtol=1e-12)


def test_a_cached_program_keeps_no_kernel_alive():
    import gc
    import weakref

    k = kk.NTK(kk.mlp(3, depth=1, width=8, seed=3, dtype="float64"))
    np.testing.assert_allclose(_np(k(X)), _np(k(X, X)), rtol=1e-12)
    ref = weakref.ref(k)
    del k
    gc.collect()
    assert ref() is None  # the shared program (JAX) holds no kernel


def test_kernels_differing_only_in_initial_values_share_a_program():
    """RFM builds a LaplaceKernel per iteration, each with a new M: one program for all."""
    m1 = np.diag([1.0, 2.0, 0.5])
    m2 = np.array([[2.0, 0.3, 0.0], [0.3, 1.0, 0.1], [0.0, 0.1, 0.7]])
    a = kk.LaplaceKernel(2.0, M=m1, dtype="float64")
    b = kk.LaplaceKernel(5.0, M=m2, dtype="float64")
    assert share_key(a) == share_key(b)
    assert share_key(a) != share_key(kk.LaplaceKernel(2.0, dtype="float64"))  # no M: other formula
    for k, m, h in ((a, m1, 2.0), (b, m2, 5.0)):
        diff = X[:, None, :] - X2[None, :, :]
        d2 = np.maximum(np.einsum("ijk,kl,ijl->ij", diff, m, diff), 0.0)
        np.testing.assert_allclose(_np(k(X, X2)), np.exp(-np.sqrt(d2) / h), rtol=1e-10)
    g1, g2 = kk.GaussianKernel(1.0, dtype="float64"), kk.GaussianKernel(4.0, dtype="float64")
    assert share_key(g1) == share_key(g2)
    np.testing.assert_allclose(_np(g2(X, X2)), _gaussian(X, X2, 4.0), rtol=1e-12)
    s1, s2 = 2.0 * kk.GaussianKernel(1.0, dtype="float64"), 3.0 * kk.GaussianKernel(1.0, dtype="float64")
    assert share_key(s1) == share_key(s2)
    np.testing.assert_allclose(_np(s2(X, X2)), 3.0 * _gaussian(X, X2, 1.0), rtol=1e-12)


def test_two_ntks_of_one_structure_give_their_own_gram():
    one = kk.NTK(kk.mlp(3, depth=2, width=8, seed=1, dtype="float32"))
    two = kk.NTK(kk.mlp(3, depth=2, width=8, seed=2, dtype="float32"))
    assert share_key(one) == share_key(two)
    x = X.astype("float32")
    for ntk in (one, two):
        values = [v.value for v in ntk.trainable_variables]
        with keras.StatelessScope():  # the eager (uncompiled) evaluation
            eager = _np(ntk.stateless_gram(values, x))
        np.testing.assert_allclose(_np(ntk(x)), eager, rtol=2e-5, atol=1e-6)
    assert not np.allclose(_np(one(x)), _np(two(x)))


def test_dtypes_never_share():
    k32, k64 = kk.LaplaceKernel(2.0, dtype="float32"), kk.LaplaceKernel(2.0, dtype="float64")
    assert share_key(k32) != share_key(k64)
    assert keras.backend.standardize_dtype(k32(X.astype("float32")).dtype) == "float32"
    assert keras.backend.standardize_dtype(k64(X).dtype) == "float64"


class _MyKernel(kk.TrainableKernel):
    """A user's kernel: its Python state is not in any config, so it never shares."""

    def __init__(self, power=1.0, **kwargs):
        super().__init__(**kwargs)
        self.power = power
        self.log_scale = self.add_weight(shape=(), initializer="zeros")

    def gram(self, x1, x2):
        return keras.ops.exp(self.log_scale) * keras.ops.einsum("id,jd->ij", x1, x2) ** self.power


def test_a_users_kernel_gets_its_own_program():
    one, two = _MyKernel(1.0, dtype="float64"), _MyKernel(1.0, dtype="float64")
    two.power = 2.0  # state no config describes
    assert share_key(one) is None
    np.testing.assert_allclose(_np(one(X, X2)), X @ X2.T, rtol=1e-12)
    np.testing.assert_allclose(_np(two(X, X2)), (X @ X2.T) ** 2, rtol=1e-12)


def test_ensure_built_marks_a_kernel_without_build_and_builds_the_others():
    k = kk.GaussianKernel(1.0)
    k.ensure_built(X)
    assert k.built
    default = kk.AnisotropicKernel()  # its build() makes M from the inputs
    default.ensure_built(X.astype(default.compute_dtype))
    assert default.built and tuple(default.metric().shape) == (3, 3)


@pytest.mark.skipif(not backends.prefers_compiled_calls(), reason="JAX only: eager elsewhere")
def test_on_jax_a_gram_is_one_compiled_program():
    import jax

    k = kk.NTK(kk.mlp(3, depth=3, width=8, seed=0))
    x = X.astype("float32")
    k(x)  # compiled once for this shape
    with jax.log_compiles(True):
        import logging

        records = []
        handler = logging.Handler()
        handler.emit = records.append
        logger = logging.getLogger("jax")
        logger.addHandler(handler)
        try:
            kk.NTK(kk.mlp(3, depth=3, width=8, seed=5))(x)  # a new kernel, same structure
        finally:
            logger.removeHandler(handler)
    compiles = [r for r in records if "Finished XLA compilation" in r.getMessage()]
    assert compiles == [], [r.getMessage() for r in compiles]


@pytest.mark.skipif(not backends.prefers_compiled_calls(), reason="JAX only: no compiled eager calls")
def test_sharing_a_program_never_imports_tensorflow():
    """Keras' serialiser would import TensorFlow (~6 s) to rule out its types."""
    import subprocess
    import sys

    code = ("import sys, numpy as np, kernelkit as kk\n"
            "k = kk.NTK(kk.mlp(3, depth=1, width=4, seed=0)) + kk.LaplaceKernel(2.0, M=np.eye(3))\n"
            "k(np.ones((4, 3), 'float32'))\n"
            "from kernelkit.kernels._compiled import share_key\n"
            "assert share_key(k) is not None\n"
            "print('tensorflow' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**__import__("os").environ, "KERAS_BACKEND": "jax"}, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "False"
