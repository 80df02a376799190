"""numba model functions: plants and controllers as integer codes plus float64 parameter arrays.

Every built-in plant and controller reaches the kernels through these functions only; that is
what lets the kernels be cached on disk across processes ("models as data", see DESIGN.md).
The Python classes in :mod:`leaky_control.plants` and :mod:`leaky_control.controllers` pack
their parameters with the layouts documented here.

Plant codes (``pint[0]``), parameter layouts (``ppar``):

``PLANT_LINEAR``
    ``pint = [code, n, m, q, p]`` (states, control inputs, disturbances, outputs);
    ``ppar = [A (n*n), B (n*m), C (p*n), E (n*q), F (p*q), umin (m), umax (m)]`` row-major;
    ``dx = A x + B sat(u) + E d``, ``y = C x + F d`` (D = 0 is required in a loop with a
    nonlinear controller; see :func:`leaky_control.plants.as_plant`).
``PLANT_CRUISE``
    ``ppar = [m, g, Cr, Cd, rho, A, alpha_gear, Tm, omega_m, beta, brake_force]``; one state
    ``v``, input throttle (clipped to ``[0, 1]``, or ``[-1, 1]`` when ``brake_force > 0``, the
    negative part braking with ``brake_force * u`` newtons), disturbance road slope (rad).
``PLANT_PENDULUM``
    ``ppar = [m, l, b, g, umin, umax]``; ``m l^2 th'' = u + d - b th' - m g l sin th``; ``y = th``.
``PLANT_USER``
    ``pint = [code, n, m, q, p]``, ``ppar = [C (p*n), umin (m), umax (m), params...]``; the
    dynamics come from the user's function slot ``f(t, x, ud, params, dx)`` with
    ``ud = [u, d]``.

Controller codes (``cint[0]``):

``CTRL_PID``
    ``cint = [code, shape, iz, if_, sampled]``; ``iz``/``if_`` index the integrator and
    derivative-filter states in the controller state vector (-1 when absent);
    ``cpar = [kp, ki, kd, a, umin, umax, kaw, tau_d, dt]``.
``CTRL_MLP``
    A Leaky-ReLU network as state feedback; layout in :mod:`.mlp_model`.
``CTRL_STATEFB``
    ``cint = [code, n, m, sampled]``; ``cpar = [a, umin, umax, dt, K (m*n), kr (m)]``;
    ``u_i = sat(phi_a(kr_i r - (K x)_i))``.
``CTRL_ADAPTIVE``
    ``cint = [code, iz, ia]``; ``iz`` indexes the integrator (-1 when ``ki = 0``), ``ia`` the
    slope state ``a``; ``cpar = [kp, ki, gamma, s, umin, umax, kaw]`` with ``s`` the sign of the
    plant's input gain. ``u = sat(kp phi_clip(a)(e) + ki z)``,
    ``a' = gamma s kp e min(0, e)`` while ``u`` is not saturated, 0 otherwise, and 0 when ``a``
    sits on a bound of ``[0, 1]`` and the law pushes outward. Continuous time only.

Reference counting: every function here, the loop helpers and the integrator bodies are
compiled with ``_nrt=False``. With numba's runtime on, each call that passes arrays was wrapped
in an atomic ``NRT_incref``/``NRT_decref`` per array argument (11 increfs before each
derivative in the Dopri5 kernel); these dominated the run time (the Dopri5 kernel fell from
549 us to 235 us on the reference problem) and, in the sweep kernel, made two threads fight
over the same reference counts. None of these functions allocates: the kernels' entry
functions allocate the scratch arrays (with the runtime on) and pass them down, so every
array outlives the calls that borrow it.
"""

from __future__ import annotations

import math

from numba import njit, types
from numba.extending import overload

from ..activations import leaky_relu_scalar
from .mlp_model import CTRL_MLP, mlp_output

PLANT_LINEAR = 0
PLANT_CRUISE = 1
PLANT_PENDULUM = 2
PLANT_USER = 3

CTRL_PID = 0
CTRL_STATEFB = 1
CTRL_ADAPTIVE = 2

SHAPE_ERROR = 0
SHAPE_OUTPUT = 1

#: Signature of user dynamics: ``f(t, x, ud, params, dx) -> None`` writing ``dx`` in place.
USER_RHS_SIG = types.void(
    types.float64,
    types.float64[::1],
    types.float64[::1],
    types.float64[::1],
    types.float64[::1],
)
USER_RHS_TYPE = types.FunctionType(USER_RHS_SIG)


def call_user_rhs(user_f, t, x, ud, params, dx):
    """Call the user's dynamics; in kernels compiled for built-in models ``user_f`` is an
    integer and the call compiles to nothing."""
    raise NotImplementedError("only callable from numba kernels")


@overload(call_user_rhs)
def _call_user_rhs_impl(user_f, t, x, ud, params, dx):
    # Passing a first-class function through every call of the hot path cost about 130 ns per
    # derivative (measured); built-in models therefore get an integer placeholder instead.
    if isinstance(user_f, types.Integer):
        return lambda user_f, t, x, ud, params, dx: None
    return lambda user_f, t, x, ud, params, dx: user_f(t, x, ud, params, dx)


@njit(_nrt=False)
def _clip(v, lo, hi):
    return min(max(v, lo), hi)


@njit(_nrt=False)
def plant_dims(pint):
    """(n, m, q, p) for a plant: states, control inputs, disturbances, outputs."""
    code = pint[0]
    if code == PLANT_LINEAR or code == PLANT_USER:
        return pint[1], pint[2], pint[3], pint[4]
    if code == PLANT_CRUISE:
        return 1, 1, 1, 1
    return 2, 1, 1, 1  # pendulum


@njit(_nrt=False)
def plant_rhs(pint, ppar, user_f, t, x, u, d, work, dx):
    """Write the plant state derivative into ``dx[:n]``; ``x`` may be the whole closed-loop
    state (plant states first) so the hot path never slices; ``work`` is scratch (>= m + q)."""
    code = pint[0]
    if code == PLANT_LINEAR:
        n, m, q = pint[1], pint[2], pint[3]
        p = pint[4]
        ob = n * n
        oc = ob + n * m
        oe = oc + p * n
        of_ = oe + n * q
        ol = of_ + p * q
        for i in range(n):
            s = 0.0
            for j in range(n):
                s += ppar[i * n + j] * x[j]
            for j in range(m):
                s += ppar[ob + i * m + j] * _clip(u[j], ppar[ol + j], ppar[ol + m + j])
            for j in range(q):
                s += ppar[oe + i * q + j] * d[j]
            dx[i] = s
    elif code == PLANT_CRUISE:
        mass, g, cr, cd, rho, area = ppar[0], ppar[1], ppar[2], ppar[3], ppar[4], ppar[5]
        alpha, tm, omega_m, beta, brake = ppar[6], ppar[7], ppar[8], ppar[9], ppar[10]
        v = x[0]
        if brake > 0.0:
            throttle = _clip(u[0], -1.0, 1.0)
        else:
            throttle = _clip(u[0], 0.0, 1.0)
        if throttle >= 0.0:
            omega = alpha * v
            torque = tm * (1.0 - beta * (omega / omega_m - 1.0) ** 2)
            force = alpha * max(torque, 0.0) * throttle
        else:
            force = brake * throttle
        theta = d[0]
        fg = mass * g * math.sin(theta)
        fr = mass * g * cr * math.copysign(1.0, v)
        fa = 0.5 * rho * cd * area * abs(v) * v
        dx[0] = (force - fg - fr - fa) / mass
    elif code == PLANT_PENDULUM:
        mass, ell, b, g = ppar[0], ppar[1], ppar[2], ppar[3]
        torque = _clip(u[0], ppar[4], ppar[5]) + d[0]
        dx[0] = x[1]
        dx[1] = (torque - b * x[1] - mass * g * ell * math.sin(x[0])) / (mass * ell * ell)
    else:
        _user_plant_rhs(pint, ppar, user_f, t, x, u, d, work, dx)


@njit(_nrt=False)
def _user_plant_rhs(pint, ppar, user_f, t, x, u, d, work, dx):
    # Kept out of plant_rhs: array slices anywhere in a function made every call of it about
    # 45 ns slower (measured), even when the branch holding them never ran.
    n, m, q, p = pint[1], pint[2], pint[3], pint[4]
    ol = p * n
    for j in range(m):
        work[j] = _clip(u[j], ppar[ol + j], ppar[ol + m + j])
    for j in range(q):
        work[m + j] = d[j]
    call_user_rhs(user_f, t, x[:n], work[: m + q], ppar[ol + 2 * m :], dx[:n])


@njit(_nrt=False)
def plant_output(pint, ppar, x, d, y):
    """Write the plant output into ``y`` (no direct feedthrough from the control input)."""
    code = pint[0]
    if code == PLANT_LINEAR:
        n, m, q, p = pint[1], pint[2], pint[3], pint[4]
        oc = n * n + n * m
        of_ = oc + p * n + n * q
        for i in range(p):
            s = 0.0
            for j in range(n):
                s += ppar[oc + i * n + j] * x[j]
            for j in range(q):
                s += ppar[of_ + i * q + j] * d[j]
            y[i] = s
    elif code == PLANT_USER:
        n, p = pint[1], pint[4]
        for i in range(p):
            s = 0.0
            for j in range(n):
                s += ppar[i * n + j] * x[j]
            y[i] = s
    else:
        y[0] = x[0]


@njit(_nrt=False)
def plant_limits(pint, ppar, j):
    """Actuator limits of control input ``j`` as the plant itself applies them."""
    code = pint[0]
    if code == PLANT_LINEAR:
        n, m, q, p = pint[1], pint[2], pint[3], pint[4]
        ol = n * n + n * m + p * n + n * q + p * q
        return ppar[ol + j], ppar[ol + m + j]
    if code == PLANT_USER:
        n, m, p = pint[1], pint[2], pint[4]
        return ppar[p * n + j], ppar[p * n + m + j]
    if code == PLANT_CRUISE:
        return (-1.0 if ppar[10] > 0.0 else 0.0), 1.0
    return ppar[4], ppar[5]


@njit(_nrt=False)
def _pid_law(cint, cpar, e, z, ed):
    kp, ki, kd, a = cpar[0], cpar[1], cpar[2], cpar[3]
    if cint[1] == SHAPE_OUTPUT:
        return leaky_relu_scalar(kp * e + ki * z + kd * ed, a)
    return kp * leaky_relu_scalar(e, a) + ki * z + kd * ed


@njit(_nrt=False)
def ctrl_output(cint, cpar, X, n, y, r, uraw, u):
    """Controller command before (``uraw``) and after (``u``) its own saturation.

    ``X`` is the closed-loop state: plant states, then controller states from index ``n``.
    For a sampled controller this is the law evaluated on the current states; the kernel
    calls it only at sample instants and holds the result.
    """
    code = cint[0]
    if code == CTRL_PID:
        iz, ifl = cint[2], cint[3]
        e = r[0] - y[0]
        z = X[n + iz] if iz >= 0 else 0.0
        ed = (e - X[n + ifl]) / cpar[7] if ifl >= 0 else 0.0
        uraw[0] = _pid_law(cint, cpar, e, z, ed)
        u[0] = _clip(uraw[0], cpar[4], cpar[5])
    elif code == CTRL_ADAPTIVE:
        iz, ia = cint[1], cint[2]
        e = r[0] - y[0]
        z = X[n + iz] if iz >= 0 else 0.0
        # an RK4 stage may step a hair past a bound before the projection stops it; the law
        # itself never uses a slope outside [0, 1]
        a = _clip(X[n + ia], 0.0, 1.0)
        uraw[0] = cpar[0] * leaky_relu_scalar(e, a) + cpar[1] * z
        u[0] = _clip(uraw[0], cpar[4], cpar[5])
    elif code == CTRL_MLP:
        mlp_output(cint, cpar, X, n, r, uraw, u)
    else:
        nk, m = cint[1], cint[2]
        a, lo, hi = cpar[0], cpar[1], cpar[2]
        ok = 4
        okr = 4 + m * nk
        for i in range(m):
            s = cpar[okr + i] * r[0]
            for j in range(nk):
                s -= cpar[ok + i * nk + j] * X[j]
            uraw[i] = leaky_relu_scalar(s, a)
            u[i] = _clip(uraw[i], lo, hi)


@njit(_nrt=False)
def ctrl_rhs(cint, cpar, X, n, y, r, uraw, u, dX):
    """Derivatives of a continuous controller's states (integrator with back-calculation
    anti-windup, first-order derivative filter)."""
    if cint[0] == CTRL_PID:
        iz, ifl = cint[2], cint[3]
        e = r[0] - y[0]
        if iz >= 0:
            ki, kaw = cpar[1], cpar[6]
            aw = kaw / ki * (u[0] - uraw[0]) if ki != 0.0 else 0.0
            dX[n + iz] = e + aw
        if ifl >= 0:
            dX[n + ifl] = (e - X[n + ifl]) / cpar[7]
    elif cint[0] == CTRL_ADAPTIVE:
        iz, ia = cint[1], cint[2]
        e = r[0] - y[0]
        kp, ki, kaw = cpar[0], cpar[1], cpar[6]
        if iz >= 0:
            aw = kaw / ki * (u[0] - uraw[0]) if ki != 0.0 else 0.0
            dX[n + iz] = e + aw
        dX[n + ia] = _adaptive_slope_rate(kp, cpar[2], cpar[3], e, X[n + ia], u[0], uraw[0])


@njit(_nrt=False)
def _adaptive_slope_rate(kp, gamma, sgn, e, a, u, uraw):
    """MIT rule for the slope with projection onto [0, 1] (derivation in AdaptivePReLU)."""
    if u != uraw:
        return 0.0  # saturated: the applied input does not depend on a, so no gradient
    rate = gamma * sgn * kp * e * min(0.0, e)
    if (a >= 1.0 and rate > 0.0) or (a <= 0.0 and rate < 0.0):
        return 0.0
    return rate


@njit(_nrt=False)
def ctrl_sample(cint, cpar, X, n, y, r, uraw, u):
    """One sample of a sampled controller: refresh the derivative filter with the new error,
    compute the held command, then advance the integrator by one sample time (forward Euler)."""
    if cint[0] == CTRL_PID:
        iz, ifl = cint[2], cint[3]
        dt = cpar[8]
        e = r[0] - y[0]
        if ifl >= 0:
            tau = cpar[7]
            X[n + ifl] += dt / (tau + dt) * (e - X[n + ifl])  # backward Euler of xf' = (e - xf)/tau
        ctrl_output(cint, cpar, X, n, y, r, uraw, u)
        if iz >= 0:
            ki, kaw = cpar[1], cpar[6]
            aw = kaw / ki * (u[0] - uraw[0]) if ki != 0.0 else 0.0
            X[n + iz] += dt * (e + aw)
    else:
        ctrl_output(cint, cpar, X, n, y, r, uraw, u)


@njit(_nrt=False)
def ctrl_dims(cint):
    """(number of controller states, number of outputs, sampled flag)."""
    if cint[0] == CTRL_PID:
        nc = (1 if cint[2] >= 0 else 0) + (1 if cint[3] >= 0 else 0)
        return nc, 1, cint[4]
    if cint[0] == CTRL_ADAPTIVE:
        return (1 if cint[1] >= 0 else 0) + 1, 1, 0
    return 0, cint[2], cint[3]


@njit(_nrt=False)
def ctrl_dt(cint, cpar):
    """Sample time of a sampled controller (0 when continuous)."""
    if cint[0] == CTRL_PID:
        return cpar[8] if cint[4] else 0.0
    if cint[0] == CTRL_ADAPTIVE:
        return 0.0
    return cpar[3] if cint[3] else 0.0


__all__ = [
    "CTRL_ADAPTIVE",
    "CTRL_MLP",
    "CTRL_PID",
    "CTRL_STATEFB",
    "PLANT_CRUISE",
    "PLANT_LINEAR",
    "PLANT_PENDULUM",
    "PLANT_USER",
    "SHAPE_ERROR",
    "SHAPE_OUTPUT",
    "USER_RHS_SIG",
    "USER_RHS_TYPE",
    "ctrl_dims",
    "ctrl_dt",
    "ctrl_output",
    "ctrl_rhs",
    "ctrl_sample",
    "call_user_rhs",
    "plant_dims",
    "plant_limits",
    "plant_output",
    "plant_rhs",
]

