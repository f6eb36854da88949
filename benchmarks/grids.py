"""The benchmark grids: ``quick`` (a laptop CPU), ``paper`` (Appendix A), UCI ``medium``.

A grid is a plain dict; ``--grid FILE`` reads a JSON file whose keys replace
those of the suite's ``quick`` grid (e.g. ``{"seeds": 5, "epochs": 50}``).

The ``paper`` grids follow the paper's Tables 2 and 3 and its data
preparation (restated in PAPER_SETTINGS.md; its choices where the paper is
silent are in docs/bench.md): z = 0.1, GELU, the paper's initialisation;
synthetic: 100 full-batch epochs of GD at 100, the network 10,000 full-batch
epochs of GD at 0.1, lam_tilde 10^-5..10^5, 10 repetitions; MNIST and
Higgs: depth {2, 4} x width {32, 64, 128}, 300 epochs at 1 if depth = 4 else
10, the same network training, lam_tilde 10^-3..10^3, 10 repetitions; UCI:
depth {1..5} x width {32..512}, 300 epochs (batches of 32 for data sets of
5,000 rows or more, else full batch) at {10, 5, 1, 0.1} if depth >= 3 else
{100, 10, 1, 0.1}; the network 400 epochs in batches of 32 at {0.1, 0.01,
0.001, 0.0001}.

The UCI ``medium`` grid is part of ``paper`` (4 NTK-KARE configurations and 4
networks, chosen from measured wins; docs/bench.md) with training sets capped
at 400 rows (its ``max_n``; ``--max-n`` overrides it).

A value may depend on the depth: ``{"by": "depth", "values": {"2": [10.0],
"4": [1.0]}}`` (see `configs`).
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


def _powers(lo: int, hi: int) -> list[float]:
    """``10^i`` for ``i = lo..hi`` (the paper's lam_tilde grids)."""
    return [float(10.0 ** i) for i in range(lo, hi + 1)]


def by_depth(values: dict[int, list]) -> dict:
    """A grid value that depends on the depth: ``{"by": "depth", "values": {...}}``."""
    return {"by": "depth", "values": {str(k): list(v) for k, v in values.items()}}


_NETWORK = {"epochs": 100, "learning_rate": 1e-3, "batch_size": 32, "optimizer": "adam"}
#: The paper's network ("DNN") on the synthetic task, MNIST and Higgs (its Table 2):
#: 10,000 epochs of full-batch gradient descent at 0.1 on MSE.
_NETWORK_PAPER_GD = {"epochs": 10000, "learning_rate": 0.1, "batch_size": None,
                     "optimizer": "sgd"}
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
#: Table 2, synthetic column: every setting of Figure 1 (gamma in {1, 1.25, 1.5} x
#: sigma in {0, 0.1}), k = 10 repetitions, lam_tilde 10^i for i = -5..5.
_SYNTHETIC_PAPER = {
    **copy.deepcopy(_SYNTHETIC_QUICK), "seeds": 10,
    "settings": [[1.0, 0.0], [1.0, 0.1], [1.25, 0.0], [1.25, 0.1], [1.5, 0.0], [1.5, 0.1]],
    "network": {"depth": [1], "width": [64], "activation": "gelu", **_NETWORK_PAPER_GD},
    "lam_tilde": _powers(-5, 5),
}


def _image_grid(quick: bool, quick_learning_rate: float = 10.0) -> dict:
    """MNIST 7 vs 9 and Higgs (Table 2: the same paper grid for both)."""
    if quick:
        return {
            "seeds": 2, "n_train": 300, "n_test": 300,
            "methods": ["ntk-kare", "network"],
            "ntk-kare": {"depth": [2], "width": [32, 64], "activation": "gelu", "z": DEFAULT_Z,
                         "epochs": 30, "learning_rate": [quick_learning_rate],
                         "optimizer": "sgd"},
            "network": {"depth": [2], "width": [32, 64], "activation": "gelu", **_NETWORK},
            "deep-kernel": {**copy.deepcopy(_DEEP_KERNEL), "depth": [2], "width": [64],
                            "epochs": 30},
            "lam_tilde": _lams(-3, 3, 7),
        }
    return {
        "seeds": 10, "n_train": 1000, "n_test": 1000,
        "methods": ["ntk-kare", "network"],
        "ntk-kare": {"depth": [2, 4], "width": [32, 64, 128], "activation": "gelu",
                     "z": DEFAULT_Z, "epochs": 300,
                     "learning_rate": by_depth({2: [10.0], 4: [1.0]}), "optimizer": "sgd",
                     "batch_size": None},
        "network": {"depth": [2, 4], "width": [32, 64, 128], "activation": "gelu",
                    **_NETWORK_PAPER_GD},
        "deep-kernel": {**copy.deepcopy(_DEEP_KERNEL), "depth": [2], "width": [64]},
        "lam_tilde": _powers(-3, 3),
    }


_UCI_QUICK = {
    "seeds": 1,
    #: Training sets above this many rows are subsampled (seeded; `--max-n` overrides it).
    "max_n": None,
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
_UCI_DEPTHS = [1, 2, 3, 4, 5]
_UCI_WIDTHS = [32, 64, 128, 256, 512]
#: Table 3: 25 architectures x 4 learning rates = 100 NTK-KARE configurations and
#: 100 networks per data set. The KARE batch (32 from 5,000 rows, else the whole
#: training set) is set per data set by the method (`kernelkit.benchmarks.methods`).
#: The baselines (Gaussian, Laplace, RFM) and lam_tilde are kernelkit's choices.
_UCI_PAPER = {
    **copy.deepcopy(_UCI_QUICK),
    "ntk-kare": {"depth": _UCI_DEPTHS, "width": _UCI_WIDTHS, "activation": "gelu",
                 "z": DEFAULT_Z, "epochs": 300,
                 "learning_rate": by_depth({d: [10.0, 5.0, 1.0, 0.1] if d >= 3
                                            else [100.0, 10.0, 1.0, 0.1] for d in _UCI_DEPTHS}),
                 "optimizer": "sgd"},
    "network": {"depth": _UCI_DEPTHS, "width": _UCI_WIDTHS, "activation": "gelu",
                "epochs": 400, "learning_rate": [0.1, 0.01, 0.001, 0.0001], "batch_size": 32,
                "optimizer": "sgd"},
    "gaussian": {"bandwidth_scale": [0.5, 1.0, 2.0]},
    "laplace": {"bandwidth": [1.0, 10.0]},
    "rfm": {"bandwidth": [10.0], "iterations": 5},
    "deep-kernel": {**copy.deepcopy(_DEEP_KERNEL), "depth": [1, 2], "learning_rate": [1e-3, 1e-2]},
    "lam_tilde": _powers(-5, 5),
}

#: Part of Table 3, chosen from measured wins and unit costs (docs/bench.md, "The
#: medium UCI grid"): 4 NTK-KARE configurations and 4 networks of the paper's 100
#: each, at the paper's epochs, batches and lam_tilde, Gaussian, Laplace and RFM as
#: in ``paper``, and training sets capped at 400 rows so that the 83 complete data
#: sets without a separate test file run in about 2 hours on a 2-core CPU.
_UCI_MEDIUM = {
    **copy.deepcopy(_UCI_PAPER), "max_n": 400,
    "ntk-kare": {**copy.deepcopy(_UCI_PAPER["ntk-kare"]), "depth": [1, 3], "width": [32],
                 "learning_rate": by_depth({1: [100.0, 0.1], 3: [5.0, 0.1]})},
    "network": {**copy.deepcopy(_UCI_PAPER["network"]), "depth": [1, 5], "width": [32, 512],
                "learning_rate": [0.1]},
}

GRIDS = {
    "synthetic": {"quick": _SYNTHETIC_QUICK, "paper": _SYNTHETIC_PAPER},
    "mnist": {"quick": _image_grid(True), "paper": _image_grid(False)},
    "higgs": {"quick": _image_grid(True, 1.0), "paper": _image_grid(False)},
    "uci": {"quick": _UCI_QUICK, "medium": _UCI_MEDIUM, "paper": _UCI_PAPER},
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
        names = ", ".join(repr(g) for g in GRIDS[suite])
        raise InputError(f"--grid for {suite} must be one of {names} or a JSON file; "
                         f"{grid!r} is neither.")
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

    A value ``{"by": KEY, "values": {str(v): [...]}}`` lists the values searched
    for each value of the entry ``KEY`` (e.g. the learning rates of each depth).

    Raises:
        InputError: A depth-dependent value names a key that is not in the
            grid, or has no values for one of its values.

    Example:
        >>> from kernelkit.benchmarks.grids import by_depth, configs
        >>> len(configs({"depth": [1, 2], "width": [8], "epochs": 3}))
        2
        >>> [(c["depth"], c["learning_rate"]) for c in configs(
        ...     {"depth": [2, 4], "learning_rate": by_depth({2: [10.0], 4: [1.0, 0.1]})})]
        [(2, 10.0), (4, 1.0), (4, 0.1)]
    """
    def dependent(v: object) -> bool:
        return isinstance(v, dict) and set(v) == {"by", "values"}

    fixed = {k: v for k, v in method_grid.items() if not isinstance(v, list) and not dependent(v)}
    out = [fixed]
    for key, values in method_grid.items():
        if isinstance(values, list):
            out = [{**c, key: v} for c in out for v in values]
    for key, rule in method_grid.items():
        if not dependent(rule):
            continue
        expanded = []
        for c in out:
            if rule["by"] not in c:
                raise InputError(f"grid entry {key!r} depends on {rule['by']!r}, which the "
                                 "grid does not set.")
            choice = rule["values"].get(str(c[rule["by"]]))
            if choice is None:
                raise InputError(f"grid entry {key!r} has no values for {rule['by']} = "
                                 f"{c[rule['by']]!r}; give them in its 'values'.")
            expanded += [{**c, key: v} for v in (choice if isinstance(choice, list) else [choice])]
        out = expanded
    return out


def _value(value: object) -> str:
    if isinstance(value, dict) and set(value) == {"by", "values"}:
        return "{" + "; ".join(f"{k}: {_value(v)}" for k, v in value["values"].items()) \
            + "} by " + value["by"]
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
    if spec.get("max_n"):
        lines.append(f"  training sets above {spec['max_n']} rows subsampled (--max-n overrides)")
    lams = spec["lam_tilde"]
    lines.append(f"  lam_tilde: {len(lams)} values, {min(lams):g} .. {max(lams):g}")
    return "\n".join(lines)
