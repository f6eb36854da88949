"""Run a suite: plan its units, skip finished ones, hand them to an engine, record.

The executing process must have its Keras backend, threads and devices set
before this module runs anything (``kernelkit bench`` does that). The engine
(`kernelkit.benchmarks.engines`) runs the units in this process, in worker
processes or on a Ray cluster, each worker set up the same way; results are
written by this process only, so a run resumes on any engine.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import math
import os
import pathlib
import platform
import subprocess
import sys
from typing import Protocol

import pandas as pd

from kernelkit.benchmarks._framework import load_only
from kernelkit.benchmarks.engines import make_engine
from kernelkit.benchmarks.rayengine import import_ray
from kernelkit.benchmarks.grids import get_grid
from kernelkit.benchmarks.results import ResultStore, atomic_write_text
from kernelkit.benchmarks.suites import PLANS, execute


class Reporter(Protocol):
    """What the runner tells its caller (the CLI draws progress bars from it)."""

    def phase(self, label: str, total: int, done: int) -> None: ...
    def unit_started(self, unit: dict) -> None: ...
    def unit_done(self, unit: dict, rows: list[dict]) -> None: ...
    def log(self, message: str) -> None: ...


class _Silent:
    def phase(self, label: str, total: int, done: int) -> None:
        pass

    def unit_started(self, unit: dict) -> None:
        pass

    def unit_done(self, unit: dict, rows: list[dict]) -> None:
        pass

    def log(self, message: str) -> None:
        pass


@dataclasses.dataclass
class RunOptions:
    """Everything that defines a benchmark run (recorded in ``run.json``)."""

    suite: str
    out: str
    grid: str = "quick"
    seeds: list[int] | None = None
    data_dir: str | None = None
    datasets: list[str] | None = None
    max_n: int | None = None
    protocol: str = "arora"
    halving: bool = False
    fmt: str = "csv"
    resume: bool = False
    workers: int | None = None
    engine: str = "local"
    address: str | None = None
    cpus_per_unit: float = 1.0
    gpus_per_unit: float = 0.0
    unit_timeout: float | None = None
    dtype: str = "float32"
    solver: str = "auto"
    threads: int = 1
    device: str = "cpu"
    reference: str | None = None
    env: dict = dataclasses.field(default_factory=dict)


def run_suite(options: RunOptions, reporter: Reporter | None = None) -> pd.DataFrame:
    """Run (or resume) a suite and return its full results table.

    Args:
        options: The run's options.
        reporter: Progress and log receiver (default: silent).

    Returns:
        The results table (every row of this run and of the resumed one).

    Raises:
        DataError: The suite's data folder cannot be found.
        InputError: Bad options, or ``out`` holds results and ``resume`` is off.

    Example:
        >>> from kernelkit.benchmarks.runner import RunOptions, run_suite  # doctest: +SKIP
        >>> table = run_suite(RunOptions("synthetic", "results/synthetic"))  # doctest: +SKIP
    """
    reporter = reporter or _Silent()
    if options.engine == "ray":
        import_ray()  # fail before anything is written when Ray is missing
    grid = get_grid(options.suite, options.grid)
    if options.solver != "auto":  # a requested path is part of each unit's configuration
        for method in grid["methods"]:
            grid[method]["solver"] = options.solver
    seeds = options.seeds if options.seeds is not None else list(range(grid["seeds"]))
    root = None
    if options.suite != "synthetic":
        from kernelkit.data.paths import resolve_data_dir

        root = str(resolve_data_dir(options.suite, options.data_dir))
    store = ResultStore(options.out, options.fmt, resume=options.resume)
    _write_run_record(store.dir, options, grid, seeds, root)

    def on_skip(name: str, reason: str) -> None:
        reporter.log(f"skipped {name}: {reason}")
        unit = {"suite": options.suite, "protocol": options.protocol, "dataset": name,
                "setting": name, "fold": "", "split": "", "method": "", "config": "{}",
                "seed": 0}
        if not store.done(unit):
            store.add(unit, [{**unit, "metric": "accuracy", "value": math.nan,
                              "status": "skipped", "reason": reason}])

    plan = PLANS[options.suite](grid=grid, seeds=seeds, root=root, datasets=options.datasets,
                                max_n=_max_n(options, grid), protocol=options.protocol,
                                results=store.table, on_skip=on_skip, halving=options.halving)
    undo = load_only(options.env.get("KERAS_BACKEND", "tensorflow"))  # in-process units
    engine = None
    try:
        engine = make_engine(options.engine, dtype=options.dtype, env=options.env,
                             threads=options.threads, workers=options.workers,
                             timeout=options.unit_timeout, address=options.address,
                             cpus_per_unit=options.cpus_per_unit,
                             gpus_per_unit=options.gpus_per_unit)
        for number, units in enumerate(plan, start=1):
            todo = [u for u in units if not store.done(u)]
            label = _phase_label(options, number)
            reporter.phase(label, len(units), len(units) - len(todo))
            for unit, rows in engine.run(todo, on_start=getattr(reporter, "unit_started", None)):
                store.add(unit, rows)
                reporter.unit_done(unit, rows)
    finally:  # also on Ctrl-C: the journal holds every finished unit, the table is written
        if engine is not None:
            engine.close()
        store.close()
        undo()
    return store.table()


def _phase_label(options: RunOptions, number: int) -> str:
    if options.suite != "uci":
        return options.suite
    if options.protocol == "kare" and options.halving:
        return f"uci: successive halving on the 4 folds (kare), rung {number - 1}"
    if options.protocol == "kare":
        return "uci: every configuration on the 4 folds (kare)"
    return "uci: validation half" if number == 1 else "uci: 4 test folds"


def _git_revision() -> str:
    here = pathlib.Path(__file__).resolve().parent
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True,
                             text=True, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=here, capture_output=True,
                               text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    if out.returncode != 0:
        return "unknown (not a git checkout)"
    return out.stdout.strip() + (" (uncommitted changes)" if dirty else "")


def environment_record() -> dict:
    """Versions, backend, devices, dtype and TF32 state of this process."""
    import keras
    import numpy as np

    import kernelkit
    from kernelkit import backends

    return {
        "kernelkit": kernelkit.__version__, "keras": keras.__version__,
        "backend": backends.BACKEND, f"{backends.BACKEND}_version": backends.framework_version(),
        "numpy": np.__version__, "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}",
        "devices": backends.device_summary(), "float64_available": backends.float64_enabled(),
        "tf32_allowed_outside_kernel_work": backends.tf32_enabled(),
        "tf32_in_kernel_work": False, "git_revision": _git_revision(),
    }


def _max_n(options: RunOptions, grid: dict) -> int | None:
    """The training-set cap: ``--max-n`` where given, else the grid's ``max_n`` (None: no cap)."""
    return options.max_n if options.max_n is not None else grid.get("max_n")


def _write_run_record(out: pathlib.Path, options: RunOptions, grid: dict, seeds: list,
                      root: str | None) -> None:
    path = out / "run.json"
    previous = json.loads(path.read_text()) if path.exists() else None
    record = {
        "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": sys.argv,
        "options": dataclasses.asdict(options), "grid": grid, "seeds": seeds, "data": root,
        "environment": environment_record(),
    }
    if previous is not None:  # --resume: keep the history of the run's sessions
        record["earlier_sessions"] = previous.get("earlier_sessions", []) + [
            {k: previous[k] for k in ("started", "command", "environment") if k in previous}]
    atomic_write_text(path, json.dumps(record, indent=2, default=str) + "\n")


