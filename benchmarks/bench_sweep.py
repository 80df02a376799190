"""Sweep benchmarks (issue 3).

1. ``--points 10000``: a sweep over (negative_slope, kp) of the reference problem (cruise PI,
   20 -> 25 m/s, the 4 degree hill, 0-30 s, 3001 output points), metrics only. The same sweep
   is timed with numba's pool at 1 thread and at every core, alternately, so both see the same
   machine load; medians and the speed-up are reported with the load average. The time spent
   packing points in Python is reported separately (it overlaps the kernel).
2. ``--million``: a 1,000,000-point metrics-only sweep (1000 x 1000 grid, the reference loop
   with 31 output points) in a child process, reporting its peak resident memory
   (``ru_maxrss``) and the resident memory before the sweep started.

Run: ``python benchmarks/bench_sweep.py [--points 10000] [--repeat 3] [--solver dopri5|rk4]
[--million]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import textwrap
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _reference import problem  # noqa: E402


def _grid(npoints):
    side = int(round(np.sqrt(npoints)))
    return {"negative_slope": np.linspace(0.0, 1.0, side), "kp": np.linspace(0.2, 1.0, side)}


def bench_points(npoints, repeat, solver_name):
    import numba

    lc, plant, ctrl, t, theta = problem()
    solver = lc.Dopri5(rtol=1e-6, atol=1e-9) if solver_name == "dopri5" else lc.RK4()
    grid = _grid(npoints)
    kw = dict(reference=25.0, initial_state=[20.0], disturbance=theta, solver=solver,
              metric_options={"initial_output": 20.0}, metrics=["Overshoot", "SettlingTime",
                                                                "IAE", "CoastingFraction"])
    cores = numba.config.NUMBA_NUM_THREADS
    lc.sweep(plant, ctrl, {"kp": [0.5]}, t, **kw)  # load the kernel
    # Python-side packing alone (it runs beside the kernel in the sweep)
    from leaky_control.sweeps.api import _build
    from leaky_control.sweeps.chunk import prepare_chunk

    spec, table = _build(plant, ctrl, grid, t, kw["metric_options"], False, 25.0, theta,
                         [20.0], None, solver, None)
    t0 = time.perf_counter()
    prepared = prepare_chunk(spec, table)
    t_pack = time.perf_counter() - t0
    # the kernel alone on the packed points (no Python packing beside it)
    from leaky_control.sweeps.chunk import execute_chunk

    kern = {1: [], cores: []}
    for _ in range(repeat):
        for threads in (1, cores):
            t0 = time.perf_counter()
            execute_chunk(spec, prepared, True, threads)
            kern[threads].append(time.perf_counter() - t0)

    times = {1: [], cores: []}
    load0 = os.getloadavg()
    ref = None
    for _ in range(repeat):
        for threads in (1, cores):
            t0 = time.perf_counter()
            res = lc.sweep(plant, ctrl, grid, t, threads=threads, **kw)
            times[threads].append(time.perf_counter() - t0)
            if ref is None:
                ref = res
            else:  # every run returns the same numbers
                assert all(np.array_equal(ref.metrics[k], res.metrics[k], equal_nan=True)
                           for k in ref.metrics)
    load1 = os.getloadavg()
    m1, mc = statistics.median(times[1]), statistics.median(times[cores])
    print(f"## {len(ref)}-point sweep, {solver_name}, 3001 outputs, metrics only")
    print(f"load average before {load0[0]:.2f}, after {load1[0]:.2f} ({cores} cores)")
    print(f"1 thread:   median {m1:.3f} s  (runs {', '.join(f'{x:.3f}' for x in times[1])})")
    print(f"{cores} threads:  median {mc:.3f} s  (runs "
          f"{', '.join(f'{x:.3f}' for x in times[cores])})")
    print(f"speed-up {m1 / mc:.2f}x; per point {mc / len(ref) * 1e3:.3f} ms at {cores} threads")
    k1, kc = statistics.median(kern[1]), statistics.median(kern[cores])
    print(f"kernel alone on packed points: 1 thread {k1:.3f} s, {cores} threads {kc:.3f} s, "
          f"speed-up {k1 / kc:.2f}x")
    print(f"Python packing alone: {t_pack:.3f} s ({t_pack / len(ref) * 1e6:.1f} us/point)")
    print(f"failed points: {len(ref.failed)}")


MILLION = textwrap.dedent("""
    import resource, sys, time
    import numpy as np
    sys.path.insert(0, {here!r})
    from _reference import problem
    lc, plant, ctrl, t, theta = problem()
    t = np.linspace(0.0, 30.0, 31)
    theta = np.interp(t, np.linspace(0.0, 30.0, 3001), {theta!r})
    kw = dict(reference=25.0, initial_state=[20.0], disturbance=theta,
              solver=lc.Dopri5(rtol=1e-6, atol=1e-9), metric_options={{"initial_output": 20.0}})
    lc.sweep(plant, ctrl, {{"kp": [0.5]}}, t, **kw)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    grid = {{"negative_slope": np.linspace(0.0, 1.0, 1000), "kp": np.linspace(0.2, 1.0, 1000)}}
    t0 = time.perf_counter()
    res = lc.sweep(plant, ctrl, grid, t, **kw)
    dt = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"points {{len(res)}}, failed {{len(res.failed)}}, {{dt:.1f}} s, "
          f"{{dt / len(res) * 1e6:.1f}} us/point")
    print(f"resident before the sweep {{before:.0f}} MB, peak {{peak:.0f}} MB")
""")


def bench_million():
    _, _, _, _, theta = problem()
    here = os.path.dirname(os.path.abspath(__file__))
    code = MILLION.format(here=here, theta=theta.tolist())
    print("## 1,000,000-point metrics-only sweep (all 15 metrics), 31 outputs, Dopri5")
    print(f"load average before {os.getloadavg()[0]:.2f}")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    print(out.stdout.strip())
    print(f"load average after {os.getloadavg()[0]:.2f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=10000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--solver", choices=("dopri5", "rk4"), default="dopri5")
    ap.add_argument("--million", action="store_true")
    args = ap.parse_args()
    if args.points:
        bench_points(args.points, args.repeat, args.solver)
    if args.million:
        bench_million()


if __name__ == "__main__":
    main()
