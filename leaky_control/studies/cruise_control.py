"""Flagship study: ReLU vs leaky vs linear P speed control on a descent, with and without a brake.

The vehicle of Astrom & Murray (Feedback Systems, sec. 4.1; python-control's
``examples/cruise-control.py``, gear 4) starts at 20 m/s and is asked for 25 m/s on a flat
road. From t = 10 s to 30 s the road tilts into a 4 degree (7 %) descent, then is flat again.
A proportional controller ``u = kp phi_a(v_ref - v)``, kp = 1 per m/s, runs with the leak
``a`` = 0 (ReLU), 0.1 (leaky) and 1 (linear), once on a car whose input is a throttle only
(``u`` in [0, 1]) and once on a car with a brake (``u`` in [-1, 1], ``u = -1`` is 2.28 kN of
braking).

Why a P loop: with an integrator the integral term brakes too, and the ReLU PI, which
overshoots more, winds its integrator further and ends up braking *harder* than the leaky one
(``run_study(ki=KI)``: with a brake, 439 N on average while above the set point against the
leaky PI's 423 N); the leak acts on the proportional path only, and a P loop shows that path
alone. The price is a droop: the P loop settles 0.2 m/s below its set
point on the flat.

Caption of the figure (numbers from the run; printed by :func:`main`):

    Rows: speed, throttle/brake command and road slope of a car under P control
    u = kp phi_a(v_ref - v), kp = 1 per m/s, through a 4 deg (7 %) descent from 10 s to 30 s.
    Left column, throttle only: the leaky and linear controllers ask to brake (dashed) but the
    command is cut at zero, so all three cars coast alike (the lines coincide; grey: coasting)
    and reach 31.4 m/s. Middle column, with a brake: the ReLU controller (a = 0) still asks for
    nothing and coasts to 31.4 m/s; the leaky one (a = 0.1) brakes and peaks at 27.3 m/s; the
    linear one at 25.3 m/s. Right panel: peak overspeed against the descent's grade; with zero
    throttle the car holds 25 m/s on a 1.7 deg descent, so on steeper ones only a leak and a
    brake together keep it near the set point. The P loop's droop keeps it 0.2 m/s below
    25 m/s on the flat.

Writes ``cruise_control.png`` (the figure) and ``cruise_control_metrics.csv`` (one row per
(brake, a): peak overspeed, mean braking requested and applied while above the set point,
coasting time and fraction, IAE) to ``--out`` and prints the table and the caption.

Run: ``python simulations/cruise_control.py --out results`` or ``leaky-control demo``.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..cli import output_folder, positive_seconds

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ..plants import CruiseControl
    from ..response import LoopResponse

__all__ = ["CSV_HEADER", "DESCENT_DEG", "KI", "KP", "SLOPES", "TITLE", "V0", "VREF", "Case",
           "actuator_force", "caption", "case_metrics", "format_table", "main", "road_slope",
           "run_slope_sweep", "run_study", "write_outputs", "zero_throttle_grade"]

#: Leaks compared: ReLU, leaky, linear.
SLOPES = (0.0, 0.1, 1.0)
#: Proportional gain [throttle fraction per m/s].
KP = 1.0
#: Integral gain [1/m] of the PI variant (``run_study(ki=KI)``; the flagship is the P loop).
KI = 0.1
#: Initial speed and set point [m/s].
V0, VREF = 20.0, 25.0
#: The descent: grade [deg], start and end [s], and the time the road takes to tilt [s].
DESCENT_DEG, DESCENT_START, DESCENT_END, RAMP = 4.0, 10.0, 30.0, 1.0
#: Descent grades of the sweep panel [deg].
SWEEP_GRADES_DEG = tuple(float(g) for g in np.arange(0.0, 6.01, 0.25))

#: Title of the figure.
TITLE = "Leaky-ReLU P speed control on a descent: the leak brakes, if the car has a brake"
CSV_HEADER = ("brake [-]", "negative_slope [-]", "PeakOverspeed [m/s]",
              "MeanBrakeRequest [-]", "MeanBrakeForce [N]", "CoastingTime [s]",
              "CoastingFraction [-]", "IAE [m/s s]")


def road_slope(t: ArrayLike, descent_deg: float = DESCENT_DEG) -> NDArray[np.float64]:
    """Road slope [rad] at times ``t`` [s]: flat, the descent from 10 s to 30 s, flat again.

    Parameters
    ----------
    t : array_like
        Time points [s].
    descent_deg : float, default 4.0
        Grade of the descent [deg], >= 0 (a descent has a negative slope).

    Returns
    -------
    numpy.ndarray
        Slope in radians, negative downhill (the plant's ``theta``).

    Raises
    ------
    ValueError
        If ``descent_deg`` is negative, not finite, or 45 degrees or more.
    """
    if not (isinstance(descent_deg, int | float) and math.isfinite(descent_deg)
            and 0.0 <= descent_deg < 45.0):
        raise ValueError(f"descent_deg must be a grade in degrees in [0, 45), got {descent_deg!r}")
    d = -math.radians(descent_deg)
    return np.interp(np.asarray(t, dtype=float),
                     [0.0, DESCENT_START, DESCENT_START + RAMP, DESCENT_END, DESCENT_END + RAMP],
                     [0.0, 0.0, d, d, 0.0])


@dataclass(frozen=True)
class Case:
    """One run of the study.

    Attributes
    ----------
    brake : bool
        Whether the car has a brake (input range [-1, 1]) or a throttle only ([0, 1]).
    negative_slope : float
        The controller's leak ``a``.
    response : LoopResponse
        The simulated loop.
    metrics : dict of str to float
        The row of the metrics table (keys: :data:`CSV_HEADER` without units).
    """

    brake: bool
    negative_slope: float
    response: LoopResponse
    metrics: dict[str, float]


def _controller(a: float, brake: bool, ki: float) -> Any:
    import leaky_control as lc

    # the controller's limits are the actuator's: its u is the input the car receives, and its
    # u_raw what it asked for, so the coasting metrics see what the car does
    lim = {"u_min": -1.0 if brake else 0.0, "u_max": 1.0}
    if ki == 0.0:
        return lc.LeakyP(kp=KP, negative_slope=a, **lim)
    return lc.LeakyPI(kp=KP, ki=ki, negative_slope=a, **lim)


def _simulate(brake: bool, a: float, t: NDArray[np.float64], descent_deg: float,
              ki: float = 0.0) -> LoopResponse:
    import leaky_control as lc

    plant = lc.CruiseControl(brake=brake)
    ctrl = _controller(a, brake, ki)
    extra = {}
    if ki != 0.0:  # the integrator starts at the throttle that holds V0
        extra["controller_state"] = [plant.equilibrium_throttle(V0) / ki]
    resp = lc.simulate(plant, ctrl, t, reference=VREF, disturbance=road_slope(t, descent_deg),
                       initial_state=[V0], solver=lc.Dopri5(rtol=1e-8, atol=1e-10), **extra)
    if not resp.success:
        raise RuntimeError(f"simulation failed (brake={brake}, a={a}): {resp.message}")
    return resp


def actuator_force(plant: CruiseControl, v: ArrayLike, u: ArrayLike) -> NDArray[np.float64]:
    """Force [N] the throttle or brake puts on the car: ``m (dv/dt at u) - m (dv/dt at u = 0)``.

    Taken from the plant's own equations, so the torque curve and the brake are the model's.

    Parameters
    ----------
    plant : CruiseControl
        The vehicle.
    v, u : array_like
        Speed [m/s] and input, broadcast together.

    Returns
    -------
    numpy.ndarray
        Positive: engine drive force; negative: braking force.
    """
    vv = np.asarray(v, dtype=float)
    return plant.m * (plant.acceleration(vv, u) - plant.acceleration(vv, np.zeros_like(vv)))


def _mean_where(t: NDArray[np.float64], mask: NDArray[np.bool_], f: NDArray[np.float64]) -> float:
    # trapezoid mean of f over the time where mask holds (0 if it never holds)
    w = np.zeros_like(t)
    dt = np.diff(t)
    w[:-1] += 0.5 * dt
    w[1:] += 0.5 * dt
    w = w * mask
    return float(np.sum(w * f) / np.sum(w)) if np.sum(w) > 0 else 0.0


def case_metrics(resp: LoopResponse, brake: bool, negative_slope: float) -> dict[str, float]:
    """The metrics-table row of one run (keys: :data:`CSV_HEADER` names without units).

    Parameters
    ----------
    resp : LoopResponse
        A run of the study.
    brake : bool
        Whether the car had a brake.
    negative_slope : float
        The controller's leak ``a``.

    Returns
    -------
    dict of str to float
        ``PeakOverspeed`` (largest ``v - v_ref``, 0 if never above), ``MeanBrakeRequest``
        (mean of the braking the controller asks for, ``-u_raw`` capped to [0, 1], over the time
        above the set point), ``MeanBrakeForce`` (mean braking force applied then [N]),
        ``CoastingTime`` and ``CoastingFraction`` (above the set point with zero input) and
        ``IAE`` (integral of ``|v_ref - v|``).
    """
    import leaky_control as lc

    t = np.asarray(resp.time, dtype=float)
    v = np.asarray(resp.outputs, dtype=float)
    e, u, uraw = resp.signal("e"), resp.signal("u"), resp.signal("u_raw")
    above = e < 0
    force = actuator_force(lc.CruiseControl(brake=brake), v, u)
    info = lc.step_info(resp, final_output=VREF, initial_output=V0)
    coast = lc.coasting_fraction(t, e, u)
    return {
        "brake": float(brake),
        "negative_slope": float(negative_slope),
        "PeakOverspeed": max(0.0, float(np.max(v - VREF))),
        "MeanBrakeRequest": _mean_where(t, above, np.clip(-uraw, 0.0, 1.0)),
        "MeanBrakeForce": _mean_where(t, above, np.maximum(-force, 0.0)),
        "CoastingTime": coast * float(t[-1] - t[0]),
        "CoastingFraction": coast,
        "IAE": float(info["IAE"]),
    }


def run_study(final_time: float = 60.0, npts: int | None = None,
              descent_deg: float = DESCENT_DEG, ki: float = 0.0) -> list[Case]:
    """Simulate every (brake, leak) case of the flagship.

    Parameters
    ----------
    final_time : float, default 60.0
        Simulated time [s] (> 0).
    npts : int, optional
        Output time points (default 100 per second, plus one).
    descent_deg : float, default 4.0
        Grade of the descent [deg].
    ki : float, default 0.0
        Integral gain; 0 is the flagship's P loop, :data:`KI` the PI variant.

    Returns
    -------
    list of Case
        No brake first, then with a brake; leaks in the order of :data:`SLOPES`.

    Raises
    ------
    ValueError
        If ``final_time`` or ``npts`` is out of range.
    RuntimeError
        If a simulation fails.
    """
    if not (isinstance(final_time, int | float) and math.isfinite(final_time) and final_time > 0):
        raise ValueError(f"final_time must be a finite number of seconds > 0, got {final_time!r}")
    n = round(100 * final_time) + 1 if npts is None else npts
    if isinstance(n, bool) or not isinstance(n, int) or n < 2:
        raise ValueError(f"npts must be an integer >= 2, got {npts!r}")
    t = np.linspace(0.0, float(final_time), n)
    cases = []
    for brake in (False, True):
        for a in SLOPES:
            resp = _simulate(brake, a, t, descent_deg, ki)
            cases.append(Case(brake, a, resp, case_metrics(resp, brake, a)))
    return cases


def run_slope_sweep(grades_deg: Sequence[float] = SWEEP_GRADES_DEG, final_time: float = 60.0,
                    npts: int | None = None) -> dict[tuple[bool, float], NDArray[np.float64]]:
    """Peak overspeed [m/s] of every (brake, leak) case over descent grades.

    Parameters
    ----------
    grades_deg : sequence of float
        Descent grades [deg], each in [0, 45).
    final_time : float, default 60.0
        Simulated time per run [s].
    npts : int, optional
        Output time points per run (default 20 per second, plus one).

    Returns
    -------
    dict
        ``{(brake, a): peak overspeed per grade}``.
    """
    n = round(20 * final_time) + 1 if npts is None else npts
    t = np.linspace(0.0, float(final_time), n)
    out = {}
    for brake in (False, True):
        for a in SLOPES:
            out[brake, a] = np.array([max(0.0, float(np.max(
                _simulate(brake, a, t, g).outputs - VREF))) for g in grades_deg])
    return out


def zero_throttle_grade(v: float = VREF) -> float:
    """Descent grade [deg] on which the car holds speed ``v`` with zero throttle.

    Gravity along the road balances rolling resistance and drag: ``m g sin(theta) =
    m g Cr + rho Cd A v^2 / 2``. On steeper descents a car that coasts speeds up.

    Parameters
    ----------
    v : float, default 25.0
        Speed [m/s], > 0.

    Returns
    -------
    float
    """
    import leaky_control as lc

    p = lc.CruiseControl()
    resist = p.m * p.g * p.Cr + 0.5 * p.rho * p.Cd * p.A * v * v
    return math.degrees(math.asin(resist / (p.m * p.g)))


def _name(a: float) -> str:
    return {0.0: "ReLU (a = 0)", 1.0: "linear (a = 1)"}.get(a, f"leaky (a = {a:g})")


def _case(cases: Sequence[Case], brake: bool, a: float) -> Case:
    return next(c for c in cases if c.brake == brake and c.negative_slope == a)


def caption(cases: Sequence[Case], descent_deg: float = DESCENT_DEG) -> str:
    """The figure's caption, with the numbers of ``cases``.

    Parameters
    ----------
    cases : sequence of Case
        The output of :func:`run_study`.
    descent_deg : float, default 4.0
        The grade the runs used [deg].

    Returns
    -------
    str
    """
    def peak(brake: bool, a: float) -> float:
        return VREF + _case(cases, brake, a).metrics["PeakOverspeed"]

    leaky = next(a for a in SLOPES if 0.0 < a < 1.0)
    flat = float(np.asarray(_case(cases, True, 1.0).response.outputs)[
        np.searchsorted(_case(cases, True, 1.0).response.time, DESCENT_START) - 1])
    grade_pct = 100 * math.tan(math.radians(descent_deg))
    return (
        f"Rows: speed, throttle/brake command and road slope of a car under P control "
        f"u = kp phi_a(v_ref - v), kp = {KP:g} per m/s, through a {descent_deg:g} deg "
        f"({grade_pct:.0f} %) descent from {DESCENT_START:g} s to {DESCENT_END:g} s. "
        f"Left column, throttle only: the leaky and linear controllers ask to brake (dashed) but "
        f"the "
        f"command is cut at zero, so all three cars coast alike (the lines coincide; grey: "
        f"coasting) and reach {peak(False, 0.0):.1f} m/s. "
        f"Middle column, with a brake: the ReLU controller (a = 0) still asks for nothing and "
        f"coasts "
        f"to {peak(True, 0.0):.1f} m/s; the leaky one (a = {leaky:g}) brakes and peaks at "
        f"{peak(True, leaky):.1f} m/s; the linear one at {peak(True, 1.0):.1f} m/s. "
        f"Right panel: peak overspeed against the descent's grade; with zero throttle the car "
        f"holds "
        f"{VREF:g} m/s on a {zero_throttle_grade():.1f} deg descent, so on steeper ones only a "
        f"leak and a brake together keep it near the set point. The P loop's droop keeps it "
        f"{VREF - flat:.1f} m/s below {VREF:g} m/s on the flat.")


def write_outputs(cases: Sequence[Case], sweep: dict[tuple[bool, float], NDArray[np.float64]],
                  out: str, grades_deg: Sequence[float] = SWEEP_GRADES_DEG,
                  descent_deg: float = DESCENT_DEG) -> tuple[str, str]:
    """Write the metrics CSV and the figure into ``out``; return their paths.

    Parameters
    ----------
    cases : sequence of Case
        The output of :func:`run_study`.
    sweep : dict
        The output of :func:`run_slope_sweep` on ``grades_deg``.
    out : str
        Folder (created if missing).
    grades_deg : sequence of float
        The sweep's grades [deg].
    descent_deg : float, default 4.0
        The grade of the time-domain runs [deg], marked on the sweep panel.

    Returns
    -------
    tuple of str
        Paths of the CSV and the PNG.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..tables import write_csv

    os.makedirs(out, exist_ok=True)
    csv_path = write_csv(os.path.join(out, "cruise_control_metrics.csv"), CSV_HEADER,
                         [[c.brake, c.negative_slope,
                           *(c.metrics[h.split(" ")[0]] for h in CSV_HEADER[2:])] for c in cases])

    png_path = os.path.join(out, "cruise_control.png")
    with plt.rc_context({"font.size": 10.5, "axes.titlesize": 11.5, "legend.fontsize": 10}):
        fig = _figure(cases, sweep, grades_deg, descent_deg)
        fig.savefig(png_path, dpi=120)
    plt.close(fig)
    return csv_path, png_path


def _figure(cases: Sequence[Case], sweep: dict[tuple[bool, float], NDArray[np.float64]],
            grades_deg: Sequence[float], descent_deg: float) -> Figure:
    import textwrap

    import matplotlib.pyplot as plt

    from ..plotting import response_grid_plot

    fig = plt.figure(figsize=(13.0, 9.6), layout="constrained")
    gs = fig.add_gridspec(4, 3, height_ratios=[3.0, 2.1, 1.0, 1.25],
                          width_ratios=[1.0, 1.0, 0.9])
    axes = np.empty((3, 2), dtype=object)
    for j in range(2):
        for i in range(3):
            axes[i, j] = fig.add_subplot(gs[i, j], sharex=axes[0, 0] if (i or j) else None,
                                         sharey=axes[i, 0] if j else None)
    t = np.asarray(cases[0].response.time, dtype=float)
    columns = [(("throttle and brake: u in [-1, 1]" if brake else "throttle only: u in [0, 1]"),
                [(_name(c.negative_slope), c.response) for c in cases if c.brake == brake])
               for brake in (False, True)]
    response_grid_plot(columns, reference=VREF,
                       disturbance=np.degrees(road_slope(t, descent_deg)),
                       y_label="speed v [m/s]", u_label="command u [-]\nthrottle +, brake -",
                       d_label="road slope\n[deg]", requested=True, axes=axes, legend_ncol=3,
                       legend_loc="outside upper center")
    for j in range(2):
        axes[1, j].set_ylim(-1.1, 1.1)  # requests beyond full brake leave the axis
        axes[2, j].set_ylim(-1.3 * descent_deg - 0.5, 1.0)
    for i in range(3):
        axes[i, 1].set_ylabel("")
        axes[i, 1].tick_params(labelleft=False)
    top = VREF + _case(cases, False, 0.0).metrics["PeakOverspeed"]
    axes[0, 0].annotate("all three coincide:\nno brake to act", xy=(DESCENT_START + 13, top - 2.6),
                        xytext=(DESCENT_START + 5, V0 + 2.2), fontsize=10,
                        arrowprops={"arrowstyle": "->", "lw": 0.8})

    ax = fig.add_subplot(gs[:3, 2])
    g = np.asarray(grades_deg, dtype=float)
    ax.plot(g, sweep[False, 0.0], color="0.3", lw=7.0, alpha=0.3, solid_capstyle="butt",
            label="no brake, any a")
    for k, a in enumerate(SLOPES):
        ax.plot(g, sweep[True, a], color=f"C{k}", lw=1.8, marker="o", ms=3.5,
                label=f"{_name(a)} + brake")
    g0 = zero_throttle_grade()
    ax.axvline(g0, color="k", ls=":", lw=1.0)
    ax.text(g0, 0.6, f" {g0:.1f} deg: coasting\n holds {VREF:g} m/s", va="top",
            transform=ax.get_xaxis_transform())
    ax.axvline(descent_deg, color="0.4", ls="--", lw=0.8)
    ax.text(descent_deg, 0.4, " time plots", va="top", transform=ax.get_xaxis_transform())
    ax.set_xlabel("descent grade [deg]")
    ax.set_ylabel("peak overspeed v - v_ref [m/s]")
    ax.set_title(f"peak overspeed vs grade\n(descent {DESCENT_START:g}-{DESCENT_END:g} s)")
    ax.grid(True, ls=":")
    ax.legend(loc="upper left", frameon=True)
    cap = fig.add_subplot(gs[3, :])
    cap.axis("off")
    # the title heads the caption: a suptitle would collide with the legend above the axes
    cap.text(0.0, 1.0, TITLE, va="top", ha="left", fontsize=12, fontweight="bold",
             transform=cap.transAxes).set_in_layout(False)
    cap.text(0.0, 0.78, textwrap.fill(caption(cases, descent_deg), 165), va="top", ha="left",
             fontsize=10, transform=cap.transAxes).set_in_layout(False)
    return fig


def format_table(cases: Sequence[Case]) -> str:
    """The metrics as a fixed-width text table, units in the header.

    Parameters
    ----------
    cases : sequence of Case
        The output of :func:`run_study`.

    Returns
    -------
    str
    """
    widths = [max(12, len(h)) for h in CSV_HEADER]
    head = " ".join(f"{h:>{w}}" for h, w in zip(CSV_HEADER, widths, strict=True))
    lines = [head, "-" * len(head)]
    for c in cases:
        vals = [str(c.brake).lower(), f"{c.negative_slope:g}",
                *(f"{c.metrics[h.split(' ')[0]]:.4g}" for h in CSV_HEADER[2:])]
        lines.append(" ".join(f"{v:>{w}}" for v, w in zip(vals, widths, strict=True)))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point.

    Parameters
    ----------
    argv : sequence of str, optional
        ``--out DIR`` (default ``results``), ``--final-time S`` (default 60), ``--quick``
        (a coarse sweep of 7 grades).

    Returns
    -------
    int
        0 on success.
    """
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--out", type=output_folder, default="results",
                        help="output folder (created if missing)")
    parser.add_argument("--final-time", type=positive_seconds, default=60.0,
                        help="simulated time [s] (default 60)")
    parser.add_argument("--quick", action="store_true",
                        help="coarse grade sweep (7 grades instead of 25)")
    args = parser.parse_args(argv)
    grades = SWEEP_GRADES_DEG[::4] if args.quick else SWEEP_GRADES_DEG
    cases = run_study(final_time=args.final_time)
    sweep = run_slope_sweep(grades, final_time=args.final_time)
    csv_path, png_path = write_outputs(cases, sweep, args.out, grades)
    print(format_table(cases))
    print("\n" + caption(cases))
    print(f"\nwrote {csv_path}\nwrote {png_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
