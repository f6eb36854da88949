"""``kernelkit data``: download the benchmark data sets into the local cache.

Registered on the main command by ``main.add_command(data)``. Imports no
Keras: the downloader uses the standard library only.

Example:
    $ kernelkit data fetch mnist
    $ kernelkit data fetch uci --cache-dir /scratch/kk --quiet
"""

from __future__ import annotations

import shlex
import warnings
from pathlib import Path

import click

# Imported by name from the module: a ``fetch`` function re-exported by
# kernelkit.data would shadow the module attribute of the same name.
from kernelkit.data.paths import cache_dir as default_cache_dir
from kernelkit.data.fetch import (SOURCES, UnverifiedDownloadWarning,
                                  fetch, is_fetched, parse_checksum)
from kernelkit.errors import DataError, InputError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def data() -> None:
    """Download the benchmark data sets (UCI 121, MNIST, Higgs) into a local cache."""


def _checksum_override(values: tuple[str, ...]) -> str | dict[str, str] | None:
    """``--checksum`` values as :func:`kernelkit.data.fetch.fetch` takes them.

    One bare ``ALGO:HEX`` is the checksum of a one-file suite; ``FILE=ALGO:HEX``
    (repeatable) names the file it applies to.
    """
    if not values:
        return None
    named = [v for v in values if "=" in v]
    if not named and len(values) == 1:
        return values[0]
    if len(named) != len(values):
        raise click.BadParameter("give either one ALGO:HEX, or FILE=ALGO:HEX for each file",
                                 param_hint="--checksum")
    return dict(v.split("=", 1) for v in named)


def _validate_checksums(ctx: click.Context, param: click.Parameter,
                        values: tuple[str, ...]) -> str | dict[str, str] | None:
    override = _checksum_override(values)
    specs = [override] if isinstance(override, str) else list((override or {}).values())
    for spec in specs:
        try:
            parse_checksum(spec)
        except InputError as err:
            raise click.BadParameter(str(err), ctx=ctx, param=param) from None
    return override


class _ProgressBars:
    """A ``progress(done, total)`` callback drawing one rich bar per file on stderr."""

    def __init__(self, progress, suite: str) -> None:  # noqa: ANN001 (rich.progress.Progress)
        self._progress = progress
        self._suite = suite
        self._count = len(SOURCES[suite].files)
        self._index = 0
        self._task = None

    def __call__(self, done: int, total: int | None) -> None:
        if done == 0:
            self._index += 1
            label = self._suite
            if self._count > 1:
                label += f" {self._index}/{self._count}"
            self._task = self._progress.add_task(label, total=total)
        self._progress.update(self._task, completed=done)


def _run_fetch(suite: str, quiet: bool, **kwargs) -> tuple[Path, list[str]]:  # noqa: ANN003
    """Fetch with a progress bar unless ``quiet``; return the path and the warnings' texts."""
    from rich.console import Console
    from rich.progress import (BarColumn, DownloadColumn, Progress, TextColumn,
                               TimeRemainingColumn, TransferSpeedColumn)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UnverifiedDownloadWarning)
        if quiet:
            path = fetch(suite, **kwargs)
        else:
            columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                       TransferSpeedColumn(), TimeRemainingColumn())
            with Progress(*columns, console=Console(stderr=True)) as progress:
                path = fetch(suite, progress=_ProgressBars(progress, suite), **kwargs)
    return path, [str(w.message) for w in caught]


@data.command("fetch")
@click.argument("suite", type=click.Choice(sorted(SOURCES)))
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Cache root (default: $KERNELKIT_CACHE, else ~/.cache/kernelkit).")
@click.option("--url", default=None,
              help="Mirror: the file's URL for uci/higgs, the base URL of the files for mnist.")
@click.option("--checksum", "checksum", multiple=True, callback=_validate_checksums,
              metavar="[FILE=]ALGO:HEX",
              help="Expected sha256:/md5: digest, replacing the built-in one; "
                   "FILE=ALGO:HEX for one file of mnist (repeatable).")
@click.option("--force", is_flag=True, help="Download again even if already complete.")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=60.0,
              show_default=True, help="Seconds to wait for the server.")
@click.option("--quiet", "-q", is_flag=True,
              help="No progress bar; print only the data folder on stdout.")
def fetch_command(suite: str, cache_dir: Path | None, url: str | None,
                  checksum: str | dict[str, str] | None, force: bool, timeout: float,
                  quiet: bool) -> None:
    """Download SUITE (uci, mnist or higgs) from its canonical source, verify, unpack."""
    present = not force and is_fetched(suite, cache_dir)
    try:
        path, notes = _run_fetch(suite, quiet, cache_dir=cache_dir, url=url, checksum=checksum,
                                 force=force, timeout=timeout)
    except InputError as err:
        raise click.UsageError(str(err)) from None
    except DataError as err:
        raise click.ClickException(str(err)) from None
    for note in notes:
        click.echo(f"Warning: {note}", err=True)
    if quiet:
        click.echo(str(path))
        return
    if present:
        click.echo(f"{suite} is already complete (--force downloads it again).", err=True)
    click.echo(f"{suite} data is in {path}")
    click.echo(_usage_hint(path))


def _usage_hint(path: Path) -> str:
    """How to point the loaders at ``path``.

    ``--data-dir`` takes the suite's folder; ``KERNELKIT_DATA`` takes the root
    holding ``uci121/``, ``mnist/`` and ``higgs/`` (see ``kernelkit.data.paths``).
    """
    hint = (f"Use it with --data-dir {shlex.quote(str(path))}, "
            f"or: export KERNELKIT_DATA={shlex.quote(str(path.parent))}")
    if path.parent == default_cache_dir():
        hint += " (not needed: the loaders look in this cache by default)"
    return hint
