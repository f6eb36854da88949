"""Summary metrics of the UCI benchmark, as in Arora et al. (2019) and RFM (2024).

Two steps:

1. :func:`uci_accuracy_table` turns the benchmark runner's long results
   (one row per data set, fold, method, configuration, seed, metric) into a
   data set x method table of accuracies in percent, under one of two
   protocols (``"arora"``: the configuration selected on the validation half,
   scored on the 4 test folds; ``"paper"``: the best validation accuracy over
   the whole grid, an oracle).
2. :func:`uci_metrics` summarises such a table, optionally together with
   Fernández-Delgado et al.'s 179 classifiers
   (:func:`kernelkit.data.delgado.load_delgado`): mean accuracy, P90, P95,
   PMA and Friedman rank. :func:`accuracy_profile` gives the curve of which
   P90 and P95 are two points.

Every definition, with its handling of ties and missing values, is in
``docs/metrics.md``.

Reference:
    S. Arora, S. Du, Z. Li, R. Salakhutdinov, R. Wang, D. Yu, "Harnessing the
    power of infinitely wide deep nets on small-data tasks", ICLR 2020
    (arXiv:1910.01663); A. Radhakrishnan, D. Beaglehole, P. Pandit, M. Belkin,
    "Mechanism for feature learning in neural networks and backpropagation-free
    machine learning models", Science 383 (2024).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from kernelkit.errors import InputError

PROTOCOLS = ("arora", "paper", "kare")
#: What chose the configuration under each protocol (the selection tables say it too).
CHOSEN_BY = {
    "arora": "the best mean validation accuracy over seeds (validation half)",
    "paper": "ORACLE: the best accuracy on the scored split itself",
    "kare": "the smallest mean KARE over seeds on the training data (no validation split)",
}
#: Tolerance of the ``acc >= t * best`` comparisons (accuracies are in %).
_REL_TOL = 1e-9
#: Accuracies (%) are rounded to this many decimals before ranking.
_RANK_DECIMALS = 9
METRIC_COLUMNS = (
    "source",
    "n_datasets",
    "accuracy_mean",
    "P90",
    "P95",
    "PMA_mean",
    "PMA_std",
    "friedman_rank",
)
SOURCE_KERNELKIT = "kernelkit"
SOURCE_REFERENCE = "delgado2014"


def uci_accuracy_table(results: pd.DataFrame, protocol: str = "arora") -> pd.DataFrame:
    """Accuracy (%) of every method on every UCI data set under one protocol.

    Only rows with ``metric == "accuracy"`` and a method (and ``suite == "uci"``
    when the frame has a ``suite`` column) are read: the row without a method
    that marks a skipped data set adds no column. Rows whose ``status`` is not
    ``"ok"`` are ignored.

    * ``"arora"``: rows with ``split == "test"``. These are already the
      configuration selected on the validation half, so each (data set,
      method) must carry a single ``config``. Values are averaged over seeds
      within a fold, then over folds.
    * ``"kare"``: rows of protocol ``kare`` (every configuration trained on
      each of the 4 training folds, scored on its test fold): in each fold,
      the configuration and ``lam_tilde`` with the smallest mean KARE over
      seeds (training data alone; `kare_selection`), averaged over folds.
    * ``"paper"``: rows with ``split == "val"``: the maximum over all
      configurations, ``lam_tilde`` and seeds of the validation accuracy. This
      is an ORACLE (the grid is tuned on the very data it is scored on), never
      an honest estimate of test accuracy.

    ``arora`` and ``paper`` are told apart by ``split``; rows whose
    ``protocol`` column is ``kare`` belong to the ``kare`` protocol only.

    Args:
        results: Long results frame (columns ``dataset``, ``method``,
            ``split``, ``fold``, ``config``, ``metric``, ``value``,
            ``status``; see the benchmark runner).
        protocol: ``"arora"`` or ``"paper"``.

    Returns:
        DataFrame, index ``dataset``, one column per method, accuracies in
        percent; ``NaN`` where a (data set, method) pair appears in the
        results but has no ``ok`` row of the protocol's split.

    Raises:
        InputError: unknown protocol, missing columns, or several
            configurations for one (data set, method) under ``"arora"``.

    Example:
        >>> import pandas as pd
        >>> from kernelkit.benchmarks.uci_metrics import uci_accuracy_table
        >>> rows = [dict(dataset="iris", method="gaussian", split="test", fold=f,
        ...              config="{}", metric="accuracy", value=v, status="ok")
        ...         for f, v in [("0", 0.9), ("1", 1.0)]]
        >>> float(uci_accuracy_table(pd.DataFrame(rows)).loc["iris", "gaussian"])
        95.0
    """
    if protocol not in PROTOCOLS:
        raise InputError(f"protocol must be one of {PROTOCOLS}, got {protocol!r}")
    rows = _accuracy_rows(results)
    pairs = rows[["dataset", "method"]].drop_duplicates()
    split = "val" if protocol == "paper" else "test"
    at = rows[rows["split"] == split]
    by_kare = _protocol_column(at) == "kare"
    ok = at[~by_kare & (at["status"] == "ok")]
    if protocol == "kare":
        chosen = kare_selection(at[by_kare])  # every status: it needs the planned rungs
        acc = chosen.groupby(["dataset", "method"], sort=False)["accuracy"].mean()
    elif protocol == "arora":
        _check_single_config(ok)
        per_fold = ok.groupby(["dataset", "method", "fold"], sort=False)["value"].mean()
        acc = per_fold.groupby(level=["dataset", "method"], sort=False).mean()
    else:
        acc = ok.groupby(["dataset", "method"], sort=False)["value"].max()
    table = (100.0 * acc).unstack("method")
    datasets = sorted(pairs["dataset"].unique())
    methods = list(dict.fromkeys(pairs["method"]))
    table = table.reindex(index=datasets, columns=methods).astype(float)
    table.index.name, table.columns.name = "dataset", "method"
    return table


def _protocol_column(rows: pd.DataFrame) -> pd.Series:
    if "protocol" not in rows:
        return pd.Series("", index=rows.index)
    return rows["protocol"].fillna("").astype(str)


def kare_selection(rows: pd.DataFrame) -> pd.DataFrame:
    """The configuration and lam_tilde KARE chooses per (data set, method, fold), and its accuracy.

    Among the ``ok`` rows of each (data set, method, fold): the (config,
    lam_tilde) with the smallest KARE averaged over seeds (the ``kare``
    column: KARE of the training data at that ridge), ties to the first in
    row order. The DNN has no kernel of its own here: its configuration is
    chosen by the KARE of its after-training NTK (the ``after-ntk`` rows of
    the same fit, at their best lam_tilde). Under successive halving (rows
    with a ``rung``) only the last rung planned for each (data set, method,
    fold), whatever the status of its rows, competes: the configurations
    trained in full (rows without a rung, of the methods that were not
    halved, always compete). Pass the rows of every status, so that a last
    rung whose fits all failed is not replaced by an earlier one.

    Returns:
        Columns ``dataset, method, fold, config, lam_tilde, kare, accuracy,
        seeds, chosen_by, rung`` (``rung``: the chosen row's, NaN without halving).

    Example:
        >>> import pandas as pd
        >>> from kernelkit.benchmarks.uci_metrics import kare_selection
        >>> rows = pd.DataFrame(dict(dataset="iris", method="rfm", fold="0", seed=0,
        ...     config=["a", "b"], lam_tilde=0.1, kare=[0.3, 0.2], value=[0.9, 0.8],
        ...     status="ok"))
        >>> kare_selection(rows)[["config", "accuracy"]].values.tolist()
        [['b', 0.8]]
    """
    rows = _last_rung(rows)
    rows = rows[rows["status"] == "ok"]
    keys = ["dataset", "fold", "config", "seed"]
    net = rows[rows["method"] == "after-ntk"].groupby(keys)["kare"].min()
    dnn = rows["method"] == "dnn"
    if dnn.any():
        looked_up = [net.get(tuple(k), np.nan) for k in rows.loc[dnn, keys].itertuples(index=False)]
        rows = rows.copy()
        rows.loc[dnn, "kare"] = looked_up
    out = []
    for (dataset, method, fold), group in rows.groupby(["dataset", "method", "fold"], sort=False):
        mean = group.groupby(["config", "lam_tilde"], sort=False, dropna=False).agg(
            kare=("kare", "mean"), accuracy=("value", "mean"), seeds=("seed", "nunique"),
            rung=("rung", "max"))
        mean = mean[np.isfinite(mean["kare"].to_numpy(dtype=float))]
        if mean.empty:
            continue
        at = int(np.argmin(mean["kare"].to_numpy(dtype=float)))  # first of ties
        (config, lam), best = mean.index[at], mean.iloc[at]
        out.append({"dataset": dataset, "method": method, "fold": fold, "config": config,
                    "lam_tilde": lam, "kare": float(best["kare"]),
                    "accuracy": float(best["accuracy"]), "seeds": int(best["seeds"]),
                    "chosen_by": "KARE of the after-training NTK" if method == "dnn"
                    else "KARE", "rung": best["rung"]})
    return pd.DataFrame(out, columns=["dataset", "method", "fold", "config", "lam_tilde",
                                      "kare", "accuracy", "seeds", "chosen_by", "rung"])


def _last_rung(rows: pd.DataFrame) -> pd.DataFrame:
    """Rows without a rung, and those of the last rung of their (data set, method, fold)."""
    if "rung" not in rows or rows["rung"].isna().all():
        return rows.assign(rung=np.nan)
    rung = pd.to_numeric(rows["rung"], errors="coerce")
    last = rung.groupby([rows["dataset"], rows["method"], rows["fold"]]).transform("max")
    return rows[rung.isna() | (rung == last)].assign(rung=rung)


def _accuracy_rows(results: pd.DataFrame) -> pd.DataFrame:
    required = {"dataset", "method", "split", "fold", "config", "metric", "value", "status"}
    missing = required - set(results.columns)
    if missing:
        raise InputError(f"results lack the columns {sorted(missing)}")
    rows = results[results["metric"] == "accuracy"]
    if "suite" in rows.columns:
        rows = rows[rows["suite"] == "uci"]
    # A data set that could not be read leaves one row without a method: not a method.
    rows = rows[rows["method"].fillna("").astype(str) != ""]
    return rows.assign(fold=rows["fold"].astype(str))


def _check_single_config(rows: pd.DataFrame) -> None:
    n_configs = rows.groupby(["dataset", "method"])["config"].nunique()
    several = n_configs[n_configs > 1]
    if len(several):
        dataset, method = several.index[0]
        raise InputError(
            f"{len(several)} (data set, method) pairs carry several configurations on the "
            f"test folds, e.g. ({dataset!r}, {method!r}); the 'arora' protocol expects only "
            "the configuration selected on the validation half"
        )


def uci_metrics(
    acc: pd.DataFrame,
    reference: pd.DataFrame | None = None,
    datasets: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Summary metrics of kernelkit's methods, optionally beside a reference table.

    The data sets compared are those of ``acc`` on which at least one of its
    methods has an accuracy, intersected with the reference's index (when a
    reference is given) and with ``datasets`` (when given). "Best" on a data
    set is the maximum over every method compared, kernelkit's and the
    reference's. A missing accuracy (``NaN``) is *excluded*: the method is
    scored on the data sets where it has a value (``n_datasets``), and it
    takes no part in the ranking of the others. Definitions are in
    ``docs/metrics.md``.

    Args:
        acc: Data set x method accuracies in percent (from
            :func:`uci_accuracy_table`).
        reference: Data set x classifier accuracies in percent, such as
            :func:`kernelkit.data.delgado.load_delgado`'s table.
        datasets: Restrict the comparison to these data sets (for example
            those without a separate test file).

    Returns:
        One row per method (index ``method``), columns ``source``
        (``"kernelkit"`` or ``"delgado2014"``), ``n_datasets``,
        ``accuracy_mean``, ``P90``, ``P95``, ``PMA_mean``, ``PMA_std``,
        ``friedman_rank``, sorted by ``friedman_rank``. ``attrs["datasets"]``
        lists the data sets compared.

    Raises:
        InputError: no data set in common, or a method named in both tables.

    Example:
        >>> import pandas as pd
        >>> from kernelkit.benchmarks.uci_metrics import uci_metrics
        >>> acc = pd.DataFrame({"a": [90.0, 80.0], "b": [100.0, 60.0]}, index=["x", "y"])
        >>> m = uci_metrics(acc)
        >>> m["P90"].to_dict(), m["PMA_mean"].to_dict(), m["friedman_rank"].to_dict()
        ({'a': 100.0, 'b': 50.0}, {'a': 95.0, 'b': 87.5}, {'a': 1.5, 'b': 1.5})
    """
    table, sources = joined_accuracy_table(acc, reference, datasets)
    rel = relative_accuracy(table)
    profile = accuracy_profile(rel, thresholds=(0.9, 0.95))
    out = pd.DataFrame(
        {
            "source": sources,
            "n_datasets": table.count(),
            "accuracy_mean": table.mean(),
            "P90": 100.0 * profile.loc[0.9],
            "P95": 100.0 * profile.loc[0.95],
            "PMA_mean": 100.0 * rel.mean(),
            "PMA_std": 100.0 * rel.std(ddof=1),
            "friedman_rank": friedman_ranks(table),
        },
        columns=list(METRIC_COLUMNS),
    )
    out.index.name = "method"
    out = out.sort_values("friedman_rank", kind="stable")
    out.attrs["datasets"] = list(table.index)
    return out


def joined_accuracy_table(
    acc: pd.DataFrame,
    reference: pd.DataFrame | None = None,
    datasets: Iterable[str] | None = None,
) -> tuple[pd.DataFrame, pd.Series]:
    """The table of every method compared, over the common data sets.

    The data sets kept are those of ``acc`` on which at least one of its
    methods has an accuracy, intersected with ``reference.index`` and
    ``datasets`` when these are given.

    Args:
        acc: kernelkit's data set x method accuracies (%).
        reference: Reference data set x classifier accuracies (%), or None.
        datasets: Optional restriction of the data sets.

    Returns:
        ``(table, sources)``: the joined data set x method table (kernelkit's
        columns first) and a Series giving each column's source
        (``"kernelkit"`` or ``"delgado2014"``).

    Raises:
        InputError: no data set in common, or a method named in both tables.

    Example:
        >>> import pandas as pd
        >>> from kernelkit.benchmarks.uci_metrics import joined_accuracy_table
        >>> acc = pd.DataFrame({"a": [90.0, None]}, index=["x", "y"])
        >>> ref = pd.DataFrame({"r": [80.0, 70.0]}, index=["x", "y"])
        >>> table, sources = joined_accuracy_table(acc, ref)
        >>> list(table.index), sources.to_dict()
        (['x'], {'a': 'kernelkit', 'r': 'delgado2014'})
    """
    acc = acc.dropna(how="all").astype(float)
    keep = acc.index
    if reference is not None:
        clash = set(acc.columns) & set(reference.columns)
        if clash:
            raise InputError(f"methods named in both tables: {sorted(clash)}")
        keep = keep.intersection(reference.index, sort=False)
    if datasets is not None:
        keep = keep.intersection(pd.Index(list(datasets)), sort=False)
    if len(keep) == 0:
        raise InputError("no data set in common to compare the methods on")
    parts = [acc.loc[keep]]
    sources = [SOURCE_KERNELKIT] * acc.shape[1]
    if reference is not None:
        parts.append(reference.loc[keep].astype(float))
        sources += [SOURCE_REFERENCE] * reference.shape[1]
    table = pd.concat(parts, axis=1)
    table.index.name, table.columns.name = "dataset", "method"
    return table, pd.Series(sources, index=table.columns)


def relative_accuracy(table: pd.DataFrame) -> pd.DataFrame:
    """Each accuracy divided by the best accuracy of its data set (row).

    Args:
        table: Data set x method accuracies (``NaN`` = missing).

    Returns:
        Same shape, values in [0, 1] (``NaN`` kept).

    Example:
        >>> import pandas as pd
        >>> from kernelkit.benchmarks.uci_metrics import relative_accuracy
        >>> relative_accuracy(pd.DataFrame({"a": [50.0], "b": [100.0]}))["a"].item()
        0.5
    """
    best = table.max(axis=1, skipna=True)
    return table.div(best, axis=0)


def accuracy_profile(
    rel: pd.DataFrame, thresholds: Sequence[float] | np.ndarray | None = None
) -> pd.DataFrame:
    """Fraction of data sets on which each method reaches ``t`` x the best accuracy.

    ``profile(t) = #{data sets: acc >= t * best} / #{data sets where the
    method has an accuracy}`` (with a 1e-9 tolerance, so that exactly 90 %
    of the best counts for ``t = 0.9``). P90 and P95 are ``100 * profile(0.9)``
    and ``100 * profile(0.95)``.

    Args:
        rel: Relative accuracies from :func:`relative_accuracy`.
        thresholds: Values of ``t``; default 101 points from 0.5 to 1.

    Returns:
        DataFrame, index ``threshold``, one column per method, values in [0, 1].

    Example:
        >>> import pandas as pd
        >>> from kernelkit.benchmarks.uci_metrics import accuracy_profile
        >>> rel = pd.DataFrame({"a": [0.9, 1.0, 0.5]})
        >>> accuracy_profile(rel, [0.9])["a"].round(3).item()
        0.667
    """
    if thresholds is None:
        thresholds = np.linspace(0.5, 1.0, 101)
    t = np.asarray(thresholds, dtype=float)
    values = rel.to_numpy(dtype=float)
    present = ~np.isnan(values)
    with np.errstate(invalid="ignore"):
        hits = values[None, :, :] >= t[:, None, None] - _REL_TOL
    counts = np.maximum(present.sum(axis=0), 1)
    profile = hits.sum(axis=1) / counts
    profile[:, present.sum(axis=0) == 0] = np.nan
    return pd.DataFrame(profile, index=pd.Index(t, name="threshold"), columns=rel.columns)


def friedman_ranks(table: pd.DataFrame) -> pd.Series:
    """Mean rank of each method over the data sets (1 = best, ties averaged).

    On each data set the methods that have an accuracy are ranked by
    decreasing accuracy (rounded to 1e-9, so that float noise makes no
    order), tied methods sharing the mean of their ranks;
    a method with ``NaN`` is left out of that data set's ranking, and its
    mean rank is over the data sets where it has one (as in Arora et al.'s
    and RFM's analysis code).

    Args:
        table: Data set x method accuracies.

    Returns:
        Series indexed by method.

    Example:
        >>> import pandas as pd
        >>> from kernelkit.benchmarks.uci_metrics import friedman_ranks
        >>> friedman_ranks(pd.DataFrame({"a": [90.0, 80.0], "b": [90.0, 70.0]})).tolist()
        [1.25, 1.75]
    """
    # Equal accuracies computed in different orders differ in the last bits
    # (97.97297297297298 vs 97.97297297297297): round before ranking.
    ranks = table.round(_RANK_DECIMALS).rank(axis=1, method="average", ascending=False,
                                             na_option="keep")
    return ranks.mean(axis=0, skipna=True)


def format_markdown(table: pd.DataFrame, floatfmt: str = ".2f") -> str:
    """Render a DataFrame (with its index) as a GitHub-flavoured Markdown table.

    Args:
        table: The frame; its index becomes the first column.
        floatfmt: Format of float cells.

    Returns:
        The Markdown text, one line per row, ending with a newline.

    Example:
        >>> import pandas as pd
        >>> from kernelkit.benchmarks.uci_metrics import format_markdown
        >>> frame = pd.DataFrame({"x": [1.5]}, index=pd.Index(["a"], name="m"))
        >>> print(format_markdown(frame), end="")
        | m | x |
        |---|---|
        | a | 1.50 |
    """
    def cell(v: object) -> str:
        if isinstance(v, (float, np.floating)):
            return "" if np.isnan(v) else format(v, floatfmt)
        return str(v)

    header = [str(table.index.name or "")] + [str(c) for c in table.columns]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for idx, row in table.iterrows():
        lines.append("| " + " | ".join([str(idx)] + [cell(v) for v in row]) + " |")
    return "\n".join(lines) + "\n"
