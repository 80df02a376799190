"""Gradient statistics and signal propagation by Monte Carlo (fixed seeds; every tolerance is
5 standard errors of the estimate, computed from the samples themselves)."""

import numpy as np
import pytest

from leaky_control.activations import leaky_relu_grad
from leaky_control.bridge.init import init_mlp, kaiming_std
from leaky_control.bridge.stats import (
    gradient_statistics,
    input_output_jacobian,
    is_dead_at,
    jacobian_spectrum,
    measure_second_moments,
    propagate_second_moments,
    relu_dead_probability,
    second_moment_factor,
)


@pytest.mark.parametrize("a", [0.0, 0.01, 0.2, 0.5])
def test_gradient_statistics_monte_carlo(a):
    n = 200_000
    z = np.random.default_rng(1).normal(size=n)
    g = leaky_relu_grad(z, a)
    s = gradient_statistics(a)
    p0 = np.mean(g == 0)
    assert abs(p0 - s["p_zero"]) <= 5 * np.sqrt(max(p0 * (1 - p0), 1e-12) / n)
    assert abs(g.mean() - s["mean"]) <= 5 * g.std() / np.sqrt(n) + 1e-15
    assert abs(np.mean(g**2) - s["second_moment"]) <= 5 * np.std(g**2) / np.sqrt(n) + 1e-15
    c = g - g.mean()
    se_var = np.sqrt(max(np.mean(c**4) - np.mean(c**2) ** 2, 0.0) / n)
    assert abs(g.var() - s["var"]) <= 5 * se_var + 1e-15
    assert s["var"] == pytest.approx(s["second_moment"] - s["mean"] ** 2)


def test_second_moment_factor_kaiming_is_one():
    for fan, a in [(10, 0.0), (64, 0.01), (3, 0.7)]:
        assert second_moment_factor(kaiming_std(fan, a), fan, a) == pytest.approx(1.0)


def test_second_moment_propagation_forward_fan_in_backward_fan_out():
    """Widths change, so fan_in and fan_out differ; the recursions are exact in expectation."""
    sizes, a, n_nets = [20, 30, 50, 40, 10], 0.2, 600
    rng = np.random.default_rng(0)
    fwd, bwd = [], []
    for _ in range(n_nets):
        net = init_mlp(sizes, "leaky", a, rng=rng)
        f, b = measure_second_moments(net, rng.normal(size=(1, 20)), rng.normal(size=(1, 10)))
        fwd.append(f)
        bwd.append(b)
    fwd, bwd = np.array(fwd), np.array(bwd)
    stds = [kaiming_std(n, a) for n in sizes[:-1]]
    pf, pb = propagate_second_moments(sizes, stds, a, input_ms=1.0)
    se_f = fwd.std(axis=0) / np.sqrt(n_nets)
    se_b = bwd.std(axis=0) / np.sqrt(n_nets)
    assert np.all(np.abs(fwd.mean(axis=0) - pf) <= 5 * se_f)
    assert np.all(np.abs(bwd.mean(axis=0) - pb) <= 5 * se_b)
    # fan_in init preserves the forward pass only: the backward moments vary with the widths
    assert np.allclose(pf, pf[0])
    assert np.ptp(pb) > 10 * se_b.max()
    # and the backward recursion needs E[G^2] = (1+a^2)/2; E[G]^2 would be rejected
    wrong = pb[0] * ((1 + a) / 2) ** 2 / ((1 + a * a) / 2)
    assert abs(bwd.mean(axis=0)[0] - wrong) > 5 * se_b[0]


def test_input_output_jacobian_vs_finite_differences():
    rng = np.random.default_rng(2)
    net = init_mlp([4, 7, 6, 3], "leaky", 0.1, rng=rng)
    x = rng.normal(size=4)
    jac = input_output_jacobian(net, x)
    h = 1e-6
    fd = np.column_stack(
        [
            (net.forward((x + h * e)[None]) - net.forward((x - h * e)[None]))[0] / (2 * h)
            for e in np.eye(4)
        ]
    )
    np.testing.assert_allclose(jac, fd, rtol=1e-6, atol=1e-8)


def test_claim_kaiming_dynamical_isometry_only_in_mean():
    """Seed claim: Kaiming init gives "dynamical isometry". What holds: E[mean s^2] = 1 (second
    moments preserved) at every depth; what fails: the spectrum is not concentrated at 1 and
    spreads with depth (for ReLU about half the singular values are ~0 already at depth 2)."""
    frac = {}
    for a in (0.0, 0.01):
        for depth in (2, 16):
            s2 = jacobian_spectrum(32, depth, a, n_nets=100, rng=0)
            per_net = s2.mean(axis=1)
            assert abs(per_net.mean() - 1.0) <= 5 * per_net.std() / np.sqrt(per_net.size)
            frac[a, depth] = np.mean((s2 > 0.5) & (s2 < 2.0))
            assert np.mean(s2 < 1e-3) > 0.4  # far from isometric
        assert frac[a, 2] < 0.25
        assert frac[a, 16] < frac[a, 2] / 2
    # contrast: a = 1 (linear) with orthogonal weights is exactly isometric
    s2 = jacobian_spectrum(16, 8, 1.0, n_nets=3, init="orthogonal", rng=0)
    np.testing.assert_allclose(s2, 1.0, rtol=1e-10)


def test_relu_dead_probability_monte_carlo():
    width, depth, n = 3, 8, 2000
    p = relu_dead_probability(width, depth)
    assert p == pytest.approx(1 - (1 - 2.0**-width) ** depth)
    x = np.ones((1, 4))
    rng = np.random.default_rng(5)
    dead = np.array(
        [is_dead_at(init_mlp([4] + [width] * depth + [1], "relu", rng=rng), x)[0] for _ in range(n)]
    )
    assert abs(dead.mean() - p) <= 5 * np.sqrt(p * (1 - p) / n)
    leaky = init_mlp([4] + [width] * depth + [1], "leaky", 0.01, rng=0)
    assert not is_dead_at(leaky, rng.normal(size=(50, 4))).any()
    assert relu_dead_probability(3, 200) > 0.99  # -> 1 with depth at fixed width


def test_bad_input():
    with pytest.raises(ValueError, match="fan must be a positive integer"):
        second_moment_factor(1.0, 0, 0.0)
    with pytest.raises(ValueError, match="weight_std must be >= 0"):
        propagate_second_moments([2, 3, 1], -1.0, 0.0)
    with pytest.raises(ValueError, match="width must be a positive integer"):
        relu_dead_probability(0, 3)
    with pytest.raises(TypeError, match="mlp must be an MLP"):
        is_dead_at(None, np.zeros((1, 2)))
    with pytest.raises(ValueError, match="init must be"):
        jacobian_spectrum(4, 2, 0.1, init="xavier")
