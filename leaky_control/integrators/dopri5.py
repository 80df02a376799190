"""Adaptive Dormand-Prince 5(4) kernel for the closed loop (issue 3).

The kernel integrates the same vector field as the fixed-step kernels (:func:`.loop.loop_deriv`)
with the embedded 5(4) pair of Dormand & Prince, Hairer's PI step-size controller, first same
as last (FSAL) and the 4th-order continuous extension of Hairer's ``dopri5`` for outputs that
fall inside a step.

Design choices (see docs/simulation.md, "Adaptive integration"):

- **Signals.** ``reference`` and ``disturbance`` are piecewise linear on ``timepts``. Every
  stage evaluates that interpolant exactly at its own time (the interval is located from the
  step's start), so a step may cross an output time without changing the equations. Steps are
  forced to end at the output times where a signal's slope changes (``stops``, computed by
  :func:`signal_stops`): a short pulse between two output times can then never be stepped
  over unseen. Where the signals are linear, steps run across output times and the outputs
  come from the continuous extension; forcing a stop at all 3001 output times of the
  reference problem would cost 3000 steps where about a hundred suffice.
- **Kinks** of the leaky shape and of saturations make the field only Lipschitz. They are
  handled by step rejection: a step across a kink has a local error of order ``h^2`` times the
  jump in slope, which the embedded estimate sees, so the step shrinks until the error is
  within tolerance. No event location.
- **Sampled controllers**: steps end at the sample instants (snapped to an output time within
  1e-12 relative, as the fixed-step kernel does), the sample update is applied there and the
  FSAL derivative is recomputed, since the held command changed.
- **Failure** never hangs: ``max_steps`` counts accepted and rejected steps.

``info`` on return: ``[status, failure time, nfev, accepted, rejected]`` with status 0 (done),
1 (state non-finite or beyond 1e150), 2 (step size below ``dtmin``), 3 (``max_steps`` reached).
``nfev`` counts right-hand-side evaluations of the integration (stages and the starting step
guess), not the one evaluation per output time that computes the recorded outputs.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, types

from ._cache import KernelPair
from .fixed import DIVERGENCE_BOUND, _fill_nan
from .fixed import _record as _record_call
from .loop import all_finite, interp_signals, loop_deriv, loop_scratch
from .models import USER_RHS_TYPE, ctrl_dims, ctrl_dt, ctrl_output, ctrl_sample, plant_dims
from .models import plant_output as _plant_output_call

STATUS_OK = 0
STATUS_NONFINITE = 1
STATUS_UNDERFLOW = 2
STATUS_MAX_STEPS = 3

# Dormand-Prince 5(4) tableau (Hairer, Norsett & Wanner I, table II.5.2)
C2, C3, C4, C5 = 1.0 / 5.0, 3.0 / 10.0, 4.0 / 5.0, 8.0 / 9.0
A21 = 1.0 / 5.0
A31, A32 = 3.0 / 40.0, 9.0 / 40.0
A41, A42, A43 = 44.0 / 45.0, -56.0 / 15.0, 32.0 / 9.0
A51, A52, A53, A54 = 19372.0 / 6561.0, -25360.0 / 2187.0, 64448.0 / 6561.0, -212.0 / 729.0
A61, A62, A63, A64, A65 = (9017.0 / 3168.0, -355.0 / 33.0, 46732.0 / 5247.0, 49.0 / 176.0,
                           -5103.0 / 18656.0)
B1, B3, B4, B5, B6 = 35.0 / 384.0, 500.0 / 1113.0, 125.0 / 192.0, -2187.0 / 6784.0, 11.0 / 84.0
# error coefficients: 5th-order minus embedded 4th-order weights
E1, E3, E4, E5, E6, E7 = (71.0 / 57600.0, -71.0 / 16695.0, 71.0 / 1920.0, -17253.0 / 339200.0,
                          22.0 / 525.0, -1.0 / 40.0)
# continuous extension (Hairer's dopri5.f, CONTD5)
D1, D3, D4, D5, D6, D7 = (-12715105075.0 / 11282082432.0, 87487479700.0 / 32700410799.0,
                          -10690763975.0 / 1880347072.0, 701980252875.0 / 199316789632.0,
                          -1453857185.0 / 822651844.0, 69997945.0 / 29380423.0)

# Hairer's PI controller: exponents 1/5 - 0.75 beta and beta, safety 0.9, step ratio in [0.2, 10]
SAFE = 0.9
BETA = 0.04
EXPO1 = 0.2 - BETA * 0.75
FAC_MIN = 0.2
FAC_MAX = 10.0
#: relative threshold for a slope change of a signal to count as a kink (see signal_stops)
STOP_REL = 1e-8
#: weight of the mid-step defect against the embedded estimate (see the kernel)
DEFECT_WEIGHT = 1.0

_F1 = types.float64[::1]
_F2 = types.float64[:, ::1]
_I1 = types.int64[::1]
DOPRI5_SIG = types.void(
    USER_RHS_TYPE, _F1, _F2, _F2, _F1, _I1, _F1, _I1, _F1, _F1,
    _F2, _F2, _F2, _F2, _F1,
)


@njit(inline="always")
def _signals_at(t_out, r_sig, d_sig, k, tc, r, d):
    """Interpolate the signals at ``tc``, searching the interval from ``k``; return it."""
    last = t_out.size - 2
    while k < last and t_out[k + 1] <= tc:
        k += 1
    while k > 0 and tc < t_out[k]:
        k -= 1
    frac = (tc - t_out[k]) / (t_out[k + 1] - t_out[k])
    interp_signals(r_sig, k, frac, r)
    interp_signals(d_sig, k, frac, d)
    return k


# fixed.py's recorder, inlined here: called once per output time with eight array arguments,
# its reference counting was measured at about half the cost of an output
_record = njit(inline="always")(_record_call.py_func)
_plant_output = njit(inline="always")(_plant_output_call.py_func)
_ctrl_output = njit(inline="always")(ctrl_output.py_func)


@njit(inline="always")
def _outputs(pint, ppar, cint, cpar, n, sampled, X, r, d, y, uraw, u):
    """Plant output and (continuous controllers) the command at ``X``: the output half of
    ``loop_deriv``; recording 3001 outputs through the full derivative cost 0.9 ms of the
    1 ms kernel on the reference problem."""
    # the two output maps inlined as well (same reason; only two call sites, so the compile
    # time stays as it was)
    _plant_output(pint, ppar, X, d, y)
    if not sampled:
        _ctrl_output(cint, cpar, X, n, y, r, uraw, u)


@njit
def _channel_ranges(sig):
    out = np.empty(sig.shape[0])
    for c in range(sig.shape[0]):
        lo = sig[c, 0]
        hi = sig[c, 0]
        for i in range(sig.shape[1]):
            lo = min(lo, sig[c, i])
            hi = max(hi, sig[c, i])
        out[c] = hi - lo
    return out


@njit
def _has_kink(t_out, sig, rng, j, rel, span):
    for c in range(sig.shape[0]):
        s0 = (sig[c, j] - sig[c, j - 1]) / (t_out[j] - t_out[j - 1])
        s1 = (sig[c, j + 1] - sig[c, j]) / (t_out[j + 1] - t_out[j])
        if abs(s1 - s0) > rel * (max(abs(s0), abs(s1)) + rng[c] / span):
            return True
    return False


@njit
def kink_stops(t_out, r_sig, d_sig, rel):
    """``(stops, count)``: ``stops[:count]`` are the indices of output times where a signal
    changes slope, then the last index (the array is not sliced: the kernel reads up to the
    last index). See :func:`signal_stops` for the threshold."""
    nt = t_out.size
    span = t_out[nt - 1] - t_out[0]
    rr = _channel_ranges(r_sig)
    rd = _channel_ranges(d_sig)
    stops = np.empty(nt, dtype=np.int64)
    count = 0
    for j in range(1, nt - 1):
        if _has_kink(t_out, r_sig, rr, j, rel, span) or _has_kink(t_out, d_sig, rd, j, rel, span):
            stops[count] = j
            count += 1
    stops[count] = nt - 1
    return stops, count + 1


@njit
def _next_sample(t_out, t0, dts, nsample):
    """Sample instant ``t0 + nsample dts``, snapped down to an output time 1e-12 below it
    (the fixed-step kernel's rule, so both kernels sample at the same instants)."""
    ts = t0 + nsample * dts
    j = np.searchsorted(t_out, ts) - 1
    if j >= 0 and ts - t_out[j] <= 1e-12 * max(1.0, abs(t_out[j])):
        return t_out[j]
    return ts


@njit(inline="always")
def _err_norm(X, Xn, k1, k3, k4, k5, k6, k7, h, rtol, atol):
    """Hairer's RMS norm of the embedded error estimate; inf when anything is non-finite."""
    s = 0.0
    for i in range(X.size):
        sk = atol + rtol * max(abs(X[i]), abs(Xn[i]))
        ei = h * (E1 * k1[i] + E3 * k3[i] + E4 * k4[i] + E5 * k5[i] + E6 * k6[i] + E7 * k7[i])
        s += (ei / sk) ** 2
    err = math.sqrt(s / max(X.size, 1))
    return err if err < math.inf else math.inf


@njit(_nrt=False)
def _dopri5_body(user_f, t_out, r_sig, d_sig, pint, ppar, cint, cpar, opts,
                 out_x, out_y, out_u, out_uraw, info,
                 X, Xn, Xt, k1, k2, k3, k4, k5, k6, k7, rc3, rc4, rc5, y, u, uraw, r, d, work,
                 stops, nstops):
    # no reference counting in here: see the note in models.py
    n, m, q, p = plant_dims(pint)
    nc, mc, sampled = ctrl_dims(cint)
    dts = ctrl_dt(cint, cpar)
    nx = n + nc
    nt = t_out.size
    rtol, atol, dtmin, dtmax = opts[0], opts[1], opts[2], opts[3]
    max_steps = int(opts[4])
    first_step = opts[5]
    t0 = t_out[0]
    tf = t_out[nt - 1]
    info[0] = 0.0
    info[1] = math.nan
    nfev = 0
    naccept = 0
    nreject = 0

    # record index 0, sampling first so the held command is the one computed at t0
    interp_signals(r_sig, 0, 0.0, r)
    interp_signals(d_sig, 0, 0.0, d)
    loop_deriv(user_f, pint, ppar, cint, cpar, n, 1, t0, X, r, d, y, uraw, u, work, k1)
    nsample = 0
    next_sample = math.inf
    if sampled:
        ctrl_sample(cint, cpar, X, n, y, r, uraw, u)
        nsample = 1
        next_sample = _next_sample(t_out, t0, dts, nsample)
    else:
        ctrl_output(cint, cpar, X, n, y, r, uraw, u)
    _record(out_x, out_y, out_u, out_uraw, 0, X, y, u, uraw)
    loop_deriv(user_f, pint, ppar, cint, cpar, n, sampled, t0, X, r, d, y, uraw, u, work, k1)
    nfev += 1

    # starting step: Hairer's HINIT (one extra evaluation)
    if first_step > 0.0:
        h = first_step
    else:
        dnf = 0.0
        dny = 0.0
        for i in range(nx):
            sk = atol + rtol * abs(X[i])
            dnf += (k1[i] / sk) ** 2
            dny += (X[i] / sk) ** 2
        dnf = math.sqrt(dnf / max(nx, 1))
        dny = math.sqrt(dny / max(nx, 1))
        h = 1e-6 if dnf <= 1e-10 or dny <= 1e-10 else 0.01 * dny / dnf
        h = min(h, dtmax, tf - t0)
        for i in range(nx):
            Xt[i] = X[i] + h * k1[i]
        kh = _signals_at(t_out, r_sig, d_sig, 0, t0 + h, r, d)
        loop_deriv(user_f, pint, ppar, cint, cpar, n, sampled, t0 + h, Xt, r, d, y, uraw, u,
                   work, k2)
        nfev += 1
        der2 = 0.0
        for i in range(nx):
            sk = atol + rtol * abs(X[i])
            der2 += ((k2[i] - k1[i]) / sk) ** 2
        der2 = math.sqrt(der2 / max(nx, 1)) / h
        der12 = max(abs(der2), dnf)
        h1 = max(1e-6, h * 1e-3) if der12 <= 1e-15 else (0.01 / der12) ** 0.2
        h = min(100.0 * h, h1, dtmax)
        if not h > 0.0:
            h = 1e-6

    t = t0
    kh = 0  # output interval holding t
    kout = 1  # next output index to record
    istop = 0  # next forced stop (an index into t_out)
    facold = 1e-4
    last_rejected = False
    nonfinite_trial = False
    while kout < nt:
        while stops[istop] < nt - 1 and t_out[stops[istop]] <= t:
            istop += 1
        t_stop = t_out[stops[istop]]
        at_sample = False
        if sampled and next_sample <= t_stop:
            t_stop = next_sample
            at_sample = True
        if naccept + nreject >= max_steps:
            info[0] = STATUS_MAX_STEPS
            info[1] = t
            break
        h = min(h, dtmax)
        if h < dtmin or h <= 16.0 * 2.220446049250313e-16 * max(1.0, abs(t)):
            info[0] = STATUS_NONFINITE if nonfinite_trial else STATUS_UNDERFLOW
            info[1] = t
            break
        hit = False
        if t + 1.01 * h >= t_stop:
            h = t_stop - t
            hit = True
        tn = t_stop if hit else t + h

        # stages; the loop helpers are inlined (refcount cost of array arguments, see loop.py)
        for i in range(nx):
            Xt[i] = X[i] + h * A21 * k1[i]
        kh = _signals_at(t_out, r_sig, d_sig, kh, t + C2 * h, r, d)
        loop_deriv(user_f, pint, ppar, cint, cpar, n, sampled, t + C2 * h, Xt, r, d, y, uraw, u,
                   work, k2)
        for i in range(nx):
            Xt[i] = X[i] + h * (A31 * k1[i] + A32 * k2[i])
        kk = _signals_at(t_out, r_sig, d_sig, kh, t + C3 * h, r, d)
        loop_deriv(user_f, pint, ppar, cint, cpar, n, sampled, t + C3 * h, Xt, r, d, y, uraw, u,
                   work, k3)
        for i in range(nx):
            Xt[i] = X[i] + h * (A41 * k1[i] + A42 * k2[i] + A43 * k3[i])
        kk = _signals_at(t_out, r_sig, d_sig, kk, t + C4 * h, r, d)
        loop_deriv(user_f, pint, ppar, cint, cpar, n, sampled, t + C4 * h, Xt, r, d, y, uraw, u,
                   work, k4)
        for i in range(nx):
            Xt[i] = X[i] + h * (A51 * k1[i] + A52 * k2[i] + A53 * k3[i] + A54 * k4[i])
        kk = _signals_at(t_out, r_sig, d_sig, kk, t + C5 * h, r, d)
        loop_deriv(user_f, pint, ppar, cint, cpar, n, sampled, t + C5 * h, Xt, r, d, y, uraw, u,
                   work, k5)
        for i in range(nx):
            Xt[i] = X[i] + h * (A61 * k1[i] + A62 * k2[i] + A63 * k3[i] + A64 * k4[i]
                                + A65 * k5[i])
        kk = _signals_at(t_out, r_sig, d_sig, kk, tn, r, d)
        loop_deriv(user_f, pint, ppar, cint, cpar, n, sampled, tn, Xt, r, d, y, uraw, u,
                   work, k6)
        for i in range(nx):
            Xn[i] = X[i] + h * (B1 * k1[i] + B3 * k3[i] + B4 * k4[i] + B5 * k5[i] + B6 * k6[i])
        loop_deriv(user_f, pint, ppar, cint, cpar, n, sampled, tn, Xn, r, d, y, uraw, u,
                   work, k7)
        # continuous extension (needed for the defect check and for outputs inside the step)
        for i in range(nx):
            ydiff = Xn[i] - X[i]
            bspl = h * k1[i] - ydiff
            rc3[i] = bspl
            rc4[i] = ydiff - h * k7[i] - bspl
            rc5[i] = h * (D1 * k1[i] + D3 * k3[i] + D4 * k4[i] + D5 * k5[i] + D6 * k6[i]
                          + D7 * k7[i])
        err = _err_norm(X, Xn, k1, k3, k4, k5, k6, k7, h, rtol, atol)
        # Defect of the continuous extension at mid-step. The embedded estimate measures the
        # 4th-order solution's error while the 5th-order one is propagated; across a kink both
        # are O(h^2 jump) with constants that depend on where the kink falls, and for some
        # positions the estimate was measured 5x below the true error. The defect
        # u'(t + h/2) - f(t + h/2, u(t + h/2)) is O(h) times the jump there and O(h^4) on smooth
        # steps, so h * defect sees the kink at the cost of one evaluation per step.
        for i in range(nx):
            Xt[i] = X[i] + 0.5 * ((Xn[i] - X[i]) + 0.5 * (rc3[i] + 0.5 * (rc4[i]
                                                                          + 0.5 * rc5[i])))
        kk = _signals_at(t_out, r_sig, d_sig, kh, t + 0.5 * h, r, d)
        loop_deriv(user_f, pint, ppar, cint, cpar, n, sampled, t + 0.5 * h, Xt, r, d, y, uraw,
                   u, work, k2)
        nfev += 7
        s2 = 0.0
        for i in range(nx):
            sk = atol + rtol * max(abs(X[i]), abs(Xn[i]))
            s2 += ((Xn[i] - X[i] + 0.25 * rc4[i] - h * k2[i]) / sk) ** 2
        err2 = DEFECT_WEIGHT * math.sqrt(s2 / max(nx, 1))
        if not err2 < math.inf:
            err2 = math.inf
        err = max(err, err2)

        if err <= 1.0:
            naccept += 1
            nonfinite_trial = False
            # outputs strictly inside the step, from the continuous extension
            if t_out[kout] < tn:
                while t_out[kout] < tn:
                    th = (t_out[kout] - t) / h
                    th1 = 1.0 - th
                    for i in range(nx):
                        Xt[i] = X[i] + th * ((Xn[i] - X[i]) + th1 * (
                            rc3[i] + th * (rc4[i] + th1 * rc5[i])))
                    interp_signals(r_sig, kout, 0.0, r)
                    interp_signals(d_sig, kout, 0.0, d)
                    _outputs(pint, ppar, cint, cpar, n, sampled, Xt, r, d, y, uraw, u)
                    _record(out_x, out_y, out_u, out_uraw, kout, Xt, y, u, uraw)
                    kout += 1
            for i in range(nx):
                X[i] = Xn[i]
                k1[i] = k7[i]  # first same as last
            t = tn
            if not all_finite(X, DIVERGENCE_BOUND):
                info[0] = STATUS_NONFINITE
                info[1] = t
                break
            if hit and at_sample:
                kh = _signals_at(t_out, r_sig, d_sig, kh, t, r, d)
                loop_deriv(user_f, pint, ppar, cint, cpar, n, 1, t, X, r, d, y, uraw, u, work,
                           k2)
                ctrl_sample(cint, cpar, X, n, y, r, uraw, u)
                nsample += 1
                next_sample = _next_sample(t_out, t0, dts, nsample)
                # the held command changed: the FSAL derivative is stale
                loop_deriv(user_f, pint, ppar, cint, cpar, n, sampled, t, X, r, d, y, uraw, u,
                           work, k1)
                nfev += 1
            if t_out[kout] == t:
                interp_signals(r_sig, kout, 0.0, r)
                interp_signals(d_sig, kout, 0.0, d)
                _outputs(pint, ppar, cint, cpar, n, sampled, X, r, d, y, uraw, u)
                _record(out_x, out_y, out_u, out_uraw, kout, X, y, u, uraw)
                kout += 1
            kh = _signals_at(t_out, r_sig, d_sig, kh, t, r, d)
            # Hairer's PI (Gustafsson) controller
            fac11 = err ** EXPO1
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
                h = h / min(1.0 / FAC_MIN, err ** EXPO1 / SAFE)
    if info[0] != 0.0:
        _fill_nan(out_x, out_y, out_u, out_uraw, kout)
    info[2] = nfev
    info[3] = naccept
    info[4] = nreject


def _simulate_dopri5(user_f, t_out, r_sig, d_sig, x0, pint, ppar, cint, cpar, opts,
                     out_x, out_y, out_u, out_uraw, info):
    """Allocate the scratch arrays and run :func:`_dopri5_body`."""
    X, y, u, uraw, r, d, work = loop_scratch(pint, x0, r_sig, d_sig)
    stops, nstops = kink_stops(t_out, r_sig, d_sig, opts[6])
    s = np.empty((12, X.size))  # Xn, Xt, k1..k7, rc3..rc5: rows of one block
    _dopri5_body(user_f, t_out, r_sig, d_sig, pint, ppar, cint, cpar, opts,
                 out_x, out_y, out_u, out_uraw, info,
                 X, s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7], s[8], s[9], s[10], s[11],
                 y, u, uraw, r, d, work, stops, nstops)


#: ``dopri5_kernel(False)`` for built-in models, ``dopri5_kernel(True)`` for ``@rhs`` dynamics.
dopri5_kernel = KernelPair(_simulate_dopri5, DOPRI5_SIG)


def signal_stops(t, *signals, rel=STOP_REL):
    """Indices of output times where a piecewise-linear signal changes slope, plus the last.

    The kernel computes the same stops itself (:func:`kink_stops`); this wrapper is for
    inspection and tests.

    Parameters
    ----------
    t : numpy.ndarray
        Output times, strictly increasing, shape ``(T,)``.
    *signals : numpy.ndarray
        One or two arrays of shape ``(channels, T)`` given on ``t`` (reference, disturbance).
    rel : float, default 1e-8
        A slope change counts as a kink when it exceeds ``rel`` times the larger of the two
        slopes plus ``rel`` times the signal's range over the time span. Below that, slope
        changes are rounding in the samples (a ramp written as ``c * (t - t1)`` on
        ``linspace`` times), and a step across one is still checked by the error estimate.

    Returns
    -------
    numpy.ndarray of int64
        Sorted indices into ``t``; the adaptive kernel ends a step at each of them.
    """
    t = np.ascontiguousarray(t, dtype=np.float64)
    sig = [np.ascontiguousarray(np.atleast_2d(s), dtype=np.float64) for s in signals]
    while len(sig) < 2:
        sig.append(np.zeros((1, t.size)))
    stops, count = kink_stops(t, sig[0], sig[1], float(rel))
    return stops[:count]
