"""Circle and Popov criteria and the describing function against independent oracles.

Oracles: python-control frequency responses on dense grids, disk geometry written out by hand,
Routh-Hurwitz limits of the linear loop (a necessary condition for absolute stability), and
``control.describing_function`` computed numerically (``try_method=False``).
"""

from __future__ import annotations

import math
import types

import control as ct
import matplotlib
import numpy as np
import pytest

from leaky_control.analysis.sector import (
    LeakyReLUNonlinearity,
    circle_criterion,
    popov_criterion,
)

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

THIRD = ct.ss(ct.tf([1], [1, 3, 3, 1]))  # 1/(s+1)^3; the linear loop is stable for 0 < k < 8


def _matrices(sys):
    return np.asarray(sys.A), np.asarray(sys.B), np.asarray(sys.C)


def _random_loop(seed):
    rng = np.random.default_rng(seed)
    while True:
        n = int(rng.integers(1, 5))
        A = rng.normal(size=(n, n)) + rng.uniform(-1.5, 1.0) * np.eye(n)
        B, C = rng.normal(size=(n, 1)), rng.normal(size=(1, n))
        k, a = float(rng.uniform(0.3, 6)), float(rng.choice([0.0, 0.1, 0.5, 0.9]))
        sigma = k * (1 + a) / 2
        if np.max(np.linalg.eigvals(A - sigma * B @ C).real) < -1e-3:
            return A, B, C, k, a


def _tf_response(A, B, C, w):
    """G(jw) from the transfer-function polynomials python-control computes (not our solve)."""
    tf = ct.tf(ct.ss(A, B, C, 0))
    num, den = np.asarray(tf.num[0][0], float), np.asarray(tf.den[0][0], float)
    return np.polyval(num, 1j * w) / np.polyval(den, 1j * w)


def _dense_peak(Ac, B, C):
    """max |G_c(jw)| on a very dense grid (independent of the Hamiltonian iteration)."""
    w = np.concatenate([[0.0], np.geomspace(1e-4, 1e4, 200_001)])
    return float(np.max(np.abs(_tf_response(Ac, B, C, w))))


@pytest.mark.parametrize("seed", range(15))
def test_circle_margin_matches_dense_sweep(seed):
    A, B, C, k, a = _random_loop(seed)
    res = circle_criterion(A, B, C, k, a)
    sigma, delta = k * (1 + a) / 2, k * (1 - a) / 2
    peak = _dense_peak(A - sigma * B @ C, B, C)
    # the margin uses a verified upper bound on the peak (within 2e-8 relative of it); a dense
    # grid can only under-estimate the peak, by ~1e-4 relative for these well-damped systems
    assert 1 - delta * peak >= res.margin
    assert res.margin == pytest.approx(1 - delta * peak, abs=1e-4 * (1 + delta * peak))
    if abs(res.margin) > 1e-3:
        assert res.holds == (res.margin > 0) == res.holds_sweep


@pytest.mark.parametrize("seed", range(6))
def test_circle_is_the_disk_condition(seed):
    A, B, C, k, a = _random_loop(seed)
    if a == 0.0:
        a = 0.3
    res = circle_criterion(A, B, C, k, a)
    g = res.response
    k1, k2 = res.sector
    assert (k1, k2) == (pytest.approx(a * k), pytest.approx(k))
    # the disk with diameter [-1/k1, -1/k2], written out independently
    c, r = -(1 / k1 + 1 / k2) / 2, (1 / k1 - 1 / k2) / 2
    assert (res.disk_center, res.disk_radius) == (pytest.approx(c), pytest.approx(r))
    outside = np.abs(g - c) > r
    sigma, delta = k * (1 + a) / 2, k * (1 - a) / 2
    small_gain = delta * np.abs(g / (1 + sigma * g)) < 1
    far = np.abs(np.abs(g - c) - r) > 1e-9  # pointwise equivalence, away from the circle itself
    np.testing.assert_array_equal(outside[far], small_gain[far])
    assert res.holds_sweep == bool(np.all(outside))


def test_exact_test_catches_a_resonance_the_sweep_misses():
    # zeta = 1e-4: |G| peaks at 1/(2 zeta) = 5000 on a band ~1e-4 rad/s wide around w = 1;
    # an 11-point grid (log steps of 10^(2/3) from 1e-3) never lands on it
    sys = ct.ss(ct.tf([1], [1, 2e-4, 1]))
    res = circle_criterion(sys, k=1e-3, negative_slope=0.5, n_points=11)
    assert res.centre_abscissa < 0
    assert not res.holds
    assert res.holds_sweep
    assert res.omega_peak == pytest.approx(1.0, abs=1e-3)
    assert "enters the critical disk" in res.message


def test_study_plant_circle_needs_a_leak():
    relu = circle_criterion(THIRD, k=5.0, negative_slope=0.0)
    leaky = circle_criterion(THIRD, k=5.0, negative_slope=0.5)
    assert not relu.holds and relu.margin < 0 and math.isinf(relu.disk_radius)
    assert leaky.holds and leaky.margin > 0
    # the LeakyP-shaped overload gives the same answer
    ctrl = types.SimpleNamespace(kp=5.0, negative_slope=0.5)
    assert circle_criterion(THIRD, ctrl).margin == pytest.approx(leaky.margin, rel=1e-12)
    A, B, C = _matrices(THIRD)
    assert circle_criterion(A, B, C, 5.0, 0.5).margin == pytest.approx(leaky.margin, rel=1e-12)


def test_integrator_plant_and_unstable_centre():
    # 1/(s(s+1)): Re G = -1/(1 + w^2) > -1, so the disk [-2, -1] of sector [0.5, 1] is avoided
    res = circle_criterion(ct.tf([1], [1, 1, 0]), k=1.0, negative_slope=0.5)
    assert res.holds
    bad = circle_criterion(THIRD, k=20.0, negative_slope=0.0)  # centre gain 10 > 8
    assert not bad.holds and bad.margin == -math.inf and "not Hurwitz" in bad.message


@pytest.mark.parametrize("seed", range(10))
def test_popov_with_q_zero_is_the_circle_criterion(seed):
    A, B, C, k, a = _random_loop(seed)
    circ = circle_criterion(A, B, C, k, a)
    if abs(circ.margin) < 1e-3:
        pytest.skip("too close to the boundary to compare verdicts")
    assert popov_criterion(A, B, C, k, a, q=0.0).holds == circ.holds
    if circ.holds:  # the searched multiplier can only do better
        assert popov_criterion(A, B, C, k, a).holds


@pytest.mark.parametrize(("k", "a", "expect"), [(7.5, 0.0, True), (7.5, 0.1, True),
                                                  (8.5, 0.0, False), (9.0, 0.5, False)])
def test_popov_against_routh_hurwitz(k, a, expect):
    # 1/(s+1)^3 closed with gain g is stable iff g < 8 (Routh): Popov cannot hold when a gain
    # in [a k, k] destabilises, and for this plant it proves every sector [0, k], k < 8
    res = popov_criterion(THIRD, k=k, negative_slope=a)
    assert res.holds == expect
    if expect:
        assert res.q > 0  # q = 0 is the circle criterion, which fails here
        assert not circle_criterion(THIRD, k=k, negative_slope=a).holds
        # independent dense check of the Popov inequality at the returned q
        A, B, C = _matrices(THIRD)
        A1 = A - a * k * B @ C
        w = np.geomspace(1e-4, 1e4, 200_001)
        g1 = _tf_response(A1, B, C, w)
        val = 1 + k * (1 - a) * (g1.real - res.q * w * g1.imag)
        assert val.min() > 0
        assert res.margin == pytest.approx(val.min(), abs=1e-3)


def test_popov_lower_gain_unstable_is_the_reason():
    sys = ct.ss(ct.tf([1], [1, -1]))  # unstable plant; a k = 0 leaves it open loop
    res = popov_criterion(sys, k=3.0, negative_slope=0.0)
    assert not res.holds and math.isnan(res.q) and "lower sector gain" in res.message


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (lambda: circle_criterion(np.eye(2), np.eye(2), np.eye(2), 1.0, 0.1), ValueError,
         "single-input"),
        (lambda: circle_criterion(THIRD, k=1.0, negative_slope=0.1, n_points=3), ValueError,
         "n_points"),
        (lambda: circle_criterion(THIRD, k=0.0, negative_slope=0.1), ValueError, "k must be"),
        (lambda: circle_criterion(ct.tf([1, 1], [1, 2]), k=1.0, negative_slope=0.1), ValueError,
         "strictly proper"),
        (lambda: popov_criterion(THIRD, k=1.0, negative_slope=0.1, q=-1.0), ValueError, "q must"),
        (lambda: popov_criterion(THIRD, k=1.0, negative_slope=-0.1), ValueError,
         "negative_slope"),
        (lambda: LeakyReLUNonlinearity(1.5), ValueError, "negative_slope"),
        (lambda: LeakyReLUNonlinearity(0.1, gain=0.0), ValueError, "gain"),
        (lambda: LeakyReLUNonlinearity(0.1).describing_function(-1.0), ValueError, "A must"),
    ],
)
def test_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


@pytest.mark.parametrize("a", [0.0, 0.01, 0.3, 1.0])
@pytest.mark.parametrize("gain", [1.0, 2.5])
def test_describing_function_matches_numerical(a, gain):
    N = LeakyReLUNonlinearity(a, gain=gain)
    amps = np.array([0.1, 1.0, 7.0])
    exact = ct.describing_function(N, amps)
    numeric = ct.describing_function(N, amps, num_points=1000, try_method=False)
    np.testing.assert_allclose(exact, gain * (1 + a) / 2, rtol=0, atol=0)
    # the rectangle rule is exact for trigonometric polynomials; the kinks at theta = 0, pi
    # lie on the even grid, so what is left is round-off
    np.testing.assert_allclose(numeric, exact, atol=1e-10)
    # the DC offset the describing function ignores: mean output over one period
    theta = np.linspace(0, 2 * np.pi, 4000, endpoint=False)
    for amp in amps:
        mean = np.mean([N(v) for v in amp * np.sin(theta)])
        # rectangle rule on |sin|, whose kinks are on the grid: error O((2 pi / 4000)^2)
        assert N.dc_offset(amp) == pytest.approx(mean, abs=1e-6 * gain * amp)


def test_describing_function_plot_and_result_plots():
    N = LeakyReLUNonlinearity(0.2)
    cplt = ct.describing_function_plot(THIRD * 5, N, [0.5, 1.0, 2.0])
    assert cplt is not None
    fig, axes = plt.subplots(1, 2)
    circle_criterion(THIRD, k=5.0, negative_slope=0.5).plot(ax=axes[0])
    popov_criterion(THIRD, k=5.0, negative_slope=0.0).plot(ax=axes[1])
    assert axes[0].get_title().endswith("holds")
    plt.close("all")
