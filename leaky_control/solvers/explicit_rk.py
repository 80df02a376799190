"""The adaptive loop every explicit Runge-Kutta method shares; a method is its tableau.

An explicit RK solver is a subclass of :class:`ExplicitRK` that sets ``Record`` (its own
``typing.NamedTuple`` class, which selects the method inside numba), ``order`` and a
:class:`Tableau`: nodes ``c``, matrix ``A``, solution weights ``b``, error weights ``e``
(``b`` minus the embedded weights) and the dense-output polynomials ``dense`` (``b_i(theta) =
sum_j dense[i, j] theta^(j+1)``). The tableau's arrays are compile-time constants of the
kernel specialised to that method. :mod:`.dopri5` and :mod:`.tsit5` are the examples.

Design choices (see docs/simulation.md, "Adaptive integration"):

- **Signals.** ``reference`` and ``disturbance`` are piecewise linear on ``timepts``. Every
  stage evaluates that interpolant exactly at its own time, so a step may cross an output time
  without changing the equations. Steps are forced to end at the output times where a
  signal's slope changes (:func:`.stops.kink_stops`): a short pulse between two output times
  can then never be stepped over unseen. Elsewhere steps run across output times and the
  outputs come from the dense output.
- **Kinks** of the leaky shape and of saturations make the field only Lipschitz. They are
  handled by step rejection. The embedded estimate measures the lower-order solution's error
  while the higher-order one is propagated; across a kink both are O(h^2 jump) with constants
  that depend on where the kink falls, and for some positions the estimate was measured 5x
  below the true error. The defect of the dense output at mid-step, ``h (u'(t + h/2) - f(t +
  h/2, u(t + h/2)))``, is O(h) times the jump there and O(h^(p)) on smooth steps; the larger
  of the two norms decides, at the cost of one evaluation per step.
- **Step size** by Hairer's PI controller (exponents ``1/(q+1) - 0.75 beta`` and ``beta`` with
  ``q`` the embedded order, safety 0.9, ratio in [0.2, 10]); the first step by Hairer's HINIT.
- **Sampled controllers**: steps end at the sample instants (snapped to an output time within
  1e-12 relative, as the fixed-step body does), the sample update is applied there and the
  first-same-as-last derivative is recomputed, since the held command changed.
- **Failure** never hangs: ``max_steps`` counts accepted and rejected steps.

``info`` on return: ``[status, failure time, nfev, accepted, rejected]`` (status:
:class:`leaky_control.status.Status`). ``nfev`` counts evaluations of the vector field by the
integration (stages, defect checks and the starting-step guess), not the one evaluation per
output time that computes the recorded outputs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from numba import njit
from numba.extending import overload

from .._dispatch import model_of, registered_model
from ..status import Status
from .adaptive import AdaptiveSolver, accept_step, initial_step, start_run, step_window
from .loop import (
    emit,
    fill_nan,
    interp_signals,
    loop_deriv,
    loop_scratch,
    signals_at,
    signals_at_call,
)
from .stops import kink_stops

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

    from .._typing import FloatArray

__all__ = ["ExplicitRK", "Tableau"]

# Hairer's PI controller: safety 0.9, beta 0.04, step ratio in [0.2, 10]
SAFE = 0.9
BETA = 0.04
FAC_MIN = 0.2
FAC_MAX = 10.0

_NONFINITE = int(Status.NONFINITE)
_UNDERFLOW = int(Status.STEP_UNDERFLOW)
_MAX_STEPS = int(Status.MAX_STEPS)


@dataclass(frozen=True)
class Tableau:
    """An explicit embedded Runge-Kutta pair with dense output (all arrays float64).

    Parameters
    ----------
    c : array_like, shape (s,)
        Nodes.
    A : array_like, shape (s, s)
        Strictly lower triangular stage matrix. For a first-same-as-last method the last
        row equals ``b`` and ``c[-1] = 1``.
    b : array_like, shape (s,)
        Weights of the propagated solution.
    e : array_like, shape (s,)
        Error weights: ``b`` minus the embedded solution's weights.
    dense : array_like, shape (s, k)
        ``b_i(theta) = sum_j dense[i, j] theta^(j+1)``; ``b_i(1) = b_i``.
    order : int
        Order of the propagated solution.
    embedded_order : int
        Order of the embedded solution (sets the step-size exponent).
    """

    if TYPE_CHECKING:
        # the constructor takes array_like; __post_init__ leaves float64 arrays
        c: FloatArray
        A: FloatArray
        b: FloatArray
        e: FloatArray
        dense: FloatArray
        order: int
        embedded_order: int

        def __init__(self, c: ArrayLike, A: ArrayLike, b: ArrayLike, e: ArrayLike,
                     dense: ArrayLike, order: int, embedded_order: int) -> None: ...
    else:
        c: np.ndarray
        A: np.ndarray
        b: np.ndarray
        e: np.ndarray
        dense: np.ndarray
        order: int
        embedded_order: int

    def __post_init__(self) -> None:
        for k in ("c", "A", "b", "e", "dense"):
            object.__setattr__(self, k, np.ascontiguousarray(getattr(self, k), dtype=float))
        s = self.c.size
        if self.A.shape != (s, s) or self.b.shape != (s,) or self.e.shape != (s,) or \
                self.dense.shape[0] != s:
            raise ValueError("tableau arrays do not agree in their number of stages")
        if np.any(np.triu(self.A) != 0):
            raise ValueError("A must be strictly lower triangular (an explicit method)")
        if not (np.allclose(self.A[-1], self.b) and self.c[-1] == 1.0):
            raise ValueError("the adaptive loop needs a first-same-as-last method "
                             "(last row of A equal to b, last node 1)")
        if not np.allclose(self.dense.sum(axis=1), self.b, rtol=0, atol=1e-12):
            raise ValueError("the dense output must equal the solution at theta = 1")

    def weights_at(self, theta: float) -> tuple[FloatArray, FloatArray]:
        """Dense-output weights ``b_i(theta)`` and their derivatives ``b_i'(theta)``."""
        powers = theta ** np.arange(1, self.dense.shape[1] + 1)
        dpowers = np.arange(1, self.dense.shape[1] + 1) * theta ** np.arange(self.dense.shape[1])
        return self.dense @ powers, self.dense @ dpowers


def tableau_of(s: Any) -> tuple[Any, ...]:
    """The method's constants ``(c, A, b, e, dense, mid, dmid, expo, hexp)``."""
    return _constants(model_of(s).tableau)


def _constants(tab: Tableau) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray,
                                      FloatArray, FloatArray, FloatArray, float, float]:
    mid, dmid = tab.weights_at(0.5)
    return (tab.c, tab.A, tab.b, tab.e, tab.dense, mid, dmid,
            1.0 / (tab.embedded_order + 1) - 0.75 * BETA, 1.0 / tab.order)


# unannotated: numba's @overload compares this signature, annotations included, with the
# lambda it returns
@overload(tableau_of)
def _tableau_of(s):  # type: ignore[no-untyped-def]
    # the constants as separate closure variables: numba freezes each array as a constant
    c, A, b, e, dense, mid, dmid, expo, hexp = _constants(registered_model(s).tableau)
    return lambda s: (c, A, b, e, dense, mid, dmid, expo, hexp)


@njit(_nrt=False)
def _rk_body(s: Any, P: Any, C: Any, n: int, sampled: bool, dts: float, t_out: FloatArray,
             r_sig: FloatArray, d_sig: FloatArray, opts: FloatArray, out_x: FloatArray,
             out_y: FloatArray, out_u: FloatArray, out_uraw: FloatArray, info: FloatArray,
             X: FloatArray, Xn: FloatArray, Xt: FloatArray, K: FloatArray, kd: FloatArray,
             Q: FloatArray, y: FloatArray, u: FloatArray, uraw: FloatArray, r: FloatArray,
             d: FloatArray, stops: FloatArray, nstops: int) -> None:
    c, A, b, e, dense, mid, dmid, expo1, hexp = tableau_of(s)
    S = c.size
    L = S - 1
    nq = dense.shape[1]
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
    k1 = K[0]
    kl = K[L]

    nsample, nxt_sample = start_run(P, C, n, sampled, dts, t_out, r_sig, d_sig, X, k1, r, d, y,
                                    uraw, u, out_x, out_y, out_u, out_uraw)
    nfev += 1

    # starting step: Hairer's HINIT (one extra evaluation)
    if first_step > 0.0:
        h = first_step
    else:
        h = initial_step(P, C, n, sampled, t_out, r_sig, d_sig, X, k1, Xt, kd, r, d, y, uraw, u,
                         rtol, atol, dtmax, hexp)
        nfev += 1

    t = t0
    kh = 0  # output interval holding t
    kout = 1  # next output index to record
    istop = 0  # next forced stop (an index into t_out)
    facold = 1e-4
    last_rejected = False
    nonfinite_trial = False
    while kout < nt:
        ok, istop, h, tn, hit, at_sample = step_window(
            t_out, stops, istop, t, h, sampled, nxt_sample, naccept + nreject, max_steps,
            dtmin, dtmax, nonfinite_trial, info, opts)
        if not ok:
            break

        # stages 2..S; the last one is f(tn, Xn) (first same as last)
        kk = kh
        for st in range(1, S):
            row = Xn if st == L else Xt
            for i in range(nx):
                acc = 0.0
                for j in range(st):
                    acc += A[st, j] * K[j, i]
                row[i] = X[i] + h * acc
            ts = tn if st == L else t + c[st] * h
            kk = signals_at(t_out, r_sig, d_sig, kk, ts, r, d)
            loop_deriv(P, C, n, sampled, ts, row, r, d, y, uraw, u, K[st])
        # embedded error and the defect of the dense output at mid-step
        s1 = 0.0
        for i in range(nx):
            acc = 0.0
            for j in range(S):
                acc += e[j] * K[j, i]
            sk = atol + rtol * max(abs(X[i]), abs(Xn[i]))
            s1 += (h * acc / sk) ** 2
        for i in range(nx):
            acc = 0.0
            for j in range(S):
                acc += mid[j] * K[j, i]
            Xt[i] = X[i] + h * acc
        kk = signals_at_call(t_out, r_sig, d_sig, kh, t + 0.5 * h, r, d)
        loop_deriv(P, C, n, sampled, t + 0.5 * h, Xt, r, d, y, uraw, u, kd)
        nfev += S
        s2 = 0.0
        for i in range(nx):
            acc = 0.0
            for j in range(S):
                acc += dmid[j] * K[j, i]
            sk = atol + rtol * max(abs(X[i]), abs(Xn[i]))
            s2 += (h * (acc - kd[i]) / sk) ** 2
        err = max(math.sqrt(s1 / max(nx, 1)), math.sqrt(s2 / max(nx, 1)))
        if not err < math.inf:
            err = math.inf

        if err <= 1.0:
            naccept += 1
            nonfinite_trial = False
            # outputs strictly inside the step, from the dense output: its polynomial in
            # theta per state, formed once per step (3001 outputs, ~60 steps)
            if t_out[kout] < tn:
                for q in range(nq):
                    for i in range(nx):
                        acc = 0.0
                        for j in range(S):
                            acc += dense[j, q] * K[j, i]
                        Q[q, i] = h * acc
            while t_out[kout] < tn:
                th = (t_out[kout] - t) / h
                for i in range(nx):
                    acc = Q[nq - 1, i]
                    for q in range(nq - 2, -1, -1):
                        acc = acc * th + Q[q, i]
                    Xt[i] = X[i] + th * acc
                interp_signals(r_sig, kout, 0.0, r)
                interp_signals(d_sig, kout, 0.0, d)
                emit(P, C, n, sampled, t_out[kout], Xt, r, d, y, uraw, u, out_x, out_y, out_u, out_uraw,
                     kout)
                kout += 1
            ok, kout, nsample, nxt_sample, kh, extra = accept_step(
                P, C, n, sampled, dts, t_out, r_sig, d_sig, X, Xn, k1, kl, tn, hit, at_sample,
                kout, nsample, nxt_sample, kh, r, d, y, uraw, u, out_x, out_y, out_u,
                out_uraw, info)
            nfev += extra
            t = tn
            if not ok:
                break
            # Hairer's PI (Gustafsson) controller
            fac11 = err ** expo1
            fac = fac11 / facold ** BETA
            fac = max(1.0 / FAC_MAX, min(1.0 / FAC_MIN, fac / SAFE))
            hnew = h / fac
            facold = max(err, 1e-4)
            if last_rejected:
                hnew = min(hnew, h)
            last_rejected = False
            h = hnew
        else:
            nreject += 1
            last_rejected = True
            if err == math.inf:
                nonfinite_trial = True
                h = h * FAC_MIN
            else:
                nonfinite_trial = False
                h = h / min(1.0 / FAC_MIN, err ** expo1 / SAFE)
    if info[0] != 0.0:
        fill_nan(out_x, out_y, out_u, out_uraw, kout)
    info[2] = nfev
    info[3] = naccept
    info[4] = nreject


def simulate_rk(s: Any, P: Any, C: Any, n: int, sampled: bool, dts: float, t_out: FloatArray,
                r_sig: FloatArray, d_sig: FloatArray, x0: FloatArray, opts: FloatArray,
                out_x: FloatArray, out_y: FloatArray, out_u: FloatArray, out_uraw: FloatArray,
                info: FloatArray) -> None:
    """Allocate the scratch arrays and run the adaptive body."""
    tab = tableau_of(s)
    S = tab[0].size
    nq = tab[4].shape[1]
    X, y, u, uraw, r, d, w = loop_scratch(x0, out_y, out_u, r_sig, d_sig, 3 + S + nq)
    stops, nstops = kink_stops(t_out, r_sig, d_sig, opts[6])
    _rk_body(s, P, C, n, sampled, dts, t_out, r_sig, d_sig, opts, out_x, out_y, out_u, out_uraw,
             info, X, w[0], w[1], w[3:3 + S], w[2], w[3 + S:], y, u, uraw, r, d, stops, nstops)


@dataclass(frozen=True)
class ExplicitRK(AdaptiveSolver):
    """Adaptive explicit Runge-Kutta with error control, PI step control and dense output.

    Steps are accepted when Hairer's RMS norm of the error estimate, weighted by
    ``atol + rtol * max(|x_old|, |x_new|)`` per state, is at most 1. Kinks of the leaky shape
    and of saturations are handled by step rejection; see docs/simulation.md, "Adaptive
    integration".

    Parameters
    ----------
    rtol, atol, dtmin, dtmax, max_steps, first_step
        Step-size control, as in :class:`.adaptive.AdaptiveSolver` (defaults 1e-6, 1e-9, 0,
        inf, 100000, automatic).
    """

    tableau: ClassVar[Tableau]

    run = staticmethod(simulate_rk)
