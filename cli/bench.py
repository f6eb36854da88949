"""``kernelkit bench SUITE`` and ``kernelkit plot RESULTS``.

``bench`` is a group with one subcommand per suite; they share the common
options (one decorator) and each adds its own (``--data-dir`` for the suites
with data, the UCI options), so ``kernelkit bench uci --help`` shows the UCI
options and quick grid.

Keras is imported only after ``--backend``, ``--device`` and ``--dtype`` have
set the environment. Progress bars and logs go to stderr; results go to files
and a summary table to stdout. Expected errors are one line and exit code 1;
bad options exit with 2.
"""

from __future__ import annotations

import os
import time
from typing import Any, Callable

import click

from kernelkit.benchmarks.grids import SUITES, describe_grid
from kernelkit.cli._backend import backend_option, select_backend as _select_backend

DTYPES = ("float32", "float64")


def _device_env(device: str, backend: str) -> dict:
    """Environment variables that pin the device (`kernelkit._environment.device_env`)."""
    from kernelkit._environment import device_env
    from kernelkit.errors import InputError

    try:
        return device_env(device, backend)
    except InputError as err:
        raise click.BadParameter(str(err), param_hint="--device") from None


def _check_gpu(device: str) -> None:
    from kernelkit import backends

    seen = backends.device_summary()
    if device != "cpu" and not any(tag in seen.lower() for tag in ("gpu", "cuda")):
        raise click.ClickException(
            f"--device {device}: the {backends.BACKEND} backend sees no GPU (devices: {seen}). "
            'Install the CUDA builds (pip install "kernelkit[cuda]") or use --device cpu.')


def _seeds(seed: int | None, seeds: int | None) -> list[int] | None:
    if seed is not None and seeds is not None:
        raise click.UsageError("give --seed or --seeds, not both.")
    if seed is not None:
        return [seed]
    if seeds is not None:
        if seeds < 1:
            raise click.BadParameter("must be at least 1.", param_hint="--seeds")
        return list(range(seeds))
    return None


class _RichReporter:
    """One progress bar per phase (finished, running, failed units, ETA) and logs on stderr."""

    def __init__(self, quiet: bool, verbose: bool) -> None:
        from rich.console import Console
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                   TimeElapsedColumn, TimeRemainingColumn)

        self.console = Console(stderr=True, quiet=quiet)
        self.verbose = verbose
        self.progress = Progress(TextColumn("{task.description}"), BarColumn(),
                                 MofNCompleteColumn(), TextColumn("{task.fields[state]}"),
                                 TimeElapsedColumn(), TimeRemainingColumn(),
                                 console=self.console, disable=quiet, transient=False)
        self.task = None
        self.running: set = set()
        self.failed = 0

    def __enter__(self) -> "_RichReporter":
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def _state(self) -> str:
        return f"{len(self.running)} running, {self.failed} failed"

    def phase(self, label: str, total: int, done: int) -> None:
        if done:
            self.log(f"{label}: {done} of {total} units already done (resumed)")
        self.running, self.failed = set(), 0
        self.task = self.progress.add_task(label, total=total, completed=done,
                                           state=self._state())

    def unit_started(self, unit: dict) -> None:
        self.running.add(id(unit))
        self.progress.update(self.task, state=self._state())

    def unit_done(self, unit: dict, rows: list[dict]) -> None:
        self.running.discard(id(unit))
        bad = [r for r in rows if r["status"] not in ("ok", "diverged")]
        self.failed += bool(bad)
        self.progress.update(self.task, advance=1, state=self._state())
        for row in bad[:1]:
            self.log(f"{row['status']}: {unit['dataset']} {unit['method']} fold {unit['fold']} "
                     f"seed {unit['seed']}: {row['reason']}")
        if self.verbose:
            host = rows[0].get("host") or "?" if rows else "?"
            self.log(f"done on {host}: {unit['dataset']} {unit['method']} {unit['config']} "
                     f"fold {unit['fold']} seed {unit['seed']}")

    def log(self, message: str) -> None:
        self.progress.console.print(message, markup=False, highlight=False)


def _options(*options: Any) -> Callable:
    """A decorator applying click options in the order listed (top to bottom in --help)."""

    def apply(func: Callable) -> Callable:
        for option in reversed(options):
            func = option(func)
        return func

    return apply


_common_options = _options(
    backend_option,
    click.option("--device", default="cpu", show_default=True, help="cpu, gpu or gpu:N."),
    click.option("--dtype", type=click.Choice(DTYPES), default="float32", show_default=True),
    click.option("--seed", type=int, default=None, help="Run this one seed."),
    click.option("--seeds", type=int, default=None,
                 help="Run seeds 0..N-1 (default: the grid's)."),
    click.option("--grid", default="quick", show_default=True,
                 help="quick (below), paper, medium (uci only), or a JSON file overriding the quick grid."),
    click.option("--out", "out", type=click.Path(file_okay=False), default=None,
                 help="Output folder (default: results/SUITE)."),
    click.option("--format", "fmt", type=click.Choice(["csv", "json", "parquet"]),
                 default="csv", show_default=True),
    click.option("--resume", is_flag=True,
                 help="Continue the run in --out; redo nothing finished."),
    click.option("--workers", type=int, default=None,
                 help="Units run at once: local worker processes (default 1: in this "
                      "process); ray: CPUs of the local cluster (default: all)."),
    click.option("--engine", type=click.Choice(["local", "ray"]), default="local",
                 show_default=True, help="Where units run: this machine, or Ray tasks."),
    click.option("--address", default=None,
                 help="ray: a running cluster (auto or HOST:PORT); default: a local one."),
    click.option("--cpus-per-unit", type=float, default=1.0, show_default=True,
                 help="ray: CPUs each unit asks for."),
    click.option("--gpus-per-unit", type=float, default=0.0, show_default=True,
                 help="ray: GPUs each unit asks for (fractions allowed)."),
    click.option("--unit-timeout", type=float, default=None,
                 help="Seconds a unit may run; then it is killed, retried once, recorded."),
    click.option("--solver", type=click.Choice(["auto", "dense", "features", "iterative"]),
                 default="auto",
                 show_default=True,
                 help="Solver path of KARE and KRR (auto: from n, P and memory; each row "
                      "records the one used)."),
    click.option("--threads", type=int, default=1, show_default=True,
                 help="CPU threads per process (1 is fastest on small machines)."),
    click.option("-v", "--verbose", is_flag=True, help="Log every finished unit."),
    click.option("-q", "--quiet", is_flag=True, help="No progress bars or logs."),
)
_data_option = click.option(
    "--data-dir", type=click.Path(file_okay=False), default=None,
    help="Folder holding this suite's data. "
         "Default: $KERNELKIT_DATA/<uci121|mnist|higgs>, then the download cache.")
_uci_options = _options(
    click.option("--datasets", default=None,
                 help="Comma-separated names or globs, e.g. 'iris,monks-*'."),
    click.option("--max-n", type=int, default=None,
                 help="Subsample training sets above N points (seeded)."),
    click.option("--protocol", type=click.Choice(["arora", "paper", "kare"]), default="arora",
                 show_default=True,
                 help="arora (honest: choose on validation, test on 4 folds), kare (honest, "
                      "no validation split: every configuration on the 4 folds, chosen by "
                      "its own KARE on the training data) or paper (ORACLE: best over the "
                      "grid on the validation half)."),
    click.option("--halving", is_flag=True,
                 help="With --protocol kare: successive halving. Every trained configuration "
                      "for 1/9 of its epochs, the best third by KARE on to 1/3, the best "
                      "third of those on to all of them (docs: kernelkit bench)."),
    click.option("--reference", type=click.Path(dir_okay=False, exists=True), default=None,
                 help="Fernandez-Delgado's accuracy table (delgado2014_results.txt) "
                      "for P90/P95/PMA/Friedman rank."),
)
#: suite -> (one-line help in ``bench --help``, its help text, its own options)
_SUITE_HELP = {
    "synthetic": ("Figure 1, the synthetic task (no data needed).",
                  "Figure 1: NTK-KARE, after-NTK and DNN on the synthetic task (eq. 9); "
                  "generates its own data.", ()),
    "uci": ("Accuracy on the UCI collection (121 data sets).",
            "The UCI collection (121 data sets): accuracy, P90/P95/PMA/Friedman rank; "
            "folders abalone/, ... in --data-dir.", (_data_option, _uci_options)),
    "mnist": ("Figure 2, MNIST 7 vs 9.", "Figure 2: MNIST 7 vs 9 (IDX files in --data-dir).",
              (_data_option,)),
    "higgs": ("Figure 2, Higgs.", "Figure 2: Higgs signal vs background (CSV in --data-dir).",
              (_data_option,)),
}


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def bench() -> None:
    """Run a benchmark suite: kernelkit bench SUITE [options] (SUITE --help: its grid)."""


def _suite_command(suite: str) -> click.Command:
    short, summary, extra = _SUITE_HELP[suite]

    def command(**opts: Any) -> None:
        _bench(suite, opts)

    for decorator in reversed(extra):
        command = decorator(command)
    command = _common_options(command)
    text = f"{summary}\n\n\b\n{describe_grid(suite, 'quick')}"
    return click.command(suite, help=text, short_help=short,
                         context_settings={"help_option_names": ["-h", "--help"]})(command)


def _bench(suite: str, opts: dict) -> None:
    """Run ``suite`` with the parsed options (the body of every ``bench SUITE``)."""
    opts = {"data_dir": None, "datasets": None, "max_n": None, "protocol": "arora",
            "reference": None, "halving": False, **opts}
    if opts["halving"] and opts["protocol"] != "kare":
        raise click.UsageError("--halving chooses by KARE: use it with --protocol kare.")
    if (opts["workers"] is not None and opts["workers"] < 1) or opts["threads"] < 1:
        raise click.UsageError("--workers and --threads must be at least 1.")
    if opts["unit_timeout"] is not None and opts["unit_timeout"] <= 0:
        raise click.BadParameter("must be positive (seconds).", param_hint="--unit-timeout")
    if opts["max_n"] is not None and opts["max_n"] < 2:
        raise click.BadParameter("must be at least 2.", param_hint="--max-n")
    from kernelkit.errors import KernelkitError

    if suite != "synthetic":  # no data: say so before any framework is imported
        from kernelkit.data.paths import resolve_data_dir

        try:
            resolve_data_dir(suite, opts["data_dir"])
        except KernelkitError as err:
            raise click.ClickException(str(err)) from None
    chosen = _select_backend(opts["backend"])
    env = {"KERAS_BACKEND": chosen, **_device_env(opts["device"], chosen)}
    if opts["dtype"] == "float64" and chosen == "jax":
        env["JAX_ENABLE_X64"] = "1"
    os.environ.update(env)
    from kernelkit._environment import apply_threads, limit_threads_env

    env.update(limit_threads_env(opts["threads"]))
    try:
        apply_threads(opts["threads"])
        _check_gpu(opts["device"])
        _run(suite, env, opts)
    except KernelkitError as err:
        raise click.ClickException(str(err)) from None


for _suite in SUITES:
    bench.add_command(_suite_command(_suite))


def _run(suite: str, env: dict, opts: dict) -> None:
    from kernelkit.benchmarks.runner import RunOptions, run_suite

    options = RunOptions(
        suite=suite, out=opts["out"] or os.path.join("results", suite), grid=opts["grid"],
        seeds=_seeds(opts["seed"], opts["seeds"]), data_dir=opts["data_dir"],
        datasets=opts["datasets"].split(",") if opts["datasets"] else None,
        max_n=opts["max_n"], protocol=opts["protocol"], halving=opts["halving"],
        fmt=opts["fmt"],
        resume=opts["resume"], workers=opts["workers"], engine=opts["engine"],
        address=opts["address"], cpus_per_unit=opts["cpus_per_unit"],
        gpus_per_unit=opts["gpus_per_unit"], unit_timeout=opts["unit_timeout"],
        dtype=opts["dtype"], solver=opts["solver"],
        threads=opts["threads"], device=opts["device"], reference=opts["reference"], env=env)
    start = time.perf_counter()
    with _RichReporter(opts["quiet"], opts["verbose"]) as reporter:
        table = run_suite(options, reporter)
        reporter.log(f"{len(table)} rows in {options.out} "
                     f"({time.perf_counter() - start:.1f} s this session)")
    from kernelkit.cli._summary import print_summary

    print_summary(table, options)


@click.command()
@click.argument("results", type=click.Path(exists=True))
@click.option("--out", "out", type=click.Path(file_okay=False), default=None,
              help="Folder for the figures (default: RESULTS' folder).")
@click.option("--reference", type=click.Path(dir_okay=False, exists=True), default=None,
              help="uci: Fernandez-Delgado's table, to draw the best reference classifiers.")
@click.option("--format", "formats", type=click.Choice(["png", "pdf"]), multiple=True,
              default=("png", "pdf"), show_default=True)
def plot(results: str, out: str | None, reference: str | None, formats: tuple) -> None:
    """Draw the figures of a results file or run folder (PNG and PDF)."""
    from kernelkit.errors import KernelkitError

    try:
        from kernelkit.benchmarks.plots import plot_results
        from kernelkit.benchmarks.results import read_results

        table = read_results(results)
        folder = out or (results if os.path.isdir(results) else os.path.dirname(results) or ".")
        paths = plot_results(table, folder, formats=formats, reference=reference)
    except (KernelkitError, ImportError) as err:
        raise click.ClickException(str(err)) from None
    for path in paths:
        click.echo(str(path))
