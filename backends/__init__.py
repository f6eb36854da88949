"""Per-backend autodiff and device settings, chosen once from Keras' backend.

Installed as ``kernelkit.backends``. Each of ``jax.py``, ``torch.py`` and
``tensorflow.py`` defines the same functions; this module imports the one that
matches ``keras.backend.backend()`` and re-exports its names, as Keras does in
``keras/src/backend/__init__.py``. Nothing here changes global state on import.

Functions (identical signatures in every backend module):

- ``per_example_jacobian(fn, params, x)``: Jacobians of ``fn(params, x)`` with
  shape ``(n, k)`` with respect to each parameter, one example at a time;
  returns a list of arrays of shape ``(n, k, *param.shape)``.
- ``value_and_grad(fn, params, *args)``: value of a scalar ``fn(params, *args)``
  and its gradient with respect to the list ``params`` (zeros for unused ones).
- ``compile_function(fn)``: a compiled version of a pure function (``jax.jit``,
  ``tf.function``; PyTorch runs eagerly), used for KARE training steps.
- ``scan(step, carry, xs)``: ``carry, y = step(carry, [x[i] for x in xs])`` for
  every ``i``, returning the last carry and the stacked ``y``: one compiled
  loop inside ``compile_function`` (``jax.lax.scan``, ``tf.while_loop``; a
  Python loop on PyTorch). Used to run many training steps per compiled call.
- ``prefers_compiled_calls()``: whether a one-off call is faster compiled than
  eager (JAX compiles every eager op for every new shape).
- ``optimizer_steps(optimizer, variables)``: how a KARE training step applies
  the optimiser on this backend, one of the two ways in ``backends/_steps.py``
  (functionally with ``stateless_apply``, or in place with a rollback).
- ``no_tf32()``: context manager in which matrix products run in full float32
  precision on GPUs (TF32 off).
- ``tf32_enabled()``: whether TF32 matrix products are currently allowed.
- ``float64_enabled()``: whether float64 arrays really are float64 now.
- ``enable_float64()``: switch float64 on where the backend needs it (JAX x64).
- ``is_traced(x)``: whether ``x`` is a symbolic/traced value (no Python checks).
- ``device_summary()``: a short text naming the devices the backend sees.
- ``set_threads(threads)``: set the framework's thread pools; returns a description.
- ``framework_version()``: the framework's version string.
- ``clear_caches()``: drop per-shape compiled programs (JAX), else nothing.
- ``to_numpy(x)``: a backend tensor as numpy, detached from autodiff.
- ``accelerator_memory()``: free bytes on the accelerator the backend computes on,
  or ``None`` on a CPU (or where the framework cannot tell).
"""

from __future__ import annotations

import importlib

import keras

from kernelkit._backend_choice import BACKENDS

BACKEND: str = keras.backend.backend()

#: The functions every backend module defines, with the same signatures.
API = (
    "per_example_jacobian",
    "value_and_grad",
    "compile_function",
    "scan",
    "prefers_compiled_calls",
    "optimizer_steps",
    "no_tf32",
    "tf32_enabled",
    "float64_enabled",
    "enable_float64",
    "is_traced",
    "device_summary",
    "accelerator_memory",
    "set_threads",
    "framework_version",
    "clear_caches",
    "to_numpy",
)

if BACKEND not in BACKENDS:  # pragma: no cover - depends on the environment
    raise ImportError(
        f"kernelkit supports the Keras backends {', '.join(BACKENDS)}, but KERAS_BACKEND "
        f"is {BACKEND!r}. Set KERAS_BACKEND to one of those before importing keras or "
        "kernelkit."
    )
# One module per backend, named as the backend (the registry: kernelkit._backend_choice).
_impl = importlib.import_module(f"kernelkit.backends.{BACKEND}")

per_example_jacobian = _impl.per_example_jacobian
value_and_grad = _impl.value_and_grad
compile_function = _impl.compile_function
scan = _impl.scan
optimizer_steps = _impl.optimizer_steps
prefers_compiled_calls = _impl.prefers_compiled_calls
no_tf32 = _impl.no_tf32
tf32_enabled = _impl.tf32_enabled
float64_enabled = _impl.float64_enabled
enable_float64 = _impl.enable_float64
is_traced = _impl.is_traced
device_summary = _impl.device_summary
accelerator_memory = _impl.accelerator_memory
set_threads = _impl.set_threads
framework_version = _impl.framework_version
clear_caches = _impl.clear_caches
_to_numpy = _impl.to_numpy


def to_numpy(x):  # noqa: ANN001, ANN201 - any array-like
    """A backend tensor, Keras variable or array-like as a numpy array (detached)."""
    import numpy as np

    if isinstance(x, np.ndarray):
        return x
    if isinstance(x, keras.Variable):
        x = x.value
    return np.asarray(_to_numpy(x))

__all__ = [*API, "BACKEND"]
