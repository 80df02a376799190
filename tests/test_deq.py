"""Implicit leaky layers: fixed points against scipy.optimize.root and an exact linear solve.

Second oracle: the layer is piecewise linear. Given the sign pattern of ``v = W z + u`` at the
solution, ``z = D (W z + u)`` with ``D = diag(1 or a)``, a linear system ``(I - D W) z = D u``;
its solution is a fixed point iff it reproduces the sign pattern.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import root

from leaky_control.analysis.contraction import log_norm
from leaky_control.analysis.deq import deq_certificate, deq_solve


def _layer(W, U, b, x, a):
    def f(z):
        v = W @ z + U @ x + b
        return z - np.where(v >= 0, v, a * v)

    return f


def _piecewise_linear_check(W, U, b, x, a, z):
    u = U @ x + b
    d = np.where(W @ z + u >= 0, 1.0, a)
    z_lin = np.linalg.solve(np.eye(len(z)) - d[:, None] * W, d * u)
    v = W @ z_lin + u
    consistent = np.all((v >= -1e-9) | (d == a)) and np.all((v <= 1e-9) | (d == 1.0))
    return z_lin, consistent


def _weights(kind, rng, n):
    if kind == "norm2":
        return 0.9 * rng.normal(size=(n, n)) / (1.2 * np.sqrt(n) + 2.5)
    if kind == "mu_inf":
        # strongly negative diagonal: ||W||_2 > 1 but mu_inf < 1
        return -3.0 * np.eye(n) + 0.3 * rng.uniform(-1, 1, size=(n, n))
    S = rng.normal(size=(n, n))
    # skew part + 0.5 I: mu_2 = 0.5 < 1, but ||W||_2 and mu_inf are large
    return 2.0 * (S - S.T) + 0.5 * np.eye(n)


@pytest.mark.parametrize("kind", ["norm2", "mu_inf", "monotone"])
@pytest.mark.parametrize("method", ["picard", "anderson"])
@pytest.mark.parametrize("a", [0.0, 0.1, 0.8])
def test_fixed_point_matches_root_and_linear_oracle(kind, method, a):
    rng = np.random.default_rng(hash((kind, a)) % 2**32)
    n, p = 6, 3
    W = _weights(kind, rng, n)
    U, b, x = rng.normal(size=(n, p)), rng.normal(size=n), rng.normal(size=p)
    res = deq_solve(W, U, b, x, a, tol=1e-10, method=method)
    assert res.status == "converged" and res.success
    assert res.certificate.kind == kind
    assert res.error_bound <= 1e-10
    if method == "picard":
        assert res.n_iter <= res.iteration_bound  # the Banach estimate is an upper bound
    sol = root(_layer(W, U, b, x, a), np.zeros(n), method="hybr", tol=1e-14)
    # root may stop on a kink; accept its point only if it really is a fixed point
    if np.max(np.abs(_layer(W, U, b, x, a)(sol.x))) < 1e-10:
        # error bound 1e-10 in the certificate norm (2- or inf-norm: within sqrt(n) of max)
        np.testing.assert_allclose(res.z, sol.x, atol=1e-9)
    z_lin, consistent = _piecewise_linear_check(W, U, b, x, a, res.z)
    assert consistent
    np.testing.assert_allclose(res.z, z_lin, atol=1e-9)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), a=st.floats(0.0, 1.0), n=st.integers(1, 8))
def test_certified_bound_holds_and_fixed_point_is_unique(seed, a, n):
    rng = np.random.default_rng(seed)
    W = _weights(["norm2", "mu_inf", "monotone"][seed % 3], rng, n)
    U, b = rng.normal(size=(n, 2)), rng.normal(size=n)
    X = rng.normal(size=(4, 2))
    res = deq_solve(W, U, b, X, a, tol=1e-9)
    assert res.status == "converged" and res.z.shape == (4, n)
    ord_ = np.inf if res.certificate.norm == "inf" else 2
    for i, x in enumerate(X):
        z_lin, consistent = _piecewise_linear_check(W, U, b, x, a, res.z[i])
        assert consistent
        # the certified error bound, measured against the exact fixed point
        assert np.linalg.norm(res.z[i] - z_lin, ord_) <= res.error_bound + 1e-12
        # uniqueness: another start reaches the same point
        z2 = deq_solve(W, U, b, x, a, tol=1e-9, z0=rng.normal(scale=10, size=n)).z
        np.testing.assert_allclose(z2, res.z[i], atol=3e-9)


def test_certificate_values_are_the_closed_forms():
    rng = np.random.default_rng(0)
    W = _weights("mu_inf", rng, 5)
    cert = deq_certificate(W)
    assert cert.kind == "mu_inf" and cert.norm == "inf"
    assert cert.value == pytest.approx(log_norm(W, np.inf))
    assert cert.step == pytest.approx(1 / (1 - W.diagonal().min()))
    assert np.linalg.norm(W, 2) > 1  # Banach in the 2-norm would not apply
    W2 = _weights("monotone", rng, 5)
    c2 = deq_certificate(W2)
    assert c2.kind == "monotone" and c2.value == pytest.approx(0.5)
    assert deq_certificate(W2, "norm2") is None
    Ws = 0.1 * np.eye(3)
    assert deq_certificate(Ws).kind == "norm2"
    assert deq_certificate(Ws).iteration_bound(1.0, 1e-8) == math.ceil(
        math.log(1e-8 * 0.9) / math.log(0.1)
    )


def test_no_certificate_is_reported_and_iteration_is_bounded():
    rng = np.random.default_rng(5)
    W = 2.0 * rng.normal(size=(6, 6))
    assert deq_certificate(W) is None
    res = deq_solve(W, rng.normal(size=(6, 2)), rng.normal(size=6), rng.normal(size=2), 0.1,
                    max_iter=200)
    assert res.certificate is None and math.isnan(res.error_bound)
    assert res.status in ("max_iter", "diverged", "converged_uncertified")
    assert res.n_iter <= 200
    assert "no certificate applies" in res.message


def test_max_iter_status_when_budget_is_too_small():
    rng = np.random.default_rng(2)
    W = _weights("monotone", rng, 6)
    res = deq_solve(W, rng.normal(size=(6, 2)), rng.normal(size=6), rng.normal(size=2), 0.2,
                    max_iter=5)
    assert res.status == "max_iter" and not res.success and res.n_iter == 5
    assert str(res.iteration_bound) in res.message


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        (dict(W=np.ones((2, 3))), ValueError, "W must"),
        (dict(U=np.ones((3, 2))), ValueError, "U must"),
        (dict(b=np.ones(3)), ValueError, "b must"),
        (dict(x=np.ones(3)), ValueError, "x must"),
        (dict(x=[np.nan, 0.0]), ValueError, "x must be finite"),
        (dict(negative_slope=1.5), ValueError, "negative_slope"),
        (dict(tol=0.0), ValueError, "tol"),
        (dict(method="newton"), ValueError, "method"),
        (dict(max_iter=0), ValueError, "max_iter"),
        (dict(certificate="lipschitz"), ValueError, "certificate"),
        (dict(z0=np.ones(3)), ValueError, "z0"),
    ],
)
def test_bad_input(kwargs, exc, match):
    base = dict(W=0.1 * np.eye(2), U=np.ones((2, 2)), b=np.zeros(2), x=np.ones(2),
                negative_slope=0.1)
    base.update(kwargs)
    with pytest.raises(exc, match=match):
        deq_solve(**base)
