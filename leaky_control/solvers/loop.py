"""The closed loop as one vector field, and the helpers every solver body shares.

Plant states first, then the controller's continuous states. The model calls resolve by the
records' types (:mod:`leaky_control._dispatch`), so a kernel compiled for one plant and one
controller holds only their code.

Reference counting: the solver bodies and these helpers are compiled with ``_nrt=False``:
with numba's runtime on, each call that passes arrays was wrapped in atomic reference-count
updates (11 before each derivative in the first Dopri5 kernel), which dominated the step time
and made two sweep threads fight over the same counts. None of them allocates: the entry
functions allocate the scratch arrays (runtime on) and pass them down.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
from numba import njit

from .._dispatch import ctrl_derivative, ctrl_output, ctrl_sample, plant_dynamics, plant_output
from .._jit import cached_njit, python_function

if TYPE_CHECKING:
    from .._typing import FloatArray

#: states beyond this magnitude count as diverged
DIVERGENCE_BOUND = 1e150


@njit(inline="always", _nrt=False)
def interp_signals(sig: FloatArray, k: int, frac: float, out: FloatArray) -> None:
    """Linear interpolation of the columns ``k`` and ``k + 1`` of ``sig`` at fraction ``frac``
    (the convention python-control uses for inputs given on ``timepts``)."""
    if frac == 0.0 or k + 1 >= sig.shape[1]:
        for i in range(sig.shape[0]):
            out[i] = sig[i, k]
    else:
        for i in range(sig.shape[0]):
            out[i] = sig[i, k] + frac * (sig[i, k + 1] - sig[i, k])


@njit(inline="always", _nrt=False)
def signals_at(t_out: FloatArray, r_sig: FloatArray, d_sig: FloatArray, k: int, tc: float,
               r: FloatArray, d: FloatArray) -> int:
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


@njit(inline="always", _nrt=False)
def loop_deriv(P: Any, C: Any, n: int, sampled: bool, t: float, X: FloatArray, r: FloatArray,
               d: FloatArray, y: FloatArray, uraw: FloatArray, u: FloatArray,
               dX: FloatArray) -> None:
    """Closed-loop derivative ``dX`` at ``(t, X)``; also leaves ``y``, ``uraw`` and ``u``
    (for a sampled controller ``u``/``uraw`` are the held values and are not touched).

    Copied into its caller (numba-IR inlining): LLVM did not inline it, and the calls cost a
    quarter of the RK4 step. Solver bodies use it at their one or two hot call sites and
    :func:`loop_deriv_call` elsewhere, since every copy adds to the compile time."""
    plant_output(P, t, X, d, y)
    if not sampled:
        ctrl_output(C, t, X, n, y, r, uraw, u)
    plant_dynamics(P, t, X, u, d, dX)
    if sampled:
        for i in range(n, X.size):
            dX[i] = 0.0
    else:
        ctrl_derivative(C, t, X, n, y, r, uraw, u, dX)




@njit(_nrt=False)
def loop_sample(P: Any, C: Any, n: int, t: float, X: FloatArray, r: FloatArray, d: FloatArray,
                y: FloatArray, uraw: FloatArray, u: FloatArray) -> None:
    """A sample instant of a sampled controller: measure, then run its sample update."""
    plant_output(P, t, X, d, y)
    ctrl_sample(C, t, X, n, y, r, uraw, u)


@njit(inline="always", _nrt=False)
def emit(P: Any, C: Any, n: int, sampled: bool, t: float, X: FloatArray, r: FloatArray,
         d: FloatArray, y: FloatArray, uraw: FloatArray, u: FloatArray, out_x: FloatArray,
         out_y: FloatArray, out_u: FloatArray, out_uraw: FloatArray, k: int) -> None:
    """Output row ``k`` at state ``X``: the plant output and (continuous controllers) the
    command, recorded. Copied into the solvers' output loops (the calls cost a quarter of
    the Dopri5 kernel on 3001 outputs); :func:`emit_call` at the other sites."""
    plant_output(P, t, X, d, y)
    if not sampled:
        ctrl_output(C, t, X, n, y, r, uraw, u)
    # element loops, not slice assignment: slices in the kernel slowed its every step
    for i in range(X.size):
        out_x[k, i] = X[i]
    for i in range(y.size):
        out_y[k, i] = y[i]
    for i in range(u.size):
        out_u[k, i] = u[i]
        out_uraw[k, i] = uraw[i]


@njit(inline="always", _nrt=False)
def all_finite(X: FloatArray, bound: float) -> bool:
    """True when every entry is finite and below ``bound`` in magnitude (divergence guard)."""
    for i in range(X.size):
        if not abs(X[i]) < bound:
            return False
    return True


@njit(_nrt=False)
def fill_nan(out_x: FloatArray, out_y: FloatArray, out_u: FloatArray, out_uraw: FloatArray,
             start: int) -> None:
    """NaN in every output row from ``start`` on (a run that stopped early)."""
    for kk in range(start, out_x.shape[0]):
        for arr in (out_x, out_y, out_u, out_uraw):
            for i in range(arr.shape[1]):
                arr[kk, i] = math.nan


@cached_njit
def loop_scratch(x0: FloatArray, out_y: FloatArray, out_u: FloatArray, r_sig: FloatArray,
                 d_sig: FloatArray, rows: int) -> tuple[FloatArray, ...]:
    """The per-run arrays every solver body works in: ``X`` (a copy of ``x0``), ``y``, ``u``,
    ``uraw``, ``r``, ``d`` and a block of ``rows`` state-sized scratch rows. Allocated here, with
    numba's runtime on, because the bodies run without it."""
    return (x0.copy(), np.empty(out_y.shape[1]), np.zeros(out_u.shape[1]),
            np.zeros(out_u.shape[1]), np.empty(r_sig.shape[0]), np.empty(d_sig.shape[0]),
            np.empty((rows, x0.size)))


# the copied-in helpers as called functions, for the cold call sites (each copy of a helper
# adds to a kernel's compile time)
signals_at_call = njit(_nrt=False)(python_function(signals_at))
loop_deriv_call = njit(_nrt=False)(python_function(loop_deriv))
emit_call = njit(_nrt=False)(python_function(emit))
