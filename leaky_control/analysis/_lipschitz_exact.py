"""Exact Lipschitz constants of one-hidden-layer Leaky-ReLU networks.

Private helper of :mod:`leaky_control.analysis.lipschitz`; inputs arrive validated.

* :func:`worst_case_patterns`: ``max_{D in {a,1}^n} |W2 D W1|_p``, enumerated in Gray-code order by
  a cached numba kernel (one rank-one update per pattern, a cheap upper bound to skip most exact
  norms).
* :func:`region_patterns`: the slope patterns the given biases actually realise, found by a
  breadth-first walk over the cells of the hyperplane arrangement ``W1 x + b1 = 0`` with one
  linear program per candidate cell.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .._jit import cached_njit

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from .._typing import FloatArray, IntArray

# p codes shared with the kernel: 0 -> 2-norm, 1 -> 1-norm, 2 -> inf-norm
P_CODES = {2: 0, 1: 1, np.inf: 2}


@cached_njit
def _opnorm(m: FloatArray, pcode: int) -> float:
    rows, cols = m.shape
    if pcode == 1:
        best = 0.0
        for j in range(cols):
            s = 0.0
            for i in range(rows):
                s += abs(m[i, j])
            best = max(best, s)
        return best
    if pcode == 2:
        best = 0.0
        for i in range(rows):
            s = 0.0
            for j in range(cols):
                s += abs(m[i, j])
            best = max(best, s)
        return best
    # 2-norm: scaled by the largest entry first, so squares neither underflow nor overflow
    # (entries below 2**-511 squared to 0 and pruned the best pattern; a bound came out 10x low)
    top = _maxabs(m)
    if top == 0.0:
        return 0.0
    ms = m / top
    if rows == 1 or cols == 1:
        s = 0.0
        for i in range(rows):
            for j in range(cols):
                s += ms[i, j] * ms[i, j]
        return top * np.sqrt(s)
    g = ms @ ms.T if rows <= cols else ms.T @ ms
    return top * np.sqrt(max(np.linalg.eigvalsh(g)[-1], 0.0))


@cached_njit
def _maxabs(m: FloatArray) -> float:
    top = 0.0
    for i in range(m.shape[0]):
        for j in range(m.shape[1]):
            top = max(top, abs(m[i, j]))
    return top


@cached_njit
def _frob(m: FloatArray) -> float:
    top = _maxabs(m)
    if top == 0.0:
        return 0.0
    s = 0.0
    for i in range(m.shape[0]):
        for j in range(m.shape[1]):
            v = m[i, j] / top
            s += v * v
    return top * np.sqrt(s)


@cached_njit
def _enumerate_kernel(w1: FloatArray, w2: FloatArray, a: float, pcode: int,
                      resync: int) -> tuple[float, IntArray]:
    """Gray-code walk over ``D in {a,1}^n``; returns (best norm, best pattern as 0/1 ints).

    Starting from ``D = a I`` (all bits 0), step ``k`` flips bit ``ctz(k)``; flipping neuron ``i``
    from ``a`` to ``1`` adds ``(1 - a) w2[:, i] w1[i, :]`` (and subtracts it back). Every ``resync``
    steps ``M`` is rebuilt from scratch so rounding cannot drift. For ``p = 2`` the Frobenius norm
    (an upper bound) skips the eigenvalue solve when it cannot beat the best so far.
    """
    n = w1.shape[0]
    bits = np.zeros(n, dtype=np.int64)
    m = a * (w2 @ w1)
    best = _opnorm(m, pcode)
    best_bits = bits.copy()
    total = 1 << n
    for k in range(1, total):
        i = 0
        kk = k
        while (kk & 1) == 0:
            kk >>= 1
            i += 1
        sign = 1.0 if bits[i] == 0 else -1.0
        bits[i] = 1 - bits[i]
        c = sign * (1.0 - a)
        for r in range(m.shape[0]):
            f = c * w2[r, i]
            for s in range(m.shape[1]):
                m[r, s] += f * w1[i, s]
        if k % resync == 0:
            for r in range(m.shape[0]):
                for s in range(m.shape[1]):
                    acc = 0.0
                    for t in range(n):
                        acc += w2[r, t] * (1.0 if bits[t] == 1 else a) * w1[t, s]
                    m[r, s] = acc
        if pcode == 0 and _frob(m) <= best:
            continue
        v = _opnorm(m, pcode)
        if v > best:
            best = v
            best_bits[:] = bits
    return best, best_bits


def opnorm(m: FloatArray, p: float) -> float:
    """Induced ``p -> p`` norm of a matrix in numpy (p in 1, 2, inf)."""
    if p == 2:
        return float(np.linalg.norm(m, 2))
    return float(np.linalg.norm(m, 1 if p == 1 else np.inf))


def row_norms(m: FloatArray) -> FloatArray:
    """Euclidean norms of the rows of ``m`` without overflow or underflow in the squares
    (``inf`` only for a norm itself beyond the float range)."""
    scale = np.max(np.abs(m), axis=1)
    safe = np.where(scale > 0.0, scale, 1.0)
    with np.errstate(over="ignore"):
        return scale * np.sqrt(np.sum((m / safe[:, None]) ** 2, axis=1))


def worst_case_patterns(w1: FloatArray, w2: FloatArray, a: float,
                        p: float) -> tuple[float, FloatArray]:
    """``(value, pattern)`` with ``value = max over D in {a,1}^n of |w2 D w1|_p``.

    The kernel's best pattern is re-evaluated from scratch in numpy, and the larger of the two
    figures is returned, so neither the kernel's incremental rounding nor its pruning can lower
    the value below what numpy computes for the best pattern it found.

    The caller passes layers scaled to entries of order one. For ``|a| > 1`` the kernel walks
    ``D' in {1/a, 1}^n`` (so ``D = a D'``) and the value is ``|a|`` times its figure: the kernel's
    squared products then stay far from overflow whatever ``a`` is.
    """
    flip = abs(a) > 1.0
    best, bits = _enumerate_kernel(
        np.ascontiguousarray(w1), np.ascontiguousarray(w2), float(1.0 / a if flip else a),
        P_CODES[p], 1024
    )
    if flip:
        # bit 1 of the kernel is D' = 1, i.e. D = a; bit 0 is D' = 1/a, i.e. D = 1
        d = np.where(bits == 1, a, 1.0)
        again = opnorm(w2 @ ((d / a)[:, None] * w1), p)
        return abs(a) * max(float(best), again), d
    d = np.where(bits == 1, 1.0, a)
    again = opnorm(w2 @ (d[:, None] * w1), p)
    return max(float(best), again), d


def region_patterns(w1: FloatArray, b1: FloatArray, max_regions: int = 100_000,
                    tol: float = 1e-9) -> tuple[list[NDArray[np.bool_]], int, bool]:
    """Slope patterns (True = positive side) of the open cells of ``{w1 x + b1 = 0}``.

    Breadth-first search from the cell of a random point: the neighbours of a cell differ in one
    sign, and each candidate is kept only if a linear program finds a point at least ``tol``
    (relative to the biases' scale) inside every half-space, and numpy confirms that point's
    signs. Rows that are positive multiples of each other always share a sign and are merged
    first, so crossing a shared hyperplane is one step. Returns ``(patterns, n_lp, complete)``.
    """
    from scipy.optimize import linprog

    n, n0 = w1.shape
    # each row scaled by its largest weight, then by the norm of the scaled row (in [1, sqrt(n0)]):
    # no overflow whatever the magnitudes
    top = np.max(np.abs(w1), axis=1)
    const = top == 0.0
    safe = np.where(const, 1.0, top)
    with np.errstate(over="ignore"):
        w_s, b_s = w1 / safe[:, None], b1 / safe
    dist = np.abs(b_s) / np.where(const, 1.0, np.sqrt(np.sum(w_s**2, axis=1)))
    # a hyperplane farther than 1e300 from the origin lies beyond the float range: its unit
    # keeps the sign of its bias at every representable input (leaving its far side out keeps
    # the result a lower bound)
    far = ~const & ~(dist <= 1e300)
    # a neuron with a zero weight row has a constant pre-activation and no effect on the Jacobian
    rows = np.flatnonzero(~const & ~far)
    norms = np.sqrt(np.sum(w_s[rows] ** 2, axis=1))
    aug = np.column_stack([w_s[rows], b_s[rows]]) / norms[:, None]
    # merge identical hyperplanes (same or opposite orientation): one sign variable per group
    # (representative row index into aug, [(neuron, orientation)])
    groups: list[tuple[int, list[tuple[Any, float]]]] = []
    for r, neuron in enumerate(rows):
        for g in groups:
            rep = aug[g[0]]
            if np.array_equal(aug[r], rep):
                g[1].append((neuron, 1.0))
                break
            if np.array_equal(aug[r], -rep):
                g[1].append((neuron, -1.0))
                break
        else:
            groups.append((r, [(neuron, 1.0)]))
    h = np.array([aug[g[0]] for g in groups]).reshape(len(groups), n0 + 1)
    scale = max(1.0, float(np.max(np.abs(h[:, -1]), initial=0.0)))

    def witness(signs: FloatArray) -> FloatArray | None:
        # maximise t subject to s_i (h_i . [x, 1]) >= t, t <= scale; variables (x, t)
        if h.shape[0] == 0:
            return np.zeros(n0)
        a_ub = np.column_stack([-(signs[:, None] * h[:, :-1]), np.ones(h.shape[0])])
        b_ub = signs * h[:, -1]
        c = np.zeros(n0 + 1)
        c[-1] = -1.0
        bounds = [(None, None)] * n0 + [(None, scale)]
        res = linprog(c, A_ub=a_ub, b_ub=b_ub, bounds=bounds, method="highs")
        if res.status != 0 or -res.fun <= tol * scale:
            return None
        x = res.x[:-1]
        if np.all(signs * (h[:, :-1] @ x + h[:, -1]) > 0.0):
            return x
        return None

    rng = np.random.default_rng(0)
    start = None
    for _ in range(100):
        x0 = rng.standard_normal(n0) * scale
        z = h[:, :-1] @ x0 + h[:, -1]
        if np.all(z != 0.0):
            start = np.where(z > 0.0, 1.0, -1.0)
            break
    if start is None:  # pragma: no cover - measure-zero event
        raise RuntimeError("could not find a starting point off every hyperplane")
    seen = {start.tobytes(): witness(start)}
    n_lp = 1
    queue = [start]
    complete = True
    found = []
    while queue:
        s = queue.pop()
        found.append(s)
        if len(found) >= max_regions:
            complete = False
            break
        for i in range(h.shape[0]):
            t = s.copy()
            t[i] = -t[i]
            key = t.tobytes()
            if key in seen:
                continue
            x = witness(t)
            n_lp += 1
            seen[key] = x
            if x is not None:
                queue.append(t)
    patterns = []
    for s in found:
        active = np.ones(n, dtype=bool)  # zero rows: any slope gives the same Jacobian
        active[far] = b1[far] > 0.0
        for (_rep, members), sg in zip(groups, s, strict=True):
            for neuron, orient in members:
                active[neuron] = sg * orient > 0.0
        patterns.append(active)
    return patterns, n_lp, complete
