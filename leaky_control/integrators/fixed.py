"""Fixed-step Euler and RK4 kernels for the closed loop.

The kernel is compiled with an explicit signature on first use (not at import) and cached on
disk: built-in models reach it as integer codes plus float64 arrays, user dynamics through one
typed function slot, so the cache key never depends on a function's address.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, types

from ._cache import KernelPair
from .loop import all_finite, interp_signals, loop_deriv, loop_scratch
from .models import USER_RHS_TYPE, ctrl_dims, ctrl_dt, ctrl_output, ctrl_sample, plant_dims

METHOD_EULER = 0
METHOD_RK4 = 1

#: states beyond this magnitude count as diverged
DIVERGENCE_BOUND = 1e150

_F1 = types.float64[::1]
_F2 = types.float64[:, ::1]
_I1 = types.int64[::1]
FIXED_SIG = types.void(
    USER_RHS_TYPE, types.int64, _F1, _F2, _F2, _F1, _I1, _F1, _I1, _F1,
    types.float64, types.int64, _F2, _F2, _F2, _F2, _F1,
)


@njit(_nrt=False)
def _record(out_x, out_y, out_u, out_uraw, k, X, y, u, uraw):
    # element loops, not slice assignment: slices in the kernel slowed its every step
    for i in range(X.size):
        out_x[k, i] = X[i]
    for i in range(y.size):
        out_y[k, i] = y[i]
    for i in range(u.size):
        out_u[k, i] = u[i]
        out_uraw[k, i] = uraw[i]


@njit(_nrt=False)
def _fill_nan(out_x, out_y, out_u, out_uraw, start):
    for kk in range(start, out_x.shape[0]):
        for arr in (out_x, out_y, out_u, out_uraw):
            for i in range(arr.shape[1]):
                arr[kk, i] = math.nan


@njit(_nrt=False)
def _fixed_body(user_f, method, t_out, r_sig, d_sig, pint, ppar, cint, cpar, max_step,
                min_substeps, out_x, out_y, out_u, out_uraw, info,
                X, Xt, k1, k2, k3, k4, y, u, uraw, r, d, work):
    # no reference counting in here: see the note in models.py
    n, m, q, p = plant_dims(pint)
    nc, mc, sampled = ctrl_dims(cint)
    dts = ctrl_dt(cint, cpar)
    nx = n + nc
    nt = t_out.size
    t0 = t_out[0]
    nsteps_total = 0
    nsample = 0
    next_sample = math.inf

    # state at the first output time
    interp_signals(r_sig, 0, 0.0, r)
    interp_signals(d_sig, 0, 0.0, d)
    info[0] = 0.0
    info[1] = math.nan
    # record index 0 (sampling first so the held command is the one computed at t0)
    loop_deriv(user_f, pint, ppar, cint, cpar, n, 1, t0, X, r, d, y, uraw, u, work, k1)
    if sampled:
        ctrl_sample(cint, cpar, X, n, y, r, uraw, u)
        nsample = 1
        next_sample = t0 + dts
    else:
        ctrl_output(cint, cpar, X, n, y, r, uraw, u)
    _record(out_x, out_y, out_u, out_uraw, 0, X, y, u, uraw)

    for k in range(nt - 1):
        ta = t_out[k]
        tb = t_out[k + 1]
        hk = tb - ta
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
                    if method == METHOD_RK4:
                        interp_signals(r_sig, k, (tc - ta) / hk, r)
                        interp_signals(d_sig, k, (tc - ta) / hk, d)
                        loop_deriv(user_f, pint, ppar, cint, cpar, n, sampled, tc, X, r, d,
                                   y, uraw, u, work, k1)
                        th = tc + 0.5 * h
                        interp_signals(r_sig, k, (th - ta) / hk, r)
                        interp_signals(d_sig, k, (th - ta) / hk, d)
                        for i in range(nx):
                            Xt[i] = X[i] + 0.5 * h * k1[i]
                        loop_deriv(user_f, pint, ppar, cint, cpar, n, sampled, th, Xt, r, d,
                                   y, uraw, u, work, k2)
                        for i in range(nx):
                            Xt[i] = X[i] + 0.5 * h * k2[i]
                        loop_deriv(user_f, pint, ppar, cint, cpar, n, sampled, th, Xt, r, d,
                                   y, uraw, u, work, k3)
                        te = tc + h
                        interp_signals(r_sig, k, (te - ta) / hk, r)
                        interp_signals(d_sig, k, (te - ta) / hk, d)
                        for i in range(nx):
                            Xt[i] = X[i] + h * k3[i]
                        loop_deriv(user_f, pint, ppar, cint, cpar, n, sampled, te, Xt, r, d,
                                   y, uraw, u, work, k4)
                        for i in range(nx):
                            X[i] += h / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i])
                    else:
                        interp_signals(r_sig, k, (tc - ta) / hk, r)
                        interp_signals(d_sig, k, (tc - ta) / hk, d)
                        loop_deriv(user_f, pint, ppar, cint, cpar, n, sampled, tc, X, r, d,
                                   y, uraw, u, work, k1)
                        for i in range(nx):
                            X[i] += h * k1[i]
                    nsteps_total += 1
                    if not all_finite(X, DIVERGENCE_BOUND):
                        info[0] = 1.0
                        info[1] = tc + h
                        info[2] = nsteps_total
                        _fill_nan(out_x, out_y, out_u, out_uraw, k + 1)
                        return
            t = seg_end
            if at_sample:
                interp_signals(r_sig, k, (t - ta) / hk, r)
                interp_signals(d_sig, k, (t - ta) / hk, d)
                loop_deriv(user_f, pint, ppar, cint, cpar, n, 1, t, X, r, d, y, uraw, u, work, k1)
                ctrl_sample(cint, cpar, X, n, y, r, uraw, u)
                nsample += 1
                next_sample = t0 + nsample * dts
            if t >= tb:
                break
        # outputs at tb, with the signals' values exactly at tb
        interp_signals(r_sig, k + 1, 0.0, r)
        interp_signals(d_sig, k + 1, 0.0, d)
        loop_deriv(user_f, pint, ppar, cint, cpar, n, sampled, tb, X, r, d, y, uraw, u, work, k1)
        _record(out_x, out_y, out_u, out_uraw, k + 1, X, y, u, uraw)
    info[2] = nsteps_total


def _simulate_fixed(user_f, method, t_out, r_sig, d_sig, x0, pint, ppar, cint, cpar,
                    max_step, min_substeps, out_x, out_y, out_u, out_uraw, info):
    """Allocate the scratch arrays and run :func:`_fixed_body`."""
    X, y, u, uraw, r, d, work = loop_scratch(pint, x0, r_sig, d_sig)
    s = np.empty((5, X.size))  # Xt, k1..k4: rows of one block
    _fixed_body(user_f, method, t_out, r_sig, d_sig, pint, ppar, cint, cpar, max_step,
                min_substeps, out_x, out_y, out_u, out_uraw, info,
                X, s[0], s[1], s[2], s[3], s[4], y, u, uraw, r, d, work)


#: ``fixed_kernel(False)`` for built-in models, ``fixed_kernel(True)`` for ``@rhs`` dynamics.
fixed_kernel = KernelPair(_simulate_fixed, FIXED_SIG)
