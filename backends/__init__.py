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
- ``prefers_compiled_calls()``: whether a one-off call is faster compiled than
  eager (JAX compiles every eager op for every new shape).
- ``supports_stateless_apply()``: whether Keras optimisers can be applied
  functionally (``stateless_apply``) on this backend.
- ``no_tf32()``: context manager in which matrix products run in full float32
  precision on GPUs (TF32 off).
- ``tf32_enabled()``: whether TF32 matrix products are currently allowed.
- ``float64_enabled()``: whether float64 arrays really are float64 now.
- ``enable_float64()``: switch float64 on where the backend needs it (JAX x64).
- ``is_traced(x)``: whether ``x`` is a symbolic/traced value (no Python checks).
- ``device_summary()``: a short text naming the devices the backend sees.
- ``accelerator_memory()``: free bytes on the accelerator the backend computes on,
  or ``None`` on a CPU (or where the framework cannot tell).
"""

from __future__ import annotations

import keras

BACKEND: str = keras.backend.backend()

#: The functions every backend module defines, with the same signatures.
API = (
    "per_example_jacobian",
    "value_and_grad",
    "compile_function",
    "prefers_compiled_calls",
    "supports_stateless_apply",
    "no_tf32",
    "tf32_enabled",
    "float64_enabled",
    "enable_float64",
    "is_traced",
    "device_summary",
    "accelerator_memory",
)

if BACKEND == "jax":
    from kernelkit.backends import jax as _impl
elif BACKEND == "torch":
    from kernelkit.backends import torch as _impl
elif BACKEND == "tensorflow":
    from kernelkit.backends import tensorflow as _impl
else:  # pragma: no cover - depends on the environment
    raise ImportError(
        f"kernelkit supports the Keras backends 'jax', 'torch' and 'tensorflow', "
        f"but KERAS_BACKEND is {BACKEND!r}. Set KERAS_BACKEND to one of those "
        "before importing keras or kernelkit."
    )

per_example_jacobian = _impl.per_example_jacobian
value_and_grad = _impl.value_and_grad
compile_function = _impl.compile_function
supports_stateless_apply = _impl.supports_stateless_apply
prefers_compiled_calls = _impl.prefers_compiled_calls
no_tf32 = _impl.no_tf32
tf32_enabled = _impl.tf32_enabled
float64_enabled = _impl.float64_enabled
enable_float64 = _impl.enable_float64
is_traced = _impl.is_traced
device_summary = _impl.device_summary
accelerator_memory = _impl.accelerator_memory

__all__ = [*API, "BACKEND"]
