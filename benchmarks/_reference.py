"""The reference problem shared by the benchmarks, and the timing helper.

Cruise-control PI loop (issue 2 and 3): negative_slope 0.1, kp 0.5, ki 0.1, anti-windup gain
0.2, 20 -> 25 m/s, the python-control example's 4 degree hill at t = 5 s, 0-30 s, 3001 outputs.
"""

import math
import statistics
import time

import numpy as np


def time_stats(fn, reps):
    """``(median, min, max)`` wall time of ``reps`` calls of ``fn``."""
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts), min(ts), max(ts)


def median_time(fn, reps):
    """Median wall time of ``reps`` calls of ``fn``."""
    return time_stats(fn, reps)[0]


def paired_ratio(fast, slow, rounds=15, fast_calls=20):
    """Median over ``rounds`` of (time of one ``slow`` call) / (mean time of ``fast_calls``
    ``fast`` calls), the two measured back to back in each round so that both see the same
    machine; returns ``(median, min, max)``. On this shared machine sequential medians of the
    two moved by 2x between runs, the paired ratio much less."""
    ratios = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(fast_calls):
            fast()
        tf = (time.perf_counter() - t0) / fast_calls
        t0 = time.perf_counter()
        slow()
        ratios.append((time.perf_counter() - t0) / tf)
    return statistics.median(ratios), min(ratios), max(ratios)


def problem():
    """``(lc, plant, controller, timepts, road slope)`` of the reference problem."""
    import leaky_control as lc

    t = np.linspace(0.0, 30.0, 3001)
    deg = math.pi / 180
    theta = np.where(t <= 5, 0.0, np.where(t <= 6, 4 * deg * (t - 5), 4 * deg))
    plant = lc.CruiseControl()
    ctrl = lc.LeakyPI(kp=0.5, ki=0.1, negative_slope=0.1, u_min=0.0, u_max=1.0, kaw=0.2)
    return lc, plant, ctrl, t, theta


def kernel_alone(solver, npts=3001):
    """``(run, outputs)``: a zero-argument call of the reference problem's kernel alone (no
    validation, no ``TimeResponseData``) for ``solver``, and the arrays it writes
    ``(out_x, out_y, out_u, out_uraw, info)``; the part comparable with a C or LSODA loop."""
    from leaky_control.simulation import kernel_of, prepare

    lc, plant, ctrl, t, theta = problem()
    tt = np.linspace(0.0, 30.0, npts)
    run = prepare(plant, ctrl, tt, reference=25.0, disturbance=np.interp(tt, t, theta),
                  initial_state=[20.0], solver=solver)
    k = kernel_of(run)
    T = tt.size
    outs = (np.empty((T, run.x0.size)), np.empty((T, 1)), np.empty((T, 1)), np.empty((T, 1)),
            np.zeros(5))
    args = (run.S, run.P, run.C, plant.nstates, 0, 0.0, run.t, run.r, run.d, run.x0, run.opts,
            *outs)

    def call():
        k(*args)

    call()
    return call, outs
