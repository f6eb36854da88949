"""Ridge paths from one eigendecomposition: KARE and predictions for a whole lam grid.

Host-side float64 arithmetic on a small spectrum (``r <= n`` eigenvalues),
shared by the dense and the features paths.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np


@dataclass
class Spectrum:
    """The eigen-expansion of ``K`` seen by the targets.

    Attributes:
        n: Number of training points.
        eigenvalues: The ``r`` nonzero-rank eigenvalues of ``K`` (clipped at 0).
        coords: ``V^T Y`` for the matching orthonormal eigenvectors, ``(r, c)``.
        outside: ``||Y||^2 - ||V^T Y||^2`` per column: the part of ``Y`` in
            the null space of ``K`` (0 on the dense path, where ``r = n``).
    """

    n: int
    eigenvalues: np.ndarray
    coords: np.ndarray
    outside: np.ndarray

    def kare(self, lams: Sequence[float]) -> np.ndarray:
        """KARE at ``z = lam`` for every ``lam`` (absolute ridges, > 0).

        Example:
            >>> import numpy as np
            >>> from kernelkit.solvers.spectral import Spectrum
            >>> s = Spectrum(2, np.array([1.0, 0.5]), np.ones((2, 1)), np.zeros(1))
            >>> s.kare([0.1]).shape
            (1,)
        """
        n, w = self.n, self.eigenvalues
        c = self.coords.shape[1]
        null = n - len(w)
        out = []
        for lam in lams:
            inv = 1.0 / (w / n + lam)
            num = (np.sum((self.coords * inv[:, None]) ** 2)
                   + np.sum(self.outside) / lam ** 2) / (n * c)
            den = (np.sum(inv) + null / lam) / n
            out.append(num / den ** 2)
        return np.asarray(out)


def make_spectrum(n: int, eigenvalues: Any, coords: Any, outside: Any = None) -> Spectrum:
    """A `Spectrum` from backend or numpy arrays (``outside=None``: 0, the dense case)."""
    w = np.clip(np.asarray(eigenvalues, dtype=np.float64), 0.0, None)
    coords = np.asarray(coords, dtype=np.float64)
    outside = (np.zeros(coords.shape[1]) if outside is None
               else np.clip(np.asarray(outside, dtype=np.float64), 0.0, None))
    return Spectrum(n, w, coords, outside)
