"""Eager Gram matrices as one compiled program, where the backend prefers it (JAX).

Eager JAX compiles every operation for every new input shape: a depth-3 NTK's
Gram matrix is ~35 small XLA programs (~2.5 s on a small CPU) the first time a
shape is seen, and every estimator fit sees three or more shapes (training,
KRR, predictions). One ``jax.jit`` of the whole formula compiles in ~0.3 s per
shape. `compiled_gram` gives the jitted ``(trainable, non_trainable, x1, x2)
-> K`` function `TrainableKernel.__call__` uses for concrete (non-traced)
inputs outside a ``keras.StatelessScope``; every variable is an argument,
never a baked-in constant, so later updates of the kernel's variables are seen.

Kernels whose serialised config names only Keras and kernelkit classes
(kernelkit's kernels, the NTK of a plain Keras MLP, their sums and products)
share one function per config (less names and initialisers): a new kernel of a known structure
(every estimator fit builds one) reuses the compiled programs. Any other
kernel (a user's class, whose Python state a config may not describe) gets
its own function.

Example:
    >>> from kernelkit import GaussianKernel
    >>> from kernelkit.kernels._compiled import share_key
    >>> share_key(GaussianKernel(1.0)) == share_key(GaussianKernel(1.0))
    True
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import sys
import threading
from typing import Any, Callable, Iterator

import keras

from kernelkit import backends
from kernelkit._validation import same_values

try:  # Keras 3: whether a StatelessScope (KARE training, stateless_gram) is active
    from keras.src.backend.common.stateless_scope import in_stateless_scope
except ImportError:  # pragma: no cover - another Keras layout: never compile eagerly
    def in_stateless_scope() -> bool:
        return True

try:  # Keras 3's lazy TensorFlow module (see _tensorflow_unimported)
    from keras.src.utils import module_utils as _module_utils
except ImportError:  # pragma: no cover - another Keras layout: serialise as Keras does
    _module_utils = None

_SHARED: dict[str, "_Program"] = {}
_MAX_SHARED = 64
_OWN = "_kernelkit_compiled_gram"
_KEY = "_kernelkit_share_key"
_BUILTIN = ("keras", "kernelkit")


def _builtin(module: str) -> bool:
    return any(module == m or module.startswith(m + ".") for m in _BUILTIN)


def _structure(config: Any) -> Any:
    """A serialised config without what cannot change a Gram matrix, or ``None``.

    ``None`` if a class in it is neither Keras' nor kernelkit's, or is a
    ``Lambda`` layer (whose closure a config does not describe). Dropped:
    every layer's ``name`` (not a dtype policy's: that is the dtype),
    ``*_initializer`` and a kernelkit kernel's ``_initial_value_keys`` (kept
    only as set or ``None``): a built kernel's values are arguments of the
    compiled program, not part of it.
    """
    if isinstance(config, dict):
        module = config.get("module")
        if "class_name" in config and (config["class_name"] == "Lambda" or (
                module is not None and not _builtin(str(module)))):
            return None
        if "DTypePolicy" in str(config.get("class_name", "")):
            return config  # its "name" is the dtype
        initial = _initial_value_keys(config)
        out = {}
        for key, value in config.items():
            if key == "name" or key.endswith("_initializer"):
                continue
            if key == "config" and initial and isinstance(value, dict):
                value = {k: "<initial value>" if k in initial and v is not None else v
                         for k, v in value.items()}
            value = _structure(value)
            if value is None and config[key] is not None:
                return None
            out[key] = value
        return out
    if isinstance(config, (list, tuple)):
        out = [_structure(v) for v in config]
        return None if any(o is None and v is not None for o, v in zip(out, config)) else out
    return config


def _initial_value_keys(config: dict) -> tuple[str, ...]:
    """The ``_initial_value_keys`` of the kernelkit class a serialised config names."""
    name = config.get("registered_name")
    if not name or not str(name).startswith("kernelkit>"):
        return ()
    cls = keras.saving.get_registered_object(name)
    return tuple(getattr(cls, "_initial_value_keys", ()))


@contextlib.contextmanager
def _tensorflow_unimported() -> Iterator[None]:
    """Keras' serialiser without importing TensorFlow (~6 s) just to rule out its types.

    ``serialize_keras_object`` asks ``tf.available`` (which imports TensorFlow
    when it is installed) for every object, only to test ``isinstance(obj,
    tf.TensorShape)`` and the like. While TensorFlow is not imported no object
    can be of its types, so the answer is "not available" for the duration.
    """
    lazy = getattr(_module_utils, "tensorflow", None) if _module_utils else None
    if lazy is None or "tensorflow" in sys.modules or not hasattr(lazy, "_available"):
        yield
        return
    before = lazy._available
    lazy._available = False
    try:
        yield
    finally:
        lazy._available = before


def share_key(kernel: Any) -> str | None:
    """The key under which kernels of one structure share compiled programs, or ``None``.

    ``None`` for a kernel whose class (or a class in its config) is neither
    Keras' nor kernelkit's. Computed once per kernel.
    """
    if _KEY in kernel.__dict__:
        return kernel.__dict__[_KEY]
    key = None
    if type(kernel).__module__.startswith("kernelkit."):
        try:
            with _tensorflow_unimported():
                config = keras.saving.serialize_keras_object(kernel)
        except Exception:  # noqa: BLE001 - not serialisable: no sharing, never an error
            config = None
        structure = _structure(config) if config is not None else None
        if structure is not None:
            text = json.dumps(structure, sort_keys=True, default=str)
            key = hashlib.sha256(text.encode()).hexdigest()
    object.__setattr__(kernel, _KEY, key)
    return key


class _Program:
    """One compiled Gram function, traced for whichever kernel calls it.

    The kernel is passed per call (held only while the call runs, in a
    thread-local slot), never captured: a cached program keeps no kernel, its
    variables or its data alive. Every kernel that calls one program has the
    same structure, so tracing it for any of them gives the same program.
    """

    def __init__(self) -> None:
        self._slot = threading.local()
        self._fn = backends.compile_function(self._gram)

    def _gram(self, trainable: list, non_trainable: list, x1: Any, x2: Any) -> Any:
        return self._slot.kernel.stateless_call(trainable, non_trainable, x1, x2)[0]

    def __call__(self, kernel: Any, trainable: list, non_trainable: list,
                 x1: Any, x2: Any) -> Any:
        self._slot.kernel = kernel
        try:
            return self._fn(trainable, non_trainable, x1, x2)
        finally:
            self._slot.kernel = None


def compiled_gram(kernel: Any) -> Callable[..., Any]:
    """The compiled ``(trainable_values, non_trainable_values, x1, x2) -> K`` of ``kernel``."""
    own = kernel.__dict__.get(_OWN)
    if own is not None:
        return functools.partial(own, kernel)
    key = share_key(kernel)
    program = _SHARED.get(key) if key is not None else None
    if program is None:
        program = _Program()
        if key is not None:
            if len(_SHARED) >= _MAX_SHARED:
                _SHARED.pop(next(iter(_SHARED)))
            _SHARED[key] = program
    object.__setattr__(kernel, _OWN, program)
    return functools.partial(program, kernel)


def eager_compiled_call(kernel: Any, x1: Any, x2: Any) -> Any | None:
    """``K(x1, x2)`` through `compiled_gram`, or ``None`` where the eager call must run.

    ``None`` (the caller evaluates normally) unless the backend prefers
    compiled calls, the inputs are concrete, no ``StatelessScope`` is active
    and the kernel is built (or needs no ``build``).
    """
    if not backends.prefers_compiled_calls() or in_stateless_scope():
        return None
    if backends.is_traced(x1) or (x2 is not None and backends.is_traced(x2)):
        return None
    if not kernel.built:
        if kernel._builds_lazily():
            return None  # its first call creates the variables, eagerly
        kernel.ensure_built(x1)  # marks it built: no call
    x1 = kernel._cast(x1)
    if x2 is not None:
        x2 = kernel._cast(x2)
        if same_values(x1, x2):
            x2 = None  # the symmetric path, as in TrainableKernel.call
    trainable = [v.value for v in kernel.trainable_variables]
    fixed = [v.value for v in kernel.non_trainable_variables]
    return compiled_gram(kernel)(trainable, fixed, x1, x2)
