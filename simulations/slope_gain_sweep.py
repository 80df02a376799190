"""
The flagship over a grid of leaks and gains
===========================================

Study: the flagship cruise-control loop over a grid of leaks ``a`` and gains ``kp``, with
``lc.sweep``, on the car with a brake and on the throttle-only car.

The flagship scenario (:mod:`leaky_control.studies.cruise_control`: the car starts at 20 m/s,
the set point is 25 m/s, a 4 degree descent from 10 s to 30 s; P control
``u = kp phi_a(v_ref - v)``) is run for every pair of ``negative_slope`` in [0, 1] and ``kp``
in [0.2, 2] per m/s, once with a brake (``u`` in [-1, 1]) and once with a throttle only
(``u`` in [0, 1]). The script writes

* ``slope_gain_sweep.png``: heat maps of the peak overspeed, the IAE and the coasting fraction
  over (kp, a), a row per actuator, the flagship's three controllers marked;
* ``slope_gain_sweep.csv``: one row per point (actuator, parameters, ``step_info`` metrics
  with units, status).

With a brake the overspeed falls as ``a kp`` grows (the braking force is
``kp a |e|`` times 2.28 kN) and only the row ``a = 0`` coasts; with a throttle only every row
is the same: the leak cannot act. A point that does not complete is reported in the CSV and
printed, not dropped.

Run: ``python simulations/slope_gain_sweep.py --out results/slope_gain_sweep [--n 41]``
(``--n 9`` is a quick run).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from leaky_control.cli import output_folder, positive_int

#: (metric, colour-bar label, logarithmic colours)
PANELS = (("PeakOverspeed", "peak overspeed v - v_ref [m/s]", True),
          ("IAE", "IAE of v [m/s s]", True),
          ("CoastingFraction", "coasting fraction [-]", False))
KP_RANGE = (0.2, 2.0)


def run_sweep(n: int = 41, brake: bool = True, final_time: float = 60.0, npts: int = 3001,
              **keywords: Any) -> tuple[np.ndarray, np.ndarray, Any]:
    """Sweep (negative_slope, kp) on the flagship scenario.

    Parameters
    ----------
    n : int, default 41
        Grid points per axis.
    brake : bool, default True
        Car with a brake (``u`` in [-1, 1]) or throttle only ([0, 1]).
    final_time : float, default 60.0
        Simulated time [s].
    npts : int, default 3001
        Output time points.
    **keywords
        Passed to :func:`leaky_control.sweep` (``progress``, ``checkpoint``, ...).

    Returns
    -------
    tuple
        ``(slopes, gains, result)``; the result's rows run over ``negative_slope`` (slowest)
        then ``kp``.
    """
    import leaky_control as lc
    from leaky_control.studies.cruise_control import KP, V0, VREF, road_slope

    t = np.linspace(0.0, final_time, npts)
    plant = lc.CruiseControl(brake=brake)
    ctrl = lc.LeakyP(kp=KP, negative_slope=0.1, u_min=-1.0 if brake else 0.0, u_max=1.0)
    slopes = np.linspace(0.0, 1.0, n)
    gains = np.linspace(*KP_RANGE, n)
    res = lc.sweep(plant, ctrl, {"negative_slope": slopes, "kp": gains}, t,
                   reference=VREF, disturbance=road_slope(t), initial_state=[V0],
                   solver=lc.Dopri5(rtol=1e-6),
                   metric_options={"final_output": VREF, "initial_output": V0}, **keywords)
    return slopes, gains, res


def _metric(res: Any, key: str) -> np.ndarray:
    from leaky_control.studies.cruise_control import VREF

    if key == "PeakOverspeed":  # step_info's Peak is the largest speed
        return np.maximum(np.asarray(res["Peak"], dtype=float) - VREF, 0.0)
    return np.asarray(res[key], dtype=float)


def write_outputs(slopes: np.ndarray, gains: np.ndarray, results: dict[bool, Any],
                  out: str) -> tuple[str, str]:
    """Write the CSV and the heat-map PNG to folder ``out``; return their paths.

    Parameters
    ----------
    slopes, gains : numpy.ndarray
        The grid axes.
    results : dict
        ``{brake: SweepResult}`` from :func:`run_sweep`.
    out : str
        Output folder.

    Returns
    -------
    tuple of str
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm, Normalize

    from leaky_control.studies.cruise_control import KP, SLOPES
    from leaky_control.tables import metric_header, write_csv

    os.makedirs(out, exist_ok=True)
    names = list(next(iter(results.values())).metrics)
    header = ["brake [-]", "negative_slope [-]", "kp [1/(m/s)]", "PeakOverspeed [m/s]",
              *(metric_header(k, "m/s", "-") for k in names), "status [-]", "message [-]"]
    rows = []
    for brake, res in results.items():
        over = _metric(res, "PeakOverspeed")
        for i in range(len(res)):
            p = res.point(i)
            rows.append([brake, p["negative_slope"], p["kp"], over[i], *(p[k] for k in names),
                         p["status"], p["message"]])
    csv_path = write_csv(os.path.join(out, "slope_gain_sweep.csv"), header, rows)

    with plt.rc_context({"font.size": 10.5}):
        fig, axes = plt.subplots(2, len(PANELS), figsize=(14, 9), layout="constrained",
                                 sharex=True, sharey=True)
        for col, (key, label, log) in enumerate(PANELS):
            grids = {b: _metric(r, key).reshape(slopes.size, gains.size)
                     for b, r in results.items()}
            vals = np.concatenate([g[np.isfinite(g)] for g in grids.values()])
            if log:
                lo = max(float(np.min(vals[vals > 0])) if np.any(vals > 0) else 1e-3, 1e-3)
                norm: Any = LogNorm(lo, max(float(np.max(vals)), 1.01 * lo))
            else:
                norm = Normalize(0.0, max(float(np.max(vals)), 1e-9))
            for row, brake in enumerate((True, False)):
                ax = axes[row, col]
                grid = np.where(grids[brake] > 0, grids[brake], norm.vmin) if log else grids[brake]
                mesh = ax.pcolormesh(gains, slopes, grid, shading="nearest", cmap="viridis",
                                     norm=norm)
                res = results[brake]
                if res.failed.size:
                    ax.plot(res["kp"][res.failed], res["negative_slope"][res.failed], "rx", ms=5)
                ax.plot([KP] * len(SLOPES), SLOPES, "o", mfc="none", mec="w", ms=8, mew=1.5)
                if log and brake:  # labelled levels to read values off the map
                    levels = [v for v in (0.25, 0.5, 1, 2, 4, 25, 50, 100)
                              if norm.vmin < v < norm.vmax]
                    cs = ax.contour(gains, slopes, grids[brake], levels=levels, colors="w",
                                    linewidths=0.8)
                    ax.clabel(cs, fmt="%g", fontsize=8.5)
                scale = max(1.0, float(np.max(np.abs(grids[brake]))))
                if not brake and np.ptp(grids[brake], axis=0).max() <= 1e-9 * scale:
                    ax.text(0.5, 0.5, "every row the same:\nthe leak cannot act", ha="center",
                            va="center", transform=ax.transAxes, color="k", fontsize=11,
                            bbox={"facecolor": "w", "alpha": 0.8, "lw": 0})
                where = "with brake" if brake else "throttle only"
                ax.set_title(f"{label.split(' [')[0]}, {where}")
                if row == 1:
                    ax.set_xlabel("kp [throttle fraction per m/s]")
                if col == 0:
                    ax.set_ylabel("negative_slope a [-]")
            # under its column: a colorbar at the side reads as the next column's y-label
            cbar = fig.colorbar(mesh, ax=axes[:, col], label=label, orientation="horizontal",
                                shrink=0.9, aspect=35, pad=0.02)
            if log:  # plain numbers, not 2 x 10^0
                ticks = [v for v in (0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200)
                         if norm.vmin <= v <= norm.vmax]
                cbar.set_ticks(ticks, labels=[f"{v:g}" for v in ticks])
                cbar.ax.minorticks_off()
        n = sum(len(r) for r in results.values())
        failed = sum(r.failed.size for r in results.values())
        fig.suptitle(f"Flagship P loop over leak a and gain kp ({n} runs, {failed} failed, red x); "
                     "4 deg descent 10-30 s; white circles: the flagship's a = 0, 0.1, 1 at "
                     f"kp = {KP:g}", fontsize=12)
        png_path = os.path.join(out, "slope_gain_sweep.png")
        fig.savefig(png_path, dpi=110)
    plt.close(fig)
    return csv_path, png_path


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point.

    Parameters
    ----------
    argv : sequence of str, optional
        ``--out DIR``, ``--n N`` (grid points per axis, default 41), ``--progress``,
        ``--checkpoint DIR``.

    Returns
    -------
    int
        0 on success.
    """
    parser = argparse.ArgumentParser(description=(__doc__ or "").strip().splitlines()[0])
    parser.add_argument("--out", type=output_folder, default="results/slope_gain_sweep",
                        help="output folder")
    parser.add_argument("--n", type=positive_int, default=41,
                        help="grid points per axis (default 41; 9 is a quick run)")
    parser.add_argument("--progress", action="store_true", help="tqdm progress bar")
    parser.add_argument("--checkpoint", default=None,
                        help="checkpoint folder (resumable; one subfolder per actuator)")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    results = {}
    for brake in (True, False):
        ck = None if args.checkpoint is None else os.path.join(
            args.checkpoint, "brake" if brake else "throttle_only")
        slopes, gains, results[brake] = run_sweep(args.n, brake, progress=args.progress,
                                                  checkpoint=ck)
    dt = time.perf_counter() - t0
    for path in write_outputs(slopes, gains, results, args.out):
        print(f"wrote {path}")
    n = sum(len(r) for r in results.values())
    print(f"{n} runs in {dt:.1f} s; {sum(r.failed.size for r in results.values())} failed")
    for brake, res in results.items():
        for i, msg in res.messages.items():
            p = res.point(i)
            print(f"  brake={brake} point {i} (a={p['negative_slope']:.3g}, "
                  f"kp={p['kp']:.3g}): {msg}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
