"""Running a :class:`~.schema.Scenario`: its loops, one sweep, the tables and the figure.

Progress goes to a ``report`` callable (the command line prints it to stderr as it happens):
which kernels compile and roughly how long that takes, how many runs, which files are
written. Kernel state is read with :func:`leaky_control.precompile.kernel_state`, which
compiles nothing.
"""

from __future__ import annotations

import contextlib
import inspect
import math
import os
import sys
import textwrap
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..tables import metric_header
from .schema import ModelRun, Scenario

__all__ = ["RunOutcome", "ScenarioResult", "SweepOutcome", "run_scenario", "run_sweep",
           "stderr_report", "write_metrics", "write_plot", "write_responses",
           "write_sweep_plot"]

#: measured first-call compile times on a 2-core machine (README, "First call cost"), rounded
#: up: what the progress line promises
_COMPILE_SECONDS = {"fixed": 10, "adaptive": 20, "sweep": 30}

Report = Callable[[str], None]


def stderr_report(message: str) -> None:
    """Print one progress line to stderr at once (stdout stays for results).

    Parameters
    ----------
    message : str
    """
    print(message, file=sys.stderr, flush=True)


@dataclass
class RunOutcome:
    """One loop's result.

    Attributes
    ----------
    run : ModelRun
    response : LoopResponse
    info : dict
        :func:`leaky_control.step_info` of the run (NaN values when it failed).
    """

    run: ModelRun
    response: Any
    info: dict[str, Any]


@dataclass
class ScenarioResult:
    """What :func:`run_scenario` did.

    Attributes
    ----------
    scenario : Scenario
    outcomes : list of RunOutcome
    files : list of str
        Paths written, in order.
    """

    scenario: Scenario
    outcomes: list[RunOutcome]
    files: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[RunOutcome]:
        """The runs that did not complete."""
        return [o for o in self.outcomes if not o.response.success]


@dataclass
class SweepOutcome:
    """What :func:`run_sweep` did.

    Attributes
    ----------
    scenario : Scenario
    result : SweepResult
    files : list of str
    """

    scenario: Scenario
    result: Any
    files: list[str] = field(default_factory=list)


def _solver_name(solver: Any) -> str:
    return "RK4" if solver is None else type(solver).__name__


def _announce_kernel(plant: Any, controller: Any, solver: Any, report: Report, *,
                     sweep: bool = False) -> bool:
    """Say what the first run of a loop costs; True when it compiles."""
    from ..precompile import kernel_state

    try:
        state = kernel_state(plant, controller, solver, sweep=sweep)
    except Exception:
        return False
    name = _solver_name(solver)
    what = f"{'sweep' if sweep else name} kernel for {type(plant).__name__} + " \
           f"{type(controller).__name__}" + (f" ({name})" if sweep else "")
    if state == "compile":
        kind = "sweep" if sweep else ("adaptive" if getattr(solver, "adaptive", False)
                                      else "fixed")
        report(f"compiling the {what} (first run, ~{_COMPILE_SECONDS[kind]} s; cached "
               "afterwards)...")
        return True
    if state == "cached":
        report(f"loading the {what} from the disk cache")
    return False


def _disturbance_for(scenario: Scenario, plant: Any) -> NDArray[np.float64] | None:
    sig = scenario.disturbance
    q = plant.ndisturbances
    if sig is None or q == 0:
        return None
    d = sig.at(scenario.timepts)
    return np.repeat(d, q, axis=0) if d.shape[0] == 1 and q > 1 else d


def _metric_kwargs(scenario: Scenario, run_index: int, run: ModelRun) -> dict[str, Any]:
    opts = scenario.metric_options
    init = opts["initial_output"]
    final = opts["final_output"]
    return {
        "initial_output": scenario.initial_outputs[run.plant_index] if init == "initial"
        else float(init),
        "final_output": float(scenario.reference.final[0]) if final == "reference" else final,
        "settling_threshold": opts["settling_threshold"],
        "rise_limits": tuple(opts["rise_limits"]),
    }


def simulate_runs(scenario: Scenario, report: Report = stderr_report) -> list[RunOutcome]:
    """Simulate every loop of ``scenario`` (no files written).

    Parameters
    ----------
    scenario : Scenario
    report : callable
        Receives progress lines.

    Returns
    -------
    list of RunOutcome
        In the scenario's order; a failed run keeps its response (``success`` False) and NaN
        metrics, and the others still run.
    """
    import leaky_control as lc

    t = scenario.timepts
    r = scenario.reference.at(t)[0]
    n = len(scenario.runs)
    report(f"simulating {n} run{'s' if n != 1 else ''} ({len(scenario.plant_labels)} "
           f"plant(s) x {len(scenario.controller_labels)} controller(s) x leaks) over "
           f"{t[-1] - t[0]:g} s with {_solver_name(scenario.solver)}")
    seen: set[tuple[str, str, str]] = set()
    out = []
    for i, run in enumerate(scenario.runs):
        key = (_solver_name(scenario.solver), type(run.plant).__name__,
               type(run.controller).__name__)
        t0 = time.perf_counter()
        compiling = False
        if key not in seen:
            seen.add(key)
            compiling = _announce_kernel(run.plant, run.controller, scenario.solver, report)
        resp = lc.simulate(run.plant, run.controller, t, reference=r,
                           disturbance=_disturbance_for(scenario, run.plant),
                           initial_state=scenario.initial_states[run.plant_index],
                           controller_state=scenario.controller_states.get(i),
                           solver=scenario.solver)
        if compiling:
            report(f"  compiled in {time.perf_counter() - t0:.1f} s")
        if resp.success:
            info = lc.step_info(resp, **_metric_kwargs(scenario, i, run))
        else:
            report(f"  run {i} ({run.plant_label}; {run.label}) failed: {resp.message}")
            info = {k: math.nan for k in scenario.metric_keys}
        out.append(RunOutcome(run, resp, info))
    return out


def run_scenario(scenario: Scenario, out: str | os.PathLike[str],
                 report: Report = stderr_report) -> ScenarioResult:
    """Simulate a scenario and write what its ``[output]`` table asks for into ``out``.

    Files (stem ``scenario.name``): ``<name>_metrics.csv`` (one row per run: plant,
    controller, leak, status, the step metrics with units), ``<name>_response.csv`` (long
    format: one row per run and time) and ``<name>.png`` (the step-response grid).

    Parameters
    ----------
    scenario : Scenario
    out : str or path-like
        Output folder (created if missing).
    report : callable
        Receives progress lines.

    Returns
    -------
    ScenarioResult
    """
    os.makedirs(out, exist_ok=True)
    outcomes = simulate_runs(scenario, report)
    result = ScenarioResult(scenario, outcomes)
    stem = os.path.join(os.fspath(out), scenario.name)
    if scenario.outputs["metrics"]:
        result.files.append(write_metrics(outcomes, scenario, stem + "_metrics.csv", report))
    if scenario.outputs["response"]:
        result.files.append(write_responses(outcomes, scenario, stem + "_response.csv", report))
    if scenario.outputs["plot"]:
        result.files.append(write_plot(outcomes, scenario, stem + ".png", report))
    return result


def write_metrics(outcomes: Sequence[RunOutcome], scenario: Scenario, path: str,
                  report: Report = stderr_report) -> str:
    """The metrics table: one row per run, units in the headers.

    Parameters
    ----------
    outcomes : sequence of RunOutcome
    scenario : Scenario
    path : str
    report : callable

    Returns
    -------
    str
        The path written.
    """
    from ..tables import write_csv

    keys = scenario.metric_keys
    header = ["plant [-]", "controller [-]", "negative_slope [-]", "status [-]",
              *[metric_header(k, scenario.units["output"], scenario.units["input"])
                for k in keys]]
    rows = [[o.run.plant_label, o.run.controller_label, o.run.negative_slope,
             "ok" if o.response.success else o.response.message,
             *[o.info[k] for k in keys]] for o in outcomes]
    report(f"writing {path}")
    return write_csv(path, header, rows)


def write_responses(outcomes: Sequence[RunOutcome], scenario: Scenario, path: str,
                    report: Report = stderr_report) -> str:
    """Every run's signals in long format: one row per (run, time).

    Columns: run index, plant, controller, leak, time, reference, the plant outputs, the
    disturbances, then the loop signals (``u``, ``u_raw``, ``e``), each with its unit.

    Parameters
    ----------
    outcomes : sequence of RunOutcome
    scenario : Scenario
    path : str
    report : callable

    Returns
    -------
    str
        The path written.
    """
    from ..tables import write_csv

    yu, uu, du = (scenario.units[k] for k in ("output", "input", "disturbance"))
    first = outcomes[0].response
    out_labels = list(first.output_labels)
    dist_labels = [k for k in first.input_labels if k != "r"]
    loop_labels = list(first.loop.output_labels)
    for o in outcomes[1:]:
        # a table needs one set of columns: plants with other signals go to their own file
        if list(o.response.output_labels) != out_labels or \
                [k for k in o.response.input_labels if k != "r"] != dist_labels or \
                list(o.response.loop.output_labels) != loop_labels:
            dist_labels = []
            break

    def unit(name: str) -> str:
        return yu if name.startswith("e") else uu

    header = ["run [-]", "plant [-]", "controller [-]", "negative_slope [-]", "time [s]",
              f"r [{yu}]", *[f"{k} [{yu}]" for k in out_labels],
              *[f"{k} [{du}]" for k in dist_labels],
              *[f"{k} [{unit(k)}]" for k in loop_labels]]

    def rows() -> Iterator[list[Any]]:
        for i, o in enumerate(outcomes):
            resp = o.response
            y = np.atleast_2d(resp.outputs)
            u = np.atleast_2d(resp.loop.outputs)
            ins = np.atleast_2d(resp.inputs)
            labels = list(resp.input_labels)
            d = [ins[labels.index(k)] for k in dist_labels]
            for j, tj in enumerate(resp.time):
                yield [i, o.run.plant_label, o.run.controller_label, o.run.negative_slope, tj,
                       ins[0, j], *y[:, j], *[dk[j] for dk in d], *u[:len(loop_labels), j]]

    report(f"writing {path}")
    return write_csv(path, header, rows())


def write_plot(outcomes: Sequence[RunOutcome], scenario: Scenario, path: str,
               report: Report = stderr_report) -> str:
    """The step-response grid (:func:`leaky_control.plotting.response_grid_plot`), headless.

    One column per plant when the scenario has several plants, else one per controller
    (``output.columns`` chooses); the other runs are the lines of a column.

    Parameters
    ----------
    outcomes : sequence of RunOutcome
    scenario : Scenario
    path : str
    report : callable

    Returns
    -------
    str
        The path written.
    """
    import matplotlib

    matplotlib.use("Agg")  # headless: a scenario run never opens a window
    import matplotlib.pyplot as plt

    from ..plotting import response_grid_plot

    mode = scenario.outputs["columns"]
    if mode == "auto":
        mode = "plant" if len(scenario.plant_labels) > 1 or \
            len(scenario.controller_labels) == 1 else "controller"
    groups: dict[str, list[tuple[str, Any]]] = {}
    for o in outcomes:
        if mode == "plant":
            col, label = o.run.plant_label, o.run.label
        else:
            col = o.run.controller_label
            label = o.run.label if len(scenario.plant_labels) == 1 else \
                f"{o.run.plant_label}: {o.run.label}"
            if len(scenario.controller_labels) > 1 and label.startswith(col + ", "):
                label = label[len(col) + 2:]
        groups.setdefault(col, []).append((label, o.response))
    columns = list(groups.items())
    first = outcomes[0].response
    y_name = next(iter(first.output_labels))
    units = scenario.units
    y_label = scenario.outputs["y_label"] or f"{y_name} [{units['output']}]"
    u_label = scenario.outputs["u_label"] or f"u [{units['input']}]"
    # a suptitle wider than the figure is clipped: wrap it to the columns' width (a
    # column is 5.5 in wide, about 60 characters of the 12 pt title font)
    title = textwrap.fill(scenario.outputs["title"] or scenario.title, 60 * len(columns))
    kwargs: dict[str, Any] = {"title": title,
                              "y_label": y_label, "u_label": u_label}
    params = inspect.signature(response_grid_plot).parameters
    t = scenario.timepts
    # the reference and disturbance are the same for every run: drawn once per column
    kwargs["reference"] = scenario.reference.at(t)[0]
    if scenario.disturbance is not None and "disturbance" in params:
        kwargs["disturbance"] = scenario.disturbance.at(t)[0]
        d_names = [k for k in first.input_labels if k != "r"]
        kwargs["d_label"] = f"{d_names[0] if d_names else 'd'} [{units['disturbance']}]"
    if "coasting" in params:
        kwargs["coasting"] = scenario.outputs["coasting"]
    result = response_grid_plot(columns, **kwargs)
    fig = getattr(result, "figure", result)  # a control.ControlPlot or a Figure
    report(f"writing {path}")
    fig.savefig(path, dpi=scenario.outputs["dpi"])
    plt.close(fig)
    return path


def format_metrics(result: ScenarioResult,
                   keys: Sequence[str] = ("Overshoot", "SettlingTime", "IAE", "Settled")) -> str:
    """A fixed-width text table of some metrics per run (what ``run`` prints).

    Parameters
    ----------
    result : ScenarioResult
    keys : sequence of str

    Returns
    -------
    str
    """
    keys = [k for k in keys if k in result.scenario.metric_keys]
    plant_w = max(len(o.run.plant_label) for o in result.outcomes)
    run_w = max(len(o.run.label) for o in result.outcomes)
    head = f"{'plant':<{plant_w}}  {'run':<{run_w}}  " + "  ".join(f"{k:>12}" for k in keys)
    lines = [head, "-" * len(head)]
    for o in result.outcomes:
        cells = []
        for k in keys:
            v = o.info.get(k, math.nan)
            cells.append(f"{v!s:>12}" if isinstance(v, bool | np.bool_) else f"{v:>12.4g}")
        lines.append(f"{o.run.plant_label:<{plant_w}}  {o.run.label:<{run_w}}  "
                     + "  ".join(cells))
    return "\n".join(lines)


# --- sweeps -----------------------------------------------------------------------------------

class _PlainProgress:
    """A stand-in for tqdm when it is not installed: one line per finished chunk."""

    def __init__(self, total: int, initial: int = 0, report: Report = stderr_report,
                 **_: Any) -> None:
        self.total = total
        self.n = initial
        self.report = report
        self.t0 = time.perf_counter()
        if initial:
            report(f"  {initial} of {total} chunks loaded from the checkpoint")

    def update(self, k: int = 1) -> None:
        self.n += k
        self.report(f"  chunk {self.n} of {self.total} done "
                    f"({time.perf_counter() - self.t0:.1f} s)")

    def close(self) -> None:
        pass


@contextlib.contextmanager
def _plain_progress(report: Report) -> Iterator[None]:
    """Make ``lc.sweep(progress=True)`` report through ``report`` (no tqdm installed).

    ``sweep`` builds its bar through ``sweeps.api._tqdm``; that name is swapped for this
    function's duration only. (A public progress callback on ``sweep`` would make this
    unnecessary.)"""
    from ..sweeps import api

    original = api._tqdm

    def factory() -> Callable[..., _PlainProgress]:
        return lambda **kw: _PlainProgress(report=report, **kw)

    api._tqdm = factory
    try:
        yield
    finally:
        api._tqdm = original


def _have_tqdm() -> bool:
    try:
        import tqdm  # noqa: F401
    except ImportError:
        return False
    return True


def run_sweep(scenario: Scenario, out: str | os.PathLike[str], *,
              checkpoint: str | os.PathLike[str] | None = None, progress: bool = True,
              report: Report = stderr_report) -> SweepOutcome:
    """Run a scenario's ``[sweep]`` with :func:`leaky_control.sweep`; write one CSV row per point.

    The file ``<name>_sweep.csv`` holds the swept parameters, the metrics (with units), the
    status (``ok`` or why the point failed) and its message; ``<name>_sweep.png`` (unless
    ``output.plot`` is false) draws the metrics over a one- or two-parameter grid.

    Parameters
    ----------
    scenario : Scenario
        With a ``sweep`` table.
    out : str or path-like
        Output folder (created if missing).
    checkpoint : str or path-like, optional
        Folder for resumable chunk files (``sweep``'s ``checkpoint``).
    progress : bool, default True
        A tqdm bar when tqdm is installed, else a line per chunk, through ``report``.
    report : callable
        Receives progress lines.

    Returns
    -------
    SweepOutcome

    Raises
    ------
    ValueError
        If the scenario has no ``[sweep]`` table.
    """
    import leaky_control as lc

    from ..sweeps.result import STATUS_NAMES
    from ..tables import write_csv

    if scenario.sweep is None:
        raise ValueError(f"scenario {scenario.name!r} has no [sweep] table; run it with "
                         "'leaky-control run'")
    os.makedirs(out, exist_ok=True)
    sw = scenario.sweep
    run = scenario.runs[0]
    grid = sw["grid"]
    npts = int(np.prod([len(v) for v in grid.values()]))
    keys = sw["metrics"] or scenario.metric_keys
    mk = _metric_kwargs(scenario, 0, run)
    metric_options = {k: v for k, v in mk.items() if v is not None}
    report(f"sweeping {npts} points over {', '.join(f'{k} ({len(v)})' for k, v in grid.items())}"
           f" with {_solver_name(scenario.solver)}")
    compiling = _announce_kernel(run.plant, run.controller, scenario.solver, report, sweep=True)
    t0 = time.perf_counter()
    use_bar = progress and _have_tqdm()
    ctx = _plain_progress(report) if progress and not use_bar else contextlib.nullcontext()
    with ctx:
        res = lc.sweep(run.plant, run.controller, grid, scenario.timepts, metrics=keys,
                       metric_options=metric_options, progress=progress,
                       checkpoint=None if checkpoint is None else os.fspath(checkpoint),
                       chunk_size=sw["chunk_size"], threads=sw["threads"],
                       reference=scenario.reference.at(scenario.timepts)[0],
                       disturbance=_disturbance_for(scenario, run.plant),
                       initial_state=scenario.initial_states[0],
                       controller_state=scenario.controller_states.get(0),
                       solver=scenario.solver)
    took = time.perf_counter() - t0
    report(f"  {len(res)} points in {took:.1f} s" + (" (compilation included)" if compiling
                                                     else ""))
    failed = res.failed
    if failed.size:
        report(f"  {failed.size} point(s) failed, e.g. point {int(failed[0])}: "
               f"{res.messages[int(failed[0])]}")
    yu, uu = scenario.units["output"], scenario.units["input"]
    names = list(grid)
    header = [f"{k} [{sw['units'].get(k, '-')}]" for k in names] + \
        [metric_header(k, yu, uu) for k in keys] + ["status [-]", "message [-]"]
    rows = []
    for i in range(len(res)):
        # numpy scalars as Python ones: a numpy bool would be written as 1, not true
        rows.append([*[res.params[k][i].item() for k in names],
                     *[res.metrics[k][i].item() for k in keys],
                     STATUS_NAMES[lc.Status(int(res.status[i]))],
                     res.messages.get(i, "simulation completed")])
    path = os.path.join(os.fspath(out), f"{scenario.name}_sweep.csv")
    report(f"writing {path}")
    outcome = SweepOutcome(scenario, res, [write_csv(path, header, rows)])
    if scenario.outputs["plot"] and 1 <= sum(len(v) > 1 for v in grid.values()) <= 2:
        png = os.path.join(os.fspath(out), f"{scenario.name}_sweep.png")
        outcome.files.append(write_sweep_plot(res, scenario, keys, png, report))
    return outcome


def write_sweep_plot(res: Any, scenario: Scenario, keys: Sequence[str], path: str,
                     report: Report = stderr_report) -> str:
    """The metrics over a one- or two-parameter grid: lines, or heat maps, one panel each.

    Axes holding a single value are constants of the sweep and are not drawn.

    Boolean metrics (``Settled``) are left out; failed or unsettled points are NaN, drawn as
    gaps (lines) or grey cells (maps).

    Parameters
    ----------
    res : SweepResult
    scenario : Scenario
    keys : sequence of str
        Metrics of the sweep.
    path : str
    report : callable

    Returns
    -------
    str
        The path written.
    """
    import matplotlib

    matplotlib.use("Agg")  # headless
    import matplotlib.pyplot as plt

    assert scenario.sweep is not None
    full = scenario.sweep["grid"]
    units = scenario.sweep["units"]
    # an axis of one value is a constant of the sweep, not a dimension of the picture
    names = [k for k, v in full.items() if len(v) > 1]
    grid = {k: full[k] for k in names}
    shown = [k for k in keys if res.metrics[k].dtype != bool][:6]
    yu, uu = scenario.units["output"], scenario.units["input"]
    ncol = 2 if len(shown) in (2, 4) else min(3, len(shown))
    nrow = -(-len(shown) // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.6 * ncol, 3.6 * nrow), squeeze=False,
                             constrained_layout=True)

    def label(name: str) -> str:
        unit = units.get(name, "-")
        return name if unit == "-" else f"{name} [{unit}]"

    for ax, key in zip(axes.flat, shown, strict=False):
        values = np.asarray(res.metrics[key], dtype=float)
        title = metric_header(key, yu, uu).replace(" [-]", "")
        if len(names) == 1:
            ax.plot(grid[names[0]], values, "o-", ms=3)
            ax.set_ylabel(title)
            ax.set_xlabel(label(names[0]))
            ax.grid(True, ls=":")
        else:
            # the first name varies slowest (sweep's product order): rows of the map
            z = np.ma.masked_invalid(values.reshape(len(grid[names[0]]), len(grid[names[1]])))
            cmap = plt.get_cmap("viridis").with_extremes(bad="0.8")
            mesh = ax.pcolormesh(grid[names[1]], grid[names[0]], z, cmap=cmap,
                                 shading="nearest")
            fig.colorbar(mesh, ax=ax)
            ax.set_xlabel(label(names[1]))
            ax.set_ylabel(label(names[0]))
        ax.set_title(title, fontsize=10)
    for ax in list(axes.flat)[len(shown):]:
        ax.set_visible(False)
    failed = int(np.count_nonzero(res.status))
    fixed = ", ".join(f"{k} = {v[0]:g}" for k, v in full.items() if len(v) == 1)
    notes = [n for n in (fixed, f"{failed} failed points: grey" if failed else "") if n]
    fig.suptitle(textwrap.fill(scenario.title + (f" ({'; '.join(notes)})" if notes else ""),
                               60 * ncol))
    report(f"writing {path}")
    fig.savefig(path, dpi=scenario.outputs["dpi"])
    plt.close(fig)
    return path
