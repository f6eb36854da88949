"""The suites: which units of work a run consists of, and how one unit runs.

A *unit* is a plain dict (picklable, JSON-able): the identity fields of the
results table (suite, dataset, fold, split, method, config, seed), the
lam_tilde values to score and a ``data`` spec to rebuild its task in any
process. `plan` yields the units of a suite in phases (UCI's test folds
depend on the choices made on the validation half); `execute` runs one.
"""

from __future__ import annotations

import functools
import json
import math
import time
from typing import Any, Callable, Iterator

import numpy as np

from kernelkit.benchmarks.grids import configs
from kernelkit.benchmarks.methods import Entry, Task, run_method
from kernelkit.benchmarks.unitrun import classify
from kernelkit.errors import DataError

def _unit(suite: str, protocol: str, dataset: str, setting: str, fold: str, split: str,
          method: str, config: dict, seed: int, lams: list, data: dict,
          rung: int | None = None) -> dict:
    unit = {"suite": suite, "protocol": protocol, "dataset": dataset, "setting": setting,
            "fold": fold, "split": split, "method": method,
            "config": json.dumps(config, sort_keys=True), "seed": int(seed),
            "lams": list(lams), "data": data}
    if rung is not None:  # successive halving (kernelkit.benchmarks.halving)
        unit["rung"] = int(rung)
    return unit


def _method_units(suite: str, grid: dict, seeds: list[int], dataset: str, data: dict,
                  setting: Callable[[dict], str], fold: str = "test", split: str = "test",
                  protocol: str = "") -> list[dict]:
    units = []
    for method in grid["methods"]:
        for config in configs(grid[method]):
            for seed in seeds:
                units.append(_unit(suite, protocol, dataset, setting(config), fold, split,
                                   method, config, seed, grid["lam_tilde"], data))
    return units


def _architecture(config: dict) -> str:
    return f"depth={config['depth']}, width={config['width']}"


# ----------------------------------------------------------------- planning
def plan_synthetic(grid: dict, seeds: list[int], **_: Any) -> Iterator[list[dict]]:
    """Figure 1: every (gamma, sigma) setting, seed and method; one phase."""
    units = []
    for gamma, sigma in grid["settings"]:
        label = f"gamma={gamma:g}, sigma={sigma:g}"
        data = {"kind": "synthetic", "gamma": gamma, "sigma": sigma, "d": grid["d"],
                "n_train": grid["n_train"], "n_test": grid["n_test"]}
        units += _method_units("synthetic", grid, seeds, label, data, lambda c, s=label: s)
    yield units


def plan_binary(suite: str) -> Callable[..., Iterator[list[dict]]]:
    """Figure 2 (MNIST 7 vs 9, Higgs): architectures x seeds x methods; one phase."""

    def plan(grid: dict, seeds: list[int], root: str, **_: Any) -> Iterator[list[dict]]:
        data = {"kind": suite, "root": root, "n_train": grid["n_train"],
                "n_test": grid["n_test"]}
        yield _method_units(suite, grid, seeds, suite, data, _architecture)

    return plan


def plan_uci(grid: dict, seeds: list[int], root: str, datasets: Any = None,
             max_n: int | None = None, protocol: str = "arora", results: Any = None,
             on_skip: Callable[[str, str], None] | None = None, halving: bool = False,
             **_: Any) -> Iterator[list[dict]]:
    """UCI: the validation half for every configuration; then (arora) the 4 folds.

    Protocol ``kare`` instead runs every configuration on each of the 4
    folds in one phase (`_kare_units`): KARE chooses afterwards. With
    ``halving`` it runs successive halving on the 4 folds instead, one phase
    per rung (`_halving_phases`).

    Phase 1 scores every configuration and lam_tilde on the validation half of
    ``conxuntos.dat``. Phase 2 (protocol ``arora`` only) retrains the best
    configuration and lam_tilde of each (data set, method) on each of the 4
    folds of ``conxuntos_kfold.dat`` and scores its test fold. ``results``
    is a callable returning the results table so far (to make the choice).
    """
    from kernelkit.data.uci import iter_uci

    names = []
    for ds in iter_uci(root, datasets, on_error=lambda name, err: on_skip and on_skip(name, str(err))):
        names.append((ds.name, ds.n_classes))
    if protocol == "kare":
        if halving:
            yield from _halving_phases(grid, seeds, root, names, max_n, results)
        else:
            yield list(_kare_units(grid, seeds, root, names, max_n))
        return
    val = []
    for name, _classes in names:
        data = {"kind": "uci", "root": root, "name": name, "fold": "val", "max_n": max_n}
        val += _method_units("uci", grid, seeds, name, data, lambda c, s=name: s,
                             fold="val", split="val", protocol=protocol)
    yield val
    if protocol != "arora":
        return
    table = _in_plan_order(results(), val)
    tests = []
    for name, _classes in names:
        for method, config, lams, keep in select_on_validation(table, name):
            for fold in range(4):
                data = {"kind": "uci", "root": root, "name": name, "fold": fold, "max_n": max_n}
                for seed in seeds:
                    unit = _unit("uci", protocol, name, name, str(fold), "test", method,
                                 config, seed, lams, data)
                    tests.append({**unit, "keep": keep})
    yield tests


def _kare_units(grid: dict, seeds: list[int], root: str, names: list, max_n: int | None
                ) -> Iterator[dict]:
    """Protocol ``kare``: every configuration on each of the 4 training folds, test fold scored.

    No validation split: each fold's whole training set trains, and the
    choice of configuration and lam_tilde is made afterwards from the rows'
    own KARE (`kernelkit.benchmarks.uci_metrics.kare_selection`).
    """
    for name, _classes in names:
        for fold in range(4):
            data = {"kind": "uci", "root": root, "name": name, "fold": fold, "max_n": max_n}
            yield from _method_units("uci", grid, seeds, name, data, lambda c, s=name: s,
                                     fold=str(fold), split="test", protocol="kare")


def _halving_phases(grid: dict, seeds: list[int], root: str, names: list, max_n: int | None,
                    results: Callable[[], Any]) -> Iterator[list[dict]]:
    """Protocol ``kare`` with successive halving: one phase per rung, on each of the 4 folds.

    Phase 1: every configuration of the methods without epochs (run once) and
    every configuration of the trained ones at the first rung's epochs. Each
    later phase: in every (data set, fold, method), the `halving.survivors`
    of the previous rung (by its rows' KARE) at the next rung's epochs. The
    rungs are those of the largest ``epochs`` in the method's grid.
    """
    from kernelkit.benchmarks import halving

    def units(name: str, fold: int, method: str, config: dict, rung: int | None) -> list:
        data = {"kind": "uci", "root": root, "name": name, "fold": fold, "max_n": max_n}
        return [_unit("uci", "kare", name, name, str(fold), "test", method, config, seed,
                      grid["lam_tilde"], data, rung) for seed in seeds]

    alive: dict = {}  # (data set, fold, method) -> its full configurations still in the race
    rungs: dict = {}  # method -> the epochs of its rungs
    first = []
    for name, _classes in names:
        for fold in range(4):
            for method in grid["methods"]:
                planned = configs(grid[method])
                for config in planned:
                    if not halving.is_halved(config):
                        first += units(name, fold, method, config, None)
                trained = [c for c in planned if halving.is_halved(c)]
                if trained:
                    rungs[method] = halving.rung_epochs(max(c["epochs"] for c in trained))
                    alive[(name, fold, method)] = trained

    def at_rung(config: dict, rung: int, method: str) -> dict:
        if rung == len(rungs[method]) - 1:
            return config  # the full training: exactly the unhalved configuration
        return halving.at_epochs(config, min(rungs[method][rung], config["epochs"]))

    for (name, fold, method), trained in alive.items():
        for config in trained:
            first += units(name, fold, method, at_rung(config, 0, method), 0)
    yield first
    for rung in range(1, max((len(e) for e in rungs.values()), default=1)):
        table = results()
        phase = []
        for (name, fold, method), trained in alive.items():
            if rung >= len(rungs[method]):
                continue
            previous = {json.dumps(at_rung(c, rung - 1, method), sort_keys=True): c
                        for c in trained}
            scored = "after-ntk" if method == "network" else method  # the network's KARE
            rows = table[(table["dataset"] == name) & (table["fold"].astype(str) == str(fold))
                         & (table["protocol"] == "kare") & (table["rung"] == rung - 1)
                         & (table["method"] == scored)]
            kept = halving.survivors(halving.rung_scores(rows), list(previous))
            alive[(name, fold, method)] = [previous[c] for c in kept]
            for config in alive[(name, fold, method)]:
                phase += units(name, fold, method, at_rung(config, rung, method), rung)
        yield phase


def _in_plan_order(table: Any, units: list[dict]) -> Any:
    """The rows in the order of the planned units (engines finish units in any order).

    Ties in `select_on_validation` go to the first configuration in grid
    order; this makes that independent of the order in which units finished.
    """
    rank: dict = {}
    for unit in units:
        rank.setdefault((unit["dataset"], unit["config"]), len(rank))
    keys = [rank.get(k, len(rank)) for k in zip(table["dataset"], table["config"])]
    return table.iloc[np.argsort(np.asarray(keys), kind="stable")]


def select_on_validation(table: Any, dataset: str) -> list[tuple[str, dict, list, list]]:
    """The best configuration and lam_tilde of every reported method on the validation half.

    The mean validation accuracy over seeds decides; ties go to the first
    configuration in grid order and the smallest lam_tilde. "dnn" and
    "after-ntk" come from one ``network`` fit: each gets its own best, and a
    configuration chosen by both runs once.

    Returns:
        ``(method group, config, lam_tilde values, methods to report)`` per unit to run.
    """
    rows = table[(table["dataset"] == dataset) & (table["split"] == "val")
                 & (table["status"] == "ok")]
    units: dict = {}
    for method, group in rows.groupby("method", sort=False):
        mean = group.groupby(["config", "lam_tilde"], sort=False, dropna=False)["value"].mean()
        config, lam = mean.idxmax()
        unit_method = "network" if method in ("dnn", "after-ntk") else method
        lams, keep = units.setdefault((unit_method, config), ([], []))
        if not math.isnan(lam):
            lams.append(float(lam))
        keep.append(method)
    return [(m, json.loads(c), lams, keep) for (m, c), (lams, keep) in units.items()]


PLANS = {"synthetic": plan_synthetic, "uci": plan_uci, "mnist": plan_binary("mnist"),
         "higgs": plan_binary("higgs")}


# ---------------------------------------------------------------- execution
@functools.lru_cache(maxsize=8)
def _load(spec: str, seed: int, dtype: str) -> tuple[Task, dict]:
    """The task of a data spec (cached per process)."""
    data = json.loads(spec)
    kind = data["kind"]
    if kind == "synthetic":
        from kernelkit.data.synthetic import make_synthetic

        arrays = make_synthetic(n_train=data["n_train"], n_test=data["n_test"], d=data["d"],
                                gamma=data["gamma"], sigma=data["sigma"], seed=seed)
        return Task(*arrays, kind="regression", dtype=dtype), {"classes": 0}
    if kind in ("mnist", "higgs"):
        if kind == "mnist":
            from kernelkit.data.mnist import load_mnist_7v9 as load
        else:
            from kernelkit.data.higgs import load_higgs as load
        arrays = load(data["root"], n_train=data["n_train"], n_test=data["n_test"], seed=seed)
        return Task(*arrays, kind="regression", dtype=dtype), {"classes": 2}
    return _uci_task(data, seed, dtype)


def _uci_task(data: dict, seed: int, dtype: str) -> tuple[Task, dict]:
    from kernelkit.data.uci import UCIScaler

    ds = _load_uci_cached(data["root"], data["name"])
    fold = data["fold"]
    train, test = ds.validation if fold == "val" else ds.folds[int(fold)]
    max_n = data.get("max_n")
    if max_n and len(train) > max_n:
        rng = np.random.default_rng([seed, 0 if fold == "val" else int(fold) + 1])
        train = np.sort(rng.choice(train, size=max_n, replace=False))
    scaler = UCIScaler().fit(ds.X[train])
    task = Task(scaler.transform(ds.X[train]), ds.y[train], scaler.transform(ds.X[test]),
                ds.y[test], kind="classification", dtype=dtype)
    return task, {"classes": ds.n_classes}


@functools.lru_cache(maxsize=4)
def _load_uci_cached(root: str, name: str) -> Any:
    from kernelkit.data.uci import load_uci

    return load_uci(root, name)


def execute(unit: dict, dtype: str = "float32") -> list[dict]:
    """Run one unit and return its result rows (never raises for a failed fit).

    A data or fitting error becomes one row with status ``failed`` (or
    ``skipped`` for a data error) and the reason; a diverged KARE training
    keeps its (finite, restored) predictions with status ``diverged``. Out of
    memory raises (engines retry it once). Engines call it through
    `kernelkit.benchmarks.unitrun.run_unit`, which adds the unit's memory peak.
    """
    base = {k: unit[k] for k in ("suite", "protocol", "dataset", "setting", "fold", "split",
                                 "config", "seed")}
    base["rung"] = unit.get("rung")
    metric = "mse" if unit["suite"] != "uci" else "accuracy"
    start = time.perf_counter()
    try:
        task, info = _load(json.dumps(unit["data"], sort_keys=True), unit["seed"], dtype)
    except DataError as err:
        return [{**base, "method": unit["method"], "metric": metric, "value": math.nan,
                 "status": "skipped", "reason": str(err)}]
    sizes = {"n_train": len(task.X_train), "n_test": len(task.X_test),
             "d": task.X_train.shape[1], "classes": info["classes"]}
    try:
        entries = run_method(unit["method"], task, json.loads(unit["config"]), unit["seed"],
                             unit["lams"])
    except Exception as err:  # noqa: BLE001 - a failed fit is a result, not a crash
        if classify(err) == "oom":
            raise  # the engine retries it, then records status "oom"
        entries = [Entry(unit["method"], math.nan, math.nan, "failed",
                         f"{type(err).__name__}: {err}"[:500])]
    if "keep" in unit:
        entries = [e for e in entries if e.method in unit["keep"] or e.status == "failed"]
    elapsed = time.perf_counter() - start
    return [{**base, **sizes, "method": e.method, "lam_tilde": e.lam_tilde,
             "metric": task.metric, "value": e.value, "status": e.status, "reason": e.reason,
             "solver": e.solver, "fit_time_s": elapsed, **e.checks, "suspect": e.suspect}
            for e in entries]
