"""scikit-learn estimators built from kernelkit's kernels, KARE training and KRR."""

from kernelkit.estimators.kernel_kare import KernelKAREClassifier, KernelKARERegressor
from kernelkit.estimators.mlp_baselines import (
    AfterNTKClassifier,
    AfterNTKRegressor,
    MLPClassifier,
    MLPRegressor,
)
from kernelkit.estimators.ntk_kare import NTKKAREClassifier, NTKKARERegressor
from kernelkit.estimators.rfm import RFMClassifier, RFMRegressor, laplace_agop

__all__ = [
    "NTKKARERegressor",
    "NTKKAREClassifier",
    "KernelKARERegressor",
    "KernelKAREClassifier",
    "AfterNTKRegressor",
    "AfterNTKClassifier",
    "MLPRegressor",
    "MLPClassifier",
    "RFMRegressor",
    "RFMClassifier",
    "laplace_agop",
]
