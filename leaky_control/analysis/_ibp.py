"""Interval bound propagation and local sectors for network controllers on a box of states.

Private helper of :mod:`leaky_control.analysis.nn_loop`. Inputs arrive validated.

The region-of-attraction certificate (Yin, Seiler & Arcak, IEEE TAC 2022) replaces the global
slope bounds ``[a, 1]`` of each hidden unit by the range of its *chord* slopes
``(phi(z) - phi(z*)) / (z - z*)`` over the pre-activations ``z`` the unit can take while the
state stays in a box; ``z*`` is the unit's pre-activation at the equilibrium. Interval bound
propagation gives a (sound, usually loose) enclosure ``[z_lo, z_hi]`` of those pre-activations.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

__all__: list[str] = []

FloatArray = NDArray[np.float64]

# Global minimum of sin(y)/y (at y = 4.4934..., the first root of tan y = y): a chord-slope lower
# bound of sin about 0 valid for any range, used when the range leaves (-pi, pi).
SINC_MIN = -0.21723362821122166


def leaky(z: FloatArray, a: float) -> FloatArray:
    """The leaky ReLU ``max(z, a z)`` (valid for ``a`` in ``[0, 1]``)."""
    return np.where(z >= 0.0, z, a * z)


def interval_bounds(
    weights: list[FloatArray], biases: list[FloatArray], a: float,
    lo: FloatArray, hi: FloatArray,
) -> tuple[list[FloatArray], list[FloatArray], FloatArray, FloatArray]:
    """Pre-activation bounds of every hidden layer and of the output for states in ``[lo, hi]``.

    Returns ``(z_lo, z_hi, u_lo, u_hi)``: lists with one array per hidden layer and the bounds
    of the (unsaturated) network output. Centre-radius form: ``c' = W c + b``,
    ``r' = |W| r``, which is exact for one affine layer on a box; the activation is monotone,
    so its image of ``[z_lo, z_hi]`` is ``[phi(z_lo), phi(z_hi)]``.
    """
    c = 0.5 * (lo + hi)
    r = 0.5 * (hi - lo)
    z_lo: list[FloatArray] = []
    z_hi: list[FloatArray] = []
    for w, b in zip(weights[:-1], biases[:-1], strict=True):
        zc = w @ c + b
        zr = np.abs(w) @ r
        zl, zh = zc - zr, zc + zr
        z_lo.append(zl)
        z_hi.append(zh)
        vl, vh = leaky(zl, a), leaky(zh, a)
        c, r = 0.5 * (vl + vh), 0.5 * (vh - vl)
    uc = weights[-1] @ c + biases[-1]
    ur = np.abs(weights[-1]) @ r
    return z_lo, z_hi, uc - ur, uc + ur


def chord_slopes_leaky(
    z_lo: FloatArray, z_hi: FloatArray, z_star: FloatArray, a: float,
) -> tuple[FloatArray, FloatArray]:
    """Range ``[alpha, beta]`` of ``(phi_a(z) - phi_a(z*)) / (z - z*)`` for ``z_lo <= z <= z_hi``.

    ``z*`` must lie in ``[z_lo, z_hi]``. On the side of the kink where ``z*`` lies the chord
    slope equals that side's slope (1 or ``a``); across the kink it moves monotonically towards
    the other slope, so its extreme is at the far endpoint. A unit that never changes sign on
    the box gets ``alpha = beta`` (1 or ``a``): exactly linear there.
    """
    alpha = np.empty_like(z_star)
    beta = np.empty_like(z_star)
    for i, (zl, zh, zs) in enumerate(zip(z_lo, z_hi, z_star, strict=True)):
        if zl >= 0.0:
            alpha[i] = beta[i] = 1.0
        elif zh <= 0.0:
            alpha[i] = beta[i] = a
        elif zs >= 0.0:
            # the chord from z* to z_lo < 0 has the smallest slope
            alpha[i] = (a * zl - zs) / (zl - zs)
            beta[i] = 1.0
        else:
            alpha[i] = a
            beta[i] = (zh - a * zs) / (zh - zs)
    # rounding may leave a slope a few ulps outside [a, 1]; the sector must still contain them
    alpha = np.clip(alpha, a, 1.0)
    beta = np.clip(beta, a, 1.0)
    return alpha, beta


def chord_slopes_sat(
    u_lo: FloatArray, u_hi: FloatArray, u_star: FloatArray, u_max: FloatArray,
) -> tuple[FloatArray, FloatArray]:
    """Chord slopes of ``sat(u) = clip(u, -u_max, u_max)`` about ``u*``, ``u_lo <= u <= u_hi``.

    ``|u*| < u_max`` is assumed (the equilibrium does not saturate). The chord slope is 1 while
    ``u`` stays in the linear range and decreases monotonically beyond it, so its minimum is at
    the endpoint further into saturation; ``beta = 1``.
    """
    alpha = np.ones_like(u_star)
    for i, (ul, uh, us, um) in enumerate(zip(u_lo, u_hi, u_star, u_max, strict=True)):
        for end in (ul, uh):
            if abs(end) > um and end != us:
                s = (float(np.clip(end, -um, um)) - us) / (end - us)
                alpha[i] = min(alpha[i], s)
    return np.clip(alpha, 0.0, 1.0), np.ones_like(u_star)


def chord_slopes_sin(y_lo: float, y_hi: float) -> tuple[float, float]:
    """Range of ``sin(y) / y`` (the chord slope of sin about 0) for ``y`` in ``[y_lo, y_hi]``.

    ``sin(y)/y`` is even, equals 1 at 0 and decreases on ``[0, pi]``; beyond ``pi`` its global
    minimum :data:`SINC_MIN` is used (sound, not tight).
    """
    r = max(abs(y_lo), abs(y_hi))
    if r == 0.0:
        return 1.0, 1.0
    if r <= math.pi:
        return math.sin(r) / r, 1.0
    return SINC_MIN, 1.0
