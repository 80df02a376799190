"""The reference cruise PI loop as a numbalsoda right-hand side (a numba ``cfunc``).

The same equations as leaky_control's kernel for ``CruiseControl`` + ``LeakyPI`` (shape
"error") and as ``benchmarks/cruise_rk4.c``: states ``[v, z]``,

    e = r - v,  u_raw = kp * leaky(e, a) + ki * z,  u = clip(u_raw, u_min, u_max),
    thr = clip(u, 0, 1)   (the plant's throttle saturation, no brake),
    m v' = alpha T(alpha v) thr - m g sin(theta) - m g Cr sgn(v) - rho Cd A |v| v / 2,
    z' = e + kaw / ki * (u - u_raw)   (back-calculation anti-windup; kaw = 0: none),

with ``T(w) = max(0, Tm (1 - beta (w / omega_m - 1)^2))`` and the piecewise-linear road slope
of ``_reference.problem()``: 0 up to t = 5 s, a ramp to 4 degrees at t = 6 s, then 4 degrees
(the kernel interpolates the same values linearly between the output points, and 5 and 6 are
output points, so the two slopes agree).

Parameters are read from the public attributes of the plant and controller objects and frozen
into the compiled function as constants.
"""

from __future__ import annotations

import math

import numpy as np


def lsoda_rhs(plant, ctrl, reference=25.0):
    """Address of a numbalsoda ``lsoda_sig`` cfunc for the loop ``plant`` + ``ctrl``."""
    from numba import cfunc
    from numbalsoda import lsoda_sig

    if plant.brake:
        raise ValueError("only the throttle-only CruiseControl (brake=False) is written out")
    if getattr(ctrl, "shape", "error") != "error" or getattr(ctrl, "kd", 0.0) != 0.0:
        raise ValueError("only a PI controller with the leaky shape on the error is written out")
    m, g, cr, cd, rho, area = (float(plant.m), float(plant.g), float(plant.Cr), float(plant.Cd),
                               float(plant.rho), float(plant.A))
    alpha = float(plant.alpha[plant.gear - 1])
    tm, wm, beta = float(plant.Tm), float(plant.omega_m), float(plant.beta)
    kp, ki, a = float(ctrl.kp), float(ctrl.ki), float(ctrl.negative_slope)
    kaw = getattr(ctrl, "effective_kaw", None)
    kaw = float(kaw if kaw is not None else ctrl.kaw)
    lo, hi = float(ctrl.u_min), float(ctrl.u_max)
    r = float(reference)
    deg4 = 4.0 * math.pi / 180.0
    aw_gain = kaw / ki if ki != 0.0 else 0.0

    @cfunc(lsoda_sig)
    def rhs(t, x, dx, p):
        v = x[0]
        z = x[1]
        e = r - v
        uraw = kp * (e if e >= 0.0 else a * e) + ki * z
        u = min(max(uraw, lo), hi)
        thr = min(max(u, 0.0), 1.0)
        w = alpha * v
        torque = tm * (1.0 - beta * (w / wm - 1.0) * (w / wm - 1.0))
        force = alpha * (torque if torque > 0.0 else 0.0) * thr
        if t <= 5.0:
            theta = 0.0
        elif t <= 6.0:
            theta = deg4 * (t - 5.0)
        else:
            theta = deg4
        fd = m * g * math.sin(theta) + m * g * cr * math.copysign(1.0, v) \
            + 0.5 * rho * cd * area * abs(v) * v
        dx[0] = (force - fd) / m
        dx[1] = e + aw_gain * (u - uraw)

    return rhs.address


def lsoda_runner(plant, ctrl, t, x0=(20.0, 0.0), rtol=1e-6, atol=1e-9, reference=25.0):
    """A no-argument function running numbalsoda's LSODA on the loop; returns ``(usol, ok)``."""
    from numbalsoda import lsoda

    addr = lsoda_rhs(plant, ctrl, reference)
    u0 = np.array(x0, dtype=np.float64)
    teval = np.ascontiguousarray(t, dtype=np.float64)
    data = np.zeros(1)

    def run():
        return lsoda(addr, u0, teval, data=data, rtol=rtol, atol=atol, mxstep=100000)

    return run
