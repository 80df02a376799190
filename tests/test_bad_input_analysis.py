"""Bad input to ``leaky_control.analysis`` and ``leaky_control.bridge``.

Every public entry point answers a wrong value with a ``TypeError`` or ``ValueError`` whose
message names the parameter: never another exception type, a silent cast (complex to real, 3.5
to 3) or a hang. The LipSDP methods refuse, before building anything, a problem whose estimated
memory exceeds the budget (a 10-400-1 network used to abort the interpreter in Clarabel).
"""

import functools
import math
import signal
import subprocess
import sys
import textwrap
import types
from dataclasses import dataclass, field

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import leaky_control.analysis._checks as checks
import leaky_control.analysis._lipschitz_sdp as sdp
from leaky_control.analysis import (
    LeakyReLUNonlinearity,
    LipSDPMemoryError,
    certified_radius,
    circle_criterion,
    contraction_rate,
    deq_certificate,
    deq_solve,
    lipschitz_bound,
    lipschitz_lower_bound,
    log_norm,
    network_jacobian,
    popov_criterion,
)
from leaky_control.bridge import (
    MLP,
    LeakyFlowLayer,
    ScaledLeaky,
    collapse_batchnorm_leaky,
    control_availability,
    count_linear_regions,
    gradient_statistics,
    init_mlp,
    input_output_jacobian,
    is_dead_at,
    jacobian_spectrum,
    kaiming_normal,
    kaiming_std,
    linear_pieces,
    measure_second_moments,
    propagate_second_moments,
    relu_dead_probability,
    second_moment_factor,
    train,
    training_availability,
)

GB = 1e9

# ---------------------------------------------------------------- fixtures (small, fast)

WS = [np.array([[1.0, -0.5], [0.3, 0.8], [-0.2, 0.4]]), np.array([[0.5, -1.0, 0.7]])]
BS = [np.array([0.1, -0.2, 0.0]), np.array([0.05])]
A2 = np.array([[-1.0, 0.5], [0.0, -2.0]])
B2 = np.array([[0.0], [1.0]])
C2 = np.array([[1.0, 0.0]])
X3 = np.array([[0.1, 0.2], [0.3, -0.4], [1.0, 0.0]])
Y3 = np.array([[0.0], [1.0], [0.5]])
BN = {"weight": [1.0, 2.0], "bias": [0.0, 0.1], "running_mean": [0.0, 0.5],
      "running_var": [1.0, 2.0]}


def _net():
    return init_mlp([2, 3, 1], rng=0)


@functools.cache
def _history():
    return train(_net(), X3, Y3, epochs=2)


def _loop_response():
    t = np.arange(4.0)
    e = np.array([1.0, 0.5, 0.0, 0.0])
    u = np.array([1.0, 0.0, 0.0, 0.0])
    loop = types.SimpleNamespace(outputs=np.vstack([e, u]), output_labels=["e", "u"])
    return types.SimpleNamespace(time=t, loop=loop, inputs=np.ones((1, 4)), input_labels=["r"])


# Values that are wrong for most parameters. Each entry below lists, per parameter, the keys
# that are legitimately valid for it; every other key must be refused by name.
POOL = {
    "nan": math.nan,
    "inf": math.inf,
    "str": "abc",
    "None": None,
    "dict": {},
    "complex": 1j,
    "emptylist": [],
    "emptyarr": np.array([]),
    "huge": 10**400,
    "bool": True,
    "neg": -1,
    "zero": 0,
    "frac": 3.5,
    "ragged": [[1.0, 2.0], [3.0]],
    "3d": np.zeros((2, 2, 2)),
    "complexarr": np.array([1j, 2.0]),
    "nanarr": np.array([np.nan, 1.0]),
    "boolarr": np.array([True, False]),
    "objarr": np.array([None, 1.0], dtype=object),
    "hugearr": [10**400, 1],
}
REALS = {"neg", "zero", "frac", "huge"}  # valid where any finite real is (huge: as a float? no)


@dataclass
class Entry:
    name: str
    func: object
    base: dict
    valid: dict = field(default_factory=dict)
    # what the result promises to be finite (called on the returned value)
    promise: object = None


def _finite(*values):
    for v in values:
        assert np.all(np.isfinite(np.asarray(v, dtype=float))), v


def _bound_ok(r):
    # a certified bound is never NaN (inf only beyond the float range, e.g. a leak near 1e308);
    # a failed solve is NaN and not certified
    assert (r.certified and not math.isnan(r.value) and r.value >= 0) or (
        not r.certified and (math.isnan(r.value) or r.value >= 0)
    ), r


def _lower_ok(r):
    _finite(r.value, r.witness)
    assert r.value >= 0


def _radius_ok(r):
    if r.certified:
        assert not np.any(np.isnan(np.asarray(r.radius, dtype=float)))


def _deq_ok(r):
    if r.success:
        _finite(r.z, r.residual)


def _train_ok(h):
    _finite(h.loss[0])
    if h.success:
        _finite(h.loss, h.mlp.get_flat())


def _avail_ok(av):
    _finite(av.availability, av.summary)


def _crit_ok(r):
    assert isinstance(r.holds, bool)
    assert not math.isnan(r.margin) or not r.holds


def _contraction_ok(c):
    if c.success:
        _finite(c.rate, c.metric)
        assert c.check()


def _generic_ok(out):
    if isinstance(out, tuple):
        for o in out:
            _generic_ok(o)
    elif isinstance(out, dict):
        _finite(*out.values())
    elif isinstance(out, float | int | np.ndarray | np.floating):
        _finite(out)
    elif isinstance(out, MLP):
        _finite(out.get_flat())


def _entries():
    net = _net()
    net1 = init_mlp([1, 3, 1], rng=0)
    nl = LeakyReLUNonlinearity(0.1)
    flow = LeakyFlowLayer([[1.0, 0.2], [0.0, 1.0]], [0.0, 0.0], 0.1)
    cert = deq_certificate([[0.2, 0.1], [0.0, 0.3]])
    contr = contraction_rate(A2, B2, C2, 1.0, 0.1, rate_tol=0.1, max_iter=3)
    any_real = REALS - {"huge"}
    return [
        Entry("lipschitz_bound", lipschitz_bound,
              dict(weights=WS, biases=BS, negative_slope=0.1, method="naive", p=2, solver=None,
                   max_regions=1000, tol=1e-9, max_memory=None),
              {"biases": {"None"}, "solver": {"None", "str"}, "negative_slope": any_real,
               "p": {"inf"}, "max_memory": {"None", "inf", "frac"}, "tol": {"frac"}}, _bound_ok),
        Entry("lipschitz_bound[lipsdp]", lipschitz_bound,
              dict(weights=WS, biases=None, negative_slope=0.1, method="lipsdp", solver=None),
              {"biases": {"None", "emptylist"}, "solver": {"None", "str"}, "negative_slope": {"zero"}},
              _bound_ok),
        Entry("lipschitz_bound[exact-regions]", lipschitz_bound,
              dict(weights=WS, biases=BS, negative_slope=0.1, method="exact-regions",
                   max_regions=1000, tol=1e-9),
              {"negative_slope": any_real, "tol": {"frac"}}, _bound_ok),
        Entry("lipschitz_lower_bound", lipschitz_lower_bound,
              dict(weights=WS, biases=BS, negative_slope=0.1, n_samples=64, seed=0, p=2,
                   scale=None, n_local=4),
              {"biases": {"None"}, "seed": {"None", "zero", "huge"}, "scale": {"None", "frac"},
               "negative_slope": any_real, "n_local": {"zero"}, "p": {"inf"}}, _lower_ok),
        Entry("certified_radius", certified_radius,
              dict(weights=WS, biases=BS, x=[0.1, 0.2], negative_slope=0.1, method="naive",
                   pairwise=True, solver=None, max_memory=None),
              {"biases": {"None"}, "solver": {"None", "str"}, "pairwise": {"bool"},
               "negative_slope": any_real, "max_memory": {"None", "inf", "frac"}}, _radius_ok),
        Entry("network_jacobian", network_jacobian,
              dict(weights=WS, biases=BS, x=[0.1, 0.2], negative_slope=0.1),
              {"biases": {"None"}, "negative_slope": any_real}, _generic_ok),
        Entry("log_norm", log_norm, dict(A=A2, p=2, weights=None),
              {"weights": {"None"}, "p": {"inf"}}, _generic_ok),
        Entry("contraction_rate", contraction_rate,
              dict(A=A2, B=B2, C=C2, k=1.0, negative_slope=0.1, rate_tol=0.1, max_iter=3,
                   metric_cond=1e6, solver=None),
              # an unknown solver name is reported in the result, as in lipschitz_bound
              {"solver": {"None", "str"}, "negative_slope": {"zero"}, "k": {"None", "frac"},
               "rate_tol": {"frac"}, "metric_cond": {"frac"}}, _contraction_ok),
        Entry("ContractionCertificate.check", contr.check, dict(tol=0.0),
              {"tol": {"zero", "frac"}}, None),
        Entry("circle_criterion", circle_criterion,
              dict(A=A2, B=B2, C=C2, k=1.0, negative_slope=0.1, n_points=50),
              {"negative_slope": {"zero"}, "k": {"None", "frac"}}, _crit_ok),
        Entry("popov_criterion", popov_criterion,
              dict(A=A2, B=B2, C=C2, k=1.0, negative_slope=0.1, q=None, q_max=None, n_points=50),
              {"negative_slope": {"zero"}, "k": {"None", "frac"}, "q": {"None", "zero", "frac"},
               "q_max": {"None", "frac", "zero"}}, _crit_ok),
        Entry("LeakyReLUNonlinearity", LeakyReLUNonlinearity, dict(negative_slope=0.1, gain=1.0),
              {"negative_slope": {"zero"}, "gain": {"frac"}}, None),
        Entry("LeakyReLUNonlinearity.describing_function", nl.describing_function, dict(A=1.0),
              {"A": {"zero", "frac"}}, _generic_ok),
        Entry("LeakyReLUNonlinearity.dc_offset", nl.dc_offset, dict(A=1.0),
              {"A": {"zero", "frac", "emptylist", "emptyarr", "3d"}}, _generic_ok),
        Entry("deq_solve", deq_solve,
              dict(W=[[0.2, 0.1], [0.0, 0.3]], U=[[1.0], [0.5]], b=[0.0, 0.1], x=[1.0],
                   negative_slope=0.1, tol=1e-8, method="picard", certificate="auto",
                   max_iter=1000, z0=None, memory=3),
              {"z0": {"None"}, "negative_slope": {"zero"}, "x": {"neg", "zero", "frac"},
               "tol": {"frac"}}, _deq_ok),
        Entry("deq_certificate", deq_certificate, dict(W=[[0.2, 0.1], [0.0, 0.3]], kind="auto")),
        Entry("DEQCertificate.iteration_bound", cert.iteration_bound,
              dict(initial_step=1.0, tol=1e-6),
              {"initial_step": {"zero", "frac"}, "tol": {"frac"}}, _generic_ok),
        Entry("MLP", MLP,
              dict(weights=WS, biases=BS, activation="leaky", negative_slope=0.1,
                   prelu_slopes="layer"),
              {"negative_slope": {"None"} | any_real}, _generic_ok),
        Entry("MLP.forward", net.forward, dict(x=X3), {}, _generic_ok),
        Entry("MLP.preactivations", net.preactivations, dict(x=X3), {}, None),
        Entry("MLP.loss_and_grads", net.loss_and_grads, dict(x=X3, y=Y3), {}, None),
        Entry("MLP.with_flat", net.with_flat, dict(theta=net.get_flat()), {}, _generic_ok),
        Entry("init_mlp", init_mlp,
              dict(sizes=[2, 3, 1], activation="leaky", negative_slope=0.1, init="kaiming",
                   mode="fan_in", rng=0, bias=0.0, prelu_slopes="layer"),
              {"negative_slope": {"None"} | any_real, "rng": {"None", "zero", "huge"},
               "bias": any_real}, _generic_ok),
        Entry("kaiming_std", kaiming_std, dict(fan=3, negative_slope=0.1),
              {"negative_slope": any_real}, _generic_ok),
        Entry("kaiming_normal", kaiming_normal,
              dict(shape=(3, 2), negative_slope=0.1, mode="fan_in", rng=0),
              {"negative_slope": any_real, "rng": {"None", "zero", "huge"}}, _generic_ok),
        Entry("train", train,
              dict(mlp=net, x=X3, y=Y3, optimizer="adam", lr=0.01, epochs=2, batch_size=2,
                   seed=0, progress=False, betas=(0.9, 0.999), eps=1e-8, momentum=0.0,
                   on_divergence="stop", track=True),
              {"seed": {"None", "zero", "huge"}, "track": {"bool"}, "progress": {"bool"},
               "momentum": {"zero"},
               "lr": {"frac"}, "eps": {"frac"}}, _train_ok),
        Entry("count_linear_regions", count_linear_regions, dict(mlp=net1, interval=(-1.0, 1.0)),
              {}, _generic_ok),
        Entry("linear_pieces", linear_pieces, dict(mlp=net1, interval=(-1.0, 1.0), rtol=1e-9),
              {"rtol": {"zero", "frac"}}, _generic_ok),
        Entry("control_availability", control_availability,
              dict(resp=_loop_response(), e_tol=None, u_tol=None),
              {"e_tol": {"None", "zero", "frac"}, "u_tol": {"None", "zero", "frac"}}, _avail_ok),
        Entry("training_availability", training_availability, dict(history=_history()), {},
              _avail_ok),
        Entry("gradient_statistics", gradient_statistics, dict(negative_slope=0.1),
              {"negative_slope": any_real}, _generic_ok),
        Entry("second_moment_factor", second_moment_factor,
              dict(weight_std=0.5, fan=3, negative_slope=0.1),
              {"negative_slope": any_real, "weight_std": {"zero", "frac"}}, _generic_ok),
        Entry("propagate_second_moments", propagate_second_moments,
              dict(sizes=[2, 3, 1], weight_std=0.5, negative_slope=0.1, input_ms=1.0),
              {"negative_slope": any_real, "weight_std": {"zero", "frac"},
               "input_ms": {"zero", "frac"}}, _generic_ok),
        Entry("measure_second_moments", measure_second_moments,
              dict(mlp=net, x=X3, cotangent=Y3), {}, _generic_ok),
        Entry("input_output_jacobian", input_output_jacobian, dict(mlp=net, x=[0.1, 0.2]), {},
              _generic_ok),
        Entry("jacobian_spectrum", jacobian_spectrum,
              dict(width=3, depth=2, negative_slope=0.1, n_nets=2, init="kaiming", rng=0),
              {"negative_slope": any_real, "rng": {"None", "zero", "huge"}}, _generic_ok),
        Entry("relu_dead_probability", relu_dead_probability, dict(width=3, depth=2),
              {"depth": {"zero"}}, _generic_ok),
        Entry("is_dead_at", is_dead_at, dict(mlp=net, x=X3), {}, None),
        Entry("LeakyFlowLayer", LeakyFlowLayer,
              dict(weight=[[1.0, 0.2], [0.0, 1.0]], bias=[0.0, 0.0], negative_slope=0.1),
              {"negative_slope": {"frac"}}, None),
        Entry("LeakyFlowLayer.forward", flow.forward, dict(x=[[0.5, -0.5]]), {}, _generic_ok),
        Entry("LeakyFlowLayer.inverse", flow.inverse, dict(y=[[0.5, -0.5]]), {}, _generic_ok),
        Entry("ScaledLeaky", ScaledLeaky,
              dict(scale=[1.0, 2.0], center=[0.0, 1.0], offset=[0.0, 0.0], sign=[1.0, -1.0],
                   negative_slope=0.1),
              {"negative_slope": any_real}, None),
        Entry("collapse_batchnorm_leaky", collapse_batchnorm_leaky,
              dict(bn1=BN, bn2=BN, negative_slope=0.1, eps=1e-5),
              {"negative_slope": {"zero", "frac"}, "eps": {"frac"}}, None),
    ]


@functools.cache
def _entry_map():
    return {e.name: e for e in _entries()}


ENTRY_NAMES = [e.name for e in _entries()]


class _Hang(Exception):
    pass


def _alarm(signum, frame):
    raise _Hang("no answer within 20 s")


def _call(entry, kwargs):
    """Run ``entry`` with a 20 s alarm; return ``("ok", out)`` or ``("error", exc)``."""
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(20)
    try:
        return "ok", entry.func(**kwargs)
    except (TypeError, ValueError) as exc:
        return "error", exc
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def _named(param, exc):
    """The message names the parameter (``betas`` for ``betas[0]``, ``plant.A`` for ``A``)."""
    return param in str(exc)


# ---------------------------------------------------------------- every parameter, every value


@pytest.mark.parametrize("name", ENTRY_NAMES)
def test_every_bad_value_is_refused_by_name(name):
    entry = _entry_map()[name]
    status, out = _call(entry, dict(entry.base))
    assert status == "ok", f"baseline call of {name} failed: {out!r}"
    problems = []
    for param in entry.base:
        for key, bad in POOL.items():
            if key in entry.valid.get(param, set()):
                continue
            kwargs = {**entry.base, param: bad}
            status, out = _call(entry, kwargs)
            if status == "ok":
                problems.append(f"{param}={key}: accepted, returned {type(out).__name__}")
            elif not _named(param, out):
                problems.append(f"{param}={key}: {type(out).__name__} without the name: {out}")
    assert not problems, f"{name}:\n" + "\n".join(problems)


# ---------------------------------------------------------------- property-based fuzz

_scalars = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(10**3), 10**3),
    st.sampled_from([10**400, -(10**400), 2**63, 2**62, True, False, None, "abc", "", "inf",
                     {}, 1j, complex(1, 1), [], (), np.float64(np.nan), np.int64(3),
                     np.bool_(True), object()]),
)
_small_floats = st.one_of(
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False),
    st.sampled_from([math.nan, math.inf, -math.inf, 0.0]),
)
_arrays = st.one_of(
    hnp.arrays(np.float64, hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3),
               elements=_small_floats),
    hnp.arrays(np.complex128, hnp.array_shapes(min_dims=1, max_dims=2, max_side=3)),
    hnp.arrays(np.bool_, hnp.array_shapes(min_dims=1, max_dims=2, max_side=3)),
    hnp.arrays(np.int64, hnp.array_shapes(min_dims=1, max_dims=2, max_side=3),
               elements=st.integers(-5, 5)),
    st.lists(st.lists(_small_floats, max_size=3), max_size=3),  # ragged or not
    st.lists(_scalars, max_size=3),
)
_values = st.one_of(_scalars, _arrays)


# Counts of pure work with no memory footprint: a huge valid value (2**62 epochs) runs as long
# as asked, which is not a hang on bad input; values beyond int64 are still refused.
WORK_COUNTS = {("lipschitz_lower_bound", "n_local"), ("train", "epochs")}


@pytest.mark.parametrize("name", ENTRY_NAMES)
@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_fuzz_one_parameter_answers_or_names_it(name, data):
    """Change one parameter of a valid call to anything: a promised result, or a TypeError /
    ValueError naming that parameter; never another exception and never a hang."""
    entry = _entry_map()[name]
    param = data.draw(st.sampled_from(sorted(entry.base)), label="param")
    value = data.draw(_values, label="value")
    if (name, param) in WORK_COUNTS:
        assume(not (isinstance(value, int | np.integer) and 10**6 < value < 2**63))
    status, out = _call(entry, {**entry.base, param: value})
    if status == "ok":
        if entry.promise is not None:
            entry.promise(out)
    else:
        assert _named(param, out), f"{type(out).__name__} does not name {param!r}: {out}"


_finite_floats = st.floats(min_value=-1e6, max_value=1e6)
# mostly finite: a strategy listed three times next to the specials is drawn 3/4 of the time
_mostly_finite = st.one_of(_finite_floats, _finite_floats, _finite_floats,
                           st.sampled_from([math.nan, math.inf, -math.inf]))


@st.composite
def _networks(draw, elements=_finite_floats, depth=(1, 3)):
    """Small networks (``depth`` hidden layers); one in four gets a NaN or inf entry somewhere."""
    n_hidden = draw(st.integers(*depth))
    sizes = draw(st.lists(st.integers(1, 3), min_size=n_hidden + 2, max_size=n_hidden + 2))
    ws = [draw(hnp.arrays(np.float64, (sizes[i + 1], sizes[i]), elements=elements))
          for i in range(len(sizes) - 1)]
    bs = [draw(hnp.arrays(np.float64, (sizes[i + 1],), elements=elements))
          for i in range(len(sizes) - 1)]
    if draw(st.integers(0, 3)) == 3:  # not 0, which hypothesis draws most
        arrays = ws + bs
        k = draw(st.integers(0, len(arrays) - 1))
        arrays[k].flat[draw(st.integers(0, arrays[k].size - 1))] = draw(
            st.sampled_from([math.nan, math.inf, -math.inf]))
    return sizes, ws, bs


@settings(max_examples=80, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), method=st.sampled_from(["naive", "exact", "exact-regions", "lipsdp-layer"]))
def test_fuzz_networks_bound_or_refuse(data, method):
    """Random small networks (NaN and inf entries included): a sound, finite answer or a named
    error; the upper bounds dominate the sampled lower bound."""
    one_hidden = method in ("exact", "exact-regions")
    sizes, ws, bs = data.draw(_networks(depth=(1, 1) if one_hidden else (0, 3)), label="net")
    if method == "lipsdp-layer":
        pytest.importorskip("cvxpy")
        a, p = data.draw(st.floats(0, 1), label="a"), 2
    else:
        a = data.draw(st.floats(-3, 3), label="a")
        p = data.draw(st.sampled_from([1, 2, math.inf]), label="p")
    entry = Entry("lipschitz_bound", lipschitz_bound, {})
    status, out = _call(entry, dict(weights=ws, biases=bs, negative_slope=a, method=method, p=p))
    finite = all(np.all(np.isfinite(w)) for w in ws + bs)
    if status == "error":
        msg = str(out)
        assert any(k in msg for k in ("weights", "biases", "negative_slope", "method", "p=")), msg
        assert finite or "must be finite" in msg
        return
    assert finite
    _bound_ok(out)
    assert math.isfinite(out.value) or not out.certified  # these magnitudes never overflow
    low = lipschitz_lower_bound(ws, bs, a, n_samples=32, seed=0, p=p, n_local=2)
    _lower_ok(low)
    if out.certified:
        assert low.value <= out.value * (1 + 1e-9) + 1e-300
    status, jac = _call(Entry("jacobian", network_jacobian, {}),
                        dict(weights=ws, biases=bs, x=np.zeros(sizes[0]), negative_slope=a))
    if status == "ok":
        _finite(jac)
    else:  # only when the float64 pass overflows (never for these magnitudes)
        assert "overflows float64" in str(jac) or "leaves the float64 range" in str(jac)


@settings(max_examples=30, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(net=_networks(st.floats(-10, 10)), x=st.lists(_mostly_finite, min_size=1, max_size=4))
def test_fuzz_mlp_forward_and_train(net, x):
    sizes, ws, bs = net
    if not all(np.all(np.isfinite(w)) for w in ws + bs):
        with pytest.raises(ValueError, match=r"(weights|biases)\[\d\] must be finite"):
            MLP(ws, bs, "leaky", 0.1)
        return
    mlp = MLP(ws, bs, "leaky", 0.1)
    xs = np.resize(np.asarray(x), (2, sizes[0]))
    entry = Entry("forward", mlp.forward, {})
    status, out = _call(entry, dict(x=xs))
    if not np.all(np.isfinite(xs)):
        assert status == "error" and _named("x", out)
        return
    assert status == "ok"
    _finite(out)
    hist = train(mlp, xs, np.zeros((2, sizes[-1])), "adam", 0.01, epochs=2, batch_size=1, seed=0)
    _train_ok(hist)


# ---------------------------------------------------------------- 1. LipSDP memory


def _wide(n_hidden, n_in=10):
    rng = np.random.default_rng(0)
    return [rng.standard_normal((n_hidden, n_in)) / np.sqrt(n_in),
            rng.standard_normal((1, n_hidden)) / np.sqrt(n_hidden)]


@pytest.mark.parametrize("method", ["lipsdp", "lipsdp-layer"])
def test_lipsdp_refuses_a_10_400_1_network_with_clarabel_before_building_it(monkeypatch, method):
    # regression: Clarabel asked for 56,791,240,200 bytes and aborted the interpreter
    pytest.importorskip("cvxpy")
    monkeypatch.setattr(sdp, "available_memory", lambda: 8 * GB)
    built = []
    monkeypatch.setattr(sdp, "import_cvxpy", lambda: built.append(1))
    with pytest.raises(LipSDPMemoryError) as info:
        lipschitz_bound(_wide(400), None, 0.1, method, solver="CLARABEL")
    err = info.value
    assert isinstance(err, MemoryError) and isinstance(err, ValueError)
    assert not built, "the problem was built before the memory check"
    msg = str(err)
    assert "410x410" in msg and "CLARABEL ~" in msg and "GB" in msg
    assert "8 GB of memory available" in msg and "max_memory" in msg
    assert "'lipsdp-layer'" in msg and "'naive'" in msg and "solver='SCS'" in msg
    assert err.estimates["CLARABEL"] > 400 * GB
    assert err.budget == pytest.approx(0.9 * 8 * GB)


def test_lipsdp_width_200_would_need_tens_of_gigabytes():
    # width 200 grew to 24 GB in the report; the estimate says so before anything runs
    est = sdp.estimate_memory([10, 200, 1], True, "CLARABEL")
    assert 24 * GB < est < 60 * GB
    with pytest.raises(LipSDPMemoryError, match=r"210x210.*max_memory=10 GB"):
        lipschitz_bound(_wide(200), None, 0.1, "lipsdp", solver="CLARABEL", max_memory=10 * GB)


def test_default_solvers_skip_clarabel_when_only_scs_fits():
    pytest.importorskip("cvxpy")
    ws = _wide(60)
    assert sdp.estimate_memory([10, 60, 1], True, "CLARABEL") > 400e6
    assert sdp.estimate_memory([10, 60, 1], True, "SCS") < 100e6
    res = lipschitz_bound(ws, None, 0.1, "lipsdp", max_memory=200e6)
    assert res.certified, res.message
    assert res.stats["solver"] == "SCS"
    assert res.stats["skipped_solvers"] == ["CLARABEL"]
    assert "CLARABEL skipped: estimated" in res.message
    ref = lipschitz_bound(ws, None, 0.1, "naive")
    assert res.value <= ref.value


def test_lipsdp_layer_has_its_own_estimate_and_every_option_too_large_is_refused():
    pytest.importorskip("cvxpy")
    ws = _wide(60)
    layer = sdp.estimate_memory([10, 60, 1], False, "SCS")
    neuron = sdp.estimate_memory([10, 60, 1], True, "SCS")
    assert layer < neuron
    with pytest.raises(LipSDPMemoryError) as info:
        lipschitz_bound(ws, None, 0.1, "lipsdp-layer", max_memory=1e6)
    msg = str(info.value)
    assert "method='lipsdp-layer'" in msg and "SCS ~" in msg and "CLARABEL ~" in msg
    assert "method='naive'" in msg
    assert set(info.value.estimates) == {"CLARABEL", "SCS"}


def test_max_memory_inf_disables_the_check_and_bad_values_are_named(monkeypatch):
    pytest.importorskip("cvxpy")
    monkeypatch.setattr(sdp, "available_memory", lambda: 1.0)  # nothing would fit
    ws = [np.array([[1.0, 2.0], [0.5, -1.0]]), np.array([[1.0, 1.0]])]
    with pytest.raises(LipSDPMemoryError):
        lipschitz_bound(ws, None, 0.1, "lipsdp")
    assert lipschitz_bound(ws, None, 0.1, "lipsdp", max_memory=math.inf).certified
    assert certified_radius(ws, None, [0.1, 0.2], 0.1, "lipsdp", max_memory=math.inf).certified
    for bad, exc in [(0, ValueError), (-1.0, ValueError), (math.nan, ValueError),
                     ("1GB", TypeError), (True, TypeError), (10**400, ValueError)]:
        with pytest.raises(exc, match="max_memory"):
            lipschitz_bound(ws, None, 0.1, "naive", max_memory=bad)


def test_unknown_memory_means_no_refusal(monkeypatch):
    monkeypatch.setattr(sdp, "available_memory", lambda: None)
    budget, avail = sdp.memory_budget(None)
    assert budget == math.inf and avail is None


# Peak resident memory above the pre-solve level (VmHWM), one subprocess per size, measured
# when the formula was calibrated (see _lipschitz_sdp.py): (widths, per neuron, solver, bytes).
CALIBRATION = [
    ((10, 40, 1), True, "CLARABEL", 87_367_680),
    ((10, 80, 1), True, "CLARABEL", 882_159_616),
    ((10, 120, 1), True, "CLARABEL", 3_791_503_360),
    ((10, 120, 1), False, "CLARABEL", 3_790_540_800),
    ((40, 20, 1), True, "CLARABEL", 212_156_416),
    ((80, 20, 1), True, "CLARABEL", 1_415_745_536),
    ((60, 10, 1), True, "CLARABEL", 350_859_264),
    ((5, 60, 60, 1), True, "CLARABEL", 3_283_169_280),
    ((10, 60, 60, 1), True, "CLARABEL", 3_718_647_808),
    ((30, 30, 30, 1), True, "CLARABEL", 464_969_728),
    ((10, 400, 1), True, "SCS", 122_060_800),
    ((10, 800, 1), True, "SCS", 483_811_328),
    ((200, 50, 1), True, "SCS", 238_592_000),
    ((200, 50, 1), False, "SCS", 102_076_416),
    ((100, 100, 100, 1), True, "SCS", 255_635_456),
    ((300, 20, 1), True, "SCS", 243_232_768),
]


@pytest.mark.parametrize(("sizes", "per_neuron", "solver", "measured"), CALIBRATION)
def test_memory_estimate_covers_the_calibration_measurements(sizes, per_neuron, solver, measured):
    est = sdp.estimate_memory(sizes, per_neuron, solver)
    assert est >= 1.15 * measured
    # conservative, not absurd, for the one-cone cases
    if len(sizes) == 3 and measured > 300e6:
        assert est <= 1.8 * measured


def test_memory_estimate_holds_for_a_fresh_measurement(tmp_path):
    """Run a small Clarabel LipSDP in a subprocess and compare its peak with the estimate."""
    pytest.importorskip("cvxpy")
    if not sys.platform.startswith("linux"):
        pytest.skip("measures /proc/self/status")
    code = textwrap.dedent("""
        import gc, numpy as np
        from leaky_control.analysis import _lipschitz_sdp as S
        def field(name):
            for line in open("/proc/self/status"):
                if line.startswith(name):
                    return int(line.split()[1]) * 1024
        rng = np.random.default_rng(0)
        S.solve_lipsdp([rng.standard_normal((3, 2)), rng.standard_normal((1, 3))], 0.1)
        ws = [rng.standard_normal((40, 10)) / 3, rng.standard_normal((1, 40)) / 6]
        gc.collect()
        open("/proc/self/clear_refs", "w").write("5")
        base = field("VmRSS")
        value, ok, stats, msg = S.solve_lipsdp(ws, 0.1, True, "CLARABEL")
        assert ok, msg
        print(field("VmHWM") - base)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    if out.returncode != 0 and "clear_refs" in out.stderr:
        pytest.skip("cannot reset the peak-memory counter here")
    assert out.returncode == 0, out.stderr
    peak = int(out.stdout.strip().splitlines()[-1])
    assert peak <= sdp.estimate_memory([10, 40, 1], True, "CLARABEL")


# ---------------------------------------------------------------- 2. complex input


COMPLEX_W = [np.array([[1j, 1.0], [0.5, 0.0]]), np.array([[1.0, 1.0]])]


@pytest.mark.parametrize("method", ["naive", "lipsdp", "lipsdp-layer", "exact", "exact-regions"])
def test_complex_weights_are_refused_not_certified_as_zero(method):
    with pytest.raises(TypeError, match=r"weights\[0\] must be real"):
        lipschitz_bound(COMPLEX_W, [np.zeros(2), np.zeros(1)], 0.1, method)
    with pytest.raises(TypeError, match=r"biases\[1\] must be real"):
        lipschitz_bound([w.real for w in COMPLEX_W], [np.zeros(2), np.array([1j])], 0.1, method)


@pytest.mark.parametrize("call", [
    lambda: lipschitz_lower_bound(COMPLEX_W, None, 0.1),
    lambda: certified_radius(COMPLEX_W, None, [0.0, 1.0], 0.1, "naive"),
    lambda: network_jacobian(COMPLEX_W, None, [0.0, 1.0], 0.1),
])
def test_complex_weights_refused_by_every_lipschitz_entry(call):
    with pytest.raises(TypeError, match=r"weights\[0\] must be real"):
        call()


def _ns(**kw):
    return types.SimpleNamespace(**kw)


@pytest.mark.parametrize(("call", "name"), [
    (lambda: circle_criterion(_ns(A=np.array([[-1.0 + 1j]]), B=[[1.0]], C=[[1.0]], D=0.0),
                              k=1.0, negative_slope=0.1), "plant.A"),
    (lambda: contraction_rate(_ns(A=[[-1.0]], B=[[1.0]], C=[[1.0]], D=0.0),
                              _ns(K=np.array([[1j]]), negative_slope=0.1)), "controller.K"),
    (lambda: popov_criterion(_ns(A=[[-1.0]], B=[[1.0]], C=[[1.0]], D=[[1j]]),
                             k=1.0, negative_slope=0.1), "plant.D"),
    (lambda: circle_criterion(_ns(A=[[-1.0]], B=[[1.0]], C=[[1.0]], D=0.0),
                              _ns(kp=1j, negative_slope=0.1)), "controller.kp"),
    (lambda: circle_criterion(_ns(A=[[-1.0]], B=[[1.0]], C=[[1.0]], D=0.0),
                              _ns(kp=1.0, negative_slope=0.1j)), "controller.negative_slope"),
    (lambda: contraction_rate([[-1.0]], [[1j]], [[1.0]], 1.0, 0.1), "B"),
    (lambda: log_norm([[1.0, 1j], [0.0, 1.0]]), "A"),
    (lambda: deq_solve([[0.1]], [[1.0]], [0.0], [1j], 0.1), "x"),
    (lambda: LeakyReLUNonlinearity(0.1).dc_offset([1j]), "A"),
])
def test_complex_plant_controller_and_arrays_are_refused_by_name(call, name):
    # numpy casts complex to real with only a warning: the imaginary part would be dropped
    with pytest.raises(TypeError, match=name.replace(".", r"\.") + " must"):
        call()


# ---------------------------------------------------------------- 3. sizes and shapes


@pytest.mark.parametrize(("sizes", "exc", "match"), [
    ([2, 3.5, 1], TypeError, r"sizes\[1\] must be an integer, got 3.5"),
    ([2, 3.0, 1], TypeError, r"sizes\[1\] must be an integer"),
    ([2, True, 1], TypeError, r"sizes\[1\] must be an integer, got True"),
    ([2, "3", 1], TypeError, r"sizes\[1\] must be an integer, got '3'"),
    ([2, 0, 1], ValueError, r"sizes\[1\] must be a positive integer, got 0"),
    ([2, -4, 1], ValueError, r"sizes\[1\] must be a positive integer, got -4"),
    ([2, 10**400, 1], ValueError, r"sizes\[1\] must be a positive integer no larger than"),
    ([2, 2**40, 1], ValueError, r"sizes=.*memory available"),
    ([2, None, 1], TypeError, r"sizes\[1\]"),
    ([3], ValueError, "sizes must hold >= 2"),
    (3, TypeError, "sizes must be a sequence"),
    ("231", TypeError, "sizes must be a sequence"),
    (np.zeros((2, 2), dtype=int), ValueError, "sizes must be a 1-D"),
])
def test_init_mlp_sizes_must_be_positive_integers(sizes, exc, match):
    with pytest.raises(exc, match=match):
        init_mlp(sizes, rng=0)


def test_init_mlp_accepts_numpy_integers():
    assert init_mlp([np.int64(2), np.int32(3), 1], rng=0).sizes == (2, 3, 1)
    assert init_mlp(np.array([2, 3, 1]), rng=0).sizes == (2, 3, 1)
    assert propagate_second_moments(np.array([2, 3, 1]), 0.5, 0.1)[0].shape == (2,)


@pytest.mark.parametrize(("call", "exc", "match"), [
    (lambda: kaiming_normal((3.5, 2), 0.1), TypeError, r"shape\[0\] must be an integer"),
    (lambda: kaiming_normal((True, 2), 0.1), TypeError, r"shape\[0\] must be an integer"),
    (lambda: kaiming_normal(("3", 2), 0.1), TypeError, r"shape\[0\] must be an integer"),
    (lambda: kaiming_normal((0, 2), 0.1), ValueError, r"shape\[0\] must be a positive integer"),
    (lambda: kaiming_normal((3,), 0.1), ValueError, "shape must be a pair"),
    (lambda: kaiming_normal(3, 0.1), TypeError, "shape must be a pair"),
    (lambda: kaiming_normal((2**31, 2**31), 0.1), ValueError, "shape=.*memory available"),
    (lambda: kaiming_normal((3, 2), 0.1, mode=None), TypeError, "mode must be one of"),
    (lambda: kaiming_std(3.5, 0.1), TypeError, "fan must be an integer, got 3.5"),
    (lambda: kaiming_std(True, 0.1), TypeError, "fan must be an integer, got True"),
    (lambda: kaiming_std("3", 0.1), TypeError, "fan must be an integer"),
    (lambda: kaiming_std(-1, 0.1), ValueError, "fan must be a positive integer"),
    (lambda: kaiming_std(10**400, 0.1), ValueError, "fan must be a positive integer no larger"),
    (lambda: second_moment_factor(1.0, 10**400, 0.1), ValueError, "fan must be"),
    (lambda: propagate_second_moments([2, 3.5, 1], 0.5, 0.1), TypeError, r"sizes\[1\]"),
    (lambda: propagate_second_moments([2, 3, 1], [0.5, 0.5, 0.5], 0.1), ValueError,
     "weight_std must be one float or one per layer"),
    (lambda: jacobian_spectrum(10**6, 2, 0.1), ValueError, "width=.*memory available"),
    (lambda: jacobian_spectrum(3, 2**63, 0.1), ValueError, "depth must be"),
    (lambda: relu_dead_probability(3, 10**400), ValueError, "depth must be"),
])
def test_shapes_and_fans_are_checked(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_kaiming_normal_accepts_numpy_integer_shape():
    assert kaiming_normal((np.int64(3), np.int16(2)), 0.1, rng=0).shape == (3, 2)
    assert kaiming_normal(np.array([3, 2]), 0.1, rng=0).shape == (3, 2)


# ---------------------------------------------------------------- 4. options and seeds


@pytest.mark.parametrize(("kwargs", "exc", "match"), [
    (dict(betas=None), TypeError, r"betas must be a pair \(beta1, beta2\).*got None"),
    (dict(betas=0.9), TypeError, "betas must be a pair"),
    (dict(betas="ab"), TypeError, "betas must be a pair"),
    (dict(betas=(0.9,)), ValueError, "betas must be a pair"),
    (dict(betas=(0.9, 1.0)), ValueError, r"betas\[1\] must be in \[0, 1\)"),
    (dict(betas=(math.nan, 0.9)), ValueError, r"betas\[0\] must be finite"),
    (dict(betas=(None, 0.9)), TypeError, r"betas\[0\] must be a real number"),
    (dict(eps=0.0), ValueError, "eps must be in"),
    (dict(eps="1e-8"), TypeError, "eps must be a real number"),
    (dict(momentum=1.0), ValueError, r"momentum must be in \[0, 1\)"),
    (dict(momentum=None), TypeError, "momentum must be a real number"),
    (dict(lr=True), TypeError, "lr must be a real number"),
    (dict(lr=10**400), ValueError, "lr must be finite"),
    (dict(optimizer=None), TypeError, "optimizer must be one of"),
    (dict(optimizer="rmsprop"), ValueError, "optimizer must be one of"),
    (dict(on_divergence=1), TypeError, "on_divergence must be one of"),
    (dict(progress="yes"), TypeError, "progress must be True or False"),
    (dict(track=None), TypeError, "track must be True or False"),
    (dict(seed="abc"), TypeError, "seed must be None, a non-negative integer seed"),
    (dict(seed=-1), ValueError, "seed must be a non-negative integer seed"),
    (dict(seed=True), TypeError, "seed must be"),
    (dict(epochs=10**400), ValueError, "epochs must be an integer >= 1 no larger than"),
    (dict(epochs=2.0), TypeError, "epochs must be an integer"),
    (dict(batch_size=2.5), TypeError, "batch_size must be an integer"),
    (dict(batch_size=0), ValueError, "batch_size must be an integer >= 1"),
])
def test_train_options_are_checked_by_name(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        train(_net(), X3, Y3, **kwargs)


def test_train_huge_batch_size_is_one_full_batch():
    h = train(_net(), X3, Y3, "sgd", 0.01, epochs=1, batch_size=2**62, seed=0)
    ref = train(_net(), X3, Y3, "sgd", 0.01, epochs=1, batch_size=3, seed=0)
    np.testing.assert_array_equal(h.mlp.get_flat(), ref.mlp.get_flat())


@pytest.mark.parametrize(("seed", "exc"), [
    ("abc", TypeError), (1.5, TypeError), (True, TypeError), (-3, ValueError), ([1], TypeError),
])
def test_lower_bound_seed_is_checked(seed, exc):
    with pytest.raises(exc, match="seed must"):
        lipschitz_lower_bound(WS, BS, 0.1, seed=seed)


@pytest.mark.parametrize(("call", "exc", "match"), [
    (lambda: lipschitz_lower_bound(WS, BS, 0.1, n_samples=10**400), ValueError, "n_samples"),
    (lambda: lipschitz_lower_bound(WS, BS, 0.1, n_samples=2**50), ValueError,
     "n_samples=.*memory available"),
    (lambda: lipschitz_lower_bound(WS, BS, 0.1, n_local=10**400), ValueError, "n_local"),
    (lambda: lipschitz_bound(WS, p=10**400), ValueError, "p must be 1, 2 or numpy.inf"),
    (lambda: lipschitz_bound(WS, p=True), TypeError, "p must be"),
    (lambda: lipschitz_bound(WS, negative_slope=10**400, method="naive"), ValueError,
     "negative_slope must be finite"),
    (lambda: lipschitz_bound(WS, method=None), TypeError, "method must be one of"),
    (lambda: lipschitz_bound(WS, method="naive", max_regions=2.0), TypeError, "max_regions"),
    (lambda: lipschitz_bound(WS, method="naive", solver=3), TypeError, "solver must be"),
    (lambda: certified_radius(WS, BS, [0.1, 0.2], 0.1, "naive", pairwise="yes"), TypeError,
     "pairwise must be True or False"),
    (lambda: log_norm(np.eye(2), p=True), TypeError, "p must be 1, 2 or inf"),
    (lambda: circle_criterion(A2, B2, C2, 1.0, 0.1, n_points=10**400), ValueError, "n_points"),
    (lambda: circle_criterion(A2, B2, C2, 1.0, 0.1, n_points=2**60), ValueError,
     "n_points=.*memory available"),
    (lambda: circle_criterion(A2, B2, C2, 10**400, 0.1), ValueError, "k must be"),
    (lambda: circle_criterion([[-(10**400)]], [1.0], [1.0], 1.0, 0.1), ValueError, "A must"),
    (lambda: contraction_rate(A2, B2, C2, 1.0, 0.1, max_iter=10**400), ValueError, "max_iter"),
    (lambda: deq_solve([[0.1]], [[1.0]], [0.0], np.zeros((0, 1)), 0.1), ValueError,
     "x must hold at least one sample"),
    (lambda: deq_certificate([[0.1]], kind=None), TypeError, "kind must be one of"),
    (lambda: deq_solve([[0.1]], [[1.0]], [0.0], [1.0], 0.1, certificate="x"), ValueError,
     "certificate must be one of"),
    (lambda: linear_pieces(init_mlp([1, 3, 1], rng=0), (-1e308, 1e308)), ValueError,
     "interval must have a finite width"),
    (lambda: linear_pieces(init_mlp([1, 3, 1], rng=0), (-1, 1), rtol=math.nan), ValueError,
     "rtol must be finite"),
    (lambda: _net().loss_and_grads(np.zeros((0, 2)), np.zeros((0, 1))), ValueError,
     "x must hold at least one sample"),
    (lambda: MLP([np.ones((2, 1))], [np.zeros(2)], prelu_slopes=None), TypeError,
     "prelu_slopes must be one of"),
    (lambda: MLP({"w": 1}, [np.zeros(2)]), TypeError, "weights must be a sequence"),
    (lambda: MLP([np.ones((2, 1)), np.ones((1, 2))], [np.zeros(2), np.zeros(1)], "prelu",
                 "abc"), TypeError, "negative_slope"),
    (lambda: control_availability("abc"), TypeError, "resp must be a simulated loop"),
    (lambda: ScaledLeaky([1.0], [0.0], [0.0], [2.0], 0.1), ValueError, "sign must hold"),
    (lambda: ScaledLeaky([1.0, 1.0], [0.0], [0.0], [1.0], 0.1), ValueError, "center must have"),
])
def test_named_errors_for_huge_empty_and_wrongly_typed_values(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


# ---------------------------------------------------------------- silent wrong results found


def test_exact_bound_with_tiny_weights_is_not_below_the_true_constant():
    # the kernel's m m^T underflowed at 1e-300 and "exact" certified a value 10x too small
    rng = np.random.default_rng(0)
    base = [rng.standard_normal((3, 2)), rng.standard_normal((1, 3))]
    bs = [np.zeros(3), np.zeros(1)]
    ref = lipschitz_bound(base, None, 0.1, "exact").value
    for scale in (1e-300, 1e-160, 1e150, 1e300):
        ws = [base[0] * scale, base[1]]
        exact = lipschitz_bound(ws, None, 0.1, "exact")
        low = lipschitz_lower_bound(ws, bs, 0.1, n_samples=64, seed=0, n_local=4)
        regions = lipschitz_bound(ws, bs, 0.1, "exact-regions")
        assert exact.certified and math.isfinite(exact.value)
        assert exact.value == pytest.approx(ref * scale, rel=1e-9)
        assert low.value <= exact.value and regions.value <= exact.value * (1 + 1e-12)
        naive = lipschitz_bound(ws, None, 0.1, "naive")
        assert exact.value <= naive.value


def test_exact_bound_with_a_huge_leak_does_not_overflow():
    ws = [np.array([[1.0, 0.5], [-0.3, 1.0]]), np.array([[1.0, -1.0]])]
    for a in (-1e200, 1e200, 5.0):
        exact = lipschitz_bound(ws, None, a, "exact")
        ref = abs(a) * lipschitz_bound(ws, None, 1.0 / a, "exact").value
        assert math.isfinite(exact.value)
        assert exact.value == pytest.approx(ref, rel=1e-9)
        assert exact.value <= lipschitz_bound(ws, None, a, "naive").value * (1 + 1e-12)


def test_naive_bound_never_nan_and_never_rounds_a_positive_bound_to_zero():
    big = [np.full((2, 2), 1e200), np.full((2, 2), 1e200), np.zeros((1, 2))]
    assert lipschitz_bound(big, None, 0.1, "naive").value == 0.0  # was inf * 0 = NaN
    tiny = [np.full((2, 2), 1e-200), np.full((1, 2), 1e-200)]
    value = lipschitz_bound(tiny, None, 0.1, "naive").value
    assert value > 0.0  # the true constant is 4e-400: below every float but not zero
    huge = [np.full((2, 2), 1e200), np.full((1, 2), 1e200)]
    assert lipschitz_bound(huge, None, 0.1, "naive").value == math.inf  # sound, not NaN


def test_lower_bound_of_a_constant_layer_is_zero_not_an_error():
    # a zero first layer with zero biases has pre-activations exactly 0: no point is "clear of
    # the kinks", which raised RuntimeError; the network is constant and its constant is 0
    ws = [np.zeros((3, 2)), np.ones((1, 3))]
    low = lipschitz_lower_bound(ws, None, 0.1, n_samples=16, seed=0)
    assert low.value == 0.0
    assert lipschitz_bound(ws, None, 0.1, "lipsdp" if _has_cvxpy() else "naive").value == 0.0


def _has_cvxpy():
    try:
        import cvxpy  # noqa: F401
    except ImportError:
        return False
    return True


def test_popov_with_an_integrator_on_the_grid_reports_instead_of_failing():
    # a = 0 puts the lower-sector loop's pole at s = 0 on the frequency grid (LinAlgError)
    res = popov_criterion([[0.0]], [1.0], [1.0], 1.0, 0.0)
    assert not res.holds and "not Hurwitz" in res.message
    assert np.isnan(res.popov_x[0])


def test_helper_short_repr_keeps_messages_short():
    with pytest.raises(ValueError) as info:
        checks.check_int("n", 10**400, low=1)
    assert len(str(info.value)) < 200


@pytest.mark.parametrize("p", [2, 1, math.inf])
def test_exact_kernel_norms_do_not_underflow_and_prune_the_best_pattern(p):
    # the kernel squared entries below 2**-511 to 0, pruned the best pattern and certified a
    # value 10x below the true constant 2**200 (found by the sampled lower bound)
    ws = [np.array([[2.0**700], [2.0**100]]), np.array([[0.0, 2.0**100]])]
    exact = lipschitz_bound(ws, None, 0.1, "exact", p=p).value
    low = lipschitz_lower_bound(ws, [np.zeros(2), np.zeros(1)], 0.1, n_samples=64, seed=0,
                                p=p).value
    assert low == pytest.approx(2.0**200)
    assert low <= exact <= 2.0**200 * (1 + 1e-9)


def test_layer_spanning_more_than_float_range_is_refused_where_layers_are_multiplied():
    # scaling 7e-251 next to 4e71 made it subnormal: "exact" certified 6.98e-251 < 7.38e-251
    ws = [np.array([[4.41711766e71], [7.37714837e-251]]), np.array([[0.0, 1.0]])]
    for method in ("exact", "exact-regions", "lipsdp"):
        with pytest.raises(ValueError, match=r"weights\[0\] has nonzero entries from 7.38e-251"):
            lipschitz_bound(ws, [np.zeros(2), np.zeros(1)], 0.0, method)
    naive = lipschitz_bound(ws, None, 0.0, "naive").value
    assert naive >= 4.41711766e71


def test_products_that_underflow_give_a_positive_bound_not_zero():
    # the true constant 2**-1200 is below every float: any positive value bounds it, 0 does not
    w = np.array([[1.0, 0.0], [0.0, 2.0**-600]])
    res = lipschitz_bound([w, w, np.array([[0.0, 1.0]])], None, 1.0, "naive")
    assert res.certified and res.value > 0.0


@pytest.mark.parametrize("track", [True, False])
def test_a_diverging_run_reports_instead_of_overflow_warnings(track):
    # Adam with lr 6e51 leaves finite but huge parameters; the statistics squared gradients
    # near 1e155 (RuntimeWarning: overflow) instead of recording them
    h = train(_net(), X3, Y3, "adam", 6.2e51, epochs=3, batch_size=2, seed=0, track=track)
    _train_ok(h)


def test_targets_whose_squared_error_overflows_are_refused():
    with pytest.raises(ValueError, match="initial loss is not finite.*y"):
        train(_net(), X3, [0.0, 0.0, 1e155], "adam", 0.01, epochs=2)
