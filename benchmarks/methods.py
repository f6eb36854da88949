"""The compared methods: fit once, score every lam_tilde of the grid.

Each method maps a configuration and a task (train/test arrays, regression or
classification) to `Entry` rows (method, lam_tilde, value, status, reason, solver).
Kernel methods score the whole lam_tilde grid from one factorisation
(`KernelRidge.predict_path`); the trained network ("dnn") has no lam_tilde.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Callable, NamedTuple, Sequence

import numpy as np

from kernelkit.errors import InputError
from kernelkit.defaults import DEFAULT_Z


@dataclasses.dataclass
class Task:
    """One train/test problem.

    Attributes:
        X_train, y_train, X_test, y_test: The data (``y`` labels for
            classification, values for regression).
        kind: ``"regression"`` (metric MSE) or ``"classification"`` (accuracy).
        dtype: ``"float32"`` or ``"float64"``.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    kind: str
    dtype: str = "float32"

    @property
    def metric(self) -> str:
        return "mse" if self.kind == "regression" else "accuracy"


class Entry(NamedTuple):
    """One result of a method group: a method at one lam_tilde (NaN: none).

    ``checks`` holds a kernel row's `kernelkit.benchmarks.suspect.CHECK_COLUMNS`
    numbers and ``suspect`` its fit's flag ("" when it passes; see that module).
    """

    method: str
    lam_tilde: float
    value: float
    status: str
    reason: str
    solver: str = ""
    checks: dict = {}
    suspect: str = ""


def _solver_used(est: Any) -> str:
    """The solver path(s) an estimator used: KARE training's and KRR's (one word if equal)."""
    krr = getattr(getattr(est, "krr_", None), "solver_", "")
    history = getattr(est, "history_", None)
    train = getattr(history, "solver", "") if history is not None else ""
    return krr if not train or train == krr else f"{train}/{krr}"


def _score(task: Task, scores: np.ndarray, classes: np.ndarray | None) -> float:
    """MSE of scores (regression) or accuracy of the decoded classes."""
    scores = np.asarray(scores, dtype=np.float64)
    if task.kind == "regression":
        y = np.asarray(task.y_test, dtype=np.float64).reshape(scores.shape)
        return float(np.mean((scores - y) ** 2))
    if scores.ndim == 1 or scores.shape[-1] == 1:
        pred = classes[(scores.reshape(len(scores)) > 0).astype(int)]
    else:
        pred = classes[np.argmax(scores, axis=-1)]
    return float(np.mean(pred == task.y_test))


def _codes(task: Task, y: np.ndarray, classes: np.ndarray | None) -> np.ndarray:
    """The targets KRR fits: values (regression) or {-1, +1} codes (one column if binary)."""
    if task.kind == "regression" or classes is None:
        return np.asarray(y, dtype=np.float64)
    hit = np.asarray(y)[:, None] == np.asarray(classes)[None, :]
    codes = np.where(hit, 1.0, -1.0)
    return codes[:, 1] if len(classes) == 2 else codes


def _path_entries(name: str, task: Task, krr: Any, lams: Sequence[float],
                  classes: np.ndarray | None, status: str = "ok", reason: str = "",
                  solver: str = "") -> list:
    from kernelkit.benchmarks.suspect import judge

    if not len(lams):
        return []
    lams = list(lams)
    path = krr.predict_path(np.asarray(task.X_test, dtype=task.dtype), lams)
    train_path = krr.predict_path(np.asarray(task.X_train, dtype=task.dtype), lams)
    checks, flag = judge(_codes(task, task.y_train, classes), train_path, krr.kare_path(lams),
                         _codes(task, task.y_test, classes), path, lams)
    entries = []
    for lam, scores, check in zip(lams, path, checks):
        value = _score(task, scores, classes)
        ok = math.isfinite(value)
        entries.append(Entry(name, float(lam), value, status if ok else "failed",
                             reason if ok else "non-finite predictions", solver or krr.solver_,
                             check, flag))
    return entries


def _estimator(kind: str, regressor: type, classifier: type, **params: Any) -> Any:
    return (regressor if kind == "regression" else classifier)(**params)


def _fit(task: Task, est: Any) -> Any:
    return est.fit(np.asarray(task.X_train, dtype=task.dtype), task.y_train)


def ntk_kare(task: Task, config: dict, seed: int, lams: Sequence[float]) -> list:
    """NTK-KARE: the MLP's NTK trained on KARE, then KRR at every lam_tilde."""
    from kernelkit.estimators import NTKKAREClassifier, NTKKARERegressor

    n = len(task.X_train)
    batch = config.get("batch_size") or (32 if n >= 5000 else None)
    est = _fit(task, _estimator(
        task.kind, NTKKARERegressor, NTKKAREClassifier, depth=config["depth"],
        width=config["width"], activation=config.get("activation", "gelu"),
        z=config.get("z", DEFAULT_Z), epochs=config["epochs"], learning_rate=config["learning_rate"],
        batch_size=batch, optimizer=config.get("optimizer", "sgd"), ridge=1.0,
        random_state=seed, dtype=task.dtype, solver=config.get("solver", "auto")))
    history = est.history_
    status, reason = ("diverged", history.reason) if history.stopped_early else ("ok", "")
    return _path_entries("ntk-kare", task, est.krr_, lams, getattr(est, "classes_", None),
                         status, reason, _solver_used(est))


def deep_kernel(task: Task, config: dict, seed: int, lams: Sequence[float]) -> list:
    """A deep kernel trained on KARE, then KRR at every lam_tilde (opt-in: not in the default grids).

    ``DeepKernel(mlp(d, depth, width, output_dim), GaussianKernel(bandwidth_scale *
    sqrt(output_dim)))``: a Gaussian kernel on the ``output_dim`` outputs of the
    paper's MLP (its linear output layer is the embedding), network and bandwidth
    trained together on KARE (``z``) with ``optimizer`` (default Adam) at
    ``learning_rate`` for ``epochs`` (Wilson et al. 2016, "Deep Kernel Learning").
    """
    from kernelkit.estimators import KernelKAREClassifier, KernelKARERegressor
    from kernelkit.kernels import DeepKernel, GaussianKernel
    from kernelkit.paper_mlp import mlp

    n, d = task.X_train.shape
    k = int(config.get("output_dim", 8))
    network = mlp(d, depth=config["depth"], width=config["width"],
                  activation=config.get("activation", "gelu"), output_dim=k, seed=seed,
                  dtype=task.dtype)
    base = GaussianKernel(config.get("bandwidth_scale", 1.0) * math.sqrt(k), dtype=task.dtype)
    batch = config.get("batch_size") or (32 if n >= 5000 else None)
    est = _fit(task, _estimator(
        task.kind, KernelKARERegressor, KernelKAREClassifier,
        kernel=DeepKernel(network, base), z=config.get("z", DEFAULT_Z), epochs=config["epochs"],
        learning_rate=config["learning_rate"], batch_size=batch,
        optimizer=config.get("optimizer", "adam"), ridge=1.0, random_state=seed,
        dtype=task.dtype))
    history = est.history_
    status, reason = ("diverged", history.reason) if history.stopped_early else ("ok", "")
    return _path_entries("deep-kernel", task, est.krr_, lams, getattr(est, "classes_", None),
                         status, reason)


def network(task: Task, config: dict, seed: int, lams: Sequence[float]) -> list:
    """The trained MLP ("dnn") and KRR on its after-training NTK ("after-ntk"), one fit."""
    from kernelkit.estimators import AfterNTKClassifier, AfterNTKRegressor
    from kernelkit.paper_mlp import forward
    from kernelkit.backends import to_numpy

    est = _fit(task, _estimator(
        task.kind, AfterNTKRegressor, AfterNTKClassifier, depth=config["depth"],
        width=config["width"], activation=config.get("activation", "gelu"),
        epochs=config["epochs"], learning_rate=config["learning_rate"],
        batch_size=config.get("batch_size", 32), optimizer=config.get("optimizer", "adam"),
        ridge=1.0, random_state=seed, dtype=task.dtype, solver=config.get("solver", "auto")))
    classes = getattr(est, "classes_", None)
    diverged = not np.isfinite(est.loss_curve_).all()
    status, reason = ("diverged", "non-finite training loss") if diverged else ("ok", "")
    out = to_numpy(forward(est.model_, np.asarray(task.X_test, dtype=task.dtype)))
    dnn = _score(task, out[:, 0] if out.shape[1] == 1 else out, classes)
    entries = [Entry("dnn", math.nan, dnn, status if math.isfinite(dnn) else "failed", reason)]
    return entries + _path_entries("after-ntk", task, est.krr_, lams, classes, status, reason)


def _fixed_kernel(name: str, kernel: Any, task: Task, lams: Sequence[float],
                  solver: str = "auto") -> list:
    from kernelkit.estimators import KernelKAREClassifier, KernelKARERegressor

    est = _fit(task, _estimator(task.kind, KernelKARERegressor, KernelKAREClassifier,
                                kernel=kernel, epochs=0, ridge=1.0, dtype=task.dtype,
                                solver=solver))
    return _path_entries(name, task, est.krr_, lams, getattr(est, "classes_", None))


def gaussian(task: Task, config: dict, seed: int, lams: Sequence[float]) -> list:
    """Gaussian KRR with bandwidth ``bandwidth_scale * sqrt(d)`` (not trained)."""
    from kernelkit.kernels import GaussianKernel

    bandwidth = config["bandwidth_scale"] * math.sqrt(task.X_train.shape[1])
    return _fixed_kernel("gaussian", GaussianKernel(bandwidth, trainable=False), task, lams,
                         config.get("solver", "auto"))


def laplace(task: Task, config: dict, seed: int, lams: Sequence[float]) -> list:
    """Laplace KRR with a fixed bandwidth (RFM's kernel with M = I)."""
    from kernelkit.kernels import LaplaceKernel

    return _fixed_kernel("laplace", LaplaceKernel(config["bandwidth"], trainable=False),
                         task, lams, config.get("solver", "auto"))


def rfm(task: Task, config: dict, seed: int, lams: Sequence[float]) -> list:
    """Recursive Feature Machine (Laplace kernel, M by AGOP), then KRR at every lam_tilde."""
    from kernelkit.estimators import RFMClassifier, RFMRegressor

    est = _fit(task, _estimator(task.kind, RFMRegressor, RFMClassifier,
                                bandwidth=config["bandwidth"],
                                iterations=config.get("iterations", 5), dtype=task.dtype,
                                solver=config.get("solver", "auto")))
    return _path_entries("rfm", task, est.krr_, lams, getattr(est, "classes_", None))


#: Method groups by name; ``network`` yields the rows of "dnn" and "after-ntk".
#: "deep-kernel" is opt-in: its settings are in every grid, but no default grid runs it
#: (add it to a grid file's "methods").
METHODS: dict[str, Callable[[Task, dict, int, Sequence[float]], list]] = {
    "ntk-kare": ntk_kare, "network": network, "gaussian": gaussian, "laplace": laplace,
    "rfm": rfm, "deep-kernel": deep_kernel,
}


def run_method(name: str, task: Task, config: dict, seed: int, lams: Sequence[float]) -> list:
    """Fit method group ``name`` on ``task`` and return its entries.

    Example:
        >>> import numpy as np
        >>> from kernelkit.benchmarks.methods import Task, run_method
        >>> X = np.random.randn(40, 2); t = Task(X, X[:, 0], X, X[:, 0], "regression")
        >>> len(run_method("laplace", t, {"bandwidth": 1.0}, 0, [1e-3, 1e-1]))
        2
    """
    if name not in METHODS:
        raise InputError(f"unknown method {name!r}; choose from {sorted(METHODS)}.")
    return METHODS[name](task, config, seed, lams)
