"""The adaptive explicit Runge-Kutta solvers (Dormand-Prince 5(4) and Tsitouras 5(4), one
loop, two tableaux) against closed forms and a much tighter integrator.

Oracles: the matrix exponential of a linear loop (a = 1), and ``scipy.integrate.solve_ivp``
(DOP853, rtol 1e-12, atol 1e-14) on the closed-loop right-hand side of ``closed_loop_nlsys``
(numpy models joined by python-control, independent of the kernels), with the signals
linear between output times as simulate's convention says. The reference itself is good to
about 1e-9 here (it crosses the loop's kinks too; RK4 at h = 2e-5 s agreed with it to 1.7e-8 on
the saturated mass-spring-damper), far below the bounds tested.

Bound. The tolerance is local (per step); the global error is the sum of local errors carried
by the loop's dynamics, and a step across a kink of the leaky shape or a saturation is only
caught through the error estimates. Measured with rtol = 1e-6, atol = 1e-9 over the cases
below: at most 2.1x rtol times the signal's size (cruise, brake). The test asserts
10 * rtol * scale + 10 * atol, the bound docs/simulation.md states.
"""

import math

import control as ct
import numpy as np
import pytest
import scipy.integrate
import scipy.linalg

import leaky_control as lc

RTOL, ATOL = 1e-6, 1e-9
#: the explicit RK pairs on the shared adaptive loop
METHODS = [lc.Dopri5, lc.Tsit5]


def dop853_reference(plant, ctrl, t, r, d, x0, xc0=None):
    """DOP853 restarted at every output time: the signals are exactly linear inside each
    interval, so the reference never has to resolve their slope changes by step rejection
    (which at rtol 1e-12 cost ~10 s a case); it still crosses the loop's own kinks."""
    plant = lc.as_plant(plant)
    sys = lc.closed_loop_nlsys(plant, ctrl)
    q = plant.ndisturbances
    U = np.vstack([np.broadcast_to(r, t.shape), np.broadcast_to(d, (q, t.size))])
    X = np.concatenate([x0, np.zeros(sys.nstates - len(x0)) if xc0 is None else xc0])
    out = np.empty((X.size, t.size))
    out[:, 0] = X
    for k in range(t.size - 1):
        ta, tb, Ua, Ub = t[k], t[k + 1], U[:, k], U[:, k + 1]

        def f(tt, x, ta=ta, tb=tb, Ua=Ua, Ub=Ub):
            return sys._rhs(tt, x, Ua + (tt - ta) / (tb - ta) * (Ub - Ua))

        sol = scipy.integrate.solve_ivp(f, (ta, tb), X, method="DOP853", rtol=1e-12,
                                        atol=1e-14)
        assert sol.success
        X = sol.y[:, -1]
        out[:, k + 1] = X
    return out


def assert_within_tolerance(ours, ref, rtol, atol, what):
    scale = max(1.0, float(np.max(np.abs(ref))))
    err = float(np.max(np.abs(np.asarray(ours) - np.asarray(ref))))
    bound = 10.0 * rtol * scale + 10.0 * atol
    assert err <= bound, f"{what}: max error {err:.3g} > {bound:.3g}"
    return err / (rtol * scale)


CASES = {
    "lag-P-relu": (lc.FirstOrderLag(gain=2.0, tau=0.5), lc.LeakyP(kp=3.0, negative_slope=0.0)),
    "msd-PI-leaky-sat": (lc.MassSpringDamper(m=1.0, c=0.4, k=2.0),
                         lc.LeakyPI(kp=4.0, ki=3.0, negative_slope=0.1, u_min=-2.0, u_max=3.0)),
    "msd-PID-output-shape": (lc.MassSpringDamper(m=1.0, c=0.2, k=1.0),
                             lc.LeakyPID(kp=5.0, ki=2.0, kd=1.0, negative_slope=0.2,
                                         shape="output")),
    "dcmotor-PID-sat": (lc.DCMotor(), lc.LeakyPID(kp=100.0, ki=200.0, kd=1.0, tau_d=0.01,
                                                  negative_slope=0.05, u_min=-24.0, u_max=24.0)),
    "pendulum-PD": (lc.Pendulum(u_min=-5.0, u_max=5.0),
                    lc.LeakyPD(kp=20.0, kd=4.0, negative_slope=0.3)),
    "cruise-PI-brake": (lc.CruiseControl(brake=True),
                        lc.LeakyPI(kp=0.5, ki=0.1, negative_slope=0.1, u_min=-1.0, u_max=1.0)),
    "cruise-PI-coast": (lc.CruiseControl(),
                        lc.LeakyPI(kp=0.5, ki=0.1, negative_slope=0.0, u_min=0.0, u_max=1.0)),
    "tf-plant-P": (ct.tf([1.0], [1.0, 2.0, 0.0]), lc.LeakyP(kp=4.0, negative_slope=0.5)),
}


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("case", list(CASES))
def test_error_respects_tolerance_against_dop853(case, method, loop_scenario):
    plant, ctrl = CASES[case]
    p = lc.as_plant(plant)
    t, x0, r, d = loop_scenario(p)
    ours = lc.simulate(p, ctrl, t, reference=r, disturbance=d, initial_state=x0,
                       solver=method(rtol=RTOL, atol=ATOL))
    assert ours.success, ours.message
    assert ours.stats["naccept"] > 0 and ours.stats["nfev"] >= 7 * ours.stats["naccept"]
    ref = dop853_reference(p, ctrl, t, r, d, x0)
    assert_within_tolerance(ours.states, ref, RTOL, ATOL, case)


def test_state_feedback_mimo_against_dop853():
    A = np.array([[0.0, 1.0, 0.0], [-2.0, -0.5, 1.0], [0.0, 0.0, -1.0]])
    B = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    plant = lc.LinearPlant(A, B, np.array([[1.0, 0.0, 0.0]]))
    K = np.array([[3.0, 1.0, 0.5], [0.2, 0.0, 2.0]])
    ctrl = lc.LeakyStateFeedback(K=K, negative_slope=0.2, kr=[2.0, -1.0], u_min=-3.0, u_max=3.0)
    t = np.linspace(0.0, 5.0, 251)
    r = np.where(t < 2.5, 1.0, -1.0)
    x0 = np.array([0.5, 0.0, -0.3])
    ours = lc.simulate(plant, ctrl, t, reference=r, initial_state=x0,
                       solver=lc.Dopri5(rtol=RTOL, atol=ATOL))
    assert ours.success, ours.message
    ref = dop853_reference(plant, ctrl, t, r, np.zeros((2, t.size)), x0)
    assert_within_tolerance(ours.states, ref, RTOL, ATOL, "state feedback")


def _linear_loop():
    plant = lc.MassSpringDamper(m=1.0, c=0.3, k=4.0)
    kp = 2.0
    return plant, lc.LeakyP(kp=kp, negative_slope=1.0), plant.A - kp * plant.B @ plant.C


@pytest.mark.parametrize("method", METHODS)
def test_linear_loop_against_matrix_exponential_and_converges_with_tolerance(method):
    plant, ctrl, Acl = _linear_loop()
    x0 = np.array([1.0, 0.0])
    t = np.linspace(0.0, 5.0, 51)  # constant signals: outputs come from the dense output
    exact = np.array([scipy.linalg.expm(Acl * tk) @ x0 for tk in t]).T
    errs = []
    for rtol in (1e-4, 1e-6, 1e-8):
        resp = lc.simulate(plant, ctrl, t, initial_state=x0,
                           solver=method(rtol=rtol, atol=rtol * 1e-3))
        assert resp.success
        if rtol == 1e-4:
            assert resp.stats["naccept"] < t.size - 1  # steps span output times
        errs.append(np.max(np.abs(resp.states - exact)))
        assert_within_tolerance(resp.states, exact, rtol, rtol * 1e-3, f"rtol {rtol}")
    # global error follows the tolerance: two decades of rtol give at least 1.5 decades
    assert errs[1] < errs[0] / 30 and errs[2] < errs[1] / 30, errs


@pytest.mark.parametrize("method", METHODS)
def test_local_order_five_and_dense_output_order_four(method):
    # one step of length h (first_step = h, a loose tolerance so it is accepted) on the free
    # linear loop: local error O(h^6) at the step's end (order 5), O(h^5) at mid-step, where
    # the output comes from the continuous extension (order 4)
    plant, ctrl, Acl = _linear_loop()
    x0 = np.array([1.0, 0.0])
    end, mid = [], []
    hs = (0.2, 0.1, 0.05)
    for h in hs:
        t = np.array([0.0, 0.5 * h, h])
        resp = lc.simulate(plant, ctrl, t, initial_state=x0,
                           solver=method(rtol=0.5, atol=1.0, first_step=h))
        assert resp.stats["naccept"] == 1 and resp.stats["nreject"] == 0
        end.append(np.linalg.norm(resp.states[:, 2] - scipy.linalg.expm(Acl * h) @ x0))
        mid.append(np.linalg.norm(resp.states[:, 1] - scipy.linalg.expm(Acl * 0.5 * h) @ x0))
    obs_end = np.log2(np.array(end[:-1]) / np.array(end[1:]))
    obs_mid = np.log2(np.array(mid[:-1]) / np.array(mid[1:]))
    # observed exponents within 0.3 of 6 (local error of a 5th-order step) and 5. Tsit5's
    # coefficients were chosen to make the leading error terms small, so at these steps its
    # errors still fall faster than the asymptotic rates (measured 7.1, 6.8 at the end and
    # 5.4, 5.3 at mid-step, approaching 6 and 5): at least orders 5 and 4 there
    if method is lc.Dopri5:
        assert np.all(np.abs(obs_end - 6.0) < 0.3), obs_end
        assert np.all(np.abs(obs_mid - 5.0) < 0.3), obs_mid
    else:
        assert np.all(obs_end > 5.7), obs_end
        assert np.all(obs_mid > 4.7), obs_mid
    assert method().order == 5


def test_sampled_controller_steps_end_at_samples():
    # oracle: the fixed-step RK4 kernel at h = 1e-4 s, itself checked against a piecewise
    # solve_ivp loop in test_simulate.py; both sample at t0 + k dt
    plant = lc.MassSpringDamper(m=1.0, c=0.5, k=1.0)
    ctrl = lc.LeakyPID(kp=3.0, ki=1.5, kd=0.8, tau_d=0.05, negative_slope=0.1, dt=0.1,
                       u_min=-2.0, u_max=2.0)
    t = np.linspace(0.0, 5.0, 76)  # output times off the sample grid too
    ours = lc.simulate(plant, ctrl, t, reference=1.0, solver=lc.Dopri5(rtol=RTOL, atol=ATOL))
    ref = lc.simulate(plant, ctrl, t, reference=1.0, solver=lc.RK4(max_step=1e-4))
    assert ours.success
    assert ours.stats["naccept"] >= 50  # at least one step per sample interval
    assert_within_tolerance(ours.states, ref.states, RTOL, ATOL, "sampled")
    assert np.array_equal(ours.signal("u") == 0, ref.signal("u") == 0)


def test_user_rhs_plant_through_function_slot(duffing_plant):
    plant = duffing_plant
    ctrl = lc.LeakyPI(kp=3.0, ki=1.0, negative_slope=0.2)
    t = np.linspace(0, 4, 201)
    ours = lc.simulate(plant, ctrl, t, reference=1.0, disturbance=0.1,
                       solver=lc.Dopri5(rtol=RTOL, atol=ATOL))
    assert ours.success, ours.message
    ref = dop853_reference(plant, ctrl, t, 1.0, 0.1, np.zeros(2))
    assert_within_tolerance(ours.states, ref, RTOL, ATOL, "user plant")


def test_max_steps_reached_reports_time_and_nan_tail():
    plant, ctrl, _ = _linear_loop()
    t = np.linspace(0.0, 5.0, 51)
    resp = lc.simulate(plant, ctrl, t, initial_state=[1.0, 0.0],
                       solver=lc.Dopri5(rtol=1e-10, atol=1e-12, max_steps=5))
    assert not resp.success
    assert "max_steps = 5" in resp.message and "t = " in resp.message
    assert resp.stats["naccept"] + resp.stats["nreject"] == 5
    ft = resp.stats["failure_time"]
    assert 0.0 < ft < 5.0
    assert np.all(np.isnan(resp.states[:, t > ft]))
    assert np.all(np.isfinite(resp.states[:, t <= ft]))


def test_step_size_underflow_reports_time():
    plant = lc.FirstOrderLag(gain=2.0, tau=0.5)
    t = np.linspace(0.0, 2.0, 21)
    resp = lc.simulate(plant, lc.LeakyP(kp=3.0, negative_slope=0.0), t, reference=1.0,
                       solver=lc.Dopri5(rtol=1e-8, atol=1e-10, dtmin=0.05, first_step=0.1))
    assert not resp.success
    assert "step size underflow" in resp.message and "dtmin = 0.05" in resp.message
    assert np.isnan(resp.states[0, -1])


def test_divergence_is_reported_as_non_finite():
    plant = lc.LinearPlant(np.array([[400.0]]), np.array([[1.0]]), np.array([[1.0]]))
    resp = lc.simulate(plant, lc.LeakyP(kp=0.0, negative_slope=0.1), np.linspace(0.0, 2.0, 11), initial_state=[1.0],
                       solver=lc.Dopri5())
    assert not resp.success and "non-finite or diverged" in resp.message
    # x = exp(400 t) passes 1e150 at t = ln(1e150) / 400 = 0.86 s
    assert resp.stats["failure_time"] == pytest.approx(math.log(1e150) / 400.0, rel=0.05)


@pytest.mark.parametrize("kw, name", [
    ({"rtol": 0.0}, "rtol"), ({"rtol": -1e-6}, "rtol"), ({"rtol": math.nan}, "rtol"),
    ({"rtol": 1e-17}, "rtol"), ({"atol": 0.0}, "atol"), ({"atol": math.nan}, "atol"),
    ({"dtmin": -1.0}, "dtmin"), ({"dtmax": 0.0}, "dtmax"), ({"dtmax": math.nan}, "dtmax"),
    ({"dtmin": 1.0, "dtmax": 0.5}, "dtmax"), ({"max_steps": 0}, "max_steps"),
    ({"max_steps": 10.5}, "max_steps"), ({"first_step": 0.0}, "first_step"),
])
def test_bad_solver_parameters_are_rejected(kw, name):
    with pytest.raises((TypeError, ValueError), match=name):
        lc.Dopri5(**kw)


def test_signal_stops_only_at_slope_changes():
    from leaky_control.solvers.stops import signal_stops

    t = np.linspace(0.0, 30.0, 3001)
    deg = math.pi / 180
    theta = np.where(t <= 5, 0.0, np.where(t <= 6, 4 * deg * (t - 5), 4 * deg))
    stops = signal_stops(t, np.full((1, t.size), 25.0), theta[None, :])
    assert list(t[stops]) == pytest.approx([5.0, 6.0, 30.0])


def test_adaptive_slope_controller_against_dop853():
    # the slope state's rate jumps to 0 at the bounds of [0, 1] and while saturated (a
    # discontinuous field, not only a kink); measured 3.5x rtol on the slope state
    plant = lc.MassSpringDamper(m=1.0, c=0.4, k=2.0)
    ctrl = lc.AdaptivePReLU(kp=4.0, ki=3.0, gamma=40.0, a0=0.2, u_min=-2.0, u_max=3.0)
    t = np.linspace(0.0, 4.0, 201)
    r = np.where(t < 2.0, 1.0, -0.5)
    ours = lc.simulate(plant, ctrl, t, reference=r, solver=lc.Dopri5(rtol=RTOL, atol=ATOL))
    assert ours.success, ours.message
    ref = dop853_reference(plant, ctrl, t, r, np.zeros((1, t.size)), np.zeros(2),
                           xc0=ctrl.initial_state)
    assert_within_tolerance(ours.states, ref, RTOL, ATOL, "adaptive slope")
