"""The UCI collection of Fernández-Delgado et al. (2014), in its published layout.

One folder per data set, holding:

- ``<name>.txt``: metadata lines ``key= value`` (``n_entradas=`` features,
  ``n_clases=`` classes, ``fich1=`` the data file, optional ``fich2=`` a
  separate test file, ``n_patrons1=`` rows of ``fich1``);
- ``fich1`` (``<name>_R.dat``): tab-separated, a header row, an index column,
  the (already standardised) features, and the class ``0..C-1`` last;
- ``conxuntos.dat``: 2 lines of 0-based row indices, train / validation;
- ``conxuntos_kfold.dat``: 8 lines, 4 x (train, test).

Pure numpy/pandas/scikit-learn; imports no deep-learning framework.

Reference:
    Fernández-Delgado, Cernadas, Barro, Amorim (2014), "Do we need hundreds of
    classifiers to solve real world classification problems?", JMLR 15.
"""

from __future__ import annotations

import dataclasses
import difflib
import fnmatch
import os
import pathlib
import warnings
from typing import Callable, Iterable, Iterator

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from kernelkit.data.paths import fetch_hint, require_file, resolve_data_dir
from kernelkit.errors import DataError, InputError

__all__ = [
    "UCIDataset",
    "UCIScaler",
    "iter_uci",
    "list_uci_datasets",
    "load_uci",
    "select_uci_datasets",
    "uci_with_test_file",
]

_Split = tuple[np.ndarray, np.ndarray]


@dataclasses.dataclass(frozen=True, eq=False)
class UCIDataset:
    """One data set of the collection, with its official index splits.

    Attributes:
        name: Folder name, e.g. ``"abalone"``.
        X: Features, float64, shape ``(n, d)`` (as published: standardised).
        y: Classes, int64, in ``0..n_classes-1``.
        n_classes: ``n_clases`` of the metadata.
        validation: ``(train_idx, val_idx)`` from ``conxuntos.dat``.
        folds: 4 pairs ``(train_idx, test_idx)`` from ``conxuntos_kfold.dat``.
        has_test_file: The metadata names a separate test file (``fich2=``);
            the folds then split ``fich1`` only.
        path: The data set's folder.

    Example:
        >>> ds = load_uci("../shared/data/uci121", "iris")  # doctest: +SKIP
        >>> ds.n, ds.d, ds.n_classes, len(ds.folds)  # doctest: +SKIP
        (150, 4, 3, 4)
    """

    name: str
    X: np.ndarray
    y: np.ndarray
    n_classes: int
    validation: _Split
    folds: list[_Split]
    has_test_file: bool
    path: pathlib.Path

    @property
    def n(self) -> int:
        """Number of rows."""
        return int(self.X.shape[0])

    @property
    def d(self) -> int:
        """Number of features."""
        return int(self.X.shape[1])


def list_uci_datasets(root: str | os.PathLike[str] | None = None) -> list[str]:
    """Names of the data sets under ``root``: sub-folders holding ``<name>.txt``.

    Only the layout is assumed, never a list of names.

    Args:
        root: The collection's folder; ``None`` resolves it with
            `resolve_data_dir` (``$KERNELKIT_DATA/uci121``, then the cache).

    Returns:
        Sorted folder names.

    Example:
        >>> names = list_uci_datasets("../shared/data/uci121")  # doctest: +SKIP
        >>> names[:2]  # doctest: +SKIP
        ['abalone', 'acute-inflammation']
    """
    base = resolve_data_dir("uci", root)
    return sorted(p.name for p in base.iterdir() if (p / f"{p.name}.txt").is_file())


def select_uci_datasets(
    root: str | os.PathLike[str] | None = None, names: str | Iterable[str] | None = None
) -> list[str]:
    """Expand names and shell-style globs (``"monks-*"``) against the collection.

    Args:
        root: The collection's folder (see `list_uci_datasets`).
        names: Names or globs; ``None`` selects every data set.

    Returns:
        Matching names, in the order of ``names`` (each glob's matches sorted),
        without repeats.

    Raises:
        InputError: A name or glob matches nothing; the message lists some
            available names.
        DataError: The folder holds no data set at all.

    Example:
        >>> select_uci_datasets("../shared/data/uci121", ["monks-*"])  # doctest: +SKIP
        ['monks-1', 'monks-2', 'monks-3']
    """
    base = resolve_data_dir("uci", root)
    available = list_uci_datasets(base)
    if not available:
        raise DataError(
            f"'{base}' holds no UCI data set (no folder <name>/ with <name>.txt)"
            f"{_layout_hint(base)}; {fetch_hint('uci')}."
        )
    if names is None:
        return available
    if isinstance(names, str):
        names = [names]
    selected: dict[str, None] = {}
    for pattern in names:
        matches = fnmatch.filter(available, pattern)
        if not matches:
            close = difflib.get_close_matches(pattern, available, n=5) or available[:5]
            raise InputError(
                f"No UCI data set matches {pattern!r} ({len(available)} available, "
                f"e.g. {', '.join(close)})."
            )
        selected.update(dict.fromkeys(matches))
    return list(selected)


def uci_with_test_file(root: str | os.PathLike[str] | None = None) -> set[str]:
    """Names of the data sets whose metadata names a separate test file (``fich2=``).

    For these, a 4-fold cross-validation on ``fich1`` measures something else
    than Fernández-Delgado's table: summaries report them apart.

    Args:
        root: The collection's folder (see `list_uci_datasets`).

    Returns:
        The set of names (only metadata files are read).

    Example:
        >>> "statlog-shuttle" in uci_with_test_file("../shared/data/uci121")  # doctest: +SKIP
        True
    """
    base = resolve_data_dir("uci", root)
    return {name for name in list_uci_datasets(base)
            if "fich2" in _read_metadata(base / name / f"{name}.txt")}


def _layout_hint(base: pathlib.Path) -> str:
    """A hint for a root passed one level too high (the folder holding ``uci121/``)."""
    nested = base / "uci121"
    return f" (did you mean '{nested}'?)" if nested.is_dir() else ""


def _read_metadata(path: pathlib.Path) -> dict[str, str]:
    meta = {}
    for line in path.read_text(errors="replace").splitlines():
        key, sep, value = line.partition("=")
        if sep:
            meta[key.strip()] = value.strip()
    return meta


def _meta_int(
    meta: dict[str, str], key: str, path: pathlib.Path, required: bool = True
) -> int | None:
    if key not in meta:
        if required:
            raise DataError(f"Metadata file '{path}' has no '{key}=' line.")
        return None
    try:
        return int(meta[key])
    except ValueError:
        raise DataError(
            f"Metadata file '{path}': '{key}= {meta[key]}' is not an integer."
        ) from None


def _read_table(path: pathlib.Path, n_features: int, n_rows: int | None) -> np.ndarray:
    """Read a ``_R.dat`` file into a float64 array (index, features, class)."""
    corrupt = "re-download it with `kernelkit data fetch uci`"
    try:
        values = pd.read_csv(path, sep="\t", header=0, dtype=np.float64).to_numpy()
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError, UnicodeDecodeError) as err:
        raise DataError(
            f"Cannot parse '{path}' as a tab-separated numeric table "
            f"({type(err).__name__}: {str(err).strip()}); {corrupt}."
        ) from err
    if values.shape[1] != n_features + 2:
        raise DataError(
            f"'{path}' has {values.shape[1]} columns; expected {n_features + 2} "
            f"(an index, n_entradas={n_features} features and the class); {corrupt}."
        )
    if values.shape[0] == 0:
        raise DataError(f"'{path}' has no data rows; {corrupt}.")
    bad = np.flatnonzero(~np.isfinite(values).all(axis=1))
    if bad.size:
        raise DataError(
            f"'{path}' has missing or non-finite values in {bad.size} row(s), first "
            f"on line {bad[0] + 2} (a truncated or garbled file?); {corrupt}."
        )
    if n_rows is not None and values.shape[0] != n_rows:
        raise DataError(
            f"'{path}' has {values.shape[0]} rows but its metadata says "
            f"n_patrons1={n_rows} (a truncated file?); {corrupt}."
        )
    return values


def _read_indices(path: pathlib.Path, n_lines: int, n_rows: int) -> list[np.ndarray]:
    """Read an index file: ``n_lines`` lines of 0-based row indices < ``n_rows``.

    Lines come in (train, held-out) pairs, which must not share an index.
    """
    require_file(path, "uci", "index file")
    lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    if len(lines) != n_lines:
        raise DataError(f"Index file '{path}' has {len(lines)} lines; expected {n_lines}.")
    out = []
    for number, line in enumerate(lines, start=1):
        try:
            idx = np.array(line.split(), dtype=np.int64)
        except ValueError:
            raise DataError(
                f"Index file '{path}', line {number}: not a list of integers."
            ) from None
        wrong = idx[(idx < 0) | (idx >= n_rows)]
        if wrong.size:
            raise DataError(
                f"Index file '{path}', line {number}: index {wrong[0]} is out of "
                f"range for a data file of {n_rows} rows (valid: 0..{n_rows - 1})."
            )
        out.append(idx)
    for number in range(0, n_lines, 2):
        shared = np.intersect1d(out[number], out[number + 1])
        if shared.size:
            raise DataError(
                f"Index file '{path}': lines {number + 1} and {number + 2} (a train / "
                f"held-out pair) share {shared.size} index(es), e.g. {shared[0]}."
            )
    return out


def load_uci(root: str | os.PathLike[str] | None, name: str) -> UCIDataset:
    """Load and validate one data set of the collection.

    Args:
        root: The collection's folder (the one holding ``abalone/``, ...);
            ``None`` resolves it with `resolve_data_dir`.
        name: The data set's folder name.

    Returns:
        The data set, with its validation split and 4 folds.

    Raises:
        DataError: A file is missing, unparsable, has the wrong number of
            columns or rows, non-finite values, classes outside
            ``0..n_clases-1`` or out-of-range indices; the message names the
            file.

    Example:
        >>> ds = load_uci("../shared/data/uci121", "abalone")  # doctest: +SKIP
        >>> ds.X.shape, ds.n_classes  # doctest: +SKIP
        ((4177, 8), 3)
    """
    base = resolve_data_dir("uci", root)
    folder = base / name
    meta_path = folder / f"{name}.txt"
    if not meta_path.is_file():
        names = list_uci_datasets(base)
        close = difflib.get_close_matches(name, names, n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise DataError(
            f"No UCI data set {name!r}: '{meta_path}' does not exist{_layout_hint(base)}.{hint} "
            f"To get the collection, {fetch_hint('uci')}."
        )
    meta = _read_metadata(meta_path)
    if "fich1" not in meta:
        raise DataError(f"Metadata file '{meta_path}' has no 'fich1=' line.")
    n_features = _meta_int(meta, "n_entradas", meta_path)
    n_classes = _meta_int(meta, "n_clases", meta_path)
    data_path = require_file(folder / meta["fich1"], "uci", f"data file (fich1= of {name})")
    values = _read_table(data_path, n_features, _meta_int(meta, "n_patrons1", meta_path, False))
    X, classes = values[:, 1:-1], values[:, -1]
    bad = (classes != np.round(classes)) | (classes < 0) | (classes >= n_classes)
    if bad.any():
        raise DataError(
            f"'{data_path}': class {classes[bad][0]:g} on line {np.flatnonzero(bad)[0] + 2} "
            f"is not an integer in 0..{n_classes - 1} (n_clases={n_classes})."
        )
    n = X.shape[0]
    validation = _read_indices(folder / "conxuntos.dat", 2, n)
    kfold = _read_indices(folder / "conxuntos_kfold.dat", 8, n)
    return UCIDataset(
        name=name,
        X=np.ascontiguousarray(X),
        y=classes.astype(np.int64),
        n_classes=n_classes,
        validation=(validation[0], validation[1]),
        folds=[(kfold[2 * i], kfold[2 * i + 1]) for i in range(4)],
        has_test_file="fich2" in meta,
        path=folder,
    )


def _warn_skip(name: str, error: DataError) -> None:
    warnings.warn(f"Skipping UCI data set {name!r}: {error}", UserWarning, stacklevel=3)


def iter_uci(
    root: str | os.PathLike[str] | None = None,
    names: str | Iterable[str] | None = None,
    on_error: Callable[[str, DataError], None] | None = None,
) -> Iterator[UCIDataset]:
    """Load data sets one by one, reporting and skipping those that fail.

    Names are checked at once (an unknown name raises here, not at the first
    iteration); a data set whose files are missing or corrupt is reported
    through ``on_error`` and skipped, so one bad folder never stops the loop.

    Args:
        root: The collection's folder (see `list_uci_datasets`).
        names: Names or globs (see `select_uci_datasets`); ``None``: all.
        on_error: Called as ``on_error(name, error)`` for each skipped data
            set; default: `warnings.warn`.

    Returns:
        An iterator of `UCIDataset`, in the order of `select_uci_datasets`.

    Raises:
        InputError: A name or glob matches no data set.

    Example:
        >>> for ds in iter_uci("../shared/data/uci121", ["monks-*"]):  # doctest: +SKIP
        ...     print(ds.name, ds.n)
    """
    base = resolve_data_dir("uci", root)
    selected = select_uci_datasets(base, names)
    report = on_error if on_error is not None else _warn_skip

    def generate() -> Iterator[UCIDataset]:
        for name in selected:
            try:
                dataset = load_uci(base, name)
            except DataError as err:
                report(name, err)
                continue
            yield dataset

    return generate()


class UCIScaler(TransformerMixin, BaseEstimator):
    """The preprocessing of the paper's UCI benchmark, fitted on training rows.

    With at least ``min_n_for_clip`` training rows: clip each feature at its
    training ``clip_percentiles`` (5th / 95th), then standardise with the mean
    and (population, ``ddof=0``) standard deviation of the clipped training
    data. With fewer rows: a robust scaler, ``(x - median) / IQR``. A
    constant feature gets the scale 1. Test rows are clipped at the training
    percentiles and scaled with the training statistics.

    Args:
        min_n_for_clip: Training rows needed for the clip-and-standardise branch.
        clip_percentiles: Lower and upper percentiles (0..100) of the clip.

    Attributes:
        clipped_: Whether the clip-and-standardise branch was used.
        lower_, upper_: Clip bounds per feature (``-inf`` / ``inf`` when not clipping).
        center_, scale_: What is subtracted and divided by, per feature.
        n_features_in_: Number of features seen in `fit`.

    Example:
        >>> import numpy as np
        >>> X = np.random.default_rng(0).normal(size=(200, 3))
        >>> Z = UCIScaler().fit_transform(X)
        >>> bool(np.allclose(Z.mean(0), 0)), bool(np.allclose(Z.std(0), 1))
        (True, True)
    """

    def __init__(
        self, min_n_for_clip: int = 100, clip_percentiles: tuple[float, float] = (5.0, 95.0)
    ) -> None:
        self.min_n_for_clip = min_n_for_clip
        self.clip_percentiles = clip_percentiles

    @staticmethod
    def _as_matrix(X: ArrayLike, n_features: int | None = None) -> np.ndarray:
        try:
            X = np.asarray(X, dtype=np.float64)
        except (TypeError, ValueError) as err:
            raise InputError(f"X must be a numeric matrix: {err}") from err
        if X.ndim != 2 or X.shape[0] == 0:
            raise InputError(f"X must be a non-empty 2-D array, got shape {X.shape}.")
        if not np.isfinite(X).all():
            raise InputError("X holds NaN or inf.")
        if n_features is not None and X.shape[1] != n_features:
            raise InputError(
                f"X has {X.shape[1]} features, but UCIScaler was fitted with {n_features}."
            )
        return X

    def fit(self, X: ArrayLike, y: object = None) -> UCIScaler:
        """Compute the clip bounds and scaling from training rows ``X``.

        Args:
            X: Training features, shape ``(n, d)``.
            y: Ignored.

        Returns:
            ``self``.

        Example:
            >>> UCIScaler().fit([[0.0], [1.0]]).scale_.tolist()
            [0.5]
        """
        X = self._as_matrix(X)
        d = X.shape[1]
        low, high = self.clip_percentiles
        if not 0 <= low < high <= 100:
            raise InputError(
                "clip_percentiles must satisfy 0 <= low < high <= 100, "
                f"got {self.clip_percentiles}."
            )
        self.clipped_ = X.shape[0] >= self.min_n_for_clip
        if self.clipped_:
            self.lower_, self.upper_ = np.percentile(X, [low, high], axis=0)
            clipped = np.clip(X, self.lower_, self.upper_)
            self.center_ = clipped.mean(axis=0)
            scale = clipped.std(axis=0)
        else:
            self.lower_, self.upper_ = np.full(d, -np.inf), np.full(d, np.inf)
            q25, self.center_, q75 = np.percentile(X, [25, 50, 75], axis=0)
            scale = q75 - q25
        scale[scale == 0] = 1.0
        self.scale_ = scale
        self.n_features_in_ = d
        return self

    def transform(self, X: ArrayLike) -> np.ndarray:
        """Clip (when fitted so) and scale ``X`` with the training statistics.

        Args:
            X: Features, shape ``(m, d)``.

        Returns:
            float64 array of shape ``(m, d)``.

        Example:
            >>> UCIScaler().fit([[0.0], [2.0]]).transform([[1.0]]).tolist()
            [[0.0]]
        """
        check_is_fitted(self, "scale_")
        X = self._as_matrix(X, self.n_features_in_)
        return (np.clip(X, self.lower_, self.upper_) - self.center_) / self.scale_
