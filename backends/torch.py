"""PyTorch implementations of kernelkit's per-backend functions."""

from __future__ import annotations

import contextlib
from typing import Any, Callable, Iterator, Sequence

import torch

from kernelkit.backends._steps import FunctionalSteps


def per_example_jacobian(
    fn: Callable[[Sequence[Any], Any], Any], params: Sequence[Any], x: Any
) -> list:
    """Per-example Jacobians of ``fn(params, x)`` (shape ``(n, k)``).

    Uses ``torch.func.vmap(jacrev(...))`` over a pure function built on Keras'
    ``stateless_call`` (never ``functional_call`` of a Keras model, which
    silently returns zero Jacobians). The result stays differentiable.

    Args:
        fn: Pure function of a parameter list and a batch ``(b, d)``.
        params: Parameter values.
        x: Inputs of shape ``(n, d)``.

    Returns:
        A list with one tensor of shape ``(n, k, *p.shape)`` per parameter.
    """

    def single(p, xi):
        return fn(p, xi.unsqueeze(0))[0]

    jac = torch.func.vmap(torch.func.jacrev(single), in_dims=(None, 0))
    return list(jac(list(params), x))


def value_and_grad(
    fn: Callable[..., Any], params: Sequence[Any], *args: Any
) -> tuple[Any, list]:
    """Value of a scalar ``fn(params, *args)`` and its gradient in ``params``."""
    leaves = [torch.as_tensor(p).detach().requires_grad_(True) for p in params]
    with torch.enable_grad():
        value = fn(leaves, *args)
        grads = torch.autograd.grad(
            value, leaves, allow_unused=True, materialize_grads=True
        )
    return value.detach(), [g.detach() for g in grads]


def compile_function(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` itself: PyTorch runs the step eagerly.

    Eager PyTorch dispatches each op without per-shape recompilation, so there
    is no retracing cost to remove. ``torch.compile`` is left out: it is not
    tested here with the second-order autograd (``torch.func`` Jacobians
    inside ``autograd.grad``) that a KARE step of an NTK needs.
    """
    return fn


def scan(step: Callable[..., Any], carry: Any, xs: Sequence[Any]) -> tuple[Any, Any]:
    """``carry, y = step(carry, [x[i] for x in xs])`` for each ``i``: a Python loop.

    PyTorch runs eagerly (see `compile_function`); returns the last carry and
    the stacked ``y``.
    """
    ys = []
    for i in range(int(xs[0].shape[0])):
        carry, y = step(carry, [x[i] for x in xs])
        ys.append(y)
    return carry, torch.stack(ys)

def prefers_compiled_calls() -> bool:
    """Whether a one-off numerical call is faster compiled than eager.

    Eager PyTorch dispatches without compiling.
    """
    return False


def optimizer_steps(optimizer: Any, variables: Sequence[Any]) -> FunctionalSteps:
    """How a KARE training step applies the optimiser: `FunctionalSteps`.

    Keras' PyTorch optimisers support ``stateless_apply``.
    """
    return FunctionalSteps(optimizer, variables)


@contextlib.contextmanager
def no_tf32() -> Iterator[None]:
    """Turn TF32 off for CUDA matmuls and cuDNN inside the block."""
    old = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = old


def tf32_enabled() -> bool:
    """Whether CUDA matmuls may currently use TF32."""
    return bool(torch.backends.cuda.matmul.allow_tf32)


def float64_enabled() -> bool:
    """PyTorch always supports float64."""
    return True


def enable_float64() -> None:
    """Nothing to do on PyTorch: float64 is always available."""


def is_traced(x: Any) -> bool:
    """Whether ``x`` is a functorch-wrapped or compiled (fake) tensor."""
    if not isinstance(x, torch.Tensor):
        return False
    try:
        return torch._C._functorch.is_functorch_wrapped_tensor(x) or (
            torch.compiler.is_compiling()
        )
    except AttributeError:  # pragma: no cover - older torch
        return False


def device_summary() -> str:
    """Devices PyTorch sees, e.g. ``'cpu'`` or ``'cpu, cuda:0 (NVIDIA H200)'``."""
    names = ["cpu"]
    if torch.cuda.is_available():
        names += [
            f"cuda:{i} ({torch.cuda.get_device_name(i)})"
            for i in range(torch.cuda.device_count())
        ]
    return ", ".join(names)


def accelerator_memory() -> int | None:
    """Free bytes on the current CUDA device, or ``None`` without CUDA."""
    if not torch.cuda.is_available():
        return None
    free, _total = torch.cuda.mem_get_info()
    return int(free)


def set_threads(threads: int) -> str:
    """``torch.set_num_threads``; returns a description."""
    torch.set_num_threads(threads)
    return f"torch.set_num_threads({threads}), interop {torch.get_num_interop_threads()}"


def framework_version() -> str:
    """``torch.__version__``."""
    return str(torch.__version__)


def clear_caches() -> None:
    """Nothing is compiled per shape in eager PyTorch."""


def to_numpy(x: Any) -> Any:
    """A tensor as numpy, detached from autograd first."""
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else x
