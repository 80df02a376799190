r"""Kaiming (He) initialisation for leaky ReLU networks, and :func:`init_mlp`.

``kaiming_std(fan, a) = sqrt(2 / ((1 + a**2) * fan))`` makes the per-layer second-moment
factor ``std**2 * fan * (1 + a**2) / 2`` equal to one (see :mod:`leaky_control.bridge.stats`).
With ``mode="fan_in"`` the forward signal keeps its second moment, with ``"fan_out"`` the
back-propagated gradient does; they differ only where widths change.

PyTorch pitfalls this module avoids
-----------------------------------
* ``torch.nn.init.kaiming_normal_(w, a=0, mode="fan_in", nonlinearity="leaky_relu")`` has
  ``a = 0`` by default, i.e. the *ReLU* gain ``sqrt(2)``, even when the network uses a leak;
  pass ``a=negative_slope``. Here ``negative_slope`` has no default, on purpose.
* ``torch.nn.Linear``'s own default is ``kaiming_uniform_(a=sqrt(5))``, weight variance
  ``1 / (3 * fan_in)``: the per-layer factor is ``(1/3)(1 + a**2)/2``, about ``1/6`` for ReLU,
  so signals shrink geometrically with depth. ``init="torch_default"`` reproduces it.
* torch computes ``fan_in`` from ``weight.shape[1]`` and ``fan_out`` from ``weight.shape[0]``,
  the ``(n_out, n_in)`` layout used here too.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from ..analysis._checks import (
    check_allocation,
    check_choice,
    check_int,
    check_real,
    check_seed,
    check_sizes,
    is_sequence,
    short_repr,
)
from .mlp import ACTIVATIONS, MLP

if TYPE_CHECKING:
    from collections.abc import Sequence

    from .._typing import FloatArray

__all__ = ["as_rng", "init_mlp", "kaiming_normal", "kaiming_std"]

_INITS = ("kaiming", "kaiming_uniform", "orthogonal", "torch_default")


def as_rng(rng: int | np.random.Generator | None, name: str = "rng") -> np.random.Generator:
    """Return a ``numpy.random.Generator`` from ``None``, an int seed or a Generator.

    Parameters
    ----------
    rng : None, int or numpy.random.Generator
        Source of randomness (a non-negative integer seed; not a bool).
    name : str, default "rng"
        Parameter name used in the error message.

    Returns
    -------
    numpy.random.Generator
    """
    rng = check_seed(name, rng)
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(rng)


def kaiming_std(fan: float, negative_slope: float) -> float:
    """Standard deviation ``sqrt(2 / ((1 + a**2) * fan))`` of Kaiming-normal weights.

    Parameters
    ----------
    fan : int
        Number of inputs (``mode="fan_in"``) or outputs (``"fan_out"``) of the layer, >= 1.
    negative_slope : float
        The leak ``a`` of the units the layer feeds (0 for ReLU). No default, unlike torch's
        ``a=0``, which silently gives the ReLU gain to leaky networks.

    Returns
    -------
    float
    """
    fan = check_int("fan", fan, low=1)
    a = check_real("negative_slope", negative_slope)
    return float(np.sqrt(2.0 / fan) * _inv_hypot(a))


def _inv_hypot(a: float) -> float:
    """``1 / sqrt(1 + a**2)`` without overflow: beyond 1e150, ``1 + a**2`` is ``a**2`` in
    float64 and squaring would overflow (``kaiming_std`` used to return 0 there)."""
    return 1.0 / math.sqrt(1.0 + a * a) if abs(a) <= 1e150 else 1.0 / abs(a)


def _fan(shape: Sequence[int], mode: str) -> int:
    mode = check_choice("mode", mode, ("fan_in", "fan_out"))
    return int(shape[1] if mode == "fan_in" else shape[0])


def _check_shape(shape: Any) -> tuple[int, ...]:
    if not (is_sequence(shape) or (isinstance(shape, np.ndarray) and shape.ndim == 1)):
        raise TypeError(
            f"shape must be a pair of positive integers (n_out, n_in), got {short_repr(shape)} of "
            f"type {type(shape).__name__}"
        )
    if len(shape) != 2:
        raise ValueError(
            f"shape must be a pair of positive integers (n_out, n_in), got {short_repr(shape)}"
        )
    shp = tuple(check_int(f"shape[{i}]", s, low=1) for i, s in enumerate(shape))
    check_allocation("shape", shape, 8 * shp[0] * shp[1], "a float64 weight matrix")
    return shp


def kaiming_normal(shape: int | Sequence[int], negative_slope: float,
                   mode: str = "fan_in",
                   rng: int | np.random.Generator | None = None) -> FloatArray:
    """Draw a ``(n_out, n_in)`` weight matrix with iid ``N(0, kaiming_std(fan, a)**2)`` entries.

    Parameters
    ----------
    shape : tuple of int
        ``(n_out, n_in)``, the ``torch.nn.Linear.weight`` layout.
    negative_slope : float
        Leak ``a`` of the following nonlinearity (0 for ReLU).
    mode : {"fan_in", "fan_out"}, default "fan_in"
        ``"fan_in"`` (``shape[1]``) preserves forward second moments, ``"fan_out"``
        (``shape[0]``) preserves back-propagated ones.
    rng : None, int or numpy.random.Generator
        Source of randomness.

    Returns
    -------
    numpy.ndarray
    """
    shp = _check_shape(shape)
    std = kaiming_std(_fan(shp, mode), negative_slope)
    return as_rng(rng).normal(0.0, std, size=shp)


def _orthogonal(shape: Sequence[int], gain: float,
                rng: np.random.Generator) -> FloatArray:
    n_out, n_in = shape
    q, r = np.linalg.qr(rng.normal(size=(max(shape), min(shape))))
    q = q * np.sign(np.diag(r))  # Haar-distributed, as torch.nn.init.orthogonal_
    if n_out < n_in:
        q = q.T
    return gain * q


def init_mlp(sizes: Sequence[int], activation: str = "leaky",
             negative_slope: float | None = None,
             init: str = "kaiming",
             mode: str = "fan_in",
             rng: int | np.random.Generator | None = None, bias: float = 0.0,
             prelu_slopes: str = "layer") -> MLP:
    """Build a randomly initialised :class:`MLP`.

    Parameters
    ----------
    sizes : sequence of int
        Layer widths ``(n_in, hidden..., n_out)``, at least two entries, all integers >= 1
        (Python or numpy integers; floats such as ``3.5`` or ``3.0``, bools and strings are
        refused, as is a network too large for the available memory).
    activation : {"relu", "leaky", "prelu"}, default "leaky"
        Hidden nonlinearity.
    negative_slope : float, optional
        Leak ``a`` (default 0.01 for "leaky" and "prelu", where it is the initial slope; must
        be omitted or 0 for "relu"). It also sets the Kaiming gain.
    init : {"kaiming", "kaiming_uniform", "orthogonal", "torch_default"}, default "kaiming"
        ``"kaiming"``: normal with :func:`kaiming_std`; ``"kaiming_uniform"``: uniform with the
        same variance; ``"orthogonal"``: Haar-orthogonal scaled by the gain
        ``sqrt(2 / (1 + a**2))`` (the scaling is exact for square layers); ``"torch_default"``:
        ``nn.Linear``'s default (weights and biases ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``;
        ``bias`` and ``mode`` are then ignored).
    mode : {"fan_in", "fan_out"}, default "fan_in"
        Which fan the Kaiming variance uses.
    rng : None, int or numpy.random.Generator
        Source of randomness.
    bias : float, default 0.0
        Constant initial bias of every layer (a negative value makes units start dead).
    prelu_slopes : {"layer", "unit"}, default "layer"
        For "prelu": one slope per layer or per unit.

    Returns
    -------
    MLP
    """
    sz = check_sizes("sizes", sizes)
    # weights and biases, the flat parameter vector and the MLP's copy of it
    n_params = sum(sz[i + 1] * (sz[i] + 1) for i in range(len(sz) - 1))
    check_allocation("sizes", sizes, 3 * 8 * n_params, "parameter arrays")
    activation = check_choice("activation", activation, ACTIVATIONS)
    init = check_choice("init", init, _INITS)
    mode = check_choice("mode", mode, ("fan_in", "fan_out"))
    b0 = check_real("bias", bias)
    default_slope = 0.0 if activation == "relu" else 0.01
    gain_slope = (
        default_slope if negative_slope is None else check_real("negative_slope", negative_slope)
    )
    g = as_rng(rng)
    weights, biases = [], []
    for li in range(len(sz) - 1):
        shape = (sz[li + 1], sz[li])
        if init == "kaiming":
            w = kaiming_normal(shape, gain_slope, mode, g)
            b = np.full(sz[li + 1], b0)
        elif init == "kaiming_uniform":
            bound = np.sqrt(3.0) * kaiming_std(_fan(shape, mode), gain_slope)
            w = g.uniform(-bound, bound, size=shape)
            b = np.full(sz[li + 1], b0)
        elif init == "orthogonal":
            w = _orthogonal(shape, math.sqrt(2.0) * _inv_hypot(gain_slope), g)
            b = np.full(sz[li + 1], b0)
        else:
            bound = 1.0 / np.sqrt(sz[li])
            w = g.uniform(-bound, bound, size=shape)
            b = g.uniform(-bound, bound, size=sz[li + 1])
        weights.append(w)
        biases.append(b)
    return MLP(weights, biases, activation, negative_slope, prelu_slopes=prelu_slopes)
