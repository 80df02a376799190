"""What every adaptive solver shares: its step-size control options, validated in one place.

``rtol``, ``atol``, ``dtmin``, ``dtmax``, ``max_steps`` and ``first_step`` (diffrax's
step-size controller, scipy's words) reach the numba bodies as one option vector, with the
threshold for signal kinks (:func:`.stops.signal_stops`) appended.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Real
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from numba import njit

from .._validate import check_finite_scalar, check_int
from ..status import Status
from .base import MAX_COUNT, Solver
from .loop import (
    DIVERGENCE_BOUND,
    all_finite,
    emit_call,
    interp_signals,
    loop_deriv_call,
    loop_sample,
    signals_at_call,
)
from .stops import STOP_REL, next_sample

if TYPE_CHECKING:
    from .._typing import FloatArray

__all__ = ["AdaptiveSolver", "accept_step", "initial_step", "start_run", "step_window"]

#: smallest accepted ``rtol``: below about 100 ulps the error estimate is rounding noise
RTOL_FLOOR = 100 * 2.220446049250313e-16


@dataclass(frozen=True)
class AdaptiveSolver(Solver):
    """Base of the adaptive solvers: step-size control options (see each solver).

    Parameters
    ----------
    rtol : float, default 1e-6
        Relative tolerance, finite, in ``[100 eps, 1)``.
    atol : float, default 1e-9
        Absolute tolerance (> 0, finite), in the units of the states.
    dtmin : float, default 0.0
        Smallest step (>= 0, finite); a step the controller would make smaller (or below 16
        ulps of ``t``) ends the run with ``success=False`` and a step-size underflow message.
    dtmax : float, default inf
        Largest step (> 0, may be infinite; must exceed ``dtmin``).
    max_steps : int, default 100000
        Most steps (accepted plus rejected, >= 1); reaching it ends the run with
        ``success=False`` and a message naming the time reached.
    first_step : float, optional
        Initial step (> 0, finite); default chosen by Hairer's starting-step algorithm.
    """

    rtol: float = 1e-6
    atol: float = 1e-9
    dtmin: float = 0.0
    dtmax: float = math.inf
    max_steps: int = 100_000
    first_step: float | None = None

    adaptive: ClassVar[bool] = True

    def __post_init__(self) -> None:
        check_finite_scalar("rtol", self.rtol, low=RTOL_FLOOR, high=1.0, high_open=True)
        check_finite_scalar("atol", self.atol, low=0.0, low_open=True)
        check_finite_scalar("dtmin", self.dtmin, low=0.0)
        if isinstance(self.dtmax, bool) or not isinstance(self.dtmax, Real) or \
                (isinstance(self.dtmax, int) and abs(self.dtmax) > 2**1023) or \
                math.isnan(self.dtmax) or not self.dtmax > self.dtmin:
            raise ValueError(f"dtmax must be a number > dtmin = {self.dtmin!r} (inf allowed), "
                             f"got {self.dtmax!r}")
        # the count travels to the kernel as float64: above 2**53 it would not be exact
        check_int("max_steps", self.max_steps, low=1, high=MAX_COUNT)
        if self.first_step is not None:
            check_finite_scalar("first_step", self.first_step, low=0.0, low_open=True)

    def record(self) -> Any:
        return self.Record(self.order)

    def options(self, max_step: float | None = None) -> FloatArray:
        """The body's option vector ``[rtol, atol, dtmin, dtmax, max_steps, first_step,
        stop_rel, stop]`` (``first_step`` 0: automatic; ``stop_rel``: see
        :func:`.stops.signal_stops`; ``stop``, always last, is set nonzero from another thread
        to stop a run)."""
        return np.array([self.rtol, self.atol, self.dtmin, self.dtmax, float(self.max_steps),
                         0.0 if self.first_step is None else self.first_step, STOP_REL, 0.0])

    def stats(self, info: FloatArray, max_step: float | None = None) -> dict[str, Any]:
        """``nfev`` (evaluations of the integration), ``naccept``, ``nreject``, ``nsteps``
        (accepted plus rejected) and ``failure_time`` (NaN after a complete run)."""
        return {"nfev": int(info[2]), "naccept": int(info[3]), "nreject": int(info[4]),
                "nsteps": int(info[3] + info[4]), "failure_time": float(info[1])}


@njit(_nrt=False)
def start_run(P: Any, C: Any, n: int, sampled: bool, dts: float, t_out: FloatArray,
              r_sig: FloatArray, d_sig: FloatArray, X: FloatArray, f0: FloatArray, r: FloatArray,
              d: FloatArray, y: FloatArray, uraw: FloatArray, u: FloatArray, out_x: FloatArray,
              out_y: FloatArray, out_u: FloatArray, out_uraw: FloatArray) -> tuple[int, float]:
    """Record output 0 (a sampled controller samples first, so the held command is the one
    computed at ``t_out[0]``) and write the field at the initial point into ``f0``. Returns
    ``(nsample, next sample instant)``."""
    t0 = t_out[0]
    interp_signals(r_sig, 0, 0.0, r)
    interp_signals(d_sig, 0, 0.0, d)
    nsample = 0
    nxt_sample = math.inf
    if sampled:
        loop_sample(P, C, n, t0, X, r, d, y, uraw, u)
        nsample = 1
        nxt_sample = next_sample(t_out, t0, dts, nsample)
    emit_call(P, C, n, sampled, t0, X, r, d, y, uraw, u, out_x, out_y, out_u, out_uraw, 0)
    loop_deriv_call(P, C, n, sampled, t0, X, r, d, y, uraw, u, f0)
    return nsample, nxt_sample


@njit(_nrt=False)
def initial_step(P: Any, C: Any, n: int, sampled: bool, t_out: FloatArray, r_sig: FloatArray,
                 d_sig: FloatArray, X: FloatArray, f0: FloatArray, Xt: FloatArray, f1: FloatArray,
                 r: FloatArray, d: FloatArray, y: FloatArray, uraw: FloatArray, u: FloatArray,
                 rtol: float, atol: float, dtmax: float, hexp: float) -> float:
    """Hairer's starting step (HINIT) for a method whose local error is O(h^(1/hexp)).

    ``f0`` is the field at ``(t_out[0], X)``; one more evaluation (into ``f1``, at the
    explicit Euler point ``Xt``) estimates the second derivative. Returns the step.
    """
    nx = X.size
    t0 = t_out[0]
    dnf = 0.0
    dny = 0.0
    for i in range(nx):
        sk = atol + rtol * abs(X[i])
        dnf += (f0[i] / sk) ** 2
        dny += (X[i] / sk) ** 2
    dnf = math.sqrt(dnf / max(nx, 1))
    dny = math.sqrt(dny / max(nx, 1))
    h = 1e-6 if dnf <= 1e-10 or dny <= 1e-10 else 0.01 * dny / dnf
    h = min(h, dtmax, t_out[t_out.size - 1] - t0)
    for i in range(nx):
        Xt[i] = X[i] + h * f0[i]
    signals_at_call(t_out, r_sig, d_sig, 0, t0 + h, r, d)
    loop_deriv_call(P, C, n, sampled, t0 + h, Xt, r, d, y, uraw, u, f1)
    der2 = 0.0
    for i in range(nx):
        sk = atol + rtol * abs(X[i])
        der2 += ((f1[i] - f0[i]) / sk) ** 2
    der2 = math.sqrt(der2 / max(nx, 1)) / h
    der12 = max(abs(der2), dnf)
    h1 = max(1e-6, h * 1e-3) if der12 <= 1e-15 else (0.01 / der12) ** hexp
    h = min(100.0 * h, h1, dtmax)
    return h if h > 0.0 else 1e-6


_NONFINITE = int(Status.NONFINITE)
_UNDERFLOW = int(Status.STEP_UNDERFLOW)
_MAX_STEPS = int(Status.MAX_STEPS)
_INTERRUPTED = int(Status.INTERRUPTED)


@njit(inline="always", _nrt=False)
def step_window(t_out: FloatArray, stops: FloatArray, istop: int, t: float, h: float, sampled: bool,
                nxt_sample: float, nsteps: int, max_steps: int, dtmin: float, dtmax: float,
                nonfinite_trial: bool, info: FloatArray,
                opts: FloatArray) -> tuple[bool, int, float, float, bool, bool]:
    """Where the next trial step may go: ``(ok, istop, h, tn, hit, at_sample)``.

    Copied into each solver body (one call site each): as a called function it cost 12 % of
    the Dopri5 kernel on the reference problem.

    The step ends at the next forced stop (a signal kink) or sample instant when it would
    reach within 1 % of it (``hit``). ``ok`` is False, with the status and time in ``info``,
    when the step budget is spent, the step fell below ``dtmin`` (or 16 ulps of ``t``) or
    the run was asked to stop (the last option, set from another thread: Ctrl-C).
    """
    nt = t_out.size
    while stops[istop] < nt - 1 and t_out[stops[istop]] <= t:
        istop += 1
    t_stop = t_out[stops[istop]]
    at_sample = False
    if sampled and nxt_sample <= t_stop:
        t_stop = nxt_sample
        at_sample = True
    if nsteps >= max_steps:
        info[0] = _MAX_STEPS
        info[1] = t
        return False, istop, h, t, False, at_sample
    if opts[opts.size - 1] != 0.0:
        info[0] = _INTERRUPTED
        info[1] = t
        return False, istop, h, t, False, at_sample
    h = min(h, dtmax)
    if h < dtmin or h <= 16.0 * 2.220446049250313e-16 * max(1.0, abs(t)):
        info[0] = _NONFINITE if nonfinite_trial else _UNDERFLOW
        info[1] = t
        return False, istop, h, t, False, at_sample
    hit = False
    if t + 1.01 * h >= t_stop:
        h = t_stop - t
        hit = True
    return True, istop, h, t_stop if hit else t + h, hit, at_sample


@njit(inline="always", _nrt=False)
def accept_step(P: Any, C: Any, n: int, sampled: bool, dts: float, t_out: FloatArray,
                r_sig: FloatArray, d_sig: FloatArray, X: FloatArray, Xn: FloatArray, f0: FloatArray,
                f_new: FloatArray, tn: float, hit: bool, at_sample: bool, kout: int, nsample: int,
                nxt_sample: float, kh: int, r: FloatArray, d: FloatArray, y: FloatArray,
                uraw: FloatArray, u: FloatArray, out_x: FloatArray, out_y: FloatArray,
                out_u: FloatArray, out_uraw: FloatArray,
                info: FloatArray) -> tuple[bool, int, int, float, int, int]:
    """Move to an accepted step's end ``(tn, Xn)`` (outputs inside the step already written).

    Copies ``Xn`` to ``X`` and the end derivative ``f_new`` to ``f0`` (first same as last),
    checks for divergence, applies a controller sample ending there (recomputing ``f0``, as
    the held command changed) and records an output time equal to ``tn``. Returns
    ``(ok, kout, nsample, nxt_sample, kh, extra evaluations)``.
    """
    for i in range(X.size):
        X[i] = Xn[i]
        f0[i] = f_new[i]
    if not all_finite(X, DIVERGENCE_BOUND):
        info[0] = _NONFINITE
        info[1] = tn
        return False, kout, nsample, nxt_sample, kh, 0
    nfev = 0
    if hit and at_sample:
        kh = signals_at_call(t_out, r_sig, d_sig, kh, tn, r, d)
        loop_sample(P, C, n, tn, X, r, d, y, uraw, u)
        nsample += 1
        nxt_sample = next_sample(t_out, t_out[0], dts, nsample)
        loop_deriv_call(P, C, n, sampled, tn, X, r, d, y, uraw, u, f0)
        nfev = 1
    if t_out[kout] == tn:
        interp_signals(r_sig, kout, 0.0, r)
        interp_signals(d_sig, kout, 0.0, d)
        emit_call(P, C, n, sampled, tn, X, r, d, y, uraw, u, out_x, out_y, out_u, out_uraw,
                  kout)
        kout += 1
    kh = signals_at_call(t_out, r_sig, d_sig, kh, tn, r, d)
    return True, kout, nsample, nxt_sample, kh, nfev
