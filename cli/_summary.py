"""The summary table that ``kernelkit bench`` prints and saves beside the results."""

from __future__ import annotations

import math
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


def print_summary(table: pd.DataFrame, options: Any) -> None:
    """Print the suite's summary to stdout and save it as ``summary.csv``/``summary.md``."""
    from rich.console import Console

    from kernelkit.benchmarks.results import atomic_write_text
    from kernelkit.benchmarks.summary import mse_summary, uci_summary
    from kernelkit.benchmarks.uci_metrics import format_markdown

    counts = table["status"].value_counts().to_dict() if len(table) else {}
    status = ", ".join(f"{k}: {v}" for k, v in sorted(counts.items()))
    if options.suite == "uci":
        reference = None
        if options.reference:
            from kernelkit.data.delgado import load_delgado

            reference = load_delgado(options.reference)
        summary = uci_summary(table, options.protocol, reference)
        label = ("honest: choices on the validation half, accuracy on the 4 test folds"
                 if options.protocol == "arora" else
                 "ORACLE: best over the grid measured on the validation half")
        title = f"uci ({options.protocol}; {label})"
        if not summary.empty:
            summary = summary.reset_index()
    else:
        summary = mse_summary(table)
        title = (f"{options.suite}: mean test MSE over seeds "
                 "('best lam (oracle)' picks lam_tilde on the test data)")
    console = Console()
    if not console.is_terminal:
        console.width = max(console.width, 160)
    if summary.empty:
        console.print(f"{title}: no successful results yet ({status}).")
        return
    console.print(_table(summary, title))
    console.print(f"rows by status: {status}")
    out = f"{options.out}/summary"
    summary.to_csv(f"{out}.csv", index=False)
    atomic_write_text(__import__("pathlib").Path(f"{out}.md"),
                      f"# {title}\n\n{format_markdown(summary.set_index(summary.columns[0]), floatfmt='.4g')}\n")
