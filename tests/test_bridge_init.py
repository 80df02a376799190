"""Kaiming init: the formula, sample statistics with standard-error tolerances, torch's defaults."""

import math

import numpy as np
import pytest

from leaky_control.bridge.init import init_mlp, kaiming_normal, kaiming_std


@pytest.mark.parametrize(("fan", "a"), [(1, 0.0), (64, 0.01), (100, 0.2), (7, 1.0)])
def test_kaiming_std_formula(fan, a):
    assert kaiming_std(fan, a) == pytest.approx(math.sqrt(2.0 / ((1 + a * a) * fan)), rel=1e-15)


@pytest.mark.parametrize("mode", ["fan_in", "fan_out"])
def test_kaiming_normal_sample_variance(mode):
    shape = (300, 200)
    w = kaiming_normal(shape, 0.3, mode, rng=11)
    fan = 200 if mode == "fan_in" else 300
    var = kaiming_std(fan, 0.3) ** 2
    # sample variance of n Gaussians has standard error var * sqrt(2 / n); allow 5 of them
    assert abs(np.mean(w**2) - var) < 5 * var * math.sqrt(2.0 / w.size)
    assert abs(np.mean(w)) < 5 * math.sqrt(var / w.size)


def test_against_torch_kaiming_and_linear_default():
    torch = pytest.importorskip(
        "torch",
        reason="torch is not installed; the same check runs against jax in "
        "tests/test_autodiff_jax.py (test_kaiming_normal_against_jax_variance_scaling, "
        "test_he_normal_is_the_relu_gain, test_uniform_inits_against_jax_variance_scaling)",
    )
    torch.manual_seed(0)
    w = torch.empty(400, 300, dtype=torch.float64)
    torch.nn.init.kaiming_normal_(w, a=0.2, mode="fan_in", nonlinearity="leaky_relu")
    var = kaiming_std(300, 0.2) ** 2
    assert abs(w.pow(2).mean().item() - var) < 5 * var * math.sqrt(2.0 / w.numel())
    # the pitfall: kaiming_normal_'s default a=0 is the ReLU gain although its default
    # nonlinearity is "leaky_relu" (and calculate_gain("leaky_relu") alone assumes 0.01)
    w0 = torch.empty(400, 300, dtype=torch.float64)
    torch.nn.init.kaiming_normal_(w0)
    relu_var = kaiming_std(300, 0.0) ** 2
    assert abs(w0.pow(2).mean().item() - relu_var) < 5 * relu_var * math.sqrt(2.0 / w0.numel())
    assert torch.nn.init.calculate_gain("leaky_relu") == pytest.approx(math.sqrt(2 / (1 + 1e-4)))
    # nn.Linear's default weight variance is 1/(3 fan_in), not Kaiming's 2/fan_in
    lin = torch.nn.Linear(300, 400).double()
    emp = lin.weight.detach().pow(2).mean().item()
    want = 1.0 / (3 * 300)
    # uniform on [-c, c]: Var(w^2) = c^4/5 - c^4/9 = 4 c^4 / 45
    c = 1.0 / math.sqrt(300)
    assert abs(emp - want) < 5 * math.sqrt(4 * c**4 / 45 / lin.weight.numel())
    ours = init_mlp([300, 400, 1], "relu", init="torch_default", rng=1).weights[0]
    assert abs(np.mean(ours**2) - want) < 5 * math.sqrt(4 * c**4 / 45 / ours.size)


def test_init_options():
    net = init_mlp([5, 4, 3], "leaky", 0.1, init="orthogonal", rng=0, bias=-1.0)
    w = net.weights[0]
    np.testing.assert_allclose(w @ w.T, (2 / 1.01) * np.eye(4), atol=1e-12)
    assert np.all(net.biases[0] == -1.0)
    bound = math.sqrt(3) * kaiming_std(5, 0.1)
    wu = init_mlp([5, 4000, 1], "leaky", 0.1, init="kaiming_uniform", rng=0).weights[0]
    assert wu.max() <= bound
    assert wu.max() > 0.99 * bound


def test_bad_input():
    with pytest.raises(ValueError, match="fan must be a positive integer"):
        kaiming_std(0, 0.0)
    with pytest.raises(ValueError, match="mode must be"):
        kaiming_normal((2, 2), 0.0, mode="avg")
    with pytest.raises(ValueError, match="negative_slope must be finite"):
        kaiming_std(3, float("nan"))
    with pytest.raises(TypeError, match="rng must be"):
        kaiming_normal((2, 2), 0.0, rng="seed")
    with pytest.raises(ValueError, match="sizes must hold"):
        init_mlp([3])
