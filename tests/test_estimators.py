"""The KARE estimators: scikit-learn conformance, pipelines, search, pickle, behaviour."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

import kernelkit as kk
from kernelkit.estimators import (
    AfterNTKClassifier,
    AfterNTKRegressor,
    KernelKAREClassifier,
    KernelKARERegressor,
    MLPClassifier,
    MLPRegressor,
    NTKKAREClassifier,
    NTKKARERegressor,
    RFMClassifier,
    RFMRegressor,
)

SMALL = dict(epochs=2, random_state=0, dtype="float64")
ESTIMATORS = [
    NTKKARERegressor(width=8, learning_rate=1.0, **SMALL),
    NTKKAREClassifier(width=8, learning_rate=1.0, **SMALL),
    KernelKARERegressor(kk.GaussianKernel(2.0), **SMALL),
    KernelKAREClassifier(kk.LaplaceKernel(3.0), **SMALL),
    # check_regressors_train asks for a training R^2 > 0.5: enough steps to fit.
    MLPRegressor(width=16, epochs=30, learning_rate=0.01, random_state=0, dtype="float64"),
    MLPClassifier(width=16, epochs=30, learning_rate=0.01, random_state=0, dtype="float64"),
    AfterNTKRegressor(width=8, **SMALL),
    AfterNTKClassifier(width=8, **SMALL),
    RFMRegressor(iterations=2, dtype="float64"),
    RFMClassifier(iterations=2, dtype="float64"),
]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_conformance(estimator, check):
    check(estimator)


def test_pipeline_grid_search_and_pickle():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = np.sin(X[:, 0]) + 0.1 * X[:, 1]
    pipe = make_pipeline(StandardScaler(), NTKKARERegressor(width=8, epochs=3, learning_rate=1.0,
                                                            random_state=0, dtype="float64"))
    search = GridSearchCV(pipe, {"ntkkareregressor__ridge": [1e-3, "kare"]}, cv=2).fit(X, y)
    assert search.best_params_["ntkkareregressor__ridge"] in (1e-3, "kare")
    fitted = search.best_estimator_
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_allclose(restored.predict(X[:5]), fitted.predict(X[:5]), rtol=1e-10)
    assert clone(fitted).get_params()["ntkkareregressor__width"] == 8


def test_same_seed_same_predictions():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(50, 4))
    y = np.cos(X[:, 0])
    a = NTKKARERegressor(width=16, epochs=5, random_state=3, dtype="float64").fit(X, y)
    b = NTKKARERegressor(width=16, epochs=5, random_state=3, dtype="float64").fit(X, y)
    np.testing.assert_array_equal(a.predict(X), b.predict(X))


def test_template_kernel_is_not_trained_in_place():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(40, 2))
    template = kk.GaussianKernel(1.0, dtype="float64")
    model = KernelKARERegressor(template, epochs=10, dtype="float64").fit(X, np.sin(X[:, 0]))
    assert template.bandwidth_value == pytest.approx(1.0)
    assert model.kernel_.bandwidth_value != pytest.approx(1.0)
    assert model.history_.kare[-1] < model.history_.kare[0]


def test_classifier_labels_and_single_class():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(60, 2))
    y = np.array(["low", "mid", "high"])[np.digitize(X[:, 0], [-0.5, 0.5])]
    clf = NTKKAREClassifier(width=16, epochs=5, learning_rate=1.0, random_state=0,
                            dtype="float64").fit(X, y)
    assert set(clf.predict(X)) <= {"low", "mid", "high"}
    assert clf.decision_function(X).shape == (60, 3)
    assert clf.score(X, y) > 0.6
    with pytest.raises(ValueError, match="only one class"):
        NTKKAREClassifier(**SMALL).fit(X, np.zeros(60))


def test_estimator_survives_divergence_and_still_predicts():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(40, 3))
    y = np.sin(X[:, 0])
    model = NTKKARERegressor(depth=2, width=8, learning_rate=1e20, epochs=20, random_state=0,
                             ridge=1e-2)
    with pytest.warns(RuntimeWarning, match="stopped at step"):
        model.fit(X, y)
    history = model.history_
    assert history.stopped_early and history.reason and history.stopped_at >= 1
    assert all(np.isfinite(np.asarray(v)).all() for v in model.kernel_.get_weights())
    assert np.isfinite(model.predict(X[:5])).all()
