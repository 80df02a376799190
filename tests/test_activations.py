"""Activations: properties by hypothesis, derivatives by finite differences."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import leaky_control as lc

reals = st.floats(-1e3, 1e3, allow_nan=False)
slopes = st.floats(-2.0, 2.0, allow_nan=False)
pos_slopes = st.floats(1e-3, 1.0)


@settings(max_examples=200, deadline=None)
@given(x=reals, y=reals, a=slopes)
def test_lipschitz_constant_is_max_one_abs_a(x, y, a):
    # |phi(x) - phi(y)| <= max(1, |a|) |x - y|, with rounding slack of a few ulps
    lhs = abs(lc.leaky_relu(x, a) - lc.leaky_relu(y, a))
    assert lhs <= max(1.0, abs(a)) * abs(x - y) * (1 + 1e-12) + 1e-9


def test_lipschitz_constant_is_attained():
    for a in (-2.0, 0.0, 0.3, 1.5):
        q = (lc.leaky_relu(-1.0, a) - lc.leaky_relu(-2.0, a)) / 1.0
        p = (lc.leaky_relu(2.0, a) - lc.leaky_relu(1.0, a)) / 1.0
        assert max(abs(q), abs(p)) == pytest.approx(max(1.0, abs(a)))


@settings(max_examples=200, deadline=None)
@given(x=reals, c=st.floats(0.0, 100.0), a=slopes)
def test_positive_homogeneity(x, c, a):
    assert lc.leaky_relu(c * x, a) == pytest.approx(c * lc.leaky_relu(x, a), rel=1e-12, abs=1e-9)


@settings(max_examples=200, deadline=None)
@given(x=reals, a=pos_slopes)
def test_inverse_round_trip(x, a):
    assert lc.leaky_relu_inverse(lc.leaky_relu(x, a), a) == pytest.approx(x, rel=1e-12, abs=1e-12)


@settings(max_examples=100, deadline=None)
@given(x=st.lists(st.floats(-5, 5).filter(lambda v: abs(v) > 1e-3), min_size=1, max_size=6),
       a=pos_slopes)
def test_logabsdet_matches_numerical_jacobian(x, a):
    x = np.array(x)
    h = 1e-6
    J = np.empty((x.size, x.size))
    for j in range(x.size):
        e = np.zeros_like(x)
        e[j] = h
        J[:, j] = (lc.leaky_relu(x + e, a) - lc.leaky_relu(x - e, a)) / (2 * h)
    sign, logdet = np.linalg.slogdet(J)
    assert sign > 0
    assert lc.leaky_relu_logabsdet(x, a) == pytest.approx(logdet, abs=1e-6)


def test_residual_form_and_derivative_convention():
    x = np.linspace(-3, 3, 13)
    a = 0.2
    # the definition exactly (x where x >= 0, a x elsewhere: one rounding at most) ...
    assert np.array_equal(lc.leaky_relu(x, a), np.where(x >= 0, x, a * x))
    # ... which is the residual form x + (a - 1) min(0, x) up to that form's own rounding
    np.testing.assert_allclose(lc.leaky_relu(x, a), x + (a - 1) * np.minimum(0, x), rtol=0,
                               atol=4 * np.finfo(float).eps * np.max(np.abs(x)))
    # a small slope loses no digits: the value is a x to the last bit
    assert lc.leaky_relu(-4.75, 1e-3) == 1e-3 * -4.75
    # PyTorch: relu'(0) = 0, leaky'(0) = a
    assert lc.leaky_relu_grad(0.0, 0.0) == 0.0
    assert lc.leaky_relu_grad(0.0, a) == a
    assert lc.relu(-1.0) == 0.0 and lc.relu(2.0) == 2.0


def test_prelu_backward_against_finite_differences():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(7, 3))
    w = np.array([0.1, 0.25, -0.3])
    g = rng.normal(size=(7, 3))
    gx, gw = lc.prelu_backward(x, w, g)
    h = 1e-6
    loss = lambda xx, ww: np.sum(g * lc.prelu(xx, ww))  # noqa: E731
    num_gw = np.array([(loss(x, w + h * np.eye(3)[k]) - loss(x, w - h * np.eye(3)[k])) / (2 * h)
                       for k in range(3)])
    assert np.allclose(gw, num_gw, atol=1e-7)
    num_gx = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[idx] = h
        num_gx[idx] = (loss(x + e, w) - loss(x - e, w)) / (2 * h)
    assert np.allclose(gx, num_gx, atol=1e-7)
    # scalar slope: gradient is a float summed over everything; no gradient from x = 0
    _, gws = lc.prelu_backward(np.array([0.0, 0.0]), 0.3, np.array([1.0, 1.0]))
    assert gws == 0.0


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: lc.leaky_relu([1.0], float("nan")), "negative_slope must be finite"),
        (lambda: lc.leaky_relu_inverse([1.0], 0.0), r"negative_slope must be in \(0"),
        (lambda: lc.leaky_relu_logabsdet([1.0], 0.0), "nonzero"),
        (lambda: lc.leaky_relu([np.nan]), "NaN"),
        (lambda: lc.prelu(np.ones((2, 3)), [0.1, 0.2]), "channels"),
    ],
)
def test_bad_input(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()
