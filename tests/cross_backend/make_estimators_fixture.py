"""Write estimators_fixture.npz: fixed data and MLP weights of the estimator test.

Run once (``python tests/cross_backend/make_estimators_fixture.py``); the file
is committed so that every backend reads the very same numbers. The weights
follow `kernelkit.mlp`'s initialisation (uniform, fan-in scaled) for a GELU
MLP of ``DEPTH`` hidden layers of ``WIDTH`` units, one set per output count:
1 (regression, binary classification) and ``CLASSES`` (multiclass).
"""

from __future__ import annotations

import pathlib

import numpy as np

N, M, D, WIDTH, DEPTH, CLASSES = 40, 12, 4, 8, 2, 3


def main() -> None:
    rng = np.random.default_rng(20270117)
    X = rng.normal(size=(N, D))
    Xt = rng.normal(size=(M, D))
    w = rng.normal(size=D) / np.sqrt(D)
    arrays = {
        "X": X,
        "Xt": Xt,
        "y": np.sin(2.0 * X @ w) + 0.1 * rng.normal(size=N),
        "y_class": np.digitize(X @ w, [-0.4, 0.4]),  # three classes 0, 1, 2
    }
    for outputs in (1, CLASSES):
        fan_in = D
        for i, units in enumerate([WIDTH] * DEPTH + [outputs]):
            bw, bb = np.sqrt(6.0 / fan_in), 1.0 / np.sqrt(fan_in)
            arrays[f"out{outputs}/W{i}"] = rng.uniform(-bw, bw, size=(fan_in, units))
            arrays[f"out{outputs}/b{i}"] = rng.uniform(-bb, bb, size=(units,))
            fan_in = units
    np.savez(pathlib.Path(__file__).with_name("estimators_fixture.npz"), **arrays)


if __name__ == "__main__":
    main()
