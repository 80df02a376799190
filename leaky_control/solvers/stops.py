"""Where adaptive steps must end: kinks of the piecewise-linear signals, controller samples.

Shared by every adaptive solver (:mod:`.explicit_rk`, :mod:`.rosenbrock`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .._jit import cached_njit

if TYPE_CHECKING:
    from .._typing import FloatArray, IntArray

__all__ = ["STOP_REL", "kink_stops", "next_sample", "signal_stops"]

#: relative threshold for a slope change of a signal to count as a kink (see signal_stops)
STOP_REL = 1e-8


@cached_njit
def _channel_ranges(sig: FloatArray) -> FloatArray:
    out = np.empty(sig.shape[0])
    for c in range(sig.shape[0]):
        lo = sig[c, 0]
        hi = sig[c, 0]
        for i in range(sig.shape[1]):
            lo = min(lo, sig[c, i])
            hi = max(hi, sig[c, i])
        out[c] = hi - lo
    return out


@cached_njit
def _has_kink(t_out: FloatArray, sig: FloatArray, rng: FloatArray, j: int, rel: float,
              span: float) -> bool:
    for c in range(sig.shape[0]):
        s0 = (sig[c, j] - sig[c, j - 1]) / (t_out[j] - t_out[j - 1])
        s1 = (sig[c, j + 1] - sig[c, j]) / (t_out[j + 1] - t_out[j])
        if abs(s1 - s0) > rel * (max(abs(s0), abs(s1)) + rng[c] / span):
            return True
    return False


@cached_njit
def kink_stops(t_out: FloatArray, r_sig: FloatArray, d_sig: FloatArray,
               rel: float) -> tuple[IntArray, int]:
    """``(stops, count)``: ``stops[:count]`` are the indices of output times where a signal
    changes slope, then the last index (the array is not sliced: the kernel reads up to the
    last index). See :func:`signal_stops` for the threshold."""
    nt = t_out.size
    span = t_out[nt - 1] - t_out[0]
    rr = _channel_ranges(r_sig)
    rd = _channel_ranges(d_sig)
    stops = np.empty(nt, dtype=np.int64)
    count = 0
    for j in range(1, nt - 1):
        if _has_kink(t_out, r_sig, rr, j, rel, span) or _has_kink(t_out, d_sig, rd, j, rel, span):
            stops[count] = j
            count += 1
    stops[count] = nt - 1
    return stops, count + 1


@cached_njit
def next_sample(t_out: FloatArray, t0: float, dts: float, nsample: int) -> float:
    """Sample instant ``t0 + nsample dts``, snapped down to an output time 1e-12 below it
    (the fixed-step kernel's rule, so both kernels sample at the same instants)."""
    ts = t0 + nsample * dts
    j = np.searchsorted(t_out, ts) - 1
    if j >= 0 and ts - t_out[j] <= 1e-12 * max(1.0, abs(t_out[j])):
        return t_out[j]
    return ts


def signal_stops(t: FloatArray, *signals: FloatArray, rel: float = STOP_REL) -> IntArray:
    """Indices of output times where a piecewise-linear signal changes slope, plus the last.

    The kernel computes the same stops itself (:func:`kink_stops`); this wrapper is for
    inspection and tests.

    Parameters
    ----------
    t : numpy.ndarray
        Output times, strictly increasing, shape ``(T,)``.
    *signals : numpy.ndarray
        One or two arrays of shape ``(channels, T)`` given on ``t`` (reference, disturbance).
    rel : float, default 1e-8
        A slope change counts as a kink when it exceeds ``rel`` times the larger of the two
        slopes plus ``rel`` times the signal's range over the time span. Below that, slope
        changes are rounding in the samples (a ramp written as ``c * (t - t1)`` on
        ``linspace`` times), and a step across one is still checked by the error estimate.

    Returns
    -------
    numpy.ndarray of int64
        Sorted indices into ``t``; the adaptive kernel ends a step at each of them.
    """
    t = np.ascontiguousarray(t, dtype=np.float64)
    sig = [np.ascontiguousarray(np.atleast_2d(s), dtype=np.float64) for s in signals]
    while len(sig) < 2:
        sig.append(np.zeros((1, t.size)))
    stops, count = kink_stops(t, sig[0], sig[1], float(rel))
    return stops[:count]
