"""The L-stable Rosenbrock23 (ode23s) solver against independent oracles.

Oracles: ``scipy.integrate.solve_ivp(method="Radau", rtol=1e-10, atol=1e-12)`` on the stiff loop
written here in numpy (with its exact Jacobian; it agrees with Radau at 1e-13 and with BDF at
1e-12 to 1e-10), the matrix exponential of a linear loop (a = 1), numpy's dense solver for the
LU helpers, and Dopri5 at rtol 1e-9 (itself checked against DOP853 in test_dopri5.py) on the
cruise loop.

Bounds. ``rtol`` bounds each step's local error (Hairer's RMS norm, weights
``atol + rtol |x|``); the method propagates its 2nd-order solution, so the global error is the
loop's accumulation of local errors of up to that size, about ``C rtol^(2/3)`` and growing with
the number of steps. Measured at the default rtol 1e-6: 6.1x ``rtol * scale`` on the stiff loop
(a stable slow mode forgets old errors), 8.8x on the cruise loop (~370 steps), 4.8x on the
sampled cruise loop. The asserted bounds are those figures with a margin of 3-5x; each stays
below ``naccept * rtol * scale``, the sum of the accepted local errors.
"""

import math

import numpy as np
import pytest
import scipy.integrate
import scipy.linalg

import leaky_control as lc
from leaky_control.solvers.rosenbrock import Rosenbrock23, lu_factor, lu_solve

# --- the stiff loop: a slow plant (pole -1) read through a 1 us sensor lag (pole -1e6) ---

LAM = 1e6
KP, SLOPE = 2.0, 0.1
A_STIFF = np.array([[-1.0, 0.0], [LAM, -LAM]])
B_STIFF = np.array([[1.0], [0.0]])
C_STIFF = np.array([[0.0, 1.0]])


def _stiff_scenario():
    t = np.linspace(0.0, 6.0, 601)
    # ramp (a time-dependent field: exercises df/dt), hold, a fast step down (the error turns
    # negative, so the leak acts), hold
    r = np.interp(t, [0.0, 1.0, 3.0, 3.01, 6.0], [0.0, 1.0, 1.0, -0.5, -0.5])
    x0 = np.array([0.0, 0.5])  # sensor off the slow manifold: a 1 us transient at t = 0
    return t, r, x0


def _radau_reference(t, r, x0):
    """Radau on the loop written in numpy, restarted at each output time so the piecewise
    linear reference is smooth inside every call (the leak's kink is left to Radau)."""

    def leaky(e):
        return e if e > 0 else SLOPE * e

    out = np.empty((t.size, 2))
    out[0] = x0
    x = x0
    for k in range(t.size - 1):
        ta, tb, ra, rb = t[k], t[k + 1], r[k], r[k + 1]

        def ref_at(tt, ta=ta, tb=tb, ra=ra, rb=rb):
            return ra + (tt - ta) / (tb - ta) * (rb - ra)

        def f(tt, x, ref_at=ref_at):
            return A_STIFF @ x + B_STIFF[:, 0] * KP * leaky(ref_at(tt) - x[1])

        def jac(tt, x, ref_at=ref_at):
            s = 1.0 if ref_at(tt) - x[1] > 0 else SLOPE
            return A_STIFF - KP * s * B_STIFF @ C_STIFF

        sol = scipy.integrate.solve_ivp(f, (ta, tb), x, method="Radau", rtol=1e-10,
                                        atol=1e-12, jac=jac)
        assert sol.success
        x = sol.y[:, -1]
        out[k + 1] = x
    return out.T


def _stiff_loop():
    return (lc.LinearPlant(A=A_STIFF, B=B_STIFF, C=C_STIFF),
            lc.LeakyP(kp=KP, negative_slope=SLOPE))


def test_stiff_loop_against_radau_in_few_steps():
    plant, ctrl = _stiff_loop()
    t, r, x0 = _stiff_scenario()
    solver = Rosenbrock23()
    resp = lc.simulate(plant, ctrl, t, reference=r, initial_state=x0, solver=solver)
    assert resp.success, resp.message
    ref = _radau_reference(t, r, x0)
    assert np.any(r - ref[1] < -0.1)  # the leak acts (the oracle's law has the kink)

    scale = max(1.0, float(np.max(np.abs(ref))))
    err = float(np.max(np.abs(resp.states - ref)))
    # measured 6.1e-6 = 6.1 rtol scale (690 steps); see the module docstring
    assert err <= 30.0 * (solver.rtol * scale + solver.atol), err

    # explicit methods are held by the fast mode: RK4's stability interval on the negative
    # axis is 2.785, so it needs at least T rho / 2.785 steps (~2.2e6 here)
    rho = max(np.max(np.abs(np.linalg.eigvals(A_STIFF - KP * s * B_STIFF @ C_STIFF)))
              for s in (SLOPE, 1.0))
    explicit_steps = (t[-1] - t[0]) * rho / 2.785
    st = resp.stats
    assert explicit_steps > 1e6
    assert st["nsteps"] < 1e4 and st["nsteps"] < explicit_steps / 100, st  # measured 690
    # evaluations: F0, the starting-step guess, 2 per trial, nx + 1 per Jacobian (one per
    # accepted step in a complete run)
    assert st["nfev"] == 2 + 2 * st["nsteps"] + 3 * st["naccept"], st
    assert math.isnan(st["failure_time"])


# --- the non-stiff cruise loop against Dopri5 at a much tighter tolerance ---

CRUISE_T = np.linspace(0.0, 30.0, 301)


def _cruise(dt=None):
    return lc.CruiseControl(), lc.LeakyPI(kp=0.5, ki=0.1, negative_slope=0.1, u_min=0.0,
                                          u_max=1.0, dt=dt)


@pytest.mark.parametrize(("dt", "factor"), [(None, 30.0), (0.5, 20.0)])
def test_cruise_against_tight_dopri5(dt, factor):
    # measured: 8.8x rtol scale continuous (372 steps), 4.8x sampled at 0.5 s (63 steps)
    plant, ctrl = _cruise(dt)
    solver = Rosenbrock23()
    kw = dict(reference=25.0, initial_state=[20.0])
    ours = lc.simulate(plant, ctrl, CRUISE_T, solver=solver, **kw)
    ref = lc.simulate(plant, ctrl, CRUISE_T, solver=lc.Dopri5(rtol=1e-9, atol=1e-12), **kw)
    assert ours.success and ref.success, ours.message
    scale = float(np.max(np.abs(ref.states)))
    err = float(np.max(np.abs(ours.states - ref.states)))
    assert err <= factor * (solver.rtol * scale + solver.atol), (err, ours.stats)
    if dt is not None:
        # steps end at every sample instant (60 samples over 30 s)
        assert ours.stats["naccept"] >= 60
        assert np.array_equal(ours.signal("u") == 1.0, ref.signal("u") == 1.0)


# --- convergence on a smooth linear loop with a closed-form solution ---

A_OSC = np.array([[0.0, 1.0], [-4.0, -0.3]])
B_OSC = np.array([[0.0], [1.0]])
C_OSC = np.array([[1.0, 0.0]])
R0, R1 = 0.5, 0.3  # reference r = R0 + R1 t: the field depends on time


def _linear_loop():
    plant = lc.LinearPlant(A=A_OSC, B=B_OSC, C=C_OSC)
    return plant, lc.LeakyP(kp=KP, negative_slope=1.0)


def _exact(t, x0):
    """x' = (A - kp B C) x + kp B (R0 + R1 t), as the exponential of the augmented system
    z = (x, t, 1)."""
    M = np.zeros((4, 4))
    M[:2, :2] = A_OSC - KP * B_OSC @ C_OSC
    M[:2, 2] = KP * B_OSC[:, 0] * R1
    M[:2, 3] = KP * B_OSC[:, 0] * R0
    M[2, 3] = 1.0
    z0 = np.r_[x0, 0.0, 1.0]
    return np.array([(scipy.linalg.expm(M * tk) @ z0)[:2] for tk in t]).T


def test_error_falls_with_tolerance_at_order_two():
    plant, ctrl = _linear_loop()
    x0 = np.array([1.0, 0.0])
    t = np.linspace(0.0, 4.0, 41)
    exact = _exact(t, x0)
    rtols = np.array([1e-4, 1e-5, 1e-6, 1e-7, 1e-8])
    errs, steps = [], []
    for rtol in rtols:
        resp = lc.simulate(plant, ctrl, t, reference=R0 + R1 * t, initial_state=x0,
                           solver=Rosenbrock23(rtol=rtol, atol=rtol * 1e-3))
        assert resp.success
        errs.append(np.max(np.abs(resp.states - exact)))
        steps.append(resp.stats["naccept"])
    errs = np.array(errs)
    assert np.all(np.diff(errs) < 0), errs
    # order 2: error ~ steps^-2 (measured 2.01); with error-per-step control the error goes
    # as rtol^(p/(p+1)) = rtol^(2/3) (measured slope 0.67)
    order = -np.polyfit(np.log(steps), np.log(errs), 1)[0]
    slope = np.polyfit(np.log(rtols), np.log(errs), 1)[0]
    assert 1.8 <= order <= 2.2, (order, errs, steps)
    assert 0.55 <= slope <= 0.8, (slope, errs)
    # the lightly damped loop (damping ratio 0.06) adds its local errors coherently:
    # measured 230x rtol at 1e-6 over 502 steps, below the sum of the local errors
    assert errs[2] <= 0.9 * steps[2] * rtols[2] * max(1.0, np.max(np.abs(exact)))


def test_fixed_steps_global_order_two_and_local_order_three():
    # steps of exactly h (first_step = dtmax = h, tolerances so loose nothing is rejected)
    plant, ctrl = _linear_loop()
    x0 = np.array([1.0, 0.0])
    glob, end, mid = [], [], []
    hs = (0.2, 0.1, 0.05)
    for h in hs:
        t = np.linspace(0.0, 2.0, round(2.0 / h) + 1)
        resp = lc.simulate(plant, ctrl, t, reference=R0 + R1 * t, initial_state=x0,
                           solver=Rosenbrock23(rtol=0.5, atol=1.0, first_step=h, dtmax=h))
        assert resp.stats["nreject"] == 0 and resp.stats["naccept"] == t.size - 1
        glob.append(np.max(np.abs(resp.states - _exact(t, x0))))
        # one step, with an output at mid-step from the continuous extension
        t1 = np.array([0.0, 0.5 * h, h])
        one = lc.simulate(plant, ctrl, t1, reference=R0 + R1 * t1, initial_state=x0,
                          solver=Rosenbrock23(rtol=0.5, atol=1.0, first_step=h))
        assert one.stats["naccept"] == 1
        e = np.linalg.norm(one.states - _exact(t1, x0), axis=0)
        mid.append(e[1])
        end.append(e[2])
    obs_glob = np.log2(np.array(glob[:-1]) / np.array(glob[1:]))
    obs_end = np.log2(np.array(end[:-1]) / np.array(end[1:]))
    obs_mid = np.log2(np.array(mid[:-1]) / np.array(mid[1:]))
    # measured 1.96, 2.00 (global); 2.76, 2.92 (end of step) and 2.91, 2.97 (mid-step):
    # order 2, local errors O(h^3), the continuous extension second order
    assert np.all(np.abs(obs_glob - 2.0) < 0.2), obs_glob
    assert np.all(np.abs(obs_end - 3.0) < 0.35), obs_end
    assert np.all(np.abs(obs_mid - 3.0) < 0.35), obs_mid
    assert Rosenbrock23.order == 2 and Rosenbrock23.adaptive


# --- failures ---

@pytest.mark.parametrize(("kwargs", "name"), [
    ({"rtol": 0.0}, "rtol"),
    ({"rtol": 1.0}, "rtol"),
    ({"atol": -1.0}, "atol"),
    ({"atol": 0.0}, "atol"),
    ({"dtmin": -1.0}, "dtmin"),
    ({"max_steps": 0}, "max_steps"),
    ({"max_steps": 2.5}, "max_steps"),
    ({"dtmin": 1.0, "dtmax": 1.0}, "dtmax"),
    ({"dtmin": 1.0, "dtmax": 0.5}, "dtmax"),
    ({"first_step": 0.0}, "first_step"),
])
def test_bad_parameters_raise_naming_them(kwargs, name):
    with pytest.raises((TypeError, ValueError), match=name) as exc:
        Rosenbrock23(**kwargs)
    assert repr(kwargs[name]) in str(exc.value) or str(kwargs[name]) in str(exc.value)


def test_max_steps_reached_reports_time_and_nan_tail():
    plant, ctrl = _stiff_loop()
    t, r, x0 = _stiff_scenario()
    resp = lc.simulate(plant, ctrl, t, reference=r, initial_state=x0,
                       solver=Rosenbrock23(max_steps=5))
    assert not resp.success
    assert "max_steps = 5" in resp.message and "t = " in resp.message
    st = resp.stats
    assert st["naccept"] + st["nreject"] == 5
    ft = st["failure_time"]
    assert 0.0 < ft < t[-1]
    assert np.all(np.isnan(resp.states[:, t > ft]))
    assert np.all(np.isnan(resp.y[:, t > ft])) and np.all(np.isnan(resp.loop.y[:, t > ft]))
    assert np.all(np.isfinite(resp.states[:, t <= ft]))


def test_divergent_loop_ends_non_finite():
    # an unstable plant the controller cannot hold (kp = 0): x = e^(10 t) passes 1e150 at 34.5 s
    plant = lc.LinearPlant(A=[[10.0]], B=[[1.0]], C=[[1.0]])
    t = np.linspace(0.0, 40.0, 41)
    resp = lc.simulate(plant, lc.LeakyP(kp=0.0, negative_slope=0.5), t, initial_state=[1.0],
                       solver=Rosenbrock23())
    assert not resp.success and "non-finite" in resp.message
    ft = resp.stats["failure_time"]
    assert 30.0 < ft < 40.0
    assert np.all(np.isnan(resp.states[:, t > ft]))


def test_singular_w_rejects_the_step_instead_of_producing_nan():
    # x' = 4 x: the finite-difference Jacobian is exactly 4 (powers of two), and the first step
    # h = 0.25 / d makes W = 1 - h d J exactly 0. The trial is rejected without evaluations
    # and the step halved; the run then matches the one from the automatic first step.
    from leaky_control.solvers.rosenbrock import D

    h = 0.25 / D
    assert (h * D) * 4.0 == 1.0
    plant = lc.LinearPlant(A=[[4.0]], B=[[1.0]], C=[[1.0]])
    ctrl = lc.LeakyP(kp=0.0, negative_slope=0.5)
    t = np.linspace(0.0, 1.0, 11)
    resp = lc.simulate(plant, ctrl, t, initial_state=[1.0], solver=Rosenbrock23(first_step=h))
    assert resp.success, resp.message
    st = resp.stats
    assert st["nreject"] >= 1
    # F0, 2 per evaluated trial, 2 per Jacobian (state and time): one trial was not evaluated
    assert st["nfev"] == 1 + 2 * (st["nsteps"] - 1) + 2 * st["naccept"], st
    rel = np.max(np.abs(resp.states[0] - np.exp(4.0 * t)) / np.exp(4.0 * t))
    assert rel < 200 * 1e-6, rel  # growth e^4 over ~150 steps: measured 1.1e-4


# --- the LU helpers the body solves with ---

def test_lu_with_partial_pivoting_against_numpy():
    rng = np.random.default_rng(1)
    for n in (1, 2, 5, 9):
        A = rng.standard_normal((n, n))
        if n > 1:
            A[0, 0] = 0.0  # needs a row swap
        b = rng.standard_normal(n)
        LU = A.copy()
        piv = np.empty(n, dtype=np.int64)
        assert lu_factor(LU, piv)
        x = b.copy()
        lu_solve(LU, piv, x)
        np.testing.assert_allclose(x, np.linalg.solve(A, b), rtol=1e-10, atol=1e-12)
    singular = np.array([[1.0, 2.0], [2.0, 4.0]])
    assert not lu_factor(singular, np.empty(2, dtype=np.int64))
    assert not lu_factor(np.array([[np.nan]]), np.empty(1, dtype=np.int64))
