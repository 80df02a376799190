"""Simulation-core benchmark (issue 2): RK4 time per step vs C -O3 and vs python-control.

Reference problem: the cruise-control PI loop (negative_slope 0.1, kp 0.5, ki 0.1, anti-windup,
20 -> 25 m/s, the example's 4 degree hill at t = 5 s), 0-30 s, 3001 output points, RK4 at
dt = 0.01. All figures are medians measured side by side in one run.

Run: ``python benchmarks/bench_simulate.py`` (needs a C compiler for the C reference; skips it
otherwise).
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _reference import kernel_alone, median_time, problem  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def bench_kernel_only(reps=200):
    """Time of the numba kernel alone (the part comparable with the C loop)."""
    import leaky_control as lc

    run, outs = kernel_alone(lc.RK4(max_step=0.01))
    return median_time(run, reps), outs[0][-1, 0]


def bench_simulate(reps=100):
    lc, plant, ctrl, t, theta = problem()
    run = lambda: lc.simulate(plant, ctrl, t, reference=25.0, disturbance=theta,  # noqa: E731
                              initial_state=[20.0], solver=lc.RK4(max_step=0.01))
    resp = run()
    return median_time(run, reps), float(resp.y[0][-1])


def bench_python_control(reps=3):
    import control as ct

    lc, plant, ctrl, t, theta = problem()
    sys_ = lc.closed_loop_nlsys(plant, ctrl)
    U = np.vstack([np.full_like(t, 25.0), theta])
    run = lambda: ct.input_output_response(sys_, t, U, [20.0, 0.0])  # noqa: E731
    resp = run()
    return median_time(run, reps), float(resp.y[0][-1])


def bench_c(reps=200):
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        return None, None
    with tempfile.TemporaryDirectory() as tmp:
        exe = os.path.join(tmp, "cruise_rk4")
        subprocess.run([cc, "-O3", "-o", exe, os.path.join(HERE, "cruise_rk4.c"), "-lm"], check=True)
        out = subprocess.run([exe, str(reps)], capture_output=True, text=True, check=True).stdout.split()
    return float(out[0]), float(out[1])


def cold_start():
    code_both = ("import time; t=time.perf_counter(); import control; a=time.perf_counter()-t; "
                 "t=time.perf_counter(); import leaky_control; print(a, time.perf_counter()-t)")
    code_first = ("import time, numpy as np; t=time.perf_counter(); import leaky_control as lc; "
                  "r=lc.simulate(lc.CruiseControl(), lc.LeakyPI(kp=0.5, ki=0.1, negative_slope=0.1, "
                  "u_min=0, u_max=1), np.linspace(0,30,3001), reference=25.0, initial_state=[20.0]); "
                  "print(time.perf_counter()-t)")
    imp_control, imp_lc, first = [], [], []
    for _ in range(5):
        a, b = map(float, subprocess.run([sys.executable, "-c", code_both], capture_output=True,
                                         text=True, check=True).stdout.split())
        imp_control.append(a)
        imp_lc.append(b)
        first.append(float(subprocess.run([sys.executable, "-c", code_first], capture_output=True,
                                          text=True, check=True).stdout))
    return statistics.median(imp_control), statistics.median(imp_lc), statistics.median(first)


def main():
    steps = 3000
    load = os.getloadavg()
    k_time, k_v = bench_kernel_only()
    s_time, s_v = bench_simulate()
    c_time, c_v = bench_c()
    p_time, p_v = bench_python_control()
    ic, il, first = cold_start()
    print(f"load average at start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (2 cores)")
    print(f"numba kernel     : {k_time * 1e3:8.3f} ms  = {k_time / steps * 1e9:7.1f} ns/step  v(30)={k_v:.9f}")
    print(f"lc.simulate      : {s_time * 1e3:8.3f} ms  (kernel + packing + TimeResponseData)  v(30)={s_v:.9f}")
    if c_time is not None:
        print(f"C -O3 RK4        : {c_time * 1e3:8.3f} ms  = {c_time / steps * 1e9:7.1f} ns/step  v(30)={c_v:.9f}")
        print(f"kernel / C       : {k_time / c_time:8.2f}x (target <= 1.15x)")
    print(f"input_output_resp: {p_time * 1e3:8.1f} ms  v(30)={p_v:.9f}")
    print(f"io_response / simulate: {p_time / s_time:8.0f}x (target >= 500x)")
    print(f"import control {ic * 1e3:.0f} ms; import leaky_control after it +{il * 1e3:.2f} ms "
          f"({100 * il / ic:.2f}% , target <= 10%)")
    print(f"new process, warm cache: import + first simulate {first:.3f} s (target <= 1 s)")


if __name__ == "__main__":
    main()
