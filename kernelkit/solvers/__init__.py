"""The solver layer: the one home of every factorisation and solve of K/n + z I.

Every KARE value and gradient, every kernel ridge regression fit and
prediction, and every ridge path in kernelkit goes through here, on one of
the paths:

- ``"dense"`` (`kernelkit.solvers.dense`): the ``n x n`` kernel matrix and its
  Cholesky factor, KARE's gradient in closed form (no autodiff through the
  factorisation); ``O(n^3)``.
- ``"features"`` (`kernelkit.solvers.features`): kernels with a finite feature
  map ``Phi`` (``K = Phi Phi^T``; the NTK, or a user kernel with ``features``),
  through the ``P x P`` matrix ``Phi^T Phi``; ``O(n P^2 + P^3)``, linear in
  ``n`` and exact.
- ``"iterative"`` (`kernelkit.solvers.iterative`): matrix-free, from products
  ``K V`` in row blocks (or ``Phi (Phi^T V)``, or the kernel's ``matvec``):
  preconditioned CG, a stochastic trace and adjoint gradients; any kernel at
  any ``n``, to a tolerance (`Iterative` sets it, the probes and the rank).
- ``"auto"``: the cheaper exact path that fits in memory (`plan_solver`), estimated
  before anything is allocated (`kernelkit.solvers.memory`); the iterative path
  when neither fits.

keras.ops only; no backend imports.

Example:
    >>> import numpy as np
    >>> from kernelkit import NTK, mlp
    >>> from kernelkit.solvers import plan_solver
    >>> ntk = NTK(mlp(3, depth=1, width=8, seed=0))
    >>> plan_solver(ntk, n=5000, d=3, dtype="float32").solver
    'features'
"""

from __future__ import annotations

from typing import Any

from kernelkit.solvers.iterative import Iterative, IterativeSystem, SolveInfo
from kernelkit.solvers.objective import KAREObjective
from kernelkit.solvers.plan import SOLVERS, Plan, check_solver, plan_solver
from kernelkit.solvers.systems import SYSTEMS, DenseSystem, FeatureSystem, KRRSystem


def make_system(kernel: Any, X: Any, Y: Any, solver: str = "auto") -> tuple[KRRSystem, Plan]:
    """A KRR system for ``(X, Y)`` on the path ``solver`` resolves to.

    Args:
        kernel: The kernel.
        X: Training inputs ``(n, d)``, a tensor in the kernel's dtype.
        Y: Targets ``(n, c)`` in the kernel's dtype.
        solver: ``"auto"``, ``"dense"``, ``"features"``, ``"iterative"`` or an
            `Iterative` instance.

    Returns:
        ``(system, plan)``.

    Example:
        >>> import numpy as np
        >>> from kernelkit import GaussianKernel
        >>> from kernelkit.solvers import make_system
        >>> X = np.random.rand(10, 2).astype("float32")
        >>> system, plan = make_system(GaussianKernel(1.0), X, X[:, :1])
        >>> plan.solver
        'dense'
    """
    import keras

    plan = plan_solver(kernel, int(X.shape[0]), int(X.shape[1]),
                       keras.backend.standardize_dtype(kernel.compute_dtype), solver, "ridge")
    if plan.solver == "iterative":
        return IterativeSystem(kernel, X, Y, plan.settings), plan
    return SYSTEMS[plan.solver](kernel, X, Y), plan


__all__ = ["SOLVERS", "Plan", "plan_solver", "check_solver", "make_system", "KAREObjective",
           "KRRSystem", "DenseSystem", "FeatureSystem", "IterativeSystem", "Iterative",
           "SolveInfo"]
