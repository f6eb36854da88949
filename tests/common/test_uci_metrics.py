"""The Fernández-Delgado table parser and the UCI summary metrics (P90, P95, PMA, ranks)."""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import rankdata

from kernelkit.benchmarks.uci_metrics import (
    accuracy_profile,
    friedman_ranks,
    joined_accuracy_table,
    relative_accuracy,
    uci_accuracy_table,
    uci_metrics,
)
from kernelkit.data.delgado import load_delgado
from kernelkit.errors import DataError, InputError

_DATA_ROOT = Path(os.environ.get("KERNELKIT_DATA", Path(__file__).parents[3] / "shared" / "data"))
DELGADO = _DATA_ROOT / "delgado2014_results.txt"
needs_delgado = pytest.mark.skipif(not DELGADO.exists(), reason=f"{DELGADO} not present")


@pytest.fixture(scope="module")
def delgado() -> pd.DataFrame:
    if not DELGADO.exists():
        pytest.skip(f"{DELGADO} not present")
    return load_delgado(DELGADO)


# --- the Fernández-Delgado table ------------------------------------------------------


def _fixed_width_oracle(path: Path) -> pd.DataFrame:
    """Independent reading: each value is right-aligned under its header name."""
    lines = path.read_text(encoding="utf-8").splitlines()
    header = [(m.group(), m.end()) for m in re.finditer(r"\S+", lines[0])]
    summary_columns = {"min", "max", "mean", "std"}
    classifiers = [(name, end) for name, end in header[1:] if name not in summary_columns]
    rows = {}
    for line in lines[1:]:
        if line.startswith("---"):
            break
        fields = {m.end(): m.group() for m in re.finditer(r"\S+", line)}
        rows[line.split()[0]] = [
            float("nan") if fields[end] == "--" else float(fields[end]) for _, end in classifiers
        ]
    return pd.DataFrame.from_dict(rows, orient="index", columns=[n for n, _ in classifiers])


@needs_delgado
def test_delgado_shape_and_names(delgado):
    assert delgado.shape == (121, 179)
    assert delgado.index.is_unique and delgado.columns.is_unique
    assert delgado.columns[0] == "elm_kernel_matlab" and delgado.columns[-1] == "dpp_C"
    assert not {"mean", "std", "min", "max"} & set(delgado.index)
    assert not {"mean", "std", "min", "max", "problema"} & set(delgado.columns)
    assert all(dtype == np.float64 for dtype in delgado.dtypes)


@needs_delgado
@pytest.mark.parametrize(
    ("dataset", "classifier", "value"),
    [
        ("abalone", "elm_kernel_matlab", 66.1),
        ("abalone", "AdaBoostM1_J48_weka", 60.7),
        ("abalone", "dpp_C", 59.7),
        ("iris", "RandomSubSpace_weka", 95.3),
        ("wine", "elm_kernel_matlab", 100.0),
        ("zoo", "svmlight_C", 95.0),
    ],
)
def test_delgado_spot_values(delgado, dataset, classifier, value):
    assert delgado.loc[dataset, classifier] == value


@needs_delgado
def test_delgado_missing_values_are_nan(delgado):
    # The file writes "--" for acute-inflammation / vbmpRadial_caret.
    assert math.isnan(delgado.loc["acute-inflammation", "vbmpRadial_caret"])
    assert delgado.isna().sum().sum() == DELGADO.read_text().split("\n---")[0].split().count("--")


@needs_delgado
def test_delgado_matches_fixed_width_oracle(delgado):
    pd.testing.assert_frame_equal(
        delgado, _fixed_width_oracle(DELGADO), check_names=False, check_index_type=False
    )


@needs_delgado
def test_delgado_matches_the_files_own_summaries(delgado):
    lines = DELGADO.read_text(encoding="utf-8").splitlines()
    summary = {f[0]: f[1:] for f in map(str.split, lines) if f[:1] in (["mean"], ["std"])}
    file_mean = np.array(summary["mean"], dtype=float)
    np.testing.assert_allclose(delgado.mean().to_numpy(), file_mean, atol=0.051)
    row_max = {line.split()[0]: float(line.split()[-3]) for line in lines[1:122]}
    expected_max = [row_max[d] for d in delgado.index]
    np.testing.assert_array_equal(delgado.max(axis=1).to_numpy(), expected_max)


@pytest.mark.parametrize("name, text, match", [
    ("nope.txt", None, "nope.txt"),  # missing
    ("bad_header.txt", "dataset a b\nx 1 2\n", "bad_header.txt.*problema"),
    ("short_row.txt", "problema a b\tmin\nx 1 2 1\ny 1 2\n", "short_row.txt, line 3"),
    ("not_number.txt", "problema a b\nx 1 abc\n", "not_number.txt, line 2"),
    ("empty.txt", "problema a b\n----\nmean 1 2\n", "empty.txt"),
])
def test_delgado_errors_name_the_path(tmp_path, name, text, match):
    path = tmp_path / name
    if text is not None:
        path.write_text(text)
    with pytest.raises(DataError, match=match):
        load_delgado(path)


def test_delgado_small_file(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text(
        "      problema  a   b\tmin\tmax\n"
        "         x   50.0  --\t50.0\t50.0\n"
        "         y    100  20.5\t20.5\t100.0\n"
        "-----------\n"
        "      mean   75.0  20.5\n"
    )
    table = load_delgado(path)
    assert list(table.index) == ["x", "y"] and list(table.columns) == ["a", "b"]
    assert table.loc["y", "a"] == 100.0 and math.isnan(table.loc["x", "b"])


# --- results -> accuracy table --------------------------------------------------------


def _row(dataset, method, split, fold, value, config=None, status="ok", metric="accuracy", **kw):
    return dict(
        suite="uci", protocol="", dataset=dataset, setting=dataset, fold=fold, split=split,
        method=method, config=json.dumps(config or {"lr": 1}), lam_tilde=kw.get("lam", 0.1),
        seed=kw.get("seed", 0), metric=metric, value=value, status=status, reason="",
    )


def test_arora_averages_folds_then_ignores_bad_rows():
    rows = [_row("d1", "gaussian", "test", str(f), v) for f, v in enumerate([0.8, 0.9, 1.0, 0.7])]
    rows += [_row("d1", "gaussian", "test", "0", 0.0, status="failed")]  # ignored
    rows += [_row("d1", "gaussian", "test", "0", 5.0, metric="mse")]  # not an accuracy
    rows += [_row("d1", "gaussian", "val", "val", 0.99, config={"lr": 9})]  # other split
    # seeds within a fold are averaged first: fold 0 = 0.5, fold 1 = 1.0 -> 75 %
    rows += [_row("d2", "gaussian", "test", "0", v, seed=s) for s, v in [(0, 0.4), (1, 0.6)]]
    rows += [_row("d2", "gaussian", "test", "1", 1.0)]
    rows += [_row("d2", "dnn", "test", "0", 0.5, status="diverged")]  # -> NaN
    other_suite = dict(_row("d2", "dnn", "test", "0", 0.9), suite="mnist")
    table = uci_accuracy_table(pd.DataFrame(rows + [other_suite]), "arora")
    assert list(table.index) == ["d1", "d2"] and list(table.columns) == ["gaussian", "dnn"]
    assert table.loc["d1", "gaussian"] == pytest.approx(85.0)
    assert table.loc["d2", "gaussian"] == pytest.approx(75.0)
    assert math.isnan(table.loc["d2", "dnn"]) and math.isnan(table.loc["d1", "dnn"])


def test_arora_refuses_several_configurations():
    rows = [_row("d1", "rfm", "test", str(f), 0.8, {"lr": f}) for f in range(2)]
    with pytest.raises(InputError, match="several configurations.*'d1', 'rfm'"):
        uci_accuracy_table(pd.DataFrame(rows), "arora")


def test_paper_is_the_max_over_the_validation_grid():
    rows = [
        _row("d1", "ntk-kare", "val", "val", v, {"lr": lr}, lam=lam)
        for lr, lam, v in [(1, 0.1, 0.70), (1, 1.0, 0.75), (10, 0.1, 0.72)]
    ]
    rows += [_row("d1", "ntk-kare", "val", "val", 0.99, status="failed")]
    rows += [_row("d1", "ntk-kare", "test", "0", 0.98)]
    table = uci_accuracy_table(pd.DataFrame(rows), "paper")
    assert table.loc["d1", "ntk-kare"] == pytest.approx(75.0)


def test_unknown_protocol_and_missing_columns():
    with pytest.raises(InputError, match="protocol"):
        uci_accuracy_table(pd.DataFrame([_row("d", "m", "test", "0", 1.0)]), "honest")
    with pytest.raises(InputError, match="columns"):
        uci_accuracy_table(pd.DataFrame({"dataset": ["d"]}))


# --- metrics on a hand-computed example ------------------------------------------------

# d1: A and B tie at the top (80), C = 75 % of best.
# d2: A is exactly 90 % of the best (B = 100): counts for P90, not for P95.
# d3: A and C tie at the top (50), B = 80 % of best.
HAND = pd.DataFrame(
    {"A": [80.0, 90.0, 50.0], "B": [80.0, 100.0, 40.0], "C": [60.0, 95.0, 50.0]},
    index=["d1", "d2", "d3"],
)
HAND_EXPECTED = {
    # method: (accuracy_mean, P90, P95, PMA_mean, PMA_std, friedman_rank)
    "A": (220 / 3, 100.0, 200 / 3, 290 / 3, 100 * math.sqrt(0.02 / 3 / 2), 2.0),
    "B": (220 / 3, 200 / 3, 200 / 3, 280 / 3, 100 * math.sqrt(0.08 / 3 / 2), 5.5 / 3),
    "C": (205 / 3, 200 / 3, 200 / 3, 90.0, 100 * math.sqrt(0.035 / 2), 6.5 / 3),
}


def test_hand_example():
    m = uci_metrics(HAND)
    assert list(m.index) == ["B", "A", "C"]  # sorted by Friedman rank
    assert (m["source"] == "kernelkit").all() and (m["n_datasets"] == 3).all()
    cols = ["accuracy_mean", "P90", "P95", "PMA_mean", "PMA_std", "friedman_rank"]
    for method, expected in HAND_EXPECTED.items():
        np.testing.assert_allclose(m.loc[method, cols].to_numpy(float), expected, rtol=1e-12)
    assert m.attrs["datasets"] == ["d1", "d2", "d3"]


def test_nan_is_excluded_not_ranked_last():
    acc = HAND.assign(D=[np.nan, 100.0, 50.0])
    m = uci_metrics(acc)
    # D ranks 1.5 on d2 (tie with B) and 2 on d3 (tie with A and C); d1 is not counted.
    assert m.loc["D", "n_datasets"] == 2
    assert m.loc["D", "friedman_rank"] == pytest.approx(1.75)
    assert m.loc["D", "P90"] == 100.0 and m.loc["D", "PMA_mean"] == 100.0
    # the others' ranks on d1 are untouched by D's NaN
    assert m.loc["C", "friedman_rank"] == pytest.approx((3 + 3 + 2) / 3)
    # a data set where every method is NaN is not compared at all
    m2 = uci_metrics(pd.concat([HAND, pd.DataFrame({"A": [np.nan]}, index=["d4"])]))
    assert m2.attrs["datasets"] == ["d1", "d2", "d3"]


def test_profile_is_the_curve_through_p90_and_p95():
    rel = relative_accuracy(HAND)
    profile = accuracy_profile(rel)
    assert profile.index[0] == 0.5 and profile.index[-1] == 1.0
    assert (profile.diff().dropna() <= 0).all().all()  # non-increasing in t
    m = uci_metrics(HAND)
    at = accuracy_profile(rel, [0.9, 0.95])
    np.testing.assert_allclose(100 * at.loc[0.9], m.loc[HAND.columns, "P90"])
    np.testing.assert_allclose(100 * at.loc[0.95], m.loc[HAND.columns, "P95"])
    np.testing.assert_allclose(profile.loc[1.0], [2 / 3, 2 / 3, 1 / 3])  # best on 2, 2, 1


def test_restriction_clash_and_nothing_in_common():
    assert uci_metrics(HAND, datasets=["d2", "d3", "zz"]).attrs["datasets"] == ["d2", "d3"]
    with pytest.raises(InputError, match="both tables"):
        uci_metrics(HAND, reference=HAND[["A"]])
    with pytest.raises(InputError, match="no data set in common"):
        uci_metrics(HAND, reference=pd.DataFrame({"R": [1.0]}, index=["elsewhere"]))


# --- metrics against the real table ---------------------------------------------------


@needs_delgado
def test_real_table_ranks_against_scipy(delgado):
    ours = pd.DataFrame(
        {"ntk-kare": delgado["svm_C"].iloc[:90] + 0.05, "dnn": delgado["mlp_C"].iloc[:90]}
    )
    ours.iloc[3, 1] = np.nan
    m = uci_metrics(ours, delgado)
    assert m.attrs["datasets"] == list(delgado.index[:90])
    assert len(m) == 181 and (m["source"] == "delgado2014").sum() == 179
    joined = pd.concat([ours, delgado.iloc[:90]], axis=1)
    for method in ["ntk-kare", "dnn", "svm_C", "parRF_caret", "vbmpRadial_caret"]:
        j = joined.columns.get_loc(method)
        ranks = []
        for row in joined.to_numpy():
            present = ~np.isnan(row)
            if present[j]:
                ranks.append(rankdata(-row[present], method="average")[present[:j].sum()])
        assert m.loc[method, "n_datasets"] == len(ranks)
        assert m.loc[method, "friedman_rank"] == pytest.approx(np.mean(ranks), rel=1e-12)


@needs_delgado
def test_real_table_p90_pma_against_direct_count(delgado):
    mine = delgado[["mda_R"]].rename(columns={"mda_R": "mine"})  # mda_R: no missing value
    m = uci_metrics(mine, delgado)
    assert len(m.attrs["datasets"]) == 121
    best = delgado.max(axis=1)
    for method in ["parRF_caret", "svmPoly_caret", "rbf_matlab"]:
        acc = delgado[method]
        present = acc.notna()
        rel = (acc / best)[present].to_numpy()
        assert m.loc[method, "P90"] == pytest.approx(100 * np.mean(rel >= 0.9 - 1e-9))
        assert m.loc[method, "P95"] == pytest.approx(100 * np.mean(rel >= 0.95 - 1e-9))
        assert m.loc[method, "PMA_mean"] == pytest.approx(100 * rel.mean())
        assert m.loc[method, "PMA_std"] == pytest.approx(100 * rel.std(ddof=1))
        assert m.loc[method, "accuracy_mean"] == pytest.approx(acc.mean())
    # the file's own best classifiers rank near the top (Fernández-Delgado: parRF, svm_C)
    ranks = friedman_ranks(delgado)
    assert ranks.rank()["parRF_caret"] <= 5 and ranks.rank()["svm_C"] <= 10


def test_joined_table_order_and_sources():
    table, sources = joined_accuracy_table(HAND[["A"]], HAND[["B", "C"]].rename(columns=str.lower))
    assert list(table.columns) == ["A", "b", "c"]
    assert sources.tolist() == ["kernelkit", "delgado2014", "delgado2014"]


def test_a_skipped_data_set_adds_no_method():
    # The runner marks a data set it could not read with one row without a method.
    rows = [_row("d1", "gaussian", "test", str(f), 0.9) for f in range(4)]
    rows += [dict(_row("broken", "", "", "", float("nan"), status="skipped"), lam_tilde=None)]
    for method in ("", None):
        frame = pd.DataFrame(rows)
        frame.loc[frame["dataset"] == "broken", "method"] = method
        acc = uci_accuracy_table(frame, "arora")
        assert list(acc.columns) == ["gaussian"] and list(uci_metrics(acc).index) == ["gaussian"]


def test_friedman_ties_are_not_split_by_float_noise():
    # The same accuracy computed in two orders (mean of folds): 97.97297297297298 vs ...297.
    table = pd.DataFrame({"a": [97.97297297297298, 80.0], "b": [97.97297297297297, 80.0]})
    assert table["a"].iloc[0] != table["b"].iloc[0]
    assert friedman_ranks(table).tolist() == [1.5, 1.5]
