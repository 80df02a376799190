r"""Invertible leaky flow layer, and BatchNorm -> leaky ReLU -> BatchNorm in eval mode.

Flow layer: ``y = phi_a(W x + b)`` with an invertible square ``W`` and ``a > 0`` is a bijection
of ``R^n`` with ``log|det dy/dx| = log|det W| + (number of z_i <= 0) * log a`` (the derivative
convention ``phi_a'(0) = a``), and inverse ``x = W^{-1} (phi_a^{-1}(y) - b)``. With ``a = 0``
(ReLU) the layer is not invertible.

BatchNorm in eval mode is the affine map ``s z + t`` per channel
(``s = gamma / sqrt(running_var + eps)``, ``t = beta - s * running_mean``). Because ``phi_a`` is
positively homogeneous, ``s2 * phi_a(s1 z + t1) + t2`` is again a leaky ReLU:
``scale * phi_a(sign * (z - center)) + offset`` with ``scale = s2 |s1|``, ``center = -t1 / s1``,
``sign = sign(s1)`` and ``offset = t2``. A negative ``gamma1`` *reflects* it (the leak acts for
``z > center``), so the collapse is a scaled, shifted, possibly reflected leaky ReLU, and a
negative ``gamma2`` flips it upside down (``scale < 0``). ``gamma1 = 0`` gives a constant.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..analysis._checks import as_array, check_real

if TYPE_CHECKING:
    from collections.abc import Mapping

    from numpy.typing import ArrayLike

    from .._typing import FloatArray

__all__ = ["LeakyFlowLayer", "ScaledLeaky", "collapse_batchnorm_leaky"]


def _leaky(z: FloatArray, a: float) -> FloatArray:
    return np.where(z >= 0.0, z, a * z)


@dataclass(frozen=True)
class LeakyFlowLayer:
    """Invertible layer ``y = phi_a(W x + b)``.

    Parameters
    ----------
    weight : array_like, shape (n, n)
        Invertible square matrix (torch layout: ``y_i = sum_j W_ij x_j``).
    bias : array_like, shape (n,)
        Bias.
    negative_slope : float
        Leak ``a > 0``.
    """

    weight: np.ndarray
    bias: np.ndarray
    negative_slope: float
    if TYPE_CHECKING:  # set by __post_init__, outside the fields
        _logdet_w: float = field(init=False)

    def __post_init__(self) -> None:
        w = as_array("weight", self.weight, ndim=2)
        if w.shape[0] != w.shape[1] or w.shape[0] == 0:
            raise ValueError(
                f"weight must be square (and non-empty) for an invertible layer, got shape "
                f"{w.shape}"
            )
        b = as_array("bias", self.bias, ndim=1, shape=(w.shape[0],), match=f"weight {w.shape}")
        a = check_real("negative_slope", self.negative_slope, low=0.0, low_open=True)
        sign, logdet = np.linalg.slogdet(w)
        cond = np.linalg.cond(w)
        if sign == 0 or not np.isfinite(cond) or cond > 1e12:
            raise ValueError(f"weight must be invertible, got condition number {cond:.3g}")
        object.__setattr__(self, "weight", w)
        object.__setattr__(self, "bias", b)
        object.__setattr__(self, "negative_slope", a)
        object.__setattr__(self, "_logdet_w", float(logdet))

    def _x(self, x: ArrayLike, name: str) -> tuple[FloatArray, bool]:
        arr = as_array(name, x)
        one = arr.ndim == 1
        arr2 = arr.reshape(1, -1) if one else arr
        if arr2.ndim != 2 or arr2.shape[1] != self.weight.shape[0]:
            raise ValueError(
                f"{name} must have shape (n_samples, {self.weight.shape[0]}), got {arr.shape}"
            )
        return arr2, one

    def forward(self, x: ArrayLike) -> tuple[FloatArray, FloatArray] | tuple[FloatArray, float]:
        """Apply the layer.

        Parameters
        ----------
        x : array_like, shape (n_samples, n) or (n,)
            Inputs.

        Returns
        -------
        y : numpy.ndarray
            Same shape as ``x``.
        logabsdet : numpy.ndarray or float
            ``log|det dy/dx|`` per sample (a float for a 1-D ``x``).
        """
        x2, one = self._x(x, "x")
        z = x2 @ self.weight.T + self.bias
        y = _leaky(z, self.negative_slope)
        ld = self._logdet_w + np.sum(z <= 0.0, axis=1) * np.log(self.negative_slope)
        return (y[0], float(ld[0])) if one else (y, ld)

    def inverse(self, y: ArrayLike) -> FloatArray:
        """Invert the layer.

        Parameters
        ----------
        y : array_like, shape (n_samples, n) or (n,)
            Outputs of :meth:`forward`.

        Returns
        -------
        numpy.ndarray
            ``x`` with ``forward(x)[0] == y``.
        """
        y2, one = self._x(y, "y")
        z = np.where(y2 >= 0.0, y2, y2 / self.negative_slope)
        x = np.linalg.solve(self.weight, (z - self.bias).T).T
        return x[0] if one else x


@dataclass(frozen=True)
class ScaledLeaky:
    """``f(z) = scale * phi_a(sign * (z - center)) + offset``, per channel (last axis).

    Parameters
    ----------
    scale, center, offset, sign : numpy.ndarray
        One entry per channel; ``sign`` is +1, -1 (reflected) or 0 (constant ``offset``).
    negative_slope : float
        The leak ``a``.
    """

    scale: np.ndarray
    center: np.ndarray
    offset: np.ndarray
    sign: np.ndarray
    negative_slope: float

    def __post_init__(self) -> None:
        arrs = {
            name: as_array(name, getattr(self, name)).reshape(-1)
            for name in ("scale", "center", "offset", "sign")
        }
        n = arrs["scale"].size
        for name, arr in arrs.items():
            if arr.size != n:
                raise ValueError(
                    f"{name} must have one entry per channel ({n}, like scale), got {arr.size}"
                )
        if not np.all(np.isin(arrs["sign"], (-1.0, 0.0, 1.0))):
            raise ValueError(f"sign must hold only -1, 0 or +1, got {arrs['sign']}")
        for name, arr in arrs.items():
            object.__setattr__(self, name, arr)
        object.__setattr__(
            self, "negative_slope", check_real("negative_slope", self.negative_slope)
        )

    def __call__(self, z: ArrayLike) -> FloatArray:
        """Evaluate on ``z`` of shape ``(..., n_channels)``.

        Parameters
        ----------
        z : array_like
            Pre-activations, channels on the last axis.

        Returns
        -------
        numpy.ndarray
        """
        zz = as_array("z", z)
        return (
            self.scale * _leaky(self.sign * (zz - self.center), self.negative_slope) + self.offset
        )


_BN_KEYS = ("weight", "bias", "running_mean", "running_var")


def _bn_affine(bn: Mapping[str, Any], name: str, eps: float) -> tuple[FloatArray, FloatArray]:
    if not isinstance(bn, dict):
        raise TypeError(f"{name} must be a dict with keys {_BN_KEYS}, got {type(bn).__name__}")
    missing = [k for k in _BN_KEYS if k not in bn]
    if missing:
        raise ValueError(f"{name} is missing keys {missing}; it needs {_BN_KEYS} (torch names)")
    arrs = [as_array(f"{name}[{k!r}]", bn[k]).reshape(-1) for k in _BN_KEYS]
    n = arrs[0].size
    if any(a.size != n for a in arrs):
        raise ValueError(
            f"{name} entries must all have one value per channel, "
            f"got sizes {[a.size for a in arrs]}"
        )
    gamma, beta, mean, var = arrs
    if np.any(var < 0):
        raise ValueError(f"{name}['running_var'] must be >= 0, got {var}")
    s = gamma / np.sqrt(var + eps)
    return s, beta - s * mean


def collapse_batchnorm_leaky(bn1: Mapping[str, Any], bn2: Mapping[str, Any], negative_slope: float,
                             eps: float = 1e-5) -> ScaledLeaky:
    """Collapse eval-mode ``BatchNorm -> leaky ReLU -> BatchNorm`` into one :class:`ScaledLeaky`.

    Parameters
    ----------
    bn1, bn2 : dict
        Eval-mode BatchNorm parameters with torch's names: ``"weight"`` (gamma), ``"bias"``
        (beta), ``"running_mean"``, ``"running_var"``; one value per channel.
    negative_slope : float
        Leak ``a`` between them.
    eps : float, default 1e-5
        BatchNorm's ``eps`` (torch default), > 0.

    Returns
    -------
    ScaledLeaky
        Equal to ``bn2(phi_a(bn1(z)))`` for every ``z``.
    """
    a = check_real("negative_slope", negative_slope, low=0.0)
    e = check_real("eps", eps, low=0.0, low_open=True)
    s1, t1 = _bn_affine(bn1, "bn1", e)
    s2, t2 = _bn_affine(bn2, "bn2", e)
    if s1.size != s2.size:
        raise ValueError(f"bn1 has {s1.size} channels but bn2 has {s2.size}")
    sign = np.sign(s1)
    safe = np.where(s1 == 0.0, 1.0, s1)
    center = np.where(s1 == 0.0, 0.0, -t1 / safe)
    scale = np.where(s1 == 0.0, 0.0, s2 * np.abs(s1))
    offset = np.where(s1 == 0.0, s2 * _leaky(t1, a) + t2, t2)
    return ScaledLeaky(scale=scale, center=center, offset=offset, sign=sign, negative_slope=a)
