"""Choosing the Keras backend before keras is imported (shared by the commands).

The names and the choice live in :mod:`kernelkit._backend_choice`; this
module turns them into click options, one-line errors and the stderr note.
"""

from __future__ import annotations

import os

import click

from kernelkit._backend_choice import BACKENDS, choose_backend, imported_backend
from kernelkit.errors import BackendError

__all__ = ["backend_option", "select_backend"]

backend_option = click.option(
    "--backend", type=click.Choice(BACKENDS), default=None,
    help="Keras backend (default: $KERAS_BACKEND, else Keras' default if installed, "
         "else the first installed of " + ", ".join(BACKENDS) + ").")


def select_backend(backend: str | None) -> str:
    """Set KERAS_BACKEND before keras is imported; refuse to switch afterwards.

    Args:
        backend: The ``--backend`` value, or None to choose as
            :func:`kernelkit._backend_choice.choose_backend` does (a one-line
            note on stderr says which when the choice was automatic).

    Returns:
        The backend name.

    Raises:
        click.ClickException: The backend is unknown or not installed (exit 1;
            the message names the pip command).
        click.UsageError: keras is already imported with another backend.

    Example:
        >>> select_backend("jax")  # doctest: +SKIP
        'jax'
    """
    current = imported_backend()
    if backend and current and current != backend:
        raise click.UsageError(f"keras is already imported with the {current} backend.")
    try:
        choice = choose_backend(backend)
    except BackendError as err:
        raise click.ClickException(str(err)) from None
    if choice.automatic:
        click.echo(choice.note(), err=True)
    os.environ["KERAS_BACKEND"] = choice.name
    return choice.name
