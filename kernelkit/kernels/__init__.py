"""Trainable kernels: one public class per module (the composites of kernel algebra in one)."""

from kernelkit.kernels import algebra as _algebra
from kernelkit.kernels.algebra import ProductKernel, ScaleKernel, SumKernel
from kernelkit.kernels.anisotropic import AnisotropicKernel
from kernelkit.kernels.base import TrainableKernel
from kernelkit.kernels.deep import DeepKernel
from kernelkit.kernels.gaussian import GaussianKernel
from kernelkit.kernels.laplace import LaplaceKernel
from kernelkit.kernels.ntk import NTK

# Kernel algebra: k1 + k2, k1 * k2, c * k and k * c. Attached here, at import, until the
# operators move into TrainableKernel itself (kernels/base.py); every kernel module is in
# this package, so they are in place before any kernel exists.
TrainableKernel.__add__ = _algebra.kernel_add
TrainableKernel.__radd__ = _algebra.kernel_radd
TrainableKernel.__mul__ = _algebra.kernel_mul
TrainableKernel.__rmul__ = _algebra.kernel_rmul

__all__ = ["TrainableKernel", "NTK", "GaussianKernel", "AnisotropicKernel", "LaplaceKernel",
           "SumKernel", "ProductKernel", "ScaleKernel", "DeepKernel"]
