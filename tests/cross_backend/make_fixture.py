"""Write fixture.npz: the fixed data and weights of the cross-backend test.

Run once (``python tests/cross_backend/make_fixture.py``); the file is
committed so every backend reads the very same numbers.
"""

from __future__ import annotations

import pathlib

import numpy as np

N, D, WIDTH, DEPTH = 24, 4, 8, 2


def main() -> None:
    rng = np.random.default_rng(20261128)
    arrays = {"X": rng.normal(size=(N, D)), "Y": np.sin(rng.normal(size=(N, D)) @ np.ones(D))}
    fan_in = D
    for i, units in enumerate([WIDTH] * DEPTH + [1]):
        w, b = np.sqrt(6.0 / fan_in), 1.0 / np.sqrt(fan_in)
        arrays[f"W{i}"] = rng.uniform(-w, w, size=(fan_in, units))
        arrays[f"b{i}"] = rng.uniform(-b, b, size=(units,))
        fan_in = units
    A = rng.normal(size=(D, D))
    arrays["M"] = A @ A.T / D
    np.savez(pathlib.Path(__file__).with_name("fixture.npz"), **arrays)


if __name__ == "__main__":
    main()
