"""The summary table that ``kernelkit bench`` prints and saves beside the results."""

from __future__ import annotations

import math
import pathlib
from typing import Any

import pandas as pd


def _table(df: pd.DataFrame, title: str) -> Any:
    from rich.table import Table

    table = Table(title=title)
    for col in df.columns:
        table.add_column(str(col))
    for _, row in df.iterrows():
        table.add_row(*[_cell(v) for v in row])
    return table


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.4g}"
    return str(value)


def _uci_sections(table: pd.DataFrame, options: Any) -> list[tuple[str, pd.DataFrame]]:
    """The UCI summary, with data sets that ship a separate test file reported apart."""
    from kernelkit.benchmarks.summary import uci_summary
    from kernelkit.data.paths import resolve_data_dir
    from kernelkit.data.uci import uci_with_test_file

    reference = None
    if options.reference:
        from kernelkit.data.delgado import load_delgado

        reference = load_delgado(options.reference)
    label = {"arora": "honest: choices on the validation half, accuracy on the 4 test folds",
             "kare": "honest: choices by each fit's KARE on its training data, no validation "
                     "split, accuracy on the 4 test folds",
             "paper": "ORACLE: best over the grid measured on the validation half"
             }[options.protocol]
    title = f"uci ({options.protocol}; {label})"
    with_test = uci_with_test_file(resolve_data_dir("uci", options.data_dir))
    present = set(table["dataset"])
    if not present & with_test:
        groups = [(title, None)]
    else:
        groups = [(f"{title}; data sets without a separate test file", present - with_test),
                  (f"{title}; data sets WITH a separate test file (fich2): 4-fold CV on "
                   "fich1, not comparable with the reference table", present & with_test)]
    sections = []
    for group_title, names in groups:
        summary = uci_summary(table, options.protocol, reference, datasets=names)
        if not summary.empty:
            sections.append((group_title, summary.reset_index()))
    return sections


def _halving_summary(rows: pd.DataFrame, out: pathlib.Path, console: Any) -> None:
    """Save ``halving_kare.csv`` (the rung each configuration reached) and print the counts."""
    from kernelkit.benchmarks.halving import halving_record

    record = halving_record(rows)
    record.to_csv(out / "halving_kare.csv", index=False)
    units = _units(rows[rows["rung"].notna()])
    per_rung = units.groupby("rung")["fit_time_s"].agg(["size", "sum"])
    console.print("successive halving: " + ", ".join(
        f"rung {int(r)}: {int(n)} fits, {t:.1f} s" for r, (n, t) in per_rung.iterrows())
        + f"; the rung each configuration reached is in {out / 'halving_kare.csv'}")


def _units(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per unit of work (a unit's rows share its ``fit_time_s``: count it once)."""
    if "unit_id" in rows and rows["unit_id"].notna().all():
        return rows.drop_duplicates("unit_id")
    return rows.drop_duplicates(["dataset", "fold", "split", "method", "config", "seed"])


def print_summary(table: pd.DataFrame, options: Any) -> None:
    """Print the suite's summary to stdout and save it as ``summary.csv``/``summary.md``."""
    from rich.console import Console

    from kernelkit.benchmarks.results import atomic_write_text
    from kernelkit.benchmarks.summary import mse_summary, suspect_summary
    from kernelkit.benchmarks.uci_metrics import format_markdown

    counts = table["status"].value_counts().to_dict() if len(table) else {}
    status = ", ".join(f"{k}: {v}" for k, v in sorted(counts.items()))
    if options.suite == "uci":
        sections = _uci_sections(table, options)
    else:
        title = (f"{options.suite}: mean test MSE over seeds "
                 "('best lam (oracle)' picks lam_tilde on the test data)")
        summary = mse_summary(table)
        sections = [(title, summary)] if not summary.empty else []
    console = Console()
    if not console.is_terminal:
        console.width = max(console.width, 160)
    if not sections:
        console.print(f"{options.suite}: no successful results yet ({status}).")
        return
    markdown = []
    for title, summary in sections:
        console.print(_table(summary, title))
        markdown.append(f"## {title}\n\n"
                        f"{format_markdown(summary.set_index(summary.columns[0]), floatfmt='.4g')}\n")
    suspects = suspect_summary(table)
    if not suspects.empty:
        title = ("suspect kernel fits (at each fit's KARE-chosen lam_tilde: train/held-out "
                 "MSE worse than the training mean, or KARE vs held-out MSE grossly apart; "
                 "the 'suspect' column of the results says why)")
        console.print(_table(suspects, title))
        markdown.append(f"## {title}\n\n"
                        f"{format_markdown(suspects.set_index('split'), floatfmt='.4g')}\n")
    if options.suite == "uci" and "fit_time_s" in table and len(table):
        compute = _units(table).groupby("split", sort=False)["fit_time_s"].sum()
        console.print("compute (sum of the units' fit_time_s): " + ", ".join(
            f"{split or 'skipped'} {seconds:.1f} s" for split, seconds in compute.items()))
    if options.suite == "uci" and options.protocol == "kare":
        from kernelkit.benchmarks.uci_metrics import kare_selection

        rows = table[table["protocol"] == "kare"]
        chosen = kare_selection(rows)
        chosen.to_csv(pathlib.Path(options.out) / "selection_kare.csv", index=False)
        console.print(f"kare: the choice of each (data set, method, fold) is in "
                      f"{pathlib.Path(options.out) / 'selection_kare.csv'}")
        if "rung" in rows and rows["rung"].notna().any():
            _halving_summary(rows, pathlib.Path(options.out), console)
    console.print(f"rows by status: {status}")
    out = pathlib.Path(options.out) / "summary"
    pd.concat([df.assign(section=t) for t, df in sections]).to_csv(f"{out}.csv", index=False)
    atomic_write_text(pathlib.Path(f"{out}.md"), "# Summary\n\n" + "\n".join(markdown))
