"""The torch oracle checks of the bridge, run against jax (the ``oracle`` extra) so they run in CI.

A CPU-only torch does not install within CI's time (PyPI's Linux wheel pulls the CUDA stack), so
every check that ``tests/test_bridge_*.py`` makes against torch is made here against jax, an
autodiff that shares no code with the bridge's hand-written numba backward pass:

* MLP gradients (every layer, relu / leaky / PReLU with learned slopes, the ReLU zero-gradient
  region, the MSE loss training uses) against ``jax.grad`` and ``jax.jacrev``;
* ``train``'s SGD (with and without momentum) and Adam against the same update written in
  ``jax.numpy`` from the published formula and driven by ``jax.grad``;
* Kaiming statistics against ``jax.nn.initializers.variance_scaling`` / ``he_normal``;
* the eval-mode BatchNorm -> leaky -> BatchNorm collapse against the BatchNorm formula written in
  ``jax.numpy`` from Ioffe & Szegedy (2015).

Everything here is float64: ``jax_enable_x64`` is switched on by a module fixture (and restored
afterwards), never at import of the package. Without jax the module skips, naming the extra;
with ``LEAKY_CONTROL_REQUIRE_EXTRAS=1`` (the README's test command) a missing jax is an error
instead.
"""

from __future__ import annotations

import importlib
import math
import os
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray
from scipy import stats as sps

from leaky_control.bridge.flows import LeakyFlowLayer, collapse_batchnorm_leaky
from leaky_control.bridge.init import init_mlp, kaiming_normal, kaiming_std
from leaky_control.bridge.mlp import MLP
from leaky_control.bridge.stats import input_output_jacobian
from leaky_control.bridge.training import train

if os.environ.get("LEAKY_CONTROL_REQUIRE_EXTRAS", "0") not in ("", "0"):
    # set in CI: there a missing jax must fail the run, not skip the bridge's only autodiff oracle
    jax = importlib.import_module("jax")
else:
    jax = pytest.importorskip(
        "jax",
        reason="jax is not installed: the autodiff oracle tests need the `oracle` extra "
        "(pip install 'leaky-control[oracle]', i.e. jax[cpu])",
    )
jnp = jax.numpy

Params = dict[str, list[Any]]

# Why 1e-12: the bridge and XLA evaluate the same float64 sums in different orders (the bridge's
# loops are vectorised with reassociation, XLA's dot has its own blocking). Each entry's rounding
# error is then a few units of n_terms * 2.2e-16 * (sum of |terms|); with widths <= 16 and O(1)
# terms that is ~1e-14 of the array's largest entry (measured: at most 1.3e-15). 1e-12 leaves a
# factor ~100 over the estimate (~1000 over the measurement), while a
# wrong convention, a missing term or a transposed weight is off by 1e-3 or more. Entries that
# cancel to nearly zero have a large *relative* but tiny absolute error, hence the absolute part
# scaled by the array's largest entry.
GRAD_RTOL = 1e-12
# jax.jit everywhere below: one compiled program per oracle costs ~0.1 s, where the same code run
# eagerly compiles each of its dozens of primitive ops separately (~1 s the first time)


@pytest.fixture(autouse=True, scope="module")
def _float64_jax() -> Iterator[None]:
    # x64 for this module only: other test modules keep whatever jax default they expect
    previous = bool(jax.config.jax_enable_x64)
    jax.config.update("jax_enable_x64", True)
    yield
    jax.config.update("jax_enable_x64", previous)


def _assert_close(ours: NDArray[np.float64], theirs: Any, what: str) -> None:
    ref = np.asarray(theirs)
    assert ref.dtype == np.float64, f"{what}: jax computed in {ref.dtype}, not float64"
    scale = max(float(np.max(np.abs(ref), initial=0.0)), 1e-300)
    np.testing.assert_allclose(ours, ref, rtol=GRAD_RTOL, atol=GRAD_RTOL * scale, err_msg=what)


# --------------------------------------------------------------------------- the jax MLP
def _phi(z: Any, slope: Any, convention: str) -> Any:
    """Hidden nonlinearity in jax.

    ``"jax"`` uses jax's own functions (``jax.nn.relu``, ``jax.nn.leaky_relu``, which also serves
    PReLU with an array slope). ``"torch"`` writes the branch as ``z > 0``: torch's documented
    convention ``leaky'(0) = a``, which the bridge follows; ``jax.nn.leaky_relu`` branches on
    ``z >= 0`` and so has derivative 1 at 0. The two agree wherever no ``z`` is exactly 0.
    """
    if convention == "jax":
        if isinstance(slope, float) and slope == 0.0:
            return jax.nn.relu(z)
        return jax.nn.leaky_relu(z, slope)
    return jnp.where(z > 0, z, slope * z)


def _jax_params(net: MLP) -> Params:
    params: Params = {
        "w": [jnp.asarray(w) for w in net.weights],
        "b": [jnp.asarray(b) for b in net.biases],
    }
    if net.activation == "prelu":
        params["s"] = [jnp.asarray(s) for s in net.slopes_per_layer()]
    return params


def _jax_forward(net: MLP, params: Params, x: Any, convention: str = "jax") -> Any:
    """``x -> W_L phi(... phi(W_1 x + b_1) ...) + b_L`` with weights in the (n_out, n_in) layout."""
    fixed = net.slopes_per_layer()  # relu: 0.0, leaky: a (used only when "s" is not learned)
    h = x
    n_layers = len(params["w"])
    for li in range(n_layers):
        z = h @ params["w"][li].T + params["b"][li]
        if li == n_layers - 1:
            return z
        slope = params["s"][li] if "s" in params else float(fixed[li][0])
        h = _phi(z, slope, convention)
    raise AssertionError("unreachable: the loop returns at the output layer")


def _jax_loss(net: MLP, convention: str = "jax") -> Callable[[Params, Any, Any], Any]:
    """``nn.MSELoss()``'s definition: the mean of the squared error over every element."""

    def loss(params: Params, x: Any, y: Any) -> Any:
        return jnp.mean((_jax_forward(net, params, x, convention) - y) ** 2)

    return loss


def _compare_grads(grads: dict[str, list[NDArray[np.float64]]], jgrads: Params, label: str) -> None:
    for li, (ours, theirs) in enumerate(zip(grads["weights"], jgrads["w"], strict=True)):
        _assert_close(ours, theirs, f"{label}: d loss / d weights[{li}]")
    for li, (ours, theirs) in enumerate(zip(grads["biases"], jgrads["b"], strict=True)):
        _assert_close(ours, theirs, f"{label}: d loss / d biases[{li}]")
    assert ("negative_slope" in grads) == ("s" in jgrads)
    if "s" in jgrads:
        for li, (ours, theirs) in enumerate(zip(grads["negative_slope"], jgrads["s"], strict=True)):
            _assert_close(ours, theirs, f"{label}: d loss / d negative_slope[{li}]")


# --------------------------------------------------------------------------- gradients
@pytest.mark.parametrize(
    ("activation", "slope", "per"),
    [
        ("relu", None, "layer"),
        ("leaky", 0.05, "layer"),
        ("prelu", 0.05, "layer"),
        ("prelu", 0.05, "unit"),
    ],
)
def test_mlp_gradients_against_jax_grad(activation: str, slope: float | None, per: str) -> None:
    """Same check as ``test_bridge_mlp.py::test_against_torch_autograd``, against jax.grad."""
    rng = np.random.default_rng(7)
    # bias -0.3: many pre-activations are negative and some units are negative on the whole
    # batch, so ReLU's zero-gradient region is exercised and not only the active side
    net = init_mlp([4, 8, 8, 3], activation, slope, rng=rng, bias=-0.3, prelu_slopes=per)
    x, y = rng.normal(size=(16, 4)), rng.normal(size=(16, 3))
    zs = net.preactivations(x)
    # away from z = 0 jax's own activations are the oracle; z = 0 has its own test below
    assert all(np.all(z != 0.0) for z in zs)
    assert any(np.any(z < 0.0) for z in zs[:-1])

    loss, grads = net.loss_and_grads(x, y)
    jloss, jgrads = jax.jit(jax.value_and_grad(_jax_loss(net)))(_jax_params(net), x, y)
    assert loss == pytest.approx(float(jloss), rel=1e-13)
    _compare_grads(grads, jgrads, activation)

    if activation == "relu":
        # units negative on the whole batch get exactly zero gradient, in both
        dead = [np.all(z <= 0.0, axis=0) for z in zs[:-1]]
        assert sum(int(d.sum()) for d in dead) >= 1
        for li, d in enumerate(dead):
            np.testing.assert_array_equal(grads["weights"][li][d], 0.0)
            np.testing.assert_array_equal(np.asarray(jgrads["w"][li])[d], 0.0)
            np.testing.assert_array_equal(grads["biases"][li][d], 0.0)
    if activation == "prelu":
        # every learned slope sees negative pre-activations here, so none has a zero gradient:
        # the slope path of the backward pass is really exercised
        assert all(np.all(g != 0.0) for g in grads["negative_slope"])


@pytest.mark.parametrize(
    ("activation", "slope"), [("relu", None), ("leaky", 0.25), ("prelu", 0.25)]
)
def test_derivative_convention_at_zero_against_jax(activation: str, slope: float | None) -> None:
    """Pre-activations exactly 0: ``relu'(0) = 0``, ``leaky'(0) = prelu'(0) = a`` and no slope
    gradient from ``z = 0`` (torch's convention, written as ``z > 0`` in the jax oracle)."""
    rng = np.random.default_rng(11)
    net = init_mlp([3, 5, 4, 2], activation, slope, rng=rng, bias=0.0, prelu_slopes="unit")
    # with zero biases the input 0 puts every hidden pre-activation at exactly 0
    x = np.vstack([np.zeros((2, 3)), rng.normal(size=(4, 3))])
    y = rng.normal(size=(6, 2))
    zs = net.preactivations(x)
    assert np.all(zs[0][:2] == 0.0)
    assert np.all(zs[1][:2] == 0.0)
    _, grads = net.loss_and_grads(x, y)
    params = _jax_params(net)
    jgrads = jax.jit(jax.grad(_jax_loss(net, "torch")))(params, x, y)
    _compare_grads(grads, jgrads, f"{activation} at z = 0")
    if activation != "relu":
        # the convention matters: jax.nn.leaky_relu (derivative 1 at 0) gives another gradient
        other = jax.jit(jax.grad(_jax_loss(net, "jax")))(params, x, y)
        assert not np.allclose(grads["biases"][0], np.asarray(other["b"][0]), rtol=1e-6)


@pytest.mark.parametrize("activation", ["relu", "leaky", "prelu"])
def test_input_output_jacobian_against_jax_jacrev(activation: str) -> None:
    """``stats.input_output_jacobian`` (the product ``W_L D ... D W_1``) against jax.jacrev."""
    rng = np.random.default_rng(5)
    net = init_mlp(
        [4, 8, 8, 3],
        activation,
        None if activation == "relu" else 0.1,
        rng=rng,
        bias=-0.2,
        prelu_slopes="unit",
    )
    params = _jax_params(net)
    jac = jax.jit(jax.jacrev(lambda v: _jax_forward(net, params, v[None, :])[0]))
    for v in rng.normal(size=(5, 4)):
        _assert_close(input_output_jacobian(net, v), jac(v), f"{activation} d f / d x at {v}")


def test_flow_logabsdet_against_jax_jacrev() -> None:
    """``log|det dy/dx|`` of the flow layer against slogdet of jax.jacrev's Jacobian."""
    rng = np.random.default_rng(0)
    n, a = 5, 0.2
    layer = LeakyFlowLayer(rng.normal(size=(n, n)) + 2 * np.eye(n), rng.normal(size=n), a)
    w, b = jnp.asarray(layer.weight), jnp.asarray(layer.bias)
    jac = jax.jit(jax.jacrev(lambda v: jax.nn.leaky_relu(w @ v + b, a)))
    x = rng.normal(size=(30, n)) * 2
    _, ld = layer.forward(x)
    want = np.array([np.linalg.slogdet(np.asarray(jac(v)))[1] for v in x])
    # both sides of the kink must be hit, or the (#z <= 0) log a term goes untested
    counts = np.sum(x @ layer.weight.T + layer.bias <= 0, axis=1)
    assert counts.min() < counts.max()
    np.testing.assert_allclose(ld, want, rtol=0, atol=1e-12)


# --------------------------------------------------------------------------- training
def _tree_map(f: Callable[..., Any], *trees: Params) -> Params:
    return jax.tree_util.tree_map(f, *trees)


def _jax_train(
    net: MLP,
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    optimizer: str,
    lr: float,
    epochs: int,
    batch: int,
    seed: int,
    momentum: float = 0.0,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
) -> Params:
    """The mini-batch loop ``train`` documents, with jax gradients and the published updates.

    SGD with momentum: ``buf = g`` on the first step, then ``buf = mu buf + g``,
    ``p -= lr buf`` (the torch.optim.SGD algorithm, no dampening or Nesterov). Adam: Kingma &
    Ba (2015), Algorithm 1, with the bias-corrected moments ``mhat``, ``vhat``.
    """
    loss = _jax_loss(net)
    b1, b2 = betas

    def sgd(params: Params, buf: Params, xb: Any, yb: Any, t: Any) -> tuple[Params, Params]:
        g = jax.grad(loss)(params, xb, yb)
        # torch's "buf = g on the first step" is this formula with buf = 0: 0 * mu + g == g
        # exactly in floating point, so one compiled step serves every step
        buf = _tree_map(lambda bb, gg: momentum * bb + gg, buf, g)
        return _tree_map(lambda p, bb: p - lr * bb, params, buf), buf

    def adam(
        params: Params, state: tuple[Params, Params], xb: Any, yb: Any, t: Any
    ) -> tuple[Params, tuple[Params, Params]]:
        g = jax.grad(loss)(params, xb, yb)
        m = _tree_map(lambda mm, gg: b1 * mm + (1 - b1) * gg, state[0], g)
        v = _tree_map(lambda vv, gg: b2 * vv + (1 - b2) * gg * gg, state[1], g)
        c1, c2 = 1 - b1**t, 1 - b2**t
        new = _tree_map(
            lambda p, mm, vv: p - lr * (mm / c1) / (jnp.sqrt(vv / c2) + eps), params, m, v
        )
        return new, (m, v)

    params = _jax_params(net)
    zeros = _tree_map(jnp.zeros_like, params)
    step = jax.jit(sgd if optimizer == "sgd" else adam)
    state: Any = zeros if optimizer == "sgd" else (zeros, zeros)
    shuffles = np.random.default_rng(seed)
    n = x.shape[0]
    t = 0
    for _ in range(epochs):
        perm = shuffles.permutation(n)
        for start in range(0, n, batch):  # drop_last=False: the last batch may be smaller
            idx = perm[start : start + batch]
            t += 1  # Algorithm 1 counts steps from 1
            params, state = step(params, state, x[idx], y[idx], jnp.float64(t))
    return params


def _data(n: int, seed: int = 0) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    return x, np.sin(x[:, :1]) + 0.5 * x[:, 1:2] * x[:, 2:]


@pytest.mark.parametrize(
    ("activation", "optimizer", "momentum"),
    [
        ("leaky", "sgd", 0.0),
        ("leaky", "sgd", 0.9),
        ("leaky", "adam", 0.0),
        ("relu", "adam", 0.0),
        ("prelu", "sgd", 0.9),
        ("prelu", "adam", 0.0),
    ],
)
def test_training_matches_jax_optimizer(activation: str, optimizer: str, momentum: float) -> None:
    """Same check as ``test_bridge_train.py::test_training_matches_torch``, against jax.

    Tolerance: the per-step gradients agree to ~1e-15 of their size (see GRAD_RTOL), and 16
    steps of lr <= 0.02 do not amplify that much: measured, the trained parameters (size 0.1 to
    1) differ by at most 4.4e-16. atol 1e-13 leaves a factor 200; the slightest change of the
    update (Adam's eps inside instead of outside the bias correction: 2e-5, momentum 0.89 for
    0.9: 4e-2, another shuffle: 5e-2) is far outside it. Adam divides by ``sqrt(vhat)``, so a
    gradient that is rounding noise around 0 would become a full-size step; ReLU's dead units
    have an exactly zero gradient on both sides, so their Adam step is exactly 0 in both.
    """
    x, y = _data(100)
    slope = None if activation == "relu" else 0.01 if activation == "leaky" else 0.1
    net = init_mlp([3, 16, 16, 1], activation, slope, rng=3, prelu_slopes="unit", bias=-0.1)
    lr = 0.02 if optimizer == "sgd" else 0.005
    if activation == "prelu" and optimizer == "sgd":
        lr = 0.01  # a shared-per-unit slope gradient sums over samples: keep the steps modest
    hist = train(net, x, y, optimizer, lr, epochs=4, batch_size=32, seed=9, momentum=momentum)
    assert hist.success
    want = _jax_train(net, x, y, optimizer, lr, 4, 32, 9, momentum=momentum)
    trained = hist.mlp
    moved = 0.0
    for li in range(trained.n_layers):
        moved = max(moved, float(np.max(np.abs(trained.weights[li] - net.weights[li]))))
        np.testing.assert_allclose(trained.weights[li], want["w"][li], rtol=1e-12, atol=1e-13)
        np.testing.assert_allclose(trained.biases[li], want["b"][li], rtol=1e-12, atol=1e-13)
    assert moved > 1e-3  # the comparison is not between two untrained networks
    if activation == "prelu":
        for ours, theirs in zip(trained.slopes_per_layer(), want["s"], strict=True):
            np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-13)
        assert np.any(np.concatenate(trained.slopes_per_layer()) != 0.1)
    else:
        # fixed slopes are not trained
        assert trained.slopes_per_layer()[0][0] == net.slopes_per_layer()[0][0]
    full = float(_jax_loss(net)(want, x, y))
    assert hist.loss[-1] == pytest.approx(full, rel=1e-12)
    assert hist.loss[-1] < hist.loss[0]


# --------------------------------------------------------------------------- Kaiming init
def _second_moment_se(var: float, n: int, kind: str) -> float:
    """Standard error of ``mean(w**2)`` for ``n`` iid zero-mean draws of variance ``var``:
    ``sqrt(Var(w**2) / n)`` with ``Var(w**2) = 2 var**2`` (normal) or ``0.8 var**2`` (uniform,
    ``c**4/5 - c**4/9`` with ``c**2 = 3 var``)."""
    factor = 2.0 if kind == "normal" else 0.8
    return math.sqrt(factor * var * var / n)


def _jax_draw(
    initializer: Callable[..., Any], shape: tuple[int, int], seed: int
) -> NDArray[np.float64]:
    out = np.asarray(initializer(jax.random.key(seed), shape, jnp.float64))
    assert out.dtype == np.float64
    return out


@pytest.mark.parametrize(
    ("a", "mode"), [(0.0, "fan_in"), (0.2, "fan_in"), (0.3, "fan_out"), (1.0, "fan_in")]
)
def test_kaiming_normal_against_jax_variance_scaling(a: float, mode: str) -> None:
    """Same check as ``test_bridge_init.py::test_against_torch_kaiming_and_linear_default``
    (Kaiming part): jax's ``variance_scaling(2 / (1 + a**2), mode, "normal")`` is He et al.'s
    leaky initialisation; our weights must have its variance and its (Gaussian) shape."""
    shape = (300, 200)  # (n_out, n_in), non-square so fan_in and fan_out differ by 1.5x
    # torch layout (n_out, n_in): jax's default axes are the (n_in, n_out) Dense-kernel layout
    init = jax.nn.initializers.variance_scaling(
        2.0 / (1.0 + a * a), mode, "normal", in_axis=-1, out_axis=-2
    )
    theirs = _jax_draw(init, shape, seed=1)
    ours = kaiming_normal(shape, a, mode, rng=2)
    fan = shape[1] if mode == "fan_in" else shape[0]
    var = kaiming_std(fan, a) ** 2
    se = _second_moment_se(var, ours.size, "normal")
    # jax's samples have the variance our formula states (5 standard errors)
    assert abs(np.mean(theirs**2) - var) < 5 * se
    # our samples and jax's estimate the same variance (two-sample, 5 standard errors)
    assert abs(np.mean(ours**2) - np.mean(theirs**2)) < 5 * math.sqrt(2) * se
    # and have the same shape: normal, not uniform or truncated (fixed seeds, p is reproducible)
    assert sps.ks_2samp(ours.ravel(), theirs.ravel()).pvalue > 1e-3
    # the other mode's variance is 1.5x off, far outside the tolerance: mode is really checked
    other = kaiming_std(shape[0] if mode == "fan_in" else shape[1], a) ** 2
    assert abs(np.mean(ours**2) - other) > 20 * se


def test_he_normal_is_the_relu_gain() -> None:
    """jax's ``he_normal`` (a truncated normal with the variance ``2 / fan_in``) is Kaiming with
    ``a = 0``: like torch's ``kaiming_normal_`` default, it is the ReLU gain, not a leaky one."""
    shape = (400, 300)
    theirs = _jax_draw(jax.nn.initializers.he_normal(in_axis=-1, out_axis=-2), shape, seed=3)
    relu_var = kaiming_std(300, 0.0) ** 2
    se = _second_moment_se(relu_var, theirs.size, "normal")  # truncation only lowers Var(w^2)
    assert abs(np.mean(theirs**2) - relu_var) < 5 * se
    # with a leak of 1 the right variance is half that: he_normal would be 2x too wide
    assert abs(np.mean(theirs**2) - kaiming_std(300, 1.0) ** 2) > 20 * se


@pytest.mark.parametrize(
    ("init", "a", "scale"),
    [("kaiming_uniform", 0.2, 2.0 / 1.04), ("torch_default", 0.0, 1.0 / 3.0)],
)
def test_uniform_inits_against_jax_variance_scaling(init: str, a: float, scale: float) -> None:
    """``kaiming_uniform`` is ``variance_scaling(2 / (1 + a**2), "fan_in", "uniform")``; torch's
    ``nn.Linear`` default weight ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))`` (variance
    ``1 / (3 fan_in)``) is ``variance_scaling(1/3, "fan_in", "uniform")``."""
    n_in, n_out = 300, 400
    act = "relu" if a == 0.0 else "leaky"
    ours = init_mlp([n_in, n_out, 1], act, None if a == 0.0 else a, init=init, rng=4).weights[0]
    theirs = _jax_draw(
        jax.nn.initializers.variance_scaling(scale, "fan_in", "uniform", in_axis=-1, out_axis=-2),
        (n_out, n_in),
        seed=5,
    )
    var = scale / n_in
    bound = math.sqrt(3.0 * var)
    se = _second_moment_se(var, ours.size, "uniform")
    assert abs(np.mean(theirs**2) - var) < 5 * se
    assert abs(np.mean(ours**2) - np.mean(theirs**2)) < 5 * math.sqrt(2) * se
    for w in (ours, theirs):
        # 120000 draws: P(max < 0.999 bound) = 0.9995**120000, nil
        assert 0.999 * bound < np.max(np.abs(w)) <= bound
    assert sps.ks_2samp(ours.ravel(), theirs.ravel()).pvalue > 1e-3


# --------------------------------------------------------------------------- BatchNorm
def _bn_population_stats(batches: Any) -> tuple[Any, Any]:
    """Inference statistics from training mini-batches ``(n_batches, m, channels)``, Ioffe &
    Szegedy (2015), Algorithm 2 lines 8-10: ``E[x] = E_B[mu_B]``,
    ``Var[x] = m / (m - 1) E_B[sigma_B**2]``."""
    m = batches.shape[1]
    mu_b = jnp.mean(batches, axis=1)
    var_b = jnp.mean((batches - mu_b[:, None, :]) ** 2, axis=1)
    return jnp.mean(mu_b, axis=0), m / (m - 1) * jnp.mean(var_b, axis=0)


def _bn_inference(x: Any, bn: dict[str, Any], eps: float) -> Any:
    """Algorithm 2, line 11: ``y = gamma / sqrt(Var[x] + eps) * x + (beta - gamma E[x] /
    sqrt(Var[x] + eps))``, with torch's names for gamma, beta, E[x] and Var[x]."""
    root = jnp.sqrt(bn["running_var"] + eps)
    return bn["weight"] / root * x + (bn["bias"] - bn["weight"] * bn["running_mean"] / root)


def test_batchnorm_collapse_against_jax_formula() -> None:
    """Same check as ``test_bridge_flows.py::test_collapse_against_torch_batchnorm``.

    jax has no BatchNorm layer without flax, so the oracle is the eval-mode BatchNorm formula
    written in ``jax.numpy`` from the paper (Ioffe & Szegedy 2015, Algorithm 2), with its
    population statistics computed from training mini-batches as the paper does, composed with
    ``jax.nn.leaky_relu``. torch's ``BatchNorm1d`` is the stronger oracle when installed (it is
    the module whose state-dict names ``collapse_batchnorm_leaky`` takes, and it checks torch's
    own eps and variance conventions); this test checks the published formula, and runs in CI.
    """
    a, eps = 0.05, 1e-3  # eps well above 1e-5 so that a dropped or misplaced eps would show
    # negative gamma1 reflects, gamma1 = 0 makes a constant channel, negative gamma2 flips
    gammas = (
        jnp.array([1.5, -0.7, 0.3, -2.0, 0.0, 1.0]),
        jnp.array([0.5, 1.2, -0.8, 1.0, 2.0, -1.0]),
    )
    rng = np.random.default_rng(0)
    bns = []
    for gamma in gammas:
        # training activations: 20 mini-batches of 8, per-channel location and spread
        data = rng.normal(size=6) + rng.uniform(0.3, 2.0, size=6) * rng.normal(size=(20, 8, 6))
        mean, var = jax.jit(_bn_population_stats)(jnp.asarray(data))
        bns.append(
            {
                "weight": gamma,
                "bias": jnp.asarray(rng.normal(size=6)),
                "running_mean": mean,
                "running_var": var,
            }
        )
    as_numpy = [{k: np.asarray(v) for k, v in bn.items()} for bn in bns]
    f = collapse_batchnorm_leaky(as_numpy[0], as_numpy[1], a, eps=eps)

    def composed(z: Any) -> Any:
        return _bn_inference(jax.nn.leaky_relu(_bn_inference(z, bns[0], eps), a), bns[1], eps)

    z = 4.0 * rng.normal(size=(500, 6))
    _assert_close(f(z), jax.jit(composed)(jnp.asarray(z)), "bn2(leaky(bn1(z)))")
    # both sides of every kink are sampled, so each channel's two slopes are checked
    for k in np.flatnonzero(f.sign != 0):
        side = f.sign[k] * (z[:, k] - f.center[k]) > 0
        assert 0 < side.sum() < side.size
    # slopes of the collapse against jax's derivative of the composition, per channel
    dz = jax.jit(jax.vmap(jax.jacfwd(composed)))(jnp.asarray(z))
    diag = np.asarray(jnp.diagonal(dz, axis1=1, axis2=2))
    active = f.sign * (z - f.center) > 0
    slope = f.scale * f.sign * np.where(active, 1.0, a)
    _assert_close(slope, diag, "d bn2(leaky(bn1(z))) / dz")
    np.testing.assert_array_equal(f.sign, [1, -1, 1, -1, 0, 1])
    assert np.all(f.scale[[2, 5]] < 0)  # the negative gamma2 channels are flipped
