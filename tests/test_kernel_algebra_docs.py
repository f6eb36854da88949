"""docs/kernel-algebra.md runs as written and its stated outcomes hold.

Every ```python block of the page is executed, in order, in one namespace, in a
fresh process on the backend of this test run (the page calls
``kk.enable_float64()`` itself). The test then checks what the page states
and what is robust across backends: the sum of an ARD Gaussian and a Laplace
kernel beats each part alone, and the deep kernel's KARE falls and it beats the
untrained Gaussian kernel on the synthetic task.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import keras
import pytest
from test_tutorial import python_blocks

PAGE = pathlib.Path(__file__).parents[1] / "docs" / "kernel-algebra.md"

DRIVER = """
import json, sys
blocks = json.load(open(sys.argv[1]))
ns = {"__name__": "__docs__"}
for i, block in enumerate(blocks):
    exec(compile(block, f"kernel-algebra.md block {i + 1}", "exec"), ns)
out = {
    "backend": ns["keras"].backend.backend() if "keras" in ns else __import__("keras").backend.backend(),
    "mse_parts": ns["mse_parts"],
    "scales": list(ns["scales"]),
    "mse_synthetic": ns["mse_synthetic"],
    "deep_kare": [float(v) for v in ns["deep_kare"]],
}
json.dump(out, open(sys.argv[2], "w"))
"""


@pytest.fixture(scope="module")
def outcome(tmp_path_factory) -> dict:
    blocks = python_blocks(PAGE.read_text())
    assert len(blocks) >= 4, "the page lost its code blocks"
    tmp = tmp_path_factory.mktemp("kernel_algebra_docs")
    (tmp / "blocks.json").write_text(json.dumps(blocks))
    (tmp / "driver.py").write_text(DRIVER)
    env = {k: v for k, v in os.environ.items() if k != "JAX_ENABLE_X64"}
    env["KERAS_BACKEND"] = keras.backend.backend()
    proc = subprocess.run(
        [sys.executable, str(tmp / "driver.py"), str(tmp / "blocks.json"), str(tmp / "out.json")],
        capture_output=True, text=True, env=env, timeout=900, cwd=tmp,
    )
    assert proc.returncode == 0, f"the page failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
    print(proc.stdout)
    return json.loads((tmp / "out.json").read_text())


def test_runs_on_this_backend(outcome):
    assert outcome["backend"] == keras.backend.backend()


def test_the_sum_beats_each_part(outcome):
    mse = outcome["mse_parts"]
    # Stated: 0.546 (ARD Gaussian), 0.329 (Laplace), 0.117 (sum), "by a factor of three".
    assert mse["sum"] < min(mse["ARD Gaussian"], mse["Laplace"]) / 2, mse
    assert mse["sum"] == pytest.approx(0.117, abs=0.005)
    assert all(s > 0 for s in outcome["scales"])


def test_the_deep_kernel_trains_and_beats_the_untrained_gaussian(outcome):
    kare = outcome["deep_kare"]
    assert len(kare) == 100 and kare[-1] < kare[0] / 2, kare[::10]
    mse = outcome["mse_synthetic"]
    assert mse["deep kernel"] < mse["Gaussian, untrained"], mse
