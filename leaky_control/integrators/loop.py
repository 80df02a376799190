"""The closed loop as one vector field: plant states first, then continuous controller states.

Shared by every integrator kernel so that Euler, RK4 and Dopri5 integrate exactly the same
equations.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .models import ctrl_output, ctrl_rhs, plant_dims, plant_output, plant_rhs


@njit(inline="always", _nrt=False)
def interp_signals(sig, k, frac, out):
    """Linear interpolation of the columns ``k`` and ``k + 1`` of ``sig`` at fraction ``frac``
    (the convention python-control uses for inputs given on ``timepts``)."""
    if frac == 0.0 or k + 1 >= sig.shape[1]:
        for i in range(sig.shape[0]):
            out[i] = sig[i, k]
    else:
        for i in range(sig.shape[0]):
            out[i] = sig[i, k] + frac * (sig[i, k + 1] - sig[i, k])


@njit(inline="always", _nrt=False)
def loop_deriv(user_f, pint, ppar, cint, cpar, n, sampled, t, X, r, d, y, uraw, u, work, dX):
    """Closed-loop derivative ``dX`` at ``(t, X)``; also leaves ``y``, ``uraw`` and ``u``
    (for a sampled controller ``u``/``uraw`` are the held values and are not touched)."""
    # no slicing here: views cost a reference count each, which dominated the step time
    plant_output(pint, ppar, X, d, y)
    if not sampled:
        ctrl_output(cint, cpar, X, n, y, r, uraw, u)
    plant_rhs(pint, ppar, user_f, t, X, u, d, work, dX)
    if sampled:
        for i in range(n, X.size):
            dX[i] = 0.0
    else:
        ctrl_rhs(cint, cpar, X, n, y, r, uraw, u, dX)


@njit(inline="always", _nrt=False)
def all_finite(X, bound):
    """True when every entry is finite and below ``bound`` in magnitude (divergence guard)."""
    for i in range(X.size):
        if not abs(X[i]) < bound:
            return False
    return True


@njit
def loop_scratch(pint, x0, r_sig, d_sig):
    """The per-run arrays every integrator body works in: ``X`` (a copy of ``x0``), ``y``,
    ``u``, ``uraw``, ``r``, ``d`` and ``work``. Allocated here, in a function with numba's
    runtime on, because the bodies run without it (see the note in models.py)."""
    n, m, q, p = plant_dims(pint)
    return (x0.copy(), np.empty(p), np.zeros(m), np.zeros(m), np.empty(r_sig.shape[0]),
            np.empty(d_sig.shape[0]), np.empty(m + q + 1))
