r"""Gradient statistics, second-moment propagation and dead-at-input probabilities.

For a pre-activation ``z`` whose distribution is symmetric about 0 with no atom at 0 (zero bias,
symmetric weights: true at initialisation, not in general during training), the activation
derivative ``G = phi_a'(z)`` is ``1`` or ``a`` with probability 1/2 each, so

* ``P(G = 0) = 1/2`` for ReLU (``a = 0``) and 0 for ``a != 0``;
* ``E[G] = (1 + a)/2``: the average gain, equal to the describing-function gain of the leaky
  controller, but it is *not* what propagates through depth;
* ``Var(G) = (1 - a)**2 / 4``;
* ``E[G**2] = (1 + a**2)/2``: this sets the per-layer factor of both forward signal second
  moments and back-propagated gradient second moments,
  ``chi = sigma_w**2 * fan * (1 + a**2)/2`` (``fan = fan_in`` forward, ``fan_out`` backward).

Second-moment recursions (zero biases, iid symmetric weights ``N(0, sigma_l**2)``): with
``q_l`` the mean square of a pre-activation of layer ``l`` and ``r_l`` that of the gradient with
respect to a hidden activation ``h_l`` (output cotangent with unit mean square, independent of
the network), conditioning layer by layer gives *in expectation, at any finite width*

``q_1 = sigma_1**2 n_0 ms(x)``, ``q_{li+1} = sigma_{li+1}**2 n_l (1 + a**2)/2 q_l``,
``r_{L-1} = sigma_L**2 n_L``,   ``r_{li-1} = sigma_l**2 n_l (1 + a**2)/2 r_l``.

The second uses that ``(w . u, w . h)`` is a symmetric Gaussian pair, so
``E[(w . u)**2 phi'(w . h)**2] = (1 + a**2)/2 E[(w . u)**2]`` exactly, and
``E_g ||J^T g||**2 = ||J||_F**2`` for a cotangent ``g`` with identity covariance.
Kaiming init sets every ``chi`` to 1: it preserves these *second moments*, i.e. the mean
squared singular value of the input-output Jacobian, not the singular-value spectrum
(:func:`jacobian_spectrum` shows it spreading with depth): no dynamical isometry in the sense
of Pennington, Schoenholz and Ganguli (2017).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..analysis._checks import (
    as_array,
    check_allocation,
    check_choice,
    check_int,
    check_real,
    check_sizes,
)
from .init import as_rng, init_mlp
from .mlp import MLP

if TYPE_CHECKING:
    from collections.abc import Sequence

    from numpy.typing import ArrayLike, NDArray

    from .._typing import FloatArray

__all__ = [
    "gradient_statistics",
    "input_output_jacobian",
    "is_dead_at",
    "jacobian_spectrum",
    "measure_second_moments",
    "propagate_second_moments",
    "relu_dead_probability",
    "second_moment_factor",
]


def gradient_statistics(negative_slope: float) -> dict[str, float]:
    """Moments of ``G = phi_a'(z)`` for a symmetric, atomless pre-activation ``z``.

    Parameters
    ----------
    negative_slope : float
        The leak ``a`` (any finite real).

    Returns
    -------
    dict
        ``"p_zero"`` (``P(G = 0)``), ``"mean"`` (``(1+a)/2``), ``"var"`` (``(1-a)**2/4``),
        ``"second_moment"`` (``(1+a**2)/2``, the factor that drives signal propagation).
    """
    a = _check_squared_leak(negative_slope)
    return {
        "p_zero": 0.5 if a == 0.0 else 0.0,
        "mean": (1.0 + a) / 2.0,
        "var": (1.0 - a) ** 2 / 4.0,
        "second_moment": (1.0 + a * a) / 2.0,
    }


def second_moment_factor(weight_std: float, fan: float, negative_slope: float) -> float:
    """Per-layer second-moment factor ``chi = weight_std**2 * fan * (1 + a**2)/2``.

    Parameters
    ----------
    weight_std : float
        Standard deviation of the iid zero-mean weights, >= 0.
    fan : int
        ``fan_in`` for the forward pass, ``fan_out`` for the backward pass, >= 1.
    negative_slope : float
        Leak ``a`` of the layer's units.

    Returns
    -------
    float
        1 means the second moment is preserved; ``chi**depth`` is the growth over ``depth``.
    """
    s = check_real("weight_std", weight_std, low=0.0)
    fan = check_int("fan", fan, low=1)
    a = _check_squared_leak(negative_slope)
    chi = s * s * fan * (1.0 + a * a) / 2.0
    if not np.isfinite(chi):
        raise ValueError(
            f"weight_std={s!r}, fan={fan} and negative_slope={a!r} give a factor beyond the "
            "float range"
        )
    return chi


_MAX_SQUARED_LEAK = 1e150


def _check_squared_leak(negative_slope: float) -> float:
    """A finite leak whose square (part of every moment here) stays in the float range."""
    a = check_real("negative_slope", negative_slope)
    if abs(a) > _MAX_SQUARED_LEAK:
        raise ValueError(
            f"negative_slope must have |a| <= {_MAX_SQUARED_LEAK:g} here (the moments use "
            f"a**2), got {a!r}"
        )
    return a


def propagate_second_moments(sizes: Sequence[int], weight_std: float, negative_slope: float,
                             input_ms: float = 1.0) -> tuple[FloatArray, FloatArray]:
    """Predicted forward and backward second moments through a zero-bias network.

    Parameters
    ----------
    sizes : sequence of int
        Widths ``(n_0, ..., n_L)``.
    weight_std : float or sequence of float
        Weight standard deviation, one for all layers or one per layer (``L`` entries).
    negative_slope : float
        Leak ``a`` of the hidden units.
    input_ms : float, default 1.0
        Mean square ``||x||**2 / n_0`` of the input.

    Returns
    -------
    forward : numpy.ndarray, shape (L,)
        Expected mean square of a pre-activation of layers ``1..L`` (the last is the output).
    backward : numpy.ndarray, shape (L - 1,)
        Expected mean square of the gradient with respect to a hidden activation ``h_l``,
        ``l = 1..L-1``, for an output cotangent with identity covariance.
    """
    sz = check_sizes("sizes", sizes)
    n_layers = len(sz) - 1
    stds = as_array("weight_std", weight_std).reshape(-1)
    if stds.size not in (1, n_layers) or np.ndim(weight_std) > 1:
        raise ValueError(
            f"weight_std must be one float or one per layer ({n_layers} entries), got shape "
            f"{np.shape(weight_std)}"
        )
    stds = np.broadcast_to(stds, (n_layers,)).copy()
    if np.any(stds < 0):
        raise ValueError(f"weight_std must be >= 0, got {weight_std!r}")
    a = _check_squared_leak(negative_slope)
    ms = check_real("input_ms", input_ms, low=0.0)
    c = (1.0 + a * a) / 2.0
    fwd = np.empty(n_layers)
    bwd = np.empty(n_layers - 1)
    with np.errstate(over="ignore", invalid="ignore"):  # checked below, by name
        fwd[0] = stds[0] ** 2 * sz[0] * ms
        for li in range(1, n_layers):
            fwd[li] = stds[li] ** 2 * sz[li] * c * fwd[li - 1]
        r = 1.0
        for li in range(n_layers - 1, 0, -1):
            # gradient w.r.t. h_l = W_{li+1}^T (phi' * grad of the layer above); fan_out = sz[li+1]
            r = stds[li] ** 2 * sz[li + 1] * r * (c if li < n_layers - 1 else 1.0)
            bwd[li - 1] = r
    if not (np.all(np.isfinite(fwd)) and np.all(np.isfinite(bwd))):
        raise ValueError(
            "the predicted second moments leave the float range: weight_std, negative_slope, "
            f"input_ms and the depth {n_layers} compound to more than 1.8e308"
        )
    return fwd, bwd


def measure_second_moments(mlp: MLP, x: ArrayLike,
                           cotangent: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Empirical counterpart of :func:`propagate_second_moments` for one network.

    Parameters
    ----------
    mlp : MLP
        The network.
    x : array_like, shape (n_samples, n_in)
        Inputs.
    cotangent : array_like, shape (n_samples, n_out)
        Output cotangents ``g``; the backward quantities are gradients of ``sum(g * f(x))``.

    Returns
    -------
    forward : numpy.ndarray, shape (L,)
        Mean square (over samples and units) of each layer's pre-activation.
    backward : numpy.ndarray, shape (L - 1,)
        Mean square of the gradient with respect to each hidden activation.
    """
    if not isinstance(mlp, MLP):
        raise TypeError(f"mlp must be an MLP, got {type(mlp).__name__}")
    x = mlp._check_x(x)
    if x.shape[0] == 0:
        raise ValueError("x must hold at least one sample (the moments are means), got 0")
    g = as_array("cotangent", cotangent, shape=(x.shape[0], mlp.sizes[-1]),
                 match=f"x ({x.shape[0]} rows) and the mlp's {mlp.sizes[-1]} output(s)")
    zs = mlp.preactivations(x)
    slopes = mlp.slopes_per_layer()
    fwd = np.array([np.mean(z * z) for z in zs])
    ws = mlp.weights
    bwd = np.empty(mlp.n_layers - 1)
    delta = g
    for li in range(mlp.n_layers - 1, 0, -1):
        dh = delta @ ws[li]
        bwd[li - 1] = np.mean(dh * dh)
        z = zs[li - 1]
        delta = dh * np.where(z > 0.0, 1.0, np.broadcast_to(slopes[li - 1], (z.shape[1],)))
    return fwd, bwd


def input_output_jacobian(mlp: MLP, x: ArrayLike) -> FloatArray:
    """Jacobian ``d f / d x`` at one input, ``prod_l W_l D_{li-1}`` with ``D = diag(phi'(z))``.

    Parameters
    ----------
    mlp : MLP
        The network.
    x : array_like, shape (n_in,)
        One input.

    Returns
    -------
    numpy.ndarray, shape (n_out, n_in)
    """
    if not isinstance(mlp, MLP):
        raise TypeError(f"mlp must be an MLP, got {type(mlp).__name__}")
    xv = as_array("x", x, ndim=1, shape=(mlp.sizes[0],))
    zs = mlp.preactivations(xv.reshape(1, -1))
    slopes = mlp.slopes_per_layer()
    ws = mlp.weights
    jac = ws[0]
    for li in range(1, mlp.n_layers):
        z = zs[li - 1][0]
        d = np.where(z > 0.0, 1.0, np.broadcast_to(slopes[li - 1], z.shape))
        jac = ws[li] @ (d[:, None] * jac)
    return jac


def jacobian_spectrum(width: int, depth: int, negative_slope: float, n_nets: int = 20,
                      init: str = "kaiming",
                      rng: int | np.random.Generator | None = None) -> FloatArray:
    """Squared singular values of the input-output Jacobian of random square networks.

    Parameters
    ----------
    width : int
        Width of the input, every hidden layer and the output.
    depth : int
        Number of hidden layers (>= 1); the network has ``depth + 1`` affine layers.
    negative_slope : float
        Leak ``a`` (0 gives ReLU).
    n_nets : int, default 20
        Number of independent networks (one random input each).
    init : {"kaiming", "orthogonal"}, default "kaiming"
        Weight initialisation (see :func:`~leaky_control.bridge.init.init_mlp`).
    rng : None, int or numpy.random.Generator
        Source of randomness.

    Returns
    -------
    numpy.ndarray, shape (n_nets, width)
        Squared singular values of ``J / sqrt(c)`` per network, where the output layer (linear,
        initialised with the hidden-layer gain) is divided by its gain ``c = 2/(1+a**2)`` so
        that Kaiming init gives ``E[mean(s**2)] = 1``.
    """
    width = check_int("width", width, low=1)
    depth = check_int("depth", depth, low=1)
    n_nets = check_int("n_nets", n_nets, low=1)
    # one network at a time: depth + 1 square layers, their parameters copied three times
    check_allocation("width", width, 3 * 8 * (depth + 1) * width * (width + 1),
                     f"the parameters of a depth-{depth} network")
    check_allocation("n_nets", n_nets, 8 * n_nets * width, "the result array")
    a = _check_squared_leak(negative_slope)
    init = check_choice("init", init, ("kaiming", "orthogonal"))
    g = as_rng(rng)
    act = "relu" if a == 0.0 else "leaky"
    gain2 = 2.0 / (1.0 + a * a)
    out = np.empty((n_nets, width))
    for k in range(n_nets):
        net = init_mlp([width] * (depth + 2), act, None if a == 0.0 else a, init=init, rng=g)
        x = g.normal(size=width)
        s = np.linalg.svd(input_output_jacobian(net, x), compute_uv=False)
        out[k] = s * s / gain2
    return out


def relu_dead_probability(width: int, depth: int) -> float:
    """Probability that a zero-bias ReLU network is dead at a given nonzero input.

    "Dead at x" means some hidden layer outputs the zero vector, so the output is locally
    constant and no gradient reaches any earlier parameter. With iid weights symmetric about 0
    and zero biases, each unit of a layer fed a nonzero vector is inactive with probability 1/2
    independently, so ``P = 1 - (1 - 2**-width)**depth``, which tends to 1 as depth grows at
    fixed width (Lu et al. 2019, "Dying ReLU and initialization").

    Parameters
    ----------
    width : int
        Width of every hidden layer, >= 1.
    depth : int
        Number of hidden layers, >= 0.

    Returns
    -------
    float
    """
    width = check_int("width", width, low=1)
    depth = check_int("depth", depth, low=0)
    return float(-np.expm1(depth * np.log1p(-(0.5**width))))


def is_dead_at(mlp: MLP, x: ArrayLike) -> NDArray[np.bool_]:
    """Whether the network is dead at each input: some hidden layer has no unit with ``phi' != 0``.

    Parameters
    ----------
    mlp : MLP
        The network. Leaky units with a nonzero slope are never dead.
    x : array_like, shape (n_samples, n_in)
        Inputs.

    Returns
    -------
    numpy.ndarray of bool, shape (n_samples,)
    """
    if not isinstance(mlp, MLP):
        raise TypeError(f"mlp must be an MLP, got {type(mlp).__name__}")
    x = mlp._check_x(x)
    zs = mlp.preactivations(x)
    slopes = mlp.slopes_per_layer()
    dead = np.zeros(x.shape[0], dtype=bool)
    for z, s in zip(zs[:-1], slopes, strict=True):
        zero = (z <= 0.0) & (np.broadcast_to(s, (z.shape[1],)) == 0.0)
        dead |= zero.all(axis=1)
    return dead
