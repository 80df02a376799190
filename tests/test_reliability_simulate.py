"""Regressions of the bad-input matrix (issue 12) on the simulator side: each case used to
hang, crash, return a silently wrong result or raise an exception that did not name the
parameter. Each now fails fast with an error naming the parameter, the value and what is
allowed (or, for the disturbance and coasting cases, refuses what it used to drop)."""

import time

import control as ct
import numba
import numpy as np
import pytest

import leaky_control as lc
from leaky_control.cli import main as cli_main

PLANT = lc.FirstOrderLag()


def P(**kw):
    return lc.LeakyP(kp=2.0, negative_slope=0.1, **kw)


REFUSED = [
    # (call, exception, words the message must contain)
    (lambda: lc.simulate(PLANT, P(), 1e12), ValueError, ["shorten timepts", "max_steps"]),
    (lambda: lc.simulate(PLANT, P(), 1e300), ValueError, ["shorten timepts"]),
    (lambda: lc.simulate(PLANT, P(), 1.0, solver=lc.RK4(max_step=1e-12)), ValueError,
     ["max_steps"]),
    (lambda: lc.simulate(PLANT, P(), 1.0, solver=lc.RK4(substeps=10**13)), ValueError,
     ["substeps"]),
    (lambda: lc.RK4(substeps=2**70), ValueError, ["substeps", "integer in [1,"]),
    (lambda: lc.RK4(substeps=2.0), TypeError, ["substeps", "integer"]),
    (lambda: lc.Dopri5(max_steps=2**63 - 1), ValueError, ["max_steps"]),
    (lambda: lc.simulate(PLANT, P(dt=1e-12), 1.0), ValueError, ["max_steps"]),
    (lambda: lc.LeakyP(kp=10**400, negative_slope=0.1), ValueError,
     ["kp", "401 digits"]),
    (lambda: lc.simulate(ct.tf([np.nan], [1, 1]), P(), 1.0), ValueError,
     ["transfer function", "finite coefficients"]),
    (lambda: lc.as_plant(ct.tf([[[1], [1]], [[1], [2]]], [[[1, 1], [1, 2]], [[1, 3], [1, 4]]])),
     ValueError, ["2x2 transfer function", "ct.ss"]),
    (lambda: lc.LinearPlant([[-1.0]], [[1.0]], [[1.0]], [[0.0]], input_limits=3), TypeError,
     ["input_limits", "pair"]),
    (lambda: lc.LinearPlant([[-1.0]], [[1.0]], [[1.0]], [[0.0]], input_limits="ab"),
     TypeError, ["input_limits"]),
    (lambda: lc.CruiseControl(alpha=5), ValueError, ["alpha", "sequence"]),
    (lambda: lc.closed_loop_nlsys(PLANT, "P"), TypeError, ["controller", "str"]),
    (lambda: lc.coasting_fraction([0, 1, 2, 3], [np.nan, -1, -1, -1], [0, 0, 0, 0]),
     ValueError, ["e must be finite"]),
    (lambda: lc.coasting_fraction([0, 1, 2], [1, -1, -1], [0, 0]), ValueError,
     ["same length"]),
    (lambda: lc.simulate(PLANT, P(), np.linspace(0.0, 1.0, 20_000_002)), ValueError,
     ["timepts holds 20000002 points", "max_steps"]),
    (lambda: lc.simulate(PLANT, P(), 1.0, initial_state=[np.nan]), ValueError,
     ["initial_state must be finite, got nan"]),
]


@pytest.mark.parametrize(("call", "exc", "words"), REFUSED)
def test_bad_input_is_refused_fast_and_by_name(call, exc, words):
    start = time.perf_counter()
    with pytest.raises(exc) as info:
        call()
    # refused before any integration: the hangs of the report took minutes
    assert time.perf_counter() - start < 30.0
    for w in words:
        assert w in str(info.value), (w, str(info.value))


def test_a_huge_output_grid_is_refused_before_its_arrays_are_built(monkeypatch):
    import leaky_control.simulation as sim

    # pretend the machine has 1 MiB free: 1,000,000 points of a 2-state loop need 160 MB
    monkeypatch.setattr(sim, "available_memory", lambda: 2**20)
    with pytest.raises(ValueError, match=r"timepts holds 1000000 points.*GiB"):
        lc.simulate(lc.MassSpringDamper(), P(), np.linspace(0.0, 1.0, 1_000_000))


def test_a_disturbance_for_a_plant_without_one_is_refused_not_dropped():
    @lc.rhs
    @numba.njit
    def decay(t, x, ud, params, dx):
        dx[0] = -x[0] + ud[0]

    plant = lc.NumbaPlant(decay, nstates=1, ninputs=1, ndisturbances=0)
    with pytest.raises(ValueError, match=r"disturbance was given \(5.0\).*ndisturbances = 0"):
        lc.simulate(plant, P(), 1.0, disturbance=5.0)
    # zero is no disturbance: accepted, as before
    assert lc.simulate(plant, P(), 1.0, disturbance=0.0).success


@pytest.mark.parametrize(("argv", "words"), [
    (["demo", "--final-time", "nan"], "--final-time: must be finite and > 0"),
    (["demo", "--final-time", "abc"], "--final-time: must be a number of seconds"),
    (["demo", "--final-time", "-1"], "--final-time: must be finite and > 0"),
    (["demo", "--out", "/proc/leaky-control-cannot-write-here"], "--out: cannot create folder"),
])
def test_the_cli_says_what_is_wrong_without_a_traceback(argv, words, capsys):
    with pytest.raises(SystemExit) as info:
        cli_main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err


def test_an_rhs_writing_past_dx_is_refused_instead_of_corrupting_memory():
    # nstates=1 but the body writes dx[1]: compiled, numba would write past the array (the
    # report saw segfaults); the Python probe of the first call catches it by name
    @lc.rhs
    @numba.njit
    def off_by_one(t, x, ud, params, dx):
        dx[0] = -x[0] + ud[0]
        dx[1] = 0.0

    plant = lc.NumbaPlant(off_by_one, nstates=1, ninputs=1)
    for solver in (None, lc.Dopri5()):  # with and without the Jacobian of the default step
        with pytest.raises(ValueError, match=r"indexed outside its arrays.*nstates=1"):
            lc.simulate(plant, P(), 1.0, solver=solver)


def test_a_controller_writing_past_u_is_refused_by_name():
    from typing import NamedTuple

    class Rec(NamedTuple):
        k: float

    class TwoOutputs(lc.Controller):
        error_feedback = True
        negative_slope = 1.0
        Record = Rec

        def record(self, plant):
            return Rec(1.0)

        def linear_gain(self, plant, Cx=None):
            return np.zeros((1, plant.nstates))

        @staticmethod
        def output(c, t, X, n, y, r, uraw, u):
            uraw[0] = c.k * (r[0] - y[0])
            uraw[1] = 0.0  # the plant has one input
            u[0] = uraw[0]

    with pytest.raises(ValueError, match=r"TwoOutputs.output indexed outside its arrays"):
        lc.simulate(PLANT, TwoOutputs(), 1.0)


@pytest.mark.slow
@pytest.mark.parametrize("case", ["RK4", "Dopri5"])
def test_ctrl_c_stops_a_long_run_promptly(case):
    import _thread
    import threading

    ctrl = lc.LeakyPI(kp=3.0, ki=1.0, negative_slope=0.1)
    if case == "RK4":  # 8M fixed steps
        plant, x0, t = lc.MassSpringDamper(), [0.0, 0.0], np.linspace(0.0, 20.0, 201)
        solver = lc.RK4(max_step=2.5e-6)
    else:  # an undamped 160 Hz oscillator at rtol 1e-10: about 6M adaptive steps
        plant, x0, t = lc.MassSpringDamper(c=0.0, k=1e6), [1.0, 0.0], np.linspace(0, 200, 201)
        solver = lc.Dopri5(rtol=1e-10, atol=1e-12, max_steps=10**7)
    start = time.perf_counter()
    full = lc.simulate(plant, ctrl, t, solver=solver, initial_state=x0)  # compiles, then runs
    assert full.success
    start = time.perf_counter()
    lc.simulate(plant, ctrl, t, solver=solver, initial_state=x0)
    t_full = time.perf_counter() - start
    assert t_full > 1.0  # long enough for the interruption to be visible
    # Ctrl-C (interrupt_main) 0.2 s into the same run
    timer = threading.Timer(0.2, _thread.interrupt_main)
    start = time.perf_counter()
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        lc.simulate(plant, ctrl, t, solver=solver, initial_state=x0)
    elapsed = time.perf_counter() - start
    timer.cancel()
    # the kernel checks its stop flag at every output interval (RK4: 40k steps) or step
    # (Dopri5) and returns; without the check the call would last the whole run
    assert elapsed < 0.2 + 0.5 * t_full, (elapsed, t_full)
    assert not any(th.name == "leaky_control kernel" and th.is_alive()
                   for th in threading.enumerate())


def test_version_and_python_dash_m(capsys):
    import subprocess
    import sys

    with pytest.raises(SystemExit) as info:
        cli_main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"leaky-control {lc.__version__}"
    # python -m leaky_control is the same command line; its help has no raw RST markup
    out = subprocess.run([sys.executable, "-m", "leaky_control", "--help"], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0 and "usage: leaky-control" in out.stdout
    assert "``" not in out.stdout


_FACTORY_SCRIPT = '''
import sys
import numba
import leaky_control as lc

def make(k):
    @numba.njit
    def f(t, x, ud, params, dx):
        dx[0] = -k * x[0] + ud[0]
    return lc.NumbaPlant(lc.rhs(f), nstates=1, ninputs=1)

k = float(sys.argv[1])
resp = lc.simulate(make(k), None, 50.0, reference=0.5, solver=lc.Dopri5())
print("FINAL", resp.outputs[-1])
'''


@pytest.mark.slow
def test_a_kernel_cached_for_one_captured_gain_is_never_served_for_another(tmp_path):
    # the bug: a factory-made @rhs plant closing over k had one digest for every k, so a
    # second process with k = 1 loaded the kernel compiled (and cached) for k = 3 and returned
    # 0.5/3 instead of 0.5/1 at equilibrium
    import os
    import subprocess
    import sys

    script = tmp_path / "factory.py"
    script.write_text(_FACTORY_SCRIPT)
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "cache")}
    finals = {}
    for k in ("3.0", "1.0", "3.0"):
        out = subprocess.run([sys.executable, str(script), k], capture_output=True, text=True,
                             env=env, timeout=300)
        assert out.returncode == 0, out.stderr
        finals.setdefault(k, []).append(float(out.stdout.split("FINAL")[1]))
    # equilibrium of x' = -k x + 0.5 is 0.5 / k (50 time constants: settled to 1e-20)
    assert finals["3.0"][0] == pytest.approx(0.5 / 3.0, rel=1e-6)
    assert finals["3.0"][1] == pytest.approx(0.5 / 3.0, rel=1e-6)
    assert finals["1.0"][0] == pytest.approx(0.5, rel=1e-6)


def test_two_factory_plants_in_one_process_keep_their_own_gains():
    def make(k):
        @numba.njit
        def f(t, x, ud, params, dx):
            dx[0] = -k * x[0] + ud[0]
        return lc.NumbaPlant(lc.rhs(f), nstates=1, ninputs=1)

    a, b = make(2.0), make(4.0)
    assert type(a) is not type(b)
    ya = lc.simulate(a, None, 30.0, reference=1.0, solver=lc.Dopri5()).outputs[-1]
    yb = lc.simulate(b, None, 30.0, reference=1.0, solver=lc.Dopri5()).outputs[-1]
    assert ya == pytest.approx(0.5, rel=1e-6) and yb == pytest.approx(0.25, rel=1e-6)


def test_a_stiff_saturated_high_gain_loop_returns_or_is_refused_quickly():
    # the report's hang: kp = 1e8 with saturation under RK4's default step (~2e-9 s) ran for
    # minutes; now the step budget refuses it up front or the run completes, within seconds
    ctrl = lc.LeakyPI(kp=1e8, ki=1.0, negative_slope=0.1, u_min=-1.0, u_max=1.0)
    start = time.perf_counter()
    try:
        resp = lc.simulate(lc.MassSpringDamper(), ctrl, 10.0)
    except ValueError as exc:
        assert "max_steps" in str(exc)
    else:
        assert resp.success and np.all(np.isfinite(resp.y))
        # saturated control: the command never exceeds its limits
        assert np.max(np.abs(resp.signal("u"))) <= 1.0
    assert time.perf_counter() - start < 60.0
