"""Invertible leaky flow layer vs numerical Jacobians; BatchNorm->leaky->BatchNorm collapse vs the
direct composition (and torch's eval-mode BatchNorm1d when installed)."""

import numpy as np
import pytest

from leaky_control.bridge.flows import LeakyFlowLayer, collapse_batchnorm_leaky


def _layer(seed=0, n=4, a=0.2):
    rng = np.random.default_rng(seed)
    return LeakyFlowLayer(rng.normal(size=(n, n)) + 2 * np.eye(n), rng.normal(size=n), a), rng


def test_logabsdet_matches_numerical_jacobian():
    layer, rng = _layer()
    x = rng.normal(size=(20, 4))
    _, ld = layer.forward(x)
    h = 1e-6
    for xi, ldi in zip(x, ld, strict=True):
        jac = np.column_stack(
            [
                (layer.forward(xi + h * e)[0] - layer.forward(xi - h * e)[0]) / (2 * h)
                for e in np.eye(4)
            ]
        )
        assert ldi == pytest.approx(np.linalg.slogdet(jac)[1], abs=1e-6)


def test_inverse_round_trip_and_shapes():
    layer, rng = _layer(1)
    x = rng.normal(size=(50, 4)) * 3
    y, _ = layer.forward(x)
    np.testing.assert_allclose(layer.inverse(y), x, rtol=1e-10, atol=1e-10)
    y1, ld1 = layer.forward(x[0])
    assert y1.shape == (4,)
    assert isinstance(ld1, float)


def test_flow_bad_input():
    with pytest.raises(ValueError, match="negative_slope must be in"):
        LeakyFlowLayer(np.eye(2), np.zeros(2), 0.0)
    with pytest.raises(ValueError, match="weight must be invertible"):
        LeakyFlowLayer(np.ones((2, 2)), np.zeros(2), 0.1)
    with pytest.raises(ValueError, match="weight must be square"):
        LeakyFlowLayer(np.ones((2, 3)), np.zeros(2), 0.1)


def _bn(rng, n, gamma):
    return {
        "weight": gamma,
        "bias": rng.normal(size=n),
        "running_mean": rng.normal(size=n),
        "running_var": rng.uniform(0.1, 2.0, size=n),
    }


def _direct(bn, z, eps=1e-5):
    return bn["weight"] * (z - bn["running_mean"]) / np.sqrt(bn["running_var"] + eps) + bn["bias"]


def test_batchnorm_leaky_batchnorm_collapse_including_reflection():
    rng = np.random.default_rng(3)
    n, a = 6, 0.1
    bn1 = _bn(rng, n, np.array([1.5, -0.7, 0.3, -2.0, 0.0, 1.0]))  # negative gammas reflect
    bn2 = _bn(rng, n, np.array([0.5, 1.2, -0.8, 1.0, 2.0, -1.0]))
    f = collapse_batchnorm_leaky(bn1, bn2, a)
    z = rng.normal(size=(500, n)) * 4
    u = _direct(bn1, z)
    want = _direct(bn2, np.where(u >= 0, u, a * u))
    np.testing.assert_allclose(f(z), want, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(f.sign, [1, -1, 1, -1, 0, 1])
    # reflected channel: the leak acts to the right of the kink
    k = 1
    zs = f.center[k] + np.array([-2.0, -1.0, 1.0, 2.0])
    left, right = np.diff(f(np.tile(zs[:, None], (1, n)))[:, k])[[0, 2]]
    assert right == pytest.approx(a * left)


def test_collapse_against_torch_batchnorm():
    torch = pytest.importorskip(
        "torch",
        reason="torch is not installed; the same check runs against jax in "
        "tests/test_autodiff_jax.py (test_batchnorm_collapse_against_jax_formula)",
    )
    rng = np.random.default_rng(4)
    n = 5
    mods = []
    for _ in range(2):
        bn = torch.nn.BatchNorm1d(n).double().eval()
        with torch.no_grad():
            bn.weight.copy_(torch.tensor(rng.normal(size=n)))
            bn.bias.copy_(torch.tensor(rng.normal(size=n)))
            bn.running_mean.copy_(torch.tensor(rng.normal(size=n)))
            bn.running_var.copy_(torch.tensor(rng.uniform(0.2, 3, size=n)))
        mods.append(bn)
    dicts = [
        {
            k: getattr(m, k).detach().numpy()
            for k in ("weight", "bias", "running_mean", "running_var")
        }
        for m in mods
    ]
    f = collapse_batchnorm_leaky(dicts[0], dicts[1], 0.05, eps=mods[0].eps)
    z = rng.normal(size=(100, n)) * 3
    with torch.no_grad():
        want = mods[1](torch.nn.functional.leaky_relu(mods[0](torch.tensor(z)), 0.05)).numpy()
    np.testing.assert_allclose(f(z), want, rtol=1e-12, atol=1e-12)


def test_collapse_bad_input():
    bn = {
        "weight": np.ones(2),
        "bias": np.zeros(2),
        "running_mean": np.zeros(2),
        "running_var": np.ones(2),
    }
    with pytest.raises(ValueError, match="missing keys"):
        collapse_batchnorm_leaky({"weight": np.ones(2)}, bn, 0.1)
    with pytest.raises(ValueError, match="running_var"):
        collapse_batchnorm_leaky({**bn, "running_var": -np.ones(2)}, bn, 0.1)
    with pytest.raises(ValueError, match="channels"):
        collapse_batchnorm_leaky(bn, {k: np.ones(3) for k in bn}, 0.1)
