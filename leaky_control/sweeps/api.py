"""``sweep``: many closed-loop runs over a parameter grid, on local cores or an executor."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor, as_completed
from typing import TYPE_CHECKING, Any

import numpy as np

from ..metrics import STEP_INFO_KEYS
from ..metrics import metric_options as _metric_options
from ..plants import as_plant
from ..simulation import (
    _apply_params,
    _check_controller,
    _check_feedthrough,
    _check_solver,
    _initial_states,
    _signal,
    _timepts,
    has_error_output,
    nfev_from_count,
)
from ..status import Status
from .checkpoint import Checkpoint, check_checkpoint_path, fingerprint
from .chunk import SweepSpec, execute_chunk, prepare_chunk, run_chunk
from .grid import SCENARIO_NAMES, PointTable
from .result import SweepResult, messages_for

if TYPE_CHECKING:
    import os

    from numpy.typing import ArrayLike

    from .._typing import ControllerLike, FloatArray, PlantLike
    from ..solvers.base import Solver
    from .grid import Points

#: chunks a sweep is cut into by default: few enough that per-chunk costs (a kernel launch,
#: packing not yet overlapped) stay small, enough for progress and checkpoints (measured:
#: 64 chunks of the 10,000-point benchmark cost ~15 % of its time at 2 threads)
DEFAULT_CHUNKS = 16
_MIN_CHUNK, _MAX_CHUNK = 16, 8192
#: statuses a checkpoint never stores: a point stopped from outside (Ctrl-C) has no final
#: result, and a resumed sweep must run it again
_NOT_FINAL = [int(s) for s in (getattr(Status, "INTERRUPTED", None),) if s is not None]
_METRIC_OPTION_NAMES = ("settling_threshold", "rise_limits", "initial_output", "final_output",
                        "output")


def sweep(plant: PlantLike, controller: ControllerLike,
          grid: Mapping[str, Any] | Points | Sequence[Mapping[str, Any]], timepts: ArrayLike,
          *, metrics: str | Iterable[str] = STEP_INFO_KEYS,
          metric_options: Mapping[str, Any] | None = None, keep_trajectories: bool = False,
          executor: Executor | None = None, progress: bool = False,
          checkpoint: str | os.PathLike[str] | None = None, chunk_size: int | None = None,
          threads: int | None = None, reference: ArrayLike = 0.0,
          disturbance: ArrayLike | None = None, initial_state: ArrayLike | None = None,
          params: Mapping[str, Any] | None = None, solver: Solver | None = None,
          controller_state: ArrayLike | None = None) -> SweepResult:
    """Simulate the loop at every point of ``grid`` and return the step metrics of each.

    Every point runs the same kernel body as :func:`leaky_control.simulate` and the same
    metric function as :func:`leaky_control.step_info`, so a point's trajectory and metrics
    equal ``step_info(simulate(...))`` bit for bit, whichever path ran it.

    Parameters
    ----------
    plant, controller
        The base loop, as in :func:`simulate`.
    grid : dict, Points or list of dicts
        ``{name: values}`` is the full product of the values (the first name varies slowest);
        :class:`Points` (equal-length columns) or a list of ``{name: value}`` dicts are explicit
        points. Names: controller parameters (``negative_slope``, ``kp``, ...), plant
        parameters, and the scenario names ``reference``, ``disturbance``, ``initial_state``,
        ``controller_state`` (values as :func:`simulate` accepts them).
    timepts : array_like or float
        Output times, as in :func:`simulate`; the metrics are computed on them.
    metrics : sequence of str, default all of ``STEP_INFO_KEYS``
        Which :func:`step_info` values to keep.
    metric_options : dict, optional
        ``step_info`` options: ``settling_threshold``, ``rise_limits``, ``initial_output``,
        ``final_output`` and ``output`` (index or label of a plant output).
    keep_trajectories : bool, default False
        Keep every point's states, outputs and inputs (memory: points x times x signals).
        Without it, memory grows with points x metrics only.
    executor : concurrent.futures.Executor, optional
        Run chunks on this executor (threads, processes, or a dask cluster via
        ``distributed.Client(...).get_executor()``); each chunk runs the serial kernel
        without the GIL. Default: this process, points spread over local cores with
        numba ``prange``.
    progress : bool, default False
        Show a tqdm progress bar over chunks (needs the ``progress`` extra).
    checkpoint : str or os.PathLike, optional
        A writable folder in which finished chunks are stored atomically as they complete.
        Running the same sweep with the same folder again skips them and returns the same
        result as an uninterrupted run. A folder holding a different sweep is refused. Each
        chunk file carries the sweep's fingerprint, its point range and a checksum; a file
        that cannot be read or does not match is run again and listed with the reason in
        ``stats["chunks_rerun"]``; a file that is not this sweep's (another sweep's, other
        points', a checksum mismatch) also gives a
        :class:`~leaky_control.sweeps.CheckpointWarning`.
    chunk_size : int, optional
        Points per chunk; default about 1/16 of the points, between 16 and 8192.
    threads : int, optional
        numba threads for the local path (default: numba's current setting).
    reference, disturbance, initial_state, params, solver, controller_state
        Base values, as in :func:`simulate`; grid names override them per point.

    Returns
    -------
    SweepResult
        Parameter table, metrics, status and messages per point (a failing point, whether
        its parameters are rejected, its model raises an exception (in Python or in its
        numba code), or its run diverges or exhausts ``max_steps``, is reported there and
        does not stop the others), trajectories when asked.

    Raises
    ------
    ValueError, TypeError
        For bad input, before any point runs: unknown grid names, an empty grid, values of
        the wrong shape, NaN values, invalid solver tolerances, an executor that is not an
        Executor, a ``checkpoint`` that is not a str or os.PathLike naming a writable folder,
        a checkpoint folder of another sweep.
    """
    t0 = time.perf_counter()
    if checkpoint is not None:
        check_checkpoint_path(checkpoint)  # a wrong type is refused before any work
    spec, table = _build(plant, controller, grid, timepts, metric_options, keep_trajectories,
                         reference, disturbance, initial_state, params, solver, controller_state)
    metric_names = _metric_names(metrics)
    if executor is not None and not isinstance(executor, Executor):
        raise TypeError("executor must be a concurrent.futures.Executor (ThreadPoolExecutor, "
                        "ProcessPoolExecutor, distributed.Client(...).get_executor()), got "
                        f"{type(executor).__name__}")
    threads = _check_threads(threads)
    if not isinstance(progress, bool):
        raise TypeError(f"progress must be True or False, got {progress!r}")
    bar_cls = _tqdm() if progress else None
    P = len(table)
    if chunk_size is None:
        chunk_size = min(max(math.ceil(P / DEFAULT_CHUNKS), _MIN_CHUNK), _MAX_CHUNK)
    elif isinstance(chunk_size, bool) or not isinstance(chunk_size, int | np.integer) or chunk_size < 1:
        raise ValueError(f"chunk_size must be an integer >= 1, got {chunk_size!r}")
    chunk_size = int(chunk_size)
    bounds = [(s, min(s + chunk_size, P)) for s in range(0, P, chunk_size)]
    store = None if checkpoint is None else Checkpoint(
        checkpoint, fingerprint(spec, table, chunk_size), bounds, spec.keep_trajectories)

    out = _Assembly(spec, table, metric_names)
    todo: list[int] = []
    for k, (s, _) in enumerate(bounds):
        # load() checks the chunk's fingerprint, point range and checksum; a file that
        # fails is run again (store.rerun says which and why)
        done = store.load(k) if store is not None else None
        if done is not None:
            out.add(s, done)
        else:
            todo.append(k)
    from_checkpoint = len(bounds) - len(todo)
    if store is not None:
        store.report()
    bar = bar_cls(total=len(bounds), initial=from_checkpoint, unit="chunk", desc="sweep") \
        if bar_cls is not None else None

    def finish(k: int, res: dict[str, Any]) -> None:
        if store is not None and not np.isin(res["info"][:, 0], _NOT_FINAL).any():
            store.save(k, res)
        out.add(bounds[k][0], res)
        if bar is not None:
            bar.update(1)

    try:
        if executor is None:
            _run_local(spec, table, bounds, todo, threads, finish)
        else:
            futures = {executor.submit(run_chunk, spec, table.slice(*bounds[k]), False): k
                       for k in todo}
            try:
                for fut in as_completed(futures):
                    finish(futures[fut], fut.result())
            except BaseException:
                for fut in futures:
                    fut.cancel()
                raise
    finally:
        if bar is not None:
            bar.close()
    stats = {"npoints": P, "nchunks": len(bounds), "chunk_size": chunk_size,
             "chunks_from_checkpoint": from_checkpoint,
             "chunks_rerun": dict(store.rerun) if store is not None else {},
             "mode": "local" if executor is None else type(executor).__name__,
             "threads": threads if executor is None else None,
             "seconds": time.perf_counter() - t0}
    return out.result(stats)


def _run_local(spec: SweepSpec, table: PointTable, bounds: Sequence[tuple[int, int]],
               todo: Iterable[int], threads: int | None,
               finish: Callable[[int, dict[str, Any]], None]) -> None:
    """Pack chunk k+1 in Python while the kernel (which releases the GIL) runs chunk k."""
    with ThreadPoolExecutor(max_workers=1) as runner:
        pending: tuple[int, Future[dict[str, Any]]] | None = None
        for k in todo:
            prepared = prepare_chunk(spec, table.slice(*bounds[k]))
            fut = runner.submit(execute_chunk, spec, prepared, True, threads)
            if pending is not None:
                finish(pending[0], pending[1].result())
            pending = (k, fut)
        if pending is not None:
            finish(pending[0], pending[1].result())


class _Assembly:
    """Result arrays, filled chunk by chunk (memory: points x kept metrics)."""

    def __init__(self, spec: SweepSpec, table: PointTable, metric_names: Sequence[str]) -> None:
        P = len(table)
        self.spec = spec
        self.table = table
        self.names = metric_names
        self.cols = [STEP_INFO_KEYS.index(k) for k in metric_names]
        self.metrics = {k: np.empty(P, dtype=bool if k == "Settled" else float)
                        for k in metric_names}
        self.status = np.empty(P, dtype=np.int8)
        self.failure_time = np.empty(P)
        self.nfev = np.empty(P, dtype=np.int64)
        self.messages: dict[int, str] = {}
        self.traj: dict[str, FloatArray] | None = {} if spec.keep_trajectories else None

    def add(self, s: int, res: dict[str, Any]) -> None:
        info = res["info"]
        e = s + info.shape[0]
        for k, c in zip(self.names, self.cols):
            self.metrics[k][s:e] = res["metrics"][:, c]
        self.status[s:e] = info[:, 0]
        self.failure_time[s:e] = info[:, 1]
        self.nfev[s:e] = nfev_from_count(self.spec.solver, info[:, 2])
        self.messages.update(messages_for(info, res["errors"], s, self.spec.solver,
                                          self.spec.t[-1]))
        if self.traj is not None:
            P = len(self.table)
            for name in ("states", "outputs", "u", "u_raw", "max_step"):
                arr = res[name]
                if name not in self.traj:
                    self.traj[name] = np.full((P,) + arr.shape[1:], np.nan)
                self.traj[name][s:e] = arr

    def result(self, stats: dict[str, Any]) -> SweepResult:
        return SweepResult(self.spec, self.table, self.metrics, self.status, self.failure_time,
                           self.nfev, dict(sorted(self.messages.items())), self.traj, stats)


def _build(plant: PlantLike, controller: ControllerLike,
           grid: Mapping[str, Any] | Points | Sequence[Mapping[str, Any]], timepts: ArrayLike,
           metric_options: Mapping[str, Any] | None, keep_trajectories: bool,
           reference: ArrayLike, disturbance: ArrayLike | None,
           initial_state: ArrayLike | None, params: Mapping[str, Any] | None,
           solver: Solver | None,
           controller_state: ArrayLike | None) -> tuple[SweepSpec, PointTable]:
    """Validate everything and return the spec and parameter table; no point runs here."""
    plant = as_plant(plant)
    controller = _check_controller(controller)
    plant, controller = _apply_params(plant, controller, params)
    _check_feedthrough(plant)
    t = _timepts(timepts)
    solver = _check_solver(solver)
    _initial_states(plant, controller, initial_state, controller_state)
    # the base reference and disturbance are validated (once) when the SweepSpec is built
    if not isinstance(keep_trajectories, bool):
        raise TypeError(f"keep_trajectories must be True or False, got {keep_trajectories!r}")
    table = PointTable(grid)
    cnames, pnames = set(controller.params), set(plant.params)
    unknown = [k for k in table.names if k not in cnames | pnames | set(SCENARIO_NAMES)]
    if unknown:
        raise ValueError(
            f"unknown grid name(s) {unknown}; the controller accepts {sorted(cnames)}, the "
            f"plant {sorted(pnames)}, the scenario {list(SCENARIO_NAMES)}")
    scenario = tuple(k for k in table.names if k in SCENARIO_NAMES)
    for k in scenario:
        col = table.columns[k]
        if col.dtype != object:  # numeric columns share one shape: check it once, up front
            check = {"initial_state": lambda v: _initial_states(plant, controller, v, None),
                     "controller_state": lambda v: _initial_states(plant, controller, None, v),
                     "reference": lambda v: _signal("reference", v, 1, t),
                     "disturbance": lambda v: _signal("disturbance", v,
                                                      max(plant.ndisturbances, 1), t)}[k]
            try:
                check(col[0])
            except ValueError as exc:
                raise ValueError(f"grid[{k!r}]: {exc}") from None
    opts = dict(metric_options or {})
    bad = sorted(set(opts) - set(_METRIC_OPTION_NAMES))
    if bad:
        raise ValueError(f"unknown metric_options {bad}; allowed: {list(_METRIC_OPTION_NAMES)}")
    output = opts.pop("output", 0)
    labels = list(plant.output_labels)
    if isinstance(output, str):
        if output not in labels:
            raise ValueError(f"metric_options['output'] = {output!r} is not a plant output; "
                             f"outputs: {labels}")
        output = labels.index(output)
    if isinstance(output, bool) or not isinstance(output, int | np.integer) or \
            not 0 <= output < plant.noutputs:
        raise ValueError(f"metric_options['output'] must be a plant output index in "
                         f"[0, {plant.noutputs}) or one of {labels}, got {output!r}")
    spec = SweepSpec(
        plant=plant, controller=controller, t=t, reference=reference, disturbance=disturbance,
        initial_state=initial_state, controller_state=controller_state, solver=solver,
        param_names=tuple(k for k in table.names if k not in SCENARIO_NAMES),
        scenario_names=scenario, metric_options=_metric_options(**opts),
        output_index=int(output),
        has_loop=bool(has_error_output(plant, controller) and plant.ninputs == 1),
        keep_trajectories=keep_trajectories)
    return spec, table


def _metric_names(metrics: str | Iterable[str]) -> list[str]:
    if isinstance(metrics, str):
        metrics = (metrics,)
    if isinstance(metrics, dict) or not hasattr(metrics, "__iter__"):
        raise TypeError(f"metrics must be a metric name or a sequence of them, got "
                        f"{metrics!r}; available: {list(STEP_INFO_KEYS)}")
    names = list(metrics)
    bad = [k for k in names if not isinstance(k, str) or k not in STEP_INFO_KEYS]
    if bad:
        raise ValueError(f"unknown metric(s) {bad} in metrics; available: "
                         f"{list(STEP_INFO_KEYS)}")
    if not names:
        raise ValueError(f"metrics must name at least one metric; available: "
                         f"{list(STEP_INFO_KEYS)}")
    return list(dict.fromkeys(names))


def _check_threads(threads: int | None) -> int | None:
    if threads is None:
        return None
    import numba

    top = numba.config.NUMBA_NUM_THREADS
    if isinstance(threads, bool) or not isinstance(threads, int | np.integer) or \
            not 1 <= threads <= top:
        raise ValueError(f"threads must be an integer in [1, {top}] (numba's thread pool), "
                         f"got {threads!r}")
    return int(threads)


def _tqdm() -> Any:
    try:
        from tqdm.auto import tqdm
    except ImportError:
        raise ImportError("progress=True needs tqdm: pip install 'leaky-control[progress]'") \
            from None
    return tqdm
