"""End-to-end tests of ``kernelkit bench`` and ``kernelkit plot`` (CliRunner and subprocess)."""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from kernelkit.benchmarks.results import JOURNAL, read_results
from kernelkit.cli.main import main

SHARED = pathlib.Path(__file__).resolve().parents[2].parent / "shared" / "data"
UCI = SHARED / "uci121"
needs_data = pytest.mark.skipif(not UCI.is_dir(), reason="../shared/data is not beside the checkout")

TINY_NET = {"depth": [1], "width": [8], "activation": "gelu", "epochs": 2,
            "learning_rate": 1e-3, "batch_size": 16, "optimizer": "adam"}
TINY_NTK = {"depth": [1], "width": [8], "activation": "gelu", "z": 0.1, "epochs": 2,
            "learning_rate": [10.0], "optimizer": "sgd"}


def _grid(tmp_path: pathlib.Path, **entries) -> str:
    path = tmp_path / "grid.json"
    path.write_text(json.dumps(entries))
    return str(path)


def _synthetic_grid(tmp_path, settings=([1.0, 0.0],), seeds=1, n=30):
    return _grid(tmp_path, settings=list(settings), seeds=seeds, n_train=n, n_test=n,
                 **{"ntk-kare": TINY_NTK, "network": TINY_NET}, lam_tilde=[1e-3, 1e-1, 10.0])


def _journal_lines(out: pathlib.Path) -> list[str]:
    return [line for line in (out / JOURNAL).read_text().splitlines() if line.strip()]


def test_synthetic_quick_run_resume_and_refusal(tmp_path):
    out = tmp_path / "run"
    args = ["bench", "synthetic", "--grid", _synthetic_grid(tmp_path), "--out", str(out), "-q"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    table = read_results(out)
    assert set(table["method"]) == {"ntk-kare", "after-ntk", "dnn"}
    assert (table["status"] == "ok").all()
    assert len(table) == 3 + 3 + 1  # 3 lam_tilde for each kernel method, one DNN row
    assert table.loc[table["method"] == "dnn", "lam_tilde"].isna().all()
    assert "mean test MSE" in result.output and "oracle" in result.output
    record = json.loads((out / "run.json").read_text())
    assert record["environment"]["backend"] == os.environ["KERAS_BACKEND"]
    assert {"git_revision", "devices", "keras"} <= set(record["environment"])
    # The same --out without --resume: one clear line, exit 1, nothing overwritten.
    again = CliRunner().invoke(main, args)
    assert again.exit_code == 1 and "--resume" in again.output
    assert len(again.output.strip().splitlines()) == 1
    # --resume: nothing redone.
    lines = _journal_lines(out)
    resumed = CliRunner().invoke(main, args + ["--resume"])
    assert resumed.exit_code == 0, resumed.output
    assert _journal_lines(out) == lines


def test_bad_options_exit_2(tmp_path):
    runner = CliRunner()
    assert runner.invoke(main, ["bench", "nosuch"]).exit_code == 2
    assert runner.invoke(main, ["bench", "synthetic", "--device", "tpu"]).exit_code == 2
    both = runner.invoke(main, ["bench", "synthetic", "--seed", "1", "--seeds", "2",
                                "--out", str(tmp_path / "x")])
    assert both.exit_code == 2
    assert runner.invoke(main, ["bench", "synthetic", "--format", "xlsx"]).exit_code == 2


def test_json_and_parquet_formats(tmp_path):
    for fmt in ("json", "parquet"):
        out = tmp_path / fmt
        result = CliRunner().invoke(main, ["bench", "synthetic", "--grid", _synthetic_grid(tmp_path),
                                           "--out", str(out), "--format", fmt, "-q"])
        assert result.exit_code == 0, result.output
        assert (out / f"results.{fmt}").exists()
        assert len(read_results(out / f"results.{fmt}")) == 7


def test_uci_without_data_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.delenv("KERNELKIT_DATA", raising=False)
    monkeypatch.setenv("KERNELKIT_CACHE", str(tmp_path / "cache"))
    result = CliRunner().invoke(main, ["bench", "uci", "--out", str(tmp_path / "o")])
    assert result.exit_code == 1
    assert "kernelkit data fetch uci" in result.output and "--data-dir" in result.output


@needs_data
def test_uci_arora_with_corrupt_and_missing_data_sets(tmp_path):
    root = tmp_path / "uci"
    root.mkdir()
    for name in ("acute-inflammation", "balloons"):
        shutil.copytree(UCI / name, root / name)
    # A corrupt copy (garbled data file) and one whose data file is missing.
    shutil.copytree(UCI / "balloons", root / "corrupt")
    for f in (root / "corrupt").iterdir():
        f.rename(root / "corrupt" / f.name.replace("balloons", "corrupt"))
    meta = root / "corrupt" / "corrupt.txt"
    meta.write_text(meta.read_text().replace("balloons", "corrupt"))
    (root / "corrupt" / "corrupt_R.dat").write_text("garbage\tnot\ta\ttable\n1\t2\n")
    shutil.copytree(UCI / "acute-nephritis", root / "missing")
    for f in (root / "missing").iterdir():
        f.rename(root / "missing" / f.name.replace("acute-nephritis", "missing"))
    meta = root / "missing" / "missing.txt"
    meta.write_text(meta.read_text().replace("acute-nephritis", "missing"))
    (root / "missing" / "missing_R.dat").unlink()
    grid = _grid(tmp_path, methods=["ntk-kare", "laplace"], **{"ntk-kare": TINY_NTK},
                 laplace={"bandwidth": [1.0, 10.0]}, lam_tilde=[1e-3, 1e-1])
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["bench", "uci", "--data-dir", str(root), "--grid", grid,
                                       "--out", str(out),
                                       "--reference", str(SHARED / "delgado2014_results.txt")])
    assert result.exit_code == 0, result.output
    table = read_results(out)
    skipped = table[table["status"] == "skipped"].set_index("dataset")
    assert set(skipped.index) == {"corrupt", "missing"}
    assert "corrupt_R.dat" in skipped.loc["corrupt", "reason"]
    assert "missing_R.dat" in skipped.loc["missing", "reason"]
    ok = table[table["status"] == "ok"]
    # Validation: every config x lam_tilde; test: the chosen one on each of 4 folds.
    val = ok[(ok["split"] == "val") & (ok["method"] == "laplace")]
    assert len(val) == 2 * 2 * 2  # 2 data sets x 2 bandwidths x 2 lam_tilde
    test = ok[ok["split"] == "test"]
    for (dataset, method), rows in test.groupby(["dataset", "method"]):
        assert sorted(rows["fold"]) == ["0", "1", "2", "3"]
        assert rows["config"].nunique() == 1 and rows["lam_tilde"].nunique() == 1
        best = val if method == "laplace" else ok[(ok["split"] == "val") & (ok["method"] == method)]
        best = best[best["dataset"] == dataset]
        assert rows["lam_tilde"].iloc[0] in set(best["lam_tilde"])
    assert "honest" in result.output and "P90" in result.output
    assert "ORACLE" not in result.output
    # The skipped data sets add no method to the summaries (no empty "|  |" row).
    summary = pd.read_csv(out / "summary.csv", keep_default_na=False)
    assert "" not in set(summary["method"]) and "|  |" not in (out / "summary.md").read_text()
    plotted = CliRunner().invoke(main, ["plot", str(out), "--format", "png", "--reference",
                                        str(SHARED / "delgado2014_results.txt")])
    assert plotted.exit_code == 0, plotted.output
    assert "|  |" not in (out / "uci_summary.md").read_text()
    assert len(pd.read_csv(out / "uci_summary_arora.csv")) == 2 + 179


@needs_data
def test_uci_kare_protocol_chooses_by_kare_on_all_the_training_data(tmp_path):
    grid = _grid(tmp_path, methods=["laplace", "network"], network=TINY_NET,
                 laplace={"bandwidth": [1.0, 10.0]}, lam_tilde=[1e-3, 1e-1])
    out = tmp_path / "kare"
    result = CliRunner().invoke(main, ["bench", "uci", "--data-dir", str(UCI), "--grid", grid,
                                       "--datasets", "balloons", "--protocol", "kare",
                                       "--out", str(out)])
    assert result.exit_code == 0, result.output
    table = read_results(out)
    assert set(table["split"]) == {"test"} and set(table["protocol"]) == {"kare"}
    assert sorted(table["fold"].unique()) == ["0", "1", "2", "3"]  # no validation half
    from kernelkit.data.uci import load_uci

    ds = load_uci(str(UCI), "balloons")
    assert set(table["n_train"]) == {len(ds.folds[f][0]) for f in range(4)}  # whole folds train
    lap = table[table["method"] == "laplace"]
    assert len(lap) == 4 * 2 * 2  # every fold x bandwidth x lam_tilde
    chosen = pd.read_csv(out / "selection_kare.csv", dtype={"fold": str})
    for (method, fold), row in chosen.set_index(["method", "fold"]).iterrows():
        if method == "laplace":  # oracle: the row of that fold with the smallest KARE
            rows = lap[lap["fold"] == fold]
            best = rows.loc[rows["kare"].idxmin()]
            assert (row["config"], row["lam_tilde"], row["accuracy"]) == (
                best["config"], best["lam_tilde"], best["value"])
            assert row["chosen_by"] == "KARE"
        if method == "dnn":
            assert row["chosen_by"] == "KARE of the after-training NTK"
    assert set(chosen["method"]) == {"laplace", "dnn", "after-ntk"}
    assert "no validation" in result.output and "compute" in result.output


@needs_data
def test_uci_kare_halving_keeps_the_best_third_by_kare_and_ends_with_the_full_training(tmp_path):
    ntk = {**TINY_NTK, "epochs": 9, "learning_rate": [0.1, 1.0, 10.0, 100.0]}
    grid = _grid(tmp_path, methods=["ntk-kare", "laplace"], **{"ntk-kare": ntk},
                 laplace={"bandwidth": [1.0]}, lam_tilde=[1e-3, 1e-1])
    common = ["bench", "uci", "--data-dir", str(UCI), "--grid", grid, "--datasets",
              "balloons", "--protocol", "kare", "-q"]
    refused = CliRunner().invoke(main, common[:-3] + ["--halving", "--out", str(tmp_path / "x")])
    assert refused.exit_code == 2 and "--protocol kare" in refused.output
    out = tmp_path / "halving"
    result = CliRunner().invoke(main, common + ["--halving", "--out", str(out)])
    assert result.exit_code == 0, result.output
    table = read_results(out)
    ntk_rows = table[table["method"] == "ntk-kare"]
    assert table.loc[table["method"] == "laplace", "rung"].isna().all()  # not halved
    for fold, rows in ntk_rows.groupby("fold"):
        epochs = {r: {json.loads(c)["epochs"] for c in g["config"]}
                  for r, g in rows.groupby("rung")}
        assert epochs == {0: {1}, 1: {3}, 2: {9}}
        lr = {r: [json.loads(c)["learning_rate"] for c in g["config"].unique()]
              for r, g in rows.groupby("rung")}
        assert len(lr[0]) == 4 and len(lr[1]) == 2 and len(lr[2]) == 1
        for rung in (1, 2):  # oracle: the previous rung's best ceil(n / 3) by min-lam KARE
            prev = rows[(rows["rung"] == rung - 1) & (rows["status"] == "ok")]
            score = {json.loads(c)["learning_rate"]: g["kare"].min()
                     for c, g in prev.groupby("config")}
            best = sorted(score, key=lambda k: score[k])[:-(-len(score) // 3)]
            assert sorted(lr[rung]) == sorted(best)
    chosen = pd.read_csv(out / "selection_kare.csv", dtype={"fold": str})
    for _, row in chosen[chosen["method"] == "ntk-kare"].iterrows():
        last = ntk_rows[(ntk_rows["fold"] == row["fold"]) & (ntk_rows["rung"] == 2)]
        assert row["rung"] == 2 and row["kare"] == last["kare"].min()
    record = pd.read_csv(out / "halving_kare.csv", dtype={"fold": str})
    assert len(record) == 4 * 4 and sorted(record["rung"].value_counts()) == [4, 4, 8]
    assert "successive halving" in result.output
    # The last rung is the full training: exactly the unhalved configuration (the same
    # unit as --protocol kare without halving runs, so the same rows).
    from kernelkit.benchmarks.grids import configs

    unhalved = {json.dumps(c, sort_keys=True) for c in configs(ntk)}
    assert set(ntk_rows.loc[ntk_rows["rung"] == 2, "config"]) <= unhalved


@needs_data
@pytest.mark.parametrize("suite", ["mnist", "higgs"])
def test_image_suites_tiny(tmp_path, suite):
    grid = _grid(tmp_path, seeds=1, n_train=30, n_test=30,
                 **{"ntk-kare": TINY_NTK, "network": TINY_NET}, lam_tilde=[1e-1, 10.0])
    out = tmp_path / suite
    result = CliRunner().invoke(main, ["bench", suite, "--data-dir", str(SHARED / suite),
                                       "--grid", grid, "--out", str(out), "-q"])
    assert result.exit_code == 0, result.output
    table = read_results(out)
    assert (table["status"] == "ok").all() and set(table["d"]) == {576 if suite == "mnist" else 30}
    assert set(table["setting"]) == {"depth=1, width=8"}


def test_resume_after_kill_loses_and_repeats_nothing(tmp_path):
    grid = _synthetic_grid(tmp_path, settings=([1.0, 0.0], [1.25, 0.1]), seeds=3, n=40)
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "kernelkit.cli.main", "bench", "synthetic", "--grid", grid,
           "--out", str(out), "-q"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 300
    journal = out / JOURNAL
    while time.time() < deadline and proc.poll() is None:
        if journal.exists() and len(_journal_lines(out)) >= 3:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the run finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = _journal_lines(out)
    assert 3 <= len(before) < 12
    done = subprocess.run(cmd + ["--resume"], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    after = _journal_lines(out)
    assert after[:len(before)] == before                      # nothing finished was lost
    keys = [json.loads(line)["key"] for line in after]
    assert len(keys) == len(set(keys)) == 2 * 3 * 2           # nothing repeated, all done
    table = read_results(out)
    assert len(table) == 2 * 3 * 7
    assert not table.duplicated(["setting", "method", "seed", "lam_tilde"]).any()


def test_plot_command_writes_figures(tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "run"
    assert CliRunner().invoke(main, ["bench", "synthetic", "--grid", _synthetic_grid(tmp_path),
                                     "--out", str(out), "-q"]).exit_code == 0
    result = CliRunner().invoke(main, ["plot", str(out)])
    assert result.exit_code == 0, result.output
    paths = [pathlib.Path(p) for p in result.output.split()]
    assert {p.suffix for p in paths} == {".png", ".pdf"}
    assert all(p.exists() and p.stat().st_size > 1000 for p in paths)
    missing = CliRunner().invoke(main, ["plot", str(tmp_path / "nothing")])
    assert missing.exit_code == 2
    empty = tmp_path / "empty"
    empty.mkdir()
    assert CliRunner().invoke(main, ["plot", str(empty)]).exit_code == 1


def test_results_table_columns(tmp_path):
    out = tmp_path / "cols"
    assert CliRunner().invoke(main, ["bench", "synthetic", "--grid", _synthetic_grid(tmp_path),
                                     "--out", str(out), "-q"]).exit_code == 0
    table = pd.read_csv(out / "results.csv")
    for col in ("suite", "dataset", "fold", "method", "config", "lam_tilde", "seed", "metric",
                "value", "n_train", "n_test", "d", "classes", "fit_time_s", "peak_mem_mb",
                "status", "reason", "unit_id", "engine", "host", "device", "solver", "mem_measure"):
        assert col in table.columns
    assert (table["fit_time_s"] > 0).all()
    # In-process units: the growth of resident memory during the unit (may be 0).
    assert (table["peak_mem_mb"] >= 0).all() and set(table["mem_measure"]) == {"in-process-growth"}
    assert table["unit_id"].str.len().eq(16).all() and set(table["engine"]) == {"local"}
    # n = 30 < P = 769: "auto" takes the dense path for KARE and for KRR.
    kernel_rows = table[table["method"] != "dnn"]
    assert set(kernel_rows["solver"]) == {"dense"}
    # Suspect-fit checks (kernelkit.benchmarks.suspect) on every kernel row, none on the DNN's.
    checks = ["train_mse", "train_mean_mse", "kare", "heldout_mse", "heldout_mean_mse"]
    assert kernel_rows[checks].notna().all().all() and "suspect" in table.columns
    assert table.loc[table["method"] == "dnn", checks].isna().all().all()
    assert np.allclose(kernel_rows["heldout_mse"], kernel_rows["value"], rtol=1e-9)
    from kernelkit.data.synthetic import make_synthetic

    X, y, Xt, yt = make_synthetic(n_train=30, n_test=30, d=10, gamma=1.0, sigma=0.0, seed=0)
    assert np.allclose(kernel_rows["train_mean_mse"], np.var(y), rtol=1e-9)
    assert np.allclose(kernel_rows["heldout_mean_mse"], np.mean((yt - y.mean()) ** 2), rtol=1e-9)


def test_solver_option_is_recorded_in_rows_and_run_record(tmp_path):
    out = tmp_path / "feat"
    result = CliRunner().invoke(main, ["bench", "synthetic", "--grid", _synthetic_grid(tmp_path),
                                       "--solver", "features", "--out", str(out), "-q"])
    assert result.exit_code == 0, result.output
    table = read_results(out)
    assert set(table.loc[table["method"] != "dnn", "solver"]) == {"features"}
    assert (table["status"] == "ok").all()
    assert all('"solver": "features"' in c for c in table["config"])
    assert json.loads((out / "run.json").read_text())["options"]["solver"] == "features"


def test_workers_give_the_same_results_as_one_process(tmp_path):
    grid = _synthetic_grid(tmp_path, settings=([1.0, 0.0], [1.5, 0.1]), seeds=1)
    tables = []
    for workers in (1, 2):
        out = tmp_path / f"w{workers}"
        result = CliRunner().invoke(main, ["bench", "synthetic", "--grid", grid, "--out",
                                           str(out), "--workers", str(workers), "-q"])
        assert result.exit_code == 0, result.output
        table = read_results(out).sort_values(["setting", "method", "seed", "lam_tilde"])
        tables.append(table.reset_index(drop=True))
    cols = ["setting", "method", "seed", "lam_tilde", "status"]
    pd.testing.assert_frame_equal(tables[0][cols], tables[1][cols])
    assert (tables[0]["value"] - tables[1]["value"]).abs().max() < 1e-4 * tables[0]["value"].abs().max()


def test_each_suite_help_shows_its_own_grid_and_options():
    runner = CliRunner()
    helps = {s: runner.invoke(main, ["bench", s, "--help"]) for s in ("synthetic", "uci", "mnist")}
    assert all(r.exit_code == 0 for r in helps.values())
    uci, synthetic, mnist = helps["uci"].output, helps["synthetic"].output, helps["mnist"].output
    assert "--protocol" in uci and "--reference" in uci and "--datasets" in uci
    assert "laplace: bandwidth=10" in uci and "lam_tilde: 7 values, 0.0001 .. 100" in uci
    assert "--protocol" not in synthetic and "--data-dir" not in synthetic
    assert "settings (gamma, sigma) {(1, 0), (1, 0.1)}" in synthetic and "epochs=100" in synthetic
    assert "--data-dir" in mnist and "--protocol" not in mnist and "width={32, 64}" in mnist
    group = runner.invoke(main, ["bench", "--help"]).output
    assert all(s in group for s in ("synthetic", "uci", "mnist", "higgs")) and group != uci


def test_quick_synthetic_grid_is_figure_1_at_gamma_1():
    from kernelkit.benchmarks.grids import get_grid

    quick = get_grid("synthetic")
    assert quick["settings"] == [[1.0, 0.0], [1.0, 0.1]] and quick["seeds"] == 3
    assert quick["n_train"] == 1000 and quick["ntk-kare"]["epochs"] == 100
    assert quick["ntk-kare"]["learning_rate"] == [100.0] and quick["ntk-kare"]["z"] == 0.1
    # docs/grids/figure1-gamma1.json (the measured Figure 1 grid) is the quick grid at sigma 0.
    figure = get_grid("synthetic", pathlib.Path(__file__).parents[2] / "docs" / "grids"
                      / "figure1-gamma1.json")
    assert figure.pop("lam_tilde") == pytest.approx(quick.pop("lam_tilde"), rel=1e-12)
    assert figure == {**quick, "settings": [[1.0, 0.0]]}
    assert len(get_grid("synthetic", "paper")["settings"]) == 6


def test_readme_mentions_the_example_command():
    readme = (pathlib.Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    assert "kernelkit example" in readme
