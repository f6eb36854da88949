"""Where the data sets live, and the small checks that every loader shares.

A suite's folder is found, in this order:

1. an explicit ``data_dir`` (the folder that holds that suite's files);
2. ``$KERNELKIT_DATA/<sub>``, where ``KERNELKIT_DATA`` names a root laid out
   like the project's shared data folder (``uci121/``, ``mnist/``, ``higgs/``);
3. the download cache ``cache_dir()/<sub>``.

Pure numpy; imports no deep-learning framework.
"""

from __future__ import annotations

import os
import pathlib
from types import MappingProxyType
from typing import Mapping

import numpy as np

from kernelkit.errors import DataError, InputError

#: Sub-folder of each suite under ``$KERNELKIT_DATA`` and under the cache.
SUITE_SUBDIRS: Mapping[str, str] = MappingProxyType(
    {"uci": "uci121", "mnist": "mnist", "higgs": "higgs"}
)

def cache_dir() -> pathlib.Path:
    """The download cache: ``$KERNELKIT_CACHE``, else ``~/.cache/kernelkit``.

    The folder need not exist.

    Returns:
        The cache folder as an absolute path.

    Example:
        >>> from kernelkit.data.paths import cache_dir
        >>> cache_dir().is_absolute()
        True
    """
    env = os.environ.get("KERNELKIT_CACHE")
    base = pathlib.Path(env) if env else pathlib.Path.home() / ".cache" / "kernelkit"
    return base.expanduser().absolute()


def fetch_hint(suite: str) -> str:
    """The remedy to print when a suite's data are missing or damaged.

    Args:
        suite: One of ``SUITE_SUBDIRS``.

    Returns:
        A sentence naming the three ways to provide the data.

    Example:
        >>> from kernelkit.data.paths import fetch_hint
        >>> "kernelkit data fetch uci" in fetch_hint("uci")
        True
    """
    return (
        f"run `kernelkit data fetch {suite}`, pass --data-dir PATH (the folder "
        f"holding the {suite} files), or set KERNELKIT_DATA to a root holding "
        f"{SUITE_SUBDIRS.get(suite, suite)}/"
    )


def _check_suite(suite: str) -> str:
    if suite not in SUITE_SUBDIRS:
        raise InputError(
            f"Unknown data suite {suite!r}; expected one of {sorted(SUITE_SUBDIRS)}."
        )
    return SUITE_SUBDIRS[suite]


def resolve_data_dir(
    suite: str, data_dir: str | os.PathLike[str] | None = None
) -> pathlib.Path:
    """Find the folder that holds a suite's files.

    Args:
        suite: ``"uci"``, ``"mnist"`` or ``"higgs"``.
        data_dir: The suite's folder itself (for ``"uci"``, the folder that
            contains ``abalone/``, ``acute-inflammation/``, ...). When given it
            must exist: it is never silently replaced by another location.

    Returns:
        The first existing folder of: ``data_dir``, ``$KERNELKIT_DATA/<sub>``,
        ``cache_dir()/<sub>`` (``<sub>`` from ``SUITE_SUBDIRS``).

    Raises:
        InputError: ``suite`` is not a known suite.
        DataError: ``data_dir`` does not exist, or none of the locations does;
            the message lists every path looked at and how to get the data.

    Example:
        >>> from kernelkit.data.paths import resolve_data_dir
        >>> root = resolve_data_dir("uci", "../shared/data/uci121")  # doctest: +SKIP
    """
    sub = _check_suite(suite)
    if data_dir is not None:
        path = pathlib.Path(data_dir).expanduser()
        if not path.is_dir():
            raise DataError(
                f"The {suite} data folder '{path}' given as data_dir does not "
                f"exist or is not a folder; {fetch_hint(suite)}."
            )
        return path
    tried = []
    env = os.environ.get("KERNELKIT_DATA")
    if env:
        tried.append(pathlib.Path(env).expanduser() / sub)
    tried.append(cache_dir() / sub)
    for path in tried:
        if path.is_dir():
            return path
    looked = ", ".join(f"'{p}'" for p in tried)
    env_note = "" if env else " (KERNELKIT_DATA is not set)"
    raise DataError(
        f"No {suite} data found: looked for {looked}{env_note}; {fetch_hint(suite)}."
    )


def require_file(path: pathlib.Path, suite: str, what: str = "data file") -> pathlib.Path:
    """Return ``path`` if it is a file, else raise `DataError` naming it.

    Args:
        path: The file expected.
        suite: The suite it belongs to (for the remedy).
        what: What the file is, for the message.

    Returns:
        ``path``.

    Example:
        >>> import pathlib
        >>> from kernelkit.data.paths import require_file
        >>> require_file(pathlib.Path("no-such.dat"), "uci")  # doctest: +SKIP
    """
    if not path.is_file():
        raise DataError(f"Missing {what} '{path}'; {fetch_hint(suite)}.")
    return path


def draw_disjoint(
    n_available: int,
    n_train: int,
    n_test: int,
    rng: np.random.Generator,
    what: str,
    hint: str = "",
) -> tuple[np.ndarray, np.ndarray]:
    """Draw disjoint random train and test indices into ``range(n_available)``.

    Args:
        n_available: Size of the pool.
        n_train: Training indices wanted (>= 0; callers check their totals
            with `check_sizes`).
        n_test: Test indices wanted (>= 0).
        rng: The generator (seeded by the caller).
        what: What the pool holds, for the error message.
        hint: A remedy appended to the error message.

    Returns:
        ``(train_idx, test_idx)``, int64 arrays with no index in common.

    Raises:
        InputError: The pool is too small; the message says how many exist.

    Example:
        >>> import numpy as np
        >>> from kernelkit.data.paths import draw_disjoint
        >>> tr, te = draw_disjoint(10, 6, 4, np.random.default_rng(0), "points")
        >>> sorted(np.concatenate([tr, te]).tolist()) == list(range(10))
        True
    """
    if n_train + n_test > n_available:
        raise InputError(
            f"Asked for {n_train} training + {n_test} test = {n_train + n_test} "
            f"{what}, but only {n_available} are available{hint}."
        )
    perm = rng.permutation(n_available).astype(np.int64)
    return perm[:n_train], perm[n_train : n_train + n_test]


def check_sizes(n_train: int, n_test: int) -> None:
    """Raise `InputError` unless ``n_train >= 1`` and ``n_test >= 0`` are integers.

    Example:
        >>> from kernelkit.data.paths import check_sizes
        >>> check_sizes(10, 0)
    """
    for name, value, low in (("n_train", n_train, 1), ("n_test", n_test, 0)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise InputError(f"{name} must be an integer >= {low}, got {value!r}.")
