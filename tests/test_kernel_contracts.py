"""Every shipped kernel passes the shipped KernelTestCase mixin."""

from __future__ import annotations

import numpy as np
from helpers import jacobian_f64_tolerance

from kernelkit import NTK, AnisotropicKernel, GaussianKernel, LaplaceKernel, mlp
from kernelkit.testing import KernelTestCase


class TestGaussianKernel(KernelTestCase):
    def create_kernel(self, dtype):
        return GaussianKernel(bandwidth=1.7, dtype=dtype)


class TestAnisotropicKernelDefault(KernelTestCase):
    def create_kernel(self, dtype):
        return AnisotropicKernel(dtype=dtype)


class TestAnisotropicKernelGivenM(KernelTestCase):
    def create_kernel(self, dtype):
        A = np.random.default_rng(0).normal(size=(3, 3))
        return AnisotropicKernel(M=A @ A.T / 3, dtype=dtype)


class TestLaplaceKernel(KernelTestCase):
    def create_kernel(self, dtype):
        return LaplaceKernel(bandwidth=2.0, dtype=dtype)


class TestLaplaceKernelMetric(KernelTestCase):
    def create_kernel(self, dtype):
        return LaplaceKernel(bandwidth=3.0, M=np.diag([1.0, 0.5, 2.0]), dtype=dtype)


class TestNTKStructured(KernelTestCase):
    def create_kernel(self, dtype):
        return NTK(mlp(3, depth=2, width=8, seed=1, dtype=dtype), "structured")


class TestNTKJacobian(KernelTestCase):
    # The Jacobian path runs the model's own Keras forward pass (GELU here):
    # float64 Dense matmuls run in float32 on torch (keras issue 23704, ~1e-7),
    # and tf.nn.gelu is accurate to ~2e-9 on TensorFlow (see tests/helpers.py).
    rtol = {"float32": 1e-5, "float64": jacobian_f64_tolerance("gelu")}

    def create_kernel(self, dtype):
        return NTK(mlp(3, depth=2, width=8, seed=1, dtype=dtype), "jacobian")


class TestNTKMultiOutput(KernelTestCase):
    def create_kernel(self, dtype):
        return NTK(mlp(3, depth=1, width=8, output_dim=3, seed=2, dtype=dtype))
