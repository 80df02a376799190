"""The sweep kernel: many closed-loop runs of one model structure, with their step metrics.

Each point calls the very kernel bodies that :func:`leaky_control.simulate` runs (the fixed-step
and Dopri5 functions, compiled as callees) and the metric function of ``step_info``, so a
sweep's trajectories and metrics equal point-by-point ``simulate`` + ``step_info`` bit for bit.

Two compilations of the same body: ``batch_parallel`` spreads the points over local cores
with ``prange``; ``batch_serial`` runs them in order and releases the GIL, for executor
workers (threads of one process may run it side by side; numba's default ``workqueue``
threading layer aborts if two threads enter a parallel kernel at once).

Per point ``i`` the kernel reads ``X0[i]`` (plant then controller state), ``PPAR[i]``,
``CPAR[i]``, ``max_step[i]`` (fixed-step solvers), ``LIM[i] = [umin, umax]`` of the first input,
the reference row ``R[ridx[i]]`` and the disturbance row ``D[didx[i]]``; it writes
``INFO[i] = [status, failure time, nfev, accepted, rejected]`` and ``MET[i]`` (the 15 values of
:mod:`.step_metrics`). With ``keep`` the outputs land in ``OX, OY, OU, OUR[i]`` (as
``simulate``'s kernels write them); otherwise each point uses scratch arrays of one trajectory.
"""

from __future__ import annotations

import types as pytypes

import numpy as np
from numba import njit, prange, types

from ._cache import KernelPair
from .dopri5 import _simulate_dopri5
from .fixed import METHOD_EULER, METHOD_RK4, _simulate_fixed
from .models import USER_RHS_TYPE
from .step_metrics import NMETRICS, step_metrics

#: the solver code for Dopri5; Euler and RK4 pass their own method codes (fixed.py: 0 and 1)
SOLVER_DOPRI5 = 2

assert SOLVER_DOPRI5 not in (METHOD_EULER, METHOD_RK4)

_fixed_core = njit(_simulate_fixed)
_dopri5_core = njit(_simulate_dopri5)

_F1 = types.float64[::1]
_F2 = types.float64[:, ::1]
_F3 = types.float64[:, :, ::1]
_I1 = types.int64[::1]
BATCH_SIG = types.void(
    USER_RHS_TYPE, types.int64, _F1, _F3, _I1, _F3, _I1, _F2, _I1, _F2, _I1, _F2,
    _F1, types.int64, _F1, _F2, types.int64, types.boolean, _F1, _F2, _F2,
    types.boolean, _F3, _F3, _F3, _F3,
)


def _batch(user_f, solver, t_out, R, ridx, D, didx, X0, pint, PPAR, cint, CPAR,
           max_step, substeps, opts, LIM, out_index, has_loop, mopts, MET, INFO,
           keep, OX, OY, OU, OUR):
    P = X0.shape[0]
    T = t_out.size
    nx = X0.shape[1]
    p = OY.shape[2]
    m = OU.shape[2]
    for i in prange(P):
        if keep:
            ox = OX[i]
            oy = OY[i]
            ou = OU[i]
            our = OUR[i]
        else:
            ox = np.empty((T, nx))
            oy = np.empty((T, p))
            ou = np.empty((T, m))
            our = np.empty((T, m))
        r_sig = R[ridx[i]]
        d_sig = D[didx[i]]
        info = INFO[i]
        if solver == SOLVER_DOPRI5:
            _dopri5_core(user_f, t_out, r_sig, d_sig, X0[i], pint, PPAR[i], cint, CPAR[i], opts,
                         ox, oy, ou, our, info)
        else:
            _fixed_core(user_f, solver, t_out, r_sig, d_sig, X0[i], pint, PPAR[i], cint,
                        CPAR[i], max_step[i], substeps, ox, oy, ou, our, info)
        y = np.empty(T)
        e = np.empty(T)
        u = np.empty(T)
        lo = LIM[i, 0]
        hi = LIM[i, 1]
        for k in range(T):
            y[k] = oy[k, out_index]
            e[k] = r_sig[0, k] - oy[k, 0]
            # np.clip's operation order, as simulate applies the plant's own limits
            u[k] = min(max(ou[k, 0], lo), hi)
        step_metrics(t_out, y, e, u, has_loop, mopts, MET[i])


def _named_copy(func, name):
    """The same code as a function of another name: numba names cache files after the
    function, and the parallel and serial compilations must not share them."""
    f = pytypes.FunctionType(func.__code__, func.__globals__, name, func.__defaults__,
                             func.__closure__)
    f.__qualname__ = name
    f.__module__ = func.__module__
    return f


#: ``batch_parallel(False)`` for built-in models, ``batch_parallel(True)`` for ``@rhs`` plants
batch_parallel = KernelPair(_named_copy(_batch, "_batch_parallel"), BATCH_SIG, parallel=True,
                            nogil=True)
#: the same loop in order, releasing the GIL (executor workers)
batch_serial = KernelPair(_named_copy(_batch, "_batch_serial"), BATCH_SIG, nogil=True)

__all__ = ["BATCH_SIG", "NMETRICS", "SOLVER_DOPRI5", "batch_parallel", "batch_serial"]
