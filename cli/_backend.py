"""Choosing the Keras backend before keras is imported (shared by the commands)."""

from __future__ import annotations

import os
import sys

import click

BACKENDS = ("jax", "torch", "tensorflow")


def select_backend(backend: str | None) -> str:
    """Set KERAS_BACKEND before keras is imported; refuse to switch afterwards.

    Without ``--backend`` the environment's KERAS_BACKEND is used, else
    Keras' default (tensorflow).
    """
    chosen = backend or os.environ.get("KERAS_BACKEND") or "tensorflow"
    if "keras" in sys.modules and os.environ.get("KERAS_BACKEND", "tensorflow") != chosen:
        raise click.UsageError("keras is already imported with another backend.")
    os.environ["KERAS_BACKEND"] = chosen
    return chosen


