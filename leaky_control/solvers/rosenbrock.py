"""Rosenbrock23: the L-stable 2(3) Rosenbrock W-method of MATLAB's ``ode23s``, for stiff loops.

The method is the one of Shampine & Reichelt, "The MATLAB ODE suite", SIAM J. Sci. Comput. 18
(1997), sec. 3.1, with ``d = 1/(2 + sqrt(2))`` and ``e32 = 6 + sqrt(2)``. One step from
``(t, x)`` with ``F0 = f(t, x)``, ``J ~ df/dx``, ``T ~ df/dt`` and ``W = I - h d J``::

    k1 = W^-1 (F0 + h d T)
    F1 = f(t + h/2, x + h/2 k1)
    k2 = W^-1 (F1 - k1) + k1
    x+ = x + h k2                                  (2nd order, propagated)
    F2 = f(t + h, x+)
    k3 = W^-1 (F2 - e32 (k2 - F1) - 2 (k1 - F0) + h d T)
    err = h/6 (k1 - 2 k2 + k3)                     (3rd-order estimate of x+'s error)

The propagated formula is L-stable (its stability function tends to 0 as ``h lambda -> -inf``)
and, being a W-method, keeps order 2 for any matrix ``J``; ``F2`` is the next step's ``F0``
(first same as last). Outputs inside a step come from the method's own continuous extension
(``ntrp23s``), ``x(t + s h) = x + h (s (1 - s) k1 + s (s - 2 d) k2) / (1 - 2 d)``, which is
exact at both ends and second order.

Design choices:

- **Jacobian.** ``J`` is formed by forward differences of :func:`.loop.loop_deriv` (one
  evaluation per state, increment ``sqrt(eps) max(|x_j|, 1)``) and ``T`` by one forward
  difference in time (``ode23s``' increment ``min(sqrt(eps) max(|t|, |t + h|), h)``); both once
  per accepted step, at its start, and kept through that point's rejected trials (as
  ``ode23s`` does: a rejection changes ``h``, not the point). Each trial factors ``W`` by an LU
  decomposition with partial pivoting written here (the body runs without numba's runtime, so
  ``np.linalg`` is not available and nothing is allocated; the entry function allocates).
- **Singular W.** ``W = I - h d J`` is singular only when ``1/(h d)`` is an eigenvalue of
  ``J``, which a smaller ``h`` cures (``W -> I``): a zero pivot rejects the trial and halves
  the step, so a persistent singularity ends as a step-size underflow. A non-finite ``J`` or
  ``T`` (the field is not finite next to an accepted state) ends the run as non-finite.
- **Signals, kinks, samples, failures** as in the explicit adaptive solvers (:mod:`.dopri5`):
  steps end at the output times where the reference or disturbance changes slope
  (:func:`.stops.kink_stops`) and at the samples of a sampled controller
  (:func:`.stops.next_sample`, after which ``F0`` is recomputed); kinks of the leaky shape
  and of saturations are left to step rejection; ``max_steps`` counts accepted and rejected
  steps.
- **Step control.** Hairer's RMS norm with weights ``atol + rtol max(|x|, |x+|)``; the
  elementary controller ``h_new = h min(5, max(0.2, 0.9 err^(-1/3)))`` (local error O(h^3)),
  no growth right after a rejection; a non-finite trial shrinks the step by 5. Starting step:
  Hairer's HINIT with exponent 1/3 (one evaluation).
- **Accuracy.** ``rtol`` bounds each step's local error, and the 2nd-order solution is the one
  propagated (no local extrapolation: the 3rd-order one is not L-stable), so the global error
  is the loop's sum of local errors of about that size: it goes as ``rtol^(2/3)`` and is
  larger than Dopri5's at the same ``rtol``. Measured at rtol 1e-6 against Radau, DOP853 or
  closed forms (tests/test_rosenbrock.py; the loops of tests/test_dopri5.py): 6x
  ``rtol * scale`` on a stiff loop, 2.5-11x on first-order, DC-motor and cruise loops,
  25-230x on lightly damped oscillating ones (Dopri5: at most 2.1x).

``info`` on return: ``[status, failure time, nfev, accepted, rejected]``. ``nfev`` counts
every right-hand-side evaluation of the integration: two per trial step, ``nx + 1`` per
Jacobian (states and time), the starting ``F0``, the starting-step guess and one per controller
sample; not the one evaluation per output time that computes the recorded outputs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

import numpy as np
from numba import njit

from ..status import Status
from .adaptive import AdaptiveSolver, accept_step, initial_step, start_run, step_window
from .loop import (
    all_finite,
    emit,
    fill_nan,
    interp_signals,
    loop_deriv,
    loop_deriv_call,
    loop_scratch,
    signals_at,
)
from .stops import kink_stops

if TYPE_CHECKING:
    from .._typing import FloatArray, IntArray

__all__ = ["Rosenbrock23"]

STATUS_NONFINITE = int(Status.NONFINITE)
STATUS_UNDERFLOW = int(Status.STEP_UNDERFLOW)
STATUS_MAX_STEPS = int(Status.MAX_STEPS)

# Shampine & Reichelt (1997), sec. 3.1 (ode23s)
D = 1.0 / (2.0 + math.sqrt(2.0))
E32 = 6.0 + math.sqrt(2.0)
#: continuous extension: x + h (s (1 - s) k1 + s (s - 2 d) k2) / (1 - 2 d)
INV_1M2D = 1.0 / (1.0 - 2.0 * D)

EPS = 2.220446049250313e-16
SQRT_EPS = math.sqrt(EPS)

# elementary step-size controller for a local error of order h^3
SAFE = 0.9
EXPO = 1.0 / 3.0
FAC_MIN = 0.2
FAC_MAX = 5.0


@njit(_nrt=False)
def lu_factor(A: FloatArray, piv: IntArray) -> bool:
    """LU factorisation with partial pivoting of the square ``A`` in place (LAPACK ``getrf``
    layout: unit lower factor below the diagonal, row swap ``k <-> piv[k]`` at step ``k``).
    Returns False when a pivot is zero or not finite (``A`` singular or not finite)."""
    n = A.shape[0]
    for k in range(n):
        p = k
        amax = abs(A[k, k])
        for i in range(k + 1, n):
            v = abs(A[i, k])
            if v > amax:
                amax = v
                p = i
        if not (amax > 0.0 and amax < math.inf):
            return False
        piv[k] = p
        if p != k:
            for j in range(n):
                tmp = A[k, j]
                A[k, j] = A[p, j]
                A[p, j] = tmp
        inv = 1.0 / A[k, k]
        for i in range(k + 1, n):
            lik = A[i, k] * inv
            A[i, k] = lik
            if lik != 0.0:
                for j in range(k + 1, n):
                    A[i, j] -= lik * A[k, j]
    return True


@njit(_nrt=False)
def lu_solve(LU: FloatArray, piv: IntArray, b: FloatArray) -> None:
    """Solve ``A x = b`` in place from :func:`lu_factor`'s ``LU`` and ``piv``."""
    n = LU.shape[0]
    for k in range(n):
        p = piv[k]
        if p != k:
            tmp = b[k]
            b[k] = b[p]
            b[p] = tmp
    for i in range(n):
        s = b[i]
        for j in range(i):
            s -= LU[i, j] * b[j]
        b[i] = s
    for i in range(n - 1, -1, -1):
        s = b[i]
        for j in range(i + 1, n):
            s -= LU[i, j] * b[j]
        b[i] = s / LU[i, i]


@njit(_nrt=False)
def _jacobian(P: Any, C: Any, n: int, sampled: bool, t: float, X: FloatArray, F0: FloatArray,
              r: FloatArray, d: FloatArray, y: FloatArray, uraw: FloatArray, u: FloatArray,
              Xt: FloatArray, Fj: FloatArray, J: FloatArray) -> bool:
    """Forward-difference ``J = d loop_deriv / dX`` at ``(t, X)`` (signals ``r``, ``d`` at
    ``t``; ``F0 = f(t, X)``); False when an entry is not finite."""
    nx = X.size
    for i in range(nx):
        Xt[i] = X[i]
    ok = True
    for j in range(nx):
        xj = X[j]
        xp = xj + SQRT_EPS * max(abs(xj), 1.0)
        delta = xp - xj  # the increment actually represented
        Xt[j] = xp
        loop_deriv(P, C, n, sampled, t, Xt, r, d, y, uraw, u, Fj)
        inv = 1.0 / delta
        for i in range(nx):
            v = (Fj[i] - F0[i]) * inv
            J[i, j] = v
            if not abs(v) < math.inf:
                ok = False
        Xt[j] = xj
    return ok


@njit(_nrt=False)
def _rosenbrock_body(P: Any, C: Any, n: int, sampled: bool, dts: float, t_out: FloatArray,
                     r_sig: FloatArray, d_sig: FloatArray, opts: FloatArray, out_x: FloatArray,
                     out_y: FloatArray, out_u: FloatArray, out_uraw: FloatArray, info: FloatArray,
                     X: FloatArray, Xn: FloatArray, Xt: FloatArray, F0: FloatArray, F1: FloatArray,
                     F2: FloatArray, k1: FloatArray, k2: FloatArray, k3: FloatArray,
                     dfdt: FloatArray, y: FloatArray, u: FloatArray, uraw: FloatArray,
                     r: FloatArray, d: FloatArray, J: FloatArray, W: FloatArray, piv: IntArray,
                     stops: FloatArray, nstops: int) -> None:
    nx = X.size
    nt = t_out.size
    rtol, atol, dtmin, dtmax = opts[0], opts[1], opts[2], opts[3]
    max_steps = int(opts[4])
    first_step = opts[5]
    t0 = t_out[0]
    info[0] = 0.0
    info[1] = math.nan
    nfev = 0
    naccept = 0
    nreject = 0

    nsample, t_sample = start_run(P, C, n, sampled, dts, t_out, r_sig, d_sig, X, F0, r, d, y,
                                  uraw, u, out_x, out_y, out_u, out_uraw)
    nfev += 1
    kout = 1  # next output index to record
    if not all_finite(F0, math.inf):
        info[0] = STATUS_NONFINITE
        info[1] = t0
        fill_nan(out_x, out_y, out_u, out_uraw, 1)
        info[2] = nfev
        info[3] = 0
        info[4] = 0
        return

    # starting step: Hairer's HINIT for a local error of order h^3 (one evaluation)
    if first_step > 0.0:
        h = first_step
    else:
        h = initial_step(P, C, n, sampled, t_out, r_sig, d_sig, X, F0, Xt, F1, r, d, y, uraw, u,
                         rtol, atol, dtmax, EXPO)
        nfev += 1

    t = t0
    kh = 0  # output interval holding t
    istop = 0  # next forced stop (an index into t_out)
    last_rejected = False
    nonfinite_trial = False
    need_jac = True
    while kout < nt:
        ok, istop, h, tn, hit, at_sample = step_window(
            t_out, stops, istop, t, h, sampled, t_sample, naccept + nreject, max_steps,
            dtmin, dtmax, nonfinite_trial, info, opts)
        if not ok:
            break

        if need_jac:
            # J and T at (t, X), kept through this point's rejected trials
            kh = signals_at(t_out, r_sig, d_sig, kh, t, r, d)
            ok = _jacobian(P, C, n, sampled, t, X, F0, r, d, y, uraw, u, Xt, F1, J)
            tdel = (t + min(SQRT_EPS * max(abs(t), abs(t + h)), h)) - t
            signals_at(t_out, r_sig, d_sig, kh, t + tdel, r, d)
            loop_deriv_call(P, C, n, sampled, t + tdel, X, r, d, y, uraw, u, F1)
            nfev += nx + 1
            for i in range(nx):
                dfdt[i] = (F1[i] - F0[i]) / tdel
            if not ok or not all_finite(dfdt, math.inf):
                info[0] = STATUS_NONFINITE
                info[1] = t
                break
            need_jac = False

        # W = I - h d J, factored in place
        hd = h * D
        for i in range(nx):
            for j in range(nx):
                W[i, j] = -hd * J[i, j]
            W[i, i] += 1.0
        if not lu_factor(W, piv):
            nreject += 1
            last_rejected = True
            nonfinite_trial = False
            h = 0.5 * h
            continue

        for i in range(nx):
            k1[i] = F0[i] + hd * dfdt[i]
        lu_solve(W, piv, k1)
        for i in range(nx):
            Xt[i] = X[i] + 0.5 * h * k1[i]
        kk = signals_at(t_out, r_sig, d_sig, kh, t + 0.5 * h, r, d)
        loop_deriv(P, C, n, sampled, t + 0.5 * h, Xt, r, d, y, uraw, u, F1)
        for i in range(nx):
            k2[i] = F1[i] - k1[i]
        lu_solve(W, piv, k2)
        for i in range(nx):
            k2[i] += k1[i]
            Xn[i] = X[i] + h * k2[i]
        kk = signals_at(t_out, r_sig, d_sig, kk, tn, r, d)
        loop_deriv(P, C, n, sampled, tn, Xn, r, d, y, uraw, u, F2)
        nfev += 2
        for i in range(nx):
            k3[i] = F2[i] - E32 * (k2[i] - F1[i]) - 2.0 * (k1[i] - F0[i]) + hd * dfdt[i]
        lu_solve(W, piv, k3)
        s = 0.0
        for i in range(nx):
            sk = atol + rtol * max(abs(X[i]), abs(Xn[i]))
            s += ((h / 6.0) * (k1[i] - 2.0 * k2[i] + k3[i]) / sk) ** 2
        err = math.sqrt(s / max(nx, 1))
        if not err < math.inf:  # NaN or inf: a non-finite trial
            err = math.inf

        if err <= 1.0:
            naccept += 1
            nonfinite_trial = False
            # outputs strictly inside the step, from the continuous extension
            while t_out[kout] < tn:
                th = (t_out[kout] - t) / h
                p1 = th * (1.0 - th) * INV_1M2D
                p2 = th * (th - 2.0 * D) * INV_1M2D
                for i in range(nx):
                    Xt[i] = X[i] + h * (p1 * k1[i] + p2 * k2[i])
                interp_signals(r_sig, kout, 0.0, r)
                interp_signals(d_sig, kout, 0.0, d)
                emit(P, C, n, sampled, t_out[kout], Xt, r, d, y, uraw, u, out_x, out_y, out_u,
                     out_uraw, kout)
                kout += 1
            ok, kout, nsample, t_sample, kh, extra = accept_step(
                P, C, n, sampled, dts, t_out, r_sig, d_sig, X, Xn, F0, F2, tn, hit, at_sample,
                kout, nsample, t_sample, kh, r, d, y, uraw, u, out_x, out_y, out_u, out_uraw,
                info)
            nfev += extra
            t = tn
            if not ok:
                break
            need_jac = True
            fac = FAC_MAX if err == 0.0 else SAFE * err ** (-EXPO)
            fac = max(FAC_MIN, min(FAC_MAX, fac))
            if last_rejected:
                fac = min(fac, 1.0)
            last_rejected = False
            h = h * fac
        else:
            nreject += 1
            last_rejected = True
            if err == math.inf:
                nonfinite_trial = True
                h = h * FAC_MIN
            else:
                nonfinite_trial = False
                h = h * max(FAC_MIN, SAFE * err ** (-EXPO))
    if info[0] != 0.0:
        fill_nan(out_x, out_y, out_u, out_uraw, kout)
    info[2] = nfev
    info[3] = naccept
    info[4] = nreject


def simulate_rosenbrock23(s: Any, P: Any, C: Any, n: int, sampled: bool, dts: float,
                          t_out: FloatArray, r_sig: FloatArray, d_sig: FloatArray, x0: FloatArray,
                          opts: FloatArray, out_x: FloatArray, out_y: FloatArray, out_u: FloatArray,
                          out_uraw: FloatArray, info: FloatArray) -> None:
    """Allocate the scratch arrays (state rows, the Jacobian, the LU factors and pivots) and
    run the Rosenbrock23 body (the kernel entry; compiled per plant and controller)."""
    X, y, u, uraw, r, d, w = loop_scratch(x0, out_y, out_u, r_sig, d_sig, 9)
    nx = x0.size
    J = np.empty((nx, nx))
    W = np.empty((nx, nx))
    piv = np.empty(nx, dtype=np.int64)
    stops, nstops = kink_stops(t_out, r_sig, d_sig, opts[6])
    _rosenbrock_body(P, C, n, sampled, dts, t_out, r_sig, d_sig, opts,
                     out_x, out_y, out_u, out_uraw, info,
                     X, w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7], w[8], y, u, uraw, r, d,
                     J, W, piv, stops, nstops)


class Rosenbrock23Record(NamedTuple):
    """Selects the Rosenbrock23 body inside numba."""

    order: int


@dataclass(frozen=True)
class Rosenbrock23(AdaptiveSolver):
    """L-stable Rosenbrock 2(3) W-method of ``ode23s`` (Shampine & Reichelt 1997), for stiff
    loops.

    Second order, with a third-order error estimate, a finite-difference Jacobian of the closed
    loop recomputed every accepted step, and ``ode23s``' continuous extension for outputs
    inside a step (see the module docstring). Stiff modes (a fast sensor or actuator lag next
    to a slow plant) cost no steps once decayed: on a loop with eigenvalues near -1 and -1e6
    the step follows the slow mode, where an explicit method is held below ``2.8e-6``.

    Being second order, it needs many more steps than :class:`Dopri5` on a non-stiff loop at
    the same tolerance (about ``rtol^(-1/3)`` against ``rtol^(-1/5)``); use it when the loop
    is stiff. Each step costs ``nx + 3`` evaluations and one ``nx x nx`` LU factorisation.

    ``rtol`` bounds the local error per step; the global error is larger than Dopri5's at the
    same ``rtol`` (measured at 1e-6: 6x ``rtol * scale`` on a stiff loop, up to 230x on a
    lightly damped oscillating one, where Dopri5 stays within 2.1x) and falls as
    ``rtol^(2/3)``.

    Parameters
    ----------
    rtol, atol, dtmin, dtmax, max_steps, first_step
        Step-size control, as in :class:`.adaptive.AdaptiveSolver` (defaults 1e-6, 1e-9, 0,
        inf, 100000, automatic). The default ``rtol`` is Dopri5's, not ``ode23s``' 1e-3
        (global errors near 1e-2 there, too coarse for step metrics).
    """

    order: ClassVar[int] = 2
    Record: ClassVar[type] = Rosenbrock23Record

    run = staticmethod(simulate_rosenbrock23)

    def stats(self, info: FloatArray, max_step: float | None = None) -> dict[str, Any]:
        """``nfev`` (every evaluation of the integration, the Jacobians' included),
        ``naccept``, ``nreject``, ``nsteps`` (accepted plus rejected: one LU factorisation
        each) and ``failure_time`` (NaN after a complete run). A complete run formed one
        Jacobian per accepted step."""
        return super().stats(info, max_step)
