"""A kernel on the outputs of a Keras network: deep kernel learning."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import ops

from kernelkit.errors import InputError
from kernelkit.kernels.algebra import (
    _dtype_name,
    check_kernel,
    deserialize_part,
    retyped,
    serialize_part,
)
from kernelkit.kernels.base import TrainableKernel
from kernelkit.paper_mlp import forward


class DeepKernel(TrainableKernel):
    """A base kernel on a network's outputs, ``k(x, x') = base(net(x), net(x'))``.

    The network's weights and the base kernel's parameters are the kernel's
    trainable variables, so KARE training (`kernelkit.training.fit_kare`,
    `kernelkit.estimators.KernelKARERegressor`) learns the representation
    and the kernel on it together. The network is any built Keras model
    mapping ``(n, d)`` to ``(n, k)``; the base kernel works on ``k``
    features (it is built on them here). A Dense MLP (`kernelkit.mlp`) is
    evaluated exactly in float64 on every backend (`kernelkit.paper_mlp.forward`).
    The network is trained in place, as `NTK` trains its model.

    When the base kernel has a finite feature map, so does the deep kernel
    (``Phi(x) = Phi_base(net(x))``) and the solver layer's features path applies.

    Args:
        network: A built Keras model (e.g. ``kernelkit.mlp(d, depth=2, width=64,
            output_dim=8)``: its linear output layer gives an 8-dimensional embedding).
        base: The kernel on the network's outputs (default: a Gaussian kernel
            with bandwidth ``sqrt(k)``), in the network's dtype.
        **kwargs: ``name``, ``trainable``; ``dtype`` defaults to the network's.

    Example:
        >>> import numpy as np
        >>> from kernelkit import DeepKernel, GaussianKernel, mlp
        >>> k = DeepKernel(mlp(3, depth=1, width=16, output_dim=2, seed=0), GaussianKernel(1.0))
        >>> tuple(k(np.random.rand(5, 3).astype("float32")).shape)
        (5, 5)
        >>> len(k.trainable_variables)   # 2 Dense layers (kernel, bias) + the bandwidth
        5

    Reference:
        Wilson, Hu, Salakhutdinov, Xing, "Deep Kernel Learning", AISTATS 2016.
    """

    def __init__(self, network: keras.Model, base: TrainableKernel | None = None,
                 **kwargs: Any) -> None:
        if not isinstance(network, keras.Model):
            raise InputError(
                f"DeepKernel: network must be a keras.Model, got {type(network).__name__} "
                "(for example kernelkit.mlp(d, depth=2, width=64, output_dim=8)).")
        if not network.built or not network.weights:
            raise InputError(
                "DeepKernel: the network must be built and have weights: build it with an "
                "input shape first (e.g. keras.Input(shape=(d,))).")
        net_dtype = keras.backend.standardize_dtype(network.weights[0].dtype)
        wanted = _dtype_name(kwargs.get("dtype"))
        if wanted is not None and wanted != net_dtype:
            raise InputError(
                f"DeepKernel(dtype={wanted!r}) but the network computes in {net_dtype}: build "
                f"the network in {wanted} (e.g. mlp(..., dtype={wanted!r})), or omit dtype.")
        self._embedding_dim = _output_dim(network)
        if base is None:
            from kernelkit.kernels.gaussian import GaussianKernel

            base = GaussianKernel(bandwidth=float(np.sqrt(self._embedding_dim)), dtype=net_dtype)
        check_kernel(base, "base", "DeepKernel")
        base_dtype = keras.backend.standardize_dtype(base.compute_dtype)
        if base_dtype != net_dtype:
            raise InputError(
                f"DeepKernel: the base kernel computes in {base_dtype} but the network in "
                f"{net_dtype}: create the base kernel with dtype={net_dtype!r}.")
        kwargs["dtype"] = net_dtype
        super().__init__(**kwargs)
        self.network = network  # tracked sublayers: their variables are this kernel's
        self.base = base
        if not base.built:
            base.build((None, self._embedding_dim))
        # Every variable now exists: no build() of this kernel's own.

    def embed(self, x: Any) -> Any:
        """The network's outputs ``net(x)``, shape ``(n, k)`` (a tensor in this kernel's dtype)."""
        x = ops.cast(x, self.compute_dtype)
        # forward(): exact float64 Dense layers on every backend; it needs a trainable
        # variable for the dtype, so a frozen network is simply called.
        out = forward(self.network, x) if self.network.trainable_variables else self.network(x)
        return ops.reshape(out, (-1, self._embedding_dim))

    def gram(self, x1: Any, x2: Any) -> Any:
        z1 = self.embed(x1)
        z2 = z1 if x2 is x1 else self.embed(x2)
        return self.base.gram(z1, z2)

    def diag_formula(self, x: Any) -> Any:
        return self.base.diag_formula(self.embed(x))

    @property
    def has_features(self) -> bool:
        """Whether the base kernel has a finite feature map (then this kernel has one)."""
        return self.base.has_features

    def _require_features(self) -> None:
        if not self.base.has_features:
            raise NotImplementedError(
                f"DeepKernel has a feature map only when its base kernel has one; "
                f"{type(self.base).__name__} defines none.")

    def features(self, x: Any) -> Any:
        """``Phi_base(net(x))``, when the base kernel has a feature map."""
        self._require_features()
        return self.base.features(self.embed(x))

    def num_features(self, d: int) -> int:
        """The base kernel's feature count on the network's ``k`` outputs."""
        self._require_features()
        return int(self.base.num_features(self._embedding_dim))

    def get_config(self) -> dict:
        return {**super().get_config(),
                "network": keras.saving.serialize_keras_object(self.network),
                "base": serialize_part(self.base)}

    @classmethod
    def from_config(cls, config: dict) -> "DeepKernel":
        """Rebuild the network and the base kernel (in this kernel's dtype), then the kernel."""
        config = dict(config)
        dtype = _dtype_name(config.get("dtype"))
        network = config["network"]
        if not isinstance(network, keras.Model):
            network = keras.saving.deserialize_keras_object(
                network if dtype is None else retyped(network, dtype))
        config["network"] = network
        config["base"] = deserialize_part(config["base"], config.get("dtype"))
        return cls(**config)


def _output_dim(network: keras.Model) -> int:
    """The number of outputs per example ``k`` (a static shape, else one probe evaluation)."""
    try:
        shape = network.output_shape
        if isinstance(shape, tuple) and all(s is not None for s in shape[1:]):
            return int(np.prod(shape[1:])) if len(shape) > 1 else 1
    except (AttributeError, ValueError, TypeError):
        pass
    try:
        d = int(network.input_shape[-1])
    except (AttributeError, ValueError, TypeError):
        raise InputError(
            "DeepKernel: the network's input shape is unknown: build it with "
            "keras.Input(shape=(d,)).") from None
    out = network(np.zeros((1, d), dtype=keras.backend.standardize_dtype(network.weights[0].dtype)))
    return int(np.prod(out.shape[1:]))
