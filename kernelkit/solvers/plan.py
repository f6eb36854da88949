"""Choosing a solver path: what the kernel offers, what it costs, what fits in memory.

Kernels say what they can offer: every kernel a Gram matrix (``"dense"``),
some a finite feature map (``"features"``: `TrainableKernel.features`). The
layer asks: ``solver="auto"`` takes the cheaper path that fits the memory
budget (`kernelkit.solvers.memory`), and the choice is recorded (training
history, `KernelRidge.solver_`, benchmark rows) with its reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from kernelkit.errors import InputError
from kernelkit.solvers import memory
from kernelkit.solvers.iterative import Iterative
from kernelkit.solvers.matvec import choose_route

#: The solver names every entry point accepts (or an `Iterative` instance: the
#: iterative path with those settings).
SOLVERS = ("auto", "dense", "features", "iterative")
#: "auto" takes the features path when its estimated work is below this share of the
#: dense path's (measured: at n = 1,000 and P = 769, where the estimates are
#: 4.8e9 and 5.3e9 flops, one features step took 0.24 s and a dense one 0.42 s).
FEATURES_ADVANTAGE = 1.0


@dataclass(frozen=True)
class Plan:
    """A resolved solver and why.

    Attributes:
        solver: ``"dense"``, ``"features"`` or ``"iterative"``.
        n: Points per solve.
        features: The kernel's feature count ``P`` (``None``: no feature map).
        bytes: Estimated memory of the chosen path.
        reason: Why it was chosen (recorded with results).
        settings: The `Iterative` settings on the iterative path (else ``None``).
    """

    solver: str
    n: int
    features: int | None
    bytes: int
    reason: str
    settings: Iterative | None = None

    @property
    def path(self) -> Any:
        """What the objective and the systems take: the name, or the `Iterative` settings."""
        return self.settings if self.settings is not None else self.solver


def _flops(solver: str, purpose: str, n: int, P: int | None) -> float:
    """Leading-order floating-point work of one KARE step or one KRR fit.

    The iterative path's is rough: about 40 products with ``K`` (CG and the
    gradient's row blocks) of about 50 flops per kernel entry.
    """
    if solver == "iterative":
        return 40.0 * 50.0 * n * n
    if solver == "dense":
        return (5.3 if purpose == "kare" else 4.0) * n ** 3
    return (4.0 * n * P * P + 5.3 * P ** 3) if purpose == "kare" else (2.0 * n * P * P + 4.0 * P ** 3)


def check_solver(solver: Any) -> str:
    """Validate a ``solver`` argument (a name of `SOLVERS` or an `Iterative` instance).

    Raises:
        InputError: For anything else.
    """
    if isinstance(solver, Iterative):
        return solver
    if not isinstance(solver, str) or solver not in SOLVERS:
        raise InputError(f"solver must be one of {SOLVERS} or a kernelkit.solvers.Iterative, "
                         f"got {solver!r}.")
    return solver


def plan_solver(kernel: Any, n: int, d: int, dtype: str, solver: str = "auto",
                purpose: str = "kare") -> Plan:
    """Resolve ``solver`` for ``n`` points of dimension ``d``, before allocating anything.

    Args:
        kernel: The kernel (built, or buildable on ``d`` features).
        n: Number of points in one solve (a batch, for mini-batch KARE).
        d: Number of input features.
        dtype: Computation dtype (``"float32"`` or ``"float64"``).
        solver: ``"auto"``, ``"dense"``, ``"features"``, ``"iterative"`` or an
            `Iterative` instance.
        purpose: ``"kare"`` (a KARE value and gradient) or ``"ridge"`` (a KRR fit).

    Returns:
        The `Plan`.

    Raises:
        InputError: ``"features"`` for a kernel without a feature map.
        MemoryBudgetError: No allowed path fits in memory (with the remedies).

    Example:
        >>> from kernelkit import GaussianKernel
        >>> from kernelkit.solvers import plan_solver
        >>> plan_solver(GaussianKernel(1.0), n=100, d=3, dtype="float32").solver
        'dense'
    """
    check_solver(solver)
    settings = solver if isinstance(solver, Iterative) else Iterative()
    solver = "iterative" if isinstance(solver, Iterative) else solver
    itemsize = np.dtype(dtype).itemsize
    P = kernel.num_features(d) if kernel.has_features else None
    if solver == "features" and P is None:
        raise InputError(
            f"solver='features' needs a kernel with a finite feature map, but "
            f"{type(kernel).__name__} defines no features(x) method. Use solver='dense' "
            "or 'auto', or define features(self, x) returning Phi with K = Phi Phi^T.")
    cost = {"dense": memory.dense_bytes(n, itemsize, purpose)}
    if P is not None:
        cost["features"] = memory.feature_bytes(n, P, itemsize, purpose)
    columns = settings.probes + 2
    route = settings.route or choose_route(kernel, n, d, columns)
    cost["iterative"] = memory.iterative_bytes(
        n, columns, settings.preconditioner_rank(n, itemsize), itemsize,
        P if route == "features" else None)
    keep = settings if solver == "iterative" else None
    if solver != "auto":
        _check_fits(solver, cost, n, P, purpose, dtype)
        return Plan(solver, n, P, cost[solver], "requested", keep)
    candidates = ["dense"]
    if P is not None:
        cheaper = _flops("features", purpose, n, P) < FEATURES_ADVANTAGE * _flops(
            "dense", purpose, n, P)
        candidates = ["features", "dense"] if cheaper else ["dense", "features"]
    candidates.append("iterative")  # matrix-free: only when no exact path fits
    for name in candidates:
        if memory.fits(cost[name]):
            reason = (f"auto: P={P} features, n={n}" if P is not None else
                      f"auto: no feature map, n={n}")
            if name != candidates[0]:
                reason += "; " + ", ".join(
                    f"{other} would need {memory.format_bytes(cost[other])}"
                    for other in candidates[:candidates.index(name)])
            return Plan(name, n, P, cost[name], reason,
                        settings if name == "iterative" else None)
    _check_fits(min(cost, key=cost.get), cost, n, P, purpose, dtype)
    raise AssertionError("unreachable")  # pragma: no cover


def _check_fits(solver: str, cost: dict, n: int, P: int | None, purpose: str,
                dtype: str) -> None:
    what = ("KARE training" if purpose == "kare" else "Kernel ridge regression")
    if solver == "dense":
        detail = (f"the {n:,} x {n:,} kernel matrix alone is "
                  f"{memory.format_bytes(n * n * np.dtype(dtype).itemsize)} in {dtype}")
    elif solver == "features":
        detail = f"the {n:,} x {P:,} feature matrix in {dtype}"
    else:
        detail = f"n x (probes, preconditioner rank) arrays in {dtype}"
    remedies = ["subsample the training set (kernelkit bench --max-n)"]
    if purpose == "kare":
        remedies.append("mini-batches (fit_kare(batch_size=...), the estimators' batch_size)")
    remedies.append("a device with more memory (--device gpu)")
    if P is None and solver != "iterative":
        remedies.append("the kernel has no feature map, so solver='features' does not apply")
    elif solver == "dense":
        remedies.append(f"solver='features' (needs {memory.format_bytes(cost['features'])})")
    if solver == "iterative":
        remedies.append("fewer probes or a smaller preconditioner rank "
                        "(kernelkit.solvers.Iterative(probes=..., rank=...))")
    else:
        remedies.append("solver='iterative' (matrix-free: products with K in row blocks; "
                        f"needs about {memory.format_bytes(cost['iterative'])})")
    memory.check(cost[solver], f"{what} with the {solver} solver at n={n:,} ({detail})",
                 remedies)
