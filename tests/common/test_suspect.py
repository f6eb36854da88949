"""Suspect kernel fits: the checks against an independent numpy computation, and their reports."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kernelkit.benchmarks.summary import mse_summary, suspect_summary
from kernelkit.benchmarks.suspect import FLOOR, RATIO, flag_text, is_suspect, judge


def _checks(**over):
    base = {"train_mse": 0.05, "train_mean_mse": 0.2, "kare": 0.1, "heldout_mse": 0.12,
            "heldout_mean_mse": 0.2}
    return {**base, **over}


def test_each_check_fires_alone_with_its_numbers():
    assert flag_text(_checks(), 0.1) == ""
    train = flag_text(_checks(train_mse=0.3), 0.1)
    assert train.startswith("train: training MSE 0.3 > 0.2") and "lam_tilde 0.1" in train
    held = flag_text(_checks(heldout_mse=0.25, kare=0.2), 1.0)
    assert held.startswith("heldout: held-out MSE 0.25 > 0.2") and ";" not in held
    # The case: KARE 0.026, test MSE 0.32, test-target variance 0.20.
    both = flag_text(_checks(kare=0.026, heldout_mse=0.32, heldout_mean_mse=0.20), 1e-5)
    assert [p.split(":")[0] for p in both.split("; ")] == ["heldout", "kare"]
    assert "KARE 0.026 vs held-out MSE 0.32 (x12.3" in both


def test_gross_needs_the_ratio_and_the_floor():
    # 10x apart but tiny against the targets' scale (a noiseless task): not gross.
    assert flag_text(_checks(kare=1e-4, heldout_mse=1e-3), 1.0) == ""
    # Far apart in absolute terms but within the ratio: not gross.
    just = RATIO * 0.9
    assert flag_text(_checks(kare=0.02, heldout_mse=0.02 * just, heldout_mean_mse=1.0), 1.0) == ""
    # Both limits passed, either way round (KARE too high as well as too low).
    assert flag_text(_checks(kare=0.02, heldout_mse=0.02 * RATIO * 1.1 + FLOOR,
                             heldout_mean_mse=1.0), 1.0).startswith("kare:")
    assert flag_text(_checks(kare=0.9, heldout_mse=0.1, heldout_mean_mse=1.0),
                     1.0).startswith("kare:")


def test_judge_matches_numpy_and_judges_at_the_kare_chosen_lam():
    rng = np.random.default_rng(0)
    Yt, Yh = rng.normal(size=(20, 2)) + 1.0, rng.normal(size=(15, 2)) + 1.0
    train_path = [Yt + 0.1 * rng.normal(size=Yt.shape) for _ in range(3)]
    held_path = [np.zeros_like(Yh), Yh + 0.1, Yh + 0.3]  # lam 0: worse than the mean
    kares = [0.5, 0.01, 0.2]  # KARE picks the second lam_tilde
    checks, flag = judge(Yt, train_path, kares, Yh, held_path, lams=[1e-3, 1e-1, 10.0])
    mean = Yt.mean(axis=0)
    for c, pt, ph, k in zip(checks, train_path, held_path, kares):
        assert c["train_mse"] == pytest.approx(np.mean((pt - Yt) ** 2), rel=1e-12)
        assert c["heldout_mse"] == pytest.approx(np.mean((ph - Yh) ** 2), rel=1e-12)
        assert c["train_mean_mse"] == pytest.approx(np.mean((Yt - mean) ** 2), rel=1e-12)
        assert c["heldout_mean_mse"] == pytest.approx(np.mean((Yh - mean) ** 2), rel=1e-12)
        assert c["kare"] == k
    assert flag_text(checks[0], 1e-3).startswith("heldout:")  # the first row alone fails ...
    # ... but the fit is judged at its KARE choice (lam 0.1): held-out 0.01 vs KARE 0.01.
    assert flag == flag_text(checks[1], 0.1) == ""
    # A 1-d target is one column; NaN KAREs only: not judged.
    checks1, flag1 = judge(Yt[:, 0], [Yt[:, 0]], [np.nan], Yh[:, 0], [Yh[:, 0]], lams=[1.0])
    assert flag1 == "" and checks1[0]["train_mse"] == 0.0


def test_is_suspect_reads_csv_blanks_as_unflagged():
    assert is_suspect(["", np.nan, None, "kare: x", pd.NA]).tolist() == [
        False, False, False, True, False]


def _fit_rows(seed, flag, method="ntk-kare"):
    return [{"setting": "s", "split": "test", "method": method, "config": "{}", "seed": seed,
             "lam_tilde": lam, "metric": "mse", "value": 0.1, "status": "ok", "kare": 0.1,
             "suspect": flag} for lam in (1e-3, 1e-1, 10.0)]


def test_summaries_count_fits_not_rows():
    flag = "heldout: ...; kare: ..."
    rows = pd.DataFrame(_fit_rows(0, flag) + _fit_rows(1, "") + _fit_rows(2, "train: ...")
                        + _fit_rows(0, "", method="rfm"))
    counts = suspect_summary(rows).set_index("method")
    assert counts.loc["ntk-kare", ["fits", "suspect", "train", "heldout", "kare"]].tolist() == [
        3, 2, 1, 1, 1]
    assert counts.loc["rfm", "suspect"] == 0
    assert mse_summary(rows).set_index("method").loc["ntk-kare", "suspect"] == 2


def test_plot_marks_suspect_points():
    pytest.importorskip("matplotlib")
    from kernelkit.benchmarks.plots import _SUSPECT_LABEL, _mse_figure, _series

    rows = pd.DataFrame(_fit_rows(0, "kare: ...") + _fit_rows(1, ""))
    series = _series(rows)
    assert series["suspect"].tolist() == [1, 1, 1]
    fig = _mse_figure(series, "synthetic")
    labels = [line.get_label() for line in fig.axes[0].get_lines()]
    assert _SUSPECT_LABEL in labels
    clean = _mse_figure(_series(pd.DataFrame(_fit_rows(1, ""))), "synthetic")
    assert _SUSPECT_LABEL not in [line.get_label() for line in clean.axes[0].get_lines()]
