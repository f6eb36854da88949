"""Process settings made before any framework starts: threads and devices (keras-free).

Environment variables must be set before keras (and with it jax, torch or
tensorflow) is imported; the framework's own thread pools are set after it,
by `kernelkit.backends.set_threads` (the one place that knows each
framework). The CLI, the benchmark engines and scripts use these.
"""

from __future__ import annotations

import os

from kernelkit.errors import InputError

_ENV_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def limit_threads_env(threads: int) -> dict:
    """Environment variables that limit BLAS, XLA and TensorFlow to ``threads``.

    Call before importing keras, jax, torch or tensorflow (or pass the result
    as a subprocess environment). Returns the variables set.
    """
    env = {name: str(threads) for name in _ENV_VARS}
    env["TF_NUM_INTRAOP_THREADS"] = str(threads)
    env["TF_NUM_INTEROP_THREADS"] = "1"
    if threads == 1:
        env["XLA_FLAGS"] = (
            os.environ.get("XLA_FLAGS", "")
            + " --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
        ).strip()
    os.environ.update(env)
    return env


def device_env(device: str, backend: str) -> dict:
    """Environment variables that pin ``device`` (``cpu``, ``gpu``, ``gpu:N``).

    Raises:
        InputError: For anything else.

    Example:
        >>> from kernelkit._environment import device_env
        >>> device_env("gpu:1", "torch")
        {'CUDA_VISIBLE_DEVICES': '1'}
    """
    env: dict = {}
    if device == "cpu":
        env["CUDA_VISIBLE_DEVICES"] = ""
        if backend == "jax":
            env["JAX_PLATFORMS"] = "cpu"
    elif device.startswith("gpu:") and device.split(":", 1)[1].isdigit():
        env["CUDA_VISIBLE_DEVICES"] = device.split(":", 1)[1]
    elif device != "gpu":
        raise InputError(f"{device!r}: use cpu, gpu or gpu:N.")
    return env


def apply_threads(threads: int) -> str:
    """Set the thread pools of the running framework (after keras is imported)."""
    from kernelkit import backends

    return backends.set_threads(threads)
