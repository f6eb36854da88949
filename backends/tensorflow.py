"""TensorFlow implementations of kernelkit's per-backend functions."""

from __future__ import annotations

import contextlib
from typing import Any, Callable, Iterator, Sequence

import tensorflow as tf

from kernelkit.backends._steps import InPlaceSteps


def per_example_jacobian(
    fn: Callable[[Sequence[Any], Any], Any], params: Sequence[Any], x: Any
) -> list:
    """Per-example Jacobians of ``fn(params, x)`` (shape ``(n, k)``).

    One gradient tape per example, vectorised with ``tf.vectorized_map``; the
    result stays differentiable for an outer tape.

    Args:
        fn: Pure function of a parameter list and a batch ``(b, d)``.
        params: Parameter values.
        x: Inputs of shape ``(n, d)``.

    Returns:
        A list with one tensor of shape ``(n, k, *p.shape)`` per parameter.
    """
    params = [tf.convert_to_tensor(p) for p in params]

    def single(xi):
        with tf.GradientTape(persistent=False) as tape:
            tape.watch(params)
            out = fn(params, xi[None, :])[0]
        return tape.jacobian(
            out, params, unconnected_gradients=tf.UnconnectedGradients.ZERO
        )

    return list(tf.vectorized_map(single, x))


def value_and_grad(
    fn: Callable[..., Any], params: Sequence[Any], *args: Any
) -> tuple[Any, list]:
    """Value of a scalar ``fn(params, *args)`` and its gradient in ``params``."""
    params = [tf.convert_to_tensor(p) for p in params]
    with tf.GradientTape() as tape:
        tape.watch(params)
        value = fn(params, *args)
    grads = tape.gradient(
        value, params, unconnected_gradients=tf.UnconnectedGradients.ZERO
    )
    return value, list(grads)


def compile_function(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``tf.function(fn)`` (a graph; retraced only for new input shapes).

    ``fn`` must be pure in its tensor arguments (lists of tensors allowed).
    """
    return tf.function(fn, reduce_retracing=True)


def scan(step: Callable[..., Any], carry: Any, xs: Sequence[Any]) -> tuple[Any, Any]:
    """``carry, y = step(carry, [x[i] for x in xs])`` for each ``i``, as one ``tf.while_loop``.

    Inside a ``tf.function`` the steps run in the graph (one trace for any
    number of steps); ``step`` may update variables. Returns the last carry
    and the stacked ``y`` (a scalar per step).
    """
    n = tf.shape(xs[0])[0]
    carry, first = step(carry, [x[0] for x in xs])
    ys = tf.TensorArray(first.dtype, size=n).write(0, first)

    def body(i: Any, c: Any, out: Any) -> tuple:
        c, y = step(c, [x[i] for x in xs])
        return i + 1, c, out.write(i, y)

    _, carry, ys = tf.while_loop(lambda i, c, out: i < n, body, (tf.constant(1), carry, ys))
    return carry, ys.stack()

def prefers_compiled_calls() -> bool:
    """Whether a one-off numerical call is faster compiled than eager.

    Tracing a ``tf.function`` costs seconds; eager TensorFlow is faster for
    one call.
    """
    return False


def optimizer_steps(optimizer: Any, variables: Sequence[Any]) -> InPlaceSteps:
    """How a KARE training step applies the optimiser: `InPlaceSteps`.

    Keras' TensorFlow optimisers refuse ``stateless_apply`` (tf.distribute),
    so the step updates the variables in place and rolls them back on failure.
    """
    return InPlaceSteps(optimizer, variables)


@contextlib.contextmanager
def no_tf32() -> Iterator[None]:
    """Turn TF32 execution off inside the block (restored afterwards)."""
    old = tf.config.experimental.tensor_float_32_execution_enabled()
    tf.config.experimental.enable_tensor_float_32_execution(False)
    try:
        yield
    finally:
        tf.config.experimental.enable_tensor_float_32_execution(old)


def tf32_enabled() -> bool:
    """Whether TensorFlow may currently use TF32."""
    return bool(tf.config.experimental.tensor_float_32_execution_enabled())


def float64_enabled() -> bool:
    """TensorFlow always supports float64."""
    return True


def enable_float64() -> None:
    """Nothing to do on TensorFlow: float64 is always available."""


def is_traced(x: Any) -> bool:
    """Whether we are inside a ``tf.function`` graph (no eager values)."""
    return not tf.executing_eagerly()


def device_summary() -> str:
    """Devices TensorFlow sees, e.g. ``'CPU:0'``."""
    return ", ".join(
        d.name.replace("/physical_device:", "") for d in tf.config.list_physical_devices()
    )


def accelerator_memory() -> int | None:
    """Free bytes on the first GPU, or ``None`` (no GPU, or TensorFlow cannot tell).

    TensorFlow reports only the memory it has in use, not the device's total,
    so the host's memory bounds requests on a TensorFlow GPU.
    """
    return None


def set_threads(threads: int) -> str:
    """TensorFlow's intra-op pool (inter-op 1); returns a description.

    Once TensorFlow has started its pools they cannot change; the environment
    variables set before it started apply then.
    """
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:  # already initialised: the env variables apply
        pass
    return f"tf intra-op {tf.config.threading.get_intra_op_parallelism_threads()}"


def framework_version() -> str:
    """``tf.__version__``."""
    return tf.__version__


def clear_caches() -> None:
    """Nothing to clear: Keras' session holds TensorFlow's graphs."""


def to_numpy(x: Any) -> Any:
    """A tensor as numpy."""
    return x.numpy() if hasattr(x, "numpy") else x
