"""Build seeded MLPs and fit NTK-KARE from a seed on one backend, in float64.

Usage: KERAS_BACKEND=<backend> python seed_worker.py OUT
Writes OUT (npz): "weights/<config>/<i>" (the initial weights of
``kernelkit.mlp(..., seed=...)``, exactly as the backend holds them) and
"fit/<what>" (an NTKKARERegressor fitted from ``random_state=0``: its
predictions, KARE history, chosen ridge and trained weights). Nothing is
injected: the network comes from the seed alone.
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("JAX_ENABLE_X64", "1")

import numpy as np  # noqa: E402

import kernelkit as kk  # noqa: E402
from kernelkit.data import make_synthetic  # noqa: E402
from kernelkit.estimators import NTKKARERegressor  # noqa: E402
from kernelkit.testing import to_numpy  # noqa: E402

#: (name, mlp keyword arguments): dtypes, depths, outputs, no bias, seeds.
CONFIGS = {
    "d2w5-f32-s0": dict(input_dim=3, depth=2, width=5, seed=0, dtype="float32"),
    "d2w5-f64-s0": dict(input_dim=3, depth=2, width=5, seed=0, dtype="float64"),
    "d1w16-out3-f64-s7": dict(input_dim=4, depth=1, width=16, output_dim=3, seed=7,
                              dtype="float64"),
    "d3w4-nobias-f32-s123": dict(input_dim=2, depth=3, width=4, use_bias=False, seed=123,
                                 dtype="float32"),
}
#: A whole NTK-KARE fit from a seed: the paper's synthetic task, small.
N, N_TEST, D, WIDTH, EPOCHS, LEARNING_RATE = 60, 30, 5, 16, 5, 10.0


def main(out: str) -> None:
    results = {}
    for name, kwargs in CONFIGS.items():
        for i, w in enumerate(kk.mlp(**kwargs).get_weights()):
            results[f"weights/{name}/{i}"] = np.asarray(to_numpy(w))
    X, y, Xt, _ = make_synthetic(N, N_TEST, d=D, gamma=1.0, sigma=0.1, seed=0)
    est = NTKKARERegressor(depth=1, width=WIDTH, epochs=EPOCHS, learning_rate=LEARNING_RATE,
                           random_state=0, dtype="float64").fit(X, y)
    assert not est.history_.stopped_early, est.history_.reason
    results["fit/pred"] = est.predict(Xt)
    results["fit/kare"] = np.array(est.history_.kare)
    results["fit/ridge"] = np.array(est.krr_.ridge_)
    results["fit/weights"] = np.concatenate(
        [np.ravel(to_numpy(w)) for w in est.kernel_.model.get_weights()])
    np.savez(out, backend=np.array(kk.backends.BACKEND), **results)


if __name__ == "__main__":
    main(sys.argv[1])
