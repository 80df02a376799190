"""MLP forward/backward: finite differences always, torch autograd when installed."""

import numpy as np
import pytest

from leaky_control.bridge.init import init_mlp
from leaky_control.bridge.mlp import MLP


def _fd_grad(net, x, y, h=1e-6):
    theta = net.get_flat()
    out = np.empty(net.n_trainable)
    for k in range(out.size):
        e = np.zeros_like(theta)
        e[k] = h
        lp = net.with_flat(theta + e)._loss_grad_flat(x, y)[0]
        lm = net.with_flat(theta - e)._loss_grad_flat(x, y)[0]
        out[k] = (lp - lm) / (2 * h)
    return out


@pytest.mark.parametrize(
    ("activation", "slope", "per"),
    [
        ("relu", None, "layer"),
        ("leaky", 0.1, "layer"),
        ("prelu", 0.2, "layer"),
        ("prelu", 0.2, "unit"),
    ],
)
def test_gradients_match_central_differences(activation, slope, per):
    rng = np.random.default_rng(3)
    net = init_mlp([3, 6, 5, 2], activation, slope, rng=rng, bias=0.1, prelu_slopes=per)
    x = rng.normal(size=(9, 3))
    y = rng.normal(size=(9, 2))
    loss, grads = net.loss_and_grads(x, y)
    flat = net._loss_grad_flat(x, y)[1][: net.n_trainable]
    # central differences have O(h^2) error and the loss is O(1): 1e-6 is far above both
    np.testing.assert_allclose(flat, _fd_grad(net, x, y), rtol=1e-6, atol=1e-7)
    assert loss == pytest.approx(np.mean((net.forward(x) - y) ** 2), rel=1e-14)
    assert [g.shape for g in grads["weights"]] == [(6, 3), (5, 6), (2, 5)]
    assert ("negative_slope" in grads) == (activation == "prelu")


def test_forward_matches_plain_numpy_composition():
    rng = np.random.default_rng(0)
    ws = [rng.normal(size=(4, 2)), rng.normal(size=(3, 4)), rng.normal(size=(1, 3))]
    bs = [rng.normal(size=4), rng.normal(size=3), rng.normal(size=1)]
    x = rng.normal(size=(5, 2))
    h = x
    for w, b in zip(ws[:-1], bs[:-1], strict=True):
        z = h @ w.T + b
        h = np.where(z >= 0, z, 0.3 * z)
    want = h @ ws[-1].T + bs[-1]
    np.testing.assert_allclose(MLP(ws, bs, "leaky", 0.3).forward(x), want, rtol=1e-13)


def test_derivative_conventions_at_zero():
    # one hidden unit whose pre-activation is exactly 0 on the only sample
    w1, b1 = np.array([[1.0]]), np.array([0.0])
    w2, b2 = np.array([[2.0]]), np.array([0.0])
    x, y = np.array([[0.0]]), np.array([[1.0]])
    _, g = MLP([w1, w2], [b1, b2], "relu").loss_and_grads(x, y)
    assert g["biases"][0][0] == 0.0  # relu'(0) = 0
    _, g = MLP([w1, w2], [b1, b2], "leaky", 0.25).loss_and_grads(x, y)
    # dL/db1 = 2 (y_hat - t) * w2 * leaky'(0) = 2 * (-1) * 2 * 0.25
    assert g["biases"][0][0] == pytest.approx(-1.0)
    _, g = MLP([w1, w2], [b1, b2], "prelu", 0.25).loss_and_grads(x, y)
    assert g["biases"][0][0] == pytest.approx(-1.0)
    assert g["negative_slope"][0][0] == 0.0  # PReLU slope: no gradient from z = 0


def test_against_torch_autograd():
    torch = pytest.importorskip(
        "torch",
        reason="torch is not installed; the same check runs against jax in "
        "tests/test_autodiff_jax.py (test_mlp_gradients_against_jax_grad, "
        "test_derivative_convention_at_zero_against_jax)",
    )
    rng = np.random.default_rng(7)
    for activation in ("relu", "leaky", "prelu"):
        net = init_mlp(
            [4, 8, 8, 3],
            activation,
            None if activation == "relu" else 0.05,
            rng=rng,
            bias=-0.05,
            prelu_slopes="unit",
        )
        x, y = rng.normal(size=(16, 4)), rng.normal(size=(16, 3))
        loss, grads = net.loss_and_grads(x, y)
        params = [torch.tensor(w, requires_grad=True) for w in net.weights]
        biases = [torch.tensor(b, requires_grad=True) for b in net.biases]
        slopes = [torch.tensor(s, requires_grad=True) for s in net.slopes_per_layer()]
        h = torch.tensor(x)
        for li in range(2):
            z = h @ params[li].T + biases[li]
            if activation == "relu":
                h = torch.relu(z)
            elif activation == "leaky":
                h = torch.nn.functional.leaky_relu(z, 0.05)
            else:
                h = torch.nn.functional.prelu(z, slopes[li])
        out = h @ params[2].T + biases[2]
        tl = torch.nn.functional.mse_loss(out, torch.tensor(y))
        tl.backward()
        assert loss == pytest.approx(tl.item(), rel=1e-12)
        for ours, theirs in zip(grads["weights"], params, strict=True):
            np.testing.assert_allclose(ours, theirs.grad.numpy(), rtol=1e-10, atol=1e-13)
        for ours, theirs in zip(grads["biases"], biases, strict=True):
            np.testing.assert_allclose(ours, theirs.grad.numpy(), rtol=1e-10, atol=1e-13)
        if activation == "prelu":
            for ours, theirs in zip(grads["negative_slope"], slopes, strict=True):
                np.testing.assert_allclose(ours, theirs.grad.numpy(), rtol=1e-10, atol=1e-13)


def test_bad_input_is_named():
    w = [np.ones((3, 2)), np.ones((1, 4))]
    b = [np.zeros(3), np.zeros(1)]
    with pytest.raises(ValueError, match=r"weights\[1\].*must equal 3"):
        MLP(w, b)
    with pytest.raises(ValueError, match="activation must be one of"):
        MLP([np.ones((1, 1))], [np.zeros(1)], activation="tanh")
    with pytest.raises(ValueError, match="biases"):
        MLP([np.ones((1, 1))], [np.zeros(2)])
    with pytest.raises(ValueError, match="negative_slope must be 0"):
        MLP([np.ones((2, 1)), np.ones((1, 2))], [np.zeros(2), np.zeros(1)], "relu", 0.1)
    net = init_mlp([2, 3, 1], rng=0)
    with pytest.raises(ValueError, match=r"y must have shape \(4, 1\)"):
        net.loss_and_grads(np.zeros((4, 2)), np.zeros(5))
    with pytest.raises(ValueError, match="x must be finite"):
        net.forward(np.array([[np.nan, 0.0]]))
    with pytest.raises(ValueError, match=r"x must have shape \(n_samples, 2\)"):
        net.forward(np.zeros((3, 5)))
    with pytest.raises(ValueError, match="prelu_slopes"):
        init_mlp([1, 2, 1], "prelu", prelu_slopes="channel")
    with pytest.raises(ValueError, match="init must be one of"):
        init_mlp([1, 2, 1], init="xavier")
