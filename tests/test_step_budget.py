"""The default fixed step never runs away: a discontinuity at the initial point does not drive
it down, and a run that would exceed the step budget is refused before it starts, with the
stiff solver suggested when the loop is stiff."""

import numpy as np
import pytest

import leaky_control as lc


def test_jacobian_at_a_jump_takes_the_smooth_side():
    # sgn(v) in the rolling resistance jumps at v = 0; the cruise model at rest, throttle 0:
    # d(v')/dv is 0 on either side (no drag, no engine force), d(v')/du the engine's force at
    # rest alpha * Tm * (1 - beta) / m on the unclipped side (the clip at u = 0 is a kink: the
    # steeper side is kept)
    p = lc.CruiseControl()
    Jx, Ju, Cx = p.jacobian([0.0], [0.0], [0.0])
    assert abs(Jx[0, 0]) < 1e-6
    alpha = p.alpha[p.gear - 1]
    assert Ju[0, 0] == pytest.approx(alpha * p.Tm * (1 - p.beta) / p.m, rel=1e-5)
    assert Cx[0, 0] == pytest.approx(1.0, rel=1e-9)


def test_cruise_from_rest_takes_a_handful_of_steps_and_agrees_with_dopri5():
    plant, ctrl = lc.CruiseControl(), lc.LeakyPI(kp=0.5, ki=0.1, negative_slope=0.1)
    t = np.linspace(0.0, 30.0, 601)
    fast = lc.step_response(plant, ctrl, t, amplitude=10.0)
    # the central-difference Jacobian across sgn(v) once gave a 2e-6 s step: 24.5 M steps
    assert fast.success and fast.stats["nsteps"] < 10_000
    ref = lc.step_response(plant, ctrl, t, amplitude=10.0,
                           solver=lc.Dopri5(rtol=1e-10, atol=1e-12))
    # RK4 at the 0.05 s output spacing, across the loop's kinks: O(h^2 jump) local errors
    np.testing.assert_allclose(fast.outputs[0], ref.outputs[0], atol=1e-3 * 10.0)


@pytest.mark.parametrize("solver, controller, what", [
    (lc.RK4(max_step=1e-300), lc.LeakyP(kp=2.0, negative_slope=0.1), "raise max_step or max_steps"),
    (lc.Euler(max_step=1e-9), lc.LeakyP(kp=2.0, negative_slope=0.1), "raise max_step or max_steps"),
    (None, lc.LeakyP(kp=2.0, dt=1e-12, negative_slope=0.1), "max_steps = 10000000"),
])
def test_a_run_over_the_step_budget_is_refused_before_it_starts(solver, controller, what):
    with pytest.raises(ValueError, match="would take about") as err:
        lc.simulate(lc.FirstOrderLag(), controller, 10.0, solver=solver)
    assert what in str(err.value)


def test_a_stiff_loop_is_refused_with_the_stiff_solver_named_and_that_solver_runs_it():
    # a slow mode (1/s) and a sensor lag of 1 us: RK4's default step must resolve 1e6/s
    plant = lc.LinearPlant([[-1.0, 0.0], [1e6, -1e6]], [[1.0], [0.0]], [[0.0, 1.0]])
    ctrl = lc.LeakyP(kp=1.0, negative_slope=0.5)
    with pytest.raises(ValueError, match="stiff: use solver=lc.Rosenbrock23"):
        lc.simulate(plant, ctrl, 100.0, reference=1.0)
    resp = lc.simulate(plant, ctrl, 100.0, reference=1.0, solver=lc.Rosenbrock23())
    assert resp.success and resp.stats["nsteps"] < 10_000
    # the loop settles where kp (r - y) = y: y = 0.5 (the sensor's static gain is 1)
    assert resp.outputs[-1] == pytest.approx(0.5, rel=1e-5)


def test_budget_and_sweeps_a_point_over_budget_is_reported_not_run():
    res = lc.sweep(lc.FirstOrderLag(), lc.LeakyP(kp=2.0, negative_slope=0.1), {"dt": [None, 1e-12]},
                   np.linspace(0.0, 10.0, 11))
    assert res.status.tolist() == [0, int(lc.Status.INVALID_PARAMETERS)]
    assert "would take about" in res.messages[1]
