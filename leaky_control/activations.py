r"""Leaky ReLU, ReLU and PReLU with their derivatives, inverse and log-determinant.

The leaky ReLU with slope ``a`` (``negative_slope``, the name torch and jax use) is

.. math:: \phi_a(x) = x \text{ if } x \ge 0 \text{ else } a x = x + (a - 1)\min(0, x),

the second, *residual* form showing it as the identity plus a correction that acts only on
negative inputs. ``a = 0`` is ReLU, ``a = 1`` the identity. For ``0 <= a <= 1`` the function is
slope-restricted in ``[a, 1]`` (every difference quotient lies in that interval), which is the
fact the analysis modules build on; for any real ``a`` it is Lipschitz with constant
``max(1, |a|)`` and positively homogeneous (``phi_a(c x) = c phi_a(x)`` for ``c >= 0``).

Derivative convention (as PyTorch): ``phi_a'(x) = 1`` for ``x > 0`` and ``a`` otherwise, so
``relu'(0) = 0`` and ``leaky'(0) = a``. PReLU's slope gets no gradient from ``x = 0``.

The numpy functions accept any array shape. The ``*_scalar`` functions are numba kernels for
the simulator; they are compiled on first call (and cached on disk), never at import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ._jit import cached_njit
from ._validate import check_finite_scalar

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

    from ._typing import FloatArray

__all__ = [
    "leaky_relu",
    "leaky_relu_grad",
    "leaky_relu_grad_scalar",
    "leaky_relu_inverse",
    "leaky_relu_logabsdet",
    "leaky_relu_scalar",
    "prelu",
    "prelu_backward",
    "prelu_grad_input",
    "prelu_grad_weight",
    "relu",
]


def _array(x: ArrayLike, name: str = "x") -> FloatArray:
    if np.iscomplexobj(x):
        raise TypeError(f"{name} must be real, got complex values ({np.asarray(x).dtype}); "
                        "the activations are defined on real numbers only")
    arr = np.asarray(x, dtype=np.float64)
    if np.isnan(arr).any():
        raise ValueError(f"{name} contains NaN; activations are defined on real numbers only")
    return arr


def relu(x: ArrayLike) -> FloatArray:
    """Rectified linear unit ``max(0, x)``.

    Parameters
    ----------
    x : array_like
        Input.

    Returns
    -------
    numpy.ndarray
        ``max(0, x)`` elementwise, float64.
    """
    return np.maximum(_array(x), 0.0)


def leaky_relu(x: ArrayLike, negative_slope: float = 0.01) -> FloatArray:
    """Leaky ReLU ``x if x >= 0 else negative_slope * x``.

    Parameters
    ----------
    x : array_like
        Input.
    negative_slope : float, default 0.01
        Slope ``a`` for negative inputs; any finite real (``0`` is ReLU, ``1`` the identity).

    Returns
    -------
    numpy.ndarray
        ``x`` where ``x >= 0``, ``negative_slope * x`` elsewhere, float64.
    """
    a = check_finite_scalar("negative_slope", negative_slope)
    arr = _array(x)
    # not x + (a - 1) min(0, x): for a small slope that sum cancels and lost ~log10(1/a)
    # digits (a = 0.001: a finite-difference Jacobian off by 4e-7 relative)
    # a = 0 is relu: 0 for every negative input, -inf included (0 * -inf would be NaN)
    return np.where(arr >= 0.0, arr, a * arr if a != 0.0 else 0.0)


def leaky_relu_grad(x: ArrayLike, negative_slope: float = 0.01) -> FloatArray:
    """Derivative of :func:`leaky_relu`: ``1`` where ``x > 0``, ``negative_slope`` elsewhere.

    Parameters
    ----------
    x : array_like
        Input.
    negative_slope : float, default 0.01
        Slope ``a``; ``leaky_relu_grad(0, a) == a`` (PyTorch's convention).

    Returns
    -------
    numpy.ndarray
    """
    a = check_finite_scalar("negative_slope", negative_slope)
    return np.where(_array(x) > 0.0, 1.0, a)


def _prelu_weight(x: FloatArray, weight: ArrayLike) -> FloatArray:
    w = np.asarray(weight, dtype=np.float64)
    if not np.all(np.isfinite(w)):
        raise ValueError(f"weight must be finite, got {weight!r}")
    if w.ndim > 1:
        raise ValueError(f"weight must be a scalar or 1-D (one slope per channel), got shape {w.shape}")
    if w.ndim == 1 and w.size != 1:
        if x.ndim == 0 or x.shape[-1] != w.size:
            raise ValueError(
                f"weight has {w.size} channels but x has shape {x.shape}; "
                "per-channel weights apply along the last axis of x"
            )
    elif w.ndim == 1:
        w = w.reshape(())
    return w


def prelu(x: ArrayLike, weight: ArrayLike) -> FloatArray:
    """Parametric ReLU ``max(0, x) + weight * min(0, x)`` with a learnable slope.

    Parameters
    ----------
    x : array_like
        Input, batch first; channels on the last axis.
    weight : float or array_like
        One slope, or one slope per channel (shape ``(x.shape[-1],)``).

    Returns
    -------
    numpy.ndarray
    """
    arr = _array(x)
    w = _prelu_weight(arr, weight)
    return np.maximum(arr, 0.0) + w * np.minimum(arr, 0.0)


def prelu_grad_input(x: ArrayLike, weight: ArrayLike) -> FloatArray:
    """Derivative of :func:`prelu` with respect to ``x``: ``1`` where ``x > 0``, ``weight`` elsewhere."""
    arr = _array(x)
    w = _prelu_weight(arr, weight)
    return np.where(arr > 0.0, 1.0, w * np.ones_like(arr))


def prelu_grad_weight(x: ArrayLike, weight: ArrayLike) -> FloatArray:
    """Elementwise derivative of :func:`prelu` with respect to its slope: ``min(0, x)``.

    It is zero at ``x = 0``, so a slope learns nothing from inputs exactly at the kink.
    """
    arr = _array(x)
    _prelu_weight(arr, weight)
    return np.minimum(arr, 0.0)


def prelu_backward(x: ArrayLike, weight: ArrayLike,
                   grad_output: ArrayLike) -> tuple[FloatArray, float | FloatArray]:
    """Back-propagate through :func:`prelu`.

    Parameters
    ----------
    x : array_like
        The input of the forward pass.
    weight : float or array_like
        Scalar slope or one slope per channel (last axis).
    grad_output : array_like
        Gradient of the loss with respect to the output, same shape as ``x``.

    Returns
    -------
    grad_x : numpy.ndarray
        Same shape as ``x``.
    grad_weight : float or numpy.ndarray
        Summed over every axis but the channel axis; a float for a scalar slope.
    """
    arr = _array(x)
    g = _array(grad_output, "grad_output")
    if g.shape != arr.shape:
        raise ValueError(f"grad_output must have the shape of x {arr.shape}, got {g.shape}")
    w_in = np.asarray(weight, dtype=np.float64)
    w = _prelu_weight(arr, weight)
    grad_x = g * np.where(arr > 0.0, 1.0, w * np.ones_like(arr))
    contrib = g * np.minimum(arr, 0.0)
    if w_in.ndim == 1 and w_in.size > 1:
        grad_w = contrib.reshape(-1, arr.shape[-1]).sum(axis=0)
    else:
        grad_w = float(contrib.sum())
        if w_in.ndim == 1:
            grad_w = np.array([grad_w])
    return grad_x, grad_w


def leaky_relu_inverse(y: ArrayLike, negative_slope: float = 0.01) -> FloatArray:
    """Inverse of :func:`leaky_relu`, defined for ``negative_slope > 0``.

    Parameters
    ----------
    y : array_like
        Output of a leaky ReLU.
    negative_slope : float, default 0.01
        Slope ``a > 0`` (for ``a <= 0`` the map is not injective).

    Returns
    -------
    numpy.ndarray
        ``y if y >= 0 else y / a``.
    """
    a = check_finite_scalar("negative_slope", negative_slope, low=0.0, low_open=True)
    arr = _array(y, "y")
    return np.where(arr >= 0.0, arr, arr / a)


def leaky_relu_logabsdet(x: ArrayLike, negative_slope: float = 0.01) -> float | FloatArray:
    """``log |det J|`` of the elementwise leaky ReLU, as used by invertible flow layers.

    The Jacobian is diagonal with entries :func:`leaky_relu_grad`, so the log-determinant is
    ``log|a|`` times the number of non-positive entries.

    Parameters
    ----------
    x : array_like
        Input; a 1-D array is one sample, otherwise samples are on the leading axes and
        features on the last axis.
    negative_slope : float, default 0.01
        Slope ``a``, nonzero (``a = 0`` makes the Jacobian singular).

    Returns
    -------
    float or numpy.ndarray
        One value per sample (shape ``x.shape[:-1]``); a float for a 1-D input.
    """
    a = check_finite_scalar("negative_slope", negative_slope)
    if a == 0.0:
        raise ValueError("negative_slope must be nonzero for a log-determinant (ReLU is not invertible)")
    arr = _array(x)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    out = np.sum(arr <= 0.0, axis=-1) * np.log(abs(a))
    return float(out) if np.ndim(out) == 0 else out


@cached_njit(inline="always")
def leaky_relu_scalar(x: float, a: float) -> float:
    """numba kernel: ``x if x >= 0 else a * x`` for floats."""
    return x if x >= 0.0 else a * x


@cached_njit(inline="always")
def leaky_relu_grad_scalar(x: float, a: float) -> float:
    """numba kernel: ``1`` if ``x > 0`` else ``a``."""
    return 1.0 if x > 0.0 else a
