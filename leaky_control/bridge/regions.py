r"""Exact linear pieces of a one-input network on an interval.

On a piece where every hidden unit keeps its sign, the network is affine in the input. Going
layer by layer, each unit's pre-activation is affine on each current piece, so it changes sign
at most once there: its root is a candidate breakpoint. After the last hidden layer, adjacent
pieces whose output slopes are equal are merged (the function is continuous, so equal slopes
mean the same affine map); what remains is the exact number of linear regions.

Maximal counts, verified in the tests: with one hidden layer of width ``n`` both ReLU and leaky
networks reach ``n + 1`` pieces. Beyond one hidden layer the common upper bound
``prod(n_l + 1)`` is the same, but the *maxima* can differ: a width-1 ReLU network of any depth
has at most 3 pieces (a ReLU flattens a half-line of its input and merges every piece there),
while a width-1 leaky network of depth ``L`` reaches ``L + 1``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..analysis._checks import as_array, check_real
from .mlp import MLP

if TYPE_CHECKING:
    from collections.abc import Sequence

    from .._typing import FloatArray

__all__ = ["count_linear_regions", "linear_pieces"]


def _check(mlp: MLP, interval: Any) -> tuple[float, float]:
    if not isinstance(mlp, MLP):
        raise TypeError(f"mlp must be an MLP, got {type(mlp).__name__}")
    if mlp.sizes[0] != 1:
        raise ValueError(f"mlp must have one input (sizes[0] == 1), got sizes {mlp.sizes}")
    iv = as_array("interval", interval, ndim=1, shape=(2,))
    if not iv[0] < iv[1]:
        raise ValueError(f"interval must be (low, high) with low < high, got {tuple(iv)}")
    if not np.isfinite(float(iv[1]) - float(iv[0])):  # Python floats: inf, no warning
        # the breakpoint tolerance is relative to high - low: an infinite width would merge
        # every piece into one and silently report a single region
        raise ValueError(
            f"interval must have a finite width high - low, got {tuple(float(v) for v in iv)}"
        )
    return float(iv[0]), float(iv[1])


def _affine_maps(ws: Sequence[FloatArray], bs: Sequence[FloatArray], slopes: Sequence[FloatArray],
                 mids: FloatArray, n_hidden: int) -> tuple[FloatArray, FloatArray]:
    """Slope and intercept (in x) of the pre-activations of layer ``n_hidden`` at each piece."""
    p = mids.size
    s = np.tile(ws[0][:, 0], (p, 1))
    c = np.tile(bs[0], (p, 1))
    for li in range(n_hidden):
        z = s * mids[:, None] + c
        d = np.where(z > 0.0, 1.0, np.broadcast_to(slopes[li], (z.shape[1],)))
        s = (d * s) @ ws[li + 1].T
        c = (d * c) @ ws[li + 1].T + bs[li + 1]
    return s, c


def linear_pieces(mlp: MLP, interval: tuple[float, float],
                  rtol: float = 1e-9) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Breakpoints and affine maps of a one-input network on ``interval``.

    Parameters
    ----------
    mlp : MLP
        A network with ``sizes[0] == 1`` (any output width).
    interval : tuple of float
        ``(low, high)`` with ``low < high``.
    rtol : float, default 1e-9
        Relative tolerance when deciding two adjacent pieces have the same slope, in ``[0, 1)``.

    Returns
    -------
    breakpoints : numpy.ndarray
        ``low, b_1, ..., high``: the pieces are the intervals between consecutive entries.
    slopes : numpy.ndarray, shape (n_pieces, n_out)
        ``d f / d x`` on each piece.
    intercepts : numpy.ndarray, shape (n_pieces, n_out)
        ``f(x) = slopes * x + intercepts`` on each piece.
    """
    lo, hi = _check(mlp, interval)
    rtol = check_real("rtol", rtol, low=0.0, high=1.0, high_open=True)
    ws, bs, slopes = mlp.weights, mlp.biases, mlp.slopes_per_layer()
    bps = np.array([lo, hi])
    for li in range(mlp.n_layers - 1):
        mids = 0.5 * (bps[:-1] + bps[1:])
        s, c = _affine_maps(ws, bs, slopes, mids, li)
        with np.errstate(divide="ignore", invalid="ignore"):
            roots = -c / s
        inside = (s != 0.0) & (roots > bps[:-1, None]) & (roots < bps[1:, None])
        # a root can equal an existing kink up to rounding (e.g. a unit fed by a single active
        # unit of the layer below); a sliver piece there would be evaluated on the wrong side
        tol = 1e-12 * (hi - lo)
        inner = np.unique(np.concatenate([bps[1:-1], roots[inside]]))
        inner = inner[(inner - lo > tol) & (hi - inner > tol)]
        if inner.size:
            inner = inner[np.concatenate([[True], np.diff(inner) > tol])]
        bps = np.concatenate([[lo], inner, [hi]])
    mids = 0.5 * (bps[:-1] + bps[1:])
    s, c = _affine_maps(ws, bs, slopes, mids, mlp.n_layers - 1)
    keep = [0]
    for k in range(1, s.shape[0]):
        ref = s[keep[-1]]
        with np.errstate(over="ignore"):  # slopes near 1e308: an infinite tolerance
            same = np.allclose(s[k], ref, rtol=rtol,
                               atol=rtol * max(1.0, float(np.max(np.abs(ref)))))
        if not same:
            keep.append(k)
    new_bps = np.concatenate([[lo], bps[1:-1][np.array(keep[1:], dtype=int) - 1], [hi]])
    return new_bps, s[keep], c[keep]


def count_linear_regions(mlp: MLP, interval: tuple[float, float]) -> int:
    """Exact number of linear pieces of a one-input network on ``interval``.

    Parameters
    ----------
    mlp : MLP
        A network with one input.
    interval : tuple of float
        ``(low, high)`` with ``low < high``.

    Returns
    -------
    int
    """
    return len(linear_pieces(mlp, interval)[0]) - 1
