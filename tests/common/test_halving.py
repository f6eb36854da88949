"""Successive halving (--protocol kare --halving): rungs, survivors and the final choice.

The survivors are checked against a brute-force oracle (every configuration's
score computed row by row in plain Python, then sorted), and the final choice
against the smallest KARE among the last rung's rows.
"""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pandas as pd
import pytest

from kernelkit.benchmarks.halving import (KEEP, RUNG_FRACTIONS, halving_record, n_kept,
                                          rung_epochs, rung_scores, survivors)
from kernelkit.benchmarks.uci_metrics import kare_selection


def test_rungs_end_at_the_full_training_and_grow():
    assert RUNG_FRACTIONS[-1] == 1.0
    for epochs in (1, 2, 3, 9, 30, 100, 300, 10000):
        rungs = rung_epochs(epochs)
        assert rungs[-1] == epochs and rungs == sorted(set(rungs)) and rungs[0] >= 1
    assert rung_epochs(300) == [34, 100, 300] and rung_epochs(9) == [1, 3, 9]
    assert rung_epochs(2) == [1, 2] and rung_epochs(1) == [1]
    assert [n_kept(n) for n in (0, 1, 2, 3, 4, 100)] == [0, 1, 1, 1, 2, 34]


def _rows(rng, configs, lams=(1e-3, 1e-1, 10.0), seeds=(0, 1)):
    out = []
    for config, lam, seed in itertools.product(configs, lams, seeds):
        out.append({"config": config, "lam_tilde": lam, "seed": seed,
                    "kare": float(rng.uniform(0.01, 1.0)), "status": "ok"})
    return pd.DataFrame(out)


def _oracle_survivors(rows, planned, keep):
    score = {}
    for config in planned:
        best = math.inf
        for lam in sorted(set(rows["lam_tilde"])):
            at = [r["kare"] for _, r in rows.iterrows() if r["config"] == config
                  and r["lam_tilde"] == lam and r["status"] == "ok" and np.isfinite(r["kare"])]
            if at:
                best = min(best, sum(at) / len(at))
        score[config] = best
    ranked = sorted((s, planned.index(c), c) for c, s in score.items() if s < math.inf)
    kept = {c for _, _, c in ranked[:max(1, math.ceil(len(planned) * keep - 1e-9))]}
    return [c for c in planned if c in kept]


@pytest.mark.parametrize("keep", [KEEP, 0.5])
def test_survivors_match_a_brute_force_oracle(keep):
    rng = np.random.default_rng(3)
    planned = [json.dumps({"lr": lr, "width": w}) for lr in (0.1, 1, 10) for w in (8, 16, 32)]
    rows = _rows(rng, planned)
    rows.loc[rows["config"] == planned[4], "status"] = "diverged"  # never goes on
    rows.loc[rows.index[:3], "kare"] = np.nan  # a non-finite KARE is ignored
    got = survivors(rung_scores(rows), planned, keep)
    assert got == _oracle_survivors(rows, planned, keep)
    assert planned[4] not in got and len(got) == n_kept(len(planned), keep)


def test_ties_go_to_the_first_configuration_in_grid_order():
    scores = pd.Series({"c": 0.5, "b": 0.5, "a": 0.5})
    assert survivors(scores, ["b", "a", "c"], keep=0.5) == ["b", "a"]


def _rung_rows(config, rung, epochs, kare, value, status="ok", method="ntk-kare"):
    return {"dataset": "d", "method": method, "fold": "0", "seed": 0, "lam_tilde": 0.1,
            "config": json.dumps({"epochs": epochs, "lr": config}), "rung": rung,
            "kare": kare, "value": value, "status": status}


def test_only_the_last_rung_is_chosen_from_and_the_record_says_how_far_each_got():
    rows = pd.DataFrame([
        _rung_rows(1, 0, 1, 0.01, 0.1),  # best early, dropped at rung 1: cannot be chosen
        _rung_rows(2, 0, 1, 0.20, 0.5), _rung_rows(3, 0, 1, 0.30, 0.6),
        _rung_rows(1, 1, 3, 0.50, 0.2), _rung_rows(2, 1, 3, 0.10, 0.7),
        _rung_rows(2, 2, 9, 0.05, 0.9),
        {"dataset": "d", "method": "laplace", "fold": "0", "seed": 0, "lam_tilde": 0.1,
         "config": "{}", "rung": None, "kare": 0.2, "value": 0.8, "status": "ok"},
    ])
    chosen = kare_selection(rows).set_index("method")
    assert chosen.loc["ntk-kare", "config"] == json.dumps({"epochs": 9, "lr": 2})
    assert chosen.loc["ntk-kare", "rung"] == 2 and np.isnan(chosen.loc["laplace", "rung"])
    assert chosen.loc["laplace", "accuracy"] == 0.8
    record = halving_record(rows).set_index("config")
    assert record.loc['{"lr": 1}', "rung"] == 1 and record.loc['{"lr": 3}', "rung"] == 0
    assert record.loc['{"lr": 2}', "epochs"] == 9
    assert record.loc['{"lr": 1}', "kare_rung_1"] == 0.5
    assert np.isnan(record.loc['{"lr": 3}', "kare_rung_1"])


def test_a_last_rung_whose_fits_all_failed_is_not_replaced_by_an_earlier_one():
    rows = pd.DataFrame([_rung_rows(1, 0, 1, 0.01, 0.1),
                         _rung_rows(1, 1, 3, math.nan, math.nan, status="failed")])
    assert kare_selection(rows).empty
