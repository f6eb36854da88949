"""Summary tables of a results table (printed by ``kernelkit bench``, saved beside the results)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from kernelkit.benchmarks.suspect import is_suspect

#: lam_tilde columns shown in the MSE summaries (those present in the grid).
SHOWN_LAMS = (1e-3, 1e-1, 10.0)
_USABLE = ("ok", "diverged")  # a diverged KARE run still predicts with its restored weights


def mse_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Mean test MSE over seeds per (setting, method) at a few lam_tilde and at the best one.

    The column "best lam (oracle)" is the minimum over the grid of the mean
    test MSE: it picks lam_tilde on the test data and is labelled as such.
    "lam by KARE" is honest: the mean over seeds of the test MSE at each
    fit's own choice of lam_tilde, the one with the smallest KARE on its
    training data (the rows' ``kare`` column; ties to the smallest lam_tilde).

    Example:
        >>> import pandas as pd
        >>> from kernelkit.benchmarks.summary import mse_summary
        >>> rows = pd.DataFrame({"setting": ["a"] * 2, "method": ["ntk-kare"] * 2,
        ...     "lam_tilde": [1e-3, 1e-1], "seed": [0, 0], "metric": ["mse"] * 2,
        ...     "split": ["test"] * 2, "value": [0.2, 0.1], "status": ["ok"] * 2})
        >>> float(mse_summary(rows)["best lam (oracle)"].iloc[0])
        0.1
    """
    rows = table[(table["metric"] == "mse") & (table["split"] == "test")
                 & table["status"].isin(_USABLE)]
    out = []
    for (setting, method), group in rows.groupby(["setting", "method"], sort=False):
        record = {"setting": setting, "method": method, "seeds": group["seed"].nunique()}
        if group["lam_tilde"].isna().all():
            record["no lam (dnn)"] = group["value"].mean()
        else:
            curve = group.groupby("lam_tilde")["value"].mean()
            for lam in SHOWN_LAMS:
                near = [v for v in curve.index if math.isclose(v, lam, rel_tol=1e-6)]
                if near:
                    record[f"lam={lam:g}"] = curve[near[0]]
            record["best lam (oracle)"] = curve.min()
            record["argmin"] = curve.idxmin()
            record["lam by KARE"] = _at_kare_choice(group)
        record["diverged"] = int((group["status"] == "diverged").sum() // max(
            1, group["lam_tilde"].nunique()))
        record["suspect"] = _suspect_fits(group)
        out.append(record)
    df = pd.DataFrame(out)
    first = [c for c in ("setting", "method", "seeds", "no lam (dnn)") if c in df]
    return df[first + [c for c in df.columns if c not in first]]


def _at_kare_choice(group: pd.DataFrame) -> float:
    """Mean over seeds of the test MSE at each seed's smallest-KARE lam_tilde (NaN: no KARE)."""
    if "kare" not in group:
        return math.nan
    rows = group[np.isfinite(pd.to_numeric(group["kare"], errors="coerce"))]
    if rows.empty:
        return math.nan
    rows = rows.sort_values(["seed", "lam_tilde"], kind="stable")
    chosen = rows.loc[rows.groupby("seed")["kare"].idxmin()]
    return float(chosen["value"].mean())


#: Reference classifiers every UCI summary shows, wherever they rank: Fernandez-Delgado's
#: best family (random forests, caret's implementation).
NAMED_REFERENCE = ("rf_caret",)


def uci_summary(table: pd.DataFrame, protocol: str,
                reference: pd.DataFrame | None = None, top_reference: int = 5,
                datasets: set[str] | None = None,
                named_reference: tuple[str, ...] = NAMED_REFERENCE) -> pd.DataFrame:
    """UCI metrics of kernelkit's methods (and the best reference classifiers).

    ``protocol="arora"`` is the honest estimate (choices made on the
    validation half, accuracy on the 4 test folds); ``"paper"`` is the
    paper's ORACLE (best over the grid measured on the validation half).
    ``datasets`` restricts the comparison (e.g. to those without a separate
    test file). The reference classifiers shown are the ``top_reference``
    best by Friedman rank and those in ``named_reference`` (the random
    forest the issue names, wherever it ranks).
    """
    from kernelkit.benchmarks.uci_metrics import uci_accuracy_table, uci_metrics

    acc = uci_accuracy_table(table, protocol)
    if datasets is not None:
        acc = acc[acc.index.isin(list(datasets))]
    if acc.empty or acc.notna().sum().sum() == 0:
        return pd.DataFrame()
    metrics = uci_metrics(acc, reference)
    if reference is not None and "source" in metrics:
        ours = metrics[metrics["source"] == "kernelkit"]
        reference_rows = metrics[metrics["source"] != "kernelkit"]
        named = reference_rows.index.isin(list(named_reference))
        top = np.arange(len(reference_rows)) < top_reference
        theirs = reference_rows[top | named]
        metrics = pd.concat([ours, theirs]).sort_values("friedman_rank")
    metrics.attrs["n_datasets"] = int(np.sum(acc.notna().any(axis=1)))
    return metrics


def _suspect_fits(rows: pd.DataFrame) -> int:
    """How many fits (units: one config, seed, fold) among ``rows`` are flagged suspect."""
    if "suspect" not in rows or rows.empty:
        return 0
    flagged = rows[is_suspect(rows["suspect"])]
    keys = [k for k in ("dataset", "setting", "fold", "split", "config", "seed") if k in rows]
    return int(len(flagged.drop_duplicates(keys))) if len(flagged) else 0


def suspect_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Suspect kernel fits per (split, method): fits judged, flagged, and by which check.

    A fit is judged on its rows (`kernelkit.benchmarks.suspect`); the DNN has
    no kernel and is not judged.

    Example:
        >>> import pandas as pd
        >>> from kernelkit.benchmarks.summary import suspect_summary
        >>> rows = pd.DataFrame({"split": "test", "method": "rfm", "config": "{}",
        ...     "seed": [0, 0, 1], "lam_tilde": [0.1, 1.0, 0.1], "status": "ok",
        ...     "kare": 0.1, "suspect": ["kare: ...", "kare: ...", ""]})
        >>> suspect_summary(rows)[["fits", "suspect", "kare"]].values.tolist()
        [[2, 1, 1]]
    """
    if "suspect" not in table or "kare" not in table:
        return pd.DataFrame()
    rows = table[table["status"].isin(_USABLE) & table["kare"].notna()]
    keys = [k for k in ("dataset", "setting", "fold", "split", "config", "seed") if k in rows]
    out = []
    for (split, method), group in rows.groupby(["split", "method"], sort=False):
        fits = group.drop_duplicates(keys)
        flags = fits["suspect"][is_suspect(fits["suspect"])]
        record = {"split": split, "method": method, "fits": len(fits), "suspect": len(flags)}
        for check in ("train", "heldout", "kare"):
            record[check] = int(sum(any(part.startswith(check + ":") for part in f.split("; "))
                                    for f in flags))
        out.append(record)
    return pd.DataFrame(out)
