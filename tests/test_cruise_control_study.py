"""The flagship study's numbers against an independent oracle and closed-form equilibria.

The oracle is scipy's solve_ivp on the vehicle of Astrom & Murray (Feedback Systems, sec. 4.1;
python-control's examples/cruise-control.py) written out here from the book, not from the
package: the P law, the actuator limits, the brake (alpha_4 Tm = 2280 N at u = -1, the
CruiseControl default) and the road profile of the study's docstring.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import solve_ivp
from scipy.optimize import brentq

from leaky_control.studies import cruise_control as study

M, G, CR, CD, RHO, AREA = 1600.0, 9.8, 0.01, 0.32, 1.3, 2.4
ALPHA, TM, WM, BETA = 12.0, 190.0, 420.0, 0.4  # gear 4
BRAKE_N = ALPHA * TM
KP, VREF, V0 = 1.0, 25.0, 20.0
DEG = math.pi / 180.0


def slope(t: float) -> float:
    # flat; tilts to -4 deg over 10-11 s; holds to 30 s; back to flat over 30-31 s
    return float(np.interp(t, [0, 10, 11, 30, 31], [0, 0, -4 * DEG, -4 * DEG, 0]))


def drive_force(v: float, u: float, brake: bool) -> float:
    u = min(max(u, -1.0 if brake else 0.0), 1.0)
    if u >= 0:
        return ALPHA * u * max(TM * (1 - BETA * (ALPHA * v / WM - 1) ** 2), 0.0)
    return BRAKE_N * u


def law(v: float, a: float) -> float:
    e = VREF - v
    return KP * (e if e >= 0 else a * e)


def accel(v: float, u: float, theta: float, brake: bool) -> float:
    resist = (M * G * math.sin(theta) + M * G * CR * math.copysign(1.0, v)
              + 0.5 * RHO * CD * AREA * v * abs(v))
    return (drive_force(v, u, brake) - resist) / M


def oracle(t: np.ndarray, a: float, brake: bool) -> np.ndarray:
    sol = solve_ivp(lambda tt, x: [accel(x[0], law(x[0], a), slope(tt), brake)],
                    (t[0], t[-1]), [V0], t_eval=t, rtol=1e-10, atol=1e-10, max_step=0.005)
    assert sol.success
    return sol.y[0]


@pytest.fixture(scope="module")
def cases() -> list[study.Case]:
    return study.run_study(final_time=60.0)


def test_speeds_match_solve_ivp_and_the_table_matches_the_oracle(cases: list[study.Case]) -> None:
    t = np.asarray(cases[0].response.time)
    for c in cases:
        v_ref = oracle(t, c.negative_slope, c.brake)
        v = np.asarray(c.response.outputs)
        # Dopri5 at rtol 1e-8 against RK45 at 1e-10 with 5 ms steps: both far below 1e-4 m/s
        assert np.max(np.abs(v - v_ref)) < 1e-4, (c.brake, c.negative_slope)
        u = np.array([min(max(law(x, c.negative_slope), -1.0 if c.brake else 0.0), 1.0)
                      for x in v_ref])
        above = v_ref > VREF
        force = np.array([drive_force(x, uu, c.brake) for x, uu in zip(v_ref, u, strict=True)])
        w = np.gradient(t) * above  # rectangle weights: the study uses trapezoids, hence 0.5 %
        mean_brake = float(np.sum(w * np.maximum(-force, 0)) / np.sum(w)) if above.any() else 0.0
        m = c.metrics
        assert m["PeakOverspeed"] == pytest.approx(max(0.0, np.max(v_ref) - VREF), abs=1e-3)
        assert m["MeanBrakeForce"] == pytest.approx(mean_brake, rel=5e-3, abs=0.5)
        coast = float(np.sum(np.gradient(t) * (above & (u == 0.0))))
        assert m["CoastingTime"] == pytest.approx(coast, abs=0.05)  # a grid step at each end


def test_the_principle_holds_in_the_numbers(cases: list[study.Case]) -> None:
    by = {(c.brake, c.negative_slope): c for c in cases}
    peak = {k: c.metrics["PeakOverspeed"] for k, c in by.items()}
    # throttle only: every controller coasts the same run, whatever it asks
    v_nb = [np.asarray(by[False, a].response.outputs) for a in study.SLOPES]
    assert all(np.array_equal(v_nb[0], v) for v in v_nb[1:])
    request = {a: by[False, a].metrics["MeanBrakeRequest"] for a in study.SLOPES}
    assert request[1.0] > request[0.1] > 0.1
    assert all(by[False, a].metrics["MeanBrakeForce"] == 0.0 for a in study.SLOPES)
    assert by[False, 0.0].metrics["MeanBrakeRequest"] == 0.0
    # with a brake the ReLU controller still asks for nothing: the same run as without
    np.testing.assert_array_equal(by[True, 0.0].response.outputs, v_nb[0])
    assert by[True, 0.0].metrics["CoastingTime"] > 30.0
    # the leak brakes: less overspeed, no coasting
    assert peak[True, 0.0] > peak[True, 0.1] + 3.0 > peak[True, 1.0] + 3.0
    assert by[True, 0.1].metrics["CoastingTime"] == by[True, 1.0].metrics["CoastingTime"] == 0.0
    assert by[True, 0.1].metrics["MeanBrakeForce"] > 300.0


def test_equilibria_in_closed_form(cases: list[study.Case]) -> None:
    t = np.asarray(cases[0].response.time)
    lin = np.asarray(next(c for c in cases if c.brake and c.negative_slope == 1.0).response.outputs)
    # droop on the flat: KP e * engine force = rolling + drag; full throttle until ~4 s, then
    # a 0.7 s time constant leaves ~1e-4 m/s of the transient at 9.9 s
    droop = brentq(lambda v: accel(v, law(v, 1.0), 0.0, True), 20.0, 25.0)
    assert lin[np.searchsorted(t, 9.9)] == pytest.approx(droop, abs=1e-3)
    assert VREF - droop == pytest.approx(0.21, abs=0.01)
    # on the descent the linear loop brakes: KP (v - 25) * 2280 N balances gravity - resistance
    v_desc = brentq(lambda v: accel(v, law(v, 1.0), -4 * DEG, True), 25.0, 27.0)
    assert lin[np.searchsorted(t, 29.9)] == pytest.approx(v_desc, abs=1e-4)
    # the grade on which zero throttle holds 25 m/s: m g sin(theta) = m g Cr + rho Cd A v^2 / 2
    g0 = math.degrees(math.asin((M * G * CR + 0.5 * RHO * CD * AREA * VREF**2) / (M * G)))
    assert study.zero_throttle_grade() == pytest.approx(g0, rel=1e-12)
    assert 1.6 < g0 < 1.8


def test_slope_sweep_is_zero_below_the_zero_throttle_grade_and_matches_the_runs(
        cases: list[study.Case]) -> None:
    sweep = study.run_slope_sweep([1.0, 1.5, 2.5, 4.0], final_time=60.0)
    for key, peaks in sweep.items():
        assert peaks[0] == 0.0 and peaks[1] == 0.0, key  # 1.5 deg < 1.7 deg: never above 25
        c = next(c for c in cases if (c.brake, c.negative_slope) == key)
        # the sweep samples at 20 per second, the study at 100: the peak moves by < 0.01 m/s
        assert peaks[3] == pytest.approx(c.metrics["PeakOverspeed"], abs=1e-2)
    assert sweep[True, 0.0][2] > sweep[True, 0.1][2] > sweep[True, 1.0][2] > 0.0


def test_the_pi_variant_brakes_through_its_integrator_even_as_relu() -> None:
    # why the flagship is a P loop: the integral term brakes for the ReLU PI too, and harder
    # than for the leaky PI, which overshoots less (the numbers the study's docstring quotes)
    by = {(c.brake, c.negative_slope): c.metrics for c in study.run_study(ki=study.KI)}
    relu, leaky = by[True, 0.0]["MeanBrakeForce"], by[True, 0.1]["MeanBrakeForce"]
    assert relu == pytest.approx(439.3, abs=0.5)
    assert leaky == pytest.approx(422.7, abs=0.5)
    assert by[True, 0.0]["CoastingTime"] == 0.0


def test_caption_states_the_numbers(cases: list[study.Case]) -> None:
    text = study.caption(cases)
    peak = {(c.brake, c.negative_slope): VREF + c.metrics["PeakOverspeed"] for c in cases}
    for value in (peak[False, 0.0], peak[True, 0.1], peak[True, 1.0]):
        assert f"{value:.1f} m/s" in text
    assert "1.7 deg" in text and "4 deg (7 %)" in text


@pytest.mark.parametrize("kw,match", [
    ({"final_time": -1.0}, "final_time must be"),
    ({"final_time": float("nan")}, "final_time must be"),
    ({"npts": 1}, "npts must be an integer >= 2"),
])
def test_bad_arguments_are_named(kw: dict[str, float], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        study.run_study(**kw)


def test_road_slope_refuses_a_bad_grade() -> None:
    with pytest.raises(ValueError, match="descent_deg must be a grade in degrees"):
        study.road_slope([0.0, 1.0], descent_deg=-2.0)
