"""Property-based fuzzing of the simulator's public entry points (hypothesis).

One argument at a time gets a hostile value: NaN, infinities, integers beyond the float range,
subnormal and huge floats, negative and zero, complex numbers, strings, None, bools, dicts,
empty and wrongly shaped arrays. The property: the call either returns (and then a run's
result is honest: ``success`` True, or False with a message and NaN after the failure time)
or raises ``TypeError``/``ValueError`` whose message names the argument. Any other exception
type, or a run taking more than the deadline, fails. The analysis and training entry points
have their own fuzz tests (tests/test_bad_input_analysis.py), the sweeps theirs
(tests/test_sweep_reliability.py).
"""

import contextlib
import math
import tempfile

import control as ct
import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import leaky_control as lc

HOSTILE = [math.nan, math.inf, -math.inf, 10**400, -(10**400), 5e-324, 1e308, -1.0, 0.0,
           1 + 2j, "1.0", None, True, {}, [], [1.0, 2.0], np.array([[1.0, 2.0]]),
           np.float32(np.nan), np.int64(7)]
SETTINGS = settings(max_examples=120, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])


def _check(call, names):
    """Run ``call``; an error must be TypeError/ValueError naming one of ``names``."""
    try:
        result = call()
    except (TypeError, ValueError) as exc:
        msg = str(exc)
        assert any(n in msg for n in names), f"{type(exc).__name__} does not name {names}: {msg}"
        return None
    return result


def _honest(resp):
    """A run that returned: success, or a failure that says when and blanks what follows."""
    y = np.asarray(resp.y)
    if resp.success:
        assert np.all(np.isfinite(y)), "a successful run with non-finite outputs"
    else:
        assert resp.message and "t =" in resp.message
        ft = resp.stats.get("failure_time", math.nan)
        if math.isfinite(ft):
            assert np.all(np.isfinite(y[:, resp.time < ft]))


CONTROLLER_ARGS = {
    "LeakyPID": (lc.LeakyPID, dict(kp=1.0, ki=0.5, kd=0.1, negative_slope=0.1),
                 ["kp", "ki", "kd", "negative_slope", "u_min", "u_max", "kaw", "tau_d", "dt",
                  "shape"]),
    "LeakyStateFeedback": (lc.LeakyStateFeedback, dict(K=[[1.0]], negative_slope=0.1),
                           ["K", "negative_slope", "kr", "u_min", "u_max", "dt"]),
    "AdaptivePReLU": (lc.AdaptivePReLU, dict(kp=1.0, ki=0.5, gamma=1.0, a0=0.1),
                      ["kp", "ki", "gamma", "a0", "u_min", "u_max"]),
    "LeakyMLP": (lc.LeakyMLP, dict(weights=[np.ones((1, 2))], biases=[np.zeros(1)],
                                   negative_slope=0.1),
                 ["weights", "biases", "negative_slope", "reference_input", "u_min", "u_max",
                  "dt", "input_offset", "input_scale", "output_scale", "output_offset"]),
    "LeakyLTI": (lc.LeakyLTI, dict(sys=ct.tf([1.0, 0.5], [1.0, 0.0]), negative_slope=0.1),
                 ["sys", "negative_slope", "u_min", "u_max"]),
}
PLANT_ARGS = {
    "FirstOrderLag": (lc.FirstOrderLag, {}, ["gain", "tau"]),
    "MassSpringDamper": (lc.MassSpringDamper, {}, ["m", "c", "k"]),
    "CruiseControl": (lc.CruiseControl, {"gear": 1}, ["m", "gear", "alpha", "Tm", "omega_m",
                                                       "beta", "Cr", "Cd", "rho", "A", "brake"]),
    "Pendulum": (lc.Pendulum, {}, ["m", "l", "b", "g", "u_min", "u_max"]),
    "DCMotor": (lc.DCMotor, {}, ["J", "b", "K", "R", "L", "output"]),
}
SOLVER_ARGS = {
    "RK4": (lc.RK4, {}, ["max_step", "substeps", "max_steps"]),
    "Dopri5": (lc.Dopri5, {}, ["rtol", "atol", "dtmin", "dtmax", "max_steps", "first_step"]),
    "Rosenbrock23": (lc.Rosenbrock23, {}, ["rtol", "atol", "dtmin", "dtmax", "max_steps",
                                           "first_step"]),
}


def _constructor_case(table):
    return st.sampled_from(sorted(table)).flatmap(
        lambda k: st.tuples(st.just(k), st.sampled_from(table[k][2]), st.sampled_from(HOSTILE)))


def _known_fields(cls):
    import inspect

    return set(inspect.signature(cls).parameters)


@SETTINGS
@given(case=st.one_of(_constructor_case(CONTROLLER_ARGS), _constructor_case(PLANT_ARGS),
                      _constructor_case(SOLVER_ARGS)))
def test_constructors_refuse_hostile_values_by_name(case):
    name, arg, value = case
    table = {**CONTROLLER_ARGS, **PLANT_ARGS, **SOLVER_ARGS}
    cls, base, _ = table[name]
    fields = _known_fields(cls)
    assume(fields is None or arg in fields)
    _check(lambda: cls(**{**base, arg: value}), [arg])


SIM_ARGS = ["timepts", "reference", "disturbance", "initial_state", "params", "solver",
            "controller_state"]


@SETTINGS
@given(arg=st.sampled_from(SIM_ARGS), value=st.sampled_from(HOSTILE),
       adaptive=st.booleans())
def test_simulate_refuses_or_runs_honestly(arg, value, adaptive):
    kwargs = dict(timepts=np.linspace(0.0, 2.0, 21), reference=1.0,
                  solver=lc.Dopri5() if adaptive else None)
    kwargs[arg] = value
    names = [arg, "tf must", "timepts", "parameter", "max_steps", "memory"]
    resp = _check(lambda: lc.simulate(lc.FirstOrderLag(), lc.LeakyPI(
        kp=1.0, ki=0.5, negative_slope=0.1), **kwargs), names)
    if resp is not None:
        _honest(resp)


@SETTINGS
@given(arg=st.sampled_from(["final_output", "settling_threshold", "rise_limits",
                            "initial_output", "output", "timepts", "data"]),
       value=st.sampled_from(HOSTILE))
def test_step_info_refuses_or_answers(arg, value):
    t = np.linspace(0.0, 10.0, 101)
    y = 1.0 - np.exp(-t)
    kwargs = {"data": y, "timepts": t}
    kwargs[arg] = value
    data = kwargs.pop("data")
    timepts = kwargs.pop("timepts")
    info = _check(lambda: lc.step_info(data, timepts, **kwargs), [arg, "data", "timepts",
                                                                  "time points"])
    if info is not None:
        assert set(info) >= {"RiseTime", "SettlingTime", "Settled"}


@SETTINGS
@given(arg=st.sampled_from(["output", "disturbance", "guess", "tol"]),
       value=st.sampled_from(HOSTILE))
def test_operating_point_refuses_or_trims(arg, value):
    kwargs = {"output": 25.0}
    kwargs[arg] = value
    op = _check(lambda: lc.operating_point(lc.CruiseControl(brake=True), **kwargs),
                [arg, "set point", "unreachable"])
    if op is not None:
        assert np.all(np.isfinite(op.state)) and np.all(np.isfinite(op.input))


@SETTINGS
@given(value=st.sampled_from(HOSTILE + [ct.tf([1.0], [1.0, 1.0, 1.0]), lc.FirstOrderLag(),
                                       ct.ss([[-1.0]], [[1.0]], [[1.0]], [[0.0]]),
                                       (1.0, 2.0), "plant"]))
def test_as_plant_refuses_or_converts(value):
    plant = _check(lambda: lc.as_plant(value), ["plant", "sys", "A", "B", "C", "D",
                                                "transfer function"])
    if plant is not None:
        assert isinstance(plant, lc.Plant)


def test_every_constructor_argument_against_every_hostile_value():
    # the matrix is small enough to walk whole (constructors cost microseconds), so the
    # sampled test above is backed by an exhaustive one
    table = {**CONTROLLER_ARGS, **PLANT_ARGS, **SOLVER_ARGS}
    tried = 0
    for name, (cls, base, args) in table.items():
        fields = _known_fields(cls)
        for arg in args:
            if fields is not None and arg not in fields:
                continue
            for value in HOSTILE:
                _check(lambda: cls(**{**base, arg: value}), [arg])
                tried += 1
    assert tried > 500


@SETTINGS
@given(value=st.sampled_from(HOSTILE), where=st.sampled_from(["grid", "keyword"]),
       name=st.sampled_from(["kp", "negative_slope", "u_max"]))
def test_sweep_fails_bad_points_alone_or_refuses_by_name(value, where, name):
    base = lc.LeakyPI(kp=1.0, ki=0.5, negative_slope=0.1)
    t = np.linspace(0.0, 2.0, 21)
    if where == "grid":
        # one hostile value among good ones: a named refusal of the whole grid (NaN, wrong
        # kinds of column) or a bad point that fails alone while its neighbours run
        res = _check(lambda: lc.sweep(lc.FirstOrderLag(), base, {name: [0.5, value, 0.2]}, t),
                     [name, "grid"])
        if res is not None:
            assert res.status[0] == 0 and res.status[2] == 0
            # the hostile point: any outcome, honestly labelled (kp = 5e-324 diverges)
            assert res.status[1] in {int(s) for s in lc.Status}
            assert res.status[1] == 0 or res.messages[1]
    else:
        kwargs = {"checkpoint": value} if name == "kp" else \
            {"metrics": value} if name == "negative_slope" else {"chunk_size": value}
        # a checkpoint value like "1.0" is a valid folder name: keep it out of the repository
        with tempfile.TemporaryDirectory() as scratch, contextlib.chdir(scratch):
            _check(lambda: lc.sweep(lc.FirstOrderLag(), base, {"kp": [0.5, 1.0]}, t, **kwargs),
                   list(kwargs))


@SETTINGS
@given(arg=st.sampled_from(["amplitude", "timepts"]), value=st.sampled_from(HOSTILE))
def test_step_response_refuses_or_runs_honestly(arg, value):
    kwargs = {"timepts": 2.0, arg: value}
    resp = _check(lambda: lc.step_response(lc.FirstOrderLag(), lc.LeakyP(
        kp=1.0, negative_slope=0.1), **kwargs), [arg, "timepts"])
    if resp is not None:
        _honest(resp)


@SETTINGS
@given(arg=st.sampled_from(["t", "e", "u", "u_tol"]), value=st.sampled_from(HOSTILE))
def test_coasting_fraction_refuses_or_answers(arg, value):
    kwargs = {"t": [0.0, 1.0, 2.0], "e": [1.0, -1.0, -1.0], "u": [1.0, 0.0, 0.0], arg: value}
    frac = _check(lambda: lc.coasting_fraction(**kwargs), [arg, "same length", "t must"])
    if frac is not None:
        assert 0.0 <= frac <= 1.0


@SETTINGS
@given(arg=st.sampled_from(["nstates", "ninputs", "ndisturbances", "params", "C",
                            "input_limits"]),
       value=st.sampled_from(HOSTILE))
def test_numba_plant_refuses_or_builds(arg, value):
    import numba

    @numba.njit
    def decay(t, x, ud, params, dx):
        dx[0] = -x[0] + ud[0]

    kwargs = {"nstates": 1, "ninputs": 1, arg: value}
    _check(lambda: lc.NumbaPlant(lc.rhs(decay), **kwargs), [arg])
