"""JAX implementations of kernelkit's per-backend functions."""

from __future__ import annotations

import contextlib
from typing import Any, Callable, Iterator, Sequence

import jax
import jax.numpy as jnp

from kernelkit.backends._steps import FunctionalSteps


def per_example_jacobian(
    fn: Callable[[Sequence[Any], Any], Any], params: Sequence[Any], x: Any
) -> list:
    """Per-example Jacobians of ``fn(params, x)`` (shape ``(n, k)``).

    Args:
        fn: Pure function of a parameter list and a batch ``(b, d)``.
        params: Parameter values.
        x: Inputs of shape ``(n, d)``.

    Returns:
        A list with one array of shape ``(n, k, *p.shape)`` per parameter.
    """

    def single(p, xi):
        return fn(p, xi[None, :])[0]

    return list(jax.vmap(jax.jacrev(single), in_axes=(None, 0))(list(params), x))


def value_and_grad(
    fn: Callable[..., Any], params: Sequence[Any], *args: Any
) -> tuple[Any, list]:
    """Value of a scalar ``fn(params, *args)`` and its gradient in ``params``."""
    value, grads = jax.value_and_grad(lambda p: fn(p, *args))(list(params))
    return value, list(grads)


def compile_function(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``jax.jit(fn)``: one XLA program per input shape.

    ``fn`` must be pure in its array arguments (lists of arrays allowed).
    """
    return jax.jit(fn)


def scan(step: Callable[..., Any], carry: Any, xs: Sequence[Any]) -> tuple[Any, Any]:
    """``jax.lax.scan(step, carry, xs)``: ``carry, y = step(carry, [x[i] for x in xs])``.

    Runs the steps inside the enclosing ``jit`` as one XLA loop (one
    compilation for any number of steps); returns the last carry and the
    stacked ``y``.
    """
    return jax.lax.scan(lambda c, x: step(c, list(x)), carry, list(xs))

def prefers_compiled_calls() -> bool:
    """Whether a one-off numerical call is faster compiled than eager.

    Eager JAX compiles each operation for each new shape (~0.1 s each on a
    small CPU), so one jitted program is faster even for a single call.
    """
    return True


def optimizer_steps(optimizer: Any, variables: Sequence[Any]) -> FunctionalSteps:
    """How a KARE training step applies the optimiser: `FunctionalSteps`.

    Keras' JAX optimisers are pure: ``stateless_apply`` works under ``jit``.
    """
    return FunctionalSteps(optimizer, variables)


@contextlib.contextmanager
def no_tf32() -> Iterator[None]:
    """Run matrix products at full float32 precision (JAX 'highest')."""
    with jax.default_matmul_precision("highest"):
        yield


def tf32_enabled() -> bool:
    """Whether JAX may use reduced-precision (TF32/bf16) matmuls by default."""
    precision = jax.config.jax_default_matmul_precision
    return precision not in ("highest", "float32", "HIGHEST")


def float64_enabled() -> bool:
    """Whether JAX creates float64 arrays (x64 mode)."""
    return bool(jax.config.jax_enable_x64)


def enable_float64() -> None:
    """Switch on JAX's x64 mode. Do this before creating any array."""
    jax.config.update("jax_enable_x64", True)


def is_traced(x: Any) -> bool:
    """Whether ``x`` is a JAX tracer (inside jit/grad/vmap)."""
    return isinstance(x, jax.core.Tracer)


def device_summary() -> str:
    """Devices JAX sees, e.g. ``'cpu:0'``."""
    return ", ".join(f"{d.platform}:{d.id}" for d in jax.devices())


def accelerator_memory() -> int | None:
    """Free bytes on JAX's default device, or ``None`` on a CPU."""
    device = jax.devices()[0]
    if device.platform == "cpu":
        return None
    stats = device.memory_stats() or {}
    if "bytes_limit" not in stats:
        return None
    return int(stats["bytes_limit"] - stats.get("bytes_in_use", 0))


def set_threads(threads: int) -> str:
    """XLA's CPU threads are fixed by ``XLA_FLAGS`` before JAX starts; say which."""
    import os

    return f"XLA_FLAGS={os.environ.get('XLA_FLAGS', '')!r}"


def framework_version() -> str:
    """``jax.__version__``."""
    return jax.__version__


def clear_caches() -> None:
    """Drop every compiled executable (JAX keeps one per function and input shape)."""
    jax.clear_caches()


def to_numpy(x: Any) -> Any:
    """A JAX array as numpy."""
    import numpy as np

    return np.asarray(x)
