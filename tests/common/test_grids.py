"""The ``paper`` grids hold exactly the paper's settings (PAPER_SETTINGS.md, Tables 2 and 3)."""

from __future__ import annotations

import collections
import json

import pytest

from kernelkit.benchmarks.grids import by_depth, configs, describe_grid, get_grid
from kernelkit.errors import InputError


def _powers(lo, hi):
    return [10.0 ** i for i in range(lo, hi + 1)]


def test_synthetic_paper_grid_is_table_2():
    grid = get_grid("synthetic", "paper")
    assert grid["seeds"] == 10 and (grid["n_train"], grid["n_test"], grid["d"]) == (1000, 1000, 10)
    assert sorted(map(tuple, grid["settings"])) == [
        (g, s) for g in (1.0, 1.25, 1.5) for s in (0.0, 0.1)]
    assert grid["lam_tilde"] == pytest.approx(_powers(-5, 5), rel=1e-12)
    (kare,) = configs(grid["ntk-kare"])
    assert {k: kare[k] for k in ("depth", "width", "activation", "z", "epochs", "learning_rate",
                                 "optimizer")} == {
        "depth": 1, "width": 64, "activation": "gelu", "z": 0.1, "epochs": 100,
        "learning_rate": 100.0, "optimizer": "sgd"}
    assert kare.get("batch_size") is None  # full batch
    (net,) = configs(grid["network"])
    assert (net["epochs"], net["learning_rate"], net["optimizer"], net["batch_size"]) == (
        10000, 0.1, "sgd", None)


@pytest.mark.parametrize("suite", ["mnist", "higgs"])
def test_image_paper_grids_are_table_2(suite):
    grid = get_grid(suite, "paper")
    assert grid["seeds"] == 10 and (grid["n_train"], grid["n_test"]) == (1000, 1000)
    assert grid["lam_tilde"] == pytest.approx(_powers(-3, 3), rel=1e-12)
    kare = configs(grid["ntk-kare"])
    assert len(kare) == 6  # depth {2, 4} x width {32, 64, 128}, one learning rate each
    for c in kare:
        assert c["learning_rate"] == (1.0 if c["depth"] == 4 else 10.0)
        assert (c["epochs"], c["z"], c["optimizer"], c["activation"]) == (300, 0.1, "sgd", "gelu")
        assert c["batch_size"] is None
    assert {(c["depth"], c["width"]) for c in kare} == {
        (d, w) for d in (2, 4) for w in (32, 64, 128)}
    nets = configs(grid["network"])
    assert len(nets) == 6 and all(
        (c["epochs"], c["learning_rate"], c["optimizer"], c["batch_size"]) == (
            10000, 0.1, "sgd", None) for c in nets)


def test_uci_paper_grid_is_table_3():
    grid = get_grid("uci", "paper")
    kare = configs(grid["ntk-kare"])
    assert len(kare) == 100  # 25 architectures x 4 learning rates
    by_arch = collections.defaultdict(list)
    for c in kare:
        by_arch[(c["depth"], c["width"])].append(c["learning_rate"])
        assert (c["epochs"], c["z"], c["optimizer"]) == (300, 0.1, "sgd")
        assert "batch_size" not in c  # 32 from 5,000 rows, else full: set per data set
    assert set(by_arch) == {(d, w) for d in range(1, 6) for w in (32, 64, 128, 256, 512)}
    for (depth, _), lrs in by_arch.items():
        assert sorted(lrs) == sorted([10.0, 5.0, 1.0, 0.1] if depth >= 3
                                     else [100.0, 10.0, 1.0, 0.1])
    nets = configs(grid["network"])
    assert len(nets) == 100
    assert {c["learning_rate"] for c in nets} == {0.1, 0.01, 0.001, 0.0001}
    assert all((c["epochs"], c["batch_size"], c["optimizer"]) == (400, 32, "sgd") for c in nets)


def test_uci_kare_batch_follows_the_row_count():
    """Table 3: batches of 32 from 5,000 rows on, else the whole training set."""
    import numpy as np

    from kernelkit.benchmarks import methods

    seen = []

    class Fake:
        def __init__(self, **params):
            seen.append(params["batch_size"])
            raise RuntimeError("stop")

    for n in (4999, 5000):
        task = methods.Task(np.zeros((n, 2)), np.zeros(n), np.zeros((2, 2)), np.zeros(2),
                            "regression")
        original = methods._estimator
        methods._estimator = lambda kind, r, c, **p: Fake(**p)
        try:
            with pytest.raises(RuntimeError):
                methods.ntk_kare(task, configs(get_grid("uci", "paper")["ntk-kare"])[0], 0, [1.0])
        finally:
            methods._estimator = original
    assert seen == [None, 32]


def test_depth_dependent_values_in_a_grid_file(tmp_path):
    path = tmp_path / "grid.json"
    path.write_text(json.dumps({"ntk-kare": {
        "depth": [1, 3], "width": [8], "epochs": 2, "z": 0.1, "optimizer": "sgd",
        "learning_rate": by_depth({1: [100.0], 3: [1.0, 10.0]})}}))
    cfgs = configs(get_grid("synthetic", str(path))["ntk-kare"])
    assert [(c["depth"], c["learning_rate"]) for c in cfgs] == [(1, 100.0), (3, 1.0), (3, 10.0)]
    with pytest.raises(InputError, match="no values for depth = 2"):
        configs({"depth": [2], "learning_rate": by_depth({1: [1.0]})})
    with pytest.raises(InputError, match="does not set"):
        configs({"learning_rate": by_depth({1: [1.0]})})
    assert "by depth" in describe_grid("uci", "paper")


def test_grid_wins_counts_winners_and_the_cost_of_removing_a_value():
    import pandas as pd

    from kernelkit.benchmarks.grid_wins import win_counts

    rows = []
    acc = {("a", 1, 10.0): 0.9, ("a", 2, 10.0): 0.8, ("a", 1, 1.0): 0.7, ("a", 2, 1.0): 0.6,
           ("b", 1, 10.0): 0.5, ("b", 2, 10.0): 0.95, ("b", 1, 1.0): 0.5, ("b", 2, 1.0): 0.94}
    for (dataset, depth, lr), value in acc.items():
        rows.append(dict(dataset=dataset, method="ntk-kare", split="val", status="ok", seed=0,
                         lam_tilde=0.1, value=value,
                         config=json.dumps({"depth": depth, "learning_rate": lr})))
    counts = win_counts(pd.DataFrame(rows)).set_index(["entry", "value"])
    assert counts.loc[("depth", 1), "wins"] == 1 and counts.loc[("depth", 2), "wins"] == 1
    # Without depth 2, data set b loses 95 - 50 = 45 points; a loses nothing.
    assert counts.loc[("depth", 2), "worst_loss_pts"] == pytest.approx(45.0)
    assert counts.loc[("depth", 2), "mean_loss_pts"] == pytest.approx(22.5)
    # lr 1 never wins; removing it costs nothing.
    assert counts.loc[("learning_rate", 1.0), "wins"] == 0
    assert counts.loc[("learning_rate", 1.0), "worst_loss_pts"] == pytest.approx(0.0)


def test_grid_wins_searches_each_methods_own_entries():
    """An entry fixed within a method (its epochs) is not reported for it, even if another varies it."""
    import pandas as pd

    from kernelkit.benchmarks.grid_wins import win_counts

    rows = [dict(dataset="a", method=m, split="val", status="ok", seed=0, lam_tilde=0.1,
                 value=v, config=json.dumps({"epochs": e, "depth": d}))
            for m, e, d, v in [("ntk-kare", 300, 1, 0.9), ("ntk-kare", 300, 2, 0.8),
                               ("dnn", 400, 1, 0.7), ("dnn", 100, 1, 0.6)]]
    counts = win_counts(pd.DataFrame(rows))
    assert set(counts[counts["method"] == "ntk-kare"]["entry"]) == {"depth"}
    assert set(counts[counts["method"] == "dnn"]["entry"]) == {"epochs"}


def test_uci_medium_grid_is_part_of_the_paper_grid_with_a_training_cap():
    """Every medium configuration is one of the paper grid's; the cap is the only addition."""
    medium, paper = get_grid("uci", "medium"), get_grid("uci", "paper")
    assert medium["methods"] == paper["methods"]
    for method in ("ntk-kare", "network"):
        ours = configs(medium[method])
        assert 1 <= len(ours) < len(configs(paper[method]))
        assert all(c in configs(paper[method]) for c in ours), method
    assert set(medium["lam_tilde"]) <= set(paper["lam_tilde"])
    assert isinstance(medium["max_n"], int) and medium["max_n"] >= 100
    assert "subsampled" in describe_grid("uci", "medium")
    assert get_grid("uci", "paper")["max_n"] is None and get_grid("uci")["max_n"] is None
    with pytest.raises(InputError, match="'quick', 'paper'"):
        get_grid("synthetic", "medium")


def test_max_n_option_overrides_the_grids_cap():
    from kernelkit.benchmarks.runner import RunOptions, _max_n

    grid = get_grid("uci", "medium")
    assert _max_n(RunOptions("uci", "out"), grid) == grid["max_n"]
    assert _max_n(RunOptions("uci", "out", max_n=50), grid) == 50
    assert _max_n(RunOptions("uci", "out"), get_grid("uci")) is None
