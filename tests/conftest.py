"""Shared fixtures. Each pytest process tests the one backend in KERAS_BACKEND.

float64 is switched on for JAX here, before keras or jax create any array,
so that the float64 tests really run in float64 (kernelkit itself changes no
global state on import; tests/test_dtypes.py checks that in a subprocess).
"""

from __future__ import annotations

import os

os.environ.setdefault("JAX_ENABLE_X64", "1")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

BACKEND = keras.backend.backend()


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)


def pytest_report_header(config) -> str:
    from kernelkit import backends

    return (
        f"kernelkit backend: {BACKEND} (keras {keras.__version__}); "
        f"float64 available: {backends.float64_enabled()}"
    )
