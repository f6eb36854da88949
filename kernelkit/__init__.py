"""kernelkit: train kernels to generalise with KARE, on JAX, PyTorch and TensorFlow.

The public API. Importing kernelkit imports Keras (which fixes the backend
from ``KERAS_BACKEND``, as Keras does) and changes no global state.

Example:
    >>> import numpy as np
    >>> import kernelkit as kk
    >>> X = np.random.rand(40, 3).astype("float32"); y = X.sum(1)
    >>> ntk = kk.NTK(kk.mlp(3, depth=1, width=32, seed=0))
    >>> value = kk.kare(ntk(X), y, z=0.1)
"""

from kernelkit._dtypes import enable_float64
from kernelkit.errors import (
    DtypeError,
    InputError,
    JitterWarning,
    KernelkitError,
    NumericalError,
)
from kernelkit.kare import kare
from kernelkit.kernels import (
    NTK,
    AnisotropicKernel,
    GaussianKernel,
    LaplaceKernel,
    TrainableKernel,
)
from kernelkit.mlp import mlp
from kernelkit.ridge import KernelRidge

__version__ = "0.1.0"

__all__ = [
    "TrainableKernel",
    "NTK",
    "GaussianKernel",
    "AnisotropicKernel",
    "LaplaceKernel",
    "mlp",
    "kare",
    "KernelRidge",
    "enable_float64",
    "KernelkitError",
    "InputError",
    "NumericalError",
    "DtypeError",
    "JitterWarning",
    "__version__",
]
