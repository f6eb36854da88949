"""UCI and MSE summaries: the honest KARE column, the reference classifiers shown."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from kernelkit.benchmarks.summary import mse_summary


def test_lam_by_kare_is_the_test_mse_at_each_seeds_smallest_kare_against_a_loop():
    rng = np.random.default_rng(0)
    lams = [1e-3, 1e-1, 10.0]
    rows = pd.DataFrame([{"setting": "s", "method": "ntk-kare", "lam_tilde": lam, "seed": seed,
                          "metric": "mse", "split": "test", "status": "ok",
                          "value": float(rng.uniform()), "kare": float(rng.uniform())}
                         for seed in range(4) for lam in lams])
    rows.loc[0, "kare"] = math.nan  # a missing KARE is never chosen
    oracle = []
    for seed in range(4):
        at = [(k, lam, v) for k, lam, v, s in zip(rows["kare"], rows["lam_tilde"],
                                                  rows["value"], rows["seed"])
              if s == seed and not math.isnan(k)]
        oracle.append(min(at)[2])
    got = mse_summary(rows).set_index("method").loc["ntk-kare", "lam by KARE"]
    assert math.isclose(got, sum(oracle) / 4)
    dnn = rows.iloc[:1].assign(method="dnn", lam_tilde=math.nan, kare=math.nan)
    assert "lam by KARE" not in mse_summary(dnn).columns


def test_uci_summary_shows_the_top_references_and_rf_caret_wherever_it_ranks():
    from kernelkit.benchmarks.summary import uci_summary

    names = [f"d{i}" for i in range(6)]
    rows = [dict(dataset=d, method="ntk-kare", split="test", fold=str(f), seed=0, status="ok",
                 protocol="arora", metric="accuracy", config="{}", lam_tilde=0.1,
                 value=0.8 + 0.01 * i) for i, d in enumerate(names) for f in range(4)]
    rng = np.random.default_rng(0)
    reference = pd.DataFrame(rng.uniform(50, 99, (6, 8)), index=names,
                             columns=[f"c{j}" for j in range(7)] + ["rf_caret"])
    reference["rf_caret"] = 10.0  # last of all
    shown = uci_summary(pd.DataFrame(rows), "arora", reference, top_reference=2)
    theirs = shown[shown["source"] != "kernelkit"]
    assert len(theirs) == 3 and "rf_caret" in theirs.index
    assert theirs.loc["rf_caret", "accuracy_mean"] == 10.0
    assert shown.loc["ntk-kare", "accuracy_mean"] == pytest.approx(82.5)
