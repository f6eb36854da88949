"""kernelkit: train kernels to generalise with KARE, on JAX, PyTorch and TensorFlow.

The public API. Names are loaded on first use (PEP 562), so ``import
kernelkit`` and the subpackages that need no numerics (``kernelkit.cli``) do
not import Keras; the first numerical name you touch imports Keras, which
fixes the backend from ``KERAS_BACKEND`` as Keras does. kernelkit changes no
global state on import. Only if, at that first numerical name, Keras is not
imported yet, ``KERAS_BACKEND`` is unset and Keras' default backend
(tensorflow) is not installed, kernelkit sets ``KERAS_BACKEND`` to the first
installed of jax, torch, tensorflow and warns once (see
``kernelkit._backend_choice``).

Example:
    >>> import numpy as np
    >>> import kernelkit as kk
    >>> X = np.random.rand(40, 3).astype("float32"); y = X.sum(1)
    >>> ntk = kk.NTK(kk.mlp(3, depth=1, width=32, seed=0))
    >>> value = kk.kare(ntk(X), y, z=0.1)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "TrainableKernel": "kernelkit.kernels.base",
    "NTK": "kernelkit.kernels.ntk",
    "GaussianKernel": "kernelkit.kernels.gaussian",
    "AnisotropicKernel": "kernelkit.kernels.anisotropic",
    "LaplaceKernel": "kernelkit.kernels.laplace",
    "SumKernel": "kernelkit.kernels.algebra",
    "ProductKernel": "kernelkit.kernels.algebra",
    "ScaleKernel": "kernelkit.kernels.algebra",
    "DeepKernel": "kernelkit.kernels.deep",
    "mlp": "kernelkit.paper_mlp",
    "kare": "kernelkit.risk",
    "kare_value_and_grad": "kernelkit.risk",
    "KernelRidge": "kernelkit.ridge",
    "enable_float64": "kernelkit._dtypes",
    "KernelkitError": "kernelkit.errors",
    "InputError": "kernelkit.errors",
    "NumericalError": "kernelkit.errors",
    "DtypeError": "kernelkit.errors",
    "JitterWarning": "kernelkit.errors",
    "PrecisionWarning": "kernelkit.errors",
    "DataError": "kernelkit.errors",
    "MemoryBudgetError": "kernelkit.errors",
}
# Module names never equal an exported name: importing a submodule sets the
# package attribute of that name, which would shadow a lazily loaded function.
_SUBMODULES = {"backends", "kernels", "testing", "solvers", "errors", "ridge", "risk", "defaults",
               "paper_mlp", "training", "data", "estimators"}
#: Modules that import no Keras (their names need no backend).
_KERAS_FREE = {"kernelkit.errors", "kernelkit.data"}

__all__ = list(_EXPORTS) + ["__version__"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name) or (f"kernelkit.{name}" if name in _SUBMODULES else None)
    if module is None:
        raise AttributeError(f"module 'kernelkit' has no attribute {name!r}")
    if module not in _KERAS_FREE:
        from kernelkit._backend_choice import prepare_keras_import

        prepare_keras_import()
    if name in _EXPORTS:
        value = getattr(importlib.import_module(module), name)
        globals()[name] = value
        return value
    return importlib.import_module(module)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__) | _SUBMODULES)


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs
    from kernelkit._dtypes import enable_float64
    from kernelkit.errors import (DataError, DtypeError, InputError, JitterWarning,
                                  KernelkitError, MemoryBudgetError, NumericalError,
                                  PrecisionWarning)
    from kernelkit.risk import kare, kare_value_and_grad
    from kernelkit.kernels import (NTK, AnisotropicKernel, DeepKernel, GaussianKernel,
                                   LaplaceKernel, ProductKernel, ScaleKernel, SumKernel,
                                   TrainableKernel)
    from kernelkit.paper_mlp import mlp
    from kernelkit.ridge import KernelRidge
