"""Reader of Fernández-Delgado et al.'s (2014) table of UCI test accuracies.

The table (``delgado2014_results.txt``) is plain text: a header line that
starts with ``problema`` and names one column per classifier (179 of them),
followed by per-data-set summary columns ``min``, ``max``, ``mean`` and
``std``; one line per data set; then a line of dashes and summary rows
(``mean``, ``std``) over the data sets. Fields are separated by runs of blanks
(the four summary columns by tabs) and every field is present: a missing
accuracy is written ``--``.

Reference:
    M. Fernández-Delgado, E. Cernadas, S. Barro, D. Amorim, "Do we need
    hundreds of classifiers to solve real world classification problems?",
    JMLR 15 (2014).
"""

from __future__ import annotations

import math
import os
import re

import pandas as pd

from kernelkit.errors import DataError

#: Name of the first header field (the data-set column).
_INDEX_NAME = "problema"
#: Per-data-set summary columns that follow the classifiers in the header.
_SUMMARY_COLUMNS = frozenset({"min", "max", "mean", "std"})
#: How the table writes a missing accuracy.
_MISSING = "--"
_SEPARATOR = re.compile(r"^-{3,}$")


def load_delgado(path: str | os.PathLike) -> pd.DataFrame:
    """Read Fernández-Delgado et al.'s per-data-set accuracies.

    Args:
        path: The ``delgado2014_results.txt`` file.

    Returns:
        A DataFrame with one row per data set (index ``dataset``) and one
        float column per classifier, in the file's order: test accuracies in
        percent, ``NaN`` where the table writes ``--``. The table's summary
        rows (``mean``, ``std``) and summary columns (``min``, ``max``,
        ``mean``, ``std``) are dropped.

    Raises:
        DataError: the file is missing, unreadable or not laid out as above
            (the message names the path and the offending line).

    Example:
        >>> from kernelkit.data.delgado import load_delgado
        >>> table = load_delgado("../shared/data/delgado2014_results.txt")  # doctest: +SKIP
        >>> table.shape, table.loc["abalone", "elm_kernel_matlab"]  # doctest: +SKIP
        ((121, 179), 66.1)
    """
    lines = _read_lines(path)
    classifiers, n_fields = _parse_header(lines[0], path)
    names, rows = [], []
    for lineno, line in enumerate(lines[1:], start=2):
        if _SEPARATOR.match(line.strip()):
            break
        if not line.strip():
            continue
        name, values = _parse_row(line, n_fields, lineno, path)
        names.append(name)
        rows.append(values[: len(classifiers)])
    if not rows:
        raise DataError(f"{os.fspath(path)}: no data-set rows after the header")
    if len(set(names)) != len(names):
        raise DataError(f"{os.fspath(path)}: a data-set name appears twice")
    table = pd.DataFrame(rows, index=pd.Index(names, name="dataset"), columns=classifiers)
    table.columns.name = "classifier"
    return table


def _read_lines(path: str | os.PathLike) -> list[str]:
    try:
        with open(path, encoding="utf-8") as fh:
            lines = fh.read().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(
            f"cannot read the Fernández-Delgado table {os.fspath(path)!r}: {exc}"
        ) from exc
    if not lines:
        raise DataError(f"{os.fspath(path)}: empty file")
    return lines


def _parse_header(line: str, path: str | os.PathLike) -> tuple[list[str], int]:
    """Return the classifier names and the number of fields of a data row."""
    fields = line.split()
    if not fields or fields[0] != _INDEX_NAME:
        raise DataError(
            f"{os.fspath(path)}: line 1 should start with {_INDEX_NAME!r}, the header of "
            "Fernández-Delgado et al.'s results table"
        )
    names = fields[1:]
    while names and names[-1] in _SUMMARY_COLUMNS:
        names.pop()
    if not names:
        raise DataError(f"{os.fspath(path)}: the header names no classifier")
    if len(set(names)) != len(names):
        raise DataError(f"{os.fspath(path)}: a classifier name appears twice in the header")
    return names, len(fields)


def _parse_row(
    line: str, n_fields: int, lineno: int, path: str | os.PathLike
) -> tuple[str, list[float]]:
    fields = line.split()
    if len(fields) != n_fields:
        raise DataError(
            f"{os.fspath(path)}, line {lineno}: {len(fields)} fields where the header has "
            f"{n_fields}"
        )
    try:
        values = [math.nan if f == _MISSING else float(f) for f in fields[1:]]
    except ValueError as exc:
        raise DataError(f"{os.fspath(path)}, line {lineno}: {exc}") from exc
    return fields[0], values
