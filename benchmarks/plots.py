"""Figures of the benchmark results (matplotlib, imported only when plotting).

:func:`plot_results` reads the benchmark runner's long results and writes,
for each suite present:

* ``synthetic`` / ``mnist`` / ``higgs``: ``<suite>_mse.<fmt>``, one panel per
  ``setting``: test MSE against ``lam_tilde`` (log scale), mean over seeds
  with a +-1 std band, one line per method that has a ``lam_tilde``; methods
  without one (the DNN) as a dashed horizontal line with its band (the
  layout of the paper's Figures 1 and 2).
* ``uci``: ``uci_profile_<protocol>.<fmt>``, the accuracy profile (fraction of
  data sets on which a method reaches ``t`` x the best accuracy, for ``t`` in
  [0.5, 1]), and the summary metrics in ``uci_summary.md`` and
  ``uci_summary_<protocol>.csv``.

Figures are drawn on matplotlib's Agg canvas without touching pyplot's global
state. matplotlib is an optional dependency: ``pip install "kernelkit[plots]"``.
"""

from __future__ import annotations

import math
import os
import textwrap
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kernelkit.benchmarks.uci_metrics import (
    PROTOCOLS,
    SOURCE_KERNELKIT,
    SOURCE_REFERENCE,
    accuracy_profile,
    format_markdown,
    joined_accuracy_table,
    relative_accuracy,
    uci_accuracy_table,
    uci_metrics,
)
from kernelkit.errors import InputError

MSE_SUITES = ("synthetic", "mnist", "higgs")
_PANEL_COLUMNS = 3
_N_REFERENCE_CURVES = 5
_PROTOCOL_TITLES = {
    "arora": "protocol 'arora': configuration selected on the validation half, "
    "mean accuracy over the 4 test folds",
    "paper": "protocol 'paper': ORACLE, best accuracy over the whole grid on the "
    "validation half (not an honest estimate)",
}
#: Thresholds of the drawn accuracy profile (fine enough to look exact).
_PROFILE_THRESHOLDS = np.linspace(0.5, 1.0, 1001)
_PROTOCOL_SPLITS = {"arora": "test", "paper": "val"}
_STR_COLUMNS = ("suite", "protocol", "dataset", "setting", "fold", "split", "method",
                "config", "metric", "status", "reason")


def plot_results(
    results: pd.DataFrame | str | os.PathLike,
    out_dir: str | os.PathLike,
    formats: Sequence[str] = ("png", "pdf"),
    reference: pd.DataFrame | str | os.PathLike | None = None,
    protocols: Sequence[str] | None = None,
) -> list[Path]:
    """Write the figures (and the UCI summary tables) of every suite in the results.

    Args:
        results: Long results frame, or the path of its CSV file.
        out_dir: Folder to write into (created if needed).
        formats: Image formats, e.g. ``("png", "pdf")``.
        reference: Reference accuracies for the UCI suite (a data set x
            classifier table, or the path of ``delgado2014_results.txt``);
            its classifiers enter the metrics and its 5 best (by Friedman
            rank) are drawn in the accuracy profile.
        protocols: UCI protocols to report (default: each of ``"arora"`` and
            ``"paper"`` whose split is present in the results).

    Returns:
        The paths written, in order.

    Raises:
        ImportError: matplotlib is not installed.

    Example:
        >>> from kernelkit.benchmarks.plots import plot_results
        >>> paths = plot_results("results.csv", "figures", formats=("png",))  # doctest: +SKIP
        >>> [p.name for p in paths]  # doctest: +SKIP
        ['synthetic_mse.png']
    """
    _require_matplotlib()
    frame = _load_results(results)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for suite in dict.fromkeys(frame["suite"]):
        rows = frame[frame["suite"] == suite]
        if suite == "uci":
            ref = _load_reference(reference)
            written += _plot_uci(rows, out, formats, ref, protocols)
        elif suite in MSE_SUITES:
            written += _plot_mse_suite(rows, suite, out, formats)
        else:
            warnings.warn(f"no plot is defined for suite {suite!r}; skipped", stacklevel=2)
    return written


def _require_matplotlib() -> Any:
    try:
        import matplotlib
    except ImportError as exc:
        raise ImportError(
            'plotting needs matplotlib, which is not installed: pip install "kernelkit[plots]"'
        ) from exc
    return matplotlib


def _new_figure(nrows: int, ncols: int, panel_size: tuple[float, float]) -> tuple[Any, Any]:
    """A figure on an Agg canvas (no pyplot, no global backend change) and its axes grid."""
    _require_matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(panel_size[0] * ncols, panel_size[1] * nrows), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    return fig, axes


def _save(fig: Any, out: Path, stem: str, formats: Sequence[str]) -> list[Path]:
    paths = []
    for fmt in formats:
        path = out / f"{stem}.{fmt}"
        fig.savefig(path, format=fmt, dpi=120)
        paths.append(path)
    return paths


def _load_results(results: pd.DataFrame | str | os.PathLike) -> pd.DataFrame:
    if isinstance(results, pd.DataFrame):
        frame = results.copy()
    else:
        frame = pd.read_csv(results, dtype={c: str for c in _STR_COLUMNS})
    for col in set(_STR_COLUMNS) & set(frame.columns):
        frame[col] = frame[col].fillna("").astype(str)
    if "suite" not in frame.columns:
        raise InputError("results lack the 'suite' column")
    return frame


def _load_reference(reference: pd.DataFrame | str | os.PathLike | None) -> pd.DataFrame | None:
    if reference is None or isinstance(reference, pd.DataFrame):
        return reference
    from kernelkit.data.delgado import load_delgado

    return load_delgado(reference)


# --- synthetic / mnist / higgs: test MSE against lam_tilde ------------------------------


def _series(results: pd.DataFrame) -> pd.DataFrame:
    """The plotted points: test MSE per (setting, method, config, lam_tilde).

    Reads rows with ``split == "test"``, ``metric == "mse"`` and
    ``status == "ok"``; ``lam_tilde`` is NaN for methods without one.

    Args:
        results: Long results frame of one suite.

    Returns:
        DataFrame with columns ``setting``, ``method``, ``config``,
        ``lam_tilde``, ``mean``, ``std`` (sample std over the rows, i.e. the
        seeds; NaN for a single row) and ``n``; lines in order of first
        appearance, points by increasing ``lam_tilde`` (NaN last).

    Example:
        >>> import pandas as pd
        >>> from kernelkit.benchmarks.plots import _series
        >>> rows = pd.DataFrame(dict(setting="s", method="ntk-kare", config="{}",
        ...     lam_tilde=0.1, split="test", metric="mse", status="ok", seed=[0, 1],
        ...     value=[1.0, 3.0]))
        >>> _series(rows)[["mean", "n"]].values.tolist()
        [[2.0, 2.0]]
    """
    ok = results[
        (results["split"] == "test") & (results["metric"] == "mse") & (results["status"] == "ok")
    ]
    keys = ["setting", "method", "config", "lam_tilde"]
    grouped = ok.groupby(keys, sort=False, dropna=False)["value"]
    series = grouped.agg(mean="mean", std="std", n="count").reset_index()
    return series.sort_values(keys, key=_appearance_order, kind="stable", ignore_index=True)


def _appearance_order(column: pd.Series) -> pd.Series:
    """Sort key: numbers by value, labels by order of first appearance."""
    if column.name == "lam_tilde":
        return column
    return pd.Series(pd.factorize(column)[0], index=column.index)


def _line_labels(series: pd.DataFrame) -> pd.Series:
    """Legend label of each (setting, method, config): the method, plus the config if needed."""
    n_configs = series.groupby(["setting", "method"])["config"].transform("nunique")
    compact = series["config"].str.replace(r'[{}" ]', "", regex=True)
    return series["method"].where(n_configs <= 1, series["method"] + " " + compact)


def _plot_mse_suite(
    results: pd.DataFrame, suite: str, out: Path, formats: Sequence[str]
) -> list[Path]:
    series = _series(results)
    if series.empty:
        warnings.warn(f"suite {suite!r}: no ok test-MSE rows; no figure", stacklevel=3)
        return []
    series = series.assign(label=_line_labels(series))
    settings = list(dict.fromkeys(series["setting"]))
    colors = _colors(list(dict.fromkeys(series["label"])))
    ncols = min(_PANEL_COLUMNS, len(settings))
    fig, axes = _new_figure(math.ceil(len(settings) / ncols), ncols, (4.2, 3.2))
    for ax, setting in zip(axes.flat, settings):
        _draw_mse_panel(ax, series[series["setting"] == setting], colors)
        ax.set_title(setting)
    for ax in list(axes.flat)[len(settings):]:
        ax.set_visible(False)
    handles, labels = _unique_legend(axes)
    fig.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 6))
    fig.suptitle(f"{suite}: test MSE against λ̃ (mean ± 1 std over seeds)")
    return _save(fig, out, f"{suite}_mse", formats)


def _draw_mse_panel(ax: Any, panel: pd.DataFrame, colors: dict[str, Any]) -> None:
    swept = panel[panel["lam_tilde"].notna()]
    for label, line in swept.groupby("label", sort=False):
        x, m, s = line["lam_tilde"], line["mean"], line["std"].fillna(0.0)
        ax.plot(x, m, marker="o", ms=3, color=colors[label], label=label)
        ax.fill_between(x, m - s, m + s, color=colors[label], alpha=0.2, lw=0)
    for label, flat in panel[panel["lam_tilde"].isna()].groupby("label", sort=False):
        m, s = float(flat["mean"].iloc[0]), float(np.nan_to_num(flat["std"].iloc[0]))
        ax.axhline(m, ls="--", color=colors[label], label=label)
        ax.axhspan(m - s, m + s, color=colors[label], alpha=0.12, lw=0)
    if not swept.empty:
        ax.set_xscale("log")
    ax.set_xlabel("λ̃ (lam_tilde)")
    ax.set_ylabel("test MSE")
    ax.grid(True, which="major", alpha=0.3)


def _colors(labels: list[str]) -> dict[str, Any]:
    from matplotlib import colormaps

    cmap = colormaps["tab10" if len(labels) <= 10 else "tab20"]
    return {label: cmap(i % cmap.N) for i, label in enumerate(labels)}


def _unique_legend(axes: Any) -> tuple[list[Any], list[str]]:
    seen: dict[str, Any] = {}
    for ax in axes.flat:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            seen.setdefault(label, handle)
    return list(seen.values()), list(seen.keys())


# --- uci: accuracy profile and summary table -------------------------------------------


def _plot_uci(
    results: pd.DataFrame,
    out: Path,
    formats: Sequence[str],
    reference: pd.DataFrame | None,
    protocols: Sequence[str] | None,
) -> list[Path]:
    if protocols is None:
        protocols = [p for p in PROTOCOLS if (results["split"] == _PROTOCOL_SPLITS[p]).any()]
    written: list[Path] = []
    sections = []
    for protocol in protocols:
        acc = uci_accuracy_table(results, protocol)
        if acc.notna().sum().sum() == 0:
            warnings.warn(f"uci, protocol {protocol!r}: no ok accuracy; skipped", stacklevel=3)
            continue
        metrics = uci_metrics(acc, reference)
        written += _plot_profile(acc, reference, metrics, protocol, out, formats)
        csv_path = out / f"uci_summary_{protocol}.csv"
        metrics.to_csv(csv_path)
        written.append(csv_path)
        sections.append(_summary_section(metrics, protocol))
    if sections:
        md_path = out / "uci_summary.md"
        md_path.write_text("# UCI summary\n\n" + "\n".join(sections), encoding="utf-8")
        written.append(md_path)
    return written


def _profile_curves(
    acc: pd.DataFrame, reference: pd.DataFrame | None, metrics: pd.DataFrame
) -> pd.DataFrame:
    """Accuracy profile (thresholds 0.5..1) of kernelkit's methods and the best references."""
    table, _ = joined_accuracy_table(acc, reference)
    profile = accuracy_profile(relative_accuracy(table), _PROFILE_THRESHOLDS)
    top_reference = metrics.index[metrics["source"] == SOURCE_REFERENCE][:_N_REFERENCE_CURVES]
    return profile[list(acc.columns) + list(top_reference)]


def _plot_profile(
    acc: pd.DataFrame,
    reference: pd.DataFrame | None,
    metrics: pd.DataFrame,
    protocol: str,
    out: Path,
    formats: Sequence[str],
) -> list[Path]:
    curves = _profile_curves(acc, reference, metrics)
    colors = _colors(list(curves.columns))
    fig, axes = _new_figure(1, 1, (7.5, 5.0))
    ax = axes[0, 0]
    for method in curves.columns:
        is_ours = metrics.loc[method, "source"] == SOURCE_KERNELKIT
        ax.plot(curves.index, 100.0 * curves[method], drawstyle="steps-pre", color=colors[method],
                lw=2.0 if is_ours else 1.0, ls="-" if is_ours else ":",
                label=method if is_ours else f"{method} (Fernández-Delgado)")
    ax.set_xlabel("t (fraction of the best accuracy on each data set)")
    ax.set_ylabel("% of data sets with accuracy ≥ t × best")
    ax.set_xlim(0.5, 1.0)
    ax.set_ylim(-2, 102)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower left", fontsize="small")
    n = len(metrics.attrs["datasets"])
    title = f"uci: accuracy profile over {n} data sets; {_PROTOCOL_TITLES[protocol]}"
    fig.suptitle(textwrap.fill(title, 90), fontsize="medium")
    return _save(fig, out, f"uci_profile_{protocol}", formats)


def _summary_section(metrics: pd.DataFrame, protocol: str) -> str:
    datasets = metrics.attrs["datasets"]
    ours = metrics[metrics["source"] == SOURCE_KERNELKIT]
    best_refs = metrics[metrics["source"] == SOURCE_REFERENCE].head(_N_REFERENCE_CURVES)
    shown = metrics.loc[metrics.index.isin(ours.index.union(best_refs.index))]
    return (
        f"## Protocol `{protocol}`\n\n{_PROTOCOL_TITLES[protocol]}.\n\n"
        f"{len(datasets)} data sets compared. Metrics of kernelkit's methods and of the "
        f"{len(best_refs)} best reference classifiers by Friedman rank (the full table, "
        f"all {len(metrics)} methods, is in `uci_summary_{protocol}.csv`); definitions in "
        "`docs/metrics.md`.\n\n"
        + format_markdown(shown)
        + "\nData sets: "
        + ", ".join(datasets)
        + "\n"
    )
