"""The MSE summary's honest column: test MSE at each fit's own KARE-chosen lam_tilde."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

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
