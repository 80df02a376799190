"""One chunk of a sweep: pack its points, run the sweep kernel, return plain arrays.

This is the unit of work that executors run, so everything here is picklable and module-level:
a :class:`SweepSpec` (the base loop and options) plus the chunk's rows of the parameter table.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .._dispatch import model_of
from ..simulation import _initial_states, _plant_jacobian_at, _signal, prepare_point
from ..solvers.batch import columns, sweep_parallel, sweep_serial
from ..solvers.kernels import kernel
from ..status import Status
from ..step_metrics import NMETRICS, SETTLED

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

    from .._typing import FloatArray, IntArray
    from ..controllers.base import Controller
    from ..plants.base import Plant
    from ..simulation import PreparedRun
    from ..solvers.base import Solver
    from .grid import PointTable

    #: a chunk after prepare_chunk: point count, info rows, rejected points' messages, groups
    Prepared = tuple[int, FloatArray, dict[int, str], list[dict[str, Any]]]
    #: what _launch returns: the kernel's output arrays and the exception a point raised
    Launch = tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray, FloatArray,
                   BaseException | None]

#: points a numba thread takes at a time from the chunk
PARALLEL_CHUNKSIZE = 4
#: one parallel kernel at a time per process: numba's workqueue threading layer aborts when
#: two threads enter parallel code at once (two sweeps started from two threads)
_PARALLEL_LOCK = threading.Lock()


@dataclass(frozen=True)
class SweepSpec:
    """Everything a chunk needs besides its rows (built and validated by ``sweep``)."""

    plant: Plant
    controller: Controller
    t: np.ndarray
    reference: ArrayLike
    disturbance: ArrayLike | None
    initial_state: ArrayLike | None
    controller_state: ArrayLike | None
    solver: Solver
    param_names: tuple
    scenario_names: tuple
    metric_options: np.ndarray
    output_index: int
    has_loop: bool
    keep_trajectories: bool
    if TYPE_CHECKING:  # set by __post_init__ and the methods below, outside the fields
        _base: dict[str, FloatArray] = field(init=False)
        _cnames: tuple[str, ...] = field(init=False)
        _pnames: tuple[str, ...] = field(init=False)
        _layouts: tuple[Any, Any] | None = field(init=False)
        _limits: tuple[FloatArray, FloatArray] = field(init=False)
        _jacobian: tuple[FloatArray, FloatArray, FloatArray] | None = field(init=False)

    def __post_init__(self) -> None:
        # the base signals and initial state, validated once: per point only swept values
        # are checked and converted (these conversions cost more than packing the models)
        base = {"initial_state": _initial_states(self.plant, self.controller,
                                                 self.initial_state, None)[0],
                "reference": _signal("reference", self.reference, 1, self.t),
                "disturbance": _signal("disturbance", self.disturbance,
                                       max(self.plant.ndisturbances, 1), self.t)}
        object.__setattr__(self, "_base", base)
        # the split that _apply_params makes per call, made once (it lists the models'
        # parameters, which cost more than the replacement itself)
        cnames = set(self.controller.params)
        object.__setattr__(self, "_cnames", tuple(k for k in self.param_names if k in cnames))
        object.__setattr__(self, "_pnames", tuple(k for k in self.param_names if k not in cnames))

    def base_layouts(self) -> tuple[Any, Any] | None:
        """The layouts of the base models' records (computed once; None if they fail)."""
        if "_layouts" not in self.__dict__:
            try:
                lay = (_layout(self.plant.record()), _layout(self.controller.record(self.plant)))
            except Exception:  # then no group has the base layout
                lay = None
            object.__setattr__(self, "_layouts", lay)
        return self._layouts

    def plant_limits(self, plant: Plant) -> tuple[FloatArray, FloatArray]:
        """The plant's actuator limits (computed once for the base plant)."""
        if plant is not self.plant:
            return plant.actuator_limits()
        if "_limits" not in self.__dict__:
            object.__setattr__(self, "_limits", plant.actuator_limits())
        return self._limits

    def base_jacobian(self, plant: Plant, x0: FloatArray
                      ) -> tuple[FloatArray, FloatArray, FloatArray] | None:
        """The plant Jacobian at the base initial state when ``plant`` and ``x0`` are the
        base ones (computed once: a finite-difference Jacobian costs ~0.4 ms per point),
        else None."""
        if plant is not self.plant or x0 is not self._base["initial_state"]:
            return None
        if "_jacobian" not in self.__dict__:
            try:
                jac = _plant_jacobian_at(plant, x0)
            except (np.linalg.LinAlgError, ValueError, TypeError):
                jac = None  # _default_max_step meets the same error and handles it
            object.__setattr__(self, "_jacobian", jac)
        return self._jacobian

    def point(self, row: Mapping[str, Any]) -> tuple[Plant, Controller, FloatArray, FloatArray,
                                                    FloatArray, FloatArray]:
        """Plant, controller, x0, xc0, r and d of one point (``row``: name -> value).

        Raises ``ValueError``/``TypeError`` for parameter values the models reject.
        """
        cch = {k: row[k] for k in self._cnames}
        pch = {k: row[k] for k in self._pnames}
        plant = self.plant.replace(**pch) if pch else self.plant
        controller = self.controller.replace(**cch) if cch else self.controller
        base = self._base
        t = self.t
        if "initial_state" in row or base["initial_state"].size != plant.nstates:
            x0 = _initial_states(plant, controller, row.get("initial_state", self.initial_state),
                                 None)[0]
        else:
            x0 = base["initial_state"]
        cs = row.get("controller_state", self.controller_state)
        if cs is None:  # what _initial_states gives, without validating a zero plant state
            init = getattr(controller, "initial_state", None)
            xc0 = np.zeros(controller.nstates) if init is None else np.array(init, dtype=float)
        else:
            xc0 = _initial_states(plant, controller, None, cs)[1]
        r = _signal("reference", row["reference"], 1, t) if "reference" in row \
            else base["reference"]
        q = max(plant.ndisturbances, 1)
        d = _signal("disturbance", row.get("disturbance", self.disturbance), q, t) \
            if "disturbance" in row or base["disturbance"].shape[0] != q else base["disturbance"]
        return plant, controller, x0, xc0, r, d


def _row(table: PointTable, i: int) -> dict[str, Any]:
    return {name: table.value(name, i) for name in table.names}


def run_chunk(spec: SweepSpec, table: PointTable, parallel: bool = True,
              threads: int | None = None) -> dict[str, Any]:
    """Run every point of ``table`` (a :class:`~.grid.PointTable` slice).

    Parameters
    ----------
    spec : SweepSpec
    table : PointTable
    parallel : bool
        ``prange`` over local cores, or in order without the GIL (executor workers).
    threads : int, optional
        numba threads for the parallel kernel.

    Returns
    -------
    dict
        ``metrics`` (P, 15), ``info`` (P, 5) as the kernels write it (status 4: invalid
        parameters), ``errors`` (index -> message of rejected parameters) and, with
        ``keep_trajectories``, ``states`` (P, T, nx), ``outputs`` (P, T, p), ``u`` and
        ``u_raw`` (P, T, m; ``u`` before the plant's own limits, as the kernels record it) and
        the fixed-step ``max_step`` per point.
    """
    return execute_chunk(spec, prepare_chunk(spec, table), parallel, threads)


def prepare_chunk(spec: SweepSpec, table: PointTable) -> Prepared:
    """Prepare the chunk's points (as :func:`leaky_control.simulation.prepare_point` does for
    one run) and group them by what the kernel is specialised to and by array shapes.

    A point whose preparation raises anything (a model's ``__post_init__``, ``record`` or
    validation, a scenario value) is marked ``INVALID_PARAMETERS`` with a message naming the
    exception, and the other points are prepared as usual.
    """
    P = len(table)
    t = spec.t
    solver = spec.solver
    info = np.zeros((P, 5))
    errors: dict[int, str] = {}
    groups: dict[tuple[Any, ...], list[tuple[int, PreparedRun, tuple[float, float]]]] = {}
    for i in range(P):
        try:
            plant, controller, x0, xc0, r, d = spec.point(_row(table, i))
            run = prepare_point(plant, controller, solver, t, r, d, x0, xc0,
                                spec.base_jacobian(plant, x0))
            lo, hi = spec.plant_limits(plant)
            # the records' layouts (field types, array shapes and dtypes) are part of the
            # key: numba specialises on them, and a column of one group must hold every
            # point's field without conversion (an int field of one point and a float of
            # another would otherwise be truncated to the first point's type)
            key = (type(run.P), type(run.C), _layout(run.P), _layout(run.C), run.x0.size,
                   plant.noutputs, plant.ninputs, plant.nstates, r.shape, d.shape)
            lim = (lo[0], hi[0]) if plant.ninputs else (-np.inf, np.inf)
        except Exception as exc:  # any model error is this point's failure
            _reject(info, errors, i, _prepare_message(exc))
            continue
        groups.setdefault(key, []).append((i, run, lim))
    packed = []
    for pts in groups.values():
        try:
            packed.append(_pack(spec, pts))
        except Exception:
            # a record value numpy cannot hold in its column (an int beyond int64): find the
            # points one by one (only on this path) and pack the others together
            ok = []
            for pt in pts:
                try:
                    _pack(spec, [pt])
                except Exception as exc:
                    _reject(info, errors, pt[0], "invalid parameters: the models' records "
                            f"cannot be packed for the kernel: {_exception_text(exc)}")
                else:
                    ok.append(pt)
            if ok:
                packed.append(_pack(spec, ok))
    return P, info, errors, packed


def _pack(spec: SweepSpec,
          pts: Sequence[tuple[int, PreparedRun, tuple[float, float]]]) -> dict[str, Any]:
    """One group's points as the kernel's arrays."""
    runs = [pt[1] for pt in pts]
    R, ridx = _rows([run.r for run in runs], "reference" in spec.scenario_names)
    D, didx = _rows([run.d for run in runs], "disturbance" in spec.scenario_names)
    first = runs[0]
    plant = first.plant
    return dict(
        dims=(first.x0.size, plant.noutputs, plant.ninputs), n=plant.nstates, S=first.S,
        P0=first.P, C0=first.C,
        models=(model_of(first.S), model_of(first.P), model_of(first.C)),
        PS=columns([run.P for run in runs]), CS=columns([run.C for run in runs]),
        idx=np.array([pt[0] for pt in pts], dtype=np.int64),
        sampled=np.array([int(run.controller.sampled) for run in runs], dtype=np.int64),
        dts=np.array([float(run.controller.dt or 0.0) for run in runs]),
        X0=np.ascontiguousarray(np.stack([run.x0 for run in runs])),
        OPTS=np.ascontiguousarray(np.stack([run.opts for run in runs])),
        max_step=np.array([run.max_step for run in runs], dtype=float),
        LIM=np.array([pt[2] for pt in pts], dtype=float), R=R, ridx=ridx, D=D, didx=didx)


def _layout(rec: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple((v.shape, v.dtype) if isinstance(v, np.ndarray) else type(v) for v in rec)


def _reject(info: FloatArray, errors: dict[int, str], i: int, message: str) -> None:
    info[i] = (Status.INVALID_PARAMETERS, np.nan, 0.0, 0.0, 0.0)
    errors[i] = message


def _exception_text(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _prepare_message(exc: BaseException) -> str:
    """The message of a point whose preparation raised ``exc``."""
    if isinstance(exc, ValueError | TypeError):
        # a model's own check: its message names the parameter, the value and the range, and
        # is what simulate raises for the same values
        return f"invalid parameters: {exc}"
    return f"invalid parameters: preparing the point raised {_exception_text(exc)}"


def execute_chunk(spec: SweepSpec, prepared: Prepared, parallel: bool = True,
                  threads: int | None = None) -> dict[str, Any]:
    """Run the kernel on a :func:`prepare_chunk` result; see :func:`run_chunk`.

    A point whose model code raises inside the kernel is marked ``INVALID_PARAMETERS`` with
    the exception named, and the other points keep their results (see :func:`_run_group`).
    """
    P, info, errors, packed = prepared
    T = spec.t.size
    metrics = np.full((P, NMETRICS), np.nan)
    metrics[:, SETTLED] = 0.0
    out = {"metrics": metrics, "info": info, "errors": errors}
    if spec.keep_trajectories:
        dims = {g["dims"] for g in packed} or {(spec.plant.nstates + spec.controller.nstates,
                                                spec.plant.noutputs, spec.plant.ninputs)}
        if len(dims) > 1:
            raise ValueError(
                "keep_trajectories needs the same numbers of states, outputs and inputs at "
                f"every point; this grid gives {sorted(dims)} (states, outputs, inputs)")
        nx, p, m = next(iter(dims))
        out.update(states=np.full((P, T, nx), np.nan), outputs=np.full((P, T, p), np.nan),
                   u=np.full((P, T, m), np.nan), u_raw=np.full((P, T, m), np.nan),
                   max_step=np.full(P, np.nan))
    if parallel:
        import numba

        if threads is not None:
            numba.set_num_threads(threads)
        # hand out points a few at a time: run times differ by point (adaptive steps,
        # failures), and numba's default equal split leaves a thread idle at the end
        numba.set_parallel_chunksize(PARALLEL_CHUNKSIZE)
    with _PARALLEL_LOCK if parallel else contextlib.nullcontext():
        for g in packed:
            _run_group(spec, g, parallel, out)
    return out


#: what MET[:, SETTLED] holds before the kernel runs: step_metrics, the last thing the
#: kernel does for a point, writes 0 or 1 there, so a row still holding this value belongs to
#: a point whose run raised (or was skipped after another point raised)
_UNFINISHED = -1.0


def _run_group(spec: SweepSpec, g: dict[str, Any], parallel: bool,
               out: dict[str, Any]) -> None:
    """Run one group's points and store their results in ``out``.

    A model's numba code can raise (``ZeroDivisionError`` for a division by zero, an
    explicit ``raise``). The serial kernel then stops at that point and raises the model's
    exception; the parallel kernel loses it (``SystemError: ... returned a result with an
    exception set``, or nothing at all while the point's row stays unwritten). So the points
    whose rows are unwritten are run again with the serial kernel, in order: each time it
    raises, the first unfinished point is the one that raised and is marked with the
    exception; the points before it have their results. Cost only when a point raised.
    """
    sel, par = np.arange(g["idx"].size), parallel
    while sel.size:
        res = _launch(spec, g, sel, par)
        exc = res[-1]
        if isinstance(exc, _compile_errors()):
            _compile_failure(spec, g, sel, exc, out)
            return
        rest = _store(spec, g, sel, res, out)
        if not rest.size:
            return
        if par:  # the parallel kernel lost the exception: find it with the serial one
            sel, par = rest, False
            continue
        culprit, sel = rest[0], rest[1:]
        if exc is None:  # a row left unwritten without an exception: no result to give
            message = ("invalid parameters: the kernel left this point unfinished without "
                       "raising; simulate(...) at this point shows what happens")
        else:
            message = (f"invalid parameters: the models' numba code raised "
                       f"{_exception_text(exc)} (simulate raises it at this point); the run "
                       "stopped")
        _reject(out["info"], out["errors"], int(g["idx"][culprit]), message)


def _launch(spec: SweepSpec, g: dict[str, Any], sel: IntArray, parallel: bool) -> Launch:
    """The kernel on the group's points ``sel``; returns (MET, INFO, OX, OY, OU, OUR, error)
    with ``error`` None or the exception the kernel raised."""
    t = spec.t
    T = t.size
    nx, p, m = g["dims"]
    every = sel.size == g["idx"].size
    pick = (lambda a: a) if every else (lambda a: np.ascontiguousarray(a[sel]))
    n = sel.size
    MET = np.empty((n, NMETRICS))
    MET[:, SETTLED] = _UNFINISHED
    INFO = np.zeros((n, 5))
    lead = n if spec.keep_trajectories else 0
    OX = np.empty((lead, T, nx))
    OY = np.empty((lead, T, p))
    OU = np.empty((lead, T, m))
    OUR = np.empty((lead, T, m))
    entry = sweep_parallel if parallel else sweep_serial
    options = dict(parallel=True, nogil=True) if parallel else dict(nogil=True)
    k = kernel(entry, *g["models"], bind={"solve": g["models"][0]._nb_run}, **options)
    try:
        k(g["S"], g["P0"], g["C0"], tuple(pick(c) for c in g["PS"]),
          tuple(pick(c) for c in g["CS"]), g["n"], pick(g["sampled"]), pick(g["dts"]), t,
          g["R"], pick(g["ridx"]), g["D"], pick(g["didx"]), pick(g["X0"]), pick(g["OPTS"]),
          pick(g["LIM"]), spec.output_index, spec.has_loop, spec.metric_options, MET, INFO,
          spec.keep_trajectories, OX, OY, OU, OUR)
    except Exception as exc:  # sorted out by _run_group
        return MET, INFO, OX, OY, OU, OUR, exc
    return MET, INFO, OX, OY, OU, OUR, None


def _store(spec: SweepSpec, g: dict[str, Any], sel: IntArray, res: Launch,
           out: dict[str, Any]) -> IntArray:
    """Copy the finished rows of a launch on ``sel`` into ``out``; return the unfinished
    part of ``sel``."""
    MET, INFO, OX, OY, OU, OUR, _ = res
    done = MET[:, SETTLED] != _UNFINISHED
    if done.all():  # the usual case: no copies of the (possibly large) trajectory arrays
        done = slice(None)
    rows = sel[done]
    idx = g["idx"][rows]
    out["metrics"][idx] = MET[done]
    out["info"][idx] = INFO[done]
    if spec.keep_trajectories:
        out["states"][idx], out["outputs"][idx], out["u"][idx], out["u_raw"][idx] = \
            OX[done], OY[done], OU[done], OUR[done]
        out["max_step"][idx] = g["max_step"][rows]
    return sel[:0] if isinstance(done, slice) else sel[~done]


def _compile_errors() -> type[Exception]:
    from numba.core.errors import NumbaError

    return NumbaError


def _compile_failure(spec: SweepSpec, g: dict[str, Any], sel: IntArray, exc: BaseException,
                     out: dict[str, Any]) -> None:
    """The kernel does not compile for this group's records. When they have the layout of
    the base models' records, the models themselves do not compile (a bug in their numba
    code, which simulate shows too): that is raised. Otherwise only these points' parameter
    values gave records of another layout (a field of another type), and they are marked."""
    if (_layout(g["P0"]), _layout(g["C0"])) == spec.base_layouts():
        raise exc
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    text = f"{type(exc).__name__}: {' '.join(lines[:3])[:300]}"
    for j in sel:
        _reject(out["info"], out["errors"], int(g["idx"][j]),
                "invalid parameters: the kernel cannot be compiled for this point's records "
                f"(a field of another type than at the base values): {text}")


def _rows(signals: Sequence[FloatArray], swept: bool) -> tuple[FloatArray, IntArray]:
    """Stack per-point signal arrays, or share the one base array when not swept."""
    if swept:
        return (np.ascontiguousarray(np.stack(signals)),
                np.arange(len(signals), dtype=np.int64))
    return np.ascontiguousarray(signals[0][None]), np.zeros(len(signals), dtype=np.int64)
