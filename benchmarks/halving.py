"""Successive halving for ``--protocol kare --halving``: the rungs and who survives them.

Every configuration of a trained method (one whose configuration has
``epochs > 0``: NTK-KARE, the network, the deep kernel) first trains for a
fraction of its epochs; in each (data set, fold, method) the best `KEEP` of
them by KARE go on to the next rung, and so on until the last rung, which is
the full training. Only the configurations that reach the last rung can be
chosen (`kernelkit.benchmarks.uci_metrics.kare_selection`). Methods without
epochs (Gaussian, Laplace, RFM) have nothing to halve: they run once.

A rung retrains from scratch with the same seed for its number of epochs.
Kernelkit's seeded training then takes the same steps as continuing the
previous rung would (the initialisation, the per-epoch batch order and the
optimiser's state are a prefix of the longer run's), so it reaches the same
weights up to rounding, but it redoes the earlier epochs: with the rungs at
1/9, 1/3 and all of the epochs and a third kept, the trained methods cost
N E (1/9 + 1/9 + 1/9) = N E / 3 epochs instead of N E (N configurations of
E epochs).
"""

from __future__ import annotations

import json
import math
from typing import Sequence

import numpy as np
import pandas as pd

#: The rungs, as fractions of the configuration's epochs (the last is the full training).
RUNG_FRACTIONS: tuple[float, ...] = (1 / 9, 1 / 3, 1.0)
#: The fraction of a rung's configurations (rounded up, at least one) that go on.
KEEP: float = 1 / 3


def is_halved(config: dict) -> bool:
    """Whether a configuration trains for epochs (and is therefore halved)."""
    return int(config.get("epochs") or 0) > 0


def rung_epochs(epochs: int, fractions: Sequence[float] = RUNG_FRACTIONS) -> list[int]:
    """The epochs of each rung: ``ceil(epochs * fraction)``, at least 1, without repeats.

    Example:
        >>> from kernelkit.benchmarks.halving import rung_epochs
        >>> rung_epochs(300), rung_epochs(100), rung_epochs(2)
        ([34, 100, 300], [12, 34, 100], [1, 2])
    """
    out: list[int] = []
    for fraction in fractions:
        e = max(1, math.ceil(epochs * fraction - 1e-9))
        if not out or e > out[-1]:
            out.append(min(e, epochs))
    if out[-1] != epochs:
        out.append(epochs)
    return out


def at_epochs(config: dict, epochs: int) -> dict:
    """The configuration trained for ``epochs`` (a rung's version of it)."""
    return {**config, "epochs": int(epochs)}


def n_kept(n: int, keep: float = KEEP) -> int:
    """How many of ``n`` configurations go on to the next rung (rounded up, at least 1)."""
    return max(1, math.ceil(n * keep - 1e-9)) if n else 0


def rung_scores(rows: pd.DataFrame) -> pd.Series:
    """Each configuration's score at a rung: the smallest over lam_tilde of the mean KARE over seeds.

    ``rows`` are the ``ok`` rows with a finite ``kare`` of one (data set,
    fold) and one kernel method (for the network: its ``after-ntk`` rows, the
    KARE that also chooses the DNN). Index: the ``config`` strings.
    """
    rows = rows[(rows["status"] == "ok") & np.isfinite(rows["kare"].astype(float))]
    mean = rows.groupby(["config", "lam_tilde"], sort=False)["kare"].mean()
    return mean.groupby(level="config", sort=False).min()


def survivors(scores: pd.Series, planned: Sequence[str], keep: float = KEEP) -> list[str]:
    """The configurations (from ``planned``, in its order) that go on to the next rung.

    The `n_kept` of ``len(planned)`` with the smallest score; ties go to the
    first in ``planned`` (grid) order. A planned configuration without a
    score (it failed or diverged at every seed) never goes on.

    Example:
        >>> import pandas as pd
        >>> from kernelkit.benchmarks.halving import survivors
        >>> survivors(pd.Series({"a": 0.3, "b": 0.1, "c": 0.2}), ["a", "b", "c"], keep=0.5)
        ['b', 'c']
    """
    scored = [(float(scores[c]), i, c) for i, c in enumerate(planned)
              if c in scores.index and math.isfinite(float(scores[c]))]
    best = sorted(scored)[:n_kept(len(planned), keep)]
    return [c for _, _, c in sorted(best, key=lambda t: t[1])]


def base_config(config: str) -> str:
    """A rung's configuration string with its epochs removed (one name for all its rungs)."""
    data = json.loads(config)
    data.pop("epochs", None)
    return json.dumps(data, sort_keys=True)


def halving_record(rows: pd.DataFrame) -> pd.DataFrame:
    """Which rung every halved configuration reached, and its KARE at each rung.

    One row per (data set, method, fold, configuration without its epochs)
    of the rows that carry a ``rung``: ``rung`` (the last one it reached,
    counted from 0), ``epochs`` (trained there) and ``kare_rung_R`` (its
    `rung_scores` score at rung R). The DNN's row is its network's (chosen by
    the after-training NTK's KARE), so the method column says ``network``.

    Example:
        >>> import pandas as pd
        >>> from kernelkit.benchmarks.halving import halving_record
        >>> rows = pd.DataFrame(dict(dataset="iris", method="ntk-kare", fold="0", seed=0,
        ...     lam_tilde=0.1, status="ok", kare=[0.3, 0.2, 0.1], rung=[0, 0, 1],
        ...     config=['{"epochs": 1, "lr": 1}', '{"epochs": 1, "lr": 2}',
        ...             '{"epochs": 3, "lr": 2}']))
        >>> halving_record(rows)[["config", "rung", "epochs"]].values.tolist()
        [['{"lr": 1}', 0, 1], ['{"lr": 2}', 1, 3]]
    """
    rows = rows[rows["rung"].notna() & (rows["method"] != "dnn")]
    rows = rows.assign(method=rows["method"].replace({"after-ntk": "network"}),
                       rung=rows["rung"].astype(int))
    out = []
    for (dataset, method, fold), group in rows.groupby(["dataset", "method", "fold"], sort=False):
        configs: dict[str, dict] = {}
        for rung, at in group.groupby("rung", sort=True):
            for config, score in rung_scores(at).reindex(at["config"].unique()).items():
                record = configs.setdefault(base_config(config), {
                    "dataset": dataset, "method": method, "fold": fold,
                    "config": base_config(config)})
                record.update(rung=int(rung), epochs=int(json.loads(config)["epochs"]))
                record[f"kare_rung_{rung}"] = float(score)
        out += list(configs.values())
    return pd.DataFrame(out)
