"""The sweep kernel: many closed-loop runs of one (solver, plant, controller), with metrics.

Each point calls the very solver body that :func:`leaky_control.simulate` runs (the global
name ``solve`` below is bound to it per specialisation, see :func:`.kernels.kernel`) and the
metric function of ``step_info``, so a sweep's
trajectories and metrics equal point-by-point ``simulate`` + ``step_info`` bit for bit.

Per-point records travel as columns: ``PS`` and ``CS`` hold one array per record field (a
scalar field as a vector over the points, an array field stacked along a new first axis), and
:func:`record_at` rebuilds point ``i``'s record inside the kernel. Each point therefore owns
its array fields, including scratch rows a model writes to (the network's activations).

Two compilations of the same body: ``sweep_parallel`` spreads the points over local cores
with ``prange``; ``sweep_serial`` runs them in order and releases the GIL, for executor
workers (numba's default ``workqueue`` threading layer aborts if two threads enter a
parallel kernel at once).
"""

from __future__ import annotations

import numpy as np
from numba import prange
from numba.core.errors import TypingError
from numba.extending import overload

from .._dispatch import model_of
from ..step_metrics import step_metrics
from .kernels import _renamed

__all__ = ["columns", "record_at", "sweep_parallel", "sweep_serial"]


def columns(records):
    """The records of a group's points as one array per field (see the module docstring)."""
    first = records[0]
    cols = []
    for k, v in enumerate(first):
        vals = [rec[k] for rec in records]
        if isinstance(v, np.ndarray):
            cols.append(np.ascontiguousarray(np.stack(vals)))
        elif isinstance(v, bool | np.bool_):
            cols.append(np.array(vals, dtype=np.bool_))
        elif isinstance(v, int | np.integer):
            cols.append(np.array(vals, dtype=np.int64))
        else:
            cols.append(np.array(vals, dtype=np.float64))
    return tuple(cols)


def record_at(proto, cols, i):
    """Point ``i``'s record, of ``proto``'s class, from :func:`columns`."""
    return type(proto)(*(c[i] for c in cols))


@overload(record_at)
def _record_at(proto, cols, i):
    cls = getattr(proto, "instance_class", None)
    if cls is None:
        raise TypingError(f"record_at needs a named-tuple record, got {proto}")
    args = ", ".join(f"cols[{k}][i]" for k in range(len(proto)))
    ns = {}
    exec(f"def impl(proto, cols, i):\n    return cls({args})\n", {"cls": cls}, ns)  # noqa: S102
    return ns["impl"]


def solve(s, P, C, n, sampled, dts, t_out, r_sig, d_sig, x0, opts, out_x, out_y, out_u,
          out_uraw, info):
    """The solver's body for record ``s``; each specialisation of the sweep kernel binds this
    name to it directly (this lookup is what runs without numba)."""
    model_of(s)._nb_run(s, P, C, n, sampled, dts, t_out, r_sig, d_sig, x0, opts, out_x, out_y,
                        out_u, out_uraw, info)


def _sweep(S, P0, C0, PS, CS, n, SAMPLED, DTS, t_out, R, ridx, D, didx, X0, OPTS, LIM,
           out_index, has_loop, mopts, MET, INFO, keep, OX, OY, OU, OUR):
    NP = X0.shape[0]
    T = t_out.size
    nx = X0.shape[1]
    p = OY.shape[2]
    m = OU.shape[2]
    for i in prange(NP):
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
        P = record_at(P0, PS, i)
        C = record_at(C0, CS, i)
        solve(S, P, C, n, SAMPLED[i], DTS[i], t_out, r_sig, d_sig, X0[i], OPTS[i], ox, oy, ou,
              our, info)
        y = np.empty(T)
        e = np.empty(T)
        u = np.empty(T)
        lo = LIM[i, 0]
        hi = LIM[i, 1]
        for k in range(T):
            y[k] = oy[k, out_index]
            e[k] = r_sig[0, k] - oy[k, 0]
            # np.clip's operation order, as simulate applies the plant's own limits
            u[k] = min(max(ou[k, 0], lo), hi) if m > 0 else 0.0
        step_metrics(t_out, y, e, u, has_loop, mopts, MET[i])


#: the same body under two names: numba names cache files after the function
sweep_parallel = _renamed(_sweep, "sweep_parallel")
sweep_serial = _renamed(_sweep, "sweep_serial")
