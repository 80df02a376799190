"""
Cruise control over a grid of leaks and gains
=============================================

Study: the flagship cruise-control loop over a grid of leaks and gains, with ``lc.sweep``.

The flagship scenario (20 -> 25 m/s, the 4 degree hill at 5 s, a 1 degree descent from 27 s,
no brake, the car starting at its 20 m/s equilibrium) is run for every pair of
``negative_slope`` in [0, 1] and ``kp`` in [0.1, 1.0] (``ki`` fixed at 0.1). For each point
the sweep returns the ``step_info`` metrics; the script writes

* ``slope_gain_sweep.png``: heat maps of overshoot, IAE and coasting fraction over (a, kp);
* ``slope_gain_sweep.csv``: one row per point (parameters, metrics, status).

A point that does not complete is reported in the CSV and printed, not dropped.

Run: ``python simulations/slope_gain_sweep.py --out results/slope_gain_sweep [--n 41]``
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time

import numpy as np

from leaky_control.cli import output_folder, positive_int

PANELS = (("Overshoot", "overshoot [%]"), ("IAE", "IAE [m]"),
          ("CoastingFraction", "coasting fraction"))


def run_sweep(n=41, final_time=60.0, npts=3001, **keywords):
    """Sweep (negative_slope, kp) on the flagship scenario; return ``(slopes, gains, result)``."""
    import leaky_control as lc
    from leaky_control.studies.cruise_control import KI, V0, VREF, road_slope

    t = np.linspace(0.0, final_time, npts)
    plant = lc.CruiseControl()
    z0 = plant.equilibrium_throttle(V0) / KI
    ctrl = lc.LeakyPI(kp=0.5, ki=KI, negative_slope=0.1, u_min=0.0, u_max=1.0)
    slopes = np.linspace(0.0, 1.0, n)
    gains = np.linspace(0.1, 1.0, n)
    res = lc.sweep(plant, ctrl, {"negative_slope": slopes, "kp": gains}, t,
                   reference=VREF, disturbance=road_slope(t), initial_state=[V0],
                   controller_state=[z0], solver=lc.Dopri5(rtol=1e-6),
                   metric_options={"final_output": VREF, "initial_output": V0}, **keywords)
    return slopes, gains, res


def write_outputs(slopes, gains, res, out):
    """Write the CSV and the heat-map PNG to folder ``out``; return their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    os.makedirs(out, exist_ok=True)
    csv_path = os.path.join(out, "slope_gain_sweep.csv")
    names = list(res.metrics)
    with open(csv_path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["negative_slope", "kp", *names, "status", "message"])
        for i in range(len(res)):
            p = res.point(i)
            w.writerow([p["negative_slope"], p["kp"], *(p[k] for k in names), p["status"],
                        p["message"]])

    fig, axes = plt.subplots(1, len(PANELS), figsize=(14, 4.2), constrained_layout=True)
    extent = (gains[0], gains[-1], slopes[0], slopes[-1])
    for ax, (key, label) in zip(axes, PANELS):
        grid = res[key].reshape(slopes.size, gains.size)  # rows: negative_slope
        im = ax.imshow(grid, origin="lower", aspect="auto", extent=extent, cmap="viridis")
        fig.colorbar(im, ax=ax, label=label)
        ax.set_xlabel("kp")
        ax.set_ylabel("negative_slope a")
        ax.set_title(label)
        if res.failed.size:
            ax.plot(res["kp"][res.failed], res["negative_slope"][res.failed], "rx", ms=4)
    fig.suptitle(f"Leaky-ReLU PI cruise control, ki = 0.1, no brake: {len(res)} runs of the "
                 "flagship scenario (red x: failed runs)")
    png_path = os.path.join(out, "slope_gain_sweep.png")
    fig.savefig(png_path, dpi=110)
    plt.close(fig)
    return csv_path, png_path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=output_folder, default="results/slope_gain_sweep", help="output folder")
    parser.add_argument("--n", type=positive_int, default=41, help="grid points per axis")
    parser.add_argument("--progress", action="store_true", help="tqdm progress bar")
    parser.add_argument("--checkpoint", default=None, help="checkpoint folder (resumable)")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    slopes, gains, res = run_sweep(args.n, progress=args.progress, checkpoint=args.checkpoint)
    dt = time.perf_counter() - t0
    for path in write_outputs(slopes, gains, res, args.out):
        print(f"wrote {path}")
    print(f"{len(res)} runs in {dt:.1f} s; {res.failed.size} failed")
    for i, msg in res.messages.items():
        print(f"  point {i} ({res.point(i)['negative_slope']:.3g}, {res.point(i)['kp']:.3g}): {msg}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
