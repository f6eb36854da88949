"""Kernel algebra: sums, products and positive multiples of trainable kernels.

``k1 + k2``, ``k1 * k2``, ``c * k`` and ``k * c`` on any `TrainableKernel`
return a `SumKernel`, `ProductKernel` or `ScaleKernel`: trainable kernels
themselves, whose variables are those of their parts (plus the scale), so
KARE training (`kernelkit.training.fit_kare`) trains every part together.
Sums, products and positive multiples of positive semi-definite kernels are
positive semi-definite (the product by the Schur product theorem).

Each composite has a feature map when its parts have one (sum: the
concatenation ``[Phi1, Phi2]``; product: the row-wise Kronecker product, with
``P1 * P2`` columns; scale: ``sqrt(c) Phi``), so the solver layer's features
path applies to, e.g., sums of NTKs.

Example:
    >>> import numpy as np
    >>> from kernelkit import GaussianKernel, LaplaceKernel
    >>> k = 0.5 * GaussianKernel(1.0) + LaplaceKernel(2.0)
    >>> type(k).__name__, type(k.k1).__name__
    ('SumKernel', 'ScaleKernel')
    >>> tuple(k(np.random.rand(4, 3)).shape)
    (4, 4)
"""

from __future__ import annotations

import copy
import math
import numbers
from typing import Any

import keras
import numpy as np
from keras import ops

from kernelkit.errors import InputError
from kernelkit.kernels._params import positive_scalar_weight, positive_value
from kernelkit.kernels.base import TrainableKernel


# ---------------------------------------------------------------- helpers
def _dtype_name(dtype: Any) -> str | None:
    """The compute dtype of a ``dtype=`` argument (a name, a policy or its config)."""
    if dtype is None:
        return None
    return keras.dtype_policies.get(dtype).compute_dtype


def _is_float_dtype_spec(value: Any) -> bool:
    if isinstance(value, str):
        return "float" in value
    if isinstance(value, dict) and "DTypePolicy" in str(value.get("class_name", "")):
        return "float" in str(value.get("config", {}).get("name", ""))
    return False


def retyped(config: Any, dtype: str) -> Any:
    """A copy of a serialised Keras object with every float ``dtype`` entry set to ``dtype``.

    Rebuilding a kernel, a composite's parts or a network from this copy
    computes in ``dtype`` throughout (integer inputs keep their dtype). This
    is how the estimators' ``dtype=`` reaches the parts of a composite.
    """
    if isinstance(config, dict):
        return {k: (dtype if k == "dtype" and _is_float_dtype_spec(v) else retyped(v, dtype))
                for k, v in config.items()}
    if isinstance(config, list):
        return [retyped(v, dtype) for v in config]
    return copy.copy(config)


def deserialize_part(spec: Any, dtype: Any) -> TrainableKernel:
    """A part of a composite from its serialised form, in the composite's ``dtype``."""
    if isinstance(spec, TrainableKernel):
        return spec
    name = _dtype_name(dtype)
    return keras.saving.deserialize_keras_object(spec if name is None else retyped(spec, name))


def check_kernel(obj: Any, role: str, owner: str) -> TrainableKernel:
    """Raise a clear error unless ``obj`` is a `TrainableKernel`."""
    if isinstance(obj, TrainableKernel):
        return obj
    hint = ""
    if isinstance(obj, keras.Model):
        hint = (" For a Keras model, use DeepKernel(model, base) (a kernel on its outputs) "
                "or NTK(model) (its tangent kernel).")
    elif isinstance(obj, numbers.Number):
        hint = " To multiply a kernel by a positive number, use c * k or ScaleKernel(k, c)."
    raise InputError(
        f"{owner}: {role} must be a kernelkit TrainableKernel, got {type(obj).__name__}.{hint}")


def common_dtype(parts: dict, requested: Any, owner: str) -> str:
    """The one compute dtype of ``parts`` (and of a ``dtype=`` argument, if given)."""
    dtypes = {name: keras.backend.standardize_dtype(p.compute_dtype) for name, p in parts.items()}
    found = sorted(set(dtypes.values()))
    if len(found) > 1:
        listing = ", ".join(f"{name} in {dt}" for name, dt in dtypes.items())
        raise InputError(
            f"{owner}: the parts compute in different dtypes ({listing}); create every part "
            f"in one dtype (e.g. dtype={found[-1]!r} on each).")
    dtype = found[0]
    wanted = _dtype_name(requested)
    if wanted is not None and wanted != dtype:
        raise InputError(
            f"{owner}(dtype={wanted!r}) but its parts compute in {dtype}: create the parts in "
            f"{wanted} (dtype={wanted!r}), or omit dtype.")
    return dtype


def _check_not_shared(parts: dict, owner: str) -> None:
    seen: dict = {}
    for name, part in parts.items():
        for v in part.weights:
            if id(v) in seen and seen[id(v)] != name:
                raise InputError(
                    f"{owner}: {seen[id(v)]} and {name} share the variable {v.path!r} (the same "
                    "kernel used twice); a composite could not be saved and restored that way. "
                    "Use ScaleKernel(k, 2.0) for k + k, or a copy of the kernel for the second "
                    "part: type(k).from_config(k.get_config()).")
            seen[id(v)] = name


def serialize_part(part: TrainableKernel) -> dict:
    """A part's Keras serialisation without its ``build_config``.

    The composite's own build config (its input dimension) rebuilds every
    part; the parts' would depend on how each was built (called directly or
    through the composite), and configs would not round-trip equal.
    """
    spec = keras.saving.serialize_keras_object(part)
    spec.pop("build_config", None)
    return spec


def _built_input_dim(part: TrainableKernel) -> int | None:
    """The input dimension ``part`` was built on, where it recorded one."""
    dim = getattr(part, "_input_dim", None)
    if dim is not None:
        return int(dim)
    config = part.get_build_config() if part.built else None
    if config:
        shape = config.get("input_shape") or config.get("shapes_dict", {}).get("x1_shape")
        if shape:
            return int(shape[-1])
    return None


def _ready(part: TrainableKernel) -> bool:
    """Whether ``part`` has all its variables (built, or no build() of its own)."""
    return part.built or not part._builds_lazily()


def check_scale(scale: Any, owner: str = "ScaleKernel") -> float:
    """A positive, finite scale as a float, or a clear error."""
    if isinstance(scale, bool) or not isinstance(scale, numbers.Real):
        raise InputError(
            f"{owner}: the scale must be a positive number, got {type(scale).__name__} "
            f"{scale!r}.")
    value = float(scale)
    if not math.isfinite(value) or value <= 0:
        raise InputError(
            f"{owner}: the scale must be positive and finite, got {value!r} (a kernel times a "
            "negative number is not positive semi-definite, and times 0 it is 0). Use c * k "
            "with c > 0.")
    return value


# ------------------------------------------------------------- composites
class _CompositeKernel(TrainableKernel):
    """Shared by the composites: parts as tracked sublayers (their variables are
    the composite's), one dtype, building unbuilt parts, nested serialisation.

    Subclasses list the constructor arguments that are parts in ``_parts``.
    """

    _parts: tuple[str, ...] = ()

    def __init__(self, parts: dict, **kwargs: Any) -> None:
        owner = type(self).__name__
        for name, part in parts.items():
            check_kernel(part, name, owner)
        _check_not_shared(parts, owner)
        kwargs["dtype"] = common_dtype(parts, kwargs.get("dtype"), owner)
        super().__init__(**kwargs)
        for name, part in parts.items():
            setattr(self, name, part)  # tracked: the part's variables become this kernel's
        dims = [d for d in map(_built_input_dim, parts.values()) if d is not None]
        self._input_dim: int | None = dims[0] if dims else None

    def _part_list(self) -> list[TrainableKernel]:
        return [getattr(self, name) for name in self._parts]

    def _mark_if_ready(self) -> None:
        """Built at once when every part has its variables (call at the end of __init__)."""
        if all(_ready(p) for p in self._part_list()):
            for p in self._part_list():
                p.built = True
            self.built = True

    def build(self, x1_shape: Any, x2_shape: Any = None) -> None:
        """Build the parts that create variables in ``build`` (on ``d`` features)."""
        self._input_dim = int(x1_shape[-1])
        for part in self._part_list():
            if not part.built:
                part.build((None, self._input_dim))

    def get_build_config(self) -> dict | None:
        config = super().get_build_config()
        if config is None and self._input_dim is not None:
            config = {"input_shape": [None, self._input_dim]}
        return config

    @property
    def has_features(self) -> bool:
        """Whether every part has a finite feature map (then this kernel has one)."""
        return all(p.has_features for p in self._part_list())

    def _require_features(self) -> None:
        missing = [name for name in self._parts if not getattr(self, name).has_features]
        if missing:
            raise NotImplementedError(
                f"{type(self).__name__} has a feature map only when all its parts have one; "
                + ", ".join(f"{name} ({type(getattr(self, name)).__name__})" for name in missing)
                + " defines none.")

    def get_config(self) -> dict:
        return {**super().get_config(),
                **{name: serialize_part(getattr(self, name)) for name in self._parts}}

    @classmethod
    def from_config(cls, config: dict) -> "_CompositeKernel":
        """Rebuild the parts (in this kernel's dtype), then the composite."""
        config = dict(config)
        for name in cls._parts:
            config[name] = deserialize_part(config[name], config.get("dtype"))
        return cls(**config)


class SumKernel(_CompositeKernel):
    """The sum of two kernels, ``k(x, x') = k1(x, x') + k2(x, x')``; also ``k1 + k2``.

    Both parts are trained together on KARE: the sum's trainable variables
    are theirs. With feature maps ``Phi1`` and ``Phi2`` the sum has the
    feature map ``[Phi1, Phi2]`` (``P1 + P2`` columns).

    Args:
        k1: The first kernel.
        k2: The second kernel, in the same dtype.
        **kwargs: ``name``, ``trainable``; ``dtype`` defaults to the parts'.

    Example:
        >>> import numpy as np
        >>> from kernelkit import GaussianKernel, LaplaceKernel, SumKernel
        >>> X = np.random.rand(5, 2)
        >>> k = GaussianKernel(1.0) + LaplaceKernel(3.0)
        >>> isinstance(k, SumKernel), len(k.trainable_variables)
        (True, 2)
        >>> from kernelkit.backends import to_numpy
        >>> K = to_numpy(k(X))
        >>> bool(np.allclose(K, to_numpy(GaussianKernel(1.0)(X)) + to_numpy(LaplaceKernel(3.0)(X))))
        True

    Reference:
        Rasmussen and Williams, "Gaussian Processes for Machine Learning", 2006,
        section 4.2.4 (making new kernels from old); GPyTorch's ``AdditiveKernel``.
    """

    _parts = ("k1", "k2")

    def __init__(self, k1: TrainableKernel, k2: TrainableKernel, **kwargs: Any) -> None:
        super().__init__({"k1": k1, "k2": k2}, **kwargs)
        self._mark_if_ready()

    def gram(self, x1: Any, x2: Any) -> Any:
        return self.k1.gram(x1, x2) + self.k2.gram(x1, x2)

    def diag_formula(self, x: Any) -> Any:
        return self.k1.diag_formula(x) + self.k2.diag_formula(x)

    def features(self, x: Any) -> Any:
        """``[Phi1(x), Phi2(x)]``: ``Phi Phi^T = K1 + K2``."""
        self._require_features()
        return ops.concatenate([self.k1.features(x), self.k2.features(x)], axis=1)

    def num_features(self, d: int) -> int:
        """``P1 + P2``."""
        self._require_features()
        return int(self.k1.num_features(d)) + int(self.k2.num_features(d))


class ProductKernel(_CompositeKernel):
    """The product of two kernels, ``k(x, x') = k1(x, x') k2(x, x')``; also ``k1 * k2``.

    Positive semi-definite by the Schur product theorem. Both parts are
    trained together on KARE. With feature maps ``Phi1`` (``P1`` columns)
    and ``Phi2`` (``P2``) the product has the row-wise Kronecker product
    ``Phi[i] = kron(Phi1[i], Phi2[i])`` as feature map, with ``P1 * P2``
    columns (it can grow fast: the features path pays ``O(n (P1 P2)^2)``).

    Args:
        k1: The first kernel.
        k2: The second kernel, in the same dtype.
        **kwargs: ``name``, ``trainable``; ``dtype`` defaults to the parts'.

    Example:
        >>> import numpy as np
        >>> from kernelkit import GaussianKernel, LaplaceKernel
        >>> k = GaussianKernel(1.0) * LaplaceKernel(3.0)
        >>> type(k).__name__, tuple(k(np.random.rand(4, 2)).shape)
        ('ProductKernel', (4, 4))

    Reference:
        Rasmussen and Williams, "Gaussian Processes for Machine Learning", 2006,
        section 4.2.4; GPyTorch's ``ProductKernel``.
    """

    _parts = ("k1", "k2")

    def __init__(self, k1: TrainableKernel, k2: TrainableKernel, **kwargs: Any) -> None:
        super().__init__({"k1": k1, "k2": k2}, **kwargs)
        self._mark_if_ready()

    def gram(self, x1: Any, x2: Any) -> Any:
        return self.k1.gram(x1, x2) * self.k2.gram(x1, x2)

    def diag_formula(self, x: Any) -> Any:
        return self.k1.diag_formula(x) * self.k2.diag_formula(x)

    def features(self, x: Any) -> Any:
        """Row-wise Kronecker product of ``Phi1(x)`` and ``Phi2(x)``: ``Phi Phi^T = K1 * K2``."""
        self._require_features()
        phi1, phi2 = self.k1.features(x), self.k2.features(x)
        p1, p2 = int(phi1.shape[1]), int(phi2.shape[1])
        return ops.reshape(phi1[:, :, None] * phi2[:, None, :], (-1, p1 * p2))

    def num_features(self, d: int) -> int:
        """``P1 * P2``."""
        self._require_features()
        return int(self.k1.num_features(d)) * int(self.k2.num_features(d))


class ScaleKernel(_CompositeKernel):
    """A kernel times a trainable positive scale, ``k(x, x') = c base(x, x')``; also ``c * k``.

    The scale is stored as ``log(c)`` (the variable ``log_scale``), so it stays
    positive under any gradient step; read the current value with
    `scale_value`. In KARE (``A = K / n + z I``) the scale of ``K`` sets the
    effective ridge, and in a sum it sets each part's weight, so training it
    matters. With a feature map ``Phi`` the scaled kernel has ``sqrt(c) Phi``.

    Args:
        base: The kernel to scale.
        scale: Initial scale ``c``, > 0.
        train_scale: Whether KARE training may change the scale (the base's
            variables train unless the base was created with ``trainable=False``).
        **kwargs: ``name``; ``trainable`` (``False``: nothing in this kernel,
            base included, trains); ``dtype`` defaults to the base's.

    Example:
        >>> import numpy as np
        >>> from kernelkit import GaussianKernel, ScaleKernel
        >>> k = ScaleKernel(GaussianKernel(1.0), scale=2.0)
        >>> round(k.scale_value, 6), [v.name for v in k.trainable_variables]
        (2.0, ['log_scale', 'log_bandwidth'])
        >>> from kernelkit.backends import to_numpy
        >>> float(to_numpy(k.diag(np.zeros((1, 3))))[0])
        2.0

    Reference:
        GPyTorch's ``ScaleKernel`` (a trainable output scale).
    """

    _parts = ("base",)
    _initial_value_keys = ("scale",)

    def __init__(self, base: TrainableKernel, scale: float = 1.0, train_scale: bool = True,
                 **kwargs: Any) -> None:
        super().__init__({"base": base}, **kwargs)
        self.scale = check_scale(scale)
        self.train_scale = bool(train_scale)
        self.log_scale = positive_scalar_weight(self, "scale", self.scale,
                                                trainable=self.train_scale)
        self._mark_if_ready()

    @property
    def scale_value(self) -> float:
        """The current (possibly trained) scale ``c``."""
        return positive_value(self.log_scale)

    def gram(self, x1: Any, x2: Any) -> Any:
        return ops.exp(self.log_scale) * self.base.gram(x1, x2)

    def diag_formula(self, x: Any) -> Any:
        return ops.exp(self.log_scale) * self.base.diag_formula(x)

    def features(self, x: Any) -> Any:
        """``sqrt(c) Phi(x)``."""
        self._require_features()
        return ops.exp(0.5 * self.log_scale) * self.base.features(x)

    def num_features(self, d: int) -> int:
        """The base's feature count."""
        self._require_features()
        return int(self.base.num_features(d))

    def get_config(self) -> dict:
        return {**super().get_config(), "scale": self.scale, "train_scale": self.train_scale}


# -------------------------------------------------------------- operators
def _operand_error(symbol: str, kernel: Any, other: Any, reflected: bool = False) -> InputError:
    if isinstance(other, numbers.Number) and symbol == "+":
        hint = ("adding a number to a kernel is not supported: add two kernels (k1 + k2), "
                "or scale one (c * k, c > 0)")
    elif isinstance(other, keras.Model):
        hint = ("for a Keras model use DeepKernel(model, base) (a kernel on its outputs) or "
                "NTK(model) (its tangent kernel)")
    else:
        hint = ("both operands must be kernelkit TrainableKernels"
                + (" (or, for *, a positive number)" if symbol == "*" else ""))
    left, right = type(kernel).__name__, type(other).__name__
    if reflected:
        left, right = right, left
    return InputError(f"cannot compute {left} {symbol} {right}: {hint}.")


def kernel_add(self: TrainableKernel, other: Any) -> SumKernel:
    """``self + other``: a `SumKernel` of two kernels."""
    if isinstance(other, TrainableKernel):
        return SumKernel(self, other)
    raise _operand_error("+", self, other)


def kernel_radd(self: TrainableKernel, other: Any) -> SumKernel:
    """``other + self`` for a non-kernel ``other``: a clear error."""
    raise _operand_error("+", self, other, reflected=True)


def kernel_mul(self: TrainableKernel, other: Any) -> TrainableKernel:
    """``self * other``: a `ProductKernel` of two kernels, or a `ScaleKernel` for a number."""
    if isinstance(other, TrainableKernel):
        return ProductKernel(self, other)
    if isinstance(other, numbers.Real) and not isinstance(other, bool):
        return ScaleKernel(self, check_scale(other, f"{type(self).__name__} * {other!r}"))
    raise _operand_error("*", self, other)


def kernel_rmul(self: TrainableKernel, other: Any) -> ScaleKernel:
    """``c * self`` for a positive number ``c``: a `ScaleKernel`."""
    if isinstance(other, numbers.Real) and not isinstance(other, bool):
        return ScaleKernel(self, check_scale(other, f"{other!r} * {type(self).__name__}"))
    raise _operand_error("*", self, other, reflected=True)
