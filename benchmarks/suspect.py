"""Suspect kernel fits: checks of a KRR fit against the trivial predictor and against KARE.

A *fit* is one trained (or fixed) kernel of one unit; its rows are the KRR
predictors at each lam_tilde of the unit. Every row records, in the squared
error of the targets KRR fits (regression values; classification codes in
{-1, +1}, one column per class, one column for two classes):

- ``train_mse``: KRR's error on its own training set;
- ``train_mean_mse``: the error there of predicting the training mean;
- ``kare``: KARE(Y, K, z = lam) of the training data: the validation-free
  estimate of that predictor's risk;
- ``heldout_mse``: KRR's error on the points the row scores (validation
  half or test set);
- ``heldout_mean_mse``: the error there of predicting the training mean.

The fit is judged once, at *its own* choice of lam_tilde: the one of the
unit's grid with the smallest KARE (training data alone; an honest choice,
no held-out data involved). It is **suspect** when, at that lam_tilde,

- ``train``: its training error exceeds the training-mean predictor's
  (``train_mse > train_mean_mse``): it fits its own data worse than a
  constant;
- ``heldout``: its held-out error exceeds the training-mean predictor's
  (``heldout_mse > heldout_mean_mse``);
- ``kare``: KARE and the held-out error disagree grossly: one exceeds the
  other by more than `RATIO` (4x) **and** they differ by more than
  `FLOOR` (10%) of ``heldout_mean_mse`` (the scale of the targets, so that
  a noiseless task's 1e-4 against 1e-3 is not "gross").

The flag text (``suspect`` column, on every row of the fit; empty when
the fit passes) names the failed checks with the numbers that triggered
them. The held-out numbers are diagnostics only: nothing chooses a
configuration by them. The DNN rows (no kernel) are not judged.

Example:
    >>> import numpy as np
    >>> from kernelkit.benchmarks.suspect import judge
    >>> y = np.array([[1.0], [-1.0], [1.0], [-1.0]])
    >>> checks, flag = judge(y, [y * 0.9], [0.02], y, [-y], lams=[1e-3])
    >>> flag.split("; ")[0]
    'heldout: held-out MSE 4 > 1 (training-mean predictor) at lam_tilde 0.001'
    >>> [part.split(":")[0] for part in flag.split("; ")]
    ['heldout', 'kare']
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

#: KARE and held-out error "disagree grossly" when one is more than RATIO times the other ...
RATIO = 4.0
#: ... and they differ by more than FLOOR x the held-out error of the training-mean predictor.
FLOOR = 0.1
#: The numeric columns each kernel row carries (see the module docstring).
CHECK_COLUMNS = ("train_mse", "train_mean_mse", "kare", "heldout_mse", "heldout_mean_mse")


def _mse(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2))


def _columns(y: np.ndarray) -> np.ndarray:
    y = np.asarray(y, dtype=np.float64)
    return y.reshape(len(y), -1)


def judge(Y_train: np.ndarray, train_path: Sequence[np.ndarray], kares: Sequence[float],
          Y_heldout: np.ndarray, heldout_path: Sequence[np.ndarray],
          lams: Sequence[float]) -> tuple[list[dict], str]:
    """The check numbers of each lam_tilde and the fit's flag text ('' if not suspect).

    Args:
        Y_train: Training targets ``(n,)`` or ``(n, c)`` (codes for classification).
        train_path: KRR predictions on the training inputs, one per lam_tilde.
        kares: KARE at each lam_tilde.
        Y_heldout: Held-out targets, like ``Y_train``.
        heldout_path: KRR predictions on the held-out inputs, one per lam_tilde.
        lams: The lam_tilde values.

    Returns:
        ``(checks, flag)``: one dict of `CHECK_COLUMNS` per lam_tilde, and the flag.
    """
    Yt, Yh = _columns(Y_train), _columns(Y_heldout)
    mean = Yt.mean(axis=0, keepdims=True)
    base_train, base_held = _mse(Yt, mean), _mse(Yh, mean)
    checks = [{"train_mse": _mse(_columns(pt), Yt), "train_mean_mse": base_train,
               "kare": float(k), "heldout_mse": _mse(_columns(ph), Yh),
               "heldout_mean_mse": base_held}
              for pt, k, ph in zip(train_path, kares, heldout_path)]
    finite = [i for i, c in enumerate(checks) if math.isfinite(c["kare"])]
    if not finite:
        return checks, ""
    best = min(finite, key=lambda i: checks[i]["kare"])
    return checks, flag_text(checks[best], lams[best])


def flag_text(c: dict, lam: float) -> str:
    """The failed checks of one row's numbers (``''``: none), each with its numbers."""
    at = f"at lam_tilde {lam:g}"
    out = []
    if c["train_mse"] > c["train_mean_mse"]:
        out.append(f"train: training MSE {c['train_mse']:.3g} > {c['train_mean_mse']:.3g} "
                   f"(training-mean predictor) {at}")
    if c["heldout_mse"] > c["heldout_mean_mse"]:
        out.append(f"heldout: held-out MSE {c['heldout_mse']:.3g} > "
                   f"{c['heldout_mean_mse']:.3g} (training-mean predictor) {at}")
    kare, held = c["kare"], c["heldout_mse"]
    lo, hi = min(kare, held), max(kare, held)
    if hi > RATIO * max(lo, 0.0) and hi - lo > FLOOR * c["heldout_mean_mse"]:
        factor = hi / lo if lo > 0 else math.inf
        out.append(f"kare: KARE {kare:.3g} vs held-out MSE {held:.3g} (x{factor:.3g}, "
                   f"gross: > x{RATIO:g} and > {FLOOR:g} x {c['heldout_mean_mse']:.3g}) {at}")
    return "; ".join(out)


def is_suspect(flags: "Sequence[object]") -> np.ndarray:
    """Boolean mask of rows whose ``suspect`` column holds a flag (NaN/None/'' do not)."""
    return np.array([isinstance(f, str) and f != "" for f in flags], dtype=bool)
