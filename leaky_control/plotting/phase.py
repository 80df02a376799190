"""Phase portraits of two-state leaky loops: vector field, simulated trajectories, equilibria
and the switching line where the leaky ReLU has its kink.

The vector field is evaluated on the reference model of the loop,
:func:`leaky_control.closed_loop_nlsys` (python-control's interconnection of the plant and the
controller); the trajectories are the package's own simulations (:func:`leaky_control.simulate`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import control as ct
import numpy as np
from numpy.typing import ArrayLike, NDArray

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["closed_loop_field", "phase_portrait"]


def _check_box(box: Any) -> tuple[float, float, float, float]:
    try:
        vals = [float(v) for v in box]
    except (TypeError, ValueError):
        raise TypeError(f"box must be four numbers (x1_min, x1_max, x2_min, x2_max), "
                        f"got {box!r}") from None
    if len(vals) != 4 or not all(math.isfinite(v) for v in vals):
        raise ValueError(f"box must be four finite numbers (x1_min, x1_max, x2_min, x2_max), "
                         f"got {box!r}")
    if not (vals[0] < vals[1] and vals[2] < vals[3]):
        raise ValueError(f"box must have x1_min < x1_max and x2_min < x2_max, got {box!r}")
    return vals[0], vals[1], vals[2], vals[3]


def _check_count(name: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def _loop(plant: Any, controller: Any) -> tuple[Any, Any, Any]:
    from ..plants import as_plant
    from ..simulation import closed_loop_nlsys

    plant = as_plant(plant)
    if controller is None:
        raise TypeError("controller must be a leaky_control controller, got None")
    if getattr(controller, "dt", None) is not None:
        raise ValueError(f"controller must be continuous-time for a phase portrait, got "
                         f"dt={controller.dt!r} (a sampled loop has no vector field)")
    n = plant.nstates + int(getattr(controller, "nstates", 0))
    if n != 2:
        raise ValueError(f"a phase portrait needs a loop with 2 states; plant "
                         f"({plant.nstates}) + controller ({getattr(controller, 'nstates', 0)}) "
                         f"states = {n}")
    return plant, controller, closed_loop_nlsys(plant, controller)


def closed_loop_field(plant: Any, controller: Any, reference: float = 0.0
                      ) -> Callable[[NDArray[np.float64]], NDArray[np.float64]]:
    """The vector field ``x -> dx/dt`` of a two-state loop (plant states, then controller states).

    Parameters
    ----------
    plant : Plant, control.StateSpace, control.TransferFunction or tuple
        See :func:`leaky_control.plants.as_plant`.
    controller : Controller
        Continuous-time leaky controller; plant and controller states must total 2.
    reference : float, default 0.0
        Constant reference ``r``; disturbances are zero.

    Returns
    -------
    callable
        ``f(x)`` for ``x`` of shape (2,), returning an array of shape (2,).

    Raises
    ------
    ValueError
        If the loop does not have exactly two states or the controller is sampled.
    """
    r = _check_reference(reference)
    plant, _, sys = _loop(plant, controller)
    inputs = np.concatenate([[r], np.zeros(plant.ndisturbances)])

    def field(x: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.asarray(sys.dynamics(0.0, np.asarray(x, dtype=float), inputs), dtype=float)

    return field


def _check_reference(reference: Any) -> float:
    try:
        r = float(reference)
    except (TypeError, ValueError):
        raise TypeError(f"reference must be a number, got {reference!r}") from None
    if not math.isfinite(r):
        raise ValueError(f"reference must be finite, got {reference!r}")
    return r


def _boundary_points(box: tuple[float, float, float, float], per_side: int
                     ) -> NDArray[np.float64]:
    x0, x1, y0, y1 = box
    s = np.linspace(0.0, 1.0, per_side + 1)[:-1]
    pts = [(x0 + (x1 - x0) * t, y0) for t in s] + [(x1, y0 + (y1 - y0) * t) for t in s] \
        + [(x1 - (x1 - x0) * t, y1) for t in s] + [(x0, y1 - (y1 - y0) * t) for t in s]
    return np.array(pts)


def _equilibria(field: Callable[[NDArray[np.float64]], NDArray[np.float64]],
                starts: NDArray[np.float64], box: tuple[float, float, float, float]
                ) -> NDArray[np.float64]:
    from scipy.optimize import root

    x0, x1, y0, y1 = box
    scale = np.array([x1 - x0, y1 - y0])
    fscale = max(float(np.max(np.abs(field(s)))) for s in starts) or 1.0
    found: list[NDArray[np.float64]] = []
    for s in starts:
        sol = root(field, s, method="hybr")
        x = np.asarray(sol.x, dtype=float)
        if not np.all(np.isfinite(x)):
            continue
        inside = x0 <= x[0] <= x1 and y0 <= x[1] <= y1
        # a piecewise-linear field is solved exactly by hybr; 1e-9 of the field's size is a root
        if inside and np.max(np.abs(field(x))) <= 1e-9 * fscale and not any(
                np.all(np.abs(x - q) <= 1e-3 * scale) for q in found):
            found.append(x)
    return np.array(found).reshape(-1, 2)


def _switching_signal(plant: Any, controller: Any, r: float
                      ) -> tuple[Callable[[NDArray[np.float64]], float], str, str] | None:
    """The argument of the controller's leaky ReLU as a function of the loop state, its name
    and a short name.

    The argument, not the controller's output: the output bends at the kink, so the zero of
    its grid interpolation would be off the true line; the argument is affine there.
    """
    import dataclasses

    from ..controllers import LeakyLTI, LeakyPID, LeakyStateFeedback
    from ..simulation import closed_loop_nlsys

    inputs = np.concatenate([[r], np.zeros(plant.ndisturbances)])
    twin_needed = isinstance(controller, LeakyStateFeedback | LeakyLTI) or (
        isinstance(controller, LeakyPID) and controller.shape == "output")
    if twin_needed and plant.ninputs == 1:
        # the same controller with a = 1 outputs (before saturation) the argument of phi_a
        twin = closed_loop_nlsys(plant, dataclasses.replace(controller, negative_slope=1.0))

        def argument(x: NDArray[np.float64]) -> float:
            return float(np.asarray(twin.output(0.0, x, inputs), dtype=float)[-1])

        return argument, "u_raw (at a = 1)", "u_raw"
    if bool(getattr(controller, "error_feedback", False)) and not twin_needed:
        sys = closed_loop_nlsys(plant, controller)

        def error(x: NDArray[np.float64]) -> float:
            # outputs: the plant outputs first; the loop's error is r minus the first
            return r - float(np.asarray(sys.output(0.0, x, inputs), dtype=float)[0])

        return error, "e = r - y", "e"
    return None


def phase_portrait(
    plant: Any,
    controller: Any,
    box: Sequence[float] | None = None,
    *,
    initial_states: ArrayLike | None = None,
    reference: float = 0.0,
    final_time: float | None = None,
    grid: int = 21,
    per_side: int = 3,
    solver: Any = None,
    ax: Axes | None = None,
    labels: Sequence[str] | None = None,
    title: str | None = None,
) -> ct.ControlPlot:
    r"""Phase portrait of a two-state leaky loop: field, trajectories, equilibria and the kink.

    Draws over ``box`` the normalised vector field of the closed loop (grey arrows, direction
    only), trajectories simulated with :func:`leaky_control.simulate` from ``initial_states``
    (default: points on the box boundary), the equilibria (roots of the field inside the box,
    black dots) and the switching line where the leaky ReLU changes slope (dashed): for the
    PID family (error shape) the line ``e = r - y = 0``; for ``LeakyStateFeedback``,
    ``LeakyLTI`` and output-shaped PIDs with one input the zero of the leaky ReLU's argument
    (the output of the same controller at ``a = 1``); none for other controllers.

    Parameters
    ----------
    plant : Plant, control.StateSpace, control.TransferFunction or tuple
        See :func:`leaky_control.plants.as_plant`.
    controller : Controller
        Continuous-time leaky controller (``LeakyP``, ``LeakyPI``, ``LeakyStateFeedback``, ...);
        plant and controller states must total 2 (closed-loop state: plant states, then
        controller states).
    box : sequence of 4 float, optional
        ``(x1_min, x1_max, x2_min, x2_max)``; default the trajectories' bounding box, padded.
        Required when ``initial_states`` is not given.
    initial_states : array_like, shape (N, 2), optional
        Closed-loop initial states of the trajectories; default ``per_side`` points per side
        of the box boundary.
    reference : float, default 0.0
        Constant reference ``r``; disturbances are zero.
    final_time : float, optional
        Simulated time per trajectory (s); default ten time constants of the slowest mode of
        the linearised loop (as :func:`leaky_control.step_response` picks it).
    grid : int, default 21
        Arrows per axis of the vector field (>= 2).
    per_side : int, default 3
        Initial states per side of the box when ``initial_states`` is not given (>= 1).
    solver : Solver, optional
        Integration method; default ``Dopri5(rtol=1e-8, atol=1e-10)``.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; default a new figure.
    labels : sequence of 2 str, optional
        Axis labels; default the plant's (and controller's) state labels.
    title : str, optional
        Axes title; default names the loop.

    Returns
    -------
    control.ControlPlot
        ``lines`` is a 1-D object array as in :func:`control.phase_plane_plot`: ``lines[0]``
        the trajectories (list of Line2D), ``lines[1]`` the vector field (Quiver), ``lines[2]``
        the equilibria (list of Line2D), ``lines[3]`` the switching line (contour set, or
        None when it does not cross the box). ``axes`` is a ``(1, 1)`` array; ``figure``,
        ``legend``. Extra attributes: ``responses`` (the :class:`~leaky_control.LoopResponse`
        of each trajectory) and ``equilibria`` (array (M, 2)).

    Raises
    ------
    TypeError
        If ``box``, ``reference`` or ``final_time`` is not numeric or ``controller`` is None.
    ValueError
        If the loop does not have two states, the controller is sampled, ``box`` is empty or
        missing, ``initial_states`` is not (N, 2) finite, a count is too small, ``labels``
        does not hold two strings, or a simulation fails.
    """
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    from ..simulation import _default_final_time, simulate
    from ..solvers import Dopri5

    r = _check_reference(reference)
    plant, controller, sys = _loop(plant, controller)
    grid = _check_count("grid", grid, 2)
    per_side = _check_count("per_side", per_side, 1)
    npl = plant.nstates
    inputs = np.concatenate([[r], np.zeros(plant.ndisturbances)])

    def field(x: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.asarray(sys.dynamics(0.0, np.asarray(x, dtype=float), inputs), dtype=float)

    if box is None and initial_states is None:
        raise ValueError("give box (x1_min, x1_max, x2_min, x2_max) or initial_states "
                         "(or both); with neither the portrait has no extent")
    bx = _check_box(box) if box is not None else None
    if labels is not None and (isinstance(labels, str) or len(labels) != 2):
        raise ValueError(f"labels must hold 2 strings (x and y axis), got {labels!r}")
    if initial_states is None and bx is not None:
        starts = _boundary_points(bx, per_side)
    else:
        starts = np.asarray(initial_states, dtype=float)
        if starts.ndim != 2 or starts.shape[1] != 2 or starts.shape[0] < 1 \
                or not np.all(np.isfinite(starts)):
            raise ValueError(f"initial_states must be a finite array of shape (N, 2), got "
                             f"shape {np.shape(starts)}")
    if final_time is None:
        tf = _default_final_time(plant, controller)
    else:
        try:
            tf = float(final_time)
        except (TypeError, ValueError):
            raise TypeError(f"final_time must be a number of seconds, got {final_time!r}") from None
        if not (math.isfinite(tf) and tf > 0):
            raise ValueError(f"final_time must be finite and > 0 (s), got {final_time!r}")
    solver = Dopri5(rtol=1e-8, atol=1e-10) if solver is None else solver

    t = np.linspace(0.0, tf, 1001)
    responses = []
    for x0 in starts:
        resp = simulate(plant, controller, t, reference=r, initial_state=x0[:npl],
                        controller_state=x0[npl:] if npl < 2 else None, solver=solver)
        if not resp.success:
            raise ValueError(f"the trajectory from {x0.tolist()} failed: {resp.message}")
        responses.append(resp)
    if bx is None:
        xs = np.concatenate([np.asarray(rs.states)[:2].T for rs in responses])
        lo, hi = xs.min(axis=0), xs.max(axis=0)
        pad = 0.08 * np.maximum(hi - lo, 1e-9)
        bx = (lo[0] - pad[0], hi[0] + pad[0], lo[1] - pad[1], hi[1] + pad[1])

    if ax is None:
        fig: Any
        fig, ax = plt.subplots(figsize=(6.4, 5.4), constrained_layout=True)
    else:
        fig = ax.get_figure()

    # vector field: direction only (normalised), so slow regions near equilibria stay legible
    gx = np.linspace(bx[0], bx[1], grid)
    gy = np.linspace(bx[2], bx[3], grid)
    X, Y = np.meshgrid(gx, gy)
    U, V = np.zeros_like(X), np.zeros_like(Y)
    for i in range(grid):
        for j in range(grid):
            U[i, j], V[i, j] = field(np.array([X[i, j], Y[i, j]]))
    speed = np.hypot(U, V)
    nz = speed > 0
    U[nz] /= speed[nz]
    V[nz] /= speed[nz]
    quiver = ax.quiver(X, Y, U, V, color="0.6", angles="xy", pivot="mid", width=0.003,
                       headwidth=4, zorder=1)

    # switching line: where the argument of the leaky ReLU changes sign, on a fine grid
    kink = None
    handles: list[Any] = []
    switching = _switching_signal(plant, controller, r)
    if switching is not None:
        signal, what, short = switching
        nk = 81
        KX, KY = np.meshgrid(np.linspace(bx[0], bx[1], nk), np.linspace(bx[2], bx[3], nk))
        S = np.array([signal(np.array([x, y])) for x, y in zip(KX.ravel(), KY.ravel(),
                                                                strict=True)]).reshape(KX.shape)
        if np.nanmin(S) < 0 < np.nanmax(S):
            kink = ax.contour(KX, KY, S, levels=[0.0], colors="k", linestyles="--",
                              linewidths=1.2, zorder=2)
            handles.append(Line2D([], [], color="k", ls="--", lw=1.2,
                                  label=f"switching line {what} = 0 (slope of the leaky ReLU: "
                                        f"1 where {short} > 0, a where < 0)"))

    traj_lines = []
    for rs in responses:
        xs = np.asarray(rs.states)[:2]
        (ln,) = ax.plot(xs[0], xs[1], color="C0", lw=1.4, zorder=3)
        ax.plot(xs[0, 0], xs[1, 0], "o", color="C0", ms=4, zorder=3)
        traj_lines.append(ln)
    handles.append(Line2D([], [], color="C0", lw=1.6, marker="o", ms=4, markevery=[0],
                          label=f"trajectories over {tf:.3g} s (dot: initial state)"))

    eq = _equilibria(field, np.concatenate([starts, np.array(
        [rs.states[:2, -1] for rs in responses]), np.column_stack(
        [X.ravel()[::7], Y.ravel()[::7]])]), bx)
    eq_lines = []
    if eq.size:
        eq_lines = ax.plot(eq[:, 0], eq[:, 1], "o", color="k", ms=7, zorder=4)
        handles.append(Line2D([], [], color="k", marker="o", ls="none", ms=7,
                              label="equilibria (roots of the field in the box)"))
    handles.append(Line2D([], [], color="0.6", marker=r"$\rightarrow$", ls="none", ms=12,
                          label="direction of the vector field (normalised)"))

    ax.set_xlim(bx[0], bx[1])
    ax.set_ylim(bx[2], bx[3])
    names = [str(v) for v in labels] if labels is not None else \
        [*plant.state_labels, *getattr(controller, "state_labels", ())][:2]
    ax.set_xlabel(names[0])
    ax.set_ylabel(names[1])
    a = getattr(controller, "negative_slope", None)
    ax.set_title(title if title is not None else
                 f"Phase portrait, r = {r:g}" + (f", leak a = {a:g}" if a is not None else ""))
    ax.grid(True, ls=":", lw=0.6)
    legend = ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.13),
                       fontsize="small", frameon=False)

    lines = np.empty(4, dtype=object)
    lines[0], lines[1], lines[2], lines[3] = traj_lines, quiver, list(eq_lines), kink
    cplt = ct.ControlPlot(lines, axes=np.array([[ax]]), figure=fig, legend=legend)
    cplt.responses = responses
    cplt.equilibria = eq
    return cplt
