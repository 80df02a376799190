"""Complex input is refused by name, never silently truncated; leaky_relu at -inf follows the
limits of its definition (issue 12's silent wrong results)."""

import numpy as np
import pytest

import leaky_control as lc


def test_leaky_relu_at_minus_infinity_is_its_limit():
    # a x -> -inf for a > 0; relu (a = 0) is 0 for every negative input, as lc.relu says
    assert lc.leaky_relu(-np.inf, 0.1) == -np.inf
    assert lc.leaky_relu(-np.inf, 0.0) == 0.0 == lc.relu(-np.inf)
    assert lc.leaky_relu(np.inf, 0.0) == np.inf


@pytest.mark.parametrize("call, name", [
    (lambda: lc.leaky_relu(np.array([1.0 + 2.0j]), 0.1), "x must be real"),
    (lambda: lc.simulate(lc.FirstOrderLag(), lc.LeakyP(kp=1.0, negative_slope=0.1), np.linspace(0, 1, 11),
                         reference=np.full(11, 1.0 + 1.0j)), "reference must be real"),
    (lambda: lc.simulate(lc.FirstOrderLag(), lc.LeakyP(kp=1.0, negative_slope=0.1), np.linspace(0, 1, 11) + 0j),
     "timepts must be real"),
    (lambda: lc.simulate(lc.MassSpringDamper(), lc.LeakyP(kp=1.0, negative_slope=0.1), 1.0,
                         initial_state=[1.0j, 0.0]), "initial_state must be real"),
    (lambda: lc.LinearPlant([[1j]], [[1.0]], [[1.0]]), "A must be real"),
])
def test_complex_input_is_refused_by_name(call, name):
    with pytest.raises(TypeError, match=name):
        call()
