"""Products with the kernel matrix without holding it: ``K V`` and ``sum_k u_k^T dK v_k``.

The iterative path (`kernelkit.solvers.iterative`) needs only two things of
the kernel matrix ``K = K(X, X; theta)``: products ``K V`` for a block of
vectors ``V`` (``n x c``), and the gradient in ``theta`` of a scalar
surrogate ``s(theta) = sum_k u_k^T K(theta) v_k`` with ``u_k, v_k`` fixed
(KARE's cotangent ``G = U V^T`` is a sum of rank-one terms). `KernelOperator`
gives both, on one of three routes:

- ``"gram"``: row blocks ``K(X_I, X)`` (``b x n``, ``b`` from the memory
  budget, `memory.block_rows`) for any kernel: ``O(n^2)`` kernel entries per
  product, never ``n x n`` at once; the surrogate's gradient is the sum over
  blocks of ``value_and_grad`` of ``sum(K(X_I, X) * (U_I V^T))``.
- ``"features"``: kernels with a feature map (the NTK): ``K V = Phi (Phi^T V)``,
  with ``Phi`` held when it fits; when it does not, from the kernel's feature
  factors where it has them (`TrainableKernel.feature_factors`, the structured
  NTK: matrix products of the factors, ``Phi`` never formed, rows in blocks
  and columns in chunks sized by `memory.factored_blocks`), else from row
  blocks of ``Phi``; ``O(n P)`` per product. The surrogate is
  ``sum_k <Phi^T u_k, Phi^T v_k>``, differentiated per block with the other
  factor fixed (product rule).
- ``"matvec"``: the kernel's own `TrainableKernel.matvec` hook, for products
  and (differentiated through) for the surrogate.

keras.ops only.
"""

from __future__ import annotations

from typing import Any, Iterator, Sequence

import keras
import numpy as np
from keras import ops

from kernelkit import backends
from kernelkit.errors import InputError
from kernelkit.solvers import memory

ROUTES = ("gram", "features", "matvec")


class _BlockFunctions:
    """One kernel's per-block functions, compiled once where the backend prefers it.

    On JAX an eager op is compiled for every new shape and a fresh
    ``jax.value_and_grad`` is traced on every call, so the iterative path's
    per-block products and VJPs are `kernelkit.backends.compile_function`-ed
    once per kernel (then once per block shape) and kept on the kernel; the
    kernel's values and every array are arguments, never baked-in constants.
    """

    def __init__(self, kernel: Any) -> None:
        compile_ = (backends.compile_function if backends.prefers_compiled_calls()
                    else (lambda fn: fn))

        def gram_product(vals: list, xb: Any, X: Any, V: Any) -> Any:
            return ops.einsum("in,nc->ic", kernel.stateless_gram(vals, xb, X), V)

        def gram_vjp(vals: list, xb: Any, X: Any, cot: Any) -> list:
            return backends.value_and_grad(
                lambda p, a, b, c: ops.sum(kernel.stateless_gram(p, a, b) * c),
                vals, xb, X, cot)[1]

        def features_vjp(vals: list, xb: Any, cot: Any) -> list:
            return backends.value_and_grad(
                lambda p, a, c: ops.sum(kernel.stateless_features(p, a) * c), vals, xb, cot)[1]

        def factored_T(vals: list, xb: Any, V: Any) -> Any:
            return factored_transpose(kernel.stateless_feature_factors(vals, xb), V)

        def factored_A(vals: list, xb: Any, T: Any) -> Any:
            return factored_apply(kernel.stateless_feature_factors(vals, xb), T)

        def factored_vjp(vals: list, xb: Any, W: Any, C: Any) -> list:
            return backends.value_and_grad(
                lambda p, a, w, c: ops.sum(factored_T(p, a, w) * c), vals, xb, W, C)[1]

        self.factored_vjp = compile_(factored_vjp)
        self.factored_transpose = compile_(factored_T)
        self.factored_apply = compile_(factored_A)
        self.gram_product = compile_(gram_product)
        self.gram_vjp = compile_(gram_vjp)
        self.features_vjp = compile_(features_vjp)
        self.features = compile_(lambda vals, xb: kernel.stateless_features(vals, xb))

    @classmethod
    def of(cls, kernel: Any) -> "_BlockFunctions":
        """The kernel's functions, made on first use (kept outside Keras' attribute tracking)."""
        fns = kernel.__dict__.get("_kernelkit_block_functions")
        if fns is None:
            fns = cls(kernel)
            object.__setattr__(kernel, "_kernelkit_block_functions", fns)
        return fns


def factored_transpose(factors: list, V: Any) -> Any:
    """``Phi^T V`` (``P x c``) from feature factors (see `TrainableKernel.feature_factors`).

    Factor by factor, ``einsum("nd,nkw,nc->kdwc", a, g, V)`` as one matrix
    product of ``(a * v)`` against ``g``: ``O(n P c)`` without ``Phi``.

    Example:
        >>> import numpy as np
        >>> from kernelkit.solvers.matvec import factored_transpose
        >>> a, g, V = np.ones((3, 2)), np.ones((3, 1, 4)), np.ones((3, 1))
        >>> np.asarray(factored_transpose([(a, g)], V)).shape
        (8, 1)
    """
    parts = []
    for a, g in factors:
        n, d = int(a.shape[0]), int(a.shape[1])
        k, w, c = int(g.shape[1]), int(g.shape[2]), int(V.shape[1])
        av = ops.reshape(ops.einsum("nd,nc->ndc", a, V), (n, d * c))
        m = ops.einsum("nx,ny->xy", av, ops.reshape(g, (n, k * w)))  # (d c) x (k w)
        m = ops.transpose(ops.reshape(m, (d, c, k, w)), (2, 0, 3, 1))
        parts.append(ops.reshape(m, (k * d * w, c)))
    return ops.concatenate(parts, axis=0) if len(parts) > 1 else parts[0]


def factored_apply(factors: list, T: Any) -> Any:
    """``Phi T`` (``n x c``) from feature factors, ``T`` of shape ``(P, c)``, without ``Phi``.

    Example:
        >>> import numpy as np
        >>> from kernelkit.solvers.matvec import factored_apply
        >>> a, g, T = np.ones((3, 2)), np.ones((3, 1, 4)), np.ones((8, 1))
        >>> np.asarray(factored_apply([(a, g)], T)).tolist()
        [[8.0], [8.0], [8.0]]
    """
    out, start = None, 0
    for a, g in factors:
        n, d = int(a.shape[0]), int(a.shape[1])
        k, w, c = int(g.shape[1]), int(g.shape[2]), int(T.shape[1])
        t = ops.reshape(T[start:start + k * d * w], (k, d, w, c))
        t = ops.reshape(ops.transpose(t, (0, 2, 1, 3)), (k * w, d * c))
        m = ops.reshape(ops.einsum("ny,yx->nx", ops.reshape(g, (n, k * w)), t), (n, d, c))
        part = ops.einsum("ndc,nd->nc", m, a)
        out = part if out is None else out + part
        start += k * d * w
    return out


def check_factors(kernel: Any, factors: Any, P: int) -> int:
    """Check one row's feature factors against ``P``; return the widest factor.

    Raises:
        InputError: A pair is not ``(a (n, d), g (n, k, w))``, or the pairs'
            ``k * d * w`` do not add up to the ``P`` columns of `features`.

    Example:
        >>> import numpy as np
        >>> from kernelkit import GaussianKernel
        >>> from kernelkit.solvers.matvec import check_factors
        >>> check_factors(GaussianKernel(1.0), [(np.ones((1, 2)), np.ones((1, 1, 4)))], 8)
        4
    """
    name, total, width = type(kernel).__name__, 0, 0
    for i, pair in enumerate(factors):
        shapes = [tuple(getattr(x, "shape", ())) for x in pair] if isinstance(
            pair, (tuple, list)) else []
        if len(shapes) != 2 or len(shapes[0]) != 2 or len(shapes[1]) != 3 or \
                shapes[0][0] != shapes[1][0]:
            raise InputError(
                f"{name}.feature_factors(x) must return pairs (a, g), a of shape (n, d) and g "
                f"of shape (n, k, w); pair {i} has shapes {shapes or type(pair).__name__} for "
                "one row.")
        (_, d), (_, k, w) = shapes
        total += int(k) * int(d) * int(w)
        width = max(width, int(d), int(k) * int(w))
    if total != int(P):
        raise InputError(
            f"{name}.feature_factors(x) gives {total} feature columns (the sum of k * d * w "
            f"over its pairs), but features(x) has P = {P}: the factors must give exactly "
            "the columns of features(x), in its order.")
    return width


def _join(parts: list, axis: int) -> Any:
    return ops.concatenate(parts, axis=axis) if len(parts) > 1 else parts[0]


def gram_entry_flops(kernel: Any, d: int) -> float:
    """Rough floating-point work of one Gram entry (the cost model of the routes)."""
    layers = getattr(getattr(kernel, "model", None), "layers", None)
    if getattr(kernel, "implementation_", None) == "structured" and layers:
        k, fan_in, total = int(layers[-1].units), int(d), 0.0
        for layer in layers:
            total += 2.0 * (k * int(layer.units) + fan_in) + 3.0
            fan_in = int(layer.units)
        return total
    return 3.0 * d + 20.0


def choose_route(kernel: Any, n: int, d: int, columns: int) -> str:
    """``"matvec"`` for a kernel with the hook, else the cheaper of ``"features"`` and ``"gram"``.

    Example:
        >>> from kernelkit import GaussianKernel
        >>> from kernelkit.solvers.matvec import choose_route
        >>> choose_route(GaussianKernel(1.0), 1000, 3, 10)
        'gram'
    """
    if kernel.has_matvec:
        return "matvec"
    if kernel.has_features:
        P = kernel.num_features(d)
        if P * (2.0 + 4.0 * columns) < n * (gram_entry_flops(kernel, d) + 2.0 * columns):
            return "features"
    return "gram"


class KernelOperator:
    """``K(X, X; values)`` as an operator: products, columns, diagonal, surrogate gradients.

    Args:
        kernel: A built `TrainableKernel`.
        values: The trainable values (in ``kernel.trainable_variables`` order).
        X: Inputs ``(n, d)``, a tensor in the kernel's dtype.
        route: ``"gram"``, ``"features"`` or ``"matvec"`` (``None``: `choose_route`).
        columns: Typical number of columns per product (for the route's cost).

    Example:
        >>> import numpy as np
        >>> from kernelkit import GaussianKernel
        >>> from kernelkit.solvers.matvec import KernelOperator
        >>> k = GaussianKernel(1.0); X = np.random.rand(30, 2).astype("float32")
        >>> _ = k(X[:1])
        >>> op = KernelOperator(k, [v.value for v in k.trainable_variables], X)
        >>> bool(np.allclose(op.matmul(np.eye(30, dtype="float32")), k(X), atol=1e-6))
        True
    """

    def __init__(self, kernel: Any, values: Sequence[Any], X: Any, route: str | None = None,
                 columns: int = 1) -> None:
        memory.steady_heap()
        self.kernel = kernel
        self.values = list(values)
        self.fixed = [ops.stop_gradient(v) for v in self.values]
        self.dtype = keras.backend.standardize_dtype(kernel.compute_dtype)
        self.X = ops.stop_gradient(ops.cast(ops.convert_to_tensor(X), self.dtype))
        self.n, self.d = int(self.X.shape[0]), int(self.X.shape[1])
        self.itemsize = np.dtype(self.dtype).itemsize
        self.route = route or choose_route(kernel, self.n, self.d, columns)
        self.products = 0
        self._fns = _BlockFunctions.of(kernel)
        self._phi: Any = None
        self._factor_width = 0  # widest factor: products factor by factor when > 0
        if self.route == "features":
            self.P = kernel.num_features(self.d)
            if self.n * self.P * self.itemsize * 3 <= memory.BLOCK_BYTES:
                self._phi = ops.stop_gradient(self._fns.features(self.fixed, self.X))
            elif kernel.has_feature_factors:
                self._factor_width = check_factors(
                    kernel, kernel.stateless_feature_factors(self.fixed, self.X[:1]), self.P)

    # ------------------------------------------------------------ blocks
    def _blocks(self, width: int, purpose: str = "product") -> Iterator[tuple[int, int]]:
        step = memory.block_rows(self.n, width, self.itemsize, purpose)
        for start in range(0, self.n, step):
            yield start, min(start + step, self.n)

    def _rows(self, start: int, stop: int) -> Any:
        return self.X[start:stop]

    def _features(self, values: Sequence[Any], start: int, stop: int) -> Any:
        return self._fns.features(list(values), self._rows(start, stop))

    # ---------------------------------------------------------- products
    def matmul(self, V: Any) -> Any:
        """``K V`` for ``V`` of shape ``(n, c)`` (no autodiff)."""
        V = ops.cast(ops.convert_to_tensor(V), self.dtype)
        self.products += 1
        with backends.no_tf32():
            if self.route == "matvec":
                return ops.stop_gradient(self.kernel.stateless_matvec(self.fixed, self.X, V))
            if self.route == "features":
                return ops.stop_gradient(self._feature_matmul(V))
            out = [self._fns.gram_product(self.fixed, self._rows(a, b), self.X, V)
                   for a, b in self._blocks(self.n)]
            return ops.stop_gradient(_join(out, 0))

    def _factor_plan(self, columns: int, purpose: str = "product") -> tuple[list, list]:
        """Row blocks and column chunks of a factored product (`memory.factored_blocks`)."""
        columns = int(columns)
        rows, cols = memory.factored_blocks(self.n, self.P, self._factor_width, columns,
                                            self.itemsize, purpose)
        return ([(a, min(a + rows, self.n)) for a in range(0, self.n, rows)],
                [(c, min(c + cols, columns)) for c in range(0, columns, cols)])

    def _feature_transpose(self, V: Any) -> Any:
        """``Phi^T V`` (``P x c``), in row blocks when ``Phi`` is not held."""
        if self._phi is not None:
            return ops.einsum("np,nc->pc", self._phi, V)
        total = None
        if self._factor_width:
            blocks, chunks = self._factor_plan(V.shape[1])
            out = []
            for c0, c1 in chunks:
                total = None
                for a, b in blocks:
                    part = self._fns.factored_transpose(self.fixed, self._rows(a, b),
                                                        V[a:b, c0:c1])
                    total = part if total is None else total + part
                out.append(total)
            return ops.stop_gradient(_join(out, axis=1))
        for a, b in self._blocks(self.P):
            part = ops.einsum("np,nc->pc", ops.stop_gradient(self._features(self.fixed, a, b)),
                              V[a:b])
            total = part if total is None else total + part
        return total

    def _feature_matmul(self, V: Any) -> Any:
        T = self._feature_transpose(V)
        if self._phi is not None:
            return ops.einsum("np,pc->nc", self._phi, T)
        if self._factor_width:
            blocks, chunks = self._factor_plan(T.shape[1])
            return _join([_join([self._fns.factored_apply(self.fixed, self._rows(a, b),
                                                          T[:, c0:c1]) for a, b in blocks], 0)
                          for c0, c1 in chunks], axis=1)
        out = [ops.einsum("np,pc->nc", ops.stop_gradient(self._features(self.fixed, a, b)), T)
               for a, b in self._blocks(self.P)]
        return _join(out, 0)

    def columns(self, index: np.ndarray) -> Any:
        """``K(X, X[index])`` (``n x r``), in row blocks (no autodiff)."""
        Xs = ops.take(self.X, ops.convert_to_tensor(np.asarray(index, dtype="int32")), axis=0)
        with backends.no_tf32():
            out = [ops.stop_gradient(self.kernel.stateless_gram(self.fixed, self._rows(a, b), Xs))
                   for a, b in self._blocks(len(index))]
        return _join(out, 0)

    def diag(self) -> Any:
        """``diag(K)`` at the current values (no autodiff)."""
        mapping = list(zip(self.kernel.trainable_variables, self.fixed)) + [
            (v, v.value) for v in self.kernel.non_trainable_variables]
        with keras.StatelessScope(state_mapping=mapping), backends.no_tf32():
            return ops.stop_gradient(self.kernel.diag_formula(self.X))

    # ------------------------------------------------------- gradients
    def surrogate_grad(self, U: Any, V: Any) -> list:
        """Gradient in the values of ``s = sum_k u_k^T K(values) v_k = <K, U V^T>``.

        ``U`` and ``V`` (``n x r``) are constants; autodiff passes only through
        the kernel, in row blocks (``"gram"``, ``"features"``) or through the
        `matvec` hook: never through a solver.

        Returns:
            One gradient per value.
        """
        U = ops.stop_gradient(ops.cast(ops.convert_to_tensor(U), self.dtype))
        V = ops.stop_gradient(ops.cast(ops.convert_to_tensor(V), self.dtype))
        kernel, X = self.kernel, self.X
        if self.route == "matvec":
            def loss(vals: list, u: Any, v: Any) -> Any:
                return ops.sum(u * kernel.stateless_matvec(vals, X, v))

            return self._accumulate([(lambda vals, u, v: backends.value_and_grad(
                loss, vals, u, v)[1], U, V)])
        if self.route == "features":
            TU, TV = (ops.stop_gradient(self._feature_transpose(M)) for M in (U, V))
            if self._factor_width:  # <K, U V^T> = <Phi^T U, Phi^T V>: both factors' VJPs at once
                W, C = ops.concatenate([U, V], axis=1), ops.concatenate([TV, TU], axis=1)
                blocks, chunks = self._factor_plan(W.shape[1], "vjp")
                return self._accumulate(
                    (self._fns.factored_vjp, self._rows(a, b), W[a:b, c0:c1], Cc)
                    for c0, c1, Cc in ((c0, c1, C[:, c0:c1]) for c0, c1 in chunks)
                    for a, b in blocks)

            return self._accumulate(
                (self._fns.features_vjp, self._rows(a, b), ops.einsum("nr,pr->np", U[a:b], TV)
                 + ops.einsum("nr,pr->np", V[a:b], TU)) for a, b in self._blocks(self.P, "vjp"))

        return self._accumulate((lambda vals, xb, cot: self._fns.gram_vjp(vals, xb, X, cot),
                                 self._rows(a, b), ops.einsum("ir,nr->in", U[a:b], V))
                                for a, b in self._blocks(self.n, "vjp"))

    def _accumulate(self, parts: Any) -> list:
        total: list | None = None
        with backends.no_tf32():
            for vjp, *args in parts:
                grads = [ops.stop_gradient(g) for g in vjp(self.values, *args)]
                total = grads if total is None else [t + g for t, g in zip(total, grads)]
        return total or []
