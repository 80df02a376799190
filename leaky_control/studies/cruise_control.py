"""Flagship study: ReLU vs leaky vs linear PI cruise control, with and without a brake.

The vehicle of Astrom & Murray (Feedback Systems, sec. 4.1; python-control's
``examples/cruise-control.py``) in gear 4 starts at its 20 m/s equilibrium and is asked for
25 m/s. At t = 5 s it meets the example's 4 degree hill; at t = 25-27 s the road crests into a
1 degree descent. The same PI gains (kp = 0.5, ki = 0.1) run with the leaky ReLU on the
proportional term at negative_slope 0 (ReLU), 0.1 (leaky) and 1 (linear).

Without a brake the throttle cannot go below zero: every controller can only coast once the
car is too fast. With a brake (negative input = braking force) the leak turns the overshoot
into a braking command. Writes ``cruise_control.png`` and ``cruise_control_metrics.csv`` to
``--out`` and prints the table.

Run: ``python simulations/cruise_control.py --out results`` or ``leaky-control demo``.
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import sys

import numpy as np

from ..cli import output_folder, positive_seconds

SLOPES = (0.0, 0.1, 1.0)
KP, KI = 0.5, 0.1
V0, VREF = 20.0, 25.0
COLUMNS = ("Overshoot", "SettlingTime", "IAE", "ControlEffort", "CoastingFraction", "Settled")


def road_slope(t):
    """Road slope [rad]: the example's 4 degree hill from t = 5-6 s, a 1 degree descent from 27 s."""
    deg = math.pi / 180.0
    return np.interp(t, [0.0, 5.0, 6.0, 25.0, 27.0, 1e9], [0, 0, 4 * deg, 4 * deg, -deg, -deg])


def run_study(final_time=60.0, npts=6001):
    """Simulate every (brake, slope) case; return ``[(brake, a, response, info), ...]``."""
    import leaky_control as lc

    t = np.linspace(0.0, final_time, npts)
    theta = road_slope(t)
    rows = []
    for brake in (False, True):
        plant = lc.CruiseControl(brake=brake)
        z0 = plant.equilibrium_throttle(V0) / KI  # start at the 20 m/s equilibrium
        for a in SLOPES:
            ctrl = lc.LeakyPI(kp=KP, ki=KI, negative_slope=a, u_min=-1.0 if brake else 0.0, u_max=1.0)
            resp = lc.simulate(plant, ctrl, t, reference=VREF, disturbance=theta,
                               initial_state=[V0], controller_state=[z0])
            if not resp.success:
                raise RuntimeError(f"simulation failed (brake={brake}, a={a}): {resp.message}")
            info = lc.step_info(resp, final_output=VREF, initial_output=V0)
            rows.append((brake, a, resp, info))
    return rows


def _name(a):
    return {0.0: "ReLU (a=0)", 1.0: "linear (a=1)"}.get(a, f"leaky (a={a:g})")


def write_outputs(rows, out):
    """Write the CSV table and the PNG figure into ``out``; return their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from leaky_control.plotting import response_grid_plot

    os.makedirs(out, exist_ok=True)
    csv_path = os.path.join(out, "cruise_control_metrics.csv")
    with open(csv_path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["brake", "negative_slope", *COLUMNS])
        for brake, a, _, info in rows:
            w.writerow([brake, a, *[info[k] for k in COLUMNS]])
    cols = []
    for brake in (False, True):
        cols.append((("with brake: u < 0 brakes" if brake else "no brake: throttle in [0, 1]"),
                     [(_name(a), resp) for b, a, resp, _ in rows if b == brake]))
    t = rows[0][2].time
    fig = response_grid_plot(cols, reference=np.full_like(t, VREF), y_label="speed v [m/s]",
                             u_label="throttle (+) / brake (-)",
                             title="Leaky-ReLU PI cruise control: hill at 5 s, 1 deg descent "
                                   "from 27 s (shaded: coasting)")
    png_path = os.path.join(out, "cruise_control.png")
    fig.savefig(png_path, dpi=110)
    plt.close(fig)
    return csv_path, png_path


def format_table(rows):
    """The metrics as a fixed-width text table."""
    head = f"{'brake':>6} {'a':>5} " + " ".join(f"{k:>16}" for k in COLUMNS)
    lines = [head, "-" * len(head)]
    for brake, a, _, info in rows:
        vals = " ".join(f"{info[k]!s:>16}" if isinstance(info[k], bool) else f"{info[k]:>16.4g}"
                        for k in COLUMNS)
        lines.append(f"{brake!s:>6} {a:>5g} {vals}")
    return "\n".join(lines)


def main(argv=None):
    """Command-line entry point: ``--out DIR`` (default ``results``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=output_folder, default="results",
                        help="output folder (created if missing)")
    parser.add_argument("--final-time", type=positive_seconds, default=60.0,
                        help="simulated time [s]")
    args = parser.parse_args(argv)
    rows = run_study(final_time=args.final_time)
    csv_path, png_path = write_outputs(rows, args.out)
    print(format_table(rows))
    print(f"\nwrote {csv_path}\nwrote {png_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
