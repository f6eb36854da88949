"""Result figures: files written, and the plotted series checked against a groupby oracle."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kernelkit.benchmarks.plots import _series, plot_results

pytest.importorskip("matplotlib")

_DATA_ROOT = Path(os.environ.get("KERNELKIT_DATA", Path(__file__).parents[3] / "shared" / "data"))
DELGADO = _DATA_ROOT / "delgado2014_results.txt"

SETTINGS = [f"γ={g}, σ={s}" for g in (1, 3, 10) for s in (0, 0.5)]
LAMS = [1e-4, 1e-3, 1e-2, 1e-1, 1.0]
UCI_SETS = ["abalone", "iris", "wine", "zoo"]


def _base(**kw) -> dict:
    row = dict(
        suite="synthetic", protocol="", dataset="synthetic", setting="", fold="test",
        split="test", method="", config="{}", lam_tilde=np.nan, seed=0, metric="mse",
        value=np.nan, n_train=100, n_test=100, d=10, classes=0, fit_time_s=0.1,
        peak_mem_mb=1.0, status="ok", reason="",
    )
    row.update(kw)
    return row


def make_results(seed: int = 0) -> pd.DataFrame:
    """A small results frame: synthetic (6 settings) and uci (4 data sets, both protocols)."""
    rng = np.random.default_rng(seed)
    rows = []
    for k, setting in enumerate(SETTINGS):
        for s in range(3):
            for lam in LAMS:
                for method, offset in [("ntk-kare", 0.0), ("after-ntk", 0.05)]:
                    value = 0.1 * (1 + k) * (1 + np.log10(lam) ** 2 / 20) + offset
                    rows.append(_base(setting=setting, method=method, lam_tilde=lam, seed=s,
                                      value=value + 0.01 * rng.standard_normal()))
            rows.append(_base(setting=setting, method="dnn", seed=s,
                              value=0.12 * (1 + k) + 0.01 * rng.standard_normal()))
        rows.append(_base(setting=setting, method="ntk-kare", lam_tilde=1e-2, seed=9,
                          value=99.0, status="diverged"))
    for i, dataset in enumerate(UCI_SETS):
        for j, method in enumerate(["ntk-kare", "gaussian", "dnn"]):
            cfg = json.dumps({"depth": 1, "width": 64})
            lam = np.nan if method == "dnn" else 0.1
            for fold in "0123":
                rows.append(_base(suite="uci", protocol="arora", dataset=dataset, setting=dataset,
                                  fold=fold, split="test", method=method, config=cfg,
                                  lam_tilde=lam, metric="accuracy",
                                  value=0.6 + 0.1 * ((i + j) % 4) + 0.01 * int(fold)))
            for lam_val in [0.01, 0.1]:
                rows.append(_base(suite="uci", protocol="paper", dataset=dataset, setting=dataset,
                                  fold="val", split="val", method=method, config=cfg,
                                  lam_tilde=lam_val, metric="accuracy",
                                  value=0.65 + 0.1 * ((i + 2 * j) % 3) + lam_val))
    return pd.DataFrame(rows)


def _oracle_series(results: pd.DataFrame) -> dict:
    """(setting, method, lam_tilde or None) -> (mean, std, n), by an explicit loop."""
    out = {}
    ok = results[(results.split == "test") & (results.metric == "mse") & (results.status == "ok")]
    for (setting, method), grp in ok.groupby(["setting", "method"]):
        lams = grp["lam_tilde"].fillna(-1.0)
        for lam in sorted(set(lams)):
            values = grp.loc[lams == lam, "value"].to_numpy()
            std = values.std(ddof=1) if len(values) > 1 else np.nan
            key = (setting, method, None if lam == -1.0 else lam)
            out[key] = (values.mean(), std, len(values))
    return out


def test_series_matches_groupby_oracle():
    results = make_results()
    series = _series(results[results.suite == "synthetic"])
    oracle = _oracle_series(results[results.suite == "synthetic"])
    assert len(series) == len(oracle) == 6 * (2 * len(LAMS) + 1)
    for row in series.itertuples():
        lam = None if np.isnan(row.lam_tilde) else row.lam_tilde
        mean, std, n = oracle[(row.setting, row.method, lam)]
        assert row.mean == pytest.approx(mean) and row.n == n == 3
        assert row.std == pytest.approx(std)
    # settings in order of first appearance, lam_tilde increasing within a line
    assert list(dict.fromkeys(series["setting"])) == SETTINGS
    for _, line in series.dropna(subset=["lam_tilde"]).groupby(["setting", "method"]):
        assert line["lam_tilde"].is_monotonic_increasing


def test_plot_results_writes_files(tmp_path):
    paths = plot_results(make_results(), tmp_path, formats=("png", "pdf"))
    names = sorted(p.name for p in paths)
    assert names == sorted([
        "synthetic_mse.png", "synthetic_mse.pdf",
        "uci_profile_arora.png", "uci_profile_arora.pdf", "uci_summary_arora.csv",
        "uci_profile_paper.png", "uci_profile_paper.pdf", "uci_summary_paper.csv",
        "uci_summary.md",
    ])
    for path in paths:
        assert path.parent == tmp_path
        assert path.stat().st_size > (5000 if path.suffix in (".png", ".pdf") else 200)
        if path.suffix == ".png":
            assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        if path.suffix == ".pdf":
            assert path.read_bytes()[:5] == b"%PDF-"
    summary = (tmp_path / "uci_summary.md").read_text(encoding="utf-8")
    assert "ORACLE" in summary and "| method | source |" in summary
    csv = pd.read_csv(tmp_path / "uci_summary_arora.csv", index_col="method")
    assert set(csv.index) == {"ntk-kare", "gaussian", "dnn"}
    assert csv["friedman_rank"].is_monotonic_increasing


def test_plot_results_from_csv_with_reference(tmp_path):
    if not DELGADO.exists():
        pytest.skip(f"{DELGADO} not present")
    csv_path = tmp_path / "results.csv"
    results = make_results()
    results[results.suite == "uci"].to_csv(csv_path, index=False)
    out = tmp_path / "figs"
    paths = plot_results(csv_path, out, formats=("png",), reference=DELGADO, protocols=["arora"])
    expected = ["uci_profile_arora.png", "uci_summary_arora.csv", "uci_summary.md"]
    assert [p.name for p in paths] == expected
    csv = pd.read_csv(out / "uci_summary_arora.csv", index_col="method")
    assert len(csv) == 3 + 179 and (csv["n_datasets"] <= len(UCI_SETS)).all()
    assert "ORACLE" not in (out / "uci_summary.md").read_text(encoding="utf-8")


def test_missing_matplotlib_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r'pip install "kernelkit\[plots\]"'):
        plot_results(make_results(), tmp_path)


def test_modules_import_without_matplotlib():
    code = (
        "import sys; sys.modules['matplotlib'] = None\n"
        "import kernelkit.benchmarks.plots, kernelkit.benchmarks.uci_metrics\n"
        "import kernelkit.data.delgado\n"
        "frameworks = ('keras', 'jax', 'torch', 'tensorflow', 'matplotlib')\n"
        "loaded = [m for m, mod in sys.modules.items() if mod and m.split('.')[0] in frameworks]\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def _one_setting(std_over_mean: float) -> pd.DataFrame:
    """One setting whose spread is larger than its mean (a bad seed)."""
    rows = []
    for s, scale in enumerate([1.0, 1.0, 1.0 + 3 * std_over_mean]):
        for lam in LAMS:
            rows.append(_base(setting="gamma=1, sigma=0", method="ntk-kare", lam_tilde=lam,
                              seed=s, value=0.01 * scale))
        rows.append(_base(setting="gamma=1, sigma=0", method="dnn", seed=s, value=0.1 * scale))
    return pd.DataFrame(rows)


def test_mse_bands_stay_positive_on_a_log_axis():
    from kernelkit.benchmarks.plots import _mse_figure

    fig = _mse_figure(_series(_one_setting(3.0)), "synthetic")
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    bands = list(ax.collections) + list(ax.patches)  # fill_between; axhspan (the DNN)
    assert len(bands) == 2
    for band in bands:
        paths = band.get_paths() if hasattr(band, "get_paths") else [band.get_path()]
        for path in paths:
            shown = band.get_transform().transform(path.vertices)  # display coordinates
            y = ax.transData.inverted().transform(shown)[:, 1]
            assert (y > 0).all(), y.min()


def test_single_panel_title_fits_in_the_figure():
    from kernelkit.benchmarks.plots import _mse_figure

    fig = _mse_figure(_series(_one_setting(0.1)), "synthetic")
    fig.canvas.draw()
    box = fig._suptitle.get_window_extent()
    assert box.x0 >= 0 and box.x1 <= fig.bbox.width
    assert fig._suptitle.get_text().startswith("synthetic: test MSE")


def _narrow_uci(methods=("gaussian", "ntk-kare", "dnn")) -> pd.DataFrame:
    """Accuracies all within 93-100 %: relative accuracies >= 0.93."""
    rows = []
    for i, dataset in enumerate(UCI_SETS):
        for j, method in enumerate(methods):
            for fold in "0123":
                rows.append(_base(suite="uci", protocol="arora", dataset=dataset, setting=dataset,
                                  fold=fold, split="test", method=method, config="{}",
                                  lam_tilde=0.1, metric="accuracy",
                                  value=0.93 + 0.07 * ((i + j) % 3) / 2))
    return pd.DataFrame(rows)


def test_profile_fits_the_data_and_draws_ntk_kare_last_and_strongest():
    from kernelkit.benchmarks.plots import _profile_curves, _profile_figure
    from kernelkit.benchmarks.uci_metrics import uci_accuracy_table, uci_metrics

    acc = uci_accuracy_table(_narrow_uci(), "arora")
    metrics = uci_metrics(acc)
    fig = _profile_figure(_profile_curves(acc, None, metrics), metrics, "arora")
    ax = fig.axes[0]
    lo, hi = ax.get_xlim()
    assert 0.9 <= lo <= 0.93 and hi == 1.0
    lines = ax.get_lines()
    assert lines[-1].get_label() == "ntk-kare"
    assert lines[-1].get_zorder() == max(line.get_zorder() for line in lines)
    assert lines[-1].get_linewidth() > max(line.get_linewidth() for line in lines[:-1])
    from matplotlib.colors import to_rgb

    red = np.array(to_rgb(lines[-1].get_color()))
    assert all(np.abs(np.array(to_rgb(line.get_color())) - red).max() > 0.3 for line in lines[:-1])


def test_skipped_data_set_adds_no_row_to_the_uci_summary(tmp_path):
    results = make_results()
    skipped = _base(suite="uci", protocol="arora", dataset="broken", setting="broken", fold="",
                    split="", method="", metric="accuracy", status="skipped", reason="bad file")
    plot_results(pd.concat([results, pd.DataFrame([skipped])]), tmp_path, formats=("png",))
    assert "|  |" not in (tmp_path / "uci_summary.md").read_text(encoding="utf-8")
    csv = pd.read_csv(tmp_path / "uci_summary_arora.csv", index_col="method")
    assert set(csv.index) == {"ntk-kare", "gaussian", "dnn"}
