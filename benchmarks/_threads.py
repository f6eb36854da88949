"""Thread settings for benchmarks: set before any numerical library starts."""

from __future__ import annotations

import os

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


def apply_framework_threads(backend: str, threads: int) -> str:
    """Set the thread pools of the imported framework; returns a description."""
    if backend == "torch":
        import torch

        torch.set_num_threads(threads)
        return f"torch.set_num_threads({threads}), interop {torch.get_num_interop_threads()}"
    if backend == "tensorflow":
        import tensorflow as tf

        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(1)
        except RuntimeError:  # already initialised: the env variables apply
            pass
        return f"tf intra-op {tf.config.threading.get_intra_op_parallelism_threads()}"
    return f"XLA_FLAGS={os.environ.get('XLA_FLAGS', '')!r}"
