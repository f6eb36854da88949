"""A test mixin that every kernel, a user's too, can inherit.

`KernelTestCase` is a pytest mixin (pytest collects its ``test_*`` methods):
install pytest to use it (``pip install pytest``, or ``kernelkit[test]``).

Example:
    In a pytest file::

        from kernelkit.testing import KernelTestCase

        class TestMyKernel(KernelTestCase):
            def create_kernel(self, dtype):
                return MyKernel(dtype=dtype)

    pytest then runs every ``test_*`` method below against ``MyKernel``.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

from kernelkit import backends
from kernelkit.backends import to_numpy
from kernelkit.errors import InputError
from kernelkit import kare_value_and_grad


class KernelTestCase:
    """Contract tests for a `TrainableKernel`.

    Subclass it in a class whose name starts with ``Test`` and implement
    `create_kernel`. Override the class attributes to change sizes or
    tolerances. The checks: output shape, ``x2=None``, symmetry, positive
    semi-definiteness within tolerance, ``diag`` equals the Gram diagonal,
    ``get_config``/``from_config`` round trip, the output dtype (float32 and,
    where available, float64), a clear error for mismatched feature counts,
    and a finite KARE gradient for every trainable variable.
    """

    n1: int = 9
    n2: int = 6
    n_features: int = 3
    #: Relative tolerances per dtype for comparisons of two evaluations.
    rtol: dict = {"float32": 1e-5, "float64": 1e-10}
    #: Smallest eigenvalue allowed, relative to the largest.
    psd_tol: dict = {"float32": 1e-5, "float64": 1e-10}

    def create_kernel(self, dtype: str) -> Any:
        """Return a fresh kernel computing in ``dtype``."""
        raise NotImplementedError("Implement create_kernel(self, dtype).")

    def create_inputs(self, n: int, seed: int = 0) -> np.ndarray:
        """Inputs of shape ``(n, n_features)``; override for special domains.

        The checks cast them to the dtype under test (float64 inputs to a
        float32 kernel would warn).
        """
        return np.random.default_rng(seed).normal(size=(n, self.n_features))

    # ------------------------------------------------------------ helpers
    def dtypes(self) -> list[str]:
        """The dtypes to check: float32, and float64 where the backend has it."""
        return ["float32", "float64"] if backends.float64_enabled() else ["float32"]

    def _inputs(self, n: int, dtype: str, seed: int = 0) -> np.ndarray:
        return np.asarray(self.create_inputs(n, seed), dtype=dtype)

    def _close(self, a: Any, b: Any, dtype: str) -> None:
        a, b = to_numpy(a), to_numpy(b)
        scale = max(np.abs(b).max(), np.finfo(np.float64).tiny)
        err = np.abs(a - b).max() / scale
        assert err <= self.rtol[dtype], f"relative difference {err:.3g} > {self.rtol[dtype]:g}"

    # --------------------------------------------------------------- tests
    def test_shape_and_x2_none(self) -> None:
        for dtype in self.dtypes():
            kernel = self.create_kernel(dtype)
            x1, x2 = self._inputs(self.n1, dtype, 0), self._inputs(self.n2, dtype, 1)
            assert tuple(kernel(x1, x2).shape) == (self.n1, self.n2)
            self._close(kernel(x1), kernel(x1, x1), dtype)

    def test_symmetric(self) -> None:
        for dtype in self.dtypes():
            K = to_numpy(self.create_kernel(dtype)(self._inputs(self.n1, dtype)))
            self._close(K, K.T, dtype)

    def test_positive_semidefinite(self) -> None:
        for dtype in self.dtypes():
            K = to_numpy(self.create_kernel(dtype)(self._inputs(self.n1, dtype))).astype(
                np.float64
            )
            eig = np.linalg.eigvalsh((K + K.T) / 2)
            assert eig.min() >= -self.psd_tol[dtype] * max(eig.max(), 1e-300), eig

    def test_diag_matches_gram(self) -> None:
        for dtype in self.dtypes():
            kernel = self.create_kernel(dtype)
            x = self._inputs(self.n1, dtype)
            self._close(kernel.diag(x), np.diag(to_numpy(kernel(x))), dtype)

    def test_config_round_trip(self) -> None:
        for dtype in self.dtypes():
            kernel = self.create_kernel(dtype)
            x = self._inputs(self.n1, dtype)
            K = kernel(x)
            clone = type(kernel).from_config(kernel.get_config())
            clone(x)
            clone.set_weights(kernel.get_weights())
            assert clone.get_config() == kernel.get_config()
            self._close(clone(x), K, dtype)

    def test_serialization_and_pickle(self) -> None:
        import pickle

        kernel = self.create_kernel(self.dtypes()[-1])
        x = self._inputs(self.n1, self.dtypes()[-1])
        K = kernel(x)
        restored = keras.saving.deserialize_keras_object(
            keras.saving.serialize_keras_object(kernel))
        restored(x)
        restored.set_weights(kernel.get_weights())
        self._close(restored(x), K, self.dtypes()[-1])
        self._close(pickle.loads(pickle.dumps(kernel))(x), K, self.dtypes()[-1])

    def test_dtype(self) -> None:
        for dtype in self.dtypes():
            kernel = self.create_kernel(dtype)
            K = kernel(self.create_inputs(self.n1).astype("float32"))
            assert keras.backend.standardize_dtype(K.dtype) == dtype
            assert keras.backend.standardize_dtype(kernel.diag(
                self._inputs(self.n1, "float32")).dtype) == dtype

    def test_mismatched_features_raise(self) -> None:
        kernel = self.create_kernel(self.dtypes()[-1])
        x = self._inputs(self.n1, self.dtypes()[-1])
        bad = np.zeros((self.n2, self.n_features + 1))
        try:
            kernel(x, bad)
        except InputError as err:
            assert "features" in str(err)
        else:  # pragma: no cover - a failing kernel
            raise AssertionError("a feature-count mismatch was not rejected")

    def test_kare_gradient_finite(self) -> None:
        dtype = self.dtypes()[-1]
        kernel = self.create_kernel(dtype)
        x = self._inputs(self.n1, dtype)
        y = np.sin(x.sum(axis=1))
        value, grads = kare_value_and_grad(kernel, x, y, z=0.1)
        assert np.isfinite(to_numpy(value))
        assert len(grads) == len(kernel.trainable_variables) > 0
        for g, v in zip(grads, kernel.trainable_variables):
            assert tuple(g.shape) == tuple(v.shape)
            assert np.isfinite(to_numpy(g)).all()
