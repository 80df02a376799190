"""Log-norms and contraction certificates against independent oracles.

Oracles: the limit definition of the matrix measure and Coppel's inequality (log-norms); the
exact circle criterion on shifted systems (the LMI rate, via the KYP lemma); trajectories
integrated by scipy's solve_ivp (certified rate is a lower bound on the real one).
"""

from __future__ import annotations

import math
import re
import types

import control as ct
import numpy as np
import pytest
import scipy.linalg
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.integrate import solve_ivp

from leaky_control.analysis.contraction import ContractionCertificate, contraction_rate, log_norm
from leaky_control.analysis.sector import circle_criterion

finite = st.floats(-5, 5, allow_nan=False, allow_infinity=False)
square = st.integers(1, 5).flatmap(lambda n: arrays(np.float64, (n, n), elements=finite))


def third_order():
    sys = ct.ss(ct.tf([1], [1, 3, 3, 1]))
    return np.asarray(sys.A), np.asarray(sys.B), np.asarray(sys.C)


# ---------------------------------------------------------------- log-norms


@settings(max_examples=40, deadline=None)
@given(A=square)
def test_log_norm_closed_forms(A):
    n = A.shape[0]
    col = max(A[j, j] + sum(abs(A[i, j]) for i in range(n) if i != j) for j in range(n))
    row = max(A[i, i] + sum(abs(A[i, j]) for j in range(n) if j != i) for i in range(n))
    sym = np.linalg.eigvalsh(0.5 * (A + A.T)).max()
    # closed forms are exact up to round-off of a handful of additions / one eigvalsh
    assert log_norm(A, 1) == pytest.approx(col, abs=1e-12)
    assert log_norm(A, np.inf) == pytest.approx(row, abs=1e-12)
    assert log_norm(A, "inf") == pytest.approx(row, abs=1e-12)
    assert log_norm(A, 2) == pytest.approx(sym, abs=1e-10)


@settings(max_examples=30, deadline=None)
@given(A=square, p=st.sampled_from([1, 2, np.inf]))
def test_log_norm_matches_limit_definition(A, p):
    # (||I + hA|| - 1)/h -> mu(A) with error O(h ||A||^2) (||A|| <= 25 here, so <= 2e-4);
    # round-off is ~1e-16/h = 1e-9
    h = 1e-7
    n = A.shape[0]
    est = (np.linalg.norm(np.eye(n) + h * A, p) - 1.0) / h
    assert log_norm(A, p) == pytest.approx(est, abs=5 * h * np.linalg.norm(A, 2) ** 2 + 1e-6)


@settings(max_examples=30, deadline=None)
@given(A=square, t=st.floats(0.01, 2.0), p=st.sampled_from([1, 2, np.inf]))
def test_coppel_inequality(A, t, p):
    # ||exp(A t)|| <= exp(mu(A) t): the reason the log-norm certifies contraction
    lhs = np.linalg.norm(scipy.linalg.expm(A * t), p)
    assert lhs <= math.exp(log_norm(A, p) * t) * (1 + 1e-9) + 1e-12


@settings(max_examples=30, deadline=None)
@given(
    A=arrays(np.float64, (3, 3), elements=finite),
    eta=arrays(np.float64, (3,), elements=st.floats(0.1, 10)),
    p=st.sampled_from([1, 2, np.inf]),
)
def test_weighted_log_norm_is_norm_of_similarity(A, eta, p):
    D = np.diag(eta)
    # the weighted norm ||D x||: its induced norm of (I + hA) is ||D (I + hA) D^-1||
    h = 1e-7
    est = (np.linalg.norm(D @ (np.eye(3) + h * A) @ np.linalg.inv(D), p) - 1.0) / h
    # O(h ||D A D^-1||^2) truncation of the limit (n <= 3 makes p-norms within 3x of ||.||_2)
    slack = 3 * h * np.linalg.norm(D @ A @ np.linalg.inv(D), 2) ** 2 + 1e-6
    assert log_norm(A, p, weights=eta) == pytest.approx(est, abs=slack)


@settings(max_examples=30, deadline=None)
@given(A=arrays(np.float64, (3, 3), elements=finite), G=arrays(np.float64, (3, 3), elements=finite))
def test_metric_log_norm_is_generalised_eigenvalue(A, G):
    P = G @ G.T + 0.5 * np.eye(3)
    # mu_P(A) = max lambda of (P A + A^T P) v = 2 lambda P v, an independent scipy.linalg.eigh
    ref = scipy.linalg.eigh(P @ A + A.T @ P, 2 * P, eigvals_only=True)[-1]
    assert log_norm(A, 2, weights=P) == pytest.approx(ref, abs=1e-8 * (1 + abs(ref)))


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        (dict(A=np.ones((2, 3))), ValueError, "square"),
        (dict(A=[[np.nan, 0], [0, 1]]), ValueError, "finite"),
        (dict(A=np.eye(2), p=3), ValueError, "p must be 1, 2 or inf"),
        (dict(A=np.eye(2), weights=[1.0, -1.0]), ValueError, "positive"),
        (dict(A=np.eye(2), weights=np.eye(2), p=1), ValueError, "only defined for p = 2"),
        (dict(A=np.eye(2), weights=-np.eye(2)), ValueError, "positive definite"),
        (dict(A="abc"), TypeError, "A must be an array"),
    ],
)
def test_log_norm_rejects_bad_input(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        log_norm(**kwargs)


# ---------------------------------------------------------------- input checks (no cvxpy)


@pytest.mark.parametrize(
    ("args", "kwargs", "exc", "match"),
    [
        ((np.ones((2, 3)), np.ones(2), np.ones(2), 1.0, 0.1), {}, ValueError, "A must be"),
        ((np.eye(2), np.ones(3), np.ones(2), 1.0, 0.1), {}, ValueError, "B must have shape"),
        ((np.eye(2), np.ones(2), np.ones(3), 1.0, 0.1), {}, ValueError, "C must have shape"),
        ((np.eye(2), np.ones(2), np.ones(2), math.nan, 0.1), {}, ValueError, "k must be finite"),
        ((np.eye(2), np.ones(2), np.ones(2), -1.0, 0.1), {}, ValueError, r"k must be in \(0"),
        ((np.eye(2), np.ones(2), np.ones(2), 1.0, 1.5), {}, ValueError, "negative_slope"),
        ((np.eye(2), np.ones(2), np.ones(2), 1.0, math.nan), {}, ValueError, "negative_slope"),
        ((np.eye(2), np.ones(2), np.ones(2), 1.0, None), {}, TypeError, "negative_slope"),
        ((np.eye(2), np.ones(2), np.ones(2), 1.0, 0.1), {"rate_tol": 0.0}, ValueError, "rate_tol"),
        ((np.eye(2), np.ones(2), np.ones(2), 1.0, 0.1), {"max_iter": 0}, ValueError, "max_iter"),
        ((ct.ss(-1, 1, 1, 1), types.SimpleNamespace(kp=1.0, negative_slope=0.1)), {},
         ValueError, "strictly proper"),
        ((ct.ss(-1, 1, 1, 0), object()), {}, TypeError, "controller must be"),
        ((ct.ss(-1, 1, 1, 0), types.SimpleNamespace(kp=1.0, ki=0.5, negative_slope=0.1)), {},
         TypeError, "ki=0.5"),
        ((ct.ss(-1, 1, 1, 0), types.SimpleNamespace(kp=1.0, negative_slope=0.1, u_max=2.0)), {},
         ValueError, "saturation"),
        ((ct.ss(-1, 1, 1, 0), types.SimpleNamespace(kp=1.0, negative_slope=0.1, dt=0.1)), {},
         ValueError, "continuous-time"),
        ((types.SimpleNamespace(A=-np.eye(1), B=np.ones((1, 1)), C=np.ones((1, 1)),
                                D=np.zeros((1, 1)), input_limits=(-1, 1)),
          types.SimpleNamespace(kp=1.0, negative_slope=0.1)), {}, ValueError, "input_limits"),
        ((ct.ss(-1, 1, 1, 0), types.SimpleNamespace(kp=1.0, negative_slope=0.1)), {"k": 2.0},
         TypeError, "come from the controller"),
    ],
)
def test_contraction_rate_rejects_bad_input(args, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        contraction_rate(*args, **kwargs)


def test_unstable_centre_is_the_reason_not_a_failed_lmi():
    A, B, C = third_order()
    # centre gain k(1+a)/2 = 10 > 8, the Routh-Hurwitz limit of 1/(s+1)^3: unstable centre
    cert = contraction_rate(A, B, C, 20.0, 0.0)
    assert cert.status == "unstable_centre"
    assert not cert.success
    assert cert.metric is None and math.isnan(cert.rate)
    assert not cert.check()
    assert "centre loop" in cert.message
    # independent: the linear loop at the centre gain has a right-half-plane pole
    assert np.max(np.linalg.eigvals(A - 10.0 * B @ C).real) > 0


def test_unstable_vertex_is_reported():
    A, B, C = third_order()
    # centre 6 < 8 is fine, vertex k = 10 is not
    cert = contraction_rate(A, B, C, 10.0, 0.2)
    assert cert.status == "unstable_vertex"
    assert cert.metric is None and not cert.check()


# ---------------------------------------------------------------- certificates (cvxpy)


@pytest.fixture(scope="module")
def cvx():
    return pytest.importorskip("cvxpy")


def _circle_rate(A, B, C, k, a, lo, hi, tol=1e-6):
    """sup{c : the circle criterion holds for A + c I}: bisection on the exact Hamiltonian test."""
    n = A.shape[0]
    lo -= 1e-3  # the M = I rate holds with equality; the circle test is strict
    if not circle_criterion(A + lo * np.eye(n), B, C, k, a, n_points=10).holds:
        return -math.inf
    while hi - lo > tol:
        mid = 0.5 * (lo + hi)
        if circle_criterion(A + mid * np.eye(n), B, C, k, a, n_points=10).holds:
            lo = mid
        else:
            hi = mid
    return lo


def _random_siso(rng, a, kind):
    """A random loop whose two vertex gains a k and k are both stabilising (rejection sampling).

    Such loops are the interesting ones: every vertex is Hurwitz, so only a common metric
    (equivalently the circle criterion) decides. ``"generic"``: random (A, B, C), open-loop
    unstable ones included; ``"lag"``: 1/prod(s + p_i) with k near its Hurwitz limit, where
    the circle criterion often fails.
    """
    while True:
        if kind == "generic":
            n = int(rng.integers(1, 5))
            A = rng.normal(size=(n, n)) + rng.uniform(-1.5, 1.5) * np.eye(n)
            B = rng.normal(size=(n, 1))
            C = rng.normal(size=(1, n))
            k = float(rng.uniform(0.3, 8.0))
        else:
            poles = rng.uniform(0.3, 3.0, size=int(rng.integers(3, 5)))
            sys = ct.ss(ct.tf([float(np.prod(poles))], np.poly(-poles)))
            A, B, C = (np.asarray(m) for m in (sys.A, sys.B, sys.C))
            k = float(rng.uniform(0.5, 8.0))
        if all(np.max(np.linalg.eigvals(A - g * B @ C).real) < -1e-3 for g in (a * k, k)):
            return A, B, C, k


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("kind", ["generic", "lag"])
@pytest.mark.parametrize("a", [0.0, 0.2, 0.7])
def test_lmi_rate_agrees_with_circle_criterion(cvx, seed, kind, a):
    rng = np.random.default_rng(1000 + seed)
    A, B, C, k = _random_siso(rng, a, kind)
    cert = contraction_rate(A, B, C, k, a)
    circ = circle_criterion(A, B, C, k, a)
    if cert.status in ("unstable_centre", "unstable_vertex"):
        assert not circ.holds
        return
    assert cert.check()
    # the exact circle rate on shifted systems: the KYP lemma makes it the optimum of the LMI
    c_star = _circle_rate(A, B, C, k, a, cert.lognorm_rates["2"], cert.rate_upper_bound)
    # soundness: a certified rate can never beat the true optimum (1e-6: bisection tolerance)
    assert cert.rate <= c_star + 2e-6
    # near-optimality: rate_tol 1e-4 plus solver slack; metric_cond limits very skewed metrics
    assert cert.rate >= c_star - 1e-3
    if abs(c_star) > 2e-3:  # away from the boundary the verdicts must agree
        assert (cert.rate > 0) == circ.holds == (c_star > 0)


def test_study_plant_relu_fails_leak_contracts(cvx):
    A, B, C = third_order()
    relu = contraction_rate(A, B, C, 5.0, 0.0)
    leaky = contraction_rate(A, B, C, 5.0, 0.5)
    assert relu.status == "not_contracting" and relu.rate < 0 and not relu.success
    assert relu.check()  # the negative rate is still a true growth bound
    assert leaky.success and leaky.rate > 0.02 and leaky.check()
    # why the metric matters: no unweighted log-norm sees contraction
    assert all(v < 0 for v in leaky.lognorm_rates.values())
    assert leaky.rate >= leaky.lognorm_rates["2"]


def test_check_rejects_an_inflated_rate(cvx):
    A, B, C = third_order()
    cert = contraction_rate(A, B, C, 5.0, 0.5)
    assert cert.check()
    fake = ContractionCertificate(**{**cert.__dict__, "rate": cert.rate_upper_bound + 0.01})
    assert not fake.check()
    bad_metric = ContractionCertificate(**{**cert.__dict__, "metric": -cert.metric})
    assert not bad_metric.check()


def test_linear_loop_rate_is_spectral_abscissa(cvx):
    # a = 1: one vertex; for a normal (symmetric) J the best rate is -max eig exactly
    rng = np.random.default_rng(3)
    S = rng.normal(size=(3, 3))
    A = -(S @ S.T) - 0.5 * np.eye(3)
    B = rng.normal(size=(3, 1))
    cert = contraction_rate(A, B, 0.0 * B.T, 1.0, 1.0)
    ref = -np.max(np.linalg.eigvalsh(A))
    assert cert.vertices.shape == (1, 3, 3)
    assert ref - 2e-4 <= cert.rate <= ref


def test_state_feedback_vertices_and_overloads(cvx):
    A = np.array([[0.0, 1.0], [-1.0, -0.5]])
    B = np.eye(2)
    K = np.array([[1.0, 0.2], [0.0, 1.5]])
    a = 0.3
    cert = contraction_rate(A, B, K, 1.0, a)
    assert cert.vertices.shape == (4, 2, 2)
    for J, s in zip(cert.vertices, cert.slopes, strict=True):
        np.testing.assert_allclose(J, A - B @ np.diag(s) @ K, atol=0)
    assert cert.success and cert.check()
    plant = types.SimpleNamespace(A=A, B=B, C=np.eye(2), D=np.zeros((2, 2)))
    sf = types.SimpleNamespace(K=K, negative_slope=a, kr=np.ones(2))
    cert2 = contraction_rate(plant, sf)
    assert cert2.rate == pytest.approx(cert.rate, abs=1e-6)

    As, Bs, Cs = third_order()
    p_plant = types.SimpleNamespace(A=As, B=Bs, C=Cs, D=np.zeros((1, 1)))
    ctrl = types.SimpleNamespace(kp=5.0, negative_slope=0.5)
    ref = contraction_rate(As, Bs, Cs, 5.0, 0.5)
    assert contraction_rate(p_plant, ctrl).rate == pytest.approx(ref.rate, abs=1e-6)
    tf = ct.tf([1], [1, 3, 3, 1])
    assert contraction_rate(tf, k=5.0, negative_slope=0.5).rate == pytest.approx(ref.rate, abs=1e-3)


def _simulate_pair(A, B, C, k, a, r, x1, x2, t_end):
    def rhs(_t, x):
        v = k * (r - C @ x)
        return A @ x + B @ np.where(v >= 0, v, a * v)

    ts = np.linspace(0.0, t_end, 201)
    kw = dict(t_eval=ts, rtol=1e-10, atol=1e-12, method="DOP853")
    s1 = solve_ivp(rhs, (0, t_end), x1, **kw)
    s2 = solve_ivp(rhs, (0, t_end), x2, **kw)
    assert s1.success and s2.success
    return ts, s1.y.T, s2.y.T


@pytest.mark.parametrize(
    "case",
    ["siso_leaky", "state_feedback"],
)
def test_trajectories_contract_at_least_at_certified_rate(cvx, case):
    rng = np.random.default_rng(7)
    if case == "siso_leaky":
        A, B, C = third_order()
        k, a, r = 5.0, 0.5, np.array([1.0])
    else:
        A = np.array([[0.0, 1.0, 0.0, 0.0], [0.0, -0.2, 1.0, 0.0],
                      [0.0, 0.0, -1.0, 1.0], [-0.5, 0.0, 0.0, -2.0]])
        B = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 0.0], [0.0, 1.0]])
        C = np.array([[2.0, 3.0, 1.0, 0.0], [0.0, 0.0, 0.0, 1.5]])
        k, a, r = 1.0, 0.4, np.array([0.5, -0.3])
    cert = contraction_rate(A, B, C, k, a)
    assert cert.success and cert.check()
    M, c = cert.metric, cert.rate
    both_signs = False
    for _ in range(3):
        x1, x2 = rng.normal(scale=3.0, size=(2, A.shape[0]))
        ts, y1, y2 = _simulate_pair(A, B, C, k, a, r, x1, x2, t_end=min(20.0, 4.0 / c))
        d = y1 - y2
        dist = np.sqrt(np.einsum("ti,ij,tj->t", d, M, d))
        # |d(t)|_M <= exp(-c t) |d(0)|_M; slack: integration error ~1e-9 absolute
        assert np.all(dist <= np.exp(-c * ts) * dist[0] * (1 + 1e-6) + 1e-8)
        e = r - y1 @ C.T
        both_signs |= bool(np.any(e > 0) and np.any(e < 0))
    # the runs crossed the kink (else only the linear part would have been tested)
    assert both_signs


def test_solver_failure_is_reported(cvx):
    A, B, C = third_order()
    cert = contraction_rate(A, B, C, 5.0, 0.5, solver="NO_SUCH_SOLVER")
    assert cert.status == "solver_failed" and not cert.success
    assert "NO_SUCH_SOLVER" in cert.message
    assert cert.check()  # what is returned (the M = I bound) is still true


def test_missing_cvxpy_names_the_extra(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "cvxpy", None)  # makes `import cvxpy` raise ImportError
    A, B, C = third_order()
    with pytest.raises(ImportError, match=r"leaky-control\[analysis\]"):
        contraction_rate(A, B, C, 5.0, 0.5)
    # loops rejected before any SDP do not need cvxpy at all
    assert contraction_rate(A, B, C, 20.0, 0.0).status == "unstable_centre"


def _public_callables():
    import inspect

    from leaky_control.analysis import contraction, deq, sector

    for mod in (contraction, sector, deq):
        for name in mod.__all__:
            obj = getattr(mod, name)
            if inspect.isclass(obj):
                for meth_name, meth in vars(obj).items():
                    if callable(meth) and not meth_name.startswith("_") or meth_name == "__init__":
                        yield f"{mod.__name__}.{name}.{meth_name}", meth, obj
            else:
                yield f"{mod.__name__}.{name}", obj, None


@pytest.mark.parametrize(("qualname", "func", "owner"), list(_public_callables()),
                         ids=lambda v: v if isinstance(v, str) else "")
def test_docstrings_document_every_parameter(qualname, func, owner):
    import inspect

    doc = inspect.getdoc(owner if qualname.endswith("__init__") else func) or ""
    assert doc, f"{qualname} has no docstring"
    for pname, param in inspect.signature(func).parameters.items():
        if pname == "self" or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        # a numpydoc entry "name : type" (or "a, name : type" for grouped parameters)
        pattern = rf"^\s*(?:\w+, )*{pname}(?:, \w+)* :"
        assert re.search(pattern, doc, re.M), f"{qualname}: parameter {pname!r} not documented"


def test_study_script_runs_headless(cvx, tmp_path):
    import csv
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "simulations" / "stability_vs_slope.py"
    spec = importlib.util.spec_from_file_location("stability_vs_slope", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    rows = mod.main(["--out", str(tmp_path), "--quick"])  # 3 leaks, horizon 1.5 / c
    for name in ("rate_vs_slope.png", "circle_nyquist.png", "phase_portraits.png",
                 "trajectories.png"):
        assert (tmp_path / name).stat().st_size > 20_000
    assert [r["certified"] for r in rows] == [False, True, True]  # a = 0, 0.5, 1
    with open(tmp_path / "rate_vs_slope.csv") as fh:
        table = list(csv.DictReader(fh))
    assert list(table[0]) == ["negative_slope [-]", "rate [1/s]", "status [-]", "certified [-]",
                              "rate_upper_bound [1/s]", "lognorm2_rate [1/s]",
                              "circle_holds [-]", "circle_margin [-]", "popov_holds [-]",
                              "popov_q [s]"]
    assert [t["negative_slope [-]"] for t in table] == ["0", "0.5", "1"]
    assert [t["certified [-]"] for t in table] == ["false", "true", "true"]
    # six significant digits, no float noise
    assert all(len(t["rate [1/s]"].lstrip("-").replace(".", "").lstrip("0")) <= 6
               for t in table)
    with open(tmp_path / "trajectories.csv") as fh:
        data = list(csv.DictReader(fh))
    # simulated distance never exceeds the certified bound (relative slack: integration error
    # and the six digits of the table)
    assert all(float(d["dist_M [-]"]) <= float(d["bound [-]"]) * (1 + 2e-6) for d in data)
