"""The synthetic regression task of the paper (its eq. 9)."""

from __future__ import annotations

import numpy as np

from kernelkit.errors import InputError


def make_synthetic(
    n_train: int = 1000,
    n_test: int = 1000,
    d: int = 10,
    gamma: float = 1.0,
    sigma: float = 0.0,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Draw the paper's synthetic task.

    ``x ~ N(0, I_d)``, ``w ~ N(0, I_d)`` (one ``w`` for train and test),
    ``f*(x) = cos(gamma x.w) / (1 + exp(gamma x.w))`` and
    ``y = f*(x) + sigma * eps`` on the training set (noise-free test targets).

    Args:
        n_train: Training points.
        n_test: Test points.
        d: Input dimension.
        gamma: Frequency/scale of the target.
        sigma: Noise level of the training targets.
        seed: Seed of the generator (data, ``w`` and noise).

    Returns:
        ``(X_train, y_train, X_test, y_test)`` as float64 arrays.

    Example:
        >>> from kernelkit.data import make_synthetic
        >>> X, y, Xt, yt = make_synthetic(100, 50, seed=0)
        >>> X.shape, yt.shape
        ((100, 10), (50,))
    """
    if n_train < 1 or n_test < 0 or d < 1:
        raise InputError("n_train and d must be >= 1 and n_test >= 0.")
    rng = np.random.default_rng(seed)
    w = rng.normal(size=d)
    X = rng.normal(size=(n_train + n_test, d))
    t = gamma * (X @ w)
    f = np.cos(t) / (1.0 + np.exp(t))
    y = f.copy()
    y[:n_train] += sigma * rng.normal(size=n_train)
    return X[:n_train], y[:n_train], X[n_train:], y[n_train:]
