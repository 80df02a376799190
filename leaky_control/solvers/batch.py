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

from typing import TYPE_CHECKING, Any

import numpy as np
from numba import prange
from numba.core.errors import TypingError
from numba.extending import overload

from .._dispatch import model_of
from ..step_metrics import step_metrics
from .kernels import _renamed

if TYPE_CHECKING:
    from collections.abc import Sequence

    from numpy.typing import NDArray

    from .._typing import FloatArray, IntArray

__all__ = ["columns", "record_at", "sweep_parallel", "sweep_serial"]


def columns(records: Sequence[tuple[Any, ...]]) -> tuple[NDArray[Any], ...]:
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


def record_at(proto: tuple[Any, ...], cols: Sequence[NDArray[Any]], i: int) -> Any:
    """Point ``i``'s record, of ``proto``'s class, from :func:`columns`."""
    return type(proto)(*(c[i] for c in cols))


# unannotated: numba's @overload compares this signature, annotations included, with that
# of the impl it returns
@overload(record_at)
def _record_at(proto, cols, i):  # type: ignore[no-untyped-def]
    cls = getattr(proto, "instance_class", None)
    if cls is None:
        raise TypingError(f"record_at needs a named-tuple record, got {proto}")
    args = ", ".join(f"cols[{k}][i]" for k in range(len(proto)))
    ns: dict[str, Any] = {}
    exec(f"def impl(proto, cols, i):\n    return cls({args})\n", {"cls": cls}, ns)  # noqa: S102
    return ns["impl"]


def solve(s: Any, P: Any, C: Any, n: int, sampled: bool, dts: float, t_out: FloatArray,
          r_sig: FloatArray, d_sig: FloatArray, x0: FloatArray, opts: FloatArray, out_x: FloatArray,
          out_y: FloatArray, out_u: FloatArray, out_uraw: FloatArray, info: FloatArray) -> None:
    """The solver's body for record ``s``; each specialisation of the sweep kernel binds this
    name to it directly (this lookup is what runs without numba)."""
    model_of(s)._nb_run(s, P, C, n, sampled, dts, t_out, r_sig, d_sig, x0, opts, out_x, out_y,
                        out_u, out_uraw, info)


def _sweep(S: Any, P0: Any, C0: Any, PS: tuple[NDArray[Any], ...],
           CS: tuple[NDArray[Any], ...], n: int, SAMPLED: NDArray[np.bool_], DTS: FloatArray,
           t_out: FloatArray, R: FloatArray, ridx: IntArray, D: FloatArray, didx: IntArray,
           X0: FloatArray, OPTS: FloatArray, LIM: FloatArray, out_index: int, has_loop: bool,
           mopts: FloatArray, MET: FloatArray, INFO: FloatArray, keep: bool, OX: FloatArray,
           OY: FloatArray, OU: FloatArray, OUR: FloatArray) -> None:
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
