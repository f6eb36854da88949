"""Trainable kernels: one public class per module."""

from kernelkit.kernels.anisotropic import AnisotropicKernel
from kernelkit.kernels.base import TrainableKernel
from kernelkit.kernels.gaussian import GaussianKernel
from kernelkit.kernels.laplace import LaplaceKernel
from kernelkit.kernels.ntk import NTK

__all__ = ["TrainableKernel", "NTK", "GaussianKernel", "AnisotropicKernel", "LaplaceKernel"]
