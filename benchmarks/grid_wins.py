"""Which parts of a grid win how often: the evidence to choose a smaller (``medium``) UCI grid from.

Usage::

    python -m kernelkit.benchmarks.grid_wins results/uci            # a run folder or file
    python -m kernelkit.benchmarks.grid_wins results/uci --split val --methods ntk-kare,network

For every (data set, method) it takes the configuration that protocol
``arora`` would choose (the best mean accuracy over seeds on the split, ties
to the first in row order) and counts, per grid entry (depth, width,
learning_rate, ...; lam_tilde too), how often each value is part of the
winner, and how much accuracy is lost on each data set when that value is
taken away (the best accuracy without it against the best with everything):
a value that wins rarely and whose removal costs little may go.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np
import pandas as pd


def winners(table: pd.DataFrame, split: str = "val") -> pd.DataFrame:
    """The winning configuration of every (data set, method) on ``split``, its entries as columns.

    Example:
        >>> import pandas as pd
        >>> from kernelkit.benchmarks.grid_wins import winners
        >>> rows = pd.DataFrame(dict(dataset="iris", method="rfm", split="val", seed=0,
        ...     status="ok", lam_tilde=0.1, config=['{"depth": 1}', '{"depth": 2}'],
        ...     value=[0.8, 0.9]))
        >>> winners(rows)["depth"].tolist()
        [2]
    """
    rows = table[(table["split"] == split) & (table["status"] == "ok")]
    mean = rows.groupby(["dataset", "method", "config", "lam_tilde"], sort=False,
                        dropna=False)["value"].mean().reset_index()
    best = mean.loc[mean.groupby(["dataset", "method"], sort=False)["value"].idxmax()]
    entries = pd.DataFrame([json.loads(c) for c in best["config"]], index=best.index)
    return pd.concat([best, entries], axis=1)


def _all_entries(table: pd.DataFrame, split: str) -> pd.DataFrame:
    rows = table[(table["split"] == split) & (table["status"] == "ok")]
    mean = rows.groupby(["dataset", "method", "config", "lam_tilde"], sort=False,
                        dropna=False)["value"].mean().reset_index()
    entries = pd.DataFrame([json.loads(c) for c in mean["config"]], index=mean.index)
    return pd.concat([mean, entries], axis=1)


def win_counts(table: pd.DataFrame, split: str = "val") -> pd.DataFrame:
    """Per (method, entry, value): wins, data sets, and the mean / worst accuracy lost without it.

    The loss of a value on a data set is the best accuracy over the grid minus
    the best accuracy over the configurations without that value (0 where it
    does not win), in accuracy points (%).
    """
    every = _all_entries(table, split)
    win = winners(table, split)
    keys = [c for c in every.columns if c not in ("dataset", "method", "config", "value")]
    out = []
    for method, group in every.groupby("method", sort=False):
        best = group.groupby("dataset")["value"].max()
        for key in (k for k in keys if group[k].nunique() > 1):  # the entries searched
            for value in group[key].dropna().unique():
                rest = group[group[key] != value].groupby("dataset")["value"].max()
                lost = 100.0 * (best - rest.reindex(best.index)).fillna(np.inf)
                wins = int((win[(win["method"] == method)][key] == value).sum())
                out.append({"method": method, "entry": key, "value": value, "wins": wins,
                            "datasets": len(best), "mean_loss_pts": float(lost.mean()),
                            "worst_loss_pts": float(lost.max())})
    return pd.DataFrame(out)


def main(argv: list[str] | None = None) -> int:
    from kernelkit.benchmarks.results import read_results

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", help="a results file or run folder")
    parser.add_argument("--split", default="val", help="split that chooses (default: val)")
    parser.add_argument("--methods", default=None, help="comma-separated methods (default: all)")
    args = parser.parse_args(argv)
    table = read_results(args.results)
    if args.methods:
        table = table[table["method"].isin(args.methods.split(","))]
    counts = win_counts(table, args.split)
    if counts.empty:
        print("no ok rows with several values of any grid entry on that split", file=sys.stderr)
        return 1
    pd.set_option("display.width", 200)
    counts["value"] = [f"{v:g}" if isinstance(v, float) else str(v) for v in counts["value"]]
    print(counts.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
