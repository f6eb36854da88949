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
import textwrap

import numpy as np

from kernelkit.errors import InputError
from kernelkit.defaults import DEFAULT_Z

SUITES = ("synthetic", "uci", "mnist", "higgs")


def _lams(lo: int, hi: int, num: int) -> list[float]:
    return [float(v) for v in np.logspace(lo, hi, num)]


_NETWORK = {"epochs": 100, "learning_rate": 1e-3, "batch_size": 32, "optimizer": "adam"}
#: The opt-in "deep-kernel" method (in no default "methods" list: add it in a grid file,
#: e.g. {"methods": ["ntk-kare", "network", "deep-kernel"]}): a Gaussian kernel on the
#: 8 outputs of the paper's MLP, trained on KARE with Adam at 1e-2 for 100 epochs
#: (docs/kernel-algebra.md measures it on the synthetic task).
_DEEP_KERNEL = {"depth": [1], "width": [64], "output_dim": 8, "activation": "gelu",
                "bandwidth_scale": 1.0, "z": DEFAULT_Z, "epochs": 100, "learning_rate": [1e-2],
                "optimizer": "adam"}

#: The paper's Figure 1 at gamma = 1 (n = 1000, NTK-KARE 100 epochs of SGD at lr
#: 100, z = 0.1), noiseless and with sigma = 0.1, 3 seeds: a few minutes on a CPU.
_SYNTHETIC_QUICK = {
    "settings": [[1.0, 0.0], [1.0, 0.1]],
    "seeds": 3, "n_train": 1000, "n_test": 1000, "d": 10,
    "methods": ["ntk-kare", "network"],
    "ntk-kare": {"depth": [1], "width": [64], "activation": "gelu", "z": DEFAULT_Z, "epochs": 100,
                 "learning_rate": [100.0], "optimizer": "sgd"},
    "network": {"depth": [1], "width": [64], "activation": "gelu", **_NETWORK},
    "deep-kernel": copy.deepcopy(_DEEP_KERNEL),
    "lam_tilde": _lams(-5, 5, 11),
}
#: Every setting of Figure 1 (gamma in {1, 1.25, 1.5} x sigma in {0, 0.1}), 10 seeds.
_SYNTHETIC_PAPER = {
    **copy.deepcopy(_SYNTHETIC_QUICK), "seeds": 10,
    "settings": [[1.0, 0.0], [1.0, 0.1], [1.25, 0.0], [1.25, 0.1], [1.5, 0.0], [1.5, 0.1]],
    "lam_tilde": _lams(-5, 5, 21),
}


def _image_grid(learning_rate: float, quick: bool) -> dict:
    grid = {
        "seeds": 2 if quick else 10, "n_train": 300 if quick else 1000,
        "n_test": 300 if quick else 1000,
        "methods": ["ntk-kare", "network"],
        "ntk-kare": {"depth": [2] if quick else [2, 4], "width": [32, 64] if quick else [32, 64, 128],
                     "activation": "gelu", "z": DEFAULT_Z, "epochs": 30 if quick else 300,
                     "learning_rate": [learning_rate], "optimizer": "sgd"},
        "network": {"depth": [2] if quick else [2, 4], "width": [32, 64] if quick else [32, 64, 128],
                    "activation": "gelu", **_NETWORK},
        "deep-kernel": {**copy.deepcopy(_DEEP_KERNEL), "depth": [2], "width": [64],
                        "epochs": 30 if quick else 100},
        "lam_tilde": _lams(-3, 3, 7 if quick else 13),
    }
    return grid


_UCI_QUICK = {
    "seeds": 1,
    "methods": ["ntk-kare", "network", "gaussian", "laplace", "rfm"],
    "ntk-kare": {"depth": [1], "width": [64], "activation": "gelu", "z": DEFAULT_Z, "epochs": 30,
                 "learning_rate": [10.0], "optimizer": "sgd"},
    "network": {"depth": [1], "width": [64], "activation": "gelu", **_NETWORK},
    "gaussian": {"bandwidth_scale": [1.0]},
    "laplace": {"bandwidth": [10.0]},
    "rfm": {"bandwidth": [10.0], "iterations": 3},
    "deep-kernel": {**copy.deepcopy(_DEEP_KERNEL), "epochs": 30},
    "lam_tilde": _lams(-4, 2, 7),
}
_UCI_PAPER = {
    **copy.deepcopy(_UCI_QUICK),
    "ntk-kare": {"depth": [1, 2, 3], "width": [64, 128], "activation": "gelu", "z": DEFAULT_Z,
                 "epochs": 100, "learning_rate": [1.0, 10.0, 100.0], "optimizer": "sgd"},
    "network": {"depth": [1, 2, 3], "width": [64, 128], "activation": "gelu",
                **{**_NETWORK, "learning_rate": [1e-3, 1e-2]}},
    "gaussian": {"bandwidth_scale": [0.5, 1.0, 2.0]},
    "laplace": {"bandwidth": [1.0, 10.0]},
    "rfm": {"bandwidth": [10.0], "iterations": 5},
    "deep-kernel": {**copy.deepcopy(_DEEP_KERNEL), "depth": [1, 2], "learning_rate": [1e-3, 1e-2]},
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


def _value(value: object) -> str:
    if isinstance(value, list):
        return _value(value[0]) if len(value) == 1 else "{" + ", ".join(map(_value, value)) + "}"
    return f"{value:g}" if isinstance(value, float) else str(value)


def describe_grid(suite: str, grid: str = "quick") -> str:
    """A few lines describing a grid: data, seeds, each method's settings, lam_tilde.

    Shown by ``kernelkit bench SUITE --help``; ``{a, b}`` lists values searched.

    Example:
        >>> from kernelkit.benchmarks.grids import describe_grid
        >>> print(describe_grid("synthetic").splitlines()[0])
        quick grid: settings (gamma, sigma) {(1, 0), (1, 0.1)}; n_train=1000,
    """
    spec = get_grid(suite, grid)
    data = [f"settings (gamma, sigma) {{{', '.join(f'({g:g}, {s:g})' for g, s in spec['settings'])}}}"
            ] if "settings" in spec else []
    sizes = ", ".join(f"{k}={spec[k]}" for k in ("n_train", "n_test", "d") if k in spec)
    head = "; ".join(data + ([sizes] if sizes else []) + [f"{spec['seeds']} seed" + "s" * (spec["seeds"] != 1)])
    lines = textwrap.wrap(f"{grid} grid: {head}", 78, subsequent_indent="    ")
    for method in spec["methods"]:
        label = "network (dnn, after-ntk)" if method == "network" else method
        text = f"{label}: " + ", ".join(f"{k}={_value(v)}" for k, v in spec[method].items())
        lines += textwrap.wrap(text, 78, initial_indent="  ", subsequent_indent="      ")
    lams = spec["lam_tilde"]
    lines.append(f"  lam_tilde: {len(lams)} values, {min(lams):g} .. {max(lams):g}")
    return "\n".join(lines)
