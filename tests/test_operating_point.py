"""operating_point against independent oracles: hand-derived physics (force and torque
balances, textbook static gains), python-control's dcgain and find_operating_point, and an
open-loop simulation held at the answer."""

import doctest
import math

import control as ct
import numpy as np
import pytest

import leaky_control as lc
from leaky_control.plants import OperatingPoint, operating_point

# the solver ends at machine precision (residual <= 1e-10 is enforced by the function itself);
# formulas evaluated in another order agree to a few ulps of the inputs' size
RTOL = 1e-12
ATOL = 1e-12


def _cruise_throttle_by_hand(p, v, theta):
    """Astrom & Murray sec. 4.1 force balance, written from the plant's parameters:
    alpha T(alpha v) u = m g sin(theta) + m g Cr sgn(v) + rho Cd A v|v| / 2 (u >= 0), or
    brake_force u = the same force (u < 0, braking)."""
    alpha = p.alpha[p.gear - 1]
    needed = (p.m * p.g * math.sin(theta) + p.m * p.g * p.Cr * np.sign(v)
              + 0.5 * p.rho * p.Cd * p.A * abs(v) * v)
    if needed >= 0:
        torque = p.Tm * (1.0 - p.beta * (alpha * v / p.omega_m - 1.0) ** 2)
        return needed / (alpha * torque)
    brake = p.brake_force if p.brake_force is not None else alpha * p.Tm
    return needed / brake


def _hold(plant, op, disturbance=None, horizon=50.0):
    """Open-loop run from x* with u* held: max deviation of the output and the state."""
    resp = lc.simulate(plant, None, horizon, reference=float(op.input[0]),
                       disturbance=disturbance, initial_state=op.state)
    assert resp.success, resp.message
    y = np.asarray(resp.y)[: plant.noutputs]
    return (np.max(np.abs(y - op.output[:, None])),
            np.max(np.abs(resp.states[: plant.nstates] - op.state[:, None])))


# --- cruise control -------------------------------------------------------------------------

CRUISE_CASES = [
    (dict(), 20.0, 0.0),
    (dict(), 25.0, 0.03),
    (dict(), 15.0, -0.005),
    (dict(gear=3), 18.0, 0.02),
    (dict(brake=True), 20.0, -0.05),  # downhill: holding 20 m/s needs the brake
    (dict(brake=True, brake_force=3000.0), 30.0, -0.08),
    (dict(brake=True), 20.0, 0.04),
]


@pytest.mark.parametrize(("kw", "v", "theta"), CRUISE_CASES)
def test_cruise_matches_the_force_balance_and_equilibrium_throttle(kw, v, theta):
    p = lc.CruiseControl(**kw)
    op = operating_point(p, v, theta)
    u = _cruise_throttle_by_hand(p, v, theta)
    assert op.input[0] == pytest.approx(u, rel=RTOL, abs=ATOL)
    assert op.input[0] == pytest.approx(p.equilibrium_throttle(v, theta), rel=RTOL, abs=ATOL)
    assert op.state[0] == pytest.approx(v, rel=RTOL)
    assert op.output[0] == pytest.approx(v, rel=RTOL)
    assert op.residual <= 1e-10
    lo, hi = p.actuator_limits()
    assert lo[0] <= op.input[0] <= hi[0]
    assert (op.input[0] < 0) == (kw.get("brake", False) and theta < -0.02)


@pytest.mark.parametrize(("kw", "v", "theta"), CRUISE_CASES)
def test_cruise_matches_python_control_find_operating_point(kw, v, theta):
    p = lc.CruiseControl(**kw)
    # hybr stalls when it must cross the throttle/brake kink at u = 0: start on the right side
    u0 = math.copysign(0.5, _cruise_throttle_by_hand(p, v, theta))
    ref = ct.find_operating_point(p.to_nlsys(), [v], [u0, theta], [v], iu=[1], iy=[0],
                                  return_result=True)
    assert ref.result.success
    op = operating_point(p, v, theta)
    # scipy.optimize.root (hybr) stops at xtol = 1.5e-8 relative; here it lands much closer
    np.testing.assert_allclose(op.state, ref.states, rtol=1e-9)
    np.testing.assert_allclose(op.input, ref.inputs[:1], rtol=1e-9)


@pytest.mark.parametrize(("kw", "v", "theta"), CRUISE_CASES[:3] + CRUISE_CASES[4:5])
def test_cruise_open_loop_stays_at_the_operating_point(kw, v, theta):
    p = lc.CruiseControl(**kw)
    op = operating_point(p, v, theta)
    dy, dx = _hold(p, op, disturbance=theta)
    assert dy <= 1e-8
    assert dx <= 1e-8


def test_cruise_uphill_at_60_needs_more_than_full_throttle():
    p = lc.CruiseControl()
    assert p.equilibrium_throttle(60.0, 0.05) > 1.0  # the oracle agrees it is out of reach
    with pytest.raises(ValueError, match=r"output=60 .*outside the actuator limits.*u > 1 "
                                         r"\(its upper limit\).*residual"):
        operating_point(p, 60.0, 0.05)


def test_cruise_downhill_without_brake_needs_a_negative_throttle():
    p = lc.CruiseControl()
    assert p.equilibrium_throttle(20.0, -0.05) < 0.0
    with pytest.raises(ValueError, match=r"needs u < 0 \(its lower limit\)"):
        operating_point(p, 20.0, -0.05)
    # the same hill with a brake is fine (see CRUISE_CASES)
    assert operating_point(p.replace(brake=True), 20.0, -0.05).input[0] < 0


def test_cruise_beyond_the_torque_curve_is_unreachable():
    # at 100 m/s in gear 4 the engine is past its torque curve (T = 0): no throttle helps
    p = lc.CruiseControl()
    alpha = p.alpha[p.gear - 1]
    assert 1.0 - p.beta * (alpha * 100.0 / p.omega_m - 1.0) ** 2 < 0
    with pytest.raises(ValueError, match=r"output=100 .*unreachable.*residual"):
        operating_point(p, 100.0)


# --- linear plants: python-control's dcgain ------------------------------------------------

SISO = [
    ct.tf([2.0], [1.0, 3.0, 2.0]),
    ct.tf([1.0, 3.0], [1.0, 4.0, 6.0, 4.0]),
    ct.tf([-0.5, 1.0], [1.0, 3.0, 2.0]),  # non-minimum phase
    ct.ss([[-1.0, 2.0], [-3.0, -4.0]], [[0.0], [1.0]], [[1.0, 0.5]], 0.0),
]


@pytest.mark.parametrize("sys_", SISO, ids=range(len(SISO)))
@pytest.mark.parametrize("y_ref", [1.0, -2.5])
def test_siso_linear_matches_dcgain(sys_, y_ref):
    plant = lc.as_plant(sys_)
    op = operating_point(sys_, y_ref)
    u = y_ref / ct.dcgain(sys_)
    x = -np.linalg.solve(plant.A, plant.B[:, 0] * u)
    np.testing.assert_allclose(op.input, [u], rtol=1e-10)
    np.testing.assert_allclose(op.state, x, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(op.output, [y_ref], rtol=1e-12)
    dy, dx = _hold(plant, op)
    assert dy <= 1e-8
    assert dx <= 1e-8


def test_mimo_linear_matches_dcgain_with_a_disturbance():
    A = [[-1.0, 0.5, 0.0], [0.0, -2.0, 1.0], [0.2, 0.0, -3.0]]
    B = [[1.0, 0.0], [0.3, 1.0], [0.0, 0.5]]
    C = [[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]]
    sys_ = ct.ss(A, B, C, 0.0)
    y_ref = np.array([1.0, -2.0])
    d = np.array([0.1, -0.3])  # adds to the inputs (E = B)
    op = operating_point(sys_, y_ref, d)
    u = np.linalg.solve(ct.dcgain(sys_), y_ref) - d
    x = -np.linalg.solve(A, np.asarray(B) @ (u + d))
    np.testing.assert_allclose(op.input, u, rtol=1e-10)
    np.testing.assert_allclose(op.state, x, rtol=1e-10)
    np.testing.assert_allclose(op.output, y_ref, rtol=1e-12)
    # OpenLoop drives every input with the one reference, so check f(x*, u*, d) = 0 through
    # python-control's own evaluation of the model instead of a simulation
    nl = lc.as_plant(sys_).to_nlsys()
    np.testing.assert_allclose(nl._rhs(0.0, op.state, np.concatenate([op.input, d])), 0.0,
                               atol=1e-12)


# --- marginal plants ------------------------------------------------------------------------

def test_integrator_plant_holds_with_zero_input():
    sys_ = ct.tf([1.0], [1.0, 2.0, 0.0])  # 1/(s(s+2))
    plant = lc.as_plant(sys_)
    op = operating_point(sys_, 3.0)
    assert op.input[0] == 0.0 or abs(op.input[0]) <= 1e-14
    np.testing.assert_allclose(plant.A @ op.state, 0.0, atol=1e-14)
    np.testing.assert_allclose(plant.C @ op.state, [3.0], rtol=1e-14)
    dy, dx = _hold(plant, op)
    assert dy <= 1e-8
    assert dx <= 1e-8


def test_a_continuum_of_equilibria_gives_one_of_them():
    # two parallel integrators, output their sum: any x1 + x2 = y_ref holds with u = 0
    sys_ = ct.ss(np.zeros((2, 2)), [[1.0], [1.0]], [[1.0, 1.0]], 0.0)
    op = operating_point(sys_, 4.0)
    assert abs(op.input[0]) <= 1e-14
    assert op.state.sum() == pytest.approx(4.0, rel=1e-14)
    assert np.all(np.isfinite(op.state))
    dy, dx = _hold(lc.as_plant(sys_), op)
    assert dy <= 1e-8
    assert dx <= 1e-8


@pytest.mark.parametrize("load", [0.0, 0.02])
def test_dc_motor_position(load):
    # angle output: the integrator is pinned by the set point; w = 0, K i = load, V = R i
    J, b, K, R, L = 0.02, 0.05, 0.03, 2.0, 0.4
    plant = lc.DCMotor(J=J, b=b, K=K, R=R, L=L, output="angle")
    op = operating_point(plant, 1.2, load)
    i = load / K
    np.testing.assert_allclose(op.state, [1.2, 0.0, i], rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(op.input, [R * i], rtol=RTOL, atol=ATOL)
    dy, dx = _hold(plant, op, disturbance=load)
    assert dy <= 1e-8
    assert dx <= 1e-8


# --- textbook plants ------------------------------------------------------------------------

@pytest.mark.parametrize("load", [0.0, 0.01])
def test_dc_motor_speed(load):
    # J w' = K i - b w - load = 0, L i' = V - R i - K w = 0
    J, b, K, R, L = 0.01, 0.1, 0.01, 1.0, 0.5
    plant = lc.DCMotor(J=J, b=b, K=K, R=R, L=L)
    w = 2.0
    i = (b * w + load) / K
    op = operating_point(plant, w, load)
    np.testing.assert_allclose(op.state, [w, i], rtol=RTOL)
    np.testing.assert_allclose(op.input, [R * i + K * w], rtol=RTOL)
    dy, dx = _hold(plant, op, disturbance=load)
    assert dy <= 1e-8
    assert dx <= 1e-8


@pytest.mark.parametrize("k", [2.0, 0.0])
def test_mass_spring_damper(k):
    # k x = u + d at rest (k = 0: the force must cancel the disturbance at any position)
    plant = lc.MassSpringDamper(m=1.5, c=0.4, k=k)
    op = operating_point(plant, 0.5, 0.1)
    np.testing.assert_allclose(op.state, [0.5, 0.0], rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(op.input, [k * 0.5 - 0.1], rtol=RTOL, atol=ATOL)
    dy, dx = _hold(plant, op, disturbance=0.1)
    assert dy <= 1e-8
    assert dx <= 1e-8


def test_first_order_lag():
    # tau y' = -y + gain (u + d): y = gain (u + d)
    plant = lc.FirstOrderLag(gain=2.5, tau=0.3)
    op = operating_point(plant, 1.5, -0.2)
    np.testing.assert_allclose(op.input, [1.5 / 2.5 + 0.2], rtol=RTOL)
    np.testing.assert_allclose(op.state, [1.5], rtol=RTOL)
    dy, dx = _hold(plant, op, disturbance=-0.2)
    assert dy <= 1e-8
    assert dx <= 1e-8


def test_an_input_exactly_at_its_limit_is_accepted_and_just_beyond_is_refused():
    plant = lc.FirstOrderLag(gain=2.0, input_limits=(-1.0, 1.0))
    op = operating_point(plant, 2.0)  # needs u = 1, the limit itself
    assert op.input[0] == pytest.approx(1.0, abs=1e-12)
    assert op.input[0] <= 1.0
    with pytest.raises(ValueError, match=r"output=2\.00001 .*needs u > 1 \(its upper limit\)"):
        operating_point(plant, 2.00001)
    with pytest.raises(ValueError, match=r"needs u < -1 \(its lower limit\)"):
        operating_point(plant, -2.00001)


# --- pendulum and a user's numba plant ------------------------------------------------------

@pytest.mark.parametrize(("theta", "d"), [(0.5, 0.0), (-1.0, 0.3), (2.5, -0.2), (math.pi, 0.0)])
def test_pendulum_torque_balances_gravity(theta, d):
    # at rest: u + d = m g l sin(theta)
    m, length, b, g = 2.0, 0.5, 0.3, 9.81
    plant = lc.Pendulum(m=m, l=length, b=b, g=g)
    op = operating_point(plant, theta, d)
    u = m * g * length * math.sin(theta) - d
    np.testing.assert_allclose(op.input, [u], rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(op.state, [theta, 0.0], rtol=RTOL, atol=ATOL)
    ref = ct.find_operating_point(plant.to_nlsys(), [theta, 0.0], [0.0, d], [theta], iu=[1])
    np.testing.assert_allclose(op.input, ref.inputs[:1], rtol=1e-9, atol=1e-9)
    if math.cos(theta) > 0:  # hanging below the pivot: stable, so a run stays
        dy, dx = _hold(plant, op, disturbance=d)
        assert dy <= 1e-8
        assert dx <= 1e-8


def test_pendulum_torque_limit():
    plant = lc.Pendulum(u_max=5.0)  # m g l sin(1) = 8.25 N m
    with pytest.raises(ValueError, match=r"output=1 .*needs u > 5 \(its upper limit\)"):
        operating_point(plant, 1.0)
    assert operating_point(plant, 0.4).input[0] == pytest.approx(9.81 * math.sin(0.4), rel=RTOL)


def test_user_numba_plant(duffing_plant):
    # x'' = -c x' - k x - k3 x^3 + u + d at rest: u = k y + k3 y^3 - d
    _c, k, k3 = duffing_plant.param_values
    op = operating_point(duffing_plant, 1.3, 0.2)
    np.testing.assert_allclose(op.input, [k * 1.3 + k3 * 1.3**3 - 0.2], rtol=RTOL)
    np.testing.assert_allclose(op.state, [1.3, 0.0], rtol=RTOL, atol=ATOL)


# --- the result and the guess ---------------------------------------------------------------

def test_result_is_a_frozen_named_tuple_and_a_guess():
    op = operating_point(lc.Pendulum(), 0.5)
    assert isinstance(op, OperatingPoint)
    assert op._fields == ("state", "input", "output", "residual")
    with pytest.raises(AttributeError):
        op.state = np.zeros(2)
    again = operating_point(lc.Pendulum(), 0.5, guess=op)
    np.testing.assert_allclose(again.input, op.input, rtol=1e-14)
    far = operating_point(lc.Pendulum(), 0.5, guess=([0.4, 0.1], None))
    np.testing.assert_allclose(far.input, op.input, rtol=1e-12)


def test_exported_from_plants():
    import leaky_control.plants as plants

    assert "operating_point" in plants.__all__
    assert "OperatingPoint" in plants.__all__
    assert plants.operating_point is operating_point


def test_docstring_examples():
    import leaky_control.plants.trim as mod

    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0


# --- refusals -------------------------------------------------------------------------------

def test_non_square_plant_is_refused_with_the_sizes():
    two_inputs = ct.ss([[-1.0]], [[1.0, 2.0]], [[1.0]], 0.0)
    with pytest.raises(ValueError, match=r"1 output\(s\) and 2 input\(s\)"):
        operating_point(two_inputs, 1.0)
    two_outputs = lc.LinearPlant(A=[[-1.0, 0.0], [0.0, -2.0]], B=[[1.0], [1.0]], C=np.eye(2))
    with pytest.raises(ValueError, match=r"2 output\(s\) and 1 input\(s\)"):
        operating_point(two_outputs, [1.0, 2.0])


@pytest.mark.parametrize(("output", "match"), [
    (np.nan, r"output must be finite, got .*nan"),
    (np.inf, r"output must be finite, got .*inf"),
    ([1.0, 2.0], r"output must have shape \(1\), got \(2,\)"),
])
def test_bad_set_point_is_refused(output, match):
    with pytest.raises(ValueError, match=match):
        operating_point(lc.CruiseControl(), output)


@pytest.mark.parametrize(("d", "match"), [
    ([0.0, 0.1], r"disturbance must have shape \(1\), got \(2,\)"),
    (np.zeros((1, 1)), r"disturbance must have shape \(1\), got \(1, 1\)"),
    (np.nan, r"disturbance must be finite"),
])
def test_bad_disturbance_is_refused(d, match):
    with pytest.raises(ValueError, match=match):
        operating_point(lc.Pendulum(), 0.5, d)


def test_bad_tol_and_guess_are_refused():
    with pytest.raises(ValueError, match=r"tol must be in \(0, inf\), got 0"):
        operating_point(lc.Pendulum(), 0.5, tol=0.0)
    with pytest.raises(ValueError, match=r"guess state must have shape \(2\), got \(1,\)"):
        operating_point(lc.Pendulum(), 0.5, guess=([0.5], None))
    with pytest.raises(ValueError, match=r"guess must be a \(state, input\) pair"):
        operating_point(lc.Pendulum(), 0.5, guess=3.0)
    with pytest.raises(TypeError, match=r"output must be an array of real numbers"):
        operating_point(lc.Pendulum(), "half")


@pytest.mark.parametrize("plant", [
    lc.FirstOrderLag(gain=0.0),                # no static gain at all
    ct.tf([1.0, 0.0], [1.0, 3.0, 2.0]),        # a zero at s = 0: y = 0 at every equilibrium
], ids=["zero-gain", "zero-at-origin"])
def test_unreachable_set_point_is_refused_with_the_residual(plant):
    with pytest.raises(ValueError, match=r"output=1 .*unreachable.*residual [\d.e+-]+ > tol"):
        operating_point(plant, 1.0)
    assert operating_point(plant, 0.0).residual <= 1e-10  # y = 0 is an equilibrium output


def test_feedthrough_is_refused():
    with pytest.raises(ValueError, match=r"feedthrough \(D != 0\)"):
        operating_point(ct.tf([1.0, 1.0], [1.0, 2.0]), 1.0)
