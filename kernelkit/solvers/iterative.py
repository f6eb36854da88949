"""The matrix-free path: KARE and kernel ridge regression from products ``K V`` alone.

With ``A = K/n + z I``, Rademacher probes ``Z = [z_1..z_m]`` (seeded, fixed
across the steps of a fit) and block preconditioned CG (`kernelkit.solvers.pcg`)
on ``[Y, Z]`` at once::

    alpha = A^-1 Y,  W = A^-1 Z,  beta = A^-1 alpha   (a second, warm-started solve)
    N = ||alpha||^2 / (n c)
    D = tr(A^-1) / n,  tr(A^-1) ~ mean_i z_i^T w_i                       ("hutchinson")
                       tr(A^-1) ~ tr(M^-1) + mean_i (z_i^T w_i - z_i^T M^-1 z_i)  ("deflated")

where ``M = K_hat/n + z I`` is the Nystrom preconditioner, whose trace is
exact: the deflated estimator only estimates ``tr(A^-1 - M^-1)``, the part
the preconditioner's subspace misses, and is unbiased for any ``M``.

Gradients come from the adjoint identities, never by differentiating CG:
the estimator's gradient in ``A`` (with the probes and ``M`` fixed) is
``dD/dA = -(1/(n m)) sum_i w_i w_i^T``, so ``G = dKARE/dK = U V^T`` with

    U = [c1 alpha, c1 beta, c2 W],  V = [beta, alpha, W],
    c1 = -1 / (n^2 c D^2),  c2 = 2 N / (n^2 m D^3)

and the gradient in the kernel's variables is the gradient of the surrogate
``<K(theta), U V^T>`` (`KernelOperator.surrogate_grad`: in row blocks, of
``K`` or of the feature map, never ``n x n``). With fixed probes this is the exact gradient of a
smooth objective (the estimate), so SGD sees no probe noise between steps.

Settings (`Iterative`): ``solver=Iterative(tol=..., probes=..., rank=...)``
wherever ``solver=`` is accepted; ``solver="iterative"`` takes the defaults.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any, Sequence

import keras
import numpy as np
from keras import ops

from kernelkit import backends
from kernelkit.errors import ConvergenceWarning, InputError
from kernelkit.solvers import memory
from kernelkit.solvers.matvec import ROUTES, KernelOperator
from kernelkit.solvers.pcg import NystromPreconditioner, pcg

#: Relative CG tolerance by dtype (tight enough for KARE: see docs/benchmarks.md).
DEFAULT_TOL = {"float64": 1e-8, "float32": 1e-5}
TRACE_ESTIMATORS = ("deflated", "hutchinson")


def _numpy(x: Any) -> np.ndarray:
    return np.asarray(keras.ops.convert_to_numpy(x), dtype=np.float64)


@dataclass(frozen=True)
class Iterative:
    """Settings of the iterative (matrix-free) solver path.

    Args:
        tol: Relative CG residual per column (``None``: `DEFAULT_TOL` of the dtype).
        max_iter: Most CG iterations per solve.
        probes: Number of Rademacher probes of the trace estimate.
        rank: Rank of the Nystrom preconditioner (``None``: `default_rank`, by budget).
        trace: ``"deflated"`` (default; the preconditioner as control variate) or
            ``"hutchinson"``.
        seed: Seed of the probes and the preconditioner's landmarks.
        warm_start: Start each step's solves from the previous step's solutions.
        route: ``"gram"``, ``"features"`` or ``"matvec"`` (``None``: by cost; see
            `kernelkit.solvers.matvec.choose_route`).

    Example:
        >>> from kernelkit.solvers import Iterative
        >>> Iterative(probes=128).probes
        128
    """

    tol: float | None = None
    max_iter: int = 1000
    probes: int = 64
    rank: int | None = None
    trace: str = "deflated"
    seed: int = 0
    warm_start: bool = True
    route: str | None = None

    def __post_init__(self) -> None:
        if self.tol is not None and not (isinstance(self.tol, (int, float))
                                          and 0.0 < float(self.tol) < 1.0):
            raise InputError(f"Iterative tol must be a number in (0, 1), got {self.tol!r}.")
        for name, low in (("max_iter", 1), ("probes", 2)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
                raise InputError(f"Iterative {name} must be an integer >= {low}, got {value!r} "
                                 + ("(the probes' spread needs two)." if name == "probes" else "."))
        if self.rank is not None and (isinstance(self.rank, bool) or not isinstance(
                self.rank, (int, np.integer)) or self.rank < 0):
            raise InputError(f"Iterative rank must be an integer >= 0 or None, got {self.rank!r}.")
        if self.trace not in TRACE_ESTIMATORS:
            raise InputError(f"Iterative trace must be one of {TRACE_ESTIMATORS}, "
                             f"got {self.trace!r}.")
        if self.route is not None and self.route not in ROUTES:
            raise InputError(f"Iterative route must be one of {ROUTES} or None, "
                             f"got {self.route!r}.")

    def tolerance(self, dtype: str) -> float:
        """The CG tolerance for ``dtype``."""
        return float(self.tol) if self.tol is not None else DEFAULT_TOL.get(dtype, 1e-5)

    def preconditioner_rank(self, n: int, itemsize: int) -> int:
        """The rank for ``n`` points (`default_rank` unless given)."""
        return int(min(self.rank, n)) if self.rank is not None else default_rank(n, itemsize)


#: The default preconditioner rank: at most this, half of n, and what the budget allows.
MAX_RANK = 500


def default_rank(n: int, itemsize: int) -> int:
    """``min(MAX_RANK, n // 2)``, lowered so that the ``n x rank`` factors take <= 1/8 of the budget.

    Example:
        >>> from kernelkit.solvers.iterative import default_rank
        >>> default_rank(400, 8)
        200
    """
    budget, _ = memory.available_bytes()
    rank = min(MAX_RANK, n // 2)
    if budget is not None:
        rank = min(rank, int(budget / 8 / (n * (2 * itemsize + 16))))
    return max(rank, 0)


def _probes(n: int, m: int, seed: int, dtype: str) -> np.ndarray:
    return np.random.default_rng(seed).choice([-1.0, 1.0], size=(n, m)).astype(dtype)


@dataclass
class SolveInfo:
    """What an iterative KARE step or KRR solve did (recorded in histories and estimators).

    Attributes:
        tol: The CG tolerance.
        probes: Rademacher probes of the trace estimate.
        rank: The preconditioner's rank.
        trace: The trace estimator.
        route: How products with ``K`` were computed.
        iterations: CG iterations of each solve (``[Y, Z]`` then ``alpha`` for KARE).
        residuals: The largest final relative residual of each solve.
        products: Products with ``K`` (each over a whole block of columns).
        kare_error: Estimated absolute error of the KARE value (probes' spread
            and CG residual; ``None`` for a KRR solve).
        trace_std: Standard error of the ``tr(A^-1)/n`` estimate.
    """

    tol: float
    probes: int
    rank: int
    trace: str
    route: str
    iterations: list = field(default_factory=list)
    residuals: list = field(default_factory=list)
    products: int = 0
    kare_error: float | None = None
    trace_std: float | None = None

    def as_dict(self) -> dict:
        return dict(self.__dict__)


class _Solver:
    """The operator, preconditioner and probes of one ``(values, X)``, with warm starts."""

    def __init__(self, kernel: Any, values: Sequence[Any], X: Any, settings: Iterative,
                 columns: int) -> None:
        self.settings = settings
        self.op = KernelOperator(kernel, values, X, settings.route, columns)
        self.n = self.op.n
        self.tol = settings.tolerance(self.op.dtype)
        self.pre = NystromPreconditioner(
            self.op, settings.preconditioner_rank(self.n, self.op.itemsize), settings.seed)

    def info(self) -> SolveInfo:
        s = self.settings
        return SolveInfo(self.tol, s.probes, self.pre.rank, s.trace, self.op.route)

    def solve(self, B: Any, mu: float, info: SolveInfo, x0: Any = None) -> Any:
        result = pcg(self.op.matmul, B, mu, self.n, self.pre, self.tol,
                     self.settings.max_iter, x0)
        info.iterations.append(result.iterations)
        info.residuals.append(float(np.max(result.residuals)))
        info.products = self.op.products
        if not result.converged:
            warnings.warn(
                f"conjugate gradients stopped at max_iter={self.settings.max_iter} with a "
                f"relative residual of {np.max(result.residuals):.2e} > tol={self.tol:g}. "
                "Remedies: a larger preconditioner rank (Iterative(rank=...)), more "
                "iterations, a larger ridge, or float64.", ConvergenceWarning, stacklevel=4)
        return result.x

    def kare(self, Y: Any, Z: Any, mu: float, info: SolveInfo, x0: Any = None,
             need_beta: bool = True, beta0: Any = None) -> dict:
        """KARE's parts at ridge ``mu``: alpha, W, beta (optional), N, D and the estimate's spread."""
        c, m = int(Y.shape[1]), int(Z.shape[1])
        X1 = self.solve(ops.concatenate([Y, Z], axis=1), mu, info, x0)
        alpha, W = X1[:, :c], X1[:, c:]
        beta = None
        if need_beta:
            beta = self.solve(alpha, mu, info, beta0 if beta0 is not None
                              else self.pre.solve(alpha, mu))
        n = self.n
        N = float(_numpy(ops.sum(alpha * alpha))) / (n * c)
        samples = _numpy(ops.sum(Z * W, axis=0))
        base = 0.0
        if self.settings.trace == "deflated":
            samples = samples - self.pre.quadratic(Z, mu)
            base = self.pre.trace_inverse(mu)
        D = (base + float(np.mean(samples))) / n
        D_std = float(np.std(samples, ddof=1) / math.sqrt(m)) / n
        kare = N / (D * D)
        # CG part: ||A^-1 r|| <= ||r|| / mu bounds the solutions' errors.
        res = max(info.residuals)
        y_norm = float(np.sqrt(_numpy(ops.sum(Y * Y))))
        cg_N = 2.0 * res * y_norm / (mu * math.sqrt(N * n * c))
        cg_D = n * res / (mu * D * n)
        info.kare_error = kare * math.sqrt((2.0 * D_std / D) ** 2 + (cg_N + 2.0 * cg_D) ** 2)
        info.trace_std = D_std
        return {"alpha": alpha, "W": W, "beta": beta, "N": N, "D": D, "X1": X1, "kare": kare}


class IterativeKARE:
    """KARE and its gradient on the iterative path, with fixed probes and warm starts.

    Args:
        kernel: A built `TrainableKernel`.
        z: Ridge of KARE, > 0.
        settings: `Iterative` settings.

    Example:
        >>> import numpy as np
        >>> from kernelkit import GaussianKernel
        >>> from kernelkit.solvers.iterative import Iterative, IterativeKARE
        >>> k = GaussianKernel(1.0); X = np.random.rand(40, 2); _ = k(X[:1])
        >>> value, grads = IterativeKARE(k, 0.1, Iterative()).value_and_grad(
        ...     [v.value for v in k.trainable_variables], X, X[:, :1])
        >>> len(grads)
        1
    """

    def __init__(self, kernel: Any, z: float, settings: Iterative) -> None:
        self.kernel, self.z, self.settings = kernel, float(z), settings
        self.info: SolveInfo | None = None
        self._probes: dict = {}
        self._warm: dict = {}

    def probes(self, n: int, dtype: str) -> Any:
        """The fixed probes for ``n`` points (drawn once per ``n`` from the seed)."""
        if (n, dtype) not in self._probes:
            self._probes[(n, dtype)] = ops.convert_to_tensor(
                _probes(n, self.settings.probes, self.settings.seed, dtype))
        return self._probes[(n, dtype)]

    def value_and_grad(self, values: Sequence[Any], x: Any, y: Any) -> tuple[Any, list]:
        """KARE (a scalar tensor) and one gradient per value; `info` is updated."""
        dtype = keras.backend.standardize_dtype(self.kernel.compute_dtype)
        Y = ops.cast(ops.convert_to_tensor(y), dtype)
        Y = Y[:, None] if len(Y.shape) == 1 else Y
        n, c = int(Y.shape[0]), int(Y.shape[1])
        m = self.settings.probes
        solver = _Solver(self.kernel, values, x, self.settings, c + m)
        Z = self.probes(n, dtype)
        info = solver.info()
        key = (n, c, dtype)
        warm = self._warm.get(key, (None, None)) if self.settings.warm_start else (None, None)
        parts = solver.kare(Y, Z, self.z, info, warm[0], True, warm[1])
        self._warm[key] = (parts["X1"], parts["beta"])
        N, D = parts["N"], parts["D"]
        c1 = -1.0 / (n * n * c * D * D)
        c2 = 2.0 * N / (n * n * m * D ** 3)
        alpha, beta, W = parts["alpha"], parts["beta"], parts["W"]
        U = ops.concatenate([c1 * alpha, c1 * beta, c2 * W], axis=1)
        V = ops.concatenate([beta, alpha, W], axis=1)
        grads = solver.op.surrogate_grad(U, V)
        info.products = solver.op.products
        self.info = info
        return ops.convert_to_tensor(np.asarray(parts["kare"], dtype=dtype)), grads


class IterativeSystem:
    """KRR by preconditioned CG: products with ``K`` only, never an ``n x n`` array.

    Args:
        kernel: The kernel.
        X: Training inputs, a tensor in the kernel's dtype.
        Y: Targets ``(n, c)``.
        settings: `Iterative` settings (``None``: the defaults).

    Example:
        >>> import numpy as np
        >>> from kernelkit import GaussianKernel
        >>> from kernelkit.solvers.iterative import IterativeSystem
        >>> X = np.random.rand(30, 2); s = IterativeSystem(GaussianKernel(1.0), X, X[:, :1])
        >>> tuple(s.predict(s.solve(1e-2), X[:3]).shape)
        (3, 1)
    """

    solver = "iterative"

    def __init__(self, kernel: Any, X: Any, Y: Any, settings: Iterative | None = None) -> None:
        self.settings = settings or Iterative()
        kernel.ensure_built(X)
        self.kernel, self.Y = kernel, ops.convert_to_tensor(Y)
        self.n = int(X.shape[0])
        values = [v.value for v in kernel.trainable_variables]
        self._solver = _Solver(kernel, values, X, self.settings, int(self.Y.shape[1]))
        self.X = self._solver.op.X
        self.info: SolveInfo | None = None
        self._last: Any = None

    def trace(self) -> float:
        return float(np.sum(_numpy(self._solver.op.diag())))

    def solve(self, lam: float) -> Any:
        self.info = self._solver.info()
        self._last = self._solver.solve(self.Y, float(lam), self.info, self._last)
        return self._last

    def dual(self, coef: Any, lam: float) -> Any:
        return coef

    def predict(self, coef: Any, x: Any) -> Any:
        """``(1/n) K(x, X) coef``, in row blocks of ``x``."""
        op = self._solver.op
        x = ops.cast(ops.convert_to_tensor(x), op.dtype)
        step = memory.block_rows(int(x.shape[0]), self.n, op.itemsize)
        with backends.no_tf32():
            out = [ops.einsum("in,nc->ic", ops.stop_gradient(
                self.kernel.stateless_gram(op.fixed, x[a:a + step], self.X)), coef)
                for a in range(0, int(x.shape[0]), step)]
        return (ops.concatenate(out, axis=0) if len(out) > 1 else out[0]) / self.n

    def spectrum(self) -> "_KAREGrid":
        return _KAREGrid(self)

    def path(self, x: Any, lams: Sequence[float]) -> np.ndarray:
        dtype = self._solver.op.dtype
        return np.stack([_numpy(self.predict(self.solve(lam), x)) for lam in lams]).astype(dtype)


class _KAREGrid:
    """KARE over a ridge grid on the iterative path (value only; one solve per ridge)."""

    def __init__(self, system: IterativeSystem) -> None:
        self.system = system

    def kare(self, lams: Sequence[float]) -> np.ndarray:
        system = self.system
        dtype = system._solver.op.dtype
        Z = ops.convert_to_tensor(_probes(system.n, system.settings.probes,
                                          system.settings.seed, dtype))
        out, x0 = {}, None
        for i in np.argsort(lams)[::-1]:  # large ridges first: each warm-starts the next
            info = system._solver.info()
            parts = system._solver.kare(system.Y, Z, float(lams[i]), info, x0, need_beta=False)
            x0, out[i] = parts["X1"], parts["kare"]
        return np.asarray([out[i] for i in range(len(lams))])
