"""One KARE training step, compiled once per backend.

The per-backend parts are how the optimiser update is applied
(`kernelkit.backends.optimizer_steps`: functionally on JAX and PyTorch, in
place with a rollback on TensorFlow) and how a step is compiled
(`kernelkit.backends.compile_function`: ``jax.jit``, ``tf.function``; PyTorch
runs eagerly); everything else is shared. Pure steps are cached by the
structure they depend on, so fits of the same architecture reuse one
compiled step.
"""

from __future__ import annotations

import collections
import hashlib
import json
from typing import Any, Callable

import keras
import numpy as np
from keras import ops

from kernelkit import backends
from kernelkit.solvers import KAREObjective


def _to_float(x: Any) -> float:
    return float(keras.ops.convert_to_numpy(x))


#: Compiled pure steps by structure (see `_structure_key`), most recent last.
_COMPILED_STEPS: "collections.OrderedDict[str, Callable[..., tuple]]" = collections.OrderedDict()
_CACHE_SIZE = 16


def _structure_key(kernel: Any, optimizer: Any, z: float, solver: str) -> str | None:
    """What a compiled pure step depends on besides its array arguments, or ``None``.

    A pure step (JAX, PyTorch) receives the trainable values and the
    optimiser state as arguments; it depends on the kernel's class and
    configuration, its non-trainable values (compiled in as constants), the
    optimiser's class and configuration, ``z`` and the solver path. Two fits
    with equal keys (e.g. the same architecture from another seed) can share
    one compiled step: JAX then compiles once per input shape, not once per fit.
    """
    def config(obj: Any) -> Any:
        return _scrub(obj.get_config())

    try:
        fixed = [hashlib.sha1(np.ascontiguousarray(keras.ops.convert_to_numpy(v.value))).hexdigest()
                 for v in kernel.non_trainable_variables]
        return json.dumps([type(kernel).__qualname__, type(kernel).__module__, config(kernel),
                           fixed, type(optimizer).__qualname__, config(optimizer), float(z),
                           solver, keras.backend.standardize_dtype(kernel.compute_dtype)],
                          sort_keys=True, default=str)
    except (TypeError, ValueError, NotImplementedError):  # a config that is not JSON-able
        return None


#: Configuration entries a compiled step does not depend on (names, initialisers).
_IRRELEVANT = {"name", "seed", "kernel_initializer", "bias_initializer", "initializer"}


def _scrub(cfg: Any) -> Any:
    if isinstance(cfg, dict):
        return {k: _scrub(v) for k, v in cfg.items() if k not in _IRRELEVANT}
    if isinstance(cfg, (list, tuple)):
        return [_scrub(v) for v in cfg]
    return cfg


def _full_precision(value_and_grad: Callable[..., tuple]) -> Callable[..., tuple]:
    """``value_and_grad`` with TF32 off, for the backward pass too."""
    def full_precision(params: list, x: Any, y: Any) -> tuple:
        with backends.no_tf32():
            return value_and_grad(params, x, y)

    return full_precision


def _remember(key: str, step: Callable[..., tuple]) -> None:
    _COMPILED_STEPS[key] = step
    while len(_COMPILED_STEPS) > _CACHE_SIZE:
        _COMPILED_STEPS.popitem(last=False)


class KAREStepper:
    """Optimiser steps on KARE applied to a kernel's variables.

    The backend's `optimizer_steps` holds the weights and the optimiser's
    state between steps (as arrays, without host copies, where the step is
    pure); `commit` writes them into the variables. A step whose KARE,
    gradient or updated weights are not finite changes nothing, so the
    optimiser never sees a NaN.

    Args:
        kernel: A built `TrainableKernel`.
        optimizer: A Keras optimiser.
        z: Ridge of KARE.
        solver: The resolved solver path, ``"dense"`` or ``"features"``.
        compiled: Compile the step (``False``: run it eagerly, for debugging).

    Example:
        >>> import keras, numpy as np
        >>> from kernelkit import GaussianKernel
        >>> from kernelkit._kare_step import KAREStepper
        >>> k = GaussianKernel(1.0); X = np.random.rand(20, 2).astype("float32")
        >>> _ = k(X[:1])
        >>> stepper = KAREStepper(k, keras.optimizers.SGD(0.1), z=0.1)
        >>> reason, value, error = stepper.step(X, X[:, 0])
        >>> reason
        ''
    """

    def __init__(self, kernel: Any, optimizer: keras.optimizers.Optimizer, z: float,
                 solver: str = "dense", compiled: bool = True) -> None:
        self.kernel = kernel
        self.steps = backends.optimizer_steps(optimizer, kernel.trainable_variables)
        objective = self.objective = KAREObjective(kernel, z, solver)
        compiled = compiled and objective.solver != "iterative"  # CG loops run eagerly
        # Eager: the factorisation outside autodiff (jitter possible). Compiled:
        # one traced function whose autodiff gradient is the same closed form.
        self._eager = self.steps.build(_full_precision(objective.two_phase))
        if not compiled:
            self._compiled = self._eager
        else:
            reuse = self.steps.pure and backends.prefers_compiled_calls()
            key = _structure_key(kernel, optimizer, z, solver) if reuse else None
            self._compiled = _COMPILED_STEPS.get(key) if key is not None else None
            if self._compiled is None:
                self._compiled = backends.compile_function(
                    self.steps.build(_full_precision(self._traced(objective))))
                if key is not None:
                    _remember(key, self._compiled)

    @staticmethod
    def _traced(objective: KAREObjective) -> Callable[..., tuple]:
        def value_and_grad(params: list, x: Any, y: Any) -> tuple:
            return backends.value_and_grad(objective, params, x, y)

        return value_and_grad

    def step(self, x: Any, y: Any) -> tuple[str, float, Exception | None]:
        """One step on the batch ``(x, y)``.

        A failed compiled step is retried eagerly once, where a Cholesky that
        needs jitter can get it (`kernelkit.linalg.cholesky`).

        Returns:
            ``(failure reason or "", KARE before the step, exception or None)``.
        """
        dtype = self.kernel.compute_dtype
        x = ops.cast(ops.convert_to_tensor(x), dtype)
        y = ops.cast(ops.convert_to_tensor(y), dtype)
        result = self._run(self._compiled, x, y)
        if result[0] and self._compiled is not self._eager:
            result = self._run(self._eager, x, y)
        return result

    def _run(self, fn: Callable[..., tuple], x: Any, y: Any) -> tuple:
        before = self.steps.snapshot()
        try:
            value, ok, update = self.steps.run(fn, x, y)
        except Exception as err:  # noqa: BLE001 - each backend fails differently
            # X and y were checked, so a failure comes from the weights: a
            # non-finite kernel matrix or a failed Cholesky.
            return f"KARE failed: {type(err).__name__}: {err}", float("nan"), err
        if not bool(keras.ops.convert_to_numpy(ok)):
            return "non-finite KARE, gradient or updated weights", float("nan"), None
        self.steps.adopt(update)
        self._before_last = before
        return "", _to_float(value), None

    def rollback(self) -> None:
        """Undo the last successful step: back to the last weights whose KARE was finite.

        After a failed step the current weights are those at which KARE or its
        gradient could not be computed; the weights before the last good step
        are the last ones known to give a finite KARE.
        """
        before = getattr(self, "_before_last", None)
        if before is None:
            return
        self.steps.restore(before)
        self._before_last = None

    def commit(self) -> None:
        """Write the current values into the kernel's and the optimiser's variables."""
        self.steps.commit()
