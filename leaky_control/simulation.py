"""Closed-loop simulation of a plant under a leaky controller, returning python-control data.

``simulate`` prepares a run (:func:`prepare`: the models' records, signals, initial state and
solver options, shared with the sweeps), runs the kernel specialised to the plant, the
controller and the solver, and returns a real :class:`control.TimeResponseData` (signals
first, time last) so ``.plot()``, ``.to_pandas()`` and :func:`control.step_info` work
unchanged.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from numbers import Real
from typing import TYPE_CHECKING, Any, cast

import control as ct
import numpy as np

from ._dispatch import model_of
from ._memory import available_memory
from ._probe import probe_models
from ._validate import as_finite_array, check_finite_scalar
from .controllers.base import Controller
from .plants import as_plant
from .response import loop_response
from .solvers import RK4
from .solvers.base import Solver
from .solvers.kernels import kernel
from .status import status_message

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

    from ._typing import ControllerLike, FloatArray, PlantLike
    from .plants.base import Plant
    from .response import LoopResponse
    from .solvers.fixed import _FixedStep

__all__ = ["closed_loop_nlsys", "simulate", "step_response"]

_DEFAULT_NPTS = 1001


def _timepts(timepts: ArrayLike) -> FloatArray:
    if isinstance(timepts, Real) and not isinstance(timepts, bool):
        tf = check_finite_scalar("timepts", timepts, low=0.0, low_open=True)
        if tf < 1e-190:  # its 1000 steps would be subnormal: see the spacing check below
            raise ValueError(f"timepts (a final time) must be at least 1e-190 s, got {tf!r}")
        return np.linspace(0.0, tf, _DEFAULT_NPTS)
    if isinstance(timepts, np.ndarray) and timepts.dtype == np.float64 and timepts.ndim == 1 \
            and timepts.size >= 2 and timepts.flags.c_contiguous:
        # one pass for the common case: finite ends and positive steps imply every entry is
        # finite (an inf or NaN inside makes some step non-positive or NaN)
        if math.isfinite(timepts[0]) and math.isfinite(timepts[-1]):
            ends = max(abs(timepts[0]), abs(timepts[-1]))
            if (timepts[1:] - timepts[:-1]).min() > max(8 * np.spacing(ends), 1e-200):
                return timepts
    t = as_finite_array("timepts", timepts, ndim=1)
    if t.size < 2:
        raise ValueError(f"timepts must hold at least 2 points, got {t.size}")
    steps = np.diff(t)
    if not np.all(steps > 0):
        i = int(np.argmin(steps > 0))
        raise ValueError(
            f"timepts must be strictly increasing; timepts[{i + 1}]={float(t[i + 1])!r} <= "
            f"timepts[{i}]={float(t[i])!r}")
    # steps are computed as differences and quotients of times: a spacing at the level of
    # rounding (or subnormal) would make them zero or infinite
    tiny = 8 * np.spacing(np.maximum(np.abs(t[:-1]), np.abs(t[1:])))
    if not np.all(steps > np.maximum(tiny, 1e-200)):
        i = int(np.argmin(steps > np.maximum(tiny, 1e-200)))
        raise ValueError(
            f"timepts must be spaced well above rounding; timepts[{i}]={float(t[i])!r} and "
            f"timepts[{i + 1}]={float(t[i + 1])!r} are {float(steps[i])!r} apart")
    return t


def _signal(name: str, value: ArrayLike | None, nchan: int, t: FloatArray) -> FloatArray:
    """Scalar, per-channel vector, (T,) or (nchan, T) array -> (nchan, T) float64."""
    T = t.size
    if value is None:
        return np.zeros((nchan, T))
    arr = as_finite_array(name, value)
    if arr.ndim == 0:
        return np.full((nchan, T), float(arr))
    if arr.ndim == 1 and arr.size == T and nchan == 1:
        return arr.reshape(1, T)  # read-only use: the kernels never write their signals
    if arr.ndim == 1 and arr.size == nchan:
        return np.repeat(arr[:, None], T, axis=1)
    if arr.ndim == 2 and arr.shape == (nchan, T):
        return np.ascontiguousarray(arr)
    raise ValueError(
        f"{name} must be a scalar, {nchan} value(s), or an array of shape ({nchan}, {T}) "
        f"over timepts, got shape {arr.shape}"
    )


#: runs needing less than this are not checked against the memory available (64 MiB: numpy
#: would refuse such an allocation at once, not after minutes of work)
_ASK_MEMORY_ABOVE = 2**26


def _check_memory(T: int, plant: Plant, controller: Controller) -> None:
    """Refuse, before any work, a run whose arrays would not fit in memory."""
    n, m, q, p = plant.nstates + controller.nstates, plant.ninputs, plant.ndisturbances, \
        plant.noutputs
    # float64 rows over T: kernel outputs (states, outputs, u, u_raw), signals (r, d), and the
    # response's copies (applied u, loop signals, e); twice for the transposes numpy makes
    need = 8 * T * 2 * (n + p + 2 * m + 1 + q + 2 * m + 1)
    if need < _ASK_MEMORY_ABOVE:  # keep the OS query (file reads) off the common path
        return
    have = available_memory()
    if have is not None and need > have:
        raise ValueError(
            f"timepts holds {T} points: the run's arrays need about {need / 2**30:.3g} GiB, more "
            f"than the {have / 2**30:.3g} GiB available; use fewer output points (the solvers "
            "step independently of them)")


def _disturbance(plant: Plant, value: ArrayLike | None, t: FloatArray) -> FloatArray:
    """The disturbance signal; a nonzero one for a plant without disturbance inputs is an
    error, not something to drop."""
    d = _signal("disturbance", value, max(plant.ndisturbances, 1), t)
    if plant.ndisturbances == 0 and np.any(d != 0):
        raise ValueError(
            f"disturbance was given ({value!r}) but {type(plant).__name__} has no disturbance "
            "inputs (ndisturbances = 0); leave it out, or give the plant a disturbance input")
    return d


def _apply_params(plant: Plant, controller: Controller,
                  params: Mapping[str, Any] | None) -> tuple[Plant, Controller]:
    if params is None:
        return plant, controller
    if not isinstance(params, dict):
        raise TypeError(f"params must be a dict of parameter names to values, got {type(params).__name__}")
    if not params:
        return plant, controller
    cnames, pnames = set(controller.params), set(plant.params)
    unknown = set(params) - cnames - pnames
    if unknown:
        raise ValueError(
            f"unknown parameter(s) {sorted(unknown)}; controller accepts {sorted(cnames)}, "
            f"plant accepts {sorted(pnames)}"
        )
    cch = {k: v for k, v in params.items() if k in cnames}
    pch = {k: v for k, v in params.items() if k in pnames and k not in cnames}
    return (plant.replace(**pch) if pch else plant), (controller.replace(**cch) if cch else controller)


def _check_controller(controller: object) -> Controller:
    if controller is None:
        from .controllers.open_loop import OpenLoop

        return OpenLoop()
    if isinstance(controller, Controller):
        return controller
    # python-control LTI systems become LeakyLTI(sys, negative_slope=1.0): the linear law as
    # designed; anything else is refused there, by name, with what is accepted
    from .controllers.lti import as_controller

    return as_controller(controller)


def _check_feedthrough(plant: Plant) -> None:
    D = getattr(plant, "D", None)
    if D is not None and np.any(D != 0):
        raise ValueError(
            "plant has direct feedthrough (D != 0) from the control input to the output, which "
            "with a nonlinear controller is an algebraic loop; use a strictly proper plant"
        )


def _plant_jacobian_at(plant: Plant,
                       x0: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    return plant.jacobian(x0, np.zeros(plant.ninputs), np.zeros(plant.ndisturbances))


def _default_max_step(plant: Plant, controller: Controller, x0: FloatArray, t: FloatArray,
                      jacobian: tuple[FloatArray, FloatArray, FloatArray] | None = None
                      ) -> float:
    """A step that resolves the fastest closed-loop mode: 0.2 / (spectral radius of the loop's
    Jacobian at the initial point, over both slopes a and 1), capped by the output spacing.
    ``jacobian``: the plant's ``(Jx, Ju, Cx)`` at ``x0`` when already known (sweeps reuse it
    across points that share the plant and the initial state)."""
    spacing = float(np.min(np.diff(t)))
    try:
        Jx, Ju, Cx = _plant_jacobian_at(plant, x0) if jacobian is None else jacobian
        rates = [np.max(np.abs(np.linalg.eigvals(Jx)))] if Jx.size else [0.0]
        # an adaptive slope can take any value in its bounds; a fixed one stays at a
        G = controller.linear_gain(plant, Cx)
        for s in controller.slope_bounds:
            Jcl = Jx - s * Ju @ G
            rates.append(np.max(np.abs(np.linalg.eigvals(Jcl))))
        rates += controller.fast_rates(Ju, Cx)
        rho = max(rates)
    except (np.linalg.LinAlgError, ValueError, TypeError):
        rho = 0.0
    if controller.sampled:
        spacing = min(spacing, cast("float", controller.dt))  # sampled: dt is a number
    return spacing if not rho > 0 else min(spacing, 0.2 / rho)


def _check_step_budget(solver: _FixedStep, controller: Controller, t: FloatArray,
                       max_step: float) -> float:
    """Refuse, before it starts, a fixed-step run that would take more than ``max_steps``."""
    steps = solver.planned_steps(t, max_step, controller.dt if controller.sampled else None)
    if steps <= solver.max_steps:
        return steps
    name = type(solver).__name__
    span = float(t[-1] - t[0])
    by_steps = span / max_step if span / 1e300 < max_step else math.inf
    if getattr(solver, "substeps", 1) * (t.size - 1) > 2 * by_steps:
        hint = f"lower substeps (now {solver.substeps}) or max_steps' limit"
    elif solver.max_step is None:
        hint = (f"shorten timepts (now {span:.6g} s), or: the default step {max_step:.3g} s "
                f"resolves the loop's fastest mode ({0.2 / max_step:.3g}/s); if the loop also "
                "has slow modes it is stiff: use solver=lc.Rosenbrock23() (or lc.Dopri5()), or "
                f"give {name}(max_step=..., max_steps=...) explicitly")
    else:
        hint = ("shorten timepts, raise max_step or max_steps, or use an adaptive solver "
                "(lc.Dopri5())")
    raise ValueError(
        f"{name} would take about {steps:.3g} steps (max_step = {max_step:.3g} s over "
        f"{span:.6g} s), more than max_steps = {solver.max_steps}: {hint}")


def simulate(plant: PlantLike, controller: ControllerLike, timepts: ArrayLike,
             reference: ArrayLike = 0.0, disturbance: ArrayLike | None = None,
             initial_state: ArrayLike | None = None, params: Mapping[str, Any] | None = None,
             solver: Solver | None = None,
             controller_state: ArrayLike | None = None) -> LoopResponse:
    """Simulate ``plant`` in feedback with ``controller``.

    Parameters
    ----------
    plant : Plant, control.StateSpace, control.TransferFunction or (A, B, C, D)
        See :func:`leaky_control.plants.as_plant`.
    controller : Controller, control.TransferFunction, control.StateSpace or None
        Any :class:`~leaky_control.controllers.Controller` (LeakyP/PI/PD/PID, LeakyLTI,
        LeakyStateFeedback, AdaptivePReLU, LeakyMLP, or your own subclass); a SISO
        python-control LTI controller acting on ``e = r - y`` (continuous, or discrete: sampled
        with zero-order hold) runs as ``LeakyLTI(sys, negative_slope=1.0)``, its linear law;
        ``None`` runs the plant open loop with ``reference`` as its input (:class:`OpenLoop`).
    timepts : array_like or float
        Strictly increasing output times, or a final time (1001 points from 0).
    reference : float or array_like, default 0.0
        Reference ``r``: a scalar or values on ``timepts``, linearly interpolated in between.
    disturbance : float or array_like, optional
        Disturbance ``d`` (one row per plant disturbance input), same conventions.
    initial_state : array_like, optional
        Plant initial state (default zeros).
    params : dict, optional
        Overrides of controller or plant parameters by name (e.g. ``{"negative_slope": 0}``).
    solver : Solver, optional
        Integration method; default ``RK4()`` with a step chosen from the loop's fastest mode.
        ``Dopri5(rtol=..., atol=...)`` and ``Tsit5(...)`` choose their steps by error control;
        ``Rosenbrock23(...)`` is for stiff loops.
    controller_state : array_like, optional
        Initial controller states (integrator, derivative filter, adaptive slope); default
        zeros, except an adaptive slope, which starts at the controller's ``a0``.

    Returns
    -------
    LoopResponse
        A :class:`control.TimeResponseData` of the loop: outputs the plant outputs
        (one-dimensional for a single output, as python-control's SISO responses, so
        ``control.step_info(resp.outputs, resp.time)`` works), states plant then controller,
        inputs ``r`` and the disturbances. The inner signals are in ``resp.loop`` (outputs
        ``u``, the input reaching the plant after the controller's and the plant's saturation,
        ``u_raw``, the command before saturation, and ``e = r - y`` for error feedback);
        ``resp.signal(name)`` reads any of them. ``success`` is False, with a ``message``
        naming the time, when the run went non-finite; later samples are NaN.
        ``resp.stats`` holds ``nsteps`` and ``nfev``.
    """
    run = prepare(plant, controller, timepts, reference, disturbance, initial_state, params,
                  solver, controller_state)
    return _response(run, *execute(run))


@dataclass(frozen=True)
class PreparedRun:
    """Everything one kernel call needs, validated (made by :func:`prepare`).

    Attributes
    ----------
    plant, controller, solver
        The models and the solver description.
    t, r, d : numpy.ndarray
        Output times ``(T,)``, reference ``(1, T)`` and disturbances ``(q, T)``.
    x0 : numpy.ndarray
        Closed-loop initial state: plant, then controller.
    P, C, S : tuple
        The plant's, controller's and solver's records.
    opts : numpy.ndarray
        The solver's runtime options.
    max_step : float
        The fixed step in use (NaN for adaptive solvers).
    steps : float
        Planned steps (fixed step) or the step budget (adaptive): long runs are interruptible.
    """

    plant: Plant
    controller: Controller
    solver: Solver
    t: np.ndarray
    r: np.ndarray
    d: np.ndarray
    x0: np.ndarray
    P: tuple
    C: tuple
    S: tuple
    opts: np.ndarray
    max_step: float
    steps: float = 0.0


def prepare(plant: PlantLike, controller: ControllerLike, timepts: ArrayLike,
            reference: ArrayLike = 0.0, disturbance: ArrayLike | None = None,
            initial_state: ArrayLike | None = None, params: Mapping[str, Any] | None = None,
            solver: Solver | None = None,
            controller_state: ArrayLike | None = None) -> PreparedRun:
    """Validate a run's inputs and build the kernel's arguments (shared by ``simulate``).

    Parameters are those of :func:`simulate`.

    Returns
    -------
    PreparedRun
    """
    plant = as_plant(plant)
    controller = _check_controller(controller)
    plant, controller = _apply_params(plant, controller, params)
    _check_feedthrough(plant)
    t = _timepts(timepts)
    solver = _check_solver(solver)
    _check_memory(t.size, plant, controller)
    if not solver.adaptive and t.size - 1 > solver.max_steps:
        # at least one step per output interval: refuse before touching T-sized arrays
        raise ValueError(
            f"timepts holds {t.size} points and {type(solver).__name__} takes at least one step "
            f"per interval, more than max_steps = {solver.max_steps}: use fewer output points "
            "or raise max_steps")
    x0, xc0 = _initial_states(plant, controller, initial_state, controller_state)
    r = _signal("reference", reference, 1, t)
    d = _disturbance(plant, disturbance, t)
    return prepare_point(plant, controller, solver, t, r, d, x0, xc0)


def prepare_point(plant: Plant, controller: Controller, solver: Solver, t: FloatArray,
                  r: FloatArray, d: FloatArray, x0: FloatArray, xc0: FloatArray,
                  jacobian: tuple[FloatArray, FloatArray, FloatArray] | None = None
                  ) -> PreparedRun:
    """:func:`prepare` after validation (the sweeps call it per point).

    ``jacobian``: the plant's ``(Jx, Ju, Cx)`` at ``x0`` when already known.
    """
    C = controller.record(plant)
    P = plant.record()
    model_of(P), model_of(C)  # a record no model owns is refused here, by name
    probe_models(plant, controller, P, C, x0, xc0)
    if solver.adaptive:
        max_step = math.nan
    else:
        fixed = cast("_FixedStep", solver)  # not adaptive: RK4 or Euler
        max_step = fixed.max_step if fixed.max_step is not None else \
            _default_max_step(plant, controller, x0, t, jacobian)
        steps = _check_step_budget(fixed, controller, t, max_step)
    return PreparedRun(plant, controller, solver, t, r, d, np.concatenate([x0, xc0]), P, C,
                       solver.record(), solver.options(max_step), max_step,
                       solver.max_steps if solver.adaptive else steps)


def execute(run: PreparedRun) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray,
                                       FloatArray]:
    """Run the kernel of a :class:`PreparedRun`; returns ``(out_x, out_y, out_u, out_uraw,
    info)``."""
    plant, controller = run.plant, run.controller
    T = run.t.size
    out_x = np.empty((T, run.x0.size))
    out_y = np.empty((T, plant.noutputs))
    out_u = np.empty((T, plant.ninputs))
    out_uraw = np.empty((T, plant.ninputs))
    info = np.zeros(5)
    args = (run.S, run.P, run.C, plant.nstates, int(controller.sampled),
            float(controller.dt or 0.0), run.t, run.r, run.d, run.x0, run.opts, out_x, out_y,
            out_u, out_uraw, info)
    if run.steps > INTERRUPTIBLE_STEPS:
        _run_interruptibly(kernel_of(run), args, run.opts)
    else:
        kernel_of(run)(*args)
    return out_x, out_y, out_u, out_uraw, info


#: runs that may take more steps than this run in a worker thread, so that Ctrl-C stops them
#: (a compiled kernel never returns to the interpreter to see the signal); below it, the
#: thread's start would cost more than a run takes (~0.1 s)
INTERRUPTIBLE_STEPS = 200_000


def _run_interruptibly(fn: Callable[..., Any], args: Sequence[Any], opts: FloatArray) -> None:
    """Call the kernel ``fn(*args)`` in a thread (it releases the GIL) while the main thread
    waits where ``KeyboardInterrupt`` can reach it; on Ctrl-C set the kernel's stop option
    (the last of ``opts``, read once per step or output interval), wait for it to return, and
    re-raise."""
    errors: list[BaseException] = []

    def target() -> None:
        try:
            fn(*args)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller below
            errors.append(exc)

    worker = threading.Thread(target=target, name="leaky_control kernel", daemon=True)
    worker.start()
    try:
        while worker.is_alive():
            worker.join(0.05)
    except KeyboardInterrupt:
        opts[opts.size - 1] = 1.0
        worker.join()
        raise
    if errors:
        raise errors[0]


def kernel_of(run: PreparedRun) -> Any:
    """The kernel dispatcher that :func:`execute` calls for ``run``: the solver's body
    specialised to the plant and the controller (its ``stats`` tell cache hits from
    compilations)."""
    solver, plant, ctrl = _models(run)
    # nogil: a long run executes in a worker thread, see _run_interruptibly
    return kernel(solver.run, solver, plant, ctrl, nogil=True)


def _models(run: PreparedRun) -> tuple[Any, Any, Any]:
    return model_of(run.S), model_of(run.P), model_of(run.C)


def _initial_states(plant: Plant, controller: Controller, initial_state: ArrayLike | None,
                    controller_state: ArrayLike | None) -> tuple[FloatArray, FloatArray]:
    n, nc = plant.nstates, controller.nstates
    x0 = np.zeros(n) if initial_state is None else as_finite_array(
        "initial_state", np.atleast_1d(initial_state), shape=(n,))
    xc0 = np.array(controller.initial_state, dtype=float) \
        if controller_state is None else as_finite_array(
        "controller_state", np.atleast_1d(controller_state), shape=(nc,))
    return x0, xc0


def _check_solver(solver: Solver | None) -> Solver:
    if solver is None:
        return RK4()
    if not isinstance(solver, Solver):
        raise TypeError(f"solver must be a leaky_control solver (RK4(...), Euler(...), "
                        f"Dopri5(...), ...), got {solver!r}")
    return solver


def _response(run: PreparedRun, out_x: FloatArray, out_y: FloatArray, out_u: FloatArray,
              out_uraw: FloatArray, info: FloatArray) -> LoopResponse:
    """Wrap kernel outputs as ``simulate`` returns them (shared with sweep results)."""
    plant, controller, solver, t, r, d = (run.plant, run.controller, run.solver, run.t, run.r,
                                          run.d)
    m, q = plant.ninputs, plant.ndisturbances
    lo, hi = plant.actuator_limits()
    # np.clip's result, without its Python-level overhead
    u_applied = np.minimum(np.maximum(out_u, lo), hi)
    success = info[0] == 0
    message = status_message(int(info[0]), info[1], solver, t[-1])
    e = (r[0] - out_y[:, 0])[None, :] if has_error_output(plant, controller) else None
    resp = loop_response(
        t, out_y.T, out_x.T, r, d[:q] if q else None, u_applied.T, out_uraw.T, e,
        output_labels=plant.output_labels,
        state_labels=list(plant.state_labels) + list(controller.state_labels),
        input_labels=["r"] + list(plant.disturbance_labels[:q]),
        u_labels=["u"] if m == 1 else [f"u[{i}]" for i in range(m)],
        raw_labels=["u_raw"] if m == 1 else [f"u_raw[{i}]" for i in range(m)],
        sysname=f"{getattr(plant, 'name', None) or 'plant'} + {controller.name}",
        params={**controller.params, **plant.params}, success=bool(success), message=message)
    resp.stats = solver.stats(info, run.max_step)
    resp.controller = controller
    resp.plant = plant
    return resp


def nfev_from_count(solver: Solver, count: int) -> int:
    """Right-hand-side evaluations from the kernel's count ``info[2]`` (steps for the
    fixed-step solvers, evaluations for adaptive ones); ``count`` may be an array."""
    return count if solver.adaptive else count * cast("_FixedStep", solver).stages


def has_error_output(plant: Plant, controller: Controller) -> bool:
    """True when a response carries the error ``e = r - y`` (single-output error feedback)."""
    return plant.noutputs == 1 and controller.error_feedback


def step_response(plant: PlantLike, controller: ControllerLike,
                  timepts: ArrayLike | None = None, *, amplitude: float = 1.0,
                  **keywords: Any) -> LoopResponse:
    """Response to a reference step of ``amplitude`` at ``t = 0`` from rest.

    Parameters
    ----------
    plant, controller
        As in :func:`simulate`.
    timepts : array_like or float, optional
        Output times or final time; default ten times the slowest time constant of the
        linear (``a = 1``) loop at the initial point, at least 1.
    amplitude : float, default 1.0
        Step size.
    **keywords
        Passed to :func:`simulate` (``disturbance``, ``initial_state``, ``params``, ``solver``).

    Returns
    -------
    control.TimeResponseData
    """
    amplitude = check_finite_scalar("amplitude", amplitude)
    if "reference" in keywords:
        raise TypeError("step_response sets the reference itself; use amplitude= or simulate()")
    if timepts is None:
        plant_ = as_plant(plant)
        # the controller as simulate takes it: None and python-control systems included
        timepts = _default_final_time(plant_, _check_controller(controller))
    return simulate(plant, controller, timepts, reference=amplitude, **keywords)


def _default_final_time(plant: Plant, controller: Controller) -> float:
    try:
        x0 = np.zeros(plant.nstates)
        Jx, Ju, Cx = plant.jacobian(x0, np.zeros(plant.ninputs), np.zeros(plant.ndisturbances))
        Jcl = Jx - Ju @ controller.linear_gain(plant, Cx)
        re = -np.real(np.linalg.eigvals(Jcl))
        re = re[re > 1e-9]
        re = np.append(re, controller.slow_rates())
        tf = 10.0 / np.min(re) if re.size else 10.0
    except (np.linalg.LinAlgError, ValueError, TypeError):
        tf = 10.0
    return float(min(max(tf, 1.0), 1e4))


def closed_loop_nlsys(plant: PlantLike, controller: ControllerLike,
                      name: str = "closed_loop") -> Any:
    """The same loop as :func:`simulate` built with :func:`control.interconnect`.

    This is the slow, independent reference: ``plant.to_nlsys()`` (with ``full_state=True``
    for a state-feedback controller) and ``controller.to_nlsys(plant)`` as numpy
    ``NonlinearIOSystem`` objects, joined by python-control by signal name. Inputs ``r`` and
    the disturbances; outputs the plant outputs, then the controller's outputs (the plant's
    control inputs, saturated by the controller, and ``u_raw``).

    Parameters
    ----------
    plant, controller
        As in :func:`simulate` (continuous-time controllers only).
    name : str

    Returns
    -------
    control.InterconnectedSystem
    """
    plant = as_plant(plant)
    controller = _check_controller(controller)
    _check_feedthrough(plant)
    if controller.sampled:
        raise ValueError("python-control cannot interconnect a sampled controller with a continuous plant")
    psys = plant.to_nlsys(name="plant", full_state=not controller.error_feedback)
    to_nlsys = getattr(controller, "to_nlsys", None)
    if to_nlsys is None:  # OpenLoop (controller=None), or a user's model without one
        raise TypeError(
            f"closed_loop_nlsys needs a controller with a python-control form (to_nlsys); "
            f"{type(controller).__name__} has none. The library's LeakyP/PI/PD/PID, "
            "LeakyStateFeedback, AdaptivePReLU, LeakyMLP and LeakyLTI have one")
    csys = to_nlsys(plant, name="ctrl", raw=True)
    _, couts = controller.signal_labels(plant)
    return ct.interconnect(
        [psys, csys], inplist=["r"] + list(plant.disturbance_labels),
        outlist=list(plant.output_labels) + couts, name=name)
