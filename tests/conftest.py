"""Shared test fixtures, and the check that CI runs every optional extra's tests."""

import importlib.util
import os

import pytest

# what the README's test command installs: a module of each extra the tests exercise
EXTRA_MODULES = {
    "analysis": ("cvxpy", "clarabel", "scs"),
    "distributed": ("dask", "distributed"),
    "progress": ("tqdm",),
    "test": ("hypothesis", "pandas"),
    "docs": ("sphinx", "sphinx_gallery", "numpydoc", "myst_parser", "pydata_sphinx_theme",
             "sphinx-mathjax-offline"),  # its import name has hyphens
    "typecheck": ("mypy",),
    "oracle": ("jax",),
}


def pytest_configure(config):
    """With ``LEAKY_CONTROL_REQUIRE_EXTRAS=1`` (the README's test command sets it) a missing
    extra is an error before any test runs: its tests would otherwise skip, and a green run
    would hide that they never ran. Without it, such tests skip with a reason naming the extra."""
    if os.environ.get("LEAKY_CONTROL_REQUIRE_EXTRAS", "0") in ("", "0"):
        return
    missing = [f"{module} (extra '{extra}')" for extra, modules in EXTRA_MODULES.items()
               for module in modules if importlib.util.find_spec(module) is None]
    if missing:
        raise pytest.UsageError(
            "LEAKY_CONTROL_REQUIRE_EXTRAS is set but these are not installed: "
            + ", ".join(missing) + '; install them with pip install -e ".[test,analysis,'
            'distributed,progress,docs,typecheck,oracle]" or unset the variable')


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


@pytest.fixture(scope="session")
def loop_scenario():
    """The oracle comparisons' scenario for a plant: ``(t, x0, r, d)`` on 0-4 s.

    The cruise car starts at 20 m/s, is asked for 25 then 18 m/s (the overshoot makes the
    leak act) on a road that tilts between 1 and 2 s (kinks there only). Other plants start
    at rest with a reference step from 1 to -0.5 at 2 s and a sinusoidal disturbance (a
    slope change at every output time)."""
    import numpy as np

    import leaky_control as lc

    def scenario(plant):
        t = np.linspace(0.0, 4.0, 201)
        if isinstance(plant, lc.CruiseControl):
            x0, r = np.array([20.0]), np.where(t < 1.0, 25.0, 18.0)
            d = np.interp(t, [0, 1, 2, 4], [0, 0, 0.05, 0.05])
        else:
            x0 = np.zeros(plant.nstates)
            r = np.where(t < 2.0, 1.0, -0.5)
            d = 0.2 * np.sin(t)
        return t, x0, r, d

    return scenario
