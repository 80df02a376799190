"""LipSDP-Neuron and LipSDP-Layer (Fazlyab et al., NeurIPS 2019) with a numpy re-certification.

Private helper of :mod:`leaky_control.analysis.lipschitz`. The weights arrive already validated.

Why a re-certification: an interior-point or first-order solver returns multipliers that satisfy
the linear matrix inequality only up to its tolerance, and may stop early. The number we report
is therefore recomputed from the multipliers alone, in numpy, and accepted only after an
eigenvalue check with a margin that dominates floating-point error.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .._memory import available_memory
from ._checks import format_bytes, require_cvxpy

if TYPE_CHECKING:
    from .._typing import FloatArray

_EPS = np.finfo(np.float64).eps
# Strict-feasibility margin asked of the solver (the weights are normalised to spectral norm 1,
# so this is relative). It keeps the hidden block strictly negative for the numpy check; larger
# margins cost tightness near a = 1, where the optimal multipliers grow like 1 / (1 - a).
_STRICT = 1e-9


def import_cvxpy() -> Any:
    """Import cvxpy lazily; name the extra that provides it when it is missing."""
    return require_cvxpy("the LipSDP methods")


def _blocks_sizes(weights: Sequence[FloatArray]) -> list[int]:
    return [weights[0].shape[1]] + [w.shape[0] for w in weights[:-1]]


# ---------------------------------------------------------------------------- memory
#
# The LMI is n x n with n = n_0 + n_1 + ... + n_{L-1} (input and hidden widths). Its memory, in
# bytes, is modelled as
#
#     every solver:  800 n^2 + 250 nnz + 64e6
#     Clarabel:      + 64 d^2,   d = n (n + 1) / 2
#
# * ``d`` is the length of the LMI's svec (one PSD cone of size n). Clarabel, an interior-point
#   solver, keeps the cone's scaling matrix as a dense d x d block in its KKT system and factors it
#   densely: several d x d float64 copies (block, KKT values and indices, LDL factor). Measured peak
#   (resident memory above the pre-solve level, /proc/self/status VmHWM, one subprocess per size,
#   numpy-free Rust allocations included): 6.5-7.9 x (8 d^2) bytes over one-hidden-layer networks
#   10-20-1 ... 10-120-1, 40-20-1, 60-10-1, 80-20-1, 50-40-1 (e.g. n = 130: 3.79 GB for
#   8 d^2 = 0.58 GB; n = 100, 80-20-1: 1.42 GB for 0.20 GB). 64 d^2 = 8 x (8 d^2) covers that.
#   Clarabel's chordal decomposition splits some deeper networks into smaller cones (30-30-30-1
#   peaked at 0.47 GB, half the single-cone figure) but merges others back (10-60-60-1: 3.72 GB,
#   as one cone of n = 130), so the single-cone figure is the conservative one.
#   At n = 410 (a 10-400-1 network) d = 84,255 and 8 d^2 is the 56,791,240,200-byte allocation
#   that aborted the interpreter; time grows like d^3 too (n = 130 took 100-210 s).
# * ``n^2`` and ``nnz`` are cvxpy's canonicalisation and the first-order solver (SCS): ``nnz`` is
#   the number of nonzeros of the map from the multipliers to the LMI (``lmi_nonzeros``); the
#   numpy re-check needs a few n x n arrays. SCS measured 122 MB at 10-400-1 (n = 410), 484 MB at
#   10-800-1, 239 MB at 200-50-1 (nnz 1.0e6), 256 MB at 100-100-100-1, 243 MB at 300-20-1;
#   the formula gives 1.2-1.7 times these.
# * 64e6: cvxpy's and the solver's fixed working set (a 10-20-1 network peaked at 13 MB).
#
# "lipsdp-layer" has the same n x n LMI, so the same Clarabel term; only ``nnz`` is smaller.
_SVEC_BYTES = 64
_ENTRY_BYTES = 800
_NONZERO_BYTES = 250
_FIXED_BYTES = 64e6
# Default budget: this fraction of the memory available when the call starts.
_BUDGET_FRACTION = 0.9
# Solvers estimated with the first-order formula; any other (Clarabel, or a name cvxpy may know,
# most of them interior-point) gets the interior-point one.
_FIRST_ORDER = ("SCS",)


class LipSDPMemoryError(MemoryError, ValueError):
    """A LipSDP problem was refused before it was built: its estimated memory exceeds the budget.

    Both a :class:`MemoryError` and a :class:`ValueError`. Attributes: ``estimates`` (bytes per
    solver tried), ``budget`` and ``available`` (bytes; ``available`` is None if unknown).
    """

    def __init__(self, message: str, estimates: Mapping[str, float] | None = None,
                 budget: float | None = None, available: int | None = None) -> None:
        super().__init__(message)
        self.estimates = dict(estimates or {})
        self.budget = budget
        self.available = available


def lmi_nonzeros(sizes: Sequence[int], per_neuron: bool) -> int:
    """Nonzeros of the affine map from the multipliers (and rho) to the LMI's entries.

    ``sizes`` are the widths ``(n_0, ..., n_L)``. Each hidden layer ``k`` contributes the block
    ``W^T diag(lambda) W`` (``n_{k-1}(n_{k-1}+1)/2`` entries, each depending on all ``n_k``
    multipliers per neuron, on one per layer), ``W^T diag(lambda)`` (``n_{k-1} n_k``) and
    ``diag(lambda)`` (``n_k``); rho adds ``n_0``.
    """
    nnz = int(sizes[0])
    for k in range(1, len(sizes) - 1):
        n_prev, n_k = int(sizes[k - 1]), int(sizes[k])
        tri = n_prev * (n_prev + 1) // 2
        nnz += tri * (n_k if per_neuron else 1) + n_prev * n_k + n_k
    return nnz


def estimate_memory(sizes: Sequence[int], per_neuron: bool, solver: str | None) -> float:
    """Estimated peak memory (bytes, a float) of LipSDP on widths ``sizes`` with ``solver``."""
    n = sum(int(s) for s in sizes[:-1])
    est = _ENTRY_BYTES * float(n) ** 2 + _NONZERO_BYTES * float(lmi_nonzeros(sizes, per_neuron))
    est += _FIXED_BYTES
    if solver not in _FIRST_ORDER:
        d = n * (n + 1) / 2.0
        est += _SVEC_BYTES * d * d
    return est


def memory_budget(max_memory: float | None) -> tuple[float, int | None]:
    """``(budget, available)`` in bytes; ``max_memory`` (checked by the caller) overrides."""
    avail = available_memory()
    if max_memory is not None:
        return float(max_memory), avail
    return (math.inf if avail is None else _BUDGET_FRACTION * avail), avail


def plan_solvers(sizes: Sequence[int], per_neuron: bool, solver: str | None,
                 max_memory: float | None) -> tuple[list[str], dict[str, Any]]:
    """Solvers to try, in order, whose estimate fits the budget; raise if none does.

    Returns ``(solvers, info)`` with ``info`` the estimates, the budget and the solvers skipped.
    """
    solvers = [solver] if solver is not None else ["CLARABEL", "SCS"]
    budget, avail = memory_budget(max_memory)
    estimates = {name: estimate_memory(sizes, per_neuron, name) for name in solvers}
    fitting = [name for name in solvers if estimates[name] <= budget]
    info = {
        "memory_estimates": estimates,
        "memory_budget": budget,
        "memory_available": avail,
        "skipped_solvers": [name for name in solvers if name not in fitting],
    }
    if fitting:
        return fitting, info

    method = "lipsdp" if per_neuron else "lipsdp-layer"
    n = sum(int(s) for s in sizes[:-1])
    tried = ", ".join(f"{name} ~{format_bytes(estimates[name])}" for name in solvers)
    if max_memory is None:
        where = (
            f"{_BUDGET_FRACTION:.0%} of the {format_bytes(avail)} of memory available"
            if avail is not None else "the memory available"
        )
    else:
        where = (
            f"max_memory={format_bytes(budget)}"
            + ("" if avail is None else f"; {format_bytes(avail)} available")
        )
    options = []
    for alt_method, alt_neuron in (("lipsdp", True), ("lipsdp-layer", False)):
        for alt_solver in ("SCS", "CLARABEL"):
            if alt_method == method and alt_solver in solvers:
                continue
            est = estimate_memory(sizes, alt_neuron, alt_solver)
            if est <= budget:
                options.append(
                    f"method={alt_method!r} with solver={alt_solver!r} (~{format_bytes(est)})"
                )
    options.append("method='naive' (product of layer norms, no SDP)")
    raise LipSDPMemoryError(
        f"method={method!r} on widths {tuple(int(s) for s in sizes)} builds a {n}x{n} linear "
        f"matrix inequality; the estimated peak memory ({tried}) exceeds the budget, {where}. "
        f"Cheaper: {'; '.join(options)}; or pass max_memory=<bytes> (math.inf disables the "
        "check) to try anyway. Estimate: 800 n^2 + 250 nnz + 64 MB, plus 64 d^2 with "
        "d = n(n+1)/2 for an interior-point solver such as CLARABEL.",
        estimates, budget, avail,
    )


def lmi_matrix(weights: Sequence[FloatArray], a: float, lams: Sequence[FloatArray],
               rho: float) -> FloatArray:
    """The LipSDP matrix ``M(rho, lambda)`` in numpy; the bound ``sqrt(rho)`` holds if ``M <= 0``.

    With increments ``v = (dx_0, dx_1, ..., dx_{L-1})`` of the input and of every hidden layer's
    output, ``v' M v = |W_L dx_{L-1}|^2 - rho |dx_0|^2 + sum_k q_k`` where ``q_k >= 0`` is the
    incremental quadratic constraint of a slope in ``[a, 1]`` times ``lambda_k >= 0``.
    """
    sizes = _blocks_sizes(weights)
    offs = np.concatenate([[0], np.cumsum(sizes)])
    n = int(offs[-1])
    m = np.zeros((n, n))
    m[: sizes[0], : sizes[0]] -= rho * np.eye(sizes[0])
    for k in range(1, len(weights)):
        w = weights[k - 1]
        lam = lams[k - 1]
        i0, i1 = offs[k - 1], offs[k]
        j0, j1 = offs[k], offs[k + 1]
        wl = w.T * lam  # W^T diag(lambda)
        m[i0:i1, i0:i1] -= 2.0 * a * (wl @ w)
        m[i0:i1, j0:j1] += (1.0 + a) * wl
        m[j0:j1, i0:i1] += (1.0 + a) * wl.T
        m[j0:j1, j0:j1] -= 2.0 * np.diag(lam)
    wl_ = weights[-1]
    m[offs[-2] :, offs[-2] :] += wl_.T @ wl_
    return 0.5 * (m + m.T)


def _min_rho(weights: Sequence[FloatArray], a: float, lams: Sequence[FloatArray]) -> float | None:
    """Smallest rho with ``M(rho, lambda) <= 0`` for fixed multipliers (Schur complement).

    None when the hidden block is not negative definite (no rho works).
    """
    n0 = weights[0].shape[1]
    m = lmi_matrix(weights, a, lams, 0.0)
    n00, n01, n11 = m[:n0, :n0], m[:n0, n0:], m[n0:, n0:]
    ev11 = np.linalg.eigvalsh(n11)
    if ev11[-1] >= 0.0:
        return None
    s = n00 - n01 @ np.linalg.solve(n11, n01.T)
    return max(float(np.linalg.eigvalsh(0.5 * (s + s.T))[-1]), 0.0)


def certify(weights: Sequence[FloatArray], a: float, lams: Sequence[FloatArray],
            rho_hint: float | None) -> tuple[float, float, float] | None:
    """Return ``(rho, max_eig, tol)`` with ``M(rho, lams)`` verified negative semidefinite, or None.

    The verified condition is ``eigvalsh(M)[-1] <= -tol`` where ``tol`` bounds the backward error
    of forming ``M`` and of ``eigvalsh`` (a few ``n * eps * |M|_F``, taken 64 times larger), so the
    true matrix is negative semidefinite, not only the computed one.
    """
    lams = [np.maximum(np.asarray(lam, dtype=np.float64), 0.0) for lam in lams]
    rho0 = _min_rho(weights, a, lams)
    candidates = [] if rho0 is None else [rho0]
    if rho_hint is not None and np.isfinite(rho_hint):
        candidates.append(max(float(rho_hint), 0.0))
    if not candidates:
        return None
    base = min(candidates)
    for infl in (1e-9, 1e-7, 1e-5, 1e-3, 1e-2):
        rho = base * (1.0 + infl) + infl * max(1.0, base) * 1e-3
        m = lmi_matrix(weights, a, lams, rho)
        n = m.shape[0]
        tol = 64.0 * n * _EPS * (np.linalg.norm(m, "fro") + rho + 1.0)
        top = float(np.linalg.eigvalsh(m)[-1])
        if top <= -tol:
            return rho, top, tol
    return None


def solve_lipsdp(weights: Sequence[FloatArray], a: float, per_neuron: bool = True,
                 solver: str | None = None, verbose: bool = False,
                 max_memory: float | None = None) -> tuple[float, bool, dict[str, Any], str]:
    """Solve LipSDP on spectrally normalised weights; return ``(value, certified, stats, message)``.

    ``weights`` must have nonzero layers (the caller handles a zero layer: the constant is 0).
    Before anything is built, the solvers whose estimated memory exceeds the budget
    (``max_memory`` bytes, default a fraction of the available memory) are dropped; if none is
    left, :class:`LipSDPMemoryError` is raised.
    """
    sizes = [weights[0].shape[1]] + [w.shape[0] for w in weights]
    solvers, plan = plan_solvers(sizes, per_neuron, solver, max_memory)
    cp = import_cvxpy()
    scales = [float(np.linalg.norm(w, 2)) for w in weights]
    ws = [w / s for w, s in zip(weights, scales, strict=True)]
    scale = float(np.prod(scales))
    sizes = _blocks_sizes(ws)
    n = int(sum(sizes))

    rho = cp.Variable(nonneg=True)
    lam_vars = []
    for w in ws[:-1]:
        if per_neuron:
            lam_vars.append(cp.Variable(w.shape[0], nonneg=True))
        else:
            lam_vars.append(cp.Variable(nonneg=True))

    def lam_vec(k: int) -> Any:
        v = lam_vars[k]
        return v if per_neuron else v * np.ones(ws[k].shape[0])

    nb = len(sizes)
    blocks: list[list[Any]] = [[None] * nb for _ in range(nb)]
    for i in range(nb):
        for j in range(nb):
            blocks[i][j] = np.zeros((sizes[i], sizes[j]))
    diag_terms: list[list[Any]] = [[] for _ in range(nb)]
    diag_terms[0].append(-rho * np.eye(sizes[0]))
    for k in range(1, nb):
        w = ws[k - 1]
        lv = lam_vec(k - 1)
        # W^T diag(lambda) W written as a sum over neurons keeps cvxpy's expression affine.
        wtlw = w.T @ cp.diag(lv) @ w
        diag_terms[k - 1].append(-2.0 * a * wtlw)
        off = (1.0 + a) * (w.T @ cp.diag(lv))
        blocks[k - 1][k] = off
        blocks[k][k - 1] = off.T
        diag_terms[k].append(-2.0 * cp.diag(lv))
    diag_terms[nb - 1].append(ws[-1].T @ ws[-1])
    for i in range(nb):
        expr = diag_terms[i][0]
        for t in diag_terms[i][1:]:
            expr = expr + t
        blocks[i][i] = expr
    mat = cp.bmat(blocks)
    mat = 0.5 * (mat + mat.T)
    cons = [-mat - _STRICT * np.eye(n) >> 0]
    prob = cp.Problem(cp.Minimize(rho), cons)

    stats = {"n_lmi": n, "attempts": [], **plan}
    messages = []
    skipped = "".join(
        f" ({name} skipped: estimated {format_bytes(plan['memory_estimates'][name])} > memory "
        f"budget {format_bytes(plan['memory_budget'])})"
        for name in plan["skipped_solvers"]
    )
    for name in solvers:
        t0 = time.perf_counter()
        try:
            with warnings.catch_warnings():
                # cvxpy warns "Solution may be inaccurate"; the status is kept in stats and the
                # multipliers are re-certified below, so the warning adds nothing
                warnings.filterwarnings("ignore", message="Solution may be inaccurate")
                prob.solve(solver=name, verbose=verbose)
        except Exception as exc:  # solver errors vary by backend; we report, never guess
            messages.append(f"{name}: {type(exc).__name__}: {exc}")
            stats["attempts"].append({"solver": name, "status": "error", "error": str(exc)})
            continue
        wall = time.perf_counter() - t0
        st = prob.solver_stats
        attempt = {
            "solver": name,
            "status": prob.status,
            "solver_value": None
            if prob.value is None
            else float(np.sqrt(max(prob.value, 0.0)) * scale),
            "solve_time": st.solve_time,
            "setup_time": st.setup_time,
            "num_iters": st.num_iters,
            "wall_time": wall,
        }
        stats["attempts"].append(attempt)
        if prob.status not in ("optimal", "optimal_inaccurate") or lam_vars[0].value is None:
            messages.append(f"{name}: status {prob.status}")
            continue
        lams = []
        for k, v in enumerate(lam_vars):
            val = np.atleast_1d(np.asarray(v.value, dtype=np.float64))
            lams.append(val if per_neuron else np.full(ws[k].shape[0], float(val[0])))
        cert = certify(ws, a, lams, None if rho.value is None else float(rho.value))
        if cert is None:
            messages.append(
                f"{name}: status {prob.status} but its multipliers failed the numpy check"
            )
            continue
        rho_c, top, tol = cert
        stats.update(
            solver=name,
            status=prob.status,
            max_eig=top,
            eig_tol=tol,
            multipliers=[lam * 1.0 for lam in lams],
            normalisation=scales,
        )
        # sqrt and the product of scales are rounded up by a relative few eps.
        value = float(np.sqrt(rho_c) * scale) * (1.0 + 8.0 * len(ws) * _EPS)
        return value, True, stats, f"{name}: {prob.status}; certified by eigvalsh{skipped}"
    return float("nan"), False, stats, ("; ".join(messages) or "no solver attempted") + skipped
