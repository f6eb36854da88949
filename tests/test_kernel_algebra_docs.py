"""docs/kernel-algebra.md runs as written and its stated outcomes hold.

Every ```python block of the page is executed, in order, in one namespace, in a
fresh process on the backend of this test run (the page calls
``kk.enable_float64()`` itself). The test then checks what the page states
and what is robust across backends: the sum of an ARD Gaussian and a Laplace
kernel beats each part alone, and the deep kernel's KARE falls and it beats the
untrained Gaussian kernel on the synthetic task.
"""

from __future__ import annotations

import pathlib

import keras
import pytest
from helpers import run_page_blocks

PAGE = pathlib.Path(__file__).parents[1] / "docs" / "kernel-algebra.md"

#: The values the assertions need, from the page's namespace.
REPORT = """
def report(ns):
    return {
        "backend": __import__("keras").backend.backend(),
        "mse_parts": ns["mse_parts"],
        "scales": list(ns["scales"]),
        "mse_synthetic": ns["mse_synthetic"],
        "deep_kare": [float(v) for v in ns["deep_kare"]],
    }
"""


@pytest.fixture(scope="module")
def outcome(tmp_path_factory) -> dict:
    return run_page_blocks(PAGE, REPORT, tmp_path_factory.mktemp("kernel_algebra_docs"),
                           min_blocks=4, timeout=900)


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
