"""Scenario files: every shipped scenario runs and agrees with an independent computation, and
every kind of bad input is refused with the key path, the value and what is allowed.

Oracles: the cruise loop built by hand in Python (plant, controller, road slope and the
integrator's trim from ``CruiseControl.equilibrium_throttle``, not from the scenario code) with
python-control's ``step_info``; the servo's linear cases against ``ct.step_response`` of
``ct.feedback``; the pendulum against python-control's ``input_output_response`` of the same
loop interconnected by signal name; the sweep's points against ``simulate`` + ``step_info``.
"""

from __future__ import annotations

import csv
import math
import textwrap
from pathlib import Path
from typing import Any

import control as ct
import numpy as np
import pytest

import leaky_control as lc
from leaky_control.scenarios import ScenarioError, load_scenario, parse_scenario, shipped_scenarios
from leaky_control.scenarios.runner import run_scenario, run_sweep, simulate_runs


def _quiet(message: str) -> None:
    pass


def _read_csv(path: str) -> list[dict[str, str]]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def _toml(tmp_path: Path, text: str, name: str = "s.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


MINIMAL = """
reference = 1.0
[time]
final = 5.0
[plant]
type = "FirstOrderLag"
tau = 2.0
[controller]
type = "LeakyPI"
kp = 1.0
ki = 0.5
negative_slopes = [0.0, 1.0]
"""


# --- shipped scenarios ----------------------------------------------------------------------------

def test_the_shipped_scenarios_are_the_four_promised_and_all_parse() -> None:
    names = set(shipped_scenarios())
    assert {"cruise_control.toml", "cruise_pi_hill.toml", "servo_python_control.toml",
            "pendulum.toml", "cruise_sweep.toml"} <= names
    for name, path in shipped_scenarios().items():
        sc = load_scenario(path)
        assert sc.title, name
        assert sc.summary, name
        assert sc.runs, name


def test_simulations_scenarios_is_the_shipped_folder_not_a_copy() -> None:
    root = Path(__file__).resolve().parents[1]
    link = root / "simulations" / "scenarios"
    assert link.resolve() == (root / "leaky_control" / "scenarios" / "shipped").resolve()


def _cruise_oracle(brake: bool, a: float, t: np.ndarray) -> tuple[Any, dict[str, float]]:
    """The flagship loop written out by hand, with python-control's step_info."""
    deg = math.pi / 180.0
    theta = np.interp(t, [0.0, 5.0, 6.0, 25.0, 27.0, 1e9], [0, 0, 4 * deg, 4 * deg, -deg, -deg])
    car = lc.CruiseControl(brake=brake)
    ctrl = lc.LeakyPI(kp=0.5, ki=0.1, negative_slope=a, u_min=-1.0 if brake else 0.0,
                      u_max=1.0)
    z0 = car.equilibrium_throttle(20.0) / 0.1
    resp = lc.simulate(car, ctrl, t, reference=25.0, disturbance=theta, initial_state=[20.0],
                       controller_state=[z0])
    # python-control measures from 0: give it the deviation from the 20 m/s start
    info = ct.step_info(resp.outputs - 20.0, t, final_output=5.0)
    for k in ("Peak", "SettlingMin", "SettlingMax", "SteadyStateValue"):
        info[k] += 20.0
    info["IAE"] = float(np.trapezoid(np.abs(25.0 - resp.outputs), t))
    return resp, info


@pytest.mark.slow
def test_cruise_scenario_metrics_equal_the_loop_built_by_hand(tmp_path: Path) -> None:
    sc = load_scenario(shipped_scenarios()["cruise_pi_hill.toml"])
    result = run_scenario(sc, tmp_path, report=_quiet)
    assert [Path(f).name for f in result.files] == [
        "cruise_pi_hill_metrics.csv", "cruise_pi_hill_response.csv", "cruise_pi_hill.png"]
    rows = _read_csv(str(tmp_path / "cruise_pi_hill_metrics.csv"))
    assert len(rows) == 6
    t = np.linspace(0.0, 60.0, 6001)
    for row, outcome in zip(rows, result.outcomes, strict=False):
        brake = "with brake" in row["plant [-]"]
        a = float(row["negative_slope [-]"])
        resp, info = _cruise_oracle(brake, a, t)
        # the integrator's trim comes from operating_point in the scenario and from the
        # closed form here: they agree to ~1e-12, so the runs agree far below the tolerances
        np.testing.assert_allclose(outcome.response.outputs, resp.outputs, rtol=0, atol=1e-8)
        for key, unit in (("Overshoot", "%"), ("SettlingTime", "s"), ("RiseTime", "s"),
                          ("PeakTime", "s"), ("Peak", "m/s"), ("SettlingMin", "m/s"),
                          ("SettlingMax", "m/s")):
            # 6 significant digits in the file; times are exact multiples of the 0.01 s grid
            assert float(row[f"{key} [{unit}]"]) == pytest.approx(info[key], rel=1e-5,
                                                                    abs=1e-9), key
        assert float(row["IAE [m/s s]"]) == pytest.approx(info["IAE"], rel=1e-5)
        assert row["status [-]"] == "ok"
    # the flagship's physics: with a brake the leak shortens settling (46.22 s -> 45.38 s)
    by = {(r["plant [-]"][:4], float(r["negative_slope [-]"])): r for r in rows}
    assert float(by[("with", 0.1)]["SettlingTime [s]"]) < float(by[("with", 0.0)][
        "SettlingTime [s]"])


@pytest.mark.slow
def test_cruise_control_scenario_is_the_demo_study_in_toml() -> None:
    from leaky_control.studies import cruise_control as study

    sc = load_scenario(shipped_scenarios()["cruise_control.toml"])
    # the file states the study's constants; a changed study must change the file too
    deg = math.pi / 180.0
    assert sc.reference.constant == [study.VREF]
    assert sc.initial_states[0].tolist() == [study.V0]
    t = sc.timepts
    np.testing.assert_allclose(sc.disturbance.at(t)[0], study.road_slope(t), rtol=0,
                               atol=1e-15 * deg)
    cases = study.run_study()
    outcomes = simulate_runs(sc, report=_quiet)
    assert len(cases) == len(outcomes) == 6
    for case, o in zip(cases, outcomes, strict=True):
        assert ("brake" in o.run.plant_label and "with" in o.run.plant_label) == case.brake
        assert o.run.negative_slope == case.negative_slope
        np.testing.assert_allclose(o.response.time, case.response.time, rtol=0, atol=0)
        # same loop, same solver: equal to rounding (the road's breakpoints are computed
        # once in degrees times pi/180, once with math.radians)
        np.testing.assert_allclose(o.response.outputs, case.response.outputs, rtol=0,
                                   atol=1e-9)
        np.testing.assert_allclose(o.response.signal("u"), case.response.signal("u"), rtol=0,
                                   atol=1e-9)


@pytest.mark.slow
def test_cruise_response_csv_holds_every_run_with_units(tmp_path: Path) -> None:
    sc = load_scenario(shipped_scenarios()["cruise_pi_hill.toml"], final_time=10.0)
    run_scenario(sc, tmp_path, report=_quiet)
    with open(tmp_path / "cruise_pi_hill_response.csv", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        rows = list(reader)
    assert header == ["run [-]", "plant [-]", "controller [-]", "negative_slope [-]",
                      "time [s]", "r [m/s]", "v [m/s]", "theta [rad]", "u [-]", "u_raw [-]",
                      "e [m/s]"]
    assert len(rows) == 6 * sc.timepts.size
    # the road tilts 4 degrees between 5 and 6 s: the file holds it in radians
    at6 = next(r for r in rows if r[0] == "0" and float(r[4]) == 6.0)
    assert float(at6[7]) == pytest.approx(math.radians(4.0), rel=1e-6)


def _pd_tf(kp: float, kd: float) -> ct.TransferFunction:
    tau = kd / (10.0 * kp)  # LeakyPD's default derivative filter (N = 10)
    return ct.tf([kp * tau + kd, kp], [tau, 1.0])


@pytest.mark.slow
def test_servo_scenario_linear_cases_equal_python_control_feedback(tmp_path: Path) -> None:
    sc = load_scenario(shipped_scenarios()["servo_python_control.toml"])
    result = run_scenario(sc, tmp_path, report=_quiet)
    plant = ct.tf([1], [1, 2, 0])
    designs = {"leaky PD": _pd_tf(4.0, 1.0), "leaky lead": ct.tf([10.0, 10.0], [1.0, 5.0])}
    t = sc.timepts
    checked = 0
    for o in result.outcomes:
        if o.run.negative_slope != 1.0:
            continue
        ref = ct.step_response(ct.feedback(designs[o.run.controller_label] * plant), t)
        # Dopri5 at rtol 1e-8 against python-control's exact discretisation of a linear loop
        np.testing.assert_allclose(o.response.outputs, np.squeeze(ref.outputs), atol=1e-6)
        checked += 1
    assert checked == 2
    # below a = 1 the loops differ from the linear design: the leak is not a no-op
    pd = {o.run.negative_slope: o.response.outputs for o in result.outcomes
          if o.run.controller_label == "leaky PD"}
    assert np.max(np.abs(pd[0.0] - pd[1.0])) > 1e-2
    # the ReLU PD has no push-back once above the target: it stops 5 % above it and never
    # enters the 2 % band of the reference (final_output = "reference" in the file)
    rows = _read_csv(str(tmp_path / "servo_python_control_metrics.csv"))
    relu = next(r for r in rows if r["controller [-]"] == "leaky PD" and
            r["negative_slope [-]"] == "0")
    assert relu["SettlingTime [s]"] == "nan"
    assert float(relu["SettlingMax [rad]"]) == pytest.approx(pd[0.0][-1], rel=1e-5)
    assert pd[0.0][-1] > 1.04


@pytest.mark.slow
def test_pendulum_scenario_equals_python_control_interconnection(tmp_path: Path) -> None:
    sc = load_scenario(shipped_scenarios()["pendulum.toml"], final_time=10.0)
    outcomes = simulate_runs(sc, report=_quiet)
    t = sc.timepts
    r = np.interp(t, [0.0, 1.0, 1.001], [0.5, 0.5, 1.0])
    d = np.interp(t, [0.0, 8.0, 8.001, 8.5, 8.501], [0.0, 0.0, 3.0, 3.0, 0.0])
    plant = lc.Pendulum(m=1.0, l=1.0, b=0.1, u_min=-10.0, u_max=10.0)
    z0 = 1.0 * 9.81 * 1.0 * math.sin(0.5) / 10.0  # m g l sin(theta) / ki: holds 0.5 rad
    for o in outcomes:
        ctrl = lc.LeakyPID(kp=20.0, ki=10.0, kd=2.0, negative_slope=o.run.negative_slope,
                           u_min=-10.0, u_max=10.0)
        loop = lc.closed_loop_nlsys(plant, ctrl)
        ref = ct.input_output_response(loop, t, [r, d], [0.5, 0.0, z0, 0.0],
                                       solve_ivp_kwargs={"rtol": 1e-10, "atol": 1e-10,
                                                         "max_step": 1e-3})
        # both integrate the same piecewise-linear inputs; tolerance covers solve_ivp's
        # error through the 1 ms input ramps
        np.testing.assert_allclose(o.response.outputs, ref.outputs[0], atol=2e-4)
    peak = {o.run.negative_slope: float(np.max(o.response.outputs)) for o in outcomes}
    assert peak[0.0] > peak[0.1] > peak[1.0]  # the kick: the leak pushes back


@pytest.mark.slow
def test_sweep_scenario_points_equal_simulate_and_step_info(tmp_path: Path) -> None:
    sc = load_scenario(shipped_scenarios()["cruise_sweep.toml"],
                       ["sweep.grid.negative_slope=[0.0, 0.5, 1.0]", "sweep.grid.kp=[0.3, 0.8]"])
    outcome = run_sweep(sc, tmp_path, checkpoint=tmp_path / "ck", progress=False,
                        report=_quiet)
    rows = _read_csv(outcome.files[0])
    assert len(rows) == 6
    assert outcome.files[1].endswith("cruise_sweep_sweep.png")
    assert Path(outcome.files[1]).stat().st_size > 10_000  # heat maps over the 3 x 2 grid
    t = np.linspace(0.0, 150.0, 1501)
    for row in rows:
        a, kp = float(row["negative_slope [-]"]), float(row["kp [1/(m/s)]"])
        resp = lc.simulate(lc.CruiseControl(), lc.LeakyPI(kp=kp, ki=0.1, negative_slope=a),
                           t, reference=25.0, initial_state=[20.0],
                           solver=lc.Dopri5(rtol=1e-6))
        info = ct.step_info(resp.outputs - 20.0, t, final_output=5.0)
        assert float(row["Overshoot [%]"]) == pytest.approx(info["Overshoot"], rel=1e-5)
        assert float(row["SettlingTime [s]"]) == pytest.approx(info["SettlingTime"], rel=1e-5)
        assert row["status [-]"] == "ok"
        assert row["Settled [-]"] == "true"
    # resuming from the checkpoint gives the same file
    again = run_sweep(sc, tmp_path / "again", checkpoint=tmp_path / "ck", progress=False,
                      report=_quiet)
    assert again.result.stats["chunks_from_checkpoint"] == again.result.stats["nchunks"]
    assert Path(again.files[0]).read_text() == Path(outcome.files[0]).read_text()


# --- a user's plant, named module:Class ----------------------------------------------------------

TANK = '''
from dataclasses import dataclass
from typing import NamedTuple
import math
import leaky_control as lc


class TankRecord(NamedTuple):
    area: float
    outlet: float


@dataclass(frozen=True)
class Tank(lc.Plant):
    area: float = 2.0
    outlet: float = 0.05
    Record = TankRecord
    nstates = ninputs = ndisturbances = noutputs = 1

    def record(self):
        return TankRecord(float(self.area), float(self.outlet))

    @staticmethod
    def dynamics(p, t, x, u, d, dx):
        dx[0] = (min(max(u[0], 0.0), 1.0) - p.outlet * math.sqrt(2 * 9.81 * max(x[0], 0.0))
                 + d[0]) / p.area
'''


def test_a_users_plant_class_is_found_by_module_and_name(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "scenario_tank_mod.py").write_text(TANK)
    monkeypatch.syspath_prepend(str(tmp_path))
    sc = parse_scenario({"time": {"final": 10.0}, "reference": 1.0,
                         "plant": {"type": "scenario_tank_mod:Tank", "area": 3.0},
                         "controller": {"type": "LeakyPI", "kp": 2.0, "ki": 0.2,
                                        "negative_slopes": [0.1]}})
    assert type(sc.runs[0].plant).__name__ == "Tank"
    assert sc.runs[0].plant.area == 3.0
    with pytest.raises(ScenarioError, match=r"plant\.aera = 3.*did you mean 'area'"):
        parse_scenario({"time": {"final": 10.0},
                        "plant": {"type": "scenario_tank_mod:Tank", "aera": 3.0},
                        "controller": {"type": "LeakyP", "kp": 1.0, "negative_slopes": [0]}})


# --- validation: the key path, the value, what is allowed -----------------------------------------

BAD = [
    # (change to MINIMAL as a replacement pair, expected key path, text in the message)
    (("negative_slopes = [0.0, 1.0]", "negative_slopes = [0.0, 1.0, 2.0]"),
     "controller.negative_slopes[2] = 2.0", "in [0, 1]"),
    (("negative_slopes = [0.0, 1.0]", "negative_slopes = [0.0, \"x\"]"),
     "controller.negative_slopes[1] = 'x'", "leak in [0, 1]"),
    (("kp = 1.0", "kpp = 1.0"), "controller.kpp = 1.0", "did you mean 'kp'"),
    (("kp = 1.0", "kp = \"big\""), "controller.kp = 'big'", "must be a number"),
    (("tau = 2.0", "tau = -2.0"), "plant.tau = -2.0", "tau"),
    (("type = \"FirstOrderLag\"", "type = \"FirstOrderLagg\""), "plant.type = 'FirstOrderLagg'",
     "did you mean 'FirstOrderLag'"),
    (("type = \"LeakyPI\"", "type = \"leakypi\""), "controller.type = 'leakypi'",
     "did you mean 'LeakyPI'"),
    (("final = 5.0", "final = -1.0"), "time.final = -1.0", "> time.start"),
    (("final = 5.0", "finale = 5.0"), "time.finale = 5.0", "did you mean 'final'"),
    (("reference = 1.0", "refrence = 1.0"), "refrence = 1.0", "did you mean 'reference'"),
    (("reference = 1.0", "reference = \"one\""), "reference = 'one'", "must be a table"),
    (("[time]", "[time]\npoints = 1"), "time.points = 1", "integer >= 2"),
]


@pytest.mark.parametrize(("change", "where", "what"), BAD, ids=[b[1].split(" ")[0] for b in BAD])
def test_bad_keys_and_values_name_the_key_path(tmp_path: Path, change: tuple[str, str],
                                               where: str, what: str) -> None:
    path = _toml(tmp_path, MINIMAL.replace(*change, 1))
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    text = str(err.value)
    assert text.startswith(f"{path}: {where}"), text
    assert what in text, text


@pytest.mark.parametrize(("extra", "where", "what"), [
    ("[disturbance]\ntimes = [0, 1, 1]\nvalues = [0, 1, 2]\n", "disturbance.times[2] = 1",
     "strictly increasing"),
    ("[disturbance]\ntimes = [0, 1]\nvalues = [0, 1, 2]\n", "disturbance.values = [0, 1, 2]",
     "must hold 2 values"),
    ("[disturbance]\ntimes = [0, 1]\n", "disturbance.values: missing", "one per time"),
    ("[initial]\nstate = [1.0, 2.0]\n", "initial.state = [1.0, 2.0]", "has 1 states"),
    ("[initial]\ncontroller_state = \"trim\"\n", "initial.controller_state = 'trim'",
     "needs initial.output"),
    ("[metrics]\nkeys = [\"Overshot\"]\n", "metrics.keys[0] = 'Overshot'",
     "did you mean 'Overshoot'"),
    ("[output]\ncolumns = \"rows\"\n", "output.columns = 'rows'", "\"plant\" or"),
    ("[solver]\ntype = \"RK5\"\n", "solver.type = 'RK5'", "RK4"),
    ("[solver]\ntype = \"Dopri5\"\nrtol = 0.0\n", "solver.rtol = 0.0", "rtol"),
    ("[sweep.grid]\nkq = [1, 2]\n", "sweep.grid.kq = [1, 2]", "did you mean 'kp'"),
    ("[sweep.grid]\nkp = { linspace = [0, 1] }\n", "sweep.grid.kp.linspace = [0, 1]",
     "three numbers"),
    ("[sweep.grid]\nnegative_slope = [0, 1.5]\n", "sweep.grid.negative_slope = [0, 1.5]",
     "[0, 1]"),
])
def test_bad_tables_name_the_key_path(tmp_path: Path, extra: str, where: str, what: str) -> None:
    path = _toml(tmp_path, MINIMAL + extra)
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    text = str(err.value)
    assert where in text, text
    assert what in text, text


def test_a_required_key_and_a_wrong_type_of_table_are_named(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match=r"controller\.negative_slopes: missing"):
        load_scenario(_toml(tmp_path, MINIMAL.replace("negative_slopes = [0.0, 1.0]", "")))
    with pytest.raises(ScenarioError, match=r"time: missing; required"):
        parse_scenario({"plant": {"type": "Pendulum"}})
    with pytest.raises(ScenarioError, match=r"plant: missing; required"):
        parse_scenario({"time": {"final": 1.0}})
    with pytest.raises(ScenarioError, match=r"not valid TOML"):
        load_scenario(_toml(tmp_path, "[time\nfinal = 1"))


def test_a_disturbance_must_fit_every_plant() -> None:
    base = {"time": {"final": 1.0},
            "controller": {"type": "LeakyP", "kp": 1.0, "negative_slopes": [0.0]}}
    # a python-control plant takes the disturbance on its input
    sc = parse_scenario({**base, "disturbance": 0.5,
                         "plant": {"type": "tf", "num": [1.0], "den": [1.0, 1.0]}})
    assert sc.disturbance is not None
    with pytest.raises(ScenarioError, match=r"disturbance = \[0.5, 0.5\]: plant 'CruiseControl' "
                                            r"has 1 disturbance inputs \(theta\)"):
        parse_scenario({**base, "disturbance": [0.5, 0.5], "plant": {"type": "CruiseControl"}})


def test_overrides_set_nested_keys_and_refuse_malformed_ones(tmp_path: Path) -> None:
    path = _toml(tmp_path, MINIMAL)
    sc = load_scenario(path, ["controller.kp=2.5", "controller[0].negative_slopes=[0.5]",
                              "time.points=11"], final_time=2.0)
    assert sc.runs[0].controller.kp == 2.5
    assert [r.negative_slope for r in sc.runs] == [0.5]
    assert sc.timepts[-1] == 2.0
    assert sc.timepts.size == 11
    with pytest.raises(ScenarioError, match=r"--set .*must be key.path=value"):
        load_scenario(path, ["controller.kp"])
    with pytest.raises(ScenarioError, match=r"controller\[3\].*no entry 3"):
        load_scenario(path, ["controller[3].kp=1"])


def test_trim_puts_the_integrator_at_the_operating_points_input() -> None:
    sc = parse_scenario({"time": {"final": 1.0}, "reference": 25.0,
                         "plant": {"type": "CruiseControl"},
                         "controller": {"type": "LeakyPI", "kp": 0.5, "ki": 0.1,
                                        "negative_slopes": [0.0, 1.0]},
                         "initial": {"output": 20.0, "controller_state": "trim"}})
    expected = lc.CruiseControl().equilibrium_throttle(20.0) / 0.1  # closed form
    for i in range(2):
        assert sc.controller_states[i][0] == pytest.approx(expected, rel=1e-12)
    assert sc.initial_states[0][0] == pytest.approx(20.0, abs=1e-9)
    assert sc.initial_outputs == [pytest.approx(20.0, abs=1e-9)]


def test_sweep_grid_specs_give_the_values_they_name() -> None:
    sc = parse_scenario({"time": {"final": 1.0}, "plant": {"type": "FirstOrderLag"},
                         "controller": {"type": "LeakyPI", "kp": 1.0, "ki": 1.0,
                                        "negative_slope": 0.1},
                         "sweep": {"grid": {"kp": {"logspace": [-1, 1, 3]},
                                            "ki": {"arange": [0.0, 1.0, 0.25]},
                                            "negative_slope": [0.0, 1.0]}}})
    grid = sc.sweep["grid"]
    np.testing.assert_allclose(grid["kp"], [0.1, 1.0, 10.0])
    np.testing.assert_allclose(grid["ki"], [0.0, 0.25, 0.5, 0.75])
    assert list(grid) == ["kp", "ki", "negative_slope"]
