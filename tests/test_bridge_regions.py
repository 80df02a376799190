"""count_linear_regions vs a dense-grid count on small networks, and the seed claim about the
maximal number of linear regions of ReLU and leaky networks."""

import numpy as np
import pytest

from leaky_control.bridge.init import init_mlp
from leaky_control.bridge.mlp import MLP
from leaky_control.bridge.regions import count_linear_regions, linear_pieces


def _grid_count(net, lo, hi, n=400_001):
    """Regions = 1 + slope changes between grid cells; a kink inside a cell changes the slope
    twice in a row, so flagged neighbours are merged into one kink."""
    x = np.linspace(lo, hi, n)
    y = net.forward(x[:, None])
    slope = np.diff(y, axis=0) / (x[1] - x[0])
    scale = max(1.0, np.abs(slope).max())
    flags = np.flatnonzero(np.abs(np.diff(slope, axis=0)).max(axis=1) > 1e-6 * scale)
    if flags.size == 0:
        return 1
    return 1 + 1 + int(np.sum(np.diff(flags) > 1))


@pytest.mark.parametrize(("activation", "slope"), [("relu", None), ("leaky", 0.1), ("leaky", 0.3)])
@pytest.mark.parametrize("seed", range(4))
def test_exact_count_matches_dense_grid(activation, slope, seed):
    net = init_mlp([1, 4, 4, 1], activation, slope, rng=seed)
    rng = np.random.default_rng(seed)
    ws, bs = net.weights, [rng.normal(size=b.size) for b in net.biases]
    net = MLP(ws, bs, activation, slope)
    assert count_linear_regions(net, (-3.0, 3.0)) == _grid_count(net, -3.0, 3.0)


def test_pieces_reproduce_the_function():
    net = init_mlp([1, 5, 3, 2], "leaky", 0.2, rng=7, bias=0.3)
    bps, slopes, icpts = linear_pieces(net, (-2.0, 2.0))
    x = np.linspace(-2, 2, 1001)
    k = np.clip(np.searchsorted(bps, x, side="right") - 1, 0, len(slopes) - 1)
    np.testing.assert_allclose(
        slopes[k] * x[:, None] + icpts[k], net.forward(x[:, None]), atol=1e-12
    )


def test_one_hidden_layer_both_reach_n_plus_one():
    rng = np.random.default_rng(0)
    n = 6
    kinks = np.linspace(-2.5, 2.5, n)
    w1 = rng.choice([-1.0, 1.0], size=(n, 1)) * rng.uniform(0.5, 2, size=(n, 1))
    b1 = -w1[:, 0] * kinks
    w2 = rng.uniform(0.5, 2, size=(1, n))
    for act, a in (("relu", None), ("leaky", 0.01)):
        assert count_linear_regions(MLP([w1, w2], [b1, np.zeros(1)], act, a), (-3, 3)) == n + 1


def _width_one(depth, activation, a):
    # x -> phi(x) -> phi(h - 1) -> phi(h - 1) ...: each leaky layer adds one kink further right
    ws = [np.ones((1, 1))] * (depth + 1)
    bs = [np.zeros(1)] + [np.array([-1.0])] * (depth - 1) + [np.zeros(1)]
    return MLP(ws, bs, activation, a)


def test_claim_same_maximal_regions_fails_for_narrow_deep_nets():
    """Seed claim: ReLU and leaky networks have the same maximal number of linear regions beyond
    one hidden layer. Counterexample at width 1: leaky reaches depth + 1 pieces; ReLU never more
    than 3 (checked on the construction and on many random width-1 ReLU nets)."""
    depth = 6
    leaky = _width_one(depth, "leaky", 0.5)
    assert count_linear_regions(leaky, (-5, 10)) == depth + 1 == _grid_count(leaky, -5, 10)
    assert count_linear_regions(_width_one(depth, "relu", None), (-5, 10)) <= 3
    rng = np.random.default_rng(1)
    best = 0
    for _ in range(400):
        ws = [rng.normal(size=(1, 1)) for _ in range(depth + 1)]
        bs = [rng.normal(size=1) for _ in range(depth + 1)]
        best = max(best, count_linear_regions(MLP(ws, bs, "relu"), (-20, 20)))
    assert best == 3


def test_bad_input():
    net = init_mlp([2, 3, 1], rng=0)
    with pytest.raises(ValueError, match="one input"):
        count_linear_regions(net, (0, 1))
    with pytest.raises(ValueError, match="low < high"):
        count_linear_regions(init_mlp([1, 3, 1], rng=0), (1, 0))
    with pytest.raises(TypeError, match="mlp must be an MLP"):
        count_linear_regions("net", (0, 1))
