"""Figures of the benchmark results (matplotlib, imported only when plotting).

:func:`plot_results` reads the benchmark runner's long results and writes,
for each suite present:

* ``synthetic`` / ``mnist`` / ``higgs``: ``<suite>_mse.<fmt>``, one panel per
  ``setting``: test MSE against ``lam_tilde``, both axes logarithmic, mean
  over seeds with a +-1 std band, one line per method that has a
  ``lam_tilde``; methods without one (the DNN) as a dashed horizontal line
  with its band (the layout of the paper's Figures 1 and 2). A band's lower
  edge is clipped at half the smallest mean of its panel (an MSE is
  positive; ``mean - std`` may not be), and the title says so.
* ``uci``: ``uci_profile_<protocol>.<fmt>``, the accuracy profile (fraction of
  data sets on which a method reaches ``t`` x the best accuracy), ``t`` from
  just below the lowest relative accuracy of the drawn curves to 1, with
  NTK-KARE drawn last, thickest and in a strong colour; and the summary
  metrics in ``uci_summary.md`` and ``uci_summary_<protocol>.csv``.

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
from kernelkit.benchmarks.suspect import is_suspect
from kernelkit.errors import InputError

MSE_SUITES = ("synthetic", "mnist", "higgs")
_PANEL_COLUMNS = 3
_N_REFERENCE_CURVES = 5
_PROTOCOL_TITLES = {
    "arora": "protocol 'arora': configuration selected on the validation half, "
    "mean accuracy over the 4 test folds",
    "kare": "protocol 'kare': configuration and lam_tilde chosen by their KARE on the "
    "training data (no validation split), mean accuracy over the 4 test folds",
    "paper": "protocol 'paper': ORACLE, best accuracy over the whole grid on the "
    "validation half (not an honest estimate)",
}
#: Points of the drawn accuracy profile (fine enough to look exact).
_PROFILE_POINTS = 1001
#: The headline method, drawn last and emphasised in the accuracy profile.
_HEADLINE = "ntk-kare"
_HEADLINE_COLOR = "#c00000"
_PROTOCOL_SPLITS = {"arora": "test", "paper": "val", "kare": "test"}
_SUSPECT_LABEL = "× suspect fit among the seeds"
_STR_COLUMNS = ("suite", "protocol", "dataset", "setting", "fold", "split", "method",
                "config", "metric", "status", "reason", "suspect")


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
        seeds; NaN for a single row), ``n`` and ``suspect`` (how many of those
        rows belong to a fit flagged suspect); lines in order of first
        appearance, points by increasing ``lam_tilde`` (NaN last).

    Example:
        >>> import pandas as pd
        >>> from kernelkit.benchmarks.plots import _series
        >>> rows = pd.DataFrame(dict(setting="s", method="ntk-kare", config="{}",
        ...     lam_tilde=0.1, split="test", metric="mse", status="ok", seed=[0, 1],
        ...     value=[1.0, 3.0]))
        >>> _series(rows)[["mean", "n", "suspect"]].values.tolist()
        [[2.0, 2.0, 0.0]]
    """
    ok = results[
        (results["split"] == "test") & (results["metric"] == "mse") & (results["status"] == "ok")
    ]
    keys = ["setting", "method", "config", "lam_tilde"]
    flagged = is_suspect(ok["suspect"]) if "suspect" in ok else np.zeros(len(ok), bool)
    ok = ok.assign(_suspect=flagged.astype(int))
    grouped = ok.groupby(keys, sort=False, dropna=False)
    series = grouped["value"].agg(mean="mean", std="std", n="count")
    series["suspect"] = grouped["_suspect"].sum()
    series = series.reset_index()
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
    return _save(_mse_figure(series, suite), out, f"{suite}_mse", formats)


def _mse_figure(series: pd.DataFrame, suite: str) -> Any:
    """The figure of one MSE suite: a panel per setting, log-log, bands clipped above 0."""
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
    _fitted_suptitle(fig, f"{suite}: test MSE against λ̃ (mean ± 1 std over seeds; log axes, "
                          "bands clipped at half the smallest mean)")
    return fig


def _fitted_suptitle(fig: Any, title: str) -> None:
    """A figure title wrapped to the figure's width (never clipped at its edges)."""
    chars = max(30, int(fig.get_figwidth() * 11))
    fig.suptitle(textwrap.fill(title, chars), fontsize="medium")


def _draw_mse_panel(ax: Any, panel: pd.DataFrame, colors: dict[str, Any]) -> None:
    means = panel["mean"][panel["mean"] > 0]
    floor = 0.5 * float(means.min()) if len(means) else 1e-12
    swept = panel[panel["lam_tilde"].notna()]
    for label, line in swept.groupby("label", sort=False):
        x, m, s = line["lam_tilde"], line["mean"], line["std"].fillna(0.0)
        ax.plot(x, m, marker="o", ms=3, color=colors[label], label=label)
        ax.fill_between(x, np.maximum(m - s, floor), m + s, color=colors[label], alpha=0.2,
                        lw=0)
        bad = line[line["suspect"] > 0]
        if not bad.empty:  # a point some of whose seeds' fits are flagged suspect
            ax.plot(bad["lam_tilde"], bad["mean"], ls="none", marker="x", ms=7, mew=1.5,
                    color="black", zorder=5, label=_SUSPECT_LABEL)
    for label, flat in panel[panel["lam_tilde"].isna()].groupby("label", sort=False):
        m, s = float(flat["mean"].iloc[0]), float(np.nan_to_num(flat["std"].iloc[0]))
        ax.axhline(m, ls="--", color=colors[label], label=label)
        ax.axhspan(max(m - s, floor), m + s, color=colors[label], alpha=0.12, lw=0)
    if not swept.empty:
        ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("λ̃ (lam_tilde)")
    ax.set_ylabel("test MSE")
    ax.grid(True, which="major", alpha=0.3)


def _colors(labels: list[str], avoid_red: bool = False) -> dict[str, Any]:
    """A colour per label (tab10, or tab20 past 10 labels).

    ``avoid_red`` cycles through tab10 without its red, which is left to the
    headline method (line styles tell repeated colours apart).
    """
    from matplotlib import colormaps

    cmap = colormaps["tab10" if len(labels) <= 10 or avoid_red else "tab20"]
    palette = [cmap(i) for i in range(cmap.N)]
    if avoid_red:
        palette = [c for c in palette if not (c[0] > 0.75 and c[1] < 0.35 and c[2] < 0.35)]
    return {label: palette[i % len(palette)] for i, label in enumerate(labels)}


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
        kare = (results["protocol"].fillna("") == "kare") if "protocol" in results else \
            pd.Series(False, index=results.index)
        present = {"arora": ((results["split"] == "test") & ~kare).any(),
                   "paper": (results["split"] == "val").any(), "kare": kare.any()}
        protocols = [p for p in PROTOCOLS if present[p]]
    written: list[Path] = []
    sections = []
    for protocol in protocols:
        acc = uci_accuracy_table(results, protocol)
        if acc.notna().sum().sum() == 0:
            warnings.warn(f"uci, protocol {protocol!r}: no ok accuracy; skipped", stacklevel=3)
            continue
        metrics = uci_metrics(acc, reference)
        metrics.attrs["suspect"] = _suspect_counts(results, protocol)
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
    """Accuracy profile of kernelkit's methods and the best references, ``t`` fitted to them.

    ``t`` runs from 0.01 below the lowest relative accuracy of the drawn
    methods (rounded down to a multiple of 0.01, at least 0) to 1.
    """
    table, _ = joined_accuracy_table(acc, reference)
    rel = relative_accuracy(table)
    top_reference = metrics.index[metrics["source"] == SOURCE_REFERENCE][:_N_REFERENCE_CURVES]
    drawn = list(acc.columns) + list(top_reference)
    lowest = float(np.nanmin(rel[drawn].to_numpy(dtype=float)))
    start = min(max(math.floor(100 * lowest - 1) / 100, 0.0), 0.99)
    thresholds = np.linspace(start, 1.0, _PROFILE_POINTS)
    return accuracy_profile(rel[drawn], thresholds)


def _plot_profile(
    acc: pd.DataFrame,
    reference: pd.DataFrame | None,
    metrics: pd.DataFrame,
    protocol: str,
    out: Path,
    formats: Sequence[str],
) -> list[Path]:
    fig = _profile_figure(_profile_curves(acc, reference, metrics), metrics, protocol)
    return _save(fig, out, f"uci_profile_{protocol}", formats)


def _profile_figure(curves: pd.DataFrame, metrics: pd.DataFrame, protocol: str) -> Any:
    """The accuracy-profile figure; the headline method (NTK-KARE) last, thick, strong red."""
    order = [m for m in curves.columns if m != _HEADLINE] + (
        [_HEADLINE] if _HEADLINE in curves.columns else [])
    colors = _colors([m for m in order if m != _HEADLINE], avoid_red=True)
    fig, axes = _new_figure(1, 1, (7.5, 5.0))
    ax = axes[0, 0]
    for z, method in enumerate(order, start=2):
        is_ours = metrics.loc[method, "source"] == SOURCE_KERNELKIT
        style = {"color": colors.get(method), "lw": 1.6 if is_ours else 1.0,
                 "ls": "-" if is_ours else ":", "alpha": 0.9}
        if method == _HEADLINE:
            style = {"color": _HEADLINE_COLOR, "lw": 3.0, "ls": "-", "alpha": 1.0}
        flagged = metrics.attrs.get("suspect", {}).get(method, 0)
        label = (f"{method} ({flagged} suspect fits)" if flagged else method) if is_ours \
            else f"{method} (Fernández-Delgado)"
        ax.plot(curves.index, 100.0 * curves[method], drawstyle="steps-pre", zorder=z,
                label=label, **style)
    ax.set_xlabel("t (fraction of the best accuracy on each data set)")
    ax.set_ylabel("% of data sets with accuracy ≥ t × best")
    ax.set_xlim(float(curves.index[0]), 1.0)
    ax.set_ylim(-2, 102)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower left", fontsize="small")
    n = len(metrics.attrs["datasets"])
    _fitted_suptitle(fig, f"uci: accuracy profile over {n} data sets; "
                          f"{_PROTOCOL_TITLES[protocol]}")
    return fig


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
        + _suspect_line(metrics.attrs.get("suspect", {}))
        + "\nData sets: "
        + ", ".join(datasets)
        + "\n"
    )


def _suspect_counts(results: pd.DataFrame, protocol: str) -> dict[str, int]:
    """Flagged fits per method among the rows of the protocol's split (see `suspect`)."""
    from kernelkit.benchmarks.summary import suspect_summary

    rows = results[results["split"] == _PROTOCOL_SPLITS[protocol]]
    if "protocol" in rows and protocol != "paper":
        kare = rows["protocol"].fillna("") == "kare"
        rows = rows[kare] if protocol == "kare" else rows[~kare]
    summary = suspect_summary(rows)
    if summary.empty:
        return {}
    return {m: int(v) for m, v in zip(summary["method"], summary["suspect"]) if v}


def _suspect_line(counts: dict[str, int]) -> str:
    if not counts:
        return "\nSuspect kernel fits: none.\n"
    return ("\nSuspect kernel fits (the `suspect` column of the results says why): "
            + ", ".join(f"{m} {v}" for m, v in counts.items()) + ".\n")
