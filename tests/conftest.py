"""Shared test fixtures."""

import pytest


@pytest.fixture(scope="session")
def duffing_plant():
    """A user-written numba plant (hardening Duffing oscillator) through ``@rhs``, with one
    disturbance input: ``x'' = -c x' - k x - k3 x^3 + u + d``, params ``(c, k, k3)``."""
    import numba

    import leaky_control as lc

    @lc.rhs
    @numba.njit
    def duffing(t, x, ud, params, dx):
        dx[0] = x[1]
        dx[1] = -params[0] * x[1] - params[1] * x[0] - params[2] * x[0] ** 3 + ud[0] + ud[1]

    return lc.NumbaPlant(duffing, nstates=2, ndisturbances=1, params=[0.3, 1.0, 0.5])
