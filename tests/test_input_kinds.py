"""Complex, string and object input is a clear InputError at every public entry.

kernelkit works with real numbers: floats, integers and booleans (read as 0
and 1). Anything else is rejected before numpy or a backend converts it
(numpy would drop an imaginary part with only a ComplexWarning; JAX would
fail with "Error interpreting argument to stage as a JAX value").
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from keras import ops

import kernelkit as kk
from kernelkit import kare_value_and_grad
from kernelkit.estimators import KernelKARERegressor, NTKKARERegressor
from kernelkit.paper_mlp import fit_network
from kernelkit.training import fit_kare

rng = np.random.default_rng(0)
X = rng.normal(size=(8, 2)).astype("float32")
Y = np.sin(X[:, 0])

#: Each bad kind, made from good data of the same shape, and the words its error uses.
BAD = {
    "complex": (lambda a: a + 1j, "complex.*real part"),
    "string": (lambda a: a.astype(str), "strings, not numbers.*numeric array"),
    "object": (lambda a: a.astype(object), "Python objects.*numeric array"),
}


def _gauss():
    return kk.GaussianKernel(1.0, dtype="float32")


def _fitted():
    return kk.KernelRidge(_gauss(), 1e-2).fit(X, Y)


#: entry -> (function of (x, y), which argument is made bad, its name in the error)
ENTRIES = {
    "kernel x1": (lambda x, y: _gauss()(x), "x", "x1"),
    "kernel x2": (lambda x, y: _gauss()(X, x), "x", "x2"),
    "kernel.diag": (lambda x, y: _gauss().diag(x), "x", "x"),
    "NTK": (lambda x, y: kk.NTK(kk.mlp(2, width=4, seed=0))(x), "x", "x1"),
    "kare K": (lambda K, y: kk.kare(K, Y), "K", "K"),
    "kare y": (lambda x, y: kk.kare(np.eye(8, dtype="float32"), y), "y", "y"),
    "kare_value_and_grad x": (lambda x, y: kare_value_and_grad(_gauss(), x, Y), "x", "x"),
    "kare_value_and_grad y": (lambda x, y: kare_value_and_grad(_gauss(), X, y), "y", "y"),
    "KernelRidge.fit X": (lambda x, y: kk.KernelRidge(_gauss()).fit(x, Y), "x", "X"),
    "KernelRidge.fit y": (lambda x, y: kk.KernelRidge(_gauss()).fit(X, y), "y", "y"),
    "KernelRidge.predict": (lambda x, y: _fitted().predict(x), "x", "X"),
    "KernelRidge.predict_path": (lambda x, y: _fitted().predict_path(x, [1e-2]), "x", "X"),
    "fit_kare X": (lambda x, y: fit_kare(_gauss(), x, Y, epochs=1), "x", "X"),
    "fit_kare y": (lambda x, y: fit_kare(_gauss(), X, y, epochs=1), "y", "y"),
    "fit_kare X_val": (lambda x, y: fit_kare(_gauss(), X, Y, epochs=1,
                                             validation_data=(x, Y)), "x", "X_val"),
    "fit_kare y_val": (lambda x, y: fit_kare(_gauss(), X, Y, epochs=1,
                                             validation_data=(X, y)), "y", "y"),
    "fit_network X": (lambda x, y: fit_network(kk.mlp(2, width=4, seed=0), x, Y, epochs=1),
                      "x", "X"),
}


@pytest.mark.parametrize("kind", BAD)
@pytest.mark.parametrize("entry", ENTRIES)
def test_non_real_input_is_a_clear_input_error(entry, kind):
    call, which, name = ENTRIES[entry]
    make, words = BAD[kind]
    good = {"x": X, "y": Y, "K": np.eye(8, dtype="float32")}[which]
    x, y = (X, make(good)) if which == "y" else (make(good), Y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", np.exceptions.ComplexWarning)  # no silent real part
        with pytest.raises(kk.InputError, match=f"^{name} .*{words}"):
            call(x, y)


#: The estimators validate with scikit-learn, which converts object arrays of
#: numbers (as scikit-learn does everywhere) and words its own errors.
ESTIMATOR_BAD = {
    "complex": (lambda a: a + 1j, "Complex data not supported"),
    "string": (lambda a: a.astype(str), "strings"),
    "object": (lambda a: np.where(a > 0, "yes", "no").astype(object), "could not convert"),
}


@pytest.mark.parametrize("make", [
    lambda: NTKKARERegressor(width=4, epochs=1, random_state=0),
    lambda: KernelKARERegressor(epochs=1),
])
@pytest.mark.parametrize("kind", ESTIMATOR_BAD)
def test_estimators_reject_non_real_input(make, kind):
    bad, words = ESTIMATOR_BAD[kind]
    with pytest.raises(ValueError, match=words):
        make().fit(bad(X), Y)
    fitted = make().fit(X, Y)
    with pytest.raises(ValueError, match=words):
        fitted.predict(bad(X))


def test_complex_backend_tensor_is_rejected():
    z = ops.convert_to_tensor((X + 1j).astype("complex64"))
    with pytest.raises(kk.InputError, match="^x1 is complex"):
        _gauss()(z)


def test_booleans_are_read_as_zero_and_one():
    B = X > 0
    model = kk.KernelRidge(_gauss(), 1e-2)
    np.testing.assert_array_equal(model.fit(B, Y).predict(B),
                                  model.fit(B.astype("float32"), Y).predict(B.astype("float32")))
    assert float(kk.kare(np.eye(8, dtype=bool), Y > 0)) > 0
