"""Fixed-step Euler and RK4: the solver descriptions and their shared body.

Each interval between output times (and between controller samples) is cut into
``max(substeps, ceil(length / max_step))`` equal steps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

import numpy as np
from numba import njit

from .._validate import check_finite_scalar, check_int
from ..status import Status
from .base import MAX_COUNT, Solver
from .loop import (
    DIVERGENCE_BOUND,
    all_finite,
    emit,
    emit_call,
    fill_nan,
    interp_signals,
    loop_deriv,
    loop_sample,
    loop_scratch,
)

if TYPE_CHECKING:
    from .._typing import FloatArray

__all__ = ["RK4", "Euler"]

METHOD_EULER = 0
METHOD_RK4 = 1
STATUS_INTERRUPTED = int(Status.INTERRUPTED)
#: RK4's nodes, which are also its stage coefficients (A = diag(c[1:]))
_C = (0.0, 0.5, 0.5, 1.0)


@njit(_nrt=False)
def _fixed_body(P: Any, C: Any, n: int, sampled: bool, dts: float, method: int,
                t_out: FloatArray, r_sig: FloatArray, d_sig: FloatArray, max_step: float,
                min_substeps: int, out_x: FloatArray, out_y: FloatArray, out_u: FloatArray,
                out_uraw: FloatArray, info: FloatArray, X: FloatArray, Xt: FloatArray,
                K: FloatArray, y: FloatArray, u: FloatArray, uraw: FloatArray, r: FloatArray,
                d: FloatArray, opts: FloatArray) -> None:
    nx = X.size
    nt = t_out.size
    nst = 4 if method == METHOD_RK4 else 1
    t0 = t_out[0]
    nsteps_total = 0
    nsample = 0
    next_sample = math.inf

    interp_signals(r_sig, 0, 0.0, r)
    interp_signals(d_sig, 0, 0.0, d)
    info[0] = 0.0
    info[1] = math.nan
    # record index 0 (sampling first so the held command is the one computed at t0)
    if sampled:
        loop_sample(P, C, n, t0, X, r, d, y, uraw, u)
        nsample = 1
        next_sample = t0 + dts
    emit_call(P, C, n, sampled, t0, X, r, d, y, uraw, u, out_x, out_y, out_u, out_uraw, 0)

    for k in range(nt - 1):
        ta = t_out[k]
        tb = t_out[k + 1]
        if opts[opts.size - 1] != 0.0:  # asked to stop from another thread (Ctrl-C)
            info[0] = STATUS_INTERRUPTED
            info[1] = ta
            info[2] = nsteps_total
            fill_nan(out_x, out_y, out_u, out_uraw, k + 1)
            return
        inv_hk = 1.0 / (tb - ta)
        t = ta
        while True:
            seg_end = tb
            at_sample = False
            if sampled and next_sample <= tb + 1e-12 * max(1.0, abs(tb)):
                seg_end = next_sample if next_sample < tb else tb
                at_sample = True
            length = seg_end - t
            if length > 0.0:
                ns = max(min_substeps, int(math.ceil(length / max_step - 1e-9)))
                h = length / ns
                ts = t
                for s in range(ns):
                    tc = ts + s * h
                    # the stages of RK4 (or the one of Euler) with one call site of the
                    # vector field, which is copied into this body
                    for st in range(nst):
                        tst = tc + _C[st] * h
                        if st == 0:
                            for i in range(nx):
                                Xt[i] = X[i]
                        else:
                            for i in range(nx):
                                Xt[i] = X[i] + _C[st] * h * K[st - 1, i]
                        interp_signals(r_sig, k, (tst - ta) * inv_hk, r)
                        interp_signals(d_sig, k, (tst - ta) * inv_hk, d)
                        loop_deriv(P, C, n, sampled, tst, Xt, r, d, y, uraw, u, K[st])
                    if nst == 4:
                        for i in range(nx):
                            X[i] += h / 6.0 * (K[0, i] + 2.0 * K[1, i] + 2.0 * K[2, i]
                                               + K[3, i])
                    else:
                        for i in range(nx):
                            X[i] += h * K[0, i]
                    nsteps_total += 1
                    if not all_finite(X, DIVERGENCE_BOUND):
                        info[0] = 1.0
                        info[1] = tc + h
                        info[2] = nsteps_total
                        fill_nan(out_x, out_y, out_u, out_uraw, k + 1)
                        return
            t = seg_end
            if at_sample:
                interp_signals(r_sig, k, (t - ta) * inv_hk, r)
                interp_signals(d_sig, k, (t - ta) * inv_hk, d)
                loop_sample(P, C, n, t, X, r, d, y, uraw, u)
                nsample += 1
                next_sample = t0 + nsample * dts
            if t >= tb:
                break
        # outputs at tb, with the signals' values exactly at tb
        interp_signals(r_sig, k + 1, 0.0, r)
        interp_signals(d_sig, k + 1, 0.0, d)
        emit(P, C, n, sampled, tb, X, r, d, y, uraw, u, out_x, out_y, out_u, out_uraw,
             k + 1)
    info[2] = nsteps_total


def simulate_fixed(s: Any, P: Any, C: Any, n: int, sampled: bool, dts: float,
                   t_out: FloatArray, r_sig: FloatArray, d_sig: FloatArray, x0: FloatArray,
                   opts: FloatArray, out_x: FloatArray, out_y: FloatArray, out_u: FloatArray,
                   out_uraw: FloatArray, info: FloatArray) -> None:
    """Allocate the scratch arrays and run the fixed-step body (``s.method``: Euler or RK4;
    ``opts = [max_step, substeps, stop]``)."""
    X, y, u, uraw, r, d, w = loop_scratch(x0, out_y, out_u, r_sig, d_sig, 5)
    _fixed_body(P, C, n, sampled, dts, s.method, t_out, r_sig, d_sig, opts[0], int(opts[1]),
                out_x, out_y, out_u, out_uraw, info, X, w[0], w[1:], y, u, uraw, r, d, opts)


class FixedStepRecord(NamedTuple):
    """Selects the fixed-step body inside numba; ``method`` is Euler (0) or RK4 (1)."""

    method: int


@dataclass(frozen=True)
class _FixedStep(Solver):
    max_step: float | None = None
    substeps: int = 1
    max_steps: int = 10_000_000

    Record = FixedStepRecord

    #: evaluations of the vector field per step
    stages: ClassVar[int] = 1

    def __post_init__(self) -> None:
        if self.max_step is not None:
            check_finite_scalar("max_step", self.max_step, low=0.0, low_open=True)
        # counts travel to the kernel as float64: above 2**53 they would not be exact
        check_int("substeps", self.substeps, low=1, high=MAX_COUNT)
        check_int("max_steps", self.max_steps, low=1, high=MAX_COUNT)

    def planned_steps(self, t: FloatArray, max_step: float,
                      sample_time: float | None = None) -> float:
        """The number of steps a run on output times ``t`` takes (checked against
        ``max_steps`` before the run starts)."""
        with np.errstate(over="ignore"):  # an absurd horizon counts inf steps: refused
            steps = float(np.sum(np.maximum(self.substeps,
                                            np.ceil(np.diff(t) / max_step - 1e-9))))
        if sample_time is not None:
            steps += (t[-1] - t[0]) / sample_time  # each sample instant splits an interval
        return steps

    run = staticmethod(simulate_fixed)

    #: the kernel's method number, set by each concrete solver
    method_code: ClassVar[int]

    def record(self) -> FixedStepRecord:
        return FixedStepRecord(self.method_code)

    def options(self, max_step: float) -> FloatArray:
        """``[max_step, substeps, stop]`` for the body; ``max_step`` is the step in use; ``stop``,
        always last, is set nonzero from another thread to stop a run."""
        return np.array([float(max_step), float(self.substeps), 0.0])

    def stats(self, info: FloatArray, max_step: float | None = None) -> dict[str, Any]:
        return {"nsteps": int(info[2]), "nfev": int(self.stages * info[2]),
                # no step given (a direct call): NaN, not float(None)'s TypeError
                "max_step": math.nan if max_step is None else float(max_step),
                "failure_time": float(info[1])}


@dataclass(frozen=True)
class RK4(_FixedStep):
    """Classical fourth-order Runge-Kutta with a fixed step.

    Each interval between output times (and between controller samples) is cut into
    ``max(substeps, ceil(length / max_step))`` equal steps.

    Parameters
    ----------
    max_step : float, optional
        Largest step (> 0); default chosen from the loop's fastest mode by ``simulate``.
    substeps : int, default 1
        Least number of steps per output interval.
    max_steps : int, default 10000000
        Step budget: a run that would take more steps is refused before it starts, with a
        message that says what to change (a stiff loop: ``Rosenbrock23``).
    """

    order: ClassVar[int] = 4
    stages: ClassVar[int] = 4
    method_code: ClassVar[int] = METHOD_RK4


@dataclass(frozen=True)
class Euler(_FixedStep):
    """Forward Euler with a fixed step (order 1); parameters as :class:`RK4`."""

    order: ClassVar[int] = 1
    method_code: ClassVar[int] = METHOD_EULER
