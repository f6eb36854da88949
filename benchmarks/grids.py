"""The benchmark grids: ``quick`` (a laptop CPU) and ``paper`` (the paper's scale).

A grid is a plain dict; ``--grid FILE`` reads a JSON file whose keys replace
those of the suite's ``quick`` grid (e.g. ``{"seeds": 5, "epochs": 50}``).

The ``paper`` grids follow the settings the paper's text and the issue state
(z = 0.1; SGD at learning rate 100 for 100 epochs on the synthetic task, 300
epochs at 10 (MNIST) or 1 (Higgs); mini-batches of 32 for 5,000 points or
more; lam_tilde over 1e-5..1e5 or 1e-3..1e3). The UCI search space of the
paper's Table 2 was not available when this was written: the ``paper`` UCI
grid is kernelkit's own choice and is labelled as such in the docs.
"""

from __future__ import annotations

import copy
import json
import os
import pathlib

import numpy as np

from kernelkit.errors import InputError

SUITES = ("synthetic", "uci", "mnist", "higgs")


def _lams(lo: int, hi: int, num: int) -> list[float]:
    return [float(v) for v in np.logspace(lo, hi, num)]


_NETWORK = {"epochs": 100, "learning_rate": 1e-3, "batch_size": 32, "optimizer": "adam"}

_SYNTHETIC_QUICK = {
    "settings": [[1.0, 0.0], [1.0, 0.1], [1.25, 0.0], [1.25, 0.1], [1.5, 0.0], [1.5, 0.1]],
    "seeds": 3, "n_train": 300, "n_test": 1000, "d": 10,
    "methods": ["ntk-kare", "network"],
    "ntk-kare": {"depth": [1], "width": [64], "activation": "gelu", "z": 0.1, "epochs": 30,
                 "learning_rate": [100.0], "optimizer": "sgd"},
    "network": {"depth": [1], "width": [64], "activation": "gelu", **_NETWORK},
    "lam_tilde": _lams(-5, 5, 11),
}
_SYNTHETIC_PAPER = {
    **copy.deepcopy(_SYNTHETIC_QUICK), "seeds": 10, "n_train": 1000,
    "lam_tilde": _lams(-5, 5, 21),
}
_SYNTHETIC_PAPER["ntk-kare"]["epochs"] = 100


def _image_grid(learning_rate: float, quick: bool) -> dict:
    grid = {
        "seeds": 2 if quick else 10, "n_train": 300 if quick else 1000,
        "n_test": 300 if quick else 1000,
        "methods": ["ntk-kare", "network"],
        "ntk-kare": {"depth": [2] if quick else [2, 4], "width": [32, 64] if quick else [32, 64, 128],
                     "activation": "gelu", "z": 0.1, "epochs": 30 if quick else 300,
                     "learning_rate": [learning_rate], "optimizer": "sgd"},
        "network": {"depth": [2] if quick else [2, 4], "width": [32, 64] if quick else [32, 64, 128],
                    "activation": "gelu", **_NETWORK},
        "lam_tilde": _lams(-3, 3, 7 if quick else 13),
    }
    return grid


_UCI_QUICK = {
    "seeds": 1,
    "methods": ["ntk-kare", "network", "gaussian", "laplace", "rfm"],
    "ntk-kare": {"depth": [1], "width": [64], "activation": "gelu", "z": 0.1, "epochs": 30,
                 "learning_rate": [10.0], "optimizer": "sgd"},
    "network": {"depth": [1], "width": [64], "activation": "gelu", **_NETWORK},
    "gaussian": {"bandwidth_scale": [1.0]},
    "laplace": {"bandwidth": [10.0]},
    "rfm": {"bandwidth": [10.0], "iterations": 3},
    "lam_tilde": _lams(-4, 2, 7),
}
_UCI_PAPER = {
    **copy.deepcopy(_UCI_QUICK),
    "ntk-kare": {"depth": [1, 2, 3], "width": [64, 128], "activation": "gelu", "z": 0.1,
                 "epochs": 100, "learning_rate": [1.0, 10.0, 100.0], "optimizer": "sgd"},
    "network": {"depth": [1, 2, 3], "width": [64, 128], "activation": "gelu",
                **{**_NETWORK, "learning_rate": [1e-3, 1e-2]}},
    "gaussian": {"bandwidth_scale": [0.5, 1.0, 2.0]},
    "laplace": {"bandwidth": [1.0, 10.0]},
    "rfm": {"bandwidth": [10.0], "iterations": 5},
    "lam_tilde": _lams(-5, 5, 21),
}

GRIDS = {
    "synthetic": {"quick": _SYNTHETIC_QUICK, "paper": _SYNTHETIC_PAPER},
    "mnist": {"quick": _image_grid(10.0, True), "paper": _image_grid(10.0, False)},
    "higgs": {"quick": _image_grid(1.0, True), "paper": _image_grid(1.0, False)},
    "uci": {"quick": _UCI_QUICK, "paper": _UCI_PAPER},
}

def get_grid(suite: str, grid: str | os.PathLike = "quick") -> dict:
    """The grid of ``suite``: ``"quick"``, ``"paper"`` or a JSON file over ``quick``.

    Raises:
        InputError: For an unknown suite or grid, or a file that is not a JSON object.

    Example:
        >>> from kernelkit.benchmarks.grids import get_grid
        >>> get_grid("synthetic")["seeds"]
        3
    """
    if suite not in GRIDS:
        raise InputError(f"unknown suite {suite!r}; choose one of {SUITES}.")
    if str(grid) in GRIDS[suite]:
        return copy.deepcopy(GRIDS[suite][str(grid)])
    path = pathlib.Path(grid)
    if not path.is_file():
        raise InputError(f"--grid must be 'quick', 'paper' or a JSON file; {grid!r} is neither.")
    try:
        override = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as err:
        raise InputError(f"--grid file {path} is not valid JSON: {err}") from None
    if not isinstance(override, dict):
        raise InputError(f"--grid file {path} must hold a JSON object.")
    base = copy.deepcopy(GRIDS[suite]["quick"])
    unknown = set(override) - set(base)
    if unknown:
        raise InputError(f"--grid file {path}: unknown keys {sorted(unknown)}; "
                         f"known: {sorted(base)}.")
    base.update(override)
    return base


def configs(method_grid: dict) -> list[dict]:
    """Every configuration of a method's grid: the product of its list-valued entries.

    Example:
        >>> from kernelkit.benchmarks.grids import configs
        >>> len(configs({"depth": [1, 2], "width": [8], "epochs": 3}))
        2
    """
    fixed = {k: v for k, v in method_grid.items() if not isinstance(v, list)}
    out = [fixed]
    for key, values in method_grid.items():
        if isinstance(values, list):
            out = [{**c, key: v} for c in out for v in values]
    return out
