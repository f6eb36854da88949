"""docs/tutorial-train-your-own-kernel.md runs as written and its stated outcomes hold.

Every ```python block of the tutorial is executed, in order, in one namespace,
in a fresh process on the backend of this test run (the tutorial calls
``kk.enable_float64()`` itself, so JAX's x64 mode is left to it). The test then
checks the outcomes the tutorial states: the checks pass, KARE and the
validation MSE decrease, the relevant features get the short lengthscales,
the trained kernel beats the fixed one on test MSE, and the estimator
reproduces the fit_kare + KernelRidge model.
"""

from __future__ import annotations

import pathlib

import keras
import numpy as np
import pytest
from helpers import run_page_blocks

TUTORIAL = pathlib.Path(__file__).parents[1] / "docs" / "tutorial-train-your-own-kernel.md"

#: The values the assertions need, from the tutorial's namespace.
REPORT = """
def report(ns):
    return {
        "backend": ns["keras"].backend.backend(),
        "passed": ns["passed"],
        "max_difference": float(ns["max_difference"]),
        "kare_before": ns["kare_before"],
        "kare_after": ns["kare_after"],
        "history_kare": list(ns["history"].kare),
        "val_mse": list(ns["history"].val_mse),
        "stopped_early": ns["history"].stopped_early,
        "lengthscales": ns["kernel"].lengthscales().tolist(),
        "mse_trained": ns["mse_trained"],
        "mse_fixed": ns["mse_fixed"],
        "estimator_lengthscales": ns["estimator"].kernel_.lengthscales().tolist(),
        "estimator_kare": list(ns["estimator"].history_.kare),
        "same_predictions": bool(ns["same_predictions"]),
        "template_untrained": ns["estimator"].kernel.lengthscales().tolist(),
        "score": float(ns["estimator"].score(ns["X_test"], ns["y_test"])),
    }
"""


@pytest.fixture(scope="module")
def outcome(tmp_path_factory) -> dict:
    return run_page_blocks(TUTORIAL, REPORT, tmp_path_factory.mktemp("tutorial"), min_blocks=6)


def test_runs_on_this_backend(outcome):
    assert outcome["backend"] == keras.backend.backend()


def test_kernel_checks_pass(outcome):
    assert len(outcome["passed"]) == 9
    assert outcome["max_difference"] < 1e-12   # equal lengthscales: the Gaussian kernel


def test_kare_training_lowers_kare_and_validation_mse(outcome):
    assert not outcome["stopped_early"]
    assert len(outcome["history_kare"]) == len(outcome["val_mse"]) == 100
    assert outcome["history_kare"][0] == pytest.approx(outcome["kare_before"], rel=1e-9)
    # Stated: "KARE falls from 0.83 to about 0.46"; validation MSE "0.89 after the
    # first epoch, 0.55 after the last".
    assert outcome["kare_before"] == pytest.approx(0.83, abs=0.01)
    assert outcome["kare_after"] == pytest.approx(0.46, abs=0.01)
    assert outcome["val_mse"][0] == pytest.approx(0.89, abs=0.01)
    assert outcome["val_mse"][-1] == pytest.approx(0.55, abs=0.01)


def test_relevant_features_get_short_lengthscales(outcome):
    ls = np.array(outcome["lengthscales"])
    # Stated: "near 1 and 1.7", "the four irrelevant ones near 30".
    assert ls[0] == pytest.approx(1.0, abs=0.1)
    assert ls[1] == pytest.approx(1.7, abs=0.1)
    assert ((ls[2:] > 25) & (ls[2:] < 35)).all(), ls


def test_trained_kernel_beats_fixed_kernel(outcome):
    # Stated: "about 0.05, against 0.30 ... a sixth of the error".
    assert outcome["mse_trained"] == pytest.approx(0.05, abs=0.005)
    assert outcome["mse_fixed"] == pytest.approx(0.30, abs=0.01)
    assert outcome["mse_trained"] < outcome["mse_fixed"] / 5


def test_estimator_reproduces_fit_kare(outcome):
    assert outcome["same_predictions"]
    assert np.allclose(outcome["estimator_lengthscales"], outcome["lengthscales"], rtol=1e-6)
    assert np.allclose(outcome["estimator_kare"], outcome["history_kare"], rtol=1e-6)
    assert outcome["template_untrained"] == pytest.approx([2.0] * 6, rel=1e-12)
    assert outcome["score"] > 0.9   # printed: 0.946
