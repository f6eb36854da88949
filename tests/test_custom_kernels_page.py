"""docs/custom-kernels.md runs as written: its kernel, training, estimator and pytest file.

Every ```python block that starts with a ``# name.py`` line is written to that
file in a fresh folder, as a user would save it (the kernel module has no
serialisation decorator). The two scripts then run in one process on this
run's backend and report what they computed; the page's KernelTestCase file
runs through pytest in another, where all 9 checks must pass.
"""

from __future__ import annotations

import json
import math
import pathlib
import re

import pytest
from helpers import named_python_files, run_fresh

PAGE = pathlib.Path(__file__).parents[1] / "docs" / "custom-kernels.md"

#: Runs the page's two scripts in one namespace each, then reports their outcomes.
DRIVER = """
import json, runpy, sys
sys.path.insert(0, ".")  # as `python script.py` would: the scripts import rational_quadratic
train = runpy.run_path("train_rational_quadratic.py")
est = runpy.run_path("estimator_rational_quadratic.py")
from sklearn.utils.validation import check_is_fitted
try:
    check_is_fitted(est["fresh"])
    fresh_fitted = True
except Exception:
    fresh_fitted = False
import keras
import numpy as np
out = {
    "initial_kare": float(train["risk"]), "final_kare": float(train["value"]),
    "krr_finite": bool(np.isfinite(train["model"].predict(train["X"])).all()),
    "score": float(est["estimator"].score(est["X"], est["y"])),
    "same": bool(est["same"]), "fresh_fitted": fresh_fitted,
    "template_l": float(keras.ops.convert_to_numpy(est["estimator"].kernel.log_l)),
    "trained_l": float(keras.ops.convert_to_numpy(est["estimator"].kernel_.log_l)),
    "registered": keras.saving.get_registered_name(type(est["estimator"].kernel)),
}
json.dump(out, open(sys.argv[1], "w"))
"""


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> pathlib.Path:
    named = named_python_files(PAGE.read_text())
    assert set(named) == {"rational_quadratic.py", "train_rational_quadratic.py",
                          "estimator_rational_quadratic.py", "test_rational_quadratic.py",
                          "conftest.py"}, sorted(named)
    assert "register_keras_serializable" not in named["rational_quadratic.py"]
    tmp = tmp_path_factory.mktemp("custom_kernels")
    for name, code in named.items():
        (tmp / name).write_text(code)
    (tmp / "driver.py").write_text(DRIVER)
    return tmp


def test_scripts_run_as_written(folder):
    run_fresh(["driver.py", "out.json"], folder, x64=True, what="the page's scripts")
    out = json.loads((folder / "out.json").read_text())
    # KARE training lowers KARE; KRR on the trained kernel is finite.
    assert out["final_kare"] < out["initial_kare"] and out["krr_finite"]
    # In KernelKARERegressor: trained copy, untrained template, pickle and clone work.
    assert out["score"] > 0.9, out
    assert out["same"] and not out["fresh_fitted"]
    # The template (float32, the default dtype) is untouched: still log(5).
    assert out["template_l"] == pytest.approx(math.log(5.0), rel=1e-7)
    assert out["trained_l"] != out["template_l"]
    assert out["registered"] == "rational_quadratic>RationalQuadratic"


def test_kernel_test_case_passes_all_nine_checks(folder):
    stdout = run_fresh(["-m", "pytest", "test_rational_quadratic.py", "-q", "-p",
                        "no:cacheprovider", "-W", "error::kernelkit.errors.PrecisionWarning"],
                       folder, x64=True, what="the page's KernelTestCase file")
    summary = stdout.strip().splitlines()[-1]
    assert re.match(r"9 passed\b", summary) and not re.search(r"failed|skipped|error",
                                                               summary), summary
