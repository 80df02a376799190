"""Contraction certificates checked on trajectories from the core simulator (issue 5).

The certificate says: for any two trajectories of the loop x' = A x + B kp phi_a(r - C x),
sqrt(dx' M dx) decays at least like exp(-c t). We simulate two trajectories with
``lc.simulate`` (RK4, h = 1e-3: its error, about 1e-9 here, is far below the 1e-6 slack used)
and check the bound at every output time.
"""

import control as ct
import numpy as np
import pytest

import leaky_control as lc

cvxpy = pytest.importorskip("cvxpy")
from leaky_control.analysis import contraction_rate  # noqa: E402


def _distance(M, d):
    return np.sqrt(np.einsum("it,ij,jt->t", d, M, d))


def test_simulated_pairs_contract_at_the_certified_rate():
    plant = lc.as_plant(ct.tf([1.0], [1.0, 3.0, 3.0, 1.0]))  # 1/(s+1)^3
    ctrl = lc.LeakyP(kp=5.0, negative_slope=0.5)
    cert = contraction_rate(plant, ctrl)
    assert cert.success and cert.rate > 0
    assert cert.check()
    t = np.linspace(0.0, 15.0, 1501)
    r = 0.5 + np.sin(1.3 * t)  # drives the error through zero: both slopes are visited
    resp = [lc.simulate(plant, ctrl, t, reference=r, initial_state=x0, solver=lc.RK4(max_step=1e-3))
            for x0 in ([2.0, -1.0, 0.5], [-1.0, 0.5, -2.0])]
    for rs in resp:
        e = rs.signal("e")
        assert (e > 0).any() and (e < 0).any(), "the run must cross the kink"
    d = resp[0].states - resp[1].states
    dist = _distance(cert.metric, d)
    bound = dist[0] * np.exp(-cert.rate * t)
    assert np.all(dist <= bound * (1 + 1e-6) + 1e-12)
    # and the decay is not trivially fast: the bound is within a factor 1e3 at the end
    assert dist[-1] > 1e-3 * bound[-1] or dist[-1] < 1e-12


def test_relu_loop_gets_no_certificate_where_the_leak_does():
    plant = lc.as_plant(ct.tf([1.0], [1.0, 3.0, 3.0, 1.0]))
    assert not contraction_rate(plant, lc.LeakyP(kp=5.0, negative_slope=0.0)).success
    assert contraction_rate(plant, lc.LeakyP(kp=5.0, negative_slope=0.5)).success
