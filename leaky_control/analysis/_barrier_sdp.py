"""A small dense log-barrier solver for linear matrix inequalities in few variables.

Private helper of :mod:`leaky_control.analysis.nn_loop`.

Why not only cvxpy + Clarabel: the loop certificates have few unknowns (the metric's
``n(n+1)/2`` entries and one multiplier per unit, ~70 for a 2-32-32-1 network) but one large
matrix inequality (66 x 66). Clarabel's KKT system carries the cone's dense
``d x d`` scaling block with ``d = 66*67/2 = 2211`` and took 10-20 s per solve on two shared
cores; a barrier method works with the ``m x m`` Newton system
``H_ij = tr(S^-1 F_i S^-1 F_j)`` instead (``m`` = number of unknowns), which costs a few
milliseconds here. The slices ``F_i`` of the certificates have low rank (2 for a quadratic
constraint), so ``H`` is assembled from their eigen-factors (:class:`_Factors`) in
``O(d^2 R + R^2 d)`` (``R`` = total rank) rather than ``O(m d^3)``. Nothing it returns is
trusted: the caller re-checks every candidate in numpy.

Problem: minimise ``c' y`` subject to ``F_b(y) = F_b0 + sum_i y_i F_bi > 0`` (each block ``b``)
and ``A y + g > 0``, from a strictly feasible ``y0`` (Boyd & Vandenberghe, Convex Optimization,
section 11.3, the barrier method with Newton centering and backtracking).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__: list[str] = []

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class LMIBlock:
    """``F0 + sum_i y_i F[i] > 0`` with ``F`` of shape ``(m, d, d)`` (symmetric slices)."""

    F0: FloatArray
    F: FloatArray


@dataclass(frozen=True, eq=False)
class BarrierResult:
    """``y``: last iterate (strictly feasible); ``status``: "stopped" (the caller's stop test
    held), "optimal" (duality-gap bound below tolerance), "infeasible_bound" (the caller's
    lower-bound test proved the target unreachable) or "max_iter"; ``lower``: lower bound on the
    optimum from the central path (``c'y - degree / mu``); ``first_centre``: the centred point
    for the first ``mu`` (a warm start for a neighbouring problem), if centering reached it."""

    y: FloatArray
    status: str
    lower: float
    newton_steps: int
    first_centre: FloatArray | None = None


@contextlib.contextmanager
def _one_blas_thread() -> Iterator[None]:
    """One BLAS thread for the solve, restored afterwards (a no-op when it cannot be set).

    Why: the barrier does thousands of products of ~70 x 200 matrices. OpenBLAS splits them
    over threads, and on two cores shared with other jobs each split waits for a busy core:
    the 2-32-32-1 certificate took 20 s with the default threads against 0.8 s with one.
    threadpoolctl (a dependency) sets it for whichever BLAS numpy and scipy loaded. The setting
    is process-wide while the solve runs: other threads' BLAS calls then run on one thread too
    (slower, never different).
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield


def _chol(S: FloatArray) -> FloatArray | None:
    try:
        return np.asarray(np.linalg.cholesky(S), dtype=np.float64)
    except np.linalg.LinAlgError:
        return None


def _value(y: FloatArray, blocks: list[LMIBlock], A: FloatArray, g: FloatArray) -> float:
    """Barrier ``-sum log det F_b(y) - sum log(A y + g)``; ``inf`` outside the domain."""
    total = 0.0
    for b in blocks:
        S = b.F0 + np.tensordot(y, b.F, axes=1)
        L = _chol(0.5 * (S + S.T))
        if L is None:
            return math.inf
        total -= 2.0 * float(np.sum(np.log(np.diag(L))))
    if A.size:
        r = A @ y + g
        if np.any(r <= 0.0):
            return math.inf
        total -= float(np.sum(np.log(r)))
    return total


@dataclass(frozen=True, eq=False)
class _Factors:
    """``F_i = sum_{k in slice i} s_k v_k v_k'``: the nonzero eigenpairs of every slice.

    The certificate's slices have rank 2 (one quadratic constraint) or a few (the metric's
    entries), so ``H_ij = tr(S^-1 F_i S^-1 F_j) = sum s_k s_l (v_k' S^-1 v_l)^2`` costs
    ``O(d^2 R + R^2 d)`` with ``R`` the total rank, instead of ``O(m d^3)`` for dense slices.
    """

    V: FloatArray  # (d, R), factors grouped by slice
    s: FloatArray  # (R,)
    slices: NDArray[np.intp]  # the slices of nonzero rank, ascending
    starts: NDArray[np.intp]  # where each of them starts among the R factors


def _factorise(block: LMIBlock) -> _Factors | None:
    """Eigen-factors of the slices, or ``None`` when their total rank makes dense work cheaper."""
    m, d, _ = block.F.shape
    w, Q = np.linalg.eigh(0.5 * (block.F + block.F.transpose(0, 2, 1)))
    # drop eigenvalues at rounding level of their own slice: the barrier is an untrusted
    # search (every candidate is re-checked), so an O(eps) change of the slices is harmless
    keep = np.abs(w) > 1e-13 * np.maximum(np.max(np.abs(w), axis=1, keepdims=True), 1e-300)
    idx_i, idx_k = np.nonzero(keep)
    R = idx_i.size
    if R * R * d + R * d * d > 3 * m * d**3:
        return None
    V = Q[idx_i, :, idx_k].T
    slices, starts = np.unique(idx_i, return_index=True)
    return _Factors(np.ascontiguousarray(V), w[idx_i, idx_k], slices, starts)


def _derivatives(y: FloatArray, blocks: list[LMIBlock], A: FloatArray, g: FloatArray,
                 factors: list[_Factors | None] | None = None
                 ) -> tuple[FloatArray, FloatArray]:
    m = y.size
    grad = np.zeros(m)
    hess = np.zeros((m, m))
    if factors is None:
        factors = [None] * len(blocks)
    for b, fac in zip(blocks, factors, strict=True):
        S = b.F0 + np.tensordot(y, b.F, axes=1)
        L = np.linalg.cholesky(0.5 * (S + S.T))
        Li = np.linalg.inv(L)
        if fac is not None:
            U = Li @ fac.V
            K = U.T @ U
            # sums over each slice's factors by reduceat, not indicator matmuls: small BLAS
            # calls cost more in thread hand-offs than in arithmetic on shared cores
            G = fac.s[:, None] * K**2 * fac.s[None, :]
            G = np.add.reduceat(np.add.reduceat(G, fac.starts, axis=0), fac.starts, axis=1)
            grad[fac.slices] -= np.add.reduceat(fac.s * np.diag(K), fac.starts)
            hess[np.ix_(fac.slices, fac.slices)] += G
            continue
        d = Li.shape[0]
        # Y_i = L^-1 F_i L^-T as two large products instead of m small ones: a batched matmul
        # of small matrices is dominated by BLAS threading overhead on a busy machine
        X = (Li @ b.F.transpose(1, 0, 2).reshape(d, m * d)).reshape(d, m, d).transpose(1, 0, 2)
        Y = (X.reshape(m * d, d) @ Li.T).reshape(m, d, d)
        flat = Y.reshape(m, -1)
        grad -= np.trace(Y, axis1=1, axis2=2)
        hess += flat @ flat.T
    if A.size:
        r = A @ y + g
        grad -= A.T @ (1.0 / r)
        hess += (A.T / r**2) @ A
    return grad, hess


@_one_blas_thread()  # a contextmanager is also a decorator: one BLAS thread per call
def barrier_minimise(
    c: FloatArray,
    blocks: list[LMIBlock],
    A: FloatArray,
    g: FloatArray,
    y0: FloatArray,
    *,
    stop: Callable[[FloatArray], bool] | None = None,
    give_up: Callable[[float], bool] | None = None,
    gap_tol: float = 1e-7,
    mu0: float = 1.0,
    mu_factor: float = 20.0,
    max_newton: int = 400,
    max_center: int = 50,
) -> BarrierResult:
    """Barrier method from the strictly feasible ``y0``, on one BLAS thread.

    ``stop(y)`` ends the run early (e.g. "the margin is already negative enough");
    ``give_up(lower)`` ends it when the central-path lower bound on ``c'y`` shows the target
    cannot be reached. ``gap_tol`` bounds ``degree / mu`` relative to ``1 + |c'y|``.
    ``max_newton`` caps the Newton steps in all, ``max_center`` those of one centering: a
    centering cut short leaves the iterate off the central path, where ``mu`` keeps growing
    while the iterate drifts (and the lower bound is not valid).
    """
    y = np.array(y0, dtype=np.float64)
    if not math.isfinite(_value(y, blocks, A, g)):
        raise ValueError("barrier_minimise needs a strictly feasible start")
    degree = sum(b.F0.shape[0] for b in blocks) + A.shape[0]
    factors = [_factorise(b) for b in blocks]
    mu = mu0
    steps = 0
    lower = -math.inf
    first: FloatArray | None = None
    while True:
        centred = False
        for _ in range(max_center):  # Newton centering of mu c'y + barrier
            grad, hess = _derivatives(y, blocks, A, g, factors)
            grad = mu * c + grad
            # Jacobi scaling: metric entries and multipliers differ by orders of magnitude
            dsc = 1.0 / np.sqrt(np.maximum(np.diag(hess), 1e-300))
            hs = hess * dsc[:, None] * dsc[None, :]
            try:
                dy = -dsc * np.linalg.solve(hs + 1e-13 * np.eye(y.size), dsc * grad)
            except np.linalg.LinAlgError:
                dy = -dsc * np.linalg.lstsq(hs, dsc * grad, rcond=None)[0]
            dec = float(-grad @ dy)
            steps += 1
            if dec <= 1e-9:
                centred = True
                break
            if steps >= max_newton:
                break
            f0 = mu * float(c @ y) + _value(y, blocks, A, g)
            s = 1.0
            while s > 1e-12:
                yn = y + s * dy
                fn = mu * float(c @ yn) + _value(yn, blocks, A, g)
                if math.isfinite(fn) and fn <= f0 - 0.25 * s * dec:
                    break
                s *= 0.5
            else:
                break
            y = yn
            if stop is not None and stop(y):
                return BarrierResult(y, "stopped", lower, steps, first)
        if centred and first is None:
            first = y.copy()
        obj = float(c @ y)
        lower = obj - degree / mu
        if stop is not None and stop(y):
            return BarrierResult(y, "stopped", lower, steps, first)
        # the central-path bound holds only at a centred point
        if centred and give_up is not None and give_up(lower):
            return BarrierResult(y, "infeasible_bound", lower, steps, first)
        if degree / mu <= gap_tol * (1.0 + abs(obj)):
            return BarrierResult(y, "optimal", lower, steps, first)
        if steps >= max_newton:
            return BarrierResult(y, "max_iter", lower, steps, first)
        mu *= mu_factor
