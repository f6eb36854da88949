"""KARE as a training objective whose gradient comes from the solver's closed form.

A path maps the kernel's variables to an *output* (the Gram matrix ``K`` on
the dense path, the feature matrix ``Phi`` on the features path), and the
output to KARE and its cotangent (``dKARE/dK`` or ``dKARE/dPhi``) in closed
form. The gradient in the variables is then one vector-Jacobian product of
the output with that cotangent: autodiff never passes through a
factorisation.

Two ways to evaluate it:

- `KAREObjective.__call__` is a pure function of ``(values, x, y)`` for
  ``backends.value_and_grad`` and compiled steps: its value is KARE and its
  gradient is the closed form (``stop_gradient(KARE) + <out, G> -
  stop_gradient(<out, G>)``, with ``G`` computed from the stopped output);
- `KAREObjective.two_phase` runs the factorisation outside autodiff,
  where a Cholesky that needs jitter can get it, then differentiates
  ``<out(values), G>`` alone (to retry a failed compiled step);
- `KAREObjective.value_and_grad` (behind `kernelkit.kare_value_and_grad`)
  compiles the first and falls back to the second.

The iterative path (`kernelkit.solvers.iterative`) has no fixed graph (its
CG loops run to a tolerance): it runs eagerly, `two_phase` and
`value_and_grad` alike, and records what it did in `KAREObjective.info`.
"""

from __future__ import annotations

import weakref
from typing import Any, Sequence

import keras
import numpy as np
from keras import ops

from kernelkit import backends
from kernelkit._validation import check_positive
from kernelkit.solvers import dense, features
from kernelkit.solvers.iterative import Iterative, IterativeKARE


def _dense_output(kernel: Any, values: Sequence[Any], x: Any) -> Any:
    return kernel.stateless_gram(values, x)


def _feature_output(kernel: Any, values: Sequence[Any], x: Any) -> Any:
    return kernel.stateless_features(values, x)


#: solver -> (output of the kernel's variables, closed-form KARE and cotangent).
PATHS = {
    "dense": (_dense_output, dense.kare_and_cotangent),
    "features": (_feature_output, features.kare_and_cotangent),
}


class KAREObjective:
    """KARE of a kernel on a batch, with the gradient of the chosen solver path.

    Args:
        kernel: A built `TrainableKernel` (with a feature map for ``"features"``).
        z: Ridge of KARE, > 0.
        solver: ``"dense"``, ``"features"``, ``"iterative"`` or an `Iterative`
            instance (resolved; see `plan_solver`).

    Example:
        >>> import numpy as np
        >>> from kernelkit import GaussianKernel
        >>> from kernelkit.solvers import KAREObjective
        >>> k = GaussianKernel(1.0); X = np.random.rand(10, 2).astype("float32")
        >>> value, grads = KAREObjective(k, 0.1, "dense").two_phase(
        ...     [v.value for v in k.trainable_variables], X, X[:, :1])
        >>> len(grads)
        1
    """

    def __init__(self, kernel: Any, z: float, solver: Any) -> None:
        self.z = check_positive(z, "z")
        self.kernel, self._compiled = kernel, None
        self._iterative: IterativeKARE | None = None
        if solver == "iterative" or isinstance(solver, Iterative):
            settings = solver if isinstance(solver, Iterative) else Iterative()
            self.solver, self._iterative = "iterative", IterativeKARE(kernel, self.z, settings)
            return
        self.solver = solver
        self._output, self._closed_form = PATHS[solver]

    @property
    def info(self) -> Any:
        """The last step's `SolveInfo` on the iterative path (``None`` on the exact paths)."""
        return self._iterative.info if self._iterative is not None else None

    def _columns(self, y: Any, dtype: Any) -> Any:
        y = ops.cast(y, dtype)
        return y[:, None] if len(y.shape) == 1 else y

    def __call__(self, values: Sequence[Any], x: Any, y: Any) -> Any:
        """KARE, as a function whose autodiff gradient is the closed-form one."""
        if self._iterative is not None:
            raise NotImplementedError("the iterative path runs eagerly: use two_phase or "
                                      "value_and_grad (KAREStepper(compiled=False)).")
        out = self._output(self.kernel, values, x)
        fixed = ops.stop_gradient(out)
        value, cotangent = self._closed_form(fixed, self._columns(y, out.dtype), self.z)
        inner = ops.sum(out * ops.stop_gradient(cotangent))
        return ops.stop_gradient(value) + (inner - ops.stop_gradient(inner))

    def value_and_grad(self, values: Sequence[Any], x: Any, y: Any) -> tuple[Any, list]:
        """KARE and its gradient: compiled where the backend prefers it, else `two_phase`.

        On JAX (``backends.prefers_compiled_calls()``) the function is jitted
        once per objective; a non-finite result (a Cholesky that needed
        jitter fails inside a compiled function) is recomputed by
        `two_phase`, where jitter can be added. PyTorch and TensorFlow run
        `two_phase` directly.

        Returns:
            ``(value, grads)``, one gradient per entry of ``values``.
        """
        values = list(values)
        if self._iterative is not None or not backends.prefers_compiled_calls():
            return self.two_phase(values, x, y)
        if self._compiled is None:
            self._compiled = backends.compile_function(self._traced_value_and_grad)
        try:
            value, grads = self._compiled(values, x, y)
            if _finite([value, *grads]):
                return value, list(grads)
        except Exception:  # noqa: BLE001 - backends fail differently; retried eagerly below
            pass
        return self.two_phase(values, x, y)

    def _traced_value_and_grad(self, values: list, x: Any, y: Any) -> tuple:
        with backends.no_tf32():
            return backends.value_and_grad(self, values, x, y)

    def two_phase(self, values: Sequence[Any], x: Any, y: Any) -> tuple[Any, list]:
        """KARE and its gradient, with the factorisation outside autodiff.

        Returns:
            ``(value, grads)``, one gradient per entry of ``values``.
        """
        if self._iterative is not None:
            return self._iterative.value_and_grad(values, x, y)
        out = ops.stop_gradient(self._output(self.kernel, values, x))
        value, cotangent = self._closed_form(out, self._columns(y, out.dtype), self.z)
        cotangent = ops.stop_gradient(cotangent)

        def inner(vals: list, xs: Any) -> Any:
            return ops.sum(self._output(self.kernel, vals, xs) * cotangent)

        with backends.no_tf32():
            _, grads = backends.value_and_grad(inner, list(values), x)
        return value, grads


def _finite(tensors: list) -> bool:
    return all(bool(np.isfinite(keras.ops.convert_to_numpy(ops.sum(t)))) for t in tensors)


_OBJECTIVES: "weakref.WeakKeyDictionary[Any, dict]" = weakref.WeakKeyDictionary()


def objective_for(kernel: Any, z: float, solver: Any) -> KAREObjective:
    """The `KAREObjective` of ``(kernel, z, solver)``, reused across calls.

    Reuse keeps its compiled function: repeated ``kare_value_and_grad`` calls
    on one kernel compile once per input shape.

    Example:
        >>> from kernelkit import GaussianKernel
        >>> from kernelkit.solvers.objective import objective_for
        >>> k = GaussianKernel(1.0)
        >>> objective_for(k, 0.1, "dense") is objective_for(k, 0.1, "dense")
        True
    """
    cache = _OBJECTIVES.setdefault(kernel, {})
    key = (float(z), solver)
    if key not in cache:
        cache[key] = KAREObjective(kernel, z, solver)
    return cache[key]
