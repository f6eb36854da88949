"""The two ways an optimiser step is applied; each backend module names its own.

Keras keeps each backend's training step in that backend's trainer module.
kernelkit's KARE step differs between backends only in how the optimiser
update is applied, so the two ways are written once here (keras.ops only)
and every ``backends/<name>.py`` returns one from ``optimizer_steps``:

- `FunctionalSteps` (JAX, PyTorch): the weights and the optimiser state are
  arrays passed through a pure step (``optimizer.stateless_apply``); a step
  whose result is not finite is simply not adopted.
- `InPlaceSteps` (TensorFlow, whose optimisers refuse ``stateless_apply``):
  the step updates the variables in place and rolls them back on device when
  anything is not finite.

Both offer the same methods, so the caller (``kernelkit._kare_step``) never
asks which one it holds: `build` turns a ``value_and_grad(params, *batch)``
into a step, `run` calls a (compiled or eager) step on a batch, `adopt`
accepts its result, `snapshot`/`restore` save and undo, `commit` writes the
values into the Keras variables. Neither ever hands a NaN to the optimiser's
state. A built step also takes ``alive`` (default ``True``): a step called with
a false ``alive`` changes nothing, which is how a scan of many steps
(``kernelkit.paper_mlp``) stops at the first non-finite one.

Example:
    >>> import keras, numpy as np
    >>> from kernelkit import backends
    >>> w = keras.Variable(np.ones(2, "float32"))
    >>> steps = backends.optimizer_steps(keras.optimizers.SGD(0.5), [w])
    >>> step = steps.build(lambda p, x, y: (keras.ops.sum(p[0] ** 2), [2 * p[0]]))
    >>> value, ok, update = steps.run(step, None, None)
    >>> steps.adopt(update); steps.commit()
    >>> backends.to_numpy(w).tolist()
    [0.0, 0.0]
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import keras
from keras import ops

#: ``value_and_grad(params, *batch) -> (value, grads)``.
ValueAndGrad = Callable[..., tuple]


def all_finite(tensors: Sequence[Any]) -> Any:
    """A boolean scalar tensor: every entry of every tensor is finite."""
    ok = ops.all(ops.isfinite(tensors[0]))
    for t in tensors[1:]:
        ok = ops.logical_and(ok, ops.all(ops.isfinite(t)))
    return ok


class _Steps:
    """What both ways share: a built optimiser and the variables it updates.

    Args:
        optimizer: A Keras optimiser (built here if it is not yet).
        variables: The trainable variables it updates.
    """

    #: Whether a built step is a pure function of its array arguments (so one
    #: compiled step can serve several fits of the same structure).
    pure: bool = False

    def __init__(self, optimizer: keras.optimizers.Optimizer, variables: Sequence[Any]) -> None:
        self.optimizer = optimizer
        self.variables = list(variables)
        if not optimizer.built:
            optimizer.build(self.variables)

    def _state(self) -> list:
        return self.variables + list(self.optimizer.variables)


class FunctionalSteps(_Steps):
    """Pure steps on arrays held between steps (no host copies).

    ``build`` gives ``(params, opt_state, *batch, alive=True) -> (value, ok, params',
    opt_state')``.
    """

    pure = True

    def __init__(self, optimizer: keras.optimizers.Optimizer, variables: Sequence[Any]) -> None:
        super().__init__(optimizer, variables)
        # Copies: a PyTorch variable's value is its (mutable) storage.
        self.params = [ops.copy(v.value) for v in self.variables]
        self.opt_state = [ops.copy(v.value) for v in optimizer.variables]

    def build(self, value_and_grad: ValueAndGrad) -> Callable[..., tuple]:
        optimizer = self.optimizer

        def step(params: list, opt_state: list, *batch: Any, alive: Any = True) -> tuple:
            value, grads = value_and_grad(params, *batch)
            ok = ops.logical_and(alive, all_finite([value, *grads]))
            # Copies: Keras' PyTorch optimisers update the given tensors in place
            # (free under jit).
            new_params, new_state = optimizer.stateless_apply(
                [ops.copy(v) for v in opt_state], grads, [ops.copy(v) for v in params])
            ok = ops.logical_and(ok, all_finite(new_params))
            new_params = [ops.where(ok, a, b) for a, b in zip(new_params, params)]
            new_state = [ops.where(ok, a, b) for a, b in zip(new_state, opt_state)]
            return value, ok, new_params, new_state

        return step

    def run(self, step: Callable[..., tuple], *batch: Any) -> tuple:
        """``(value, ok, update)``; nothing changes until `adopt` (update)."""
        value, ok, params, state = step(self.params, self.opt_state, *batch)
        return value, ok, (list(params), list(state))

    def adopt(self, update: Any) -> None:
        self.params, self.opt_state = update

    def snapshot(self) -> Any:
        return [self.params, self.opt_state]  # arrays are never changed in place

    def restore(self, snapshot: Any) -> None:
        self.params, self.opt_state = snapshot

    def commit(self) -> None:
        for var, value in zip(self._state(), self.params + self.opt_state):
            var.assign(value)


class InPlaceSteps(_Steps):
    """Steps that update the Keras variables in place, rolled back on failure.

    ``build`` gives ``(*batch, alive=True) -> (value, ok)``: it applies zeroed
    gradients when the value or the gradient is not finite (or ``alive`` is
    false), then restores every variable if anything (the updated weights
    included) is not finite.
    """

    def build(self, value_and_grad: ValueAndGrad) -> Callable[..., tuple]:
        optimizer, variables, state = self.optimizer, self.variables, self._state()

        def step(*batch: Any, alive: Any = True) -> tuple:
            value, grads = value_and_grad([v.value for v in variables], *batch)
            ok = ops.logical_and(alive, all_finite([value, *grads]))
            old = [ops.copy(v.value) for v in state]
            optimizer.apply([ops.where(ok, g, ops.zeros_like(g)) for g in grads], variables)
            ok = ops.logical_and(ok, all_finite([v.value for v in variables]))
            for var, before in zip(state, old):
                var.assign(ops.where(ok, var.value, before))
            return value, ok

        return step

    def run(self, step: Callable[..., tuple], *batch: Any) -> tuple:
        """``(value, ok, None)``: the step has already updated (or kept) the variables."""
        value, ok = step(*batch)
        return value, ok, None

    def adopt(self, update: Any) -> None:
        """Nothing to do: the variables were updated in place."""

    def snapshot(self) -> Any:
        return [ops.copy(v.value) for v in self._state()]

    def restore(self, snapshot: Any) -> None:
        for var, value in zip(self._state(), snapshot):
            var.assign(value)

    def commit(self) -> None:
        """Nothing to do: the variables are the values."""
