"""Signal names agree: ``plant.to_nlsys()`` and ``controller.to_nlsys(plant)`` close the loop in
``control.interconnect`` by name alone, and the loop python-control builds that way reproduces
``lc.simulate``, for every built-in plant and every built-in controller.

The reference is python-control's ``input_output_response`` (solve_ivp RK45, rtol 1e-10,
atol 1e-12) of the interconnection; ours is RK4 at h = 2e-5 s. The tolerance, 1e-6 relative to
the signal's size plus 1e-9, is the one tests/test_simulate.py justifies for these loops (RK4
is second order only across the kinks of the leaky shape and of saturations). python-control
warns when an interconnection leaves a signal unconnected; the test suite turns warnings into
errors, so a name that does not match fails here.
"""

import control as ct
import numpy as np
import pytest

import leaky_control as lc

FINE = lc.RK4(max_step=2e-5)
TIGHT = {"rtol": 1e-10, "atol": 1e-12}


def _by_name(plant, ctrl, x0, xc0, t, r, d):
    """The loop as a python-control user would join the two systems: no connections."""
    full = not ctrl.error_feedback
    psys = plant.to_nlsys(full_state=full)
    csys = ctrl.to_nlsys(plant)
    loop = ct.interconnect([psys, csys], inplist=["r"] + list(plant.disturbance_labels),
                           outlist=list(plant.output_labels) + list(plant.input_labels))
    U = np.vstack([np.broadcast_to(r, t.shape), np.broadcast_to(d, (plant.ndisturbances, t.size))])
    return ct.input_output_response(loop, t, U, np.concatenate([x0, xc0]),
                                    solve_ivp_method="RK45", solve_ivp_kwargs=TIGHT)


def _agree(plant, ctrl, t, x0, r, d):
    plant = lc.as_plant(plant)
    ours = lc.simulate(plant, ctrl, t, reference=r, disturbance=d, initial_state=x0, solver=FINE)
    assert ours.success, ours.message
    ref = _by_name(plant, ctrl, x0, np.asarray(ctrl.initial_state, dtype=float), t, r, d)
    p, m = plant.noutputs, plant.ninputs
    lo, hi = plant.actuator_limits()
    pairs = [(ours.y, ref.y[:p], "outputs"),
             # the plant applies its own limits after the controller's
             (ours.loop.y[:m], np.clip(ref.y[p:p + m].T, lo, hi).T, "inputs")]
    for got, want, what in pairs:
        scale = max(1.0, float(np.max(np.abs(want))))
        err = float(np.max(np.abs(got - want)))
        assert err <= 1e-6 * scale + 1e-9, f"{what}: max error {err:.3g} (scale {scale:.3g})"


PI = lc.LeakyPI(kp=2.0, ki=1.0, negative_slope=0.2, u_min=-5.0, u_max=5.0)

PLANTS = {
    "transfer function": ct.tf([1.0], [1.0, 2.0, 1.0]),
    "cruise": lc.CruiseControl(),
    "cruise with brake": lc.CruiseControl(brake=True),
    "mass-spring-damper": lc.MassSpringDamper(m=1.0, c=0.4, k=2.0),
    "dc motor": lc.DCMotor(),
    "pendulum": lc.Pendulum(),
    "first-order lag": lc.FirstOrderLag(gain=2.0, tau=0.5),
}


@pytest.mark.parametrize("name", list(PLANTS))
def test_every_plant_joins_a_controller_by_name(name, loop_scenario):
    plant = lc.as_plant(PLANTS[name])
    t, x0, r, d = loop_scenario(plant)
    ctrl = lc.LeakyPI(kp=0.5, ki=0.1, negative_slope=0.1, u_min=-1.0, u_max=1.0) \
        if isinstance(plant, lc.CruiseControl) else PI
    # the plant's own names meet the controller's: 'v' and 'u' for the car, 'voltage' for
    # the motor, 'theta' for the pendulum
    ins, outs = ctrl.signal_labels(plant)
    assert ins[1] == plant.output_labels[0] and outs[0] == plant.input_labels[0]
    _agree(plant, ctrl, t[:101], x0, r[:101] if np.ndim(r) else r, d[:101] if np.ndim(d) else d)


def test_a_user_numba_plant_joins_by_name(duffing_plant, loop_scenario):
    t, x0, r, d = loop_scenario(duffing_plant)
    _agree(duffing_plant, PI, t[:101], x0, r[:101], d[:101])


def _mlp():
    rng = np.random.default_rng(4)
    ws = [rng.normal(size=(6, 2)) / 2, rng.normal(size=(1, 6)) / 3]
    bs = [rng.normal(size=6) / 4, np.zeros(1)]
    return lc.LeakyMLP(weights=ws, biases=bs, negative_slope=0.1)


CONTROLLERS = {
    "LeakyP": lambda: lc.LeakyP(kp=3.0, negative_slope=0.0),
    "LeakyPI": lambda: PI,
    "LeakyPD": lambda: lc.LeakyPD(kp=4.0, kd=1.0, negative_slope=0.3),
    "LeakyPID": lambda: lc.LeakyPID(kp=4.0, ki=2.0, kd=1.0, negative_slope=0.2, shape="output"),
    "AdaptivePReLU": lambda: lc.AdaptivePReLU(kp=3.0, ki=1.0, gamma=5.0, a0=0.1),
    "LeakyStateFeedback": lambda: lc.LeakyStateFeedback(K=[[3.0, 1.0]], negative_slope=0.2),
    "LeakyMLP": _mlp,
    "LeakyLTI": lambda: lc.LeakyLTI(ct.tf([2.0, 1.0], [0.1, 1.0]), negative_slope=0.25),
}


@pytest.mark.parametrize("name", list(CONTROLLERS))
def test_every_controller_joins_a_plant_by_name(name, loop_scenario):
    plant = lc.MassSpringDamper(m=1.0, c=0.4, k=2.0)
    ctrl = CONTROLLERS[name]()
    t, x0, r, d = loop_scenario(plant)
    _agree(plant, ctrl, t[:101], x0, r[:101], d[:101])


def test_a_multi_input_state_feedback_joins_by_name():
    plant = lc.as_plant(ct.ss([[0, 1, 0], [-2, -0.5, 1], [0, 0, -3]],
                              [[0, 0], [1, 0], [0, 1]], [[1, 0, 0]], 0))
    ctrl = lc.LeakyStateFeedback(K=[[2.0, 1.0, 0.0], [0.0, 0.5, 1.0]], negative_slope=0.2,
                                 kr=[2.0, -1.0], u_min=-3.0, u_max=3.0)
    ins, outs = ctrl.signal_labels(plant)
    assert ins == ["r", "x[0]", "x[1]", "x[2]"] and outs == ["u[0]", "u[1]", "u_raw[0]", "u_raw[1]"]
    t = np.linspace(0, 2, 101)
    _agree(plant, ctrl, t, np.array([0.5, 0.0, -0.3]), np.where(t < 1, 1.0, -1.0),
           np.zeros((2, t.size)))


def test_without_a_plant_the_names_are_generic():
    assert PI.signal_labels() == (["r", "y"], ["u", "u_raw"])
    assert PI.signal_labels(raw=False) == (["r", "y"], ["u"])
    sf = lc.LeakyStateFeedback(K=[[1.0, 2.0]], negative_slope=0.5)
    assert sf.signal_labels() == (["r", "x[0]", "x[1]"], ["u", "u_raw"])
    sys_ = PI.to_nlsys()
    assert list(sys_.input_labels) == ["r", "y"] and list(sys_.output_labels) == ["u"]
    assert list(PI.to_nlsys(raw=True).output_labels) == ["u", "u_raw"]


def test_a_full_state_plant_outputs_states_then_other_outputs():
    lin = lc.as_plant(ct.ss([[-1.0, 0.0], [1.0, -2.0]], [[1.0], [0.0]], [[0.0, 1.0]], 0))
    sys_ = lin.to_nlsys(full_state=True)
    assert list(sys_.output_labels) == ["x[0]", "x[1]", "y"]
    x = np.array([0.3, -0.7])
    np.testing.assert_array_equal(sys_.output(0.0, x, [0.0, 0.0]), [0.3, -0.7, -0.7])
    # an output named like a state is that state, listed once
    assert list(lc.CruiseControl().to_nlsys(full_state=True).output_labels) == ["v"]
