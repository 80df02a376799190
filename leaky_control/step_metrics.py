"""Step-response metrics as a numba function, shared by :func:`leaky_control.step_info` and
the sweep kernel.

One implementation serves both so that a sweep's metrics equal ``step_info(simulate(...))``
bit for bit. The definitions are documented in :mod:`leaky_control.metrics`; the vector
written here holds the values in the order of :data:`STEP_INFO_KEYS` (``Settled`` as 0.0/1.0).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
from numba import njit

from ._jit import cached_njit

if TYPE_CHECKING:
    from ._typing import FloatArray

#: the metrics' names (python-control's keys, then ours), in the order the kernel writes them
STEP_INFO_KEYS = (
    "RiseTime", "SettlingTime", "SettlingMin", "SettlingMax", "Overshoot", "Undershoot",
    "Peak", "PeakTime", "SteadyStateValue", "Settled", "IAE", "ISE", "ITAE", "ControlEffort",
    "CoastingFraction",
)
#: number of metrics written by :func:`step_metrics`
NMETRICS = len(STEP_INFO_KEYS)
(RISE_TIME, SETTLING_TIME, SETTLING_MIN, SETTLING_MAX, OVERSHOOT, UNDERSHOOT, PEAK, PEAK_TIME,
 STEADY_STATE_VALUE, SETTLED, IAE, ISE, ITAE, CONTROL_EFFORT, COASTING_FRACTION) = \
    range(NMETRICS)
#: the loop coasts where e < 0 and |u| <= COAST_RTOL * max(1, max |u|): the one definition of
#: "zero input" for CoastingFraction, metrics.coasting_mask and the plots' coasting shading
COAST_RTOL = 1e-9


@njit
def _trapezoid_weights(t: FloatArray, tw: FloatArray) -> None:
    # same operation order as the former numpy version: w[:-1] += dt/2, then w[1:] += dt/2
    T = t.size
    for i in range(T):
        tw[i] = 0.0
    for i in range(T - 1):
        tw[i] += (t[i + 1] - t[i]) / 2
    for i in range(1, T):
        tw[i] += (t[i] - t[i - 1]) / 2


@njit
def step_metrics(t: FloatArray, y: FloatArray, e: FloatArray, u: FloatArray, has_loop: bool,
                 opts: FloatArray, out: FloatArray) -> None:
    """Write the 15 step-info values of output ``y`` (and loop signals ``e``, ``u``) to ``out``.

    Parameters
    ----------
    t, y : 1-D float64 arrays
        Time and the measured output.
    e, u : 1-D float64 arrays
        Error ``r - y`` and the applied input; read only when ``has_loop``.
    has_loop : bool
    opts : float64 array
        ``[settling_threshold, rise_low, rise_high, initial_output, final_output or NaN]``.
    out : float64 array of length ``NMETRICS``
    """
    nan = math.nan
    for i in range(NMETRICS):
        out[i] = nan
    out[SETTLED] = 0.0
    T = t.size
    for i in range(T):
        if not math.isfinite(y[i]):
            return  # a failed run has no step characteristics (nor loop metrics)
    thr, lo_lim, hi_lim, y0, final = opts[0], opts[1], opts[2], opts[3], opts[4]
    w = np.empty(T)
    for i in range(T):
        w[i] = y[i] - y0
    if not math.isnan(final):
        yf = final - y0
        settled = True
    else:
        yf = w[T - 1]
        start = t[0] + 0.8 * (t[T - 1] - t[0])
        tmin = math.inf
        tmax = -math.inf
        for i in range(T):
            if t[i] >= start:
                tmin = min(tmin, w[i])
                tmax = max(tmax, w[i])
        band = thr * abs(yf)
        settled = yf != 0 and (tmax - tmin) < 0.25 * band and abs(w[T - 1] - yf) <= band
    out[SETTLED] = 1.0 if settled else 0.0

    ip = 0
    for i in range(1, T):
        if abs(w[i]) > abs(w[ip]):
            ip = i
    out[PEAK] = abs(w[ip]) + y0 if y0 == 0 else w[ip] + y0
    out[PEAK_TIME] = t[ip]
    if settled and yf != 0:
        sgn = 1.0 if yf > 0 else -1.0
        il = -1
        iu = -1
        for i in range(T):
            if il < 0 and sgn * (w[i] - lo_lim * yf) >= 0:
                il = i
            if sgn * (w[i] - hi_lim * yf) >= 0:
                iu = i
                break
        if il >= 0 and iu >= 0:
            out[RISE_TIME] = t[iu] - t[il]
        first_in = 0
        for i in range(T - 1, -1, -1):
            if abs(w[i] / yf - 1) >= thr:
                first_in = i + 1
                break
        if first_in < T:
            out[SETTLING_TIME] = t[first_in]
        if iu >= 0:
            wmin = w[iu]
            wmax = w[iu]
            for i in range(iu + 1, T):
                wmin = min(wmin, w[i])
                wmax = max(wmax, w[i])
            out[SETTLING_MIN] = min(wmin, yf) + y0
            out[SETTLING_MAX] = max(wmax, yf) + y0
        smax = sgn * w[0]
        imin = 0
        for i in range(1, T):
            smax = max(smax, sgn * w[i])
            if sgn * w[i] < sgn * w[imin]:
                imin = i
        dy = abs(smax) - abs(yf)
        out[OVERSHOOT] = abs(100.0 * dy / yf) if dy > 0 else 0.0
        y_us = w[imin]
        out[UNDERSHOOT] = -100.0 * y_us / yf if sgn * y_us < 0 else 0.0
        out[STEADY_STATE_VALUE] = yf + y0

    if has_loop:
        tw = np.empty(T)
        _trapezoid_weights(t, tw)
        umax = 0.0
        any_finite = False
        for i in range(T):
            if math.isfinite(u[i]):
                any_finite = True
                umax = max(umax, abs(u[i]))
        u_tol = COAST_RTOL * max(1.0, umax if any_finite else 1.0)
        iae = 0.0
        ise = 0.0
        itae = 0.0
        effort = 0.0
        coast = 0.0
        total = 0.0
        for i in range(T):
            ae = abs(e[i])
            iae += tw[i] * ae
            ise += tw[i] * e[i] * e[i]
            itae += tw[i] * (t[i] - t[0]) * ae
            effort += tw[i] * abs(u[i])
            if e[i] < 0 and abs(u[i]) <= u_tol:
                coast += tw[i]
            total += tw[i]
        out[IAE] = iae
        out[ISE] = ise
        out[ITAE] = itae
        out[CONTROL_EFFORT] = effort
        out[COASTING_FRACTION] = coast / total


def _step_metrics_entry(t: FloatArray, y: FloatArray, e: FloatArray, u: FloatArray,
                        has_loop: bool, opts: FloatArray, out: FloatArray) -> None:
    step_metrics(t, y, e, u, has_loop, opts, out)


_entry: Any = None


def step_metrics_kernel() -> Any:
    """The cached entry kernel that :func:`leaky_control.step_info` calls (built on first use)."""
    global _entry
    if _entry is None:
        # everything it compiles lives in this file, whose changes numba's cache detects
        _entry = cached_njit(_step_metrics_entry)
    return _entry
