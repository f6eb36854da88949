"""Long-format benchmark results: a crash-safe journal, atomic exports, resume.

Each finished *unit* of work (one fit: a data set, fold, method,
configuration and seed) appends one JSON line holding all its rows to
``journal.jsonl`` and flushes it to disk: the journal is the record. The
table in the chosen format (``results.csv`` / ``.json`` / ``.parquet``) is
rewritten from it atomically (temporary file + ``os.replace``) at most every
``export_interval`` seconds, when a run ends and when one is resumed, so a
long run does not spend its time rewriting a large table. A kill at any
moment leaves at most one partial last journal line, which is ignored on
``--resume``: no finished unit is lost or repeated.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import pathlib
import secrets
import time
from typing import Any, Iterable

import pandas as pd

from kernelkit.errors import InputError

#: The columns of the results table, in order.
COLUMNS = (
    "suite", "protocol", "dataset", "setting", "fold", "split", "method", "config",
    "lam_tilde", "seed", "metric", "value", "n_train", "n_test", "d", "classes",
    "fit_time_s", "peak_mem_mb", "mem_measure", "status", "reason", "unit_id", "engine",
    "host", "device", "solver",
    # suspect-fit checks (kernelkit.benchmarks.suspect): numbers, then the fit's flag
    "train_mse", "train_mean_mse", "kare", "heldout_mse", "heldout_mean_mse", "suspect",
    # successive halving (--protocol kare --halving): the rung of the row, counted from 0
    "rung",
)
#: Status values of a row (``timeout`` and ``oom``: the unit's last attempt).
STATUSES = ("ok", "skipped", "failed", "diverged", "timeout", "oom")
FORMATS = ("csv", "json", "parquet")
JOURNAL = "journal.jsonl"


def unit_key(unit: dict) -> str:
    """The identity of a unit of work: suite, data set, fold, split, method, config, seed."""
    fields = ("suite", "dataset", "fold", "split", "method", "config", "seed")
    return json.dumps([unit.get(f) for f in fields], default=str)


def unit_id(unit: dict) -> str:
    """A short stable hash of `unit_key` and the kernelkit version: the ``unit_id`` column.

    A unit is pure: the same id means the same work and the same result, so a
    unit may run on any engine, be retried or be resumed elsewhere.

    Example:
        >>> from kernelkit.benchmarks.results import unit_id
        >>> len(unit_id({"suite": "uci", "dataset": "iris", "method": "laplace"}))
        16
    """
    return _id_of_key(unit_key(unit))


def _id_of_key(key: str) -> str:
    from kernelkit import __version__

    return hashlib.sha256(f"{key} kernelkit {__version__}".encode()).hexdigest()[:16]


def atomic_write_text(path: pathlib.Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file and ``os.replace``."""
    _atomic(path, lambda tmp: pathlib.Path(tmp).write_text(text, encoding="utf-8"))


def _atomic(path: pathlib.Path, write: Any) -> None:
    """Call ``write(tmp)`` on a new file beside ``path``, then rename it to ``path``.

    The file is created as ``open()`` would create it (mode 0666 less the
    umask, 0644 as usual), not 0600 as :func:`tempfile.mkstemp` does.
    """
    tmp = path.parent / f".{path.name}.{secrets.token_hex(8)}.tmp"
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


class ResultStore:
    """The results of one benchmark run in ``out_dir``.

    Args:
        out_dir: Output folder (created).
        fmt: ``"csv"``, ``"json"`` or ``"parquet"`` (needs ``pyarrow``).
        resume: Keep the finished units of an earlier run in ``out_dir``;
            without it an existing journal is an error (never overwritten).
        export_interval: Seconds between rewrites of the results table
            (0: after every unit); `close` writes the final one.

    Example:
        >>> import secrets
        >>> from kernelkit.benchmarks.results import ResultStore
        >>> store = ResultStore(tempfile.mkdtemp(), "csv")
        >>> unit = {"suite": "synthetic", "dataset": "a", "fold": "test", "split": "test",
        ...         "method": "dnn", "config": "{}", "seed": 0}
        >>> store.add(unit, [{**unit, "metric": "mse", "value": 0.1, "status": "ok"}])
        >>> store.close()
        >>> store.done(unit), len(store.table())
        (True, 1)
    """

    def __init__(self, out_dir: str | os.PathLike, fmt: str = "csv", resume: bool = False,
                 export_interval: float = 5.0) -> None:
        if fmt not in FORMATS:
            raise InputError(f"format must be one of {FORMATS}, got {fmt!r}.")
        if fmt == "parquet":
            try:
                import pyarrow  # noqa: F401
            except ImportError:
                raise InputError('--format parquet needs pyarrow: pip install "kernelkit[parquet]".'
                                 ) from None
        self.dir = pathlib.Path(out_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.fmt = fmt
        self.path = self.dir / f"results.{fmt}"
        self.journal = self.dir / JOURNAL
        self._rows: list[tuple] = []  # tuples in COLUMNS order: compact for 1e5 rows
        self._done: set[str] = set()
        self.export_interval = float(export_interval)
        self._exported_at = -math.inf
        if self.journal.exists() and self.journal.stat().st_size > 0:
            if not resume:
                raise InputError(
                    f"{self.dir} already holds results ({JOURNAL}); pass --resume to "
                    "continue that run, or choose another --out.")
            self._load()

    def _load(self) -> None:
        lines = self.journal.read_bytes().split(b"\n")
        good = []
        for line in lines:
            try:
                record = json.loads(line)
            except ValueError:
                continue  # an empty or partial (killed mid-write) last line
            good.append(line)
            uid = record.get("unit_id") or _id_of_key(record["key"])  # pre-unit_id journals
            self._done.add(uid)
            self._rows.extend(_as_tuple({**row, "unit_id": row.get("unit_id") or uid})
                              for row in record["rows"])
        # Drop a partial tail so that the next append starts on a fresh line.
        atomic_write_text(self.journal, "".join(g.decode() + "\n" for g in good))
        self._export()  # the table may lag the journal after a kill

    def done(self, unit: dict) -> bool:
        """Whether ``unit`` finished in this run or in the resumed one."""
        return unit_id(unit) in self._done

    def add(self, unit: dict, rows: Iterable[dict]) -> None:
        """Record a finished unit's rows: journal line (fsynced), then the table."""
        uid = unit_id(unit)
        rows = [_normalise({**r, "unit_id": uid}) for r in rows]
        line = json.dumps({"key": unit_key(unit), "unit_id": uid, "rows": rows},
                          default=_json_default)
        with open(self.journal, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        self._done.add(uid)
        self._rows.extend(_as_tuple(r) for r in rows)
        if time.monotonic() - self._exported_at >= self.export_interval:
            self._export()

    def close(self) -> None:
        """Write the results table with every row (call when the run ends)."""
        self._export()

    def table(self) -> pd.DataFrame:
        """All rows so far as a DataFrame with `COLUMNS`."""
        return pd.DataFrame(self._rows, columns=list(COLUMNS))

    def _export(self) -> None:
        self._exported_at = time.monotonic()
        df = self.table()
        if self.fmt == "csv":
            _atomic(self.path, lambda tmp: df.to_csv(tmp, index=False))
        elif self.fmt == "json":
            _atomic(self.path, lambda tmp: df.to_json(tmp, orient="records", indent=1))
        else:
            _atomic(self.path, lambda tmp: df.to_parquet(tmp, index=False))


def _as_tuple(row: dict) -> tuple:
    return tuple(row.get(c) for c in COLUMNS)


def _normalise(row: dict) -> dict:
    out = {c: row.get(c) for c in COLUMNS}
    if out["status"] not in STATUSES:
        raise InputError(f"row status must be one of {STATUSES}, got {out['status']!r}.")
    for key in ("value", "lam_tilde", "fit_time_s", "peak_mem_mb", "train_mse",
                "train_mean_mse", "kare", "heldout_mse", "heldout_mean_mse"):
        if out[key] is not None:
            out[key] = float(out[key])
    return out


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "item"):
        return obj.item()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def read_results(path: str | os.PathLike) -> pd.DataFrame:
    """Read a results file (csv, json or parquet) or a run folder holding one.

    Raises:
        InputError: If no results file is found.
    """
    path = pathlib.Path(path)
    if path.is_dir():
        found = [path / f"results.{f}" for f in FORMATS if (path / f"results.{f}").exists()]
        if not found:
            raise InputError(f"no results.csv/json/parquet in {path}.")
        path = found[0]
    if not path.exists():
        raise InputError(f"results file not found: {path}")
    if path.suffix == ".json":
        df = pd.read_json(path, orient="records")
    elif path.suffix == ".parquet":
        df = pd.read_parquet(path)
    else:
        df = pd.read_csv(path, keep_default_na=True)
    for col in ("fold", "config", "reason", "protocol", "setting", "dataset", "suspect"):
        if col in df:
            df[col] = df[col].astype("string").fillna("").astype(object)
    return df

