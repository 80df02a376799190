"""One network type for the bridge and the controller: bridge.MLP <-> LeakyMLP (issue 14).

Oracles: exact arithmetic (dyadic weights and states, where every product and sum is exact, so
any summation order gives the same bits), the standard floating-point error bound of a dot
product (gamma_k = k eps / (1 - k eps) times the sum of |terms|, propagated through the layers)
for random weights, scipy's solve_ivp on a loop written here with the bridge network's own
forward, and central differences for the gain.

Why the bridge forward and LeakyMLP.forward are not equal bit for bit on random floats: the
bridge's training kernels are compiled with fastmath "reassoc" and "contract" (LLVM vectorises
the dot products into several partial sums and may fuse multiply-adds), while the controller
sums each unit sequentially (bias first, no fused multiply-add) in the kernel and in forward.
They agree within the rounding bound below; measured on these networks: a fraction of an ulp to
the sum of |terms| (1.5 at most, printed by test_random_weights_within_the_rounding_bound).
"""

import itertools

import numpy as np
import pytest
from scipy.integrate import solve_ivp

import leaky_control as lc
from leaky_control.bridge import MLP, init_mlp

EPS = np.finfo(float).eps


def _dyadic(rng, shape, bits=4, span=2.0):
    """Multiples of 2**-bits in [-span, span]: products and short sums of them are exact."""
    return np.round(rng.uniform(-span, span, size=shape) * 2**bits) / 2**bits


@pytest.mark.parametrize(("activation", "slope"), [("leaky", 0.125), ("relu", None),
                                                    ("prelu", 0.25)])
def test_exact_arithmetic_network_converts_bit_for_bit(activation, slope):
    rng = np.random.default_rng(0)
    sizes = [3, 8, 6, 2]
    ws = [_dyadic(rng, (o, i)) for i, o in itertools.pairwise(sizes)]
    bs = [_dyadic(rng, (o,)) for o in sizes[1:]]
    net = MLP(ws, bs, activation=activation, negative_slope=slope)
    ctrl = lc.LeakyMLP.from_network(net)
    assert ctrl.negative_slope == (0.0 if slope is None else slope)
    for w_c, w_n in zip(ctrl.weights, net.weights, strict=True):
        assert np.array_equal(w_c, w_n)
    x = _dyadic(rng, (500, 3))
    a, b = net.forward(x), ctrl.forward(x)
    assert np.array_equal(a, b)  # exact: any summation order gives these bits
    # a layout error (a transposed or shifted weight) would change these values
    assert np.array_equal(net.to_controller().forward(x), a)


def _rounding_bound(ws, bs, x, a):
    """Error bound of any evaluation order of the network, per output: for each layer,
    |fl(W h + b) - (W h + b)| <= gamma_{k+1} (|W| |h| + |b|), the activation adds at most
    eps |z| and is 1-Lipschitz (a <= 1), and input errors pass through |W|."""
    M = np.abs(x)
    E = np.zeros_like(M)
    for i, (w, b) in enumerate(zip(ws, bs, strict=True)):
        k = w.shape[1] + 1
        gamma = k * EPS / (1 - k * EPS)
        M = M @ np.abs(w).T + np.abs(b)
        E = E @ np.abs(w).T + gamma * M
        if i < len(ws) - 1:
            E = E + EPS * M * a
    return E


@pytest.mark.parametrize(("sizes", "a"), [([2, 16, 16, 1], 0.1), ([4, 32, 32, 2], 0.0),
                                          ([3, 7, 1], 1.0)])
def test_random_weights_within_the_rounding_bound(sizes, a):
    rng = np.random.default_rng(1)
    net = init_mlp(sizes, "relu" if a == 0.0 else "leaky", None if a == 0.0 else a, rng=2,
                   bias=0.1)
    ctrl = lc.LeakyMLP.from_network(net)
    x = rng.normal(scale=2.0, size=(2000, sizes[0]))
    got, ref = ctrl.forward(x), net.forward(x)
    bound = _rounding_bound(net.weights, net.biases, x, a)
    diff = np.abs(got - ref)
    # both evaluations lie within `bound` of the exact value, so they differ by at most 2x it
    assert np.all(diff <= 2 * bound)
    # in ulps of the magnitude scale |W||h| + |b| of the output
    M = np.abs(x)
    for w, b in zip(net.weights, net.biases, strict=True):
        M = M @ np.abs(w).T + np.abs(b)
    ulps = diff / np.spacing(M)
    print(f"sizes {sizes}: {np.mean(diff == 0):.0%} equal, max {ulps.max():.2g} ulp of the "
          f"|terms| scale")
    assert ulps.max() <= 64  # 2 x bound allows ~2 (k+1) ulp a layer; measured <= 1.5


def test_prelu_with_unequal_slopes_is_refused_by_name():
    net = init_mlp([2, 4, 4, 1], "prelu", 0.2, rng=0, prelu_slopes="unit")
    ok = lc.LeakyMLP.from_network(net)  # equal slopes (the initial ones): one leak
    assert ok.negative_slope == pytest.approx(0.2)
    theta = net.get_flat()
    theta[-1] = 0.3  # one unit learned another slope
    with pytest.raises(ValueError, match=r"'prelu' units with unequal negative slopes.*allowed"):
        lc.LeakyMLP.from_network(net.with_flat(theta))
    with pytest.raises(ValueError, match=r"negative_slope must lie in \[0, 1\], got 2.0"):
        lc.LeakyMLP.from_network(MLP([np.ones((2, 1)), np.ones((1, 2))], [np.zeros(2),
                                                                          np.zeros(1)],
                                     negative_slope=2.0))
    with pytest.raises(TypeError, match=r"network must be a leaky_control\.bridge\.MLP"):
        lc.LeakyMLP.from_network([np.ones((1, 2))])


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [({"input_scale": 0.0}, ValueError, "input_scale must be .* none zero"),
     ({"input_offset": [1.0, 2.0, 3.0]}, ValueError, "input_offset must be .* 2 finite"),
     ({"output_scale": np.nan}, ValueError, "output_scale must be finite"),
     ({"output_offset": "1.0"}, TypeError, "output_offset must be"),
     ({"input_scale": None}, TypeError, "input_scale must be"),
     ({"input_offset": 1e308}, ValueError, "input_offset, input_scale.*overflow")],
)
def test_bad_scaling_is_named(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        lc.LeakyMLP(weights=[np.ones((1, 2))], biases=[np.zeros(1)], negative_slope=0.1,
                    **kwargs)


def _scaled_controller():
    net = init_mlp([2, 12, 12, 1], "leaky", 0.1, rng=3, bias=0.05)
    ctrl = net.to_controller(input_offset=[0.2, -0.1], input_scale=[1.5, 0.8],
                             output_scale=2.5, output_offset=-0.3, u_min=-4.0, u_max=3.0)
    return net, ctrl


def test_simulate_with_converted_controller_equals_solve_ivp_on_the_bridge_network():
    net, ctrl = _scaled_controller()
    plant = lc.MassSpringDamper(m=1.0, c=0.4, k=2.0)
    A, B = plant.to_ss().A, plant.to_ss().B
    off, sc = np.array([0.2, -0.1]), np.array([1.5, 0.8])

    def command(x):  # the controller as this test reads the issue, on the bridge's forward
        return float(np.clip(2.5 * net.forward(((x - off) * sc)[None, :])[0, 0] - 0.3,
                             -4.0, 3.0))

    def rhs(t, x):
        return A @ x + B[:, 0] * command(x)

    t = np.linspace(0.0, 5.0, 251)
    x0 = np.array([1.5, -1.0])
    ref = solve_ivp(rhs, (0.0, 5.0), x0, t_eval=t, method="DOP853", rtol=1e-12, atol=1e-13)
    ours = lc.simulate(plant, ctrl, t, initial_state=x0,
                       solver=lc.Dopri5(rtol=1e-11, atol=1e-13))
    assert ref.success
    assert ours.success
    u = ours.signal("u")
    assert u.min() == -4.0 or u.max() == 3.0  # the run meets the saturation
    print(f"simulate vs solve_ivp: {np.max(np.abs(ours.states - ref.y)):.2g}")
    assert np.max(np.abs(ours.states - ref.y)) <= 1e-8
    # the simulated command is forward() of the simulated state, bit for bit: same order
    assert np.array_equal(ours.loop.y[1], ctrl.forward(ours.states.T)[:, 0])


def test_round_trip_and_folded_scaling():
    net, ctrl = _scaled_controller()
    back = ctrl.to_network()
    assert back.activation == "leaky"
    assert np.array_equal(back.get_flat(), net.get_flat())
    again = lc.LeakyMLP.from_network(back, **{k: getattr(ctrl, k) for k in (
        "input_offset", "input_scale", "output_scale", "output_offset", "u_min", "u_max")})
    x = np.random.default_rng(4).normal(size=(300, 2))
    assert np.array_equal(again.forward(x), ctrl.forward(x))
    # the folded scaling is the definition up to rounding
    want = 2.5 * net.forward((x - [0.2, -0.1]) * [1.5, 0.8]) - 0.3
    assert np.allclose(ctrl.forward(x), want, rtol=1e-13, atol=1e-13)
    folded = ctrl.to_network(fold_scaling=True)
    assert np.allclose(folded.forward(x), ctrl.forward(x), rtol=1e-12, atol=1e-12)
    relu = lc.LeakyMLP(weights=ctrl.weights, biases=ctrl.biases, negative_slope=0.0)
    assert relu.to_network().activation == "relu"


def test_linear_gain_includes_the_scaling():
    """At a = 1 the controller is affine: its gain is the exact derivative of forward."""
    net = init_mlp([2, 6, 1], "leaky", 1.0, rng=5)
    ctrl = net.to_controller(input_offset=[1.0, 2.0], input_scale=[3.0, 0.5], output_scale=-2.0,
                             output_offset=7.0)
    plant = lc.MassSpringDamper()
    x0, h = np.array([0.3, -0.4]), 1e-3
    fd = np.array([(ctrl.forward(x0 + h * e) - ctrl.forward(x0 - h * e))[0] / (2 * h)
                   for e in np.eye(2)])
    assert np.allclose(-ctrl.linear_gain(plant)[0], fd, rtol=1e-9, atol=1e-12)


def test_reference_input_is_scaled_like_the_states():
    net = init_mlp([3, 8, 1], "leaky", 0.2, rng=6)
    ctrl = net.to_controller(reference_input=True, input_offset=[0.0, 1.0, 2.0],
                             input_scale=[1.0, 2.0, 0.5], dt=0.05)
    assert ctrl.sampled
    assert ctrl.nstate_inputs == 2
    x = np.random.default_rng(7).normal(size=(50, 2))
    z = np.column_stack([x, np.full(50, 3.0)])
    want = net.forward((z - [0.0, 1.0, 2.0]) * [1.0, 2.0, 0.5])
    assert np.allclose(ctrl.forward(x, 3.0), want, rtol=1e-13, atol=1e-13)
