"""Helpers shared by the tests: numpy float64 oracles, error measures, docs pages run as code."""

from __future__ import annotations

import json
import os
import pathlib
import re
import subprocess
import sys

import keras
import numpy as np
from scipy.special import erf

from kernelkit.testing import to_numpy

BACKEND = keras.backend.backend()

#: Keras 3.15 on torch computes float64 Dense layers through a float32 matmul
#: (keras issue 23704): anything that runs the model's own forward pass (the
#: "jacobian" NTK) is only float32-accurate there. Measured: ~1e-7 relative.
TORCH_F64_MATMUL_BUG = BACKEND == "torch"


def jacobian_f64_tolerance(activation: str) -> float:
    """Tolerance of float64 checks on the "jacobian" NTK, which runs the model's
    own Keras forward pass; upstream Keras 3.15.1 limits it on some backends:

    - torch: float64 Dense matmul runs in float32 (keras issue 23704): float32
      accuracy, ~1e-7 and up to 1.2e-6 for a depth-4 SELU MLP (measured), so
      held to the float32 tolerance 1e-5, as in tests/cross_backend;
    - JAX: ``ops.tanh`` returns float32 for float64 input: ~1e-7;
    - TensorFlow: ``tf.nn.gelu`` is accurate to ~2e-9 in float64, which
      grows to 1.5e-8 in the NTK of a depth-4 MLP (measured).

    The "structured" NTK avoids all three and is held to 1e-10 everywhere.
    """
    if BACKEND == "torch":
        return 1e-5
    if BACKEND == "jax" and activation == "tanh":
        return 1e-6
    if BACKEND == "tensorflow" and activation == "gelu":
        return 1e-7
    return 1e-10


def rel_err(a, b) -> float:
    """``max |a - b| / max |b|`` in float64."""
    a = np.asarray(to_numpy(a), dtype=np.float64)
    b = np.asarray(to_numpy(b), dtype=np.float64)
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-300))


ACTIVATIONS = {
    "linear": lambda h: h,
    "relu": lambda h: np.maximum(h, 0.0),
    "tanh": np.tanh,
    "sigmoid": lambda h: 1.0 / (1.0 + np.exp(-h)),
    "gelu": lambda h: 0.5 * h * (1.0 + erf(h / np.sqrt(2.0))),
    "softplus": lambda h: np.log1p(np.exp(h)),
    "silu": lambda h: h / (1.0 + np.exp(-h)),
    "elu": lambda h: np.where(h > 0, h, np.expm1(np.minimum(h, 0.0))),
}


def mlp_weights(model) -> list[tuple[np.ndarray, np.ndarray | None]]:
    """(W, b) per Dense layer in float64 (b is None without bias)."""
    out = []
    for layer in model.layers:
        W = to_numpy(layer.kernel).astype(np.float64)
        b = to_numpy(layer.bias).astype(np.float64) if layer.use_bias else None
        out.append((W, b))
    return out


def numpy_mlp(weights, activation: str, x: np.ndarray) -> np.ndarray:
    """Forward pass of a Dense MLP in float64 numpy (linear last layer)."""
    s = ACTIVATIONS[activation]
    a = x
    for i, (W, b) in enumerate(weights):
        h = a @ W + (0.0 if b is None else b)
        a = h if i == len(weights) - 1 else s(h)
    return a


def numpy_fd_jacobian(weights, activation: str, x: np.ndarray, eps: float = 1e-6):
    """Per-example Jacobian ``(n, k, P)`` by central differences in float64."""
    flat = [p for Wb in weights for p in Wb if p is not None]
    cols = []
    for p in flat:
        for idx in np.ndindex(p.shape):
            old = p[idx]
            p[idx] = old + eps
            up = numpy_mlp(weights, activation, x)
            p[idx] = old - eps
            down = numpy_mlp(weights, activation, x)
            p[idx] = old
            cols.append((up - down) / (2 * eps))
    return np.stack(cols, axis=-1)


def numpy_kare(K: np.ndarray, Y: np.ndarray, z: float) -> float:
    """KARE from its formula with an explicit inverse (an oracle only)."""
    n = K.shape[0]
    Y = Y.reshape(n, -1)
    Ainv = np.linalg.inv(K / n + z * np.eye(n))
    num = np.mean(np.sum((Ainv @ Y) ** 2, axis=0)) / n
    return float(num / (np.trace(Ainv) / n) ** 2)


# --- docs pages run as written, in a fresh process on this run's backend -----------------

def python_blocks(markdown: str) -> list[str]:
    """The code of every ```python block of a Markdown page, in order."""
    return re.findall(r"^```python\n(.*?)^```", markdown, flags=re.S | re.M)


def named_python_files(markdown: str) -> dict[str, str]:
    """``{name: code}`` for each ```python block whose first line is ``# name.py``."""
    named = {}
    for block in python_blocks(markdown):
        first = block.splitlines()[0]
        if re.fullmatch(r"# \w+\.py", first):
            named[first[2:]] = block
    return named


def run_fresh(args: list[str], cwd: pathlib.Path, *, x64: bool = False,
              timeout: int = 600, what: str = "the page") -> str:
    """``python *args`` in ``cwd``, in a fresh process on this run's Keras backend.

    The process sees no pytest variables, and JAX's x64 mode only if ``x64``
    (a page that calls ``kk.enable_float64()`` itself is left to do so).
    Asserts that it succeeds and returns its stdout.
    """
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("PYTEST") and k != "JAX_ENABLE_X64"}
    env["KERAS_BACKEND"] = keras.backend.backend()
    if x64:
        env["JAX_ENABLE_X64"] = "1"
    proc = subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env,
                          timeout=timeout, cwd=cwd)
    assert proc.returncode == 0, f"{what} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
    return proc.stdout


#: Runs the blocks in one namespace, then writes ``report(ns)`` (defined before it) as JSON.
_BLOCKS_DRIVER = """
import json, sys
blocks = json.load(open(sys.argv[1]))
ns = {"__name__": "__docs__"}
for i, block in enumerate(blocks):
    exec(compile(block, f"{sys.argv[3]} block {i + 1}", "exec"), ns)
json.dump(report(ns), open(sys.argv[2], "w"))
"""


def run_page_blocks(page: pathlib.Path, report: str, tmp: pathlib.Path, *,
                    min_blocks: int, timeout: int = 600) -> dict:
    """Execute every ```python block of ``page`` in order, then return what it computed.

    Args:
        page: The Markdown page.
        report: Python code defining ``report(ns)``, which turns the blocks'
            namespace ``ns`` into a JSON-able dict.
        tmp: An empty folder to run in.
        min_blocks: The page must have at least this many blocks.
        timeout: Seconds the page may take.

    Returns:
        ``report(ns)`` as read back from JSON.
    """
    blocks = python_blocks(page.read_text())
    assert len(blocks) >= min_blocks, f"{page.name} lost its code blocks"
    (tmp / "blocks.json").write_text(json.dumps(blocks))
    (tmp / "driver.py").write_text(report + _BLOCKS_DRIVER)
    stdout = run_fresh(["driver.py", "blocks.json", "out.json", page.name], tmp,
                       timeout=timeout, what=page.name)
    print(stdout)
    return json.loads((tmp / "out.json").read_text())
