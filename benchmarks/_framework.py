"""A benchmark process loads only the framework of its Keras backend.

With TensorFlow installed, Keras imports it on the JAX and PyTorch backends
too: ``keras.src.saving.serialization_lib.serialize_keras_object`` asks
``tf.available`` (a lazy import of ``tensorflow``), and kernelkit's kernel
estimators reach it through ``Layer.get_config()`` (the layer's dtype policy
is serialised). That costs seconds and hundreds of MB per process. `load_only`
makes the other frameworks unimportable in a benchmark process, so Keras'
``tf.available`` is False there and nothing loads TensorFlow.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from typing import Callable

FRAMEWORKS = {"jax": ("jax", "jaxlib"), "torch": ("torch",), "tensorflow": ("tensorflow",)}


class _Refuse(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds the refused modules with no origin, and fails to load them.

    A spec without origin (rather than an error in `find_spec`) keeps
    ``importlib.util.find_spec`` probes working, e.g. ``torch._dynamo``'s.
    """

    def __init__(self, backend: str) -> None:
        self.backend = backend
        self.refused = {m for b, mods in FRAMEWORKS.items() if b != backend for m in mods}

    def find_spec(self, name: str, path: object = None,
                  target: object = None) -> importlib.machinery.ModuleSpec | None:
        if name.split(".", 1)[0] in self.refused:
            return importlib.machinery.ModuleSpec(name, self)
        return None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> None:
        raise ImportError(f"{spec.name} is not loaded in a kernelkit bench process of the "
                          f"{self.backend} backend (it runs one framework only).")

    def exec_module(self, module: object) -> None:  # never reached: create_module raises
        raise ImportError(module)


def load_only(backend: str) -> Callable[[], None]:
    """Refuse imports of the frameworks other than ``backend``'s; returns the undo.

    Frameworks already imported stay. Worker processes keep it for life; the
    driver undoes it when its run ends.

    Example:
        >>> from kernelkit.benchmarks._framework import load_only
        >>> undo = load_only("jax")
        >>> try:
        ...     import tensorflow
        ... except ImportError as err:
        ...     print(str(err).split(" (")[0])
        tensorflow is not loaded in a kernelkit bench process of the jax backend
        >>> undo()
    """
    if backend not in FRAMEWORKS or any(isinstance(f, _Refuse) for f in sys.meta_path):
        return lambda: None
    finder = _Refuse(backend)
    sys.meta_path.insert(0, finder)
    return lambda: finder in sys.meta_path and sys.meta_path.remove(finder)
