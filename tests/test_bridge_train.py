"""train(): optimiser steps against torch (when installed) and against the update formulas,
the history definitions recomputed independently, divergence, bad input, and the seed claim
"a leak of 0.01 revives dead units under plain SGD as well as under Adam"."""

import numpy as np
import pytest

from leaky_control.bridge.init import init_mlp
from leaky_control.bridge.training import TrainingDiverged, train


def _data(n=96, d=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d))
    y = np.sin(x[:, :1]) + 0.5 * x[:, 1:2] * x[:, -1:]
    return x, y


def _reference_run(net, x, y, optimizer, lr, epochs, batch, seed, betas=(0.9, 0.999), eps=1e-8):
    """Plain-Python mini-batch loop over loss_and_grads (checked against finite differences)."""
    rng = np.random.default_rng(seed)
    theta = net.get_flat()
    m = np.zeros(net.n_trainable)
    v = np.zeros(net.n_trainable)
    t = 0
    for _ in range(epochs):
        perm = rng.permutation(x.shape[0])
        for s in range(0, x.shape[0], batch):
            idx = perm[s : s + batch]
            g = net.with_flat(theta)._loss_grad_flat(x[idx], y[idx])[1][: net.n_trainable]
            if optimizer == "sgd":
                theta[: net.n_trainable] -= lr * g
            else:  # Kingma & Ba, Algorithm 1 with bias corrections
                t += 1
                m = betas[0] * m + (1 - betas[0]) * g
                v = betas[1] * v + (1 - betas[1]) * g * g
                mhat = m / (1 - betas[0] ** t)
                vhat = v / (1 - betas[1] ** t)
                theta[: net.n_trainable] -= lr * mhat / (np.sqrt(vhat) + eps * 1.0)
    return theta


@pytest.mark.parametrize(
    ("activation", "optimizer"), [("leaky", "sgd"), ("relu", "adam"), ("prelu", "adam")]
)
def test_training_matches_reference_loop(activation, optimizer):
    x, y = _data()
    net = init_mlp([3, 8, 6, 1], activation, None if activation == "relu" else 0.1, rng=2)
    lr = 0.05 if optimizer == "sgd" else 0.01
    hist = train(net, x, y, optimizer, lr, epochs=3, batch_size=20, seed=5)
    want = _reference_run(net, x, y, optimizer, lr, 3, 20, 5)
    # torch's Adam divides by sqrt(v)/sqrt(bc2) + eps, the paper by sqrt(vhat) + eps: the same
    # number (sqrt(v / bc2) = sqrt(v) / sqrt(bc2)) up to rounding; measured 7e-16 after 3 epochs
    np.testing.assert_allclose(hist.mlp.get_flat(), want, rtol=1e-12, atol=1e-13)
    assert hist.success
    assert hist.epoch.tolist() == [0, 1, 2, 3]
    # the input network is left untouched
    np.testing.assert_array_equal(
        net.get_flat(),
        init_mlp([3, 8, 6, 1], activation, None if activation == "relu" else 0.1, rng=2).get_flat(),
    )


@pytest.mark.parametrize(("optimizer", "momentum"), [("sgd", 0.0), ("sgd", 0.9), ("adam", 0.0)])
def test_training_matches_torch(optimizer, momentum):
    torch = pytest.importorskip(
        "torch",
        reason="torch is not installed; the same check runs against jax in "
        "tests/test_autodiff_jax.py (test_training_matches_jax_optimizer)",
    )
    x, y = _data(n=100)
    net = init_mlp([3, 16, 16, 1], "leaky", 0.01, rng=3)
    lr = 0.02 if optimizer == "sgd" else 0.005
    hist = train(net, x, y, optimizer, lr, epochs=4, batch_size=32, seed=9, momentum=momentum)
    lins = [
        torch.nn.Linear(a, b).double() for a, b in zip(net.sizes[:-1], net.sizes[1:], strict=True)
    ]
    with torch.no_grad():
        for lin, w, b in zip(lins, net.weights, net.biases, strict=True):
            lin.weight.copy_(torch.tensor(w))
            lin.bias.copy_(torch.tensor(b))
    model = torch.nn.Sequential(
        lins[0], torch.nn.LeakyReLU(0.01), lins[1], torch.nn.LeakyReLU(0.01), lins[2]
    )
    opt = (
        torch.optim.SGD(model.parameters(), lr, momentum=momentum)
        if optimizer == "sgd"
        else torch.optim.Adam(model.parameters(), lr)
    )
    rng = np.random.default_rng(9)
    xt, yt = torch.tensor(x), torch.tensor(y)
    for _ in range(4):
        perm = torch.tensor(rng.permutation(100))
        for s in range(0, 100, 32):  # last batch has 4 rows, as drop_last=False
            idx = perm[s : s + 32]
            opt.zero_grad()
            torch.nn.functional.mse_loss(model(xt[idx]), yt[idx]).backward()
            opt.step()
    for lin, w, b in zip(lins, hist.mlp.weights, hist.mlp.biases, strict=True):
        np.testing.assert_allclose(w, lin.weight.detach().numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(b, lin.bias.detach().numpy(), rtol=1e-10, atol=1e-12)
    with torch.no_grad():
        assert hist.loss[-1] == pytest.approx(
            torch.nn.functional.mse_loss(model(xt), yt).item(), rel=1e-10
        )


def _independent_stats(net, x, y):
    zs = net.preactivations(x)
    _, g = net.loss_and_grads(x, y)
    out = []
    for li, z in enumerate(zs[:-1]):
        stuck = np.all(z <= 0, axis=0)
        slope = np.broadcast_to(net.slopes_per_layer()[li], (z.shape[1],))
        zero_deriv = (z <= 0) & (slope == 0)
        norms = np.sqrt((g["weights"][li] ** 2).sum(axis=1) + g["biases"][li] ** 2)
        out.append((stuck, zero_deriv, norms))
    return out


@pytest.mark.parametrize("activation", ["relu", "leaky"])
def test_history_statistics_recomputed(activation):
    x, y = _data(n=64, seed=1)
    net = init_mlp(
        [3, 10, 10, 1], activation, None if activation == "relu" else 0.01, rng=4, bias=-2.0
    )
    hist = train(net, x, y, "adam", 0.02, epochs=2, batch_size=16, seed=0)
    for row, model in ((0, net), (2, hist.mlp)):
        stats = _independent_stats(model, x, y)
        for li, (stuck, zero_deriv, norms) in enumerate(stats):
            assert hist.stuck_fraction[row, li] == pytest.approx(stuck.mean())
            assert hist.gradient_sparsity[row, li] == pytest.approx(zero_deriv.mean())
            assert hist.dead_fraction[row, li] == pytest.approx(np.mean(norms == 0))
            if stuck.any():
                assert hist.stuck_grad_norm[row, li] == pytest.approx(norms[stuck].mean())
        pooled = np.concatenate([s[1].ravel() for s in stats]).mean()
        assert hist.zero_grad_fraction[row] == pytest.approx(pooled)
    assert hist.stuck_fraction[0].min() > 0.1  # the negative bias made stuck units
    if activation == "relu":
        # ReLU: every stuck unit is dead (exactly zero gradient); an active unit can be dead
        # too when all units it feeds are dead on the inputs where it is active
        assert np.all(hist.dead_fraction[0] >= hist.stuck_fraction[0])
        assert hist.dead_fraction[0, -1] == hist.stuck_fraction[0, -1]
        assert hist.zero_grad_fraction[0] > 0
    else:
        # leaky: stuck units still get a (small) gradient, so none is dead and sparsity is 0
        assert np.all(hist.dead_fraction == 0)
        assert np.all(hist.zero_grad_fraction == 0)
        assert np.all(hist.stuck_grad_norm[0] > 0)


def test_revived_counts_recomputed():
    x, y = _data(n=128, d=2, seed=0)
    net = init_mlp([2, 16, 1], "leaky", 0.1, rng=1, bias=-2.0)
    total = 0
    for seed in range(10):  # one epoch per call, so before/after masks can be recomputed
        before = np.all(net.preactivations(x)[0] <= 0, axis=0)
        hist = train(net, x, y, "adam", 0.02, epochs=1, batch_size=16, seed=seed)
        after = np.all(hist.mlp.preactivations(x)[0] <= 0, axis=0)
        assert hist.revived[1, 0] == np.sum(before & ~after)
        assert hist.revived[0, 0] == 0
        total += hist.revived[1, 0]
        net = hist.mlp
    assert total > 0


def test_prelu_slopes_recorded_and_learned():
    x, y = _data()
    net = init_mlp([3, 5, 4, 1], "prelu", 0.25, rng=0, prelu_slopes="unit")
    hist = train(net, x, y, "adam", 0.01, epochs=3, batch_size=16, seed=0)
    assert hist.slopes.shape == (4, 9)
    np.testing.assert_array_equal(hist.slopes[0], 0.25)
    np.testing.assert_allclose(hist.slopes[-1], np.concatenate(hist.mlp.negative_slope))
    assert np.any(hist.slopes[-1] != 0.25)


def test_divergence_names_the_epoch():
    x, y = _data()
    y = y * 1e3
    net = init_mlp([3, 16, 16, 1], "leaky", 0.01, rng=0)
    hist = train(net, x, y, "sgd", 5.0, epochs=20, batch_size=8, seed=0)
    assert not hist.success
    assert f"epoch {hist.diverged_epoch}" in hist.message
    assert "non-finite" in hist.message
    assert len(hist.loss) == hist.diverged_epoch  # rows 0 .. last completed epoch
    assert np.all(np.isfinite(hist.mlp.get_flat()))
    with pytest.raises(TrainingDiverged, match=r"epoch \d+"):
        train(net, x, y, "sgd", 5.0, epochs=20, batch_size=8, seed=0, on_divergence="raise")


def test_progress_bar_and_untracked_mode(capsys):
    pytest.importorskip("tqdm")
    x, y = _data()
    net = init_mlp([3, 4, 1], rng=0)
    hist = train(net, x, y, epochs=2, progress=True, track=False)
    assert "train leaky/sgd" in capsys.readouterr().err
    assert np.all(np.isnan(hist.stuck_fraction))
    assert np.all(np.isfinite(hist.loss))


def test_bad_input():
    x, y = _data()
    net = init_mlp([3, 4, 1], rng=0)
    with pytest.raises(ValueError, match="lr must be in"):
        train(net, x, y, lr=0.0)
    with pytest.raises(ValueError, match="optimizer must be one of"):
        train(net, x, y, optimizer="rmsprop")
    with pytest.raises(ValueError, match="y must have shape"):
        train(net, x, y[:-1])
    bad = x.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match=r"x must be finite.*\(3, 1\)"):
        train(net, bad, y)
    with pytest.raises(ValueError, match="batch_size must be an integer"):
        train(net, x, y, batch_size=0)
    with pytest.raises(TypeError, match="mlp must be"):
        train("net", x, y)
    with pytest.raises(ValueError, match="on_divergence"):
        train(net, x, y, on_divergence="ignore")


def test_claim_leak_revives_under_adam_not_under_plain_sgd():
    """Seed claim: "a leak of 0.01 revives dead units under plain SGD as well as under Adam".

    First-layer units see fixed inputs, so only their own gradient can revive them. With a leak
    ``a`` that gradient is ``a`` times what an active unit would get: SGD steps are scaled by
    ``a`` too, Adam divides the scale out. Result: the claim fails for SGD at a = 0.01.
    """
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 2))
    y = (np.sin(2 * x[:, 0]) + x[:, 1] ** 2)[:, None]
    revived = {}
    for act, a in (("relu", None), ("leaky", 0.01)):
        net = init_mlp([2, 32, 32, 1], act, a, rng=1, bias=-2.0)
        for opt, lr in (("sgd", 0.05), ("adam", 0.005)):
            h = train(net, x, y, opt, lr, epochs=60, batch_size=32, seed=2)
            assert h.success
            revived[act, opt] = (int(h.revived[:, 0].sum()), h.stuck_fraction[0, 0])
    assert revived["relu", "sgd"][1] > 0.25  # a quarter or more of layer 1 starts stuck
    assert revived["relu", "sgd"][0] == 0
    assert revived["relu", "adam"][0] == 0
    assert revived["leaky", "sgd"][0] == 0  # a = 0.01 under SGD: still stuck after 60 epochs
    assert revived["leaky", "adam"][0] >= 3  # Adam revives them
