"""The empirical neural tangent kernel of a Keras model."""

from __future__ import annotations

import warnings
from typing import Any

import keras
import numpy as np

from kernelkit.errors import InputError, PrecisionWarning
from kernelkit.kernels._ntk_jacobian import (
    float64_forward_traps,
    jacobian_ntk,
    jacobian_ntk_diag,
    jacobian_ntk_features,
)
from kernelkit.kernels._ntk_structured import (
    structured_ntk_feature_factors,
    structured_ntk,
    structured_ntk_diag,
    structured_feature_count,
    structured_ntk_features,
    structured_reason,
)
from kernelkit.kernels.base import TrainableKernel

_IMPLEMENTATIONS = ("auto", "jacobian", "structured")


class NTK(TrainableKernel):
    """Empirical NTK ``K(x, x') = grad_theta f(x) . grad_theta f(x')``.

    The kernel's trainable variables are the model's: KARE training of an
    ``NTK`` trains the network's weights. For a model with ``k`` outputs the
    kernel is the NTK averaged over outputs,
    ``K = (1/k) sum_j grad f_j(x) . grad f_j(x')``, a single ``(n1, n2)``
    matrix (the convention of the paper's multi-class experiments).

    Implementations:

    - ``"structured"``: the closed form for a ``keras.Sequential`` of Dense
      layers with a known activation (see DESIGN.md); no per-example Jacobian,
      ``O(n^2 k sum(widths))``.
    - ``"jacobian"``: any Keras model; per-example Jacobians from the
      backend's autodiff over ``model.stateless_call``, ``O(n^2 k P)``.
    - ``"auto"`` (default): ``"structured"`` where it applies, else ``"jacobian"``.

    Args:
        model: A built Keras model mapping ``(n, d)`` to ``(n,)`` or ``(n, k)``.
        implementation: ``"auto"``, ``"jacobian"`` or ``"structured"``.
        **kwargs: ``name``; ``dtype`` defaults to the model's variable dtype.

    Example:
        >>> import numpy as np
        >>> from kernelkit import NTK, mlp
        >>> ntk = NTK(mlp(3, depth=1, width=16, seed=0))
        >>> ntk.implementation_
        'structured'
        >>> tuple(ntk(np.random.rand(5, 3).astype("float32")).shape)
        (5, 5)

    Reference:
        Jacot, Gabriel, Hongler, "Neural Tangent Kernel", NeurIPS 2018;
        Novak et al., "Fast Finite Width Neural Tangent Kernel", ICML 2022.
    """

    def __init__(self, model: keras.Model, implementation: str = "auto", **kwargs: Any):
        if not isinstance(model, keras.Model):
            raise InputError(f"model must be a keras.Model, got {type(model).__name__}.")
        if not model.built or not model.trainable_variables:
            raise InputError(
                "model must be built and have trainable weights: build it with an "
                "input shape first (e.g. keras.Input(shape=(d,)))."
            )
        if implementation not in _IMPLEMENTATIONS:
            raise InputError(
                f"implementation must be one of {_IMPLEMENTATIONS}, got {implementation!r}."
            )
        model_dtype = keras.backend.standardize_dtype(model.trainable_variables[0].dtype)
        requested = kwargs.setdefault("dtype", model_dtype)
        if isinstance(requested, str) and keras.backend.standardize_dtype(requested) != model_dtype:
            raise InputError(
                f"the NTK's dtype ({requested}) must be the model's ({model_dtype}): build "
                f"the model in {requested} (e.g. mlp(..., dtype={requested!r})) or omit dtype."
            )
        super().__init__(**kwargs)
        self.model = model
        self.implementation = implementation
        reason = structured_reason(model)
        if implementation == "structured" and reason is not None:
            raise InputError(
                f"implementation='structured' does not apply: {reason}. "
                "Use implementation='jacobian' (any model) or 'auto'."
            )
        self.implementation_ = (
            "structured" if implementation != "jacobian" and reason is None else "jacobian"
        )
        if self.implementation_ == "jacobian" and self.compute_dtype == "float64":
            traps = float64_forward_traps(model)
            if traps:
                warnings.warn(
                    "this float64 NTK differentiates the model's own Keras forward pass, "
                    f"where {'; '.join(traps)}: expect float32-level accuracy (~1e-7). "
                    + ("The 'structured' implementation is exact for this model."
                       if reason is None else "No exact implementation applies."),
                    PrecisionWarning,
                    stacklevel=2,
                )

    def gram(self, x1: Any, x2: Any) -> Any:
        x2 = None if x2 is x1 else x2
        if self.implementation_ == "structured":
            return structured_ntk(self.model.layers, x1, x2)
        return jacobian_ntk(self.model, x1, x2)

    def diag_formula(self, x: Any) -> Any:
        if self.implementation_ == "structured":
            return structured_ntk_diag(self.model.layers, x)
        return jacobian_ntk_diag(self.model, x)

    def features(self, x: Any) -> Any:
        """A feature map with ``Phi Phi^T`` = this NTK: per-example parameter gradients.

        The structured form needs no autodiff and, with a linear output layer,
        its size does not grow with the number of outputs (see
        `kernelkit.kernels._ntk_structured.structured_ntk_features`); the
        Jacobian form has ``k * P`` columns.
        """
        if self.implementation_ == "structured":
            return structured_ntk_features(self.model.layers, x)
        return jacobian_ntk_features(self.model, x)

    def feature_factors(self, x: Any) -> list[tuple[Any, Any]]:
        """`features` as factor pairs (structured implementation only; see the base class)."""
        if self.implementation_ != "structured":
            return super().feature_factors(x)
        return structured_ntk_feature_factors(self.model.layers, x)

    @property
    def has_feature_factors(self) -> bool:
        """Whether this NTK has feature factors: the structured implementation does.

        A subclass that overrides `features` but not `feature_factors` has none
        (its features are no longer the layers' factors).
        """
        cls = type(self)
        return self.implementation_ == "structured" and (
            cls.features is NTK.features or cls.feature_factors is not NTK.feature_factors)

    def num_features(self, d: int) -> int:
        """The number of feature columns, from the layer shapes (no computation)."""
        if self.implementation_ == "structured":
            return structured_feature_count(self.model.layers, d)
        try:
            k = int(np.prod(self.model.output_shape[1:]))
        except (AttributeError, TypeError, ValueError):  # a model without a static shape
            return super().num_features(d)
        return k * sum(int(np.prod(v.shape)) for v in self.model.trainable_variables)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "model": keras.saving.serialize_keras_object(self.model),
            "implementation": self.implementation,
        }

    @classmethod
    def from_config(cls, config: dict) -> "NTK":
        config = dict(config)
        config["model"] = keras.saving.deserialize_keras_object(config["model"])
        return cls(**config)
