"""The `TrainableKernel` base class."""

from __future__ import annotations

import importlib
import sys
from typing import Any, Sequence

import keras
import numpy as np
from keras import ops

from kernelkit import backends
from kernelkit._dtypes import check_result_dtype, conform, resolve_dtype
from kernelkit.errors import InputError
from kernelkit._validation import check_matrix, check_same_features, same_values
from kernelkit.kernels._compiled import eager_compiled_call


class TrainableKernel(keras.layers.Layer):
    """A positive semi-definite kernel whose parameters are Keras variables.

    Calling the kernel, ``kernel(x1, x2=None)``, returns the Gram matrix of
    shape ``(n1, n2)``; ``x2=None`` means ``x2 = x1``. The base class checks
    shapes and values, casts inputs to the kernel's dtype and turns TF32 off;
    a subclass writes only the formula, in ``keras.ops``, in `gram`
    (and, optionally, a faster `diag_formula`). Trainable parameters
    are Keras variables created in ``__init__`` or ``build``, so that KARE
    training (and `stateless_gram`) can differentiate through them.

    Conventions: inputs are 2-D ``(n_samples, n_features)``; the dtype is the
    layer's (``dtype=`` argument, default ``keras.config.floatx()``); float64
    on JAX requires x64 mode (see `kernelkit.enable_float64`); float64 data
    given to a float32 kernel is cast with a ``PrecisionWarning`` (once per
    kernel).

    Every subclass is registered with Keras' serialisation on definition
    (`__init_subclass__`), so it can be serialised, pickled, cloned and used
    in the estimators without a decorator; an explicit
    ``@keras.saving.register_keras_serializable(package=...)`` still chooses
    another name.

    Args:
        **kwargs: Passed to ``keras.layers.Layer`` (``name``, ``dtype``).

    Example:
        >>> import keras
        >>> from keras import ops
        >>> from kernelkit import TrainableKernel
        >>> class Linear(TrainableKernel):
        ...     def __init__(self, scale=1.0, **kwargs):
        ...         super().__init__(**kwargs)
        ...         self.scale = scale
        ...         self.log_scale = self.add_weight(
        ...             shape=(), initializer=keras.initializers.Constant(0.0))
        ...     def gram(self, x1, x2):
        ...         return ops.exp(self.log_scale) * ops.einsum("id,jd->ij", x1, x2)
        ...     def get_config(self):
        ...         return {**super().get_config(), "scale": self.scale}
        >>> Linear()(ops.ones((3, 2))).shape
        (3, 3)

    Reference:
        The design follows GPyTorch's ``Kernel``: shared work in the base class,
        the formula in the subclass.
    """

    #: Config keys that only give variables their initial values. A built
    #: kernel's values are arguments of its compiled programs, so kernels that
    #: differ only there share those programs (`kernelkit.kernels._compiled`).
    _initial_value_keys: tuple[str, ...] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Register every subclass with Keras' serialisation (see `registered_package`)."""
        super().__init_subclass__(**kwargs)
        keras.saving.register_keras_serializable(
            package=registered_package(cls), name=cls.__qualname__)(cls)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        resolve_dtype(self.dtype)  # float64 on JAX without x64: a clear error

    # ------------------------------------------------------- kernel algebra
    # k1 + k2, k1 * k2, c * k, k * c (kernelkit.kernels.algebra; imported late,
    # as the composites are themselves TrainableKernels).
    def __add__(self, other: Any) -> "TrainableKernel":
        from kernelkit.kernels.algebra import kernel_add

        return kernel_add(self, other)

    def __radd__(self, other: Any) -> "TrainableKernel":
        from kernelkit.kernels.algebra import kernel_radd

        return kernel_radd(self, other)

    def __mul__(self, other: Any) -> "TrainableKernel":
        from kernelkit.kernels.algebra import kernel_mul

        return kernel_mul(self, other)

    def __rmul__(self, other: Any) -> "TrainableKernel":
        from kernelkit.kernels.algebra import kernel_rmul

        return kernel_rmul(self, other)

    # ------------------------------------------------------------------ API
    def gram(self, x1: Any, x2: Any) -> Any:
        """The kernel formula: Gram matrix of ``x1`` (n1, d) and ``x2`` (n2, d).

        Subclasses implement this in ``keras.ops``. Inputs are already checked
        and cast to the kernel's dtype.
        """
        raise NotImplementedError(
            f"{type(self).__name__} must implement gram(self, x1, x2)."
        )

    def diag_formula(self, x: Any) -> Any:
        """The diagonal ``k(x_i, x_i)``; override for a faster formula."""
        return ops.diagonal(self.gram(x, x))

    def features(self, x: Any) -> Any:
        """Optional: a finite feature map ``Phi(x)`` of shape ``(n, P)``, ``K = Phi Phi^T``.

        Define it (in ``keras.ops``) and the solver layer can compute KARE, its
        gradient and kernel ridge regression through ``Phi^T Phi`` (``P x P``),
        in time linear in ``n`` (``solver="features"``). Inputs are already
        checked and cast, as for `gram`.
        """
        raise NotImplementedError(f"{type(self).__name__} defines no feature map.")

    @property
    def has_features(self) -> bool:
        """Whether this kernel defines a finite feature map (`features`)."""
        return type(self).features is not TrainableKernel.features

    def num_features(self, d: int) -> int:
        """The number of feature columns ``P`` for inputs with ``d`` features.

        The default evaluates `features` on one row; override it where ``P``
        is known without computing anything.
        """
        return int(self.feature_map(np.zeros((1, int(d)))).shape[1])

    def matvec(self, x: Any, v: Any) -> Any:
        """Optional: the product ``K(x, x) @ v`` without forming ``K`` (``v``: ``(n, c)``).

        Define it (in ``keras.ops``, differentiable in the kernel's variables)
        and the iterative solver (``solver="iterative"``) uses it for every
        product with the kernel matrix, and differentiates
        ``sum(u * matvec(x, v))`` for KARE's gradient; its memory is the
        method's own. Inputs are already checked and cast, as for `gram`.
        """
        raise NotImplementedError(f"{type(self).__name__} defines no matvec.")

    @property
    def has_matvec(self) -> bool:
        """Whether this kernel defines its own products ``K v`` (`matvec`)."""
        return type(self).matvec is not TrainableKernel.matvec

    def stateless_matvec(self, trainable_values: Sequence[Any], x: Any, v: Any) -> Any:
        """`matvec` with the trainable variables replaced by given values (pure)."""
        return self._stateless(self.matvec, trainable_values, x, v)

    def feature_map(self, x: Any) -> Any:
        """``Phi(x)``, checked and cast like a Gram matrix (see `features`).

        Args:
            x: Inputs of shape ``(n, d)``.

        Returns:
            The feature matrix ``(n, P)`` with ``K(x, x') = Phi(x) Phi(x')^T``.
        """
        x = self._cast(check_matrix(x, "x"))
        if not self.built:
            self(x[:1])
        with backends.no_tf32():
            phi = self.features(x)
        check_result_dtype(phi, self.compute_dtype, f"{type(self).__name__}'s features")
        return phi

    def stateless_features(self, trainable_values: Sequence[Any], x: Any) -> Any:
        """`features` with the trainable variables replaced by given values (pure).

        Args:
            trainable_values: One value per trainable variable.
            x: Inputs of shape ``(n, d)``.

        Returns:
            The feature matrix ``(n, P)``.
        """
        return self._stateless(self.features, trainable_values, x)

    def feature_factors(self, x: Any) -> list[tuple[Any, Any]]:
        """Optional: `features` as factor pairs ``(a, g)``, for products without ``Phi``.

        ``features(x)`` must equal the concatenation over the pairs of
        ``reshape(einsum("nd,nkw->nkdw", a, g), (n, -1))``. The iterative
        solver then takes ``Phi^T V`` and ``Phi T`` factor by factor
        (`kernelkit.solvers.matvec.factored_transpose`) instead of forming
        row blocks of ``Phi``: the structured NTK defines it.
        """
        raise NotImplementedError(f"{type(self).__name__} defines no feature factors.")

    @property
    def has_feature_factors(self) -> bool:
        """Whether `feature_factors` is defined."""
        return type(self).feature_factors is not TrainableKernel.feature_factors

    def stateless_feature_factors(self, trainable_values: Sequence[Any], x: Any) -> list:
        """`feature_factors` with the trainable variables replaced by given values (pure)."""
        return self._stateless(self.feature_factors, trainable_values, x)

    def _stateless(self, method: Any, trainable_values: Sequence[Any], *arrays: Any) -> Any:
        """``method(*arrays)`` (cast) with the trainable variables replaced by given values."""
        self._mark_built()
        mapping = list(zip(self.trainable_variables, trainable_values)) + [
            (v, v.value) for v in self.non_trainable_variables]
        with keras.StatelessScope(state_mapping=mapping), backends.no_tf32():
            return method(*[self._cast(a) for a in arrays])

    def __call__(self, x1: Any, x2: Any = None, **kwargs: Any) -> Any:
        """Check the inputs (before Keras builds anything), then evaluate."""
        x1 = check_matrix(x1, "x1")
        if x2 is not None:
            x2 = check_matrix(x2, "x2")
            check_same_features(x1, x2)
        x1, x2 = conform(self, x1, x2, names=("x1", "x2"))
        _check_gram_memory(self, x1.shape[0], x1.shape[0] if x2 is None else x2.shape[0])
        K = None if kwargs else eager_compiled_call(self, x1, x2)  # JAX: one program
        return K if K is not None else super().__call__(x1, x2, **kwargs)

    def call(self, x1: Any, x2: Any = None) -> Any:
        """Gram matrix ``K(x1, x2)``; ``x2=None`` means ``x2 = x1``."""
        x1 = self._cast(x1)
        if x2 is None:
            x2 = x1
        else:
            x2 = self._cast(x2)
            if same_values(x1, x2):
                x2 = x1  # the symmetric path: exact diagonal, half the work
        with backends.no_tf32():
            K = self.gram(x1, x2)
        check_result_dtype(K, self.compute_dtype, f"{type(self).__name__}'s Gram matrix")
        return K

    def diag(self, x: Any) -> Any:
        """Diagonal of the Gram matrix of ``x``, shape ``(n,)``.

        Args:
            x: Inputs of shape ``(n, d)``.

        Returns:
            ``k(x_i, x_i)`` for each row.
        """
        x = self._cast(conform(self, check_matrix(x, "x"), names=("x",)))
        if not self.built:
            self.build(tuple(x.shape))
        with backends.no_tf32():
            d = self.diag_formula(x)
        check_result_dtype(d, self.compute_dtype, f"{type(self).__name__}'s diagonal")
        return d

    def stateless_gram(
        self, trainable_values: Sequence[Any], x1: Any, x2: Any = None
    ) -> Any:
        """Gram matrix with the trainable variables replaced by given values.

        A pure function of ``trainable_values`` (in the order of
        ``self.trainable_variables``): this is what KARE training
        differentiates.

        Args:
            trainable_values: One value per trainable variable.
            x1: Inputs of shape ``(n1, d)``.
            x2: Optional inputs of shape ``(n2, d)``.

        Returns:
            The Gram matrix ``(n1, n2)``.
        """
        self._mark_built()
        non_trainable = [v.value for v in self.non_trainable_variables]
        out, _ = self.stateless_call(list(trainable_values), non_trainable, x1, x2)
        return out

    def __reduce__(self) -> tuple:
        """Pickle as (Keras config, weights): deterministic, unlike Keras' default.

        Keras pickles a layer as a ``.keras`` archive stamped with the time, so
        two pickles of an unchanged kernel differ (scikit-learn's parameter
        checks hash them); config plus weights does not.
        """
        weights = [np.asarray(w) for w in self.get_weights()] if self.built else None
        return (_rebuild_kernel, (keras.saving.serialize_keras_object(self), weights))

    def compute_output_shape(self, x1_shape: Any, x2_shape: Any = None) -> tuple:
        n2 = x1_shape[0] if x2_shape is None else x2_shape[0]
        return (x1_shape[0], n2)

    def ensure_built(self, x: Any) -> None:
        """Create the kernel's variables, without evaluating it where it can.

        A kernel whose variables are all created in ``__init__`` (no ``build``
        of its own) is only marked built; any other is called once on ``x[:1]``.

        Args:
            x: Inputs ``(n, d)`` of the shape the kernel will see.

        Example:
            >>> from kernelkit import GaussianKernel
            >>> k = GaussianKernel(1.0); k.ensure_built([[0.0, 1.0]]); k.built
            True
        """
        if self.built:
            return
        if self._builds_lazily():
            self(x[:1])
        else:
            self.built = True  # all variables were created in __init__

    @classmethod
    def _builds_lazily(cls) -> bool:
        """Whether the class creates variables in a ``build`` of its own (its first call)."""
        return cls.build is not keras.layers.Layer.build

    # ------------------------------------------------------------- helpers
    def _mark_built(self) -> None:
        if not self.built:
            if self._builds_lazily():
                raise InputError(
                    f"{type(self).__name__} creates variables in build(): call it once "
                    "on data (kernel(x)) before a stateless evaluation."
                )
            self.built = True  # all variables were created in __init__

    def _cast(self, x: Any) -> Any:
        return ops.cast(ops.convert_to_tensor(x), self.compute_dtype)


def _check_gram_memory(kernel: TrainableKernel, n1: int, n2: int) -> None:
    """Refuse a Gram matrix that cannot fit in memory, before computing anything."""
    from kernelkit.solvers import memory

    itemsize = np.dtype(keras.backend.standardize_dtype(kernel.compute_dtype)).itemsize
    memory.check(
        memory.DENSE_ARRAYS["gram"] * n1 * n2 * itemsize,
        f"the {n1:,} x {n2:,} Gram matrix of {type(kernel).__name__}",
        ["evaluate it in blocks of rows (kernel(x[i:j], x2))",
         "subsample the data (kernelkit bench --max-n)",
         "solver='features' in KARE training and KernelRidge for kernels with a feature map"])


def registered_package(cls: type) -> str:
    """The package under which a kernel class is registered with Keras.

    ``"kernelkit"`` for kernelkit's own kernels (their names are stable:
    ``"kernelkit>NTK"``, ...); otherwise the class's module, e.g.
    ``"my_kernels>RationalQuadratic"`` or ``"__main__>RationalQuadratic"``, so
    that equal class names in different modules do not collide. Defining a
    class again (a re-run notebook cell) registers the new definition under
    the same name.

    Example:
        >>> from kernelkit import NTK
        >>> registered_package(NTK)
        'kernelkit'
    """
    module = cls.__module__
    return "kernelkit" if module == "kernelkit" or module.startswith("kernelkit.") else module


def _rebuild_kernel(config: dict, weights: list | None) -> TrainableKernel:
    """Inverse of `TrainableKernel.__reduce__`.

    Imports the kernel's module first (if it is not yet imported), so that a
    kernel pickled in one process unpickles in another, e.g. a joblib worker.
    """
    module = config.get("module")
    if module and module not in sys.modules:
        try:
            importlib.import_module(module)
        except ImportError:
            pass  # Keras then says which class it could not locate
    kernel = keras.saving.deserialize_keras_object(config)
    if weights is not None:
        if len(kernel.weights) != len(weights):  # variables created in build()
            kernel.build((None, weights[0].shape[0]))
        kernel.set_weights(weights)
        kernel.built = True
    return kernel
