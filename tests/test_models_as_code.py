"""Models as code: a plant and a controller written in a user's file run through simulate and
sweep like built-ins; open loop, input-free plants and full-state outputs work; an unknown
model is a clear error; the kernel cache follows edits of a model's source."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pytest
from scipy.integrate import solve_ivp

import leaky_control as lc


class TankRecord(NamedTuple):
    area: float
    outlet: float
    g: float
    qmax: float


@dataclass(frozen=True)
class Tank(lc.Plant):
    """Torricelli tank ``area h' = qmax sat(u) - outlet sqrt(2 g h) + d`` (a user's plant)."""

    area: float = 2.0
    outlet: float = 0.05
    g: float = 9.81
    qmax: float = 1.0

    Record = TankRecord
    nstates = 1
    ninputs = 1
    ndisturbances = 1
    noutputs = 1

    def record(self):
        return TankRecord(float(self.area), float(self.outlet), float(self.g), float(self.qmax))

    @staticmethod
    def dynamics(p, t, x, u, d, dx):
        h = max(x[0], 0.0)
        q = p.qmax * min(max(u[0], 0.0), 1.0)
        dx[0] = (q - p.outlet * math.sqrt(2.0 * p.g * h) + d[0]) / p.area


class FFRecord(NamedTuple):
    kp: float
    a: float
    u_ff: float


@dataclass(frozen=True)
class LeakyPFeedforward(lc.Controller):
    """``u = kp phi_a(r - y) + u_ff`` (a user's controller)."""

    kp: float = 1.0
    negative_slope: float = 0.1
    u_ff: float = 0.0

    Record = FFRecord
    error_feedback = True

    def __post_init__(self):
        pass

    def record(self, plant):
        return FFRecord(float(self.kp), float(self.negative_slope), float(self.u_ff))

    @staticmethod
    def output(c, t, X, n, y, r, uraw, u):
        e = r[0] - y[0]
        uraw[0] = c.kp * (e if e >= 0.0 else c.a * e) + c.u_ff
        u[0] = uraw[0]

    def linear_gain(self, plant, Cx=None):
        return self.kp * np.asarray(Cx if Cx is not None else [[1.0]])


def _tank_oracle(plant, ctrl, t, r, h0, d=0.0):
    def f(_, x):
        e = r - x[0]
        u = ctrl.kp * (e if e >= 0 else ctrl.negative_slope * e) + ctrl.u_ff
        q = plant.qmax * min(max(u, 0.0), 1.0)
        return [(q - plant.outlet * math.sqrt(2 * plant.g * max(x[0], 0.0)) + d) / plant.area]

    return solve_ivp(f, (t[0], t[-1]), [h0], t_eval=t, rtol=1e-10, atol=1e-12).y[0]


def test_user_plant_and_controller_run_through_simulate_against_solve_ivp():
    plant, ctrl = Tank(), LeakyPFeedforward(kp=2.0, negative_slope=0.2, u_ff=0.1)
    t = np.linspace(0.0, 20.0, 401)
    resp = lc.simulate(plant, ctrl, t, reference=1.5, initial_state=[0.5],
                       solver=lc.Dopri5(rtol=1e-9, atol=1e-12))
    assert resp.success
    ref = _tank_oracle(plant, ctrl, t, 1.5, 0.5)
    # both at tight tolerances; the clip kinks of u limit the agreement to ~1e-7
    np.testing.assert_allclose(resp.outputs, ref, atol=1e-6)
    assert list(resp.output_labels) == ["y"]
    assert list(resp.loop.output_labels) == ["u", "u_raw", "e"]


def test_user_models_in_a_sweep_equal_simulate_bit_for_bit():
    plant, ctrl = Tank(), LeakyPFeedforward(kp=2.0, negative_slope=0.2)
    t = np.linspace(0.0, 10.0, 201)
    grid = {"kp": [0.5, 2.0], "negative_slope": [0.0, 0.5], "area": [1.0, 3.0]}
    res = lc.sweep(plant, ctrl, grid, t, reference=1.0, initial_state=[0.2],
                   solver=lc.Dopri5(), keep_trajectories=True)
    assert res.status.tolist() == [0] * 8
    for i in range(8):
        row = res.point(i)
        one = lc.simulate(plant.replace(area=row["area"]),
                          ctrl.replace(kp=row["kp"], negative_slope=row["negative_slope"]),
                          t, reference=1.0, initial_state=[0.2], solver=lc.Dopri5())
        assert np.array_equal(res.response(i).states, one.states)
        assert res.metrics["IAE"][i] == lc.step_info(one, initial_output=0.2)["IAE"]


class OscRecord(NamedTuple):
    w: float


@dataclass(frozen=True)
class FreeOscillator(lc.Plant):
    """``x'' = -w^2 x`` with no input at all and the full state as output."""

    w: float = 2.0

    Record = OscRecord
    nstates = 2
    ninputs = 0
    ndisturbances = 0
    noutputs = 2

    def record(self):
        return OscRecord(float(self.w))

    @staticmethod
    def dynamics(p, t, x, u, d, dx):
        dx[0] = x[1]
        dx[1] = -p.w * p.w * x[0]


def test_input_free_plant_open_loop_full_state_output_matches_the_analytic_solution():
    plant = FreeOscillator(w=2.0)
    t = np.linspace(0.0, 5.0, 101)
    resp = lc.simulate(plant, None, t, initial_state=[1.0, 0.0],
                       solver=lc.Dopri5(rtol=1e-10, atol=1e-12))
    assert resp.success
    np.testing.assert_allclose(resp.outputs[0], np.cos(2 * t), atol=1e-8)
    np.testing.assert_allclose(resp.outputs[1], -2 * np.sin(2 * t), atol=1e-8)
    np.testing.assert_array_equal(resp.outputs, resp.states)


def test_open_loop_input_is_the_reference_signal():
    plant = lc.FirstOrderLag(gain=2.0, tau=0.5)
    t = np.linspace(0.0, 3.0, 61)
    resp = lc.simulate(plant, None, t, reference=1.0, solver=lc.Dopri5(rtol=1e-10, atol=1e-12))
    np.testing.assert_allclose(resp.outputs, 2.0 * (1 - np.exp(-t / 0.5)), atol=1e-8)


def test_a_record_of_no_model_is_a_clear_error():
    class Loose(NamedTuple):
        k: float

    @dataclass(frozen=True)
    class Borrowed(Tank):
        # re-parametrises Tank but hands the kernels a record no model owns
        def record(self):
            return Loose(1.0)

    with pytest.raises(TypeError, match="no leaky_control model takes records of type"):
        lc.simulate(Borrowed(), LeakyPFeedforward(), 1.0)


def test_functions_without_a_record_of_their_own_are_refused_at_class_creation():
    # an override of a built-in's function that would silently run the base's
    with pytest.raises(TypeError, match="defines output but no Record of its own"):
        class TankLevelInCm(Tank):  # noqa: F841 - the definition itself must fail
            @staticmethod
            def output(p, t, x, d, y):
                y[0] = 100.0 * x[0]

    with pytest.raises(TypeError, match="defines derivative but no Record of its own"):
        class Drifting(LeakyPFeedforward):  # noqa: F841 - the definition itself must fail
            @staticmethod
            def derivative(c, t, X, n, y, r, uraw, u, dX):
                pass

    with pytest.raises(TypeError, match="defines dynamics but no Record"):
        class NoRecord(lc.Plant):  # noqa: F841 - the definition itself must fail
            nstates = ninputs = ndisturbances = noutputs = 1

            def record(self):
                return ()

            @staticmethod
            def dynamics(p, t, x, u, d, dx):
                dx[0] = 0.0


MODEL = '''
import math
from dataclasses import dataclass
from typing import NamedTuple

import leaky_control as lc


class QuadRecord(NamedTuple):
    k: float


@dataclass(frozen=True)
class Quadrotor(lc.Plant):
    k: float = 1.0

    Record = QuadRecord
    nstates = ninputs = ndisturbances = noutputs = 1

    def record(self):
        return QuadRecord(float(self.k))

    @staticmethod
    def dynamics(p, t, x, u, d, dx):
        dx[0] = GAIN * p.k * u[0] - x[0]
'''

RUN = '''
import numpy as np
import leaky_control as lc
from leaky_control.simulation import kernel_of, prepare
args = (Quadrotor(), lc.LeakyP(kp=1.0, negative_slope=1.0), np.linspace(0.0, 50.0, 11))
resp = lc.simulate(*args, reference=1.0, solver=lc.Euler(max_step=0.01))
st = kernel_of(prepare(*args, solver=lc.Euler(max_step=0.01))).stats
print("HITS", sum(st.cache_hits.values()), "MISSES", sum(st.cache_misses.values()),
      "FINAL", resp.outputs[-1])
'''


def _run(path, cache, cwd):
    env = {"NUMBA_CACHE_DIR": str(cache), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, cwd=cwd,
                         env=env, timeout=600)
    assert out.returncode == 0, out.stderr
    w = out.stdout.split()
    return int(w[w.index("HITS") + 1]), int(w[w.index("MISSES") + 1]), \
        float(w[w.index("FINAL") + 1])


@pytest.mark.slow
def test_kernel_cache_is_hit_then_follows_an_edited_model_and_never_mixes_two_scripts(tmp_path):
    cache = tmp_path / "cache"
    # the closed loop x' = G (1 - x) - x settles at G / (G + 1): the final value names the model
    mod = tmp_path / "quad_model.py"
    mod.write_text(MODEL.replace("GAIN", "1.0"))
    script = tmp_path / "study.py"
    script.write_text("from quad_model import Quadrotor\n" + RUN)
    hits, misses, final = _run(script, cache, tmp_path)
    assert (hits, misses) == (0, 1) and final == pytest.approx(0.5, abs=1e-6)
    hits, misses, final = _run(script, cache, tmp_path)
    assert (hits, misses) == (1, 0) and final == pytest.approx(0.5, abs=1e-6)

    mod.write_text(MODEL.replace("GAIN", "3.0"))  # an edited model: never the old kernel
    hits, misses, final = _run(script, cache, tmp_path)
    assert misses == 1 and final == pytest.approx(0.75, abs=1e-6)

    # two scripts that each define their own Quadrotor in __main__
    for gain, expect in (("1.0", 0.5), ("4.0", 0.8), ("1.0", 0.5), ("4.0", 0.8)):
        own = tmp_path / f"script_{gain[0]}.py"
        own.write_text(MODEL.replace("GAIN", gain) + RUN)
        assert _run(own, cache, tmp_path)[2] == pytest.approx(expect, abs=1e-6)


def test_model_digests_are_the_same_in_every_process():
    # a checkpoint's fingerprint and a kernel's cache name carry these digests: a process that
    # has done other work first must compute the same ones (an earlier version hashed code
    # objects with marshal, whose output followed reference counts)
    code = ("import sys, leaky_control as lc\n"
            "from leaky_control._dispatch import model_digest\n"
            "if len(sys.argv) > 1:\n"
            "    lc.simulate(lc.CruiseControl(), lc.LeakyPI(kp=0.5, ki=0.1, negative_slope=0.1), 1.0)\n"
            "print(model_digest(lc.LeakyPI), model_digest(lc.CruiseControl))\n")
    first = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True, timeout=600).stdout
    busy = subprocess.run([sys.executable, "-c", code, "busy"], capture_output=True, text=True,
                          check=True, timeout=600).stdout
    from leaky_control._dispatch import model_digest

    here = f"{model_digest(lc.LeakyPI)} {model_digest(lc.CruiseControl)}"
    assert first.split() == busy.split() == here.split()


def test_without_numba_the_same_code_runs_in_python_and_gives_the_same_numbers():
    # NUMBA_DISABLE_JIT=1 (for stepping through a model in a debugger) runs the kernels'
    # Python: the model calls dispatch by record type at run time instead of compile time
    code = ("import numpy as np, leaky_control as lc\n"
            "t = np.linspace(0.0, 3.0, 31)\n"
            "args = (lc.CruiseControl(), lc.LeakyPI(kp=0.5, ki=0.1, negative_slope=0.1), t)\n"
            "kw = dict(reference=25.0, initial_state=[20.0])\n"
            "a = lc.simulate(*args, solver=lc.RK4(max_step=0.05), **kw).states\n"
            "b = lc.simulate(*args, solver=lc.Dopri5(), **kw).states\n"
            "c = lc.sweep(args[0], args[1], {'kp': [0.3, 0.6]}, t, solver=lc.Tsit5(),\n"
            "             **kw).metrics['IAE']\n"
            "print(repr(np.concatenate([a.ravel(), b.ravel(), c]).tolist()))\n")
    env = dict(os.environ, NUMBA_DISABLE_JIT="1")
    slow = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=600)
    assert slow.returncode == 0, slow.stderr
    fast = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, timeout=600)
    # the same operations in the same order, compiled or not (no fast-math)
    np.testing.assert_allclose(eval(slow.stdout), eval(fast.stdout), rtol=1e-12, atol=0)
