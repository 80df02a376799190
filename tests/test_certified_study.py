"""simulations/certified_nn_controller.py (issue 14's study) in its quick version.

The study's own claim is checked on its CSV: every start inside a certified region converges,
no certified ball reaches a radius where a simulated start fails, the cruise loop claims
nothing. Independently of lc.simulate / lc.sweep, some of the inside starts of one network are
integrated again here with scipy's solve_ivp (DOP853, rtol 1e-10) on the pendulum equation
written out below and the controller's own ``forward``, saturated by hand.
"""

from __future__ import annotations

import csv
import importlib.util
import math
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray
from scipy.integrate import solve_ivp

SCRIPT = Path(__file__).resolve().parents[1] / "simulations" / "certified_nn_controller.py"
REQUIRED = ["plant", "negative_slope", "certified_global", "certified_rate", "roa_radius",
            "trajectories_inside", "converged_inside", "trajectories_outside",
            "converged_outside"]
SLOPES = [0.0, 0.01, 0.1, 0.3]

pytestmark = pytest.mark.slow


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("certified_nn_controller", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    # the script's dataclasses resolve their (string) annotations through sys.modules
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> tuple[ModuleType, list[dict[str, str]],
                                                              list[str], Path]:
    mod = _load()
    out = tmp_path_factory.mktemp("certified")
    assert mod.main(["--out", str(out), "--quick"]) == 0
    with open(out / "certified_nn_controller.csv") as fh:
        reader = csv.DictReader(fh)
        rows = list(reader)
        header = list(reader.fieldnames or [])
    return mod, rows, header, out


def _col(row: dict[str, str], name: str) -> str:
    """The cell of column ``name`` (headers carry units: ``name [unit]``)."""
    keys = [k for k in row if k.split(" [")[0] == name]
    assert len(keys) == 1, (name, list(row))
    return row[keys[0]]


def test_csv_columns_rows_and_figure(study: Any) -> None:
    _, rows, header, out = study
    names = [h.split(" [")[0] for h in header]
    assert names[: len(REQUIRED)] == REQUIRED
    assert all(" [" in h and h.endswith("]") for h in header)  # every column has a unit
    keys = [(_col(r, "plant"), float(_col(r, "negative_slope"))) for r in rows]
    assert sorted(keys) == sorted((p, a) for p in ("pendulum", "cruise") for a in SLOPES)
    png = out / "certified_nn_controller.png"
    assert png.read_bytes()[:4] == b"\x89PNG"
    assert png.stat().st_size > 50_000


def test_certified_starts_all_converge_and_claims_stay_below_simulation(study: Any) -> None:
    """For every certified row: converged_inside == trajectories_inside >= 50 (quick mode), and
    the certified ball is smaller than the simulated one (probed on circles)."""
    _, rows, _, _ = study
    certified = [r for r in rows if _col(r, "status") in ("global", "region")]
    assert certified
    for r in certified:
        n_in = int(_col(r, "trajectories_inside"))
        assert n_in >= 50, r
        assert int(_col(r, "converged_inside")) == n_in, r
        assert float(_col(r, "roa_radius")) <= float(_col(r, "simulated_ball_radius")), r
        assert float(_col(r, "max_V_inside")) <= 1.0 + 1e-6, r  # the ellipsoid is invariant
        assert float(_col(r, "worst_final_error_inside")) <= 1e-3, r
    pend = [r for r in rows if _col(r, "plant") == "pendulum"]
    assert max(float(_col(r, "roa_radius")) for r in pend) > 0.0
    # the torque limit 5 N m cannot hold the pendulum beyond asin(5 / (m g l)) = 0.535 rad
    # (m = l = 1, g = 9.81): no certified ball may reach it
    assert all(float(_col(r, "roa_radius")) < math.asin(5.0 / 9.81) for r in pend)
    # saturation on an open-loop unstable plant: no global certificate for any leak
    assert all(_col(r, "certified_global") == "false" for r in pend)


def test_cruise_rows_claim_nothing(study: Any) -> None:
    """certify models the car only through its linearisation: status linearisation_only,
    radius 0, not global, every start counted as outside (unclaimed)."""
    _, rows, _, _ = study
    cruise = [r for r in rows if _col(r, "plant") == "cruise"]
    assert len(cruise) == 4
    for r in cruise:
        assert _col(r, "status") == "linearisation_only"
        assert float(_col(r, "roa_radius")) == 0.0
        assert _col(r, "certified_global") == "false"
        assert float(_col(r, "certified_rate")) == 0.0
        assert int(_col(r, "trajectories_inside")) == 0
        assert int(_col(r, "trajectories_outside")) >= 50


def _pendulum_rhs(ctrl: Any, u_max: float) -> Any:
    """m l^2 th'' = u - b th' - m g l sin(th), m = l = 1, b = 0.1, g = 9.81 (lc.Pendulum's
    defaults), u = clip(network, -u_max, u_max)."""
    def rhs(_t: float, x: NDArray[np.float64]) -> list[float]:
        u = float(np.clip(ctrl.forward(x)[0], -u_max, u_max))
        return [x[1], u - 0.1 * x[1] - 9.81 * math.sin(x[0])]
    return rhs


@pytest.mark.parametrize("slope", [0.0, 0.3])
def test_inside_starts_converge_under_scipy(study: Any, slope: float) -> None:
    """The 12 starts inside the certified ellipsoid that lie farthest out in its metric (on or
    next to its boundary), integrated for 20 s by solve_ivp: all within 1e-3 of the upright."""
    mod = study[0]
    case = mod.pendulum_case()
    o = mod.run_case(case, slope, 60, 0, np.random.default_rng(3), n_dir=4)
    assert o.cert.status == "region", o.cert.summary()
    P = o.cert.region.P
    D = o.X0[o.inside] - o.x_star
    v = np.einsum("ki,ij,kj->k", D, P, D)
    assert np.all(v <= 1.0)  # the starts are inside the ellipsoid (P applied here)
    picks = np.argsort(v)[-12:]
    for x0 in o.X0[o.inside][picks]:
        sol = solve_ivp(_pendulum_rhs(o.controller, mod.U_MAX), (0.0, 20.0), x0,
                        method="DOP853", rtol=1e-10, atol=1e-12)
        assert sol.success
        err = np.max(np.abs(sol.y[:, -1] - np.array([math.pi, 0.0])))
        assert err <= 1e-3, (x0, err)


def test_a_certified_start_that_fails_stops_the_study(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """A soundness failure is never hidden: with a convergence test no trajectory can pass
    (tolerance -1), main writes its files, returns 1 and names the case on stderr."""
    mod = _load()
    monkeypatch.setattr(mod, "SLOPES", (0.1,))
    monkeypatch.setattr(mod, "CONVERGED_TOL", -1.0)
    assert mod.main(["--out", str(tmp_path), "--quick", "--inside", "5", "--outside", "1"]) == 1
    err = capsys.readouterr().err
    assert "SOUNDNESS FAILURE" in err
    assert "pendulum, negative_slope 0.1: start [" in err
    assert (tmp_path / "certified_nn_controller.csv").exists()
