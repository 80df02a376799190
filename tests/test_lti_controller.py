"""python-control LTI systems as leaky controllers (LeakyLTI, as_controller) against
independent oracles.

Oracles and tolerances:

- linear loop (a = 1): python-control's own LTI responses of ``ct.feedback(P * C)``
  (matrix exponential: exact for a step or a piecewise-linear input, up to rounding) against
  Dopri5 at rtol 1e-10 / atol 1e-12; measured 4e-11 (y) and 9e-11 (u), tolerance 1e-8;
- leaky loop (a = 0.2): the loop written out by hand in the test from a partial-fraction
  realisation of the controller (not python-control's) under ``solve_ivp`` (DOP853, rtol
  1e-11), and ``ct.input_output_response`` of ``ct.interconnect`` of the plant's and the
  controller's numpy ``to_nlsys``; both sides integrate across the kink of the leak and the
  reference's drop (their error controls step down there); measured up to 4e-10 (y) and
  1e-9 (u_raw, of size ~6), tolerance 1e-8 (relative to the signal's size for u_raw);
- sampled controller: a sample-by-sample loop written in the test (the law from the
  discretised transfer function, ``solve_ivp`` at rtol 1e-12 between samples with the
  command held), compared at the sample instants; measured 5e-12, tolerance 1e-9;
- a discrete forward-Euler PI equals ``LeakyPI(shape="output", dt=...)`` bit for bit (the
  same floating-point operations in the same order).
"""

from __future__ import annotations

import math

import control as ct
import numpy as np
import pytest
from scipy.integrate import solve_ivp

import leaky_control as lc
from leaky_control.controllers import Controller, LeakyLTI, as_controller

TIGHT = lc.Dopri5(rtol=1e-10, atol=1e-12)


def _signal(resp, name):
    """An inner-loop signal of a run (``u``, ``u_raw``, ``e``)."""
    return resp.signal(name)


# --- the linear loop against python-control ---------------------------------------------------


def test_linear_pi_from_tf_equals_python_controls_feedback_loop():
    kp, ki = 2.0, 3.0
    P = ct.tf([1.0], [1.0, 2.0, 1.0])
    C = ct.tf([kp, ki], [1.0, 0.0])
    ctrl = as_controller(C)  # the linear controller a python-control user expects
    assert isinstance(ctrl, LeakyLTI)
    assert ctrl.negative_slope == 1.0
    T = np.linspace(0.0, 8.0, 401)
    resp = lc.simulate(P, ctrl, T, reference=1.0, solver=TIGHT)
    assert resp.success, resp.message
    ref_y = ct.step_response(ct.feedback(P * C), T).outputs
    ref_u = ct.step_response(ct.feedback(C, P), T).outputs  # u = C / (1 + P C) r
    assert np.max(ref_y) > 1.05  # it overshoots: the linear law acts on both signs of e
    np.testing.assert_allclose(resp.y[0], ref_y, rtol=0, atol=1e-8)
    np.testing.assert_allclose(_signal(resp, "u"), ref_u, rtol=0, atol=1e-8 * kp)
    assert list(resp.state_labels) == ["x[0]", "x[1]", "xc[0]"]


def test_linear_state_space_controller_equals_forced_response_of_the_loop():
    # a lead-lag with two states from ct.ss, run with a reference that is not a step
    C = ct.ss(ct.tf([1.0, 3.0, 2.0], [0.05, 1.0, 0.5]))
    P = ct.tf([1.0], [1.0, 1.0, 0.0])
    T = np.linspace(0.0, 6.0, 601)
    R = np.sin(1.5 * T)
    resp = lc.simulate(P, LeakyLTI(C, negative_slope=1.0), T, reference=R, solver=TIGHT)
    assert resp.success, resp.message
    # forced_response holds the input linear between samples, as simulate interpolates it
    ref = ct.forced_response(ct.feedback(P * C), T, R).outputs
    np.testing.assert_allclose(resp.y[0], ref, rtol=0, atol=1e-8)


# --- the leaky loop against hand-written and python-control references ------------------------

# Plant 1/(s (s + 1)) (x1 = y, x2 = y'), reference 1 then 0 from t = 4 s: the loop overshoots
# and then has to come back, so v = Cc xc + Dc e is negative for a while and the leak acts.
LEAKY_T = np.linspace(0.0, 8.0, 801)
LEAKY_R = np.where(LEAKY_T < 4.0, 1.0, 0.0)

# each controller with its own hand-derived partial-fraction realisation:
# (transfer function, v(w, e), w'(w, e), number of states)
LEAKY_CASES = {
    # lead 3 (s + 2) / (0.1 s + 1) = 30 - 24 / (0.1 s + 1): v = 30 e - 24 w, w' = (e - w) / 0.1
    "lead": (ct.tf([3.0, 6.0], [0.1, 1.0]),
             lambda w, e: 30.0 * e - 24.0 * w[0],
             lambda w, e: [(e - w[0]) / 0.1]),
    # PI with roll-off (2 s + 3) / (s (0.1 s + 1)) = 3 / s + 1.7 / (0.1 s + 1):
    # v = 3 z + 1.7 w, z' = e, w' = (e - w) / 0.1
    "pi-rolloff": (ct.tf([2.0, 3.0], [0.1, 1.0, 0.0]),
                   lambda w, e: 3.0 * w[0] + 1.7 * w[1],
                   lambda w, e: [e, (e - w[1]) / 0.1]),
}


def _leaky_oracle(v_of, dw_of, a, nw):
    def rhs(t, x):
        e = np.interp(t, LEAKY_T, LEAKY_R) - x[0]
        v = v_of(x[2:], e)
        u = v if v >= 0.0 else a * v
        return [x[1], -x[1] + u, *dw_of(x[2:], e)]

    sol = solve_ivp(rhs, (0.0, LEAKY_T[-1]), np.zeros(2 + nw), t_eval=LEAKY_T, rtol=1e-11,
                    atol=1e-13, method="DOP853")
    assert sol.success
    return sol.y


@pytest.mark.parametrize("case", list(LEAKY_CASES))
def test_leaky_controller_against_hand_written_loop_and_interconnect(case):
    C, v_of, dw_of = LEAKY_CASES[case]
    a = 0.2
    plant = lc.as_plant(ct.tf([1.0], [1.0, 1.0, 0.0]))
    ctrl = LeakyLTI(C, negative_slope=a)
    resp = lc.simulate(plant, ctrl, LEAKY_T, reference=LEAKY_R, solver=TIGHT)
    assert resp.success, resp.message
    y = resp.y[0]

    # the leak matters: negative error and negative command, and a = 1 gives another run
    e = LEAKY_R - y
    np.testing.assert_array_equal(_signal(resp, "e"), e)  # error feedback: e is recorded
    assert np.min(e) < -0.05
    uraw = _signal(resp, "u_raw")
    assert np.min(uraw) < -0.5
    np.testing.assert_allclose(_signal(resp, "u"), uraw)  # no limits
    linear = lc.simulate(plant, ctrl.replace(negative_slope=1.0), LEAKY_T, reference=LEAKY_R,
                         solver=TIGHT)
    assert np.max(np.abs(linear.y[0] - y)) > 0.05

    # 1) the loop written out with a realisation of our own
    nw = ctrl.nstates
    X = _leaky_oracle(v_of, dw_of, a, nw)
    np.testing.assert_allclose(y, X[0], rtol=0, atol=1e-8)
    v_ref = np.array([v_of(X[2:, k], LEAKY_R[k] - X[0, k]) for k in range(LEAKY_T.size)])
    np.testing.assert_allclose(uraw, np.where(v_ref >= 0, v_ref, a * v_ref), rtol=0,
                               atol=1e-8 * np.max(np.abs(v_ref)))

    # 2) python-control: the plant's and the controller's numpy systems interconnected
    psys = plant.to_nlsys(name="plant")
    csys = ctrl.to_nlsys(name="ctrl", raw=True)
    assert csys.input_labels == ["r", "y"]
    assert csys.output_labels == ["u", "u_raw"]
    loop = ct.interconnect([psys, csys],
                           connections=[["plant.u", "ctrl.u"], ["ctrl.y", "plant.y"]],
                           inplist=["ctrl.r", "plant.d"], inputs=["r", "d"],
                           outlist=["plant.y", "ctrl.u_raw"], outputs=["y", "u_raw"])
    ref = ct.input_output_response(loop, LEAKY_T, [LEAKY_R, np.zeros_like(LEAKY_T)],
                                   solve_ivp_method="DOP853",
                                   solve_ivp_kwargs={"rtol": 1e-11, "atol": 1e-13})
    np.testing.assert_allclose(y, ref.outputs[0], rtol=0, atol=1e-8)
    np.testing.assert_allclose(uraw, ref.outputs[1], rtol=0,
                               atol=1e-8 * np.max(np.abs(ref.outputs[1])))


def test_limits_clip_the_command_and_closed_loop_nlsys_agrees():
    plant = lc.as_plant(ct.tf([1.0], [1.0, 1.0, 0.0]))
    ctrl = LeakyLTI(ct.tf([3.0, 6.0], [0.1, 1.0]), negative_slope=0.2, u_min=-0.5, u_max=2.0)
    resp = lc.simulate(plant, ctrl, LEAKY_T, reference=LEAKY_R, solver=TIGHT)
    u, uraw = _signal(resp, "u"), _signal(resp, "u_raw")
    # both limits are active
    assert np.max(uraw) > 2.5
    assert np.min(uraw) < -0.6
    np.testing.assert_array_equal(u, np.clip(uraw, -0.5, 2.0))
    sys = lc.closed_loop_nlsys(plant, ctrl)
    ref = ct.input_output_response(sys, LEAKY_T, [LEAKY_R, np.zeros_like(LEAKY_T)],
                                   solve_ivp_method="DOP853",
                                   solve_ivp_kwargs={"rtol": 1e-11, "atol": 1e-13})
    np.testing.assert_allclose(resp.y[0], ref.outputs[0], rtol=0, atol=1e-8)


# --- sampled controllers ----------------------------------------------------------------------


def test_discrete_controller_against_a_sample_by_sample_loop():
    kp, ki, dt, a = 2.0, 3.0, 0.05, 0.3
    Cd = ct.c2d(ct.tf([kp, ki], [1.0, 0.0]), dt)  # zero-order hold: kp + ki dt / (z - 1)
    ctrl = LeakyLTI(Cd, negative_slope=a)
    assert ctrl.sampled
    assert ctrl.dt == dt
    assert ctrl.to_nlsys().dt == dt
    plant = lc.as_plant(ct.tf([1.0], [1.0, 2.0, 1.0]))
    N = 120
    T = dt * np.arange(N + 1)  # the output times are the sample instants
    R = np.where(T < 3.0, 1.0, 0.0)
    resp = lc.simulate(plant, ctrl, T, reference=R, solver=TIGHT)
    assert resp.success, resp.message

    # the oracle: u_k = phi_a(kp e_k + ki dt sum_{j<k} e_j) held over [t_k, t_k+1), the plant
    # y'' + 2 y' + y = u integrated between the samples
    A = np.array([[0.0, 1.0], [-1.0, -2.0]])
    x, s = np.zeros(2), 0.0
    ys, us = [x[0]], []
    for k in range(N):
        e = R[k] - x[0]
        v = kp * e + ki * dt * s
        u = v if v >= 0 else a * v
        s += e
        us.append(u)
        sol = solve_ivp(lambda t, z, u=u: A @ z + np.array([0.0, u]), (T[k], T[k + 1]), x,
                        rtol=1e-12, atol=1e-14, method="DOP853")
        x = sol.y[:, -1]
        ys.append(x[0])
    assert min(us) < -0.1  # the leak acts after the reference drops
    np.testing.assert_allclose(resp.y[0], ys, rtol=0, atol=1e-9)
    # the held command recorded at t_k is the one computed there
    np.testing.assert_allclose(_signal(resp, "u")[:N], us, rtol=0, atol=1e-9 * kp)


def test_discrete_forward_euler_pi_equals_leaky_pi_bit_for_bit():
    kp, ki, dt, a = 2.0, 3.0, 0.05, 0.2
    Cd = ct.c2d(ct.ss(ct.tf([kp, ki], [1.0, 0.0])), dt, method="euler")
    # the realisation is z+ = z + dt e, v = ki z + kp e: LeakyPI's own states and law
    np.testing.assert_array_equal(np.hstack([Cd.A, Cd.B, Cd.C, Cd.D]), [[1.0, dt, ki, kp]])
    lti = LeakyLTI(Cd, negative_slope=a)
    pi = lc.LeakyPI(kp=kp, ki=ki, negative_slope=a, shape="output", dt=dt)
    plant = lc.as_plant(ct.tf([1.0], [1.0, 2.0, 1.0]))
    T = np.linspace(0.0, 6.0, 301)
    R = np.where(T < 3.0, 1.0, 0.0)
    for solver in (lc.RK4(), TIGHT):
        ours = lc.simulate(plant, lti, T, reference=R, solver=solver)
        theirs = lc.simulate(plant, pi, T, reference=R, solver=solver)
        assert np.min(_signal(theirs, "u_raw")) < 0  # the leak acts
        assert np.array_equal(ours.states, theirs.states)
        assert np.array_equal(ours.y, theirs.y)
        assert np.array_equal(_signal(ours, "u"), _signal(theirs, "u"))
    # the transfer function's own realisation of the same PI: equal up to rounding
    other = LeakyLTI(ct.c2d(ct.tf([kp, ki], [1.0, 0.0]), dt, method="euler"),
                     negative_slope=a)
    got = lc.simulate(plant, other, T, reference=R, solver=TIGHT)
    np.testing.assert_allclose(got.y[0], theirs.y[0], rtol=0, atol=1e-12)


# --- construction, conversion, protocol ------------------------------------------------------


def test_as_controller_passes_controllers_and_converts_siso_lti_systems():
    pi = lc.LeakyPI(kp=1.0, ki=0.5, negative_slope=0.1)
    assert as_controller(pi) is pi
    for sys in (ct.tf([2.0, 3.0], [1.0, 0.0]), ct.ss([[-1.0]], [[1.0]], [[2.0]], [[0.5]]),
                ct.tf([1.0, 0.5], [1.0, 1.0], 0.1)):
        c = as_controller(sys)
        assert isinstance(c, LeakyLTI)
        assert isinstance(c, Controller)
        assert c.negative_slope == 1.0
        assert c.sys is sys
        assert c.dt == (None if sys.dt == 0 else sys.dt)


def test_as_controller_refuses_what_it_cannot_run():
    mimo = ct.ss(-np.eye(2), np.eye(2), [[1.0, 0.0]], [[0.0, 0.0]])
    with pytest.raises(ValueError, match=r"single-output system .* 2 input\(s\) and 1 output"):
        as_controller(mimo)
    nl = ct.nlsys(lambda t, x, u, params: -x + u, lambda t, x, u, params: x, states=1,
                  inputs=1, outputs=1)
    with pytest.raises(TypeError, match=r"NonlinearIOSystem.*subclass of "
                       r"leaky_control.controllers.Controller.*docs/architecture.md"):
        as_controller(nl)
    with pytest.raises(TypeError, match=r"ct.tf, ct.ss.*got dict"):
        as_controller({"kp": 1.0})
    with pytest.raises(TypeError, match="got FrequencyResponseData"):
        as_controller(ct.frd(ct.tf([1.0], [1.0, 1.0]), [0.1, 1.0]))
    with pytest.raises(ValueError, match="dt=True"):
        as_controller(ct.tf([1.0], [1.0, 0.5], True))
    with pytest.raises(ValueError, match="non-proper"):
        as_controller(ct.tf([1.0, 0.0, 1.0], [1.0, 1.0]))


def test_bad_parameters_are_refused_by_name():
    C = ct.tf([2.0, 3.0], [1.0, 0.0])
    with pytest.raises(TypeError, match="LeakyLTI needs negative_slope"):
        LeakyLTI(C)  # the leak is required: no silent default
    for bad in (1.5, -0.1, math.nan):
        with pytest.raises(ValueError, match=rf"negative_slope must be .*{bad}"):
            LeakyLTI(C, negative_slope=bad)
    with pytest.raises(ValueError, match=r"negative_slope must be in \[0, 1\], got 2.0"):
        LeakyLTI(C, negative_slope=0.5).replace(negative_slope=2.0)
    with pytest.raises(ValueError, match="u_min must be < u_max"):
        LeakyLTI(C, negative_slope=0.5, u_min=1.0, u_max=-1.0)
    with pytest.raises(ValueError, match=r"sys\.A must be finite, got .*nan.* at index \(0, 0\)"):
        LeakyLTI(ct.ss([[math.nan]], [[1.0]], [[1.0]], [[0.0]]), negative_slope=0.5)
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) \['kp'\]"):
        LeakyLTI(C, negative_slope=0.5).replace(kp=1.0)
    # a plant that is not SISO is refused with its sizes
    two_out = lc.LinearPlant([[-1.0, 0.0], [0.0, -2.0]], [[1.0], [1.0]], np.eye(2))
    with pytest.raises(ValueError, match=r"1 input\(s\) and 2 output\(s\)"):
        lc.simulate(two_out, LeakyLTI(C, negative_slope=0.5), 1.0)


def test_params_replace_and_protocol_values():
    kp, ki = 2.0, 3.0
    c = LeakyLTI(ct.tf([kp, ki], [1.0, 0.0]), negative_slope=0.2, u_max=5.0)
    assert list(c.params) == ["sys", "negative_slope", "u_min", "u_max"]
    d = c.replace(negative_slope=0.7, u_min=-1.0)
    assert (d.negative_slope, d.u_min, d.u_max) == (0.7, -1.0, 5.0)
    assert d.sys is c.sys
    assert c.negative_slope == 0.2  # the original is untouched
    e = c.replace(sys=ct.tf([1.0], [1.0, 1.0, 1.0]))  # a new system is realised anew
    assert e.nstates == 2
    assert e.state_labels == ["xc[0]", "xc[1]"]
    np.testing.assert_array_equal(e.initial_state, [0.0, 0.0])

    plant = lc.as_plant(ct.tf([1.0], [1.0, 1.0]))
    # the direct gain kp for a PI, as LeakyPI reports; its zero ki/kp is the slow mode
    np.testing.assert_allclose(c.linear_gain(plant),
                               lc.LeakyPI(kp=kp, ki=ki, negative_slope=0.1).linear_gain(plant))
    assert c.slow_rates() == pytest.approx([ki / kp])
    assert LeakyLTI(ct.c2d(ct.tf([kp, ki], [1.0, 0.0]), 0.01), negative_slope=0.2) \
        .slow_rates() == pytest.approx([ki / kp], rel=0.01)
    # a pure integrator 100/s on 1/(s+1) oscillates near 10 rad/s: fast_rates sees it
    integ = LeakyLTI(ct.tf([100.0], [1.0, 0.0]), negative_slope=1.0)
    _, Ju, Cx = plant.jacobian(np.zeros(1), [0.0], [0.0])
    assert max(integ.fast_rates(Ju, Cx)) == pytest.approx(10.0, rel=0.05)
    assert LeakyLTI(ct.c2d(ct.tf([100.0], [1.0, 0.0]), 0.01), negative_slope=1.0) \
        .fast_rates(Ju, Cx) == []
    # a static gain has no states
    g = LeakyLTI(ct.tf(2.0, 1.0), negative_slope=0.5)
    assert g.nstates == 0
    assert g.slow_rates() == []
    assert g.fast_rates(Ju, Cx) == []
    np.testing.assert_allclose(g.law([-1.0, 1.0]), [-1.0, 2.0])


def test_static_gain_and_default_horizon_run():
    plant = lc.as_plant(ct.tf([1.0], [1.0, 1.0]))
    resp = lc.simulate(plant, LeakyLTI(ct.tf(2.0, 1.0), negative_slope=0.5), 5.0, reference=1.0,
                       solver=TIGHT)
    # y' = -y + 2 (1 - y): y -> 2/3 with rate 3
    np.testing.assert_allclose(resp.y[0], 2 / 3 * (1 - np.exp(-3 * resp.time)), atol=1e-8)
    # step_response picks its horizon from the loop and the controller's slow mode (ki/kp)
    step = lc.step_response(plant, LeakyLTI(ct.tf([2.0, 0.1], [1.0, 0.0]), negative_slope=0.5))
    assert step.success
    assert step.time[-1] == pytest.approx(10.0 / 0.05)


def test_sweep_over_the_leak_equals_simulate_and_step_info():
    plant = lc.as_plant(ct.tf([1.0], [1.0, 1.0, 0.0]))
    ctrl = LeakyLTI(ct.tf([3.0, 6.0], [0.1, 1.0]), negative_slope=0.2)
    T = np.linspace(0.0, 6.0, 301)
    res = lc.sweep(plant, ctrl, {"negative_slope": [0.0, 0.2, 1.0]}, T, reference=1.0,
                   solver=lc.Dopri5(), keep_trajectories=True)
    assert res.success.all()
    for i in range(3):
        one = lc.simulate(plant, ctrl, T, reference=1.0, solver=lc.Dopri5(),
                          params={"negative_slope": res.params["negative_slope"][i]})
        info = lc.step_info(one)
        for k, v in res.metrics.items():
            assert np.array_equal(v[i], info[k], equal_nan=True), (i, k, v[i], info[k])
        assert np.array_equal(res.response(i).states, one.states)
    # the leak matters to the metrics
    assert len(set(res["Overshoot"].tolist())) == 3


def test_sweep_over_systems_of_different_orders():
    plant = lc.as_plant(ct.tf([1.0], [1.0, 1.0, 0.0]))
    systems = [ct.tf([3.0, 6.0], [0.1, 1.0]), ct.tf(2.0, 1.0),
               ct.tf([2.0, 3.0], [0.1, 1.0, 0.0])]
    ctrl = LeakyLTI(systems[0], negative_slope=0.2)
    T = np.linspace(0.0, 6.0, 121)
    res = lc.sweep(plant, ctrl, lc.Points(sys=systems), T, reference=1.0, solver=lc.Dopri5())
    assert res.success.all()
    for i, sys in enumerate(systems):
        one = lc.simulate(plant, ctrl.replace(sys=sys), T, reference=1.0, solver=lc.Dopri5())
        assert res["IAE"][i] == lc.step_info(one)["IAE"]


# --- a nonlinear python-control plant is refused with how to write it --------------------------


def test_as_plant_refuses_nlsys_with_a_template_that_works():
    nl = ct.nlsys(lambda t, x, u, params: -x + u, None, states=1, inputs=1, outputs=1)
    with pytest.raises(TypeError) as err:
        lc.as_plant(nl)
    msg = str(err.value)
    for part in ("NonlinearIOSystem", "lc.Plant", "NamedTuple",
                 "def dynamics(p, t, x, u, d, dx)", "docs/architecture.md",
                 "lc.closed_loop_nlsys is not applicable"):
        assert part in msg, part
    with pytest.raises(TypeError, match="NonlinearIOSystem"):
        lc.simulate(nl, lc.LeakyP(kp=1.0, negative_slope=0.1), 1.0)
    # the quoted template is real code: it defines a plant whose numpy model runs
    start = msg.index("    class ")
    code = "\n".join(line[4:] for line in msg[start:msg.index("\n\n(")].splitlines())
    src = ("from dataclasses import dataclass\nfrom typing import NamedTuple\n"
           "import leaky_control as lc\n" + code)
    ns = {"__name__": "lti_template"}
    # not inheriting this file's `from __future__ import annotations`, as a user's script
    exec(compile(src, "<template>", "exec", dont_inherit=True), ns)
    tank = ns["Tank"]()
    upd = tank.to_nlsys().updfcn
    assert upd(0.0, np.array([1.0]), np.array([0.5, 0.1]), {}) == pytest.approx([0.25])
