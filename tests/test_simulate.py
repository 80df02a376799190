"""The fast simulator against python-control, scipy and closed forms.

Reference runs use ``control.input_output_response`` on ``closed_loop_nlsys`` (the plant and
controller as numpy NonlinearIOSystems joined by ``control.interconnect``) with solve_ivp at
rtol 1e-10 / atol 1e-12. Fixed-step RK4 is fourth order only between kinks: a step across the
kink of the leaky shape or a saturation makes a local error of order h^2 times the jump in
slope (measured: 1.2e-5 at h = 1e-3 s with a 12/s jump, 1e-5 at h = 2e-4 s for the saturated
DC-motor PID). Our runs use h = 2e-5 s, which puts every case below the stated tolerance of 1e-6 relative to the signal's size (plus 1e-9).
"""

import math

import control as ct
import numpy as np
import pytest
import scipy.integrate
import scipy.linalg

import leaky_control as lc

TIGHT = {"rtol": 1e-10, "atol": 1e-12}
FINE = lc.RK4(max_step=2e-5)


def reference_run(plant, ctrl, t, r, d, x0):
    sys = lc.closed_loop_nlsys(plant, ctrl)
    plant_ = lc.as_plant(plant)
    U = np.vstack([np.broadcast_to(r, t.shape), np.broadcast_to(d, (plant_.ndisturbances, t.size))])
    X0 = np.concatenate([x0, np.zeros(sys.nstates - len(x0))])
    return ct.input_output_response(sys, t, U, X0, solve_ivp_method="RK45",
                                    solve_ivp_kwargs=TIGHT)


def assert_close(ours, ref, what):
    scale = max(1.0, float(np.max(np.abs(ref))))
    err = float(np.max(np.abs(np.asarray(ours) - np.asarray(ref))))
    assert err <= 1e-6 * scale + 1e-9, f"{what}: max error {err:.3g} > 1e-6 * {scale:.3g}"


CASES = {
    "lag-P-relu": (lc.FirstOrderLag(gain=2.0, tau=0.5), lc.LeakyP(kp=3.0, negative_slope=0.0)),
    "msd-PI-leaky-sat": (lc.MassSpringDamper(m=1.0, c=0.4, k=2.0),
                         lc.LeakyPI(kp=4.0, ki=3.0, negative_slope=0.1, u_min=-2.0, u_max=3.0)),
    "msd-PID-output-shape": (lc.MassSpringDamper(m=1.0, c=0.2, k=1.0),
                             lc.LeakyPID(kp=5.0, ki=2.0, kd=1.0, negative_slope=0.2, shape="output")),
    "dcmotor-PID": (lc.DCMotor(), lc.LeakyPID(kp=100.0, ki=200.0, kd=1.0, tau_d=0.01, negative_slope=0.05,
                                              u_min=-24.0, u_max=24.0)),
    "pendulum-PD": (lc.Pendulum(u_min=-5.0, u_max=5.0), lc.LeakyPD(kp=20.0, kd=4.0, negative_slope=0.3)),
    "cruise-PI-brake": (lc.CruiseControl(brake=True),
                        lc.LeakyPI(kp=0.5, ki=0.1, negative_slope=0.1, u_min=-1.0, u_max=1.0)),
    "tf-plant-P": (ct.tf([1.0], [1.0, 2.0, 0.0]), lc.LeakyP(kp=4.0, negative_slope=0.5)),
}


@pytest.mark.parametrize("case", list(CASES))
def test_agrees_with_input_output_response(case, loop_scenario):
    plant, ctrl = CASES[case]
    p = lc.as_plant(plant)
    t, x0, r, d = loop_scenario(p)
    ours = lc.simulate(p, ctrl, t, reference=r, disturbance=d, initial_state=x0, solver=FINE)
    assert ours.success, ours.message
    ref = reference_run(p, ctrl, t, r, d, x0)
    assert_close(ours.y[0], ref.outputs[0], f"{case} output")
    assert_close(ours.signal("u"), np.clip(ref.outputs[1], *[v[0] for v in p.actuator_limits()]),
                 f"{case} input")


def test_state_feedback_multi_input_agrees_with_input_output_response():
    A = np.array([[0.0, 1.0, 0.0], [-2.0, -0.5, 1.0], [0.0, 0.0, -1.0]])
    B = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    C = np.array([[1.0, 0.0, 0.0]])
    plant = lc.LinearPlant(A, B, C)
    K = np.array([[3.0, 1.0, 0.5], [0.2, 0.0, 2.0]])
    ctrl = lc.LeakyStateFeedback(K=K, negative_slope=0.2, kr=[2.0, -1.0], u_min=-3.0, u_max=3.0)
    t = np.linspace(0, 5, 251)
    r = np.where(t < 2.5, 1.0, -1.0)
    x0 = np.array([0.5, 0.0, -0.3])
    ours = lc.simulate(plant, ctrl, t, reference=r, initial_state=x0, solver=FINE)
    ref = reference_run(plant, ctrl, t, r, np.zeros((2, t.size)), x0)
    assert_close(ours.y[0], ref.outputs[0], "state feedback output")
    assert_close(ours.loop.y[:2], ref.outputs[1:3], "state feedback inputs")


def test_linear_loop_agrees_with_forced_response():
    # a = 1 makes the loop linear: x' = (A - kp B C) x + kp B r
    plant = lc.MassSpringDamper(m=2.0, c=0.5, k=3.0)
    kp = 2.5
    t = np.linspace(0, 10, 501)
    r = np.sin(0.7 * t) + (t > 3)
    cl = ct.ss(plant.A - kp * plant.B @ plant.C, kp * plant.B, plant.C, 0)
    ref = ct.forced_response(cl, t, r)
    ours = lc.simulate(plant, lc.LeakyP(kp=kp, negative_slope=1.0), t, reference=r, solver=FINE)
    assert_close(ours.outputs, ref.outputs, "linear loop")


def test_rk4_and_euler_orders_against_matrix_exponential():
    plant = lc.MassSpringDamper(m=1.0, c=0.3, k=4.0)
    kp = 2.0
    Acl = plant.A - kp * plant.B @ plant.C
    x0 = np.array([1.0, 0.0])
    T = 2.0
    exact = scipy.linalg.expm(Acl * T) @ x0  # reference 0: free response
    errs = {}
    for solver_cls in (lc.RK4, lc.Euler):
        e = []
        for h in (0.02, 0.01, 0.005):
            resp = lc.simulate(plant, lc.LeakyP(kp=kp, negative_slope=1.0), np.array([0.0, T]),
                               initial_state=x0, solver=solver_cls(max_step=h))
            e.append(np.linalg.norm(resp.states[:2, -1] - exact))
        errs[solver_cls.order] = e
    for order, e in errs.items():
        observed = np.log2(np.array(e[:-1]) / np.array(e[1:]))
        # observed order within 0.15 of the nominal order on a smooth problem
        assert np.all(np.abs(observed - order) < 0.15), (order, observed)


def test_sampled_controller_against_piecewise_solve_ivp():
    plant = lc.MassSpringDamper(m=1.0, c=0.5, k=1.0)
    ctrl = lc.LeakyPID(kp=3.0, ki=1.5, kd=0.8, tau_d=0.05, negative_slope=0.1, dt=0.1,
                       u_min=-2.0, u_max=2.0)
    t = np.linspace(0.0, 5.0, 51)  # outputs on the sample grid
    ours = lc.simulate(plant, ctrl, t, reference=1.0, solver=lc.RK4(max_step=1e-3))
    # reference: hold the controller output over each sample interval, integrate the plant
    # exactly with solve_ivp, and step the discrete controller with python-control's update
    csys = ctrl.to_nlsys()
    psys = plant.to_nlsys()
    x = np.zeros(2)
    xc = np.zeros(csys.nstates)
    ys, us = [], []
    for k in range(50):
        y = float((plant.C @ x)[0])
        u = float(csys._out(k * 0.1, xc, np.array([1.0, y]))[0])
        ys.append(y)
        us.append(u)
        xc = csys._rhs(k * 0.1, xc, np.array([1.0, y]))
        sol = scipy.integrate.solve_ivp(lambda tt, xx: psys._rhs(tt, xx, np.array([u, 0.0])),
                                        (k * 0.1, (k + 1) * 0.1), x, rtol=1e-11, atol=1e-13)
        x = sol.y[:, -1]
    assert_close(ours.outputs[:50], ys, "sampled output")
    assert_close(ours.signal("u")[:50], us, "sampled input")


def test_cruise_control_reproduces_the_textbook_vehicle():
    # Astrom & Murray sec. 4.1 written out here independently of the package
    def accel(v, u, theta, m=1600.0, g=9.8, Cr=0.01, Cd=0.32, rho=1.3, A=2.4, alpha=12.0,
              Tm=190.0, wm=420.0, beta=0.4):
        u = min(max(u, 0.0), 1.0)
        torque = max(Tm * (1 - beta * (alpha * v / wm - 1) ** 2), 0.0)
        F = alpha * torque * u
        Fd = m * g * math.sin(theta) + m * g * Cr * math.copysign(1, v) + 0.5 * rho * Cd * A * abs(v) * v
        return (F - Fd) / m

    plant = lc.CruiseControl()
    for v, u, th in [(20.0, 0.3, 0.0), (25.0, 1.2, 0.05), (5.0, -0.5, -0.02), (40.0, 0.7, 0.07)]:
        assert plant.acceleration(v, u, th) == pytest.approx(accel(v, u, th), rel=1e-14)
    # and the kernel integrates that model: a constant input over 10 s against solve_ivp
    t = np.linspace(0, 10, 101)
    ctrl = lc.LeakyP(kp=0.0, negative_slope=1.0)  # u = 0: coast down from 25 m/s on a slope
    ours = lc.simulate(plant, ctrl, t, disturbance=0.03, initial_state=[25.0], solver=FINE)
    ref = scipy.integrate.solve_ivp(lambda tt, x: [accel(x[0], 0.0, 0.03)], (0, 10), [25.0],
                                    t_eval=t, rtol=1e-11, atol=1e-12)
    assert_close(ours.outputs, ref.y[0], "coasting vehicle")


def test_brake_lets_the_leak_brake_and_relu_coast():
    t = np.linspace(0, 20, 2001)
    plant = lc.CruiseControl(brake=True)
    res = {}
    for a in (0.0, 0.5):
        ctrl = lc.LeakyP(kp=0.2, negative_slope=a, u_min=-1, u_max=1)
        resp = lc.simulate(plant, ctrl, t, reference=20.0, initial_state=[26.0])
        res[a] = resp
    u0 = res[0.0].signal("u")
    # ReLU P applies exactly zero input while the car is too fast; the leak brakes
    assert np.all(u0[res[0.0].outputs > 20.0] == 0.0)
    assert res[0.5].signal("u")[0] == pytest.approx(0.2 * 0.5 * (20.0 - 26.0))
    assert lc.step_info(res[0.0], final_output=20.0, initial_output=26.0)["CoastingFraction"] > 0.5
    assert lc.step_info(res[0.5], final_output=20.0, initial_output=26.0)["CoastingFraction"] == 0.0


def test_step_info_equals_python_control_on_settled_responses():
    plant = lc.MassSpringDamper(m=1.0, c=3.0, k=2.0)
    for a in (0.0, 0.3, 1.0):
        resp = lc.step_response(plant, lc.LeakyPI(kp=3.0, ki=1.0, negative_slope=a), 60.0)
        ours = lc.step_info(resp)
        ref = ct.step_info(resp.outputs, resp.time)  # unchanged, as for its own data
        assert ours["Settled"]
        for k, v in ref.items():
            assert ours[k] == pytest.approx(v, rel=1e-12, abs=1e-12), k


def test_step_info_says_unsettled_instead_of_guessing():
    resp = lc.step_response(lc.FirstOrderLag(tau=10.0), lc.LeakyPI(kp=0.1, ki=0.01, negative_slope=0.1), 5.0)
    info = lc.step_info(resp)
    assert info["Settled"] is False
    assert math.isnan(info["SettlingTime"]) and math.isnan(info["SteadyStateValue"])
    # python-control reports a settling time from the last sample here
    assert not math.isnan(ct.step_info(resp.outputs, resp.time)["SettlingTime"])


def test_divergent_run_reports_failure_time():
    plant = lc.LinearPlant([[1.0]], [[1.0]], [[1.0]])
    resp = lc.simulate(plant, lc.LeakyP(kp=-5.0, negative_slope=1.0), 200.0, reference=1.0)
    assert resp.success is False
    assert "t = " in resp.message and "non-finite" in resp.message
    ft = resp.stats["failure_time"]
    assert 0 < ft < 200
    # growth rate 6/s from ~1: |x| passes 1e150 near t = ln(1e150)/6 = 57.6 s
    assert ft == pytest.approx(math.log(1e150) / 6.0, rel=0.02)
    assert np.isnan(resp.outputs[-1])


def test_user_numba_plant_matches_its_nlsys(duffing_plant):
    plant = duffing_plant
    ctrl = lc.LeakyPI(kp=3.0, ki=1.0, negative_slope=0.2)
    t = np.linspace(0, 4, 201)
    ours = lc.simulate(plant, ctrl, t, reference=1.0, disturbance=0.1, solver=FINE)
    ref = reference_run(plant, ctrl, t, 1.0, 0.1, np.zeros(2))
    assert_close(ours.outputs, ref.outputs[0], "user plant")


def test_rhs_rejects_plain_python_function():
    def f(t, x, ud, params, dx):
        dx[0] = -x[0]

    with pytest.raises(TypeError, match="numba-compiled function.*numba.njit"):
        lc.rhs(f)


def test_params_override_and_result_shape():
    plant = lc.FirstOrderLag()
    resp = lc.simulate(plant, lc.LeakyP(kp=1.0, negative_slope=0.1), 2.0, reference=1.0, params={"negative_slope": 0.0, "tau": 2.0})
    assert resp.params["negative_slope"] == 0.0 and resp.params["tau"] == 2.0
    assert list(resp.output_labels) == ["y"] and list(resp.loop.output_labels) == ["u", "u_raw", "e"]
    # a single-output loop reads like python-control's SISO data: outputs (T,), y (1, T)
    assert resp.outputs.shape == (1001,) and resp.y.shape == (1, 1001)
    assert resp.time.shape == (1001,) and resp.loop.y.shape == (3, 1001)
    df = resp.to_pandas()
    assert {"time", "r", "y", "u", "u_raw", "e", "x[0]"} <= set(df.columns)
    np.testing.assert_array_equal(df["e"], resp.signal("r") - resp.outputs)


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (lambda: lc.LeakyP(kp=float("nan"), negative_slope=0.1), ValueError, "kp must be finite"),
        (lambda: lc.LeakyP(kp=1.0, negative_slope=1.5), ValueError, r"negative_slope must be in \[0, 1\]"),
        (lambda: lc.LeakyPI(kp=1.0, ki=1.0, u_min=1.0, u_max=0.0, negative_slope=0.1), ValueError, "u_min must be < u_max"),
        (lambda: lc.LeakyPID(kp=1.0, dt=0.0, negative_slope=0.1), ValueError, "dt must be in"),
        (lambda: lc.simulate(lc.FirstOrderLag(), lc.LeakyP(negative_slope=0.1), [0.0, 1.0, 1.0]), ValueError, "strictly increasing"),
        (lambda: lc.simulate(lc.FirstOrderLag(), lc.LeakyP(negative_slope=0.1), 1.0, initial_state=[1.0, 2.0]), ValueError, "initial_state"),
        (lambda: lc.simulate(lc.FirstOrderLag(), lc.LeakyP(negative_slope=0.1), 1.0, initial_state=[np.inf]), ValueError, "finite"),
        (lambda: lc.simulate(lc.FirstOrderLag(), lc.LeakyP(negative_slope=0.1), 1.0, reference=np.ones(7)), ValueError, "reference"),
        (lambda: lc.simulate(lc.FirstOrderLag(), lc.LeakyP(negative_slope=0.1), 1.0, solver=lc.RK4(max_step=-1)), ValueError, "max_step"),
        (lambda: lc.simulate(lc.FirstOrderLag(), lc.LeakyP(negative_slope=0.1), 1.0, params={"bogus": 1}), ValueError, "unknown parameter"),
        (lambda: lc.as_plant(ct.tf([1, 0, 0], [1, 1])), ValueError, "not proper"),
        (lambda: lc.as_plant(ct.tf([1], [1, 1], dt=0.1)), ValueError, "continuous-time"),
        (lambda: lc.simulate(ct.tf([1, 0], [1, 1]), lc.LeakyP(negative_slope=0.1), 1.0), ValueError, "algebraic loop"),
        (lambda: lc.simulate(lc.FirstOrderLag(), "pid", 1.0), TypeError, "controller must be"),
        (lambda: lc.LeakyStateFeedback(K=[[1.0, 2.0]], negative_slope=-0.1), ValueError, "negative_slope"),
        (lambda: lc.simulate(lc.MassSpringDamper(), lc.LeakyStateFeedback(K=[[1.0]], negative_slope=0.1), 1.0), ValueError, "K must have shape"),
    ],
)
def test_bad_input_is_named(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_loop_metrics_equal_trapezoid_integrals_on_a_nonuniform_grid():
    # oracle: scipy's trapezoid on the same samples (step_info's integrals are defined as the
    # trapezoid rule on the output times); a nonuniform grid catches a wrong weight layout
    from scipy.integrate import trapezoid

    t = np.concatenate([np.linspace(0, 2, 41), np.linspace(2.3, 12, 60)])
    resp = lc.simulate(lc.FirstOrderLag(tau=1.0), lc.LeakyPI(kp=4.0, ki=2.0, negative_slope=0.2,
                                                            u_min=0.0, u_max=3.0), t,
                       reference=1.0, initial_state=[1.5])
    e, u = resp.signal("e"), resp.signal("u")
    info = lc.step_info(resp, final_output=1.0)
    rel = 1e-12  # the two sum the same terms in different orders
    assert info["IAE"] == pytest.approx(trapezoid(np.abs(e), t), rel=rel)
    assert info["ISE"] == pytest.approx(trapezoid(e * e, t), rel=rel)
    assert info["ITAE"] == pytest.approx(trapezoid(t * np.abs(e), t), rel=rel)
    assert info["ControlEffort"] == pytest.approx(trapezoid(np.abs(u), t), rel=rel)
    # starting above the target with u clipped at 0: the loop coasts at first
    assert info["CoastingFraction"] == pytest.approx(lc.coasting_fraction(t, e, u), rel=rel)
    assert info["CoastingFraction"] > 0.01


@pytest.mark.parametrize("make", [lambda: lc.LeakyPI(kp=1.0, ki=0.5), lambda: lc.LeakyP(kp=2.0),
                                  lambda: lc.LeakyStateFeedback(K=[[1.0, 2.0]]),
                                  lambda: lc.LeakyMLP(weights=[np.ones((1, 2))], biases=[np.zeros(1)])])
def test_the_leak_is_a_decision_not_a_default(make):
    # a python-control user asking for a PI must not get an almost-ReLU one unawares
    with pytest.raises(TypeError, match=r"needs negative_slope.*1\.0 is the linear"):
        make()
