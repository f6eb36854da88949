"""The Higgs boson (Kaggle / ATLAS open data) classification task.

The folder may hold, in this order of preference, the full CERN open-data file
``atlas-higgs-challenge-2014-v2.csv(.gz)``, the Kaggle ``training.csv(.gz)``,
or else any number of CSV files with the same columns (such as the samples
``train_sml_bg.csv`` and ``train_sml_sig.csv``), which are read together.

Features are the 30 physics columns (``DER_*`` and ``PRI_*``) and nothing
else: ``EventId``, ``Weight``, ``Label``, ``KaggleSet`` and ``KaggleWeight``
are never features (``Weight`` alone separates the classes perfectly).

Pure numpy/pandas; imports no deep-learning framework.

Reference:
    Adam-Bourdarios et al. (2014), "The Higgs boson machine learning
    challenge", JMLR W&CP 42; ATLAS collaboration (2014), CERN Open Data,
    doi:10.7483/OPENDATA.ATLAS.ZBP2.M5T8.
"""

from __future__ import annotations

import os
import pathlib

import numpy as np
import pandas as pd

from kernelkit.data.paths import check_sizes, draw_disjoint, fetch_hint, resolve_data_dir
from kernelkit.errors import DataError

__all__ = ["MISSING_VALUE", "NON_FEATURE_COLUMNS", "higgs_files", "load_higgs", "read_higgs"]

#: Columns that are never features.
NON_FEATURE_COLUMNS = ("EventId", "Weight", "Label", "KaggleSet", "KaggleWeight")
#: The Kaggle encoding of an undefined feature.
MISSING_VALUE = -999.0
_FEATURE_PREFIXES = ("DER_", "PRI_")
_PREFERRED = (
    "atlas-higgs-challenge-2014-v2.csv.gz",
    "atlas-higgs-challenge-2014-v2.csv",
    "training.csv.gz",
    "training.csv",
)
_LABELS = {"s": 1.0, "b": -1.0}


def higgs_files(root: str | os.PathLike[str] | None = None) -> list[pathlib.Path]:
    """The CSV files that `read_higgs` reads.

    Args:
        root: The Higgs folder; ``None`` resolves it with `resolve_data_dir`.

    Returns:
        The first present of the full files (see the module), else every
        ``*.csv`` / ``*.csv.gz`` in the folder, sorted.

    Raises:
        DataError: No CSV file in the folder.

    Example:
        >>> [p.name for p in higgs_files("../shared/data/higgs")]  # doctest: +SKIP
        ['train_sml_bg.csv', 'train_sml_sig.csv']
    """
    folder = resolve_data_dir("higgs", root)
    for name in _PREFERRED:
        if (folder / name).is_file():
            return [folder / name]
    files = sorted(
        p for p in folder.iterdir() if p.is_file() and p.name.endswith((".csv", ".csv.gz"))
    )
    if not files:
        raise DataError(f"No Higgs CSV file in '{folder}'; {fetch_hint('higgs')}.")
    return files


def _parse(path: pathlib.Path, **kwargs) -> pd.DataFrame:
    """``pd.read_csv`` with its failures turned into `DataError` naming ``path``."""
    try:
        return pd.read_csv(path, **kwargs)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError, EOFError, OSError) as err:
        raise DataError(
            f"Cannot parse '{path}' as a Higgs CSV file ({type(err).__name__}: "
            f"{str(err).strip()}); {fetch_hint('higgs')}."
        ) from err


def _read_csv(path: pathlib.Path) -> tuple[pd.DataFrame, list[str]]:
    """One file's feature columns, Label and (if present) EventId; validated."""
    where = f"'{path}'"
    header = list(_parse(path, nrows=0).columns)
    features = [c for c in header if c.startswith(_FEATURE_PREFIXES)]
    if "Label" not in header or not features:
        raise DataError(
            f"{where} is not a labelled Higgs file: it needs a 'Label' column and "
            f"DER_* / PRI_* feature columns (header: {', '.join(header[:6])}...)."
        )
    wanted = features + ["Label"] + (["EventId"] if "EventId" in header else [])
    frame = _parse(path, usecols=wanted, dtype={c: np.float64 for c in features})
    if frame[features].isna().to_numpy().any():
        raise DataError(f"{where} has empty or non-numeric feature values (a truncated file?).")
    unknown = set(frame["Label"].unique()) - set(_LABELS)
    if unknown:
        found = sorted(map(str, unknown))[:3]
        raise DataError(f"{where}: labels must be 's' or 'b', found {found}.")
    return frame, features


def read_higgs(
    root: str | os.PathLike[str] | None = None,
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Every complete event (no feature equal to -999) of the Higgs folder.

    Args:
        root: The Higgs folder (see `higgs_files`).

    Returns:
        ``(X, y, feature_names)``: float64 features (unscaled), labels
        ``+1`` for signal (``s``) and ``-1`` for background (``b``), and the
        feature column names (never one of `NON_FEATURE_COLUMNS`).

    Raises:
        DataError: A file is unparsable, lacks labels or features, files
            disagree on their feature columns, or an event appears twice.

    Example:
        >>> X, y, names = read_higgs("../shared/data/higgs")  # doctest: +SKIP
        >>> X.shape[1], "Weight" in names  # doctest: +SKIP
        (30, False)
    """
    frames, features = [], None
    files = higgs_files(root)
    for path in files:
        frame, cols = _read_csv(path)
        if features is not None and cols != features:
            raise DataError(
                f"'{path}' has other feature columns than '{files[0]}'; "
                f"keep only files of one layout in the Higgs folder."
            )
        features = cols
        frames.append(frame)
    data = pd.concat(frames, ignore_index=True)
    if "EventId" in data and data["EventId"].duplicated().any():
        raise DataError(
            f"Event {data['EventId'][data['EventId'].duplicated()].iloc[0]} appears twice "
            f"in {', '.join(str(p) for p in files)}: overlapping files would leak "
            "test events into training; keep one copy."
        )
    X = data[features].to_numpy(dtype=np.float64)
    complete = ~(X == MISSING_VALUE).any(axis=1)
    y = data["Label"].map(_LABELS).to_numpy(dtype=np.float64)
    return X[complete], y[complete], list(features)


def load_higgs(
    root: str | os.PathLike[str] | None = None,
    n_train: int = 1000,
    n_test: int = 1000,
    seed: int = 0,
    balanced: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The Higgs task: signal (+1) against background (-1) on complete events.

    Events with any feature equal to -999 are dropped. ``n_train`` and
    ``n_test`` events are drawn at random (seeded, disjoint); with
    ``balanced=True`` each set holds ``n // 2`` background events and the
    rest signal. Each feature is divided by its largest absolute value on
    the training set (a zero column by 1), so training features lie in
    ``[-1, 1]`` and reach ``±1``; test features use the same factors and
    may exceed 1.

    Args:
        root: The Higgs folder (see `higgs_files`).
        n_train: Training events.
        n_test: Test events.
        seed: Seed of the draw.
        balanced: Draw the classes in equal numbers (else uniformly).

    Returns:
        ``(X_train, y_train, X_test, y_test)``, float64, ``y`` in ``{+1, -1}``.

    Raises:
        InputError: Bad sizes, or fewer events (of a class, when balanced)
            than asked for; the message says how many there are.
        DataError: Missing or corrupt files.

    Example:
        >>> Xtr, ytr, Xte, yte = load_higgs("../shared/data/higgs", 200, 200)  # doctest: +SKIP
        >>> float(abs(Xtr).max()), float(ytr.mean())  # doctest: +SKIP
        (1.0, 0.0)
    """
    check_sizes(n_train, n_test)
    X, y, _ = read_higgs(root)
    rng = np.random.default_rng(seed)
    if balanced:
        parts = []
        counts = (
            (1.0, "signal", n_train - n_train // 2, n_test - n_test // 2),
            (-1.0, "background", n_train // 2, n_test // 2),
        )
        for label, name, n_tr, n_te in counts:
            pool = np.flatnonzero(y == label)
            tr, te = draw_disjoint(
                pool.size, n_tr, n_te, rng, f"complete {name} events",
                hint="; pass balanced=False or ask for fewer",
            )
            parts.append((pool[tr], pool[te]))
        train = rng.permutation(np.concatenate([p[0] for p in parts]))
        test = rng.permutation(np.concatenate([p[1] for p in parts]))
    else:
        train, test = draw_disjoint(y.size, n_train, n_test, rng, "complete events")
    factors = np.abs(X[train]).max(axis=0)
    factors[factors == 0] = 1.0
    return X[train] / factors, y[train], X[test] / factors, y[test]
