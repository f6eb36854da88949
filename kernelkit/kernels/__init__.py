"""Trainable kernels: one public class per module (the composites of kernel algebra in one).

`kernelkit.kernels.distances` holds the distance functions of the stationary
kernels, for code built on them (RFM).
"""

from kernelkit.kernels.algebra import ProductKernel, ScaleKernel, SumKernel
from kernelkit.kernels.anisotropic import AnisotropicKernel
from kernelkit.kernels.base import TrainableKernel
from kernelkit.kernels.deep import DeepKernel
from kernelkit.kernels.gaussian import GaussianKernel
from kernelkit.kernels.laplace import LaplaceKernel
from kernelkit.kernels.ntk import NTK

__all__ = ["TrainableKernel", "NTK", "GaussianKernel", "AnisotropicKernel", "LaplaceKernel",
           "SumKernel", "ProductKernel", "ScaleKernel", "DeepKernel"]
