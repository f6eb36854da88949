"""Which Keras backend to use: the one registry of backend names, and the choice.

Keras fixes its backend when it is first imported: ``KERAS_BACKEND`` if set,
else the ``backend`` of ``keras.json`` (``$KERAS_HOME`` or ``~/.keras``),
else tensorflow. When that backend is not installed, ``import keras`` fails
with ``ModuleNotFoundError``. kernelkit chooses as Keras does when Keras'
choice is installed, else the first installed of `BACKENDS`. Installed
frameworks are found with :func:`importlib.util.find_spec`, without importing
them. This module imports neither Keras nor any framework.

Example:
    >>> from kernelkit._backend_choice import BACKENDS, choose_backend
    >>> BACKENDS
    ('jax', 'torch', 'tensorflow')
    >>> choice = choose_backend()          # doctest: +SKIP
    >>> choice.name, choice.automatic      # doctest: +SKIP
    ('jax', True)
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import sys
import warnings

from kernelkit.errors import BackendError

#: The Keras backends kernelkit runs on, in the order of the automatic choice.
BACKENDS = ("jax", "torch", "tensorflow")
#: Keras' own default when neither KERAS_BACKEND nor keras.json names one.
KERAS_DEFAULT = "tensorflow"
_AS_KERAS = "Keras' default"  # the reason of a choice that Keras would make itself


@dataclasses.dataclass(frozen=True)
class BackendChoice:
    """A chosen backend and why.

    Attributes:
        name: One of `BACKENDS`.
        reason: How it was chosen, e.g. ``"--backend"``, ``"KERAS_BACKEND"``.
        automatic: True when neither the caller nor ``KERAS_BACKEND`` named it.
    """

    name: str
    reason: str
    automatic: bool

    def note(self) -> str:
        """One line saying which backend was chosen and how to choose another.

        Example:
            >>> BackendChoice("jax", "the first installed", True).note()
            'kernelkit: using the jax backend (the first installed); set KERAS_BACKEND or --backend to choose'
        """
        return (f"kernelkit: using the {self.name} backend ({self.reason}); "
                "set KERAS_BACKEND or --backend to choose")


def install_command(name: str) -> str:
    """The pip command that installs backend ``name`` with kernelkit.

    Example:
        >>> install_command("torch")
        'pip install "kernelkit[torch]"'
    """
    return f'pip install "kernelkit[{name}]"'


def is_installed(name: str) -> bool:
    """Whether the framework of backend ``name`` can be imported (it is not imported).

    Example:
        >>> is_installed("no-such-framework")
        False
    """
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def installed_backends() -> list[str]:
    """The installed backends, in the order of `BACKENDS`.

    Example:
        >>> set(installed_backends()) <= set(BACKENDS)
        True
    """
    return [name for name in BACKENDS if is_installed(name)]


def keras_default() -> str:
    """The backend Keras picks without ``KERAS_BACKEND``: keras.json's, else tensorflow.

    Example:
        >>> keras_default()  # doctest: +SKIP
        'tensorflow'
    """
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    try:
        with open(os.path.join(home, "keras.json"), encoding="utf-8") as fh:
            config = json.load(fh)
        name = config.get("backend", KERAS_DEFAULT) if isinstance(config, dict) else None
    except (OSError, ValueError):
        name = None
    return name if isinstance(name, str) and name else KERAS_DEFAULT


def imported_backend() -> str | None:
    """The backend of an already imported Keras (fixed for the process), else None.

    Example:
        >>> imported_backend() in (None, *BACKENDS)
        True
    """
    keras = sys.modules.get("keras")
    config = getattr(keras, "config", None)
    return config.backend() if config is not None else None


def _checked(name: str, reason: str) -> BackendChoice:
    if name not in BACKENDS:
        raise BackendError(f"{reason} asks for the backend {name!r}; kernelkit runs on "
                           f"{', '.join(BACKENDS)}.")
    if not is_installed(name):
        raise BackendError(f"the {name} backend is not installed ({reason} asks for it): "
                           f"{install_command(name)}")
    return BackendChoice(name, reason, automatic=False)


def choose_backend(requested: str | None = None) -> BackendChoice:
    """The backend to use: ``requested``, else Keras' choice if installed, else the first installed.

    Order: ``requested`` (e.g. ``--backend``); the backend of an already
    imported Keras; ``KERAS_BACKEND``; Keras' default (:func:`keras_default`)
    if it is installed; the first installed of `BACKENDS`.

    Args:
        requested: A backend name the caller asked for, or None.

    Returns:
        The choice; ``automatic`` is True for the last two cases.

    Raises:
        BackendError: The requested or configured backend is unknown or not
            installed, or no backend is installed; the message names the
            pip command.

    Example:
        >>> choose_backend("jax").reason  # doctest: +SKIP
        '--backend'
    """
    if requested:
        return _checked(requested, "--backend")
    if imported_backend():
        return BackendChoice(imported_backend(), "keras is already imported", False)
    if os.environ.get("KERAS_BACKEND"):
        return _checked(os.environ["KERAS_BACKEND"], "KERAS_BACKEND")
    default = keras_default()
    if default in BACKENDS and is_installed(default):
        return BackendChoice(default, _AS_KERAS, True)
    found = installed_backends()
    if not found:
        raise BackendError("no Keras backend is installed: " + install_command(BACKENDS[0])
                           + " (or [torch], [tensorflow])")
    why = "is not installed" if default in BACKENDS else "is not a kernelkit backend"
    return BackendChoice(found[0], f"Keras' default, {default}, {why}", True)


def prepare_keras_import() -> None:
    """Before kernelkit first imports Keras: set KERAS_BACKEND if Keras' default is missing.

    Does nothing when Keras is already imported, ``KERAS_BACKEND`` is set or
    Keras' default backend is installed (then Keras chooses as usual).
    Otherwise sets ``KERAS_BACKEND`` to the first installed backend and
    warns once (a ``UserWarning`` naming it).

    Raises:
        BackendError: No backend is installed (names the pip command).

    Example:
        >>> from kernelkit._backend_choice import prepare_keras_import
        >>> prepare_keras_import()  # doctest: +SKIP
    """
    if "keras" in sys.modules or os.environ.get("KERAS_BACKEND"):
        return
    choice = choose_backend()
    if choice.reason == _AS_KERAS:
        return
    os.environ["KERAS_BACKEND"] = choice.name
    warnings.warn(f"KERAS_BACKEND is not set and {choice.reason}: kernelkit set "
                  f"KERAS_BACKEND={choice.name} (set it yourself to choose).",
                  UserWarning, stacklevel=3)
