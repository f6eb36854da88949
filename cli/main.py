"""``kernelkit``: command-line entry point (click + rich)."""

from __future__ import annotations

import click

from kernelkit.cli._backend import backend_option, select_backend as _select_backend

threads_option = click.option(
    "--threads", type=int, default=1, show_default=True,
    help="CPU threads for BLAS/XLA/TF/torch (1 is fastest on small machines).")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="kernelkit")
def main() -> None:
    """kernelkit: train kernels to generalise with KARE (JAX, PyTorch, TensorFlow)."""


@main.command()
@backend_option
def info(backend: str | None) -> None:
    """Versions, backend, devices, float64 and TF32 state."""
    _select_backend(backend)
    import keras
    from rich.console import Console
    from rich.table import Table

    import kernelkit
    from kernelkit import backends

    table = Table(title="kernelkit", show_header=False)
    rows = [
        ("kernelkit", kernelkit.__version__),
        ("keras", keras.__version__),
        ("backend", backends.BACKEND),
        ("devices", backends.device_summary()),
        ("floatx", keras.config.floatx()),
        ("float64 available", str(backends.float64_enabled())),
        ("TF32 allowed outside kernel work", str(backends.tf32_enabled())),
    ]
    for key, value in rows:
        table.add_row(key, value)
    Console().print(table)


@main.command()
@backend_option
@threads_option
@click.option("--n", "n_train", type=int, default=500, show_default=True, help="Training points.")
@click.option("--epochs", type=int, default=30, show_default=True)
@click.option("--learning-rate", type=float, default=100.0, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
def example(backend: str | None, threads: int, n_train: int, epochs: int,
            learning_rate: float, seed: int) -> None:
    """A small end-to-end NTK-KARE run on the paper's synthetic task (eq. 9)."""
    chosen = _select_backend(backend)
    from kernelkit._environment import apply_threads, limit_threads_env

    limit_threads_env(threads)
    from kernelkit.cli._example import run_example

    apply_threads(threads)
    run_example(n_train=n_train, epochs=epochs, learning_rate=learning_rate, seed=seed)


from kernelkit.cli.bench import bench, plot  # noqa: E402 - the group is defined above
from kernelkit.cli.data import data  # noqa: E402

main.add_command(bench)
main.add_command(plot)
main.add_command(data)

if __name__ == "__main__":
    main()
