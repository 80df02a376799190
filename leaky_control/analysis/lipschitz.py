r"""Lipschitz constants of Leaky-ReLU networks: sound upper bounds, exact values, lower bounds.

Network convention: ``weights[k]`` has shape ``(n_out, n_in)``, ``biases[k]`` shape ``(n_out,)``;
the hidden layers compute ``h = phi_a(W h + b)`` and the last layer is linear,

.. math:: f(x) = W_L\,\phi_a(W_{L-1} \cdots \phi_a(W_1 x + b_1) \cdots + b_{L-1}) + b_L .

Everything here rests on one fact: for ``0 <= a <= 1`` the leaky ReLU is slope-restricted in
``[a, 1]``, so wherever ``f`` is differentiable its Jacobian is
``W_L D_{L-1} W_{L-1} \cdots D_1 W_1`` with diagonal ``D_k`` whose entries lie in ``{a, 1}``.

Which method accepts which ``negative_slope``:

===================  ==================  =====================================================
method               negative_slope      what ``value`` is (``certified`` = sound upper bound)
===================  ==================  =====================================================
``"naive"``          any finite real     ``prod |W_k| * max(1, |a|)^(L-1)``; certified
``"lipsdp"``         ``[0, 1]``          LipSDP-Neuron, one multiplier per neuron; certified
                                         only after the numpy re-check of its multipliers
``"lipsdp-layer"``   ``[0, 1]``          LipSDP with one multiplier per layer; same re-check
``"exact"``          any finite real     one hidden layer: ``max_{D in {a,1}^n} |W2 D W1|``,
                                         the constant maximised over all biases; certified
``"exact-regions"``  any finite real     one hidden layer, given biases, input dim <= 3: the
                                         maximum over the regions those biases create; a true
                                         lower bound, exact unless a region is thinner than
                                         ``tol``; reported ``certified=False``
===================  ==================  =====================================================

At ``a = 1`` the network is linear and every method returns ``|W_L \cdots W_1|`` exactly.
The coupled "LipSDP-Network" variant is deliberately not offered: it is reported to
under-estimate the constant (it is not a sound bound for slope-restricted activations).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from numbers import Real
from typing import TYPE_CHECKING, Any

import numpy as np

from ._checks import (
    as_array,
    check_allocation,
    check_bool,
    check_int,
    check_optional_str,
    check_real,
    check_seed,
    is_sequence,
    short_repr,
)
from ._lipschitz_sdp import LipSDPMemoryError

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

    from .._typing import FloatArray

__all__ = [
    "METHODS",
    "CertifiedRadius",
    "LipschitzBound",
    "LipschitzLowerBound",
    "LipSDPMemoryError",
    "certified_radius",
    "lipschitz_bound",
    "lipschitz_lower_bound",
    "network_jacobian",
]

METHODS = ("naive", "lipsdp", "lipsdp-layer", "exact", "exact-regions")
_SLOPE_RESTRICTED = ("lipsdp", "lipsdp-layer")
_EPS = np.finfo(np.float64).eps
_TINY = float(np.finfo(np.float64).tiny)
# Largest hidden width for "exact" (2**n patterns) and input dimension for "exact-regions".
MAX_EXACT_NEURONS = 26
MAX_REGION_INPUT_DIM = 3


@dataclass(frozen=True)
class LipschitzBound:
    """Result of :func:`lipschitz_bound`.

    Attributes
    ----------
    value : float
        The bound (NaN when a solver failed; see ``message``).
    method : str
        The method that produced it.
    certified : bool
        True only if ``value`` is a proven upper bound on the Lipschitz constant.
    p : float
        The norm (``p -> p``).
    message : str
        What happened, including solver failures.
    stats : dict
        Method-specific statistics (solver status, times, iterations, multipliers, ...).
    """

    value: float
    method: str
    certified: bool
    p: float = 2
    message: str = ""
    stats: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", float(self.value))

    def __float__(self) -> float:
        return self.value


@dataclass(frozen=True)
class LipschitzLowerBound:
    """Result of :func:`lipschitz_lower_bound`.

    Attributes
    ----------
    value : float
        ``|J(witness)|_p``, the Jacobian norm at a point inside a linear region: a true lower
        bound on the Lipschitz constant.
    witness : numpy.ndarray
        The input attaining ``value``.
    p : float
        The norm.
    stats : dict
        Number of evaluations, the smallest pre-activation margin at the witness, ...
    """

    value: float
    witness: np.ndarray
    p: float = 2
    stats: dict[str, Any] = field(default_factory=dict)

    def __float__(self) -> float:
        return float(self.value)


@dataclass(frozen=True)
class CertifiedRadius:
    """Result of :func:`certified_radius`.

    Attributes
    ----------
    radius : float or numpy.ndarray
        l2 radius around each ``x`` within which the prediction cannot change (the larger of the
        sound radii computed).
    predicted : int or numpy.ndarray
        Predicted class (argmax); for a scalar output the sign of ``f(x)`` (``1``, ``-1`` or ``0``).
    margin : float or numpy.ndarray
        ``f_c - max_{j != c} f_j``, or ``|f(x)|`` for a scalar output.
    pairwise_radius : float or numpy.ndarray or None
        ``min_j (f_c - f_j) / L_{cj}`` with ``L_{cj}`` a bound for ``f_c - f_j``; None for a
        scalar output or when not requested.
    simple_radius : float or numpy.ndarray
        ``margin / (sqrt(2) L)`` for a classifier, ``|f(x)| / L`` for a scalar output.
    lipschitz : LipschitzBound
        The bound on the whole network used by ``simple_radius``.
    certified : bool
        True if every Lipschitz bound used was certified.
    """

    radius: Any
    predicted: Any
    margin: Any
    pairwise_radius: Any
    simple_radius: Any
    lipschitz: LipschitzBound
    certified: bool


# ---------------------------------------------------------------------------- validation


def _check_network(weights: Any, biases: Any, *,
                   need_biases: bool = False) -> tuple[list[FloatArray], list[FloatArray]]:
    """Validate ``weights`` / ``biases``; return float64 lists (biases filled with zeros)."""
    if not is_sequence(weights):
        raise TypeError(
            "weights must be a list of 2-D arrays, weights[k] of shape (n_out, n_in), "
            f"got {type(weights).__name__}"
        )
    if len(weights) == 0:
        raise ValueError("weights must contain at least one layer, got an empty list")
    ws = [as_array(f"weights[{k}]", w, ndim=2) for k, w in enumerate(weights)]
    for k, w in enumerate(ws):
        if 0 in w.shape:
            raise ValueError(f"weights[{k}] must be non-empty, got shape {w.shape}")
        if k and w.shape[1] != ws[k - 1].shape[0]:
            raise ValueError(
                f"weights[{k}] has shape {w.shape}: its {w.shape[1]} input(s) must match the "
                f"{ws[k - 1].shape[0]} output(s) of weights[{k - 1}] (shape {ws[k - 1].shape})"
            )
    if biases is None:
        if need_biases:
            raise ValueError(
                "biases are required here (a list with one 1-D array per layer), got None"
            )
        return ws, [np.zeros(w.shape[0]) for w in ws]
    if not is_sequence(biases):
        raise TypeError(f"biases must be None or a list of 1-D arrays, got {type(biases).__name__}")
    if len(biases) != len(ws):
        raise ValueError(
            f"biases must have one entry per layer of weights ({len(ws)}), got {len(biases)}; "
            "use None entries or zeros for layers without bias"
        )
    bs = []
    for k, b in enumerate(biases):
        if b is None:
            bs.append(np.zeros(ws[k].shape[0]))
        else:
            bs.append(as_array(f"biases[{k}]", b, shape=(ws[k].shape[0],),
                               match=f"weights[{k}] of shape {ws[k].shape}"))
    return ws, bs


def _check_x(x: ArrayLike, n_in: int) -> tuple[FloatArray, bool]:
    """Return ``x`` as a (N, n_in) batch and whether it was a single point."""
    xa = as_array("x", x)
    if xa.ndim not in (1, 2) or xa.shape[-1] != n_in:
        raise ValueError(
            f"x must have shape ({n_in},) or (N, {n_in}) to match the {n_in} input(s) of "
            f"weights[0], got {xa.shape}"
        )
    return np.atleast_2d(xa), xa.ndim == 1


def _check_p(p: Any) -> float:
    if isinstance(p, bool | np.bool_) or not isinstance(p, Real | np.integer | np.floating):
        raise TypeError(
            f"p must be 1, 2 or numpy.inf (induced p -> p norm), got {short_repr(p)} of type "
            f"{type(p).__name__}"
        )
    # compared exactly, never through float(): an int beyond the float range would overflow
    if p not in (1, 2, math.inf):
        raise ValueError(f"p must be 1, 2 or numpy.inf (induced p -> p norm), got {short_repr(p)}")
    return math.inf if p == math.inf else (1 if p == 1 else 2)


def _check_method(method: object) -> str:
    if not isinstance(method, str):
        raise TypeError(
            f"method must be one of {', '.join(map(repr, METHODS))}, got {short_repr(method)} of "
            f"type {type(method).__name__}"
        )
    if method not in METHODS:
        extra = (
            " (LipSDP-Network, with coupled multipliers, is not offered: it is not a sound bound)"
            if isinstance(method, str) and "network" in method.lower()
            else ""
        )
        raise ValueError(
            f"method must be one of {', '.join(map(repr, METHODS))}, got {method!r}{extra}"
        )
    return method


def _check_slope_for(method: str, negative_slope: object) -> float:
    if method in _SLOPE_RESTRICTED:
        try:
            return check_real("negative_slope", negative_slope, low=0.0, high=1.0)
        except ValueError as exc:
            raise ValueError(
                f"{exc}; method={method!r} uses the slope restriction [a, 1] and accepts "
                "negative_slope in [0, 1] only ('naive', 'exact' and 'exact-regions' accept any "
                "finite real)"
            ) from None
    return check_real("negative_slope", negative_slope)


def _check_max_memory(max_memory: object) -> float | None:
    """None (a fraction of the available memory), a positive number of bytes, or math.inf."""
    if max_memory is None:
        return None
    if not isinstance(max_memory, bool | np.bool_) and isinstance(max_memory, Real) and (
        max_memory == math.inf
    ):
        return math.inf
    return check_real("max_memory", max_memory, low=0.0, low_open=True)


# ---------------------------------------------------------------------------- helpers


def _opnorm(m: FloatArray, p: float) -> float:
    if p == 2:
        return float(np.linalg.norm(m, 2))
    return float(np.linalg.norm(m, 1 if p == 1 else np.inf))


def _round_up(value: float, n_ops: int) -> float:
    """Inflate a float computed with ``n_ops`` roundings so it stays an upper bound."""
    return float(value) * (1.0 + 16.0 * max(n_ops, 1) * _EPS)


# A layer whose nonzero entries span more than 2**_MAX_RANGE cannot be scaled to entries of
# order one without its smallest entries becoming subnormal (inexact).
_MAX_RANGE = 1000
# Below this, a computed product of scaled layers may have lost its value to underflow.
_UNDERFLOW_GUARD = 2.0**-900


def _normalise(ws: Sequence[FloatArray], exact: bool = True) -> tuple[list[FloatArray], list[int]]:
    """Each layer divided by the power of two nearest above its largest entry, and those
    exponents. Every bound is positively homogeneous in each layer, and entries of order one keep
    squares and products away from overflow and underflow (weights near 1e-300 made the exact
    kernel underflow and certify too small a value).

    The scaling is exact unless a layer spans more than 2**1000 (about 1e301); ``exact=True``
    (methods that multiply layers together, where a tiny entry can be all that matters) refuses
    such a layer by name, ``exact=False`` (layer norms, which its largest entry dominates) goes on.
    """
    out, exps = [], []
    for k, w in enumerate(ws):
        mag = np.abs(w)
        top = float(np.max(mag))
        e = math.frexp(top)[1] if top > 0.0 else 0
        if exact and top > 0.0:
            low = float(np.min(mag[mag > 0.0]))
            if e - math.frexp(low)[1] > _MAX_RANGE:
                raise ValueError(
                    f"weights[{k}] has nonzero entries from {low:.3g} to {top:.3g} in magnitude, "
                    "more than 1e301 apart: float64 cannot scale them together exactly; rescale "
                    "the layer or use method='naive'"
                )
        out.append(np.ldexp(w, -e) if e else w)
        exps.append(e)
    return out, exps


def _guard_underflow(value: float, ws_n: Sequence[FloatArray]) -> float:
    """Raise a product-of-layers value that may have underflowed to a sound upper bound.

    Scaled layers have entries in ``[2**-1001, 1)``, but their products can still underflow; a
    computed value below 2**-900 while some path through the layers is nonzero is replaced by
    2**-900 (above it, underflowed terms are far below the relative rounding already allowed).
    """
    if value >= _UNDERFLOW_GUARD:
        return value
    path = (ws_n[0] != 0.0).astype(np.float64)
    for w in ws_n[1:]:
        path = np.minimum((w != 0.0).astype(np.float64) @ path, 1.0)
    return _UNDERFLOW_GUARD if np.any(path) else value


def _scale_up(value: float, exponent: int, n_ops: int = 0) -> float:
    """A float ``>= value * 2**exponent`` for ``value >= 0`` computed with ``n_ops`` roundings:
    ``inf`` when it overflows, one step up when it lands below the normal range (where the
    relative rounding of :func:`_round_up` no longer holds), never 0 for a positive value."""
    v = _round_up(value, n_ops)
    if v == 0.0 or not math.isfinite(v):
        return v
    try:
        out = math.ldexp(v, exponent)
    except OverflowError:
        return math.inf
    if out < _TINY:
        out = math.nextafter(out, math.inf)
    return out


def _naive_bound(ws_n: Sequence[FloatArray], exps: Sequence[int], a: float, p: float,
                 n_ops: int) -> tuple[float, list[float]]:
    """``prod |W_k|_p * max(1, |a|)^(L-1)`` rounded up, from the scaled layers; and the layer
    norms of the original weights."""
    norms_n = [_opnorm(w, p) for w in ws_n]
    # max(1, |a|)^(L-1) as mantissa and exponent, so a large leak cannot overflow either
    a_m, a_e = math.frexp(max(1.0, abs(a)))
    value = _scale_up(
        float(np.prod(norms_n)) * a_m ** (len(ws_n) - 1), sum(exps) + a_e * (len(ws_n) - 1),
        n_ops,
    )
    return value, [_ldexp(nv, e) for nv, e in zip(norms_n, exps, strict=True)]


def _ldexp(value: float, exponent: int) -> float:
    """``value * 2**exponent`` to nearest, ``inf`` on overflow (for statistics, not bounds)."""
    try:
        return math.ldexp(float(value), exponent)
    except OverflowError:
        return math.copysign(math.inf, value)


def _product(ws: Sequence[FloatArray]) -> FloatArray:
    prod = ws[0]
    for w in ws[1:]:
        prod = w @ prod
    return prod


def _forward(ws: Sequence[FloatArray], bs: Sequence[FloatArray], a: float,
             x: FloatArray) -> tuple[list[FloatArray], FloatArray]:
    """Pre-activations of every hidden layer and the output for a batch ``x`` (N, n0)."""
    pre = []
    h = x
    for w, b in zip(ws[:-1], bs[:-1], strict=True):
        z = h @ w.T + b
        pre.append(z)
        h = z + (a - 1.0) * np.minimum(z, 0.0)
    return pre, h @ ws[-1].T + bs[-1]


def _forward_finite(ws: Sequence[FloatArray], bs: Sequence[FloatArray], a: float,
                    x: FloatArray) -> tuple[list[FloatArray], FloatArray]:
    """:func:`_forward`, refusing by name a point where the float64 pass overflows (the slope
    pattern, hence the Jacobian and the decision, are then undefined)."""
    with np.errstate(over="ignore", invalid="ignore"):
        pre, out = _forward(ws, bs, a, x)
    if not (all(np.all(np.isfinite(z)) for z in pre) and np.all(np.isfinite(out))):
        raise ValueError(
            "the network overflows float64 at x (a pre-activation or output is not finite): "
            "the weights, biases or x are too large"
        )
    return pre, out


def _jacobians(ws: Sequence[FloatArray], pre: Sequence[FloatArray], a: float) -> FloatArray:
    """Jacobians (N, m, n0) from the pre-activations; slope ``a`` where ``z <= 0``."""
    g = np.broadcast_to(ws[-1], (pre[0].shape[0] if pre else 1, *ws[-1].shape))
    for w, z in zip(reversed(ws[:-1]), reversed(pre), strict=True):
        d = np.where(z > 0.0, 1.0, a)
        gd = g * d[:, None, :]
        # one (N m, k) @ (k, n) product instead of N small batched ones
        g = (gd.reshape(-1, gd.shape[2]) @ w).reshape(gd.shape[0], gd.shape[1], w.shape[1])
    return g


def _batch_norms(jac: FloatArray, p: float) -> FloatArray:
    if p == 2:
        # vectors: scaled sums of squares (np.linalg.norm's squares overflow from ~1e154)
        if jac.shape[1] == 1:
            return _row_norms(jac[:, 0, :])
        if jac.shape[2] == 1:
            return _row_norms(jac[:, :, 0])
        # the SVD fails on inf entries: those samples get NaN (not counted by the callers)
        out = np.full(jac.shape[0], np.nan)
        ok = np.all(np.isfinite(jac), axis=(1, 2))
        if np.any(ok):
            out[ok] = np.linalg.norm(jac[ok], 2, axis=(1, 2))
        return out
    if p == 1:
        return np.abs(jac).sum(axis=1).max(axis=1)
    return np.abs(jac).sum(axis=2).max(axis=1)


def _row_norms(m: FloatArray) -> FloatArray:
    """Euclidean norms of the rows of ``m`` without overflow or underflow in the squares."""
    scale = np.max(np.abs(m), axis=1)
    safe = np.where(scale > 0.0, scale, 1.0)
    with np.errstate(over="ignore"):  # inf only for a norm itself beyond the float range
        return scale * np.sqrt(np.sum((m / safe[:, None]) ** 2, axis=1))


def network_jacobian(weights: Sequence[ArrayLike], biases: Sequence[ArrayLike], x: ArrayLike,
                     negative_slope: float = 0.01) -> FloatArray:
    """Jacobian of the network at ``x`` (slope ``a`` where a pre-activation is ``<= 0``).

    Parameters
    ----------
    weights : list of array_like
        ``weights[k]`` of shape ``(n_out, n_in)``.
    biases : list of array_like or None
        One 1-D array (or None) per layer; None means no biases.
    x : array_like
        One input of shape ``(n_in,)`` or a batch ``(N, n_in)``.
    negative_slope : float, default 0.01
        The leak ``a``; any finite real.

    Returns
    -------
    numpy.ndarray
        Shape ``(m, n_in)`` for one input, ``(N, m, n_in)`` for a batch.
    """
    ws, bs = _check_network(weights, biases)
    a = check_real("negative_slope", negative_slope)
    xb, single = _check_x(x, ws[0].shape[1])
    pre, _ = _forward_finite(ws, bs, a, xb)
    with np.errstate(over="ignore", invalid="ignore"):
        jac = (_jacobians(ws, pre, a) if pre
               else np.broadcast_to(ws[0], (xb.shape[0], *ws[0].shape)))
        jac = np.array(jac)
    if not np.all(np.isfinite(jac)):
        raise ValueError("the Jacobian at x leaves the float64 range: the weights are too large")
    return jac[0] if single else jac


# ---------------------------------------------------------------------------- upper bounds


def lipschitz_bound(weights: Sequence[ArrayLike], biases: Sequence[ArrayLike] | None = None,
                    negative_slope: float = 0.01, method: str = "lipsdp", *, p: float = 2,
                    solver: str | None = None, max_regions: int = 100_000, tol: float = 1e-9,
                    max_memory: float | None = None) -> LipschitzBound:
    """Lipschitz constant bound of a Leaky-ReLU network (``p -> p`` norm, l2 by default).

    Parameters
    ----------
    weights : list of array_like
        ``weights[k]`` of shape ``(n_out, n_in)``; hidden layers apply the leaky ReLU, the last
        layer is linear. Consecutive shapes must chain; entries must be finite.
    biases : list of array_like or None, default None
        One 1-D array (or None) per layer. Only ``"exact-regions"`` uses them (and requires them);
        the other methods bound the constant for every choice of biases.
    negative_slope : float, default 0.01
        The leak ``a``. ``"lipsdp"`` and ``"lipsdp-layer"`` need ``0 <= a <= 1`` (they use the
        slope restriction ``[a, 1]``); ``"naive"``, ``"exact"`` and ``"exact-regions"`` accept any
        finite real.
    method : {"lipsdp", "lipsdp-layer", "naive", "exact", "exact-regions"}, default "lipsdp"
        See the module documentation for what each computes. ``"exact"`` and ``"exact-regions"``
        need exactly one hidden layer (``len(weights) == 2``).
    p : {2, 1, numpy.inf}, default 2
        Norm on inputs and outputs. The LipSDP methods support ``p = 2`` only.
    solver : str, optional
        cvxpy solver name for the LipSDP methods; default tries ``"CLARABEL"`` then ``"SCS"``.
    max_regions : int, default 100000
        ``"exact-regions"``: stop after this many regions (the result then says it is incomplete).
    tol : float, default 1e-9
        ``"exact-regions"``: regions whose inscribed ball is thinner than ``tol`` times the bias
        scale are not counted.
    max_memory : float, optional
        LipSDP methods: the most memory, in bytes, the semidefinite program may need by the
        estimate below; solvers over it are skipped (the default tries CLARABEL then SCS) and
        :class:`LipSDPMemoryError` is raised when none fits. Default: 90 % of the memory
        available at the call. ``math.inf`` disables the check. The estimate, for the
        ``n x n`` LMI with ``n`` the sum of the input and hidden widths, is
        ``800 n^2 + 250 nnz + 64 MB`` bytes (``nnz``: nonzeros of the multiplier-to-LMI map),
        plus ``64 d^2``, ``d = n (n + 1) / 2``, for CLARABEL, which factors a dense
        ``d x d`` block: a 10-400-1 network needs ~455 GB with CLARABEL, ~0.2 GB with SCS.

    Returns
    -------
    LipschitzBound
        ``.value``, ``.method``, ``.certified``, ``.message`` and ``.stats`` (for the LipSDP
        methods the memory estimates, the budget and the solvers skipped). A certified value
        is ``inf`` only when the bound exceeds the float64 range (weights near 1e308); it is
        never NaN and never rounded down to 0.

    Raises
    ------
    TypeError, ValueError
        Malformed network, non-finite entries, an unknown method, a slope outside what the
        method accepts, or a method that does not apply to this network's depth.
    LipSDPMemoryError
        A ``MemoryError`` and ``ValueError``: the LipSDP problem would not fit ``max_memory``
        with any solver; the message gives the estimate, the memory available and the cheaper
        options ("lipsdp-layer", solver "SCS", "naive").
    ImportError
        For the LipSDP methods when cvxpy is missing (install ``leaky-control[analysis]``).
    """
    method = _check_method(method)
    ws, bs = _check_network(weights, biases, need_biases=method == "exact-regions")
    a = _check_slope_for(method, negative_slope)
    p = _check_p(p)
    solver = check_optional_str("solver", solver)
    max_regions = check_int("max_regions", max_regions, low=1)
    tol = check_real("tol", tol, low=0.0, low_open=True)
    max_memory = _check_max_memory(max_memory)
    if method in _SLOPE_RESTRICTED and p != 2:
        raise ValueError(
            f"method={method!r} bounds the l2 norm only; got p={p!r} (use 'naive' or 'exact')"
        )
    if method in ("exact", "exact-regions") and len(ws) != 2:
        raise ValueError(
            f"method={method!r} needs exactly one hidden layer (len(weights) == 2), got "
            f"{len(ws)} layer(s); use 'lipsdp' for deeper networks"
        )
    n_ops = sum(w.size for w in ws)
    # every upper bound below is computed on layers scaled by powers of two (exactly) and
    # scaled back once, rounding up, by 2**expo
    ws_n, exps = _normalise(ws, exact=method != "naive" or len(ws) == 1 or a == 1.0)
    expo = sum(exps)

    if len(ws) == 1 or a == 1.0:
        # no activation, or the identity: f is affine and its constant is |W_L ... W_1|
        value = _scale_up(_guard_underflow(_opnorm(_product(ws_n), p), ws_n), expo, n_ops)
        return LipschitzBound(
            value,
            method,
            True,
            p,
            "linear network (a = 1 or no hidden layer): exact |W_L...W_1|",
            {"linear": True},
        )

    if method == "naive":
        value, norms = _naive_bound(ws_n, exps, a, p, n_ops)
        return LipschitzBound(
            value, method, True, p, "product of layer norms", {"layer_norms": norms}
        )

    if method in _SLOPE_RESTRICTED:
        if any(not np.any(w) for w in ws):
            return LipschitzBound(0.0, method, True, p, "a layer is zero: f is constant", {})
        from ._lipschitz_sdp import solve_lipsdp

        value, ok, stats, msg = solve_lipsdp(
            ws_n, a, per_neuron=method == "lipsdp", solver=solver, max_memory=max_memory
        )
        if ok:
            # In exact arithmetic LipSDP never exceeds the product of norms, but near a = 1 the
            # optimal multipliers grow like 1 / (1 - a) and the solver's answer can be looser;
            # the smaller of two certified bounds is certified.
            # (a in [0, 1] here: the naive bound is the product of the 2-norms)
            naive, _ = _naive_bound(ws_n, exps, a, 2, n_ops)
            stats["sdp_value"] = _ldexp(value, expo)
            value = _scale_up(value, expo)
            if naive < value:
                value = naive
                msg += "; capped by the product of norms (the SDP was ill-conditioned)"
            # the multipliers belong to the spectrally normalised layers, which are the same
            # for the scaled and the original weights; report the original layers' norms
            stats["normalisation"] = [
                _ldexp(sv, e) for sv, e in zip(stats["normalisation"], exps, strict=True)
            ]
        return LipschitzBound(value, method, ok, p, msg, stats)

    if method == "exact":
        n = ws[0].shape[0]
        if n > MAX_EXACT_NEURONS:
            raise ValueError(
                f"method='exact' enumerates 2**n slope patterns; the hidden layer has n={n} > "
                f"{MAX_EXACT_NEURONS} neurons (use 'lipsdp')"
            )
        from ._lipschitz_exact import worst_case_patterns

        value, d = worst_case_patterns(ws_n[0], ws_n[1], a, p)
        # the kernel accumulates rank-one updates between re-syncs; 1e-12 relative covers it
        value = _guard_underflow(value * (1.0 + 1e-12) if value > 0 else 0.0, ws_n)
        return LipschitzBound(
            _scale_up(value, expo, n_ops),
            method,
            True,
            p,
            "exact maximum over slope patterns = Lipschitz constant maximised over all biases",
            {"pattern": d, "n_patterns": 2**n},
        )

    # exact-regions
    n0 = ws[0].shape[1]
    if n0 > MAX_REGION_INPUT_DIM:
        raise ValueError(
            f"method='exact-regions' walks the regions of the input space; input dimension "
            f"{n0} > {MAX_REGION_INPUT_DIM} is not supported "
            "(use 'exact' for the worst case over biases)"
        )
    from ._lipschitz_exact import region_patterns

    patterns, n_lp, complete = region_patterns(ws[0], bs[0], max_regions=int(max_regions), tol=tol)
    best, best_d = -1.0, None
    for act in patterns:
        d = np.where(act, 1.0, a)
        v = _opnorm(ws_n[1] @ (d[:, None] * ws_n[0]), p)
        if v > best:
            best, best_d = v, d
    best = _ldexp(best, expo)
    msg = f"maximum over {len(patterns)} regions created by the biases" + (
        "" if complete else f" (stopped at max_regions={max_regions}: incomplete)"
    )
    return LipschitzBound(
        best,
        method,
        False,
        p,
        msg,
        {"n_regions": len(patterns), "n_lp": n_lp, "complete": complete, "pattern": best_d},
    )


# ---------------------------------------------------------------------------- lower bound


def lipschitz_lower_bound(weights: Sequence[ArrayLike], biases: Sequence[ArrayLike] | None = None,
                          negative_slope: float = 0.01, n_samples: int = 1024,
                          seed: int | None = None, *, p: float = 2, scale: float | None = None,
                          n_local: int = 48) -> LipschitzLowerBound:
    """A true lower bound: the largest Jacobian norm found by sampling plus local search.

    Only points whose pre-activations are all clearly nonzero are counted, so the network is
    affine around the point, its Jacobian is a genuine derivative there and
    ``|J(x)|_p <= Lip(f)`` holds for every counted point.

    Parameters
    ----------
    weights : list of array_like
        ``weights[k]`` of shape ``(n_out, n_in)``.
    biases : list of array_like or None, default None
        One 1-D array (or None) per layer.
    negative_slope : float, default 0.01
        The leak ``a``; any finite real.
    n_samples : int, default 1024
        Random inputs drawn (Gaussian, at three scales set by ``scale``); refused if their work
        arrays would not fit in the available memory.
    seed : None, int or numpy.random.Generator, optional
        Randomness source (a non-negative integer seed).
    p : {2, 1, numpy.inf}, default 2
        Norm.
    scale : float, optional
        Typical input radius; default ``1 + 2 max_i |b_i| / |w_i|`` over the first layer, i.e.
        wide enough to reach every first-layer kink.
    n_local : int, default 48
        Rounds of local search (random perturbations, shrinking) around the best points.

    Returns
    -------
    LipschitzLowerBound
        ``.value``, ``.witness`` and ``.stats``. When no sampled point is clear of every kink
        (for instance a layer whose pre-activations are identically zero) the value is the
        trivial lower bound 0 and ``stats["note"]`` says so.
    """
    ws, bs = _check_network(weights, biases)
    a = check_real("negative_slope", negative_slope)
    p = _check_p(p)
    n_samples = check_int("n_samples", n_samples, low=1)
    n_local = check_int("n_local", n_local, low=0)
    seed = check_seed("seed", seed)
    if scale is not None:
        scale = check_real("scale", scale, low=0.0, low_open=True)
    n0 = ws[0].shape[1]
    widths = sum(w.shape[0] for w in ws)
    # x, the pre-activations and activations, and the Jacobians (N, m, n_k) of the backward pass
    per_sample = 4 * n0 + 4 * widths + 3 * ws[-1].shape[0] * max(w.shape[1] for w in ws)
    check_allocation("n_samples", n_samples, 8 * n_samples * per_sample, "work arrays")
    rng = np.random.default_rng(seed)
    if scale is None:
        rn = _row_norms(ws[0])
        with np.errstate(over="ignore"):
            ratio = np.abs(bs[0][rn > 0]) / rn[rn > 0]
            scale = 1.0 + 2.0 * float(np.max(ratio, initial=0.0))
        # any scale gives a valid lower bound; an overflowing one would only give inf inputs
        scale = min(scale, 1e150)

    row_norms = [_row_norms(w) for w in ws[:-1]]

    def evaluate(x: FloatArray) -> tuple[FloatArray, FloatArray]:
        # extreme weights may overflow; such points get a non-finite norm and are not counted
        with np.errstate(over="ignore", invalid="ignore", under="ignore"):
            return _evaluate(x)

    def _evaluate(x: FloatArray) -> tuple[FloatArray, FloatArray]:
        pre, _ = _forward(ws, bs, a, x)
        if not pre:
            jac = np.broadcast_to(ws[0], (x.shape[0], *ws[0].shape))
            return _batch_norms(jac, p), np.full(x.shape[0], np.inf)
        # relative margin of each pre-activation against the rounding in computing it
        margin = np.full(x.shape[0], np.inf)
        h = x
        for b, z, wn in zip(bs[:-1], pre, row_norms, strict=True):
            # |h| @ |w_i| <= |h|_2 |w_i|_2 (Cauchy-Schwarz): a cheaper, larger error scale
            hn = _row_norms(h)
            err = 1e-10 * (hn[:, None] * wn[None, :] + np.abs(b) + 1e-300)
            # a unit with a zero weight row has a constant pre-activation and adds nothing to
            # the Jacobian whatever its slope: its sign does not matter
            rel = np.where(wn[None, :] > 0.0, np.abs(z) / err, np.inf)
            margin = np.minimum(margin, np.min(rel, axis=1))
            h = z + (a - 1.0) * np.minimum(z, 0.0)
        norms = _batch_norms(_jacobians(ws, pre, a), p)
        # a norm that overflowed (or a NaN from inf - inf) proves nothing: not counted
        return np.where((margin > 1.0) & np.isfinite(norms), norms, -np.inf), margin

    mult = np.array([0.1, 1.0, 10.0])[rng.integers(0, 3, n_samples)]
    x = rng.standard_normal((n_samples, n0)) * (scale * mult)[:, None]
    vals, _ = evaluate(x)
    n_eval = n_samples
    k = min(8, n_samples)
    top = np.argsort(vals)[-k:]
    pts, pvals = x[top].copy(), vals[top].copy()
    radius = 0.5 * scale * np.ones(k)
    for _ in range(n_local):
        # four proposals per point; keep the best if it improves, otherwise shrink the step
        prop = pts[:, None, :] + radius[:, None, None] * rng.standard_normal((k, 4, n0)) / np.sqrt(
            n0
        )
        pv, _ = evaluate(prop.reshape(-1, n0))
        n_eval += pv.size
        pv = pv.reshape(k, 4)
        j = np.argmax(pv, axis=1)
        better = pv[np.arange(k), j] > pvals
        pts[better] = prop[np.arange(k), j][better]
        pvals[better] = pv[np.arange(k), j][better]
        radius = np.where(better, radius * 1.5, radius * 0.7)
    i = int(np.argmax(pvals))
    best_x = pts[i]
    v, margin = evaluate(best_x[None, :])
    stats: dict[str, Any] = {"n_evaluations": n_eval, "scale": scale,
                             "margin": float(margin[0])}
    if not np.isfinite(v[0]):
        # no counted point: 0 is still a true lower bound, and the only one we can prove
        stats["note"] = (
            "no sampled point was clear of every kink with a finite Jacobian norm; 0 is the "
            "trivial lower bound (try another scale or more samples)"
        )
        return LipschitzLowerBound(0.0, best_x, p, stats)
    return LipschitzLowerBound(float(v[0]), best_x, p, stats)


# ---------------------------------------------------------------------------- certified radius


def certified_radius(weights: Sequence[ArrayLike], biases: Sequence[ArrayLike], x: ArrayLike,
                     negative_slope: float = 0.01, method: str = "lipsdp", *, pairwise: bool = True,
                     solver: str | None = None, max_memory: float | None = None) -> CertifiedRadius:
    """l2 radius around ``x`` within which the network's decision cannot change.

    For a classifier (``m >= 2`` outputs) with predicted class ``c``: ``f_c - f_j`` is Lipschitz
    with constant ``L_cj`` (a bound on the network whose last layer is ``W_L[c] - W_L[j]``), so
    ``min_j (f_c - f_j)(x) / L_cj`` is a certified radius; so is the cheaper
    ``margin / (sqrt(2) L)``, because
    ``|(f_c - f_j)(x) - (f_c - f_j)(y)| <= sqrt(2) |f(x) - f(y)|``.
    The larger of the two is returned as ``radius``. For a scalar output the radius is
    ``|f(x)| / L``: the sign of ``f`` cannot change within it.

    Parameters
    ----------
    weights : list of array_like
        ``weights[k]`` of shape ``(n_out, n_in)``.
    biases : list of array_like or None
        One 1-D array (or None) per layer.
    x : array_like
        One input ``(n_in,)`` or a batch ``(N, n_in)``.
    negative_slope : float, default 0.01
        The leak ``a``; the allowed range is that of ``method``.
    method : str, default "lipsdp"
        A method of :func:`lipschitz_bound` that gives a certified bound (not "exact-regions").
    pairwise : bool, default True
        Also compute the pairwise bounds ``L_cj`` (``m - 1`` more bounds per distinct class).
    solver : str, optional
        Passed to :func:`lipschitz_bound`.
    max_memory : float, optional
        Passed to :func:`lipschitz_bound` (memory budget of each LipSDP problem, in bytes).

    Returns
    -------
    CertifiedRadius
    """
    method = _check_method(method)
    if method == "exact-regions":
        raise ValueError(
            "method='exact-regions' is not an upper bound; use 'lipsdp', 'lipsdp-layer', "
            "'naive' or 'exact'"
        )
    ws, bs = _check_network(weights, biases)
    a = _check_slope_for(method, negative_slope)
    xb, single = _check_x(x, ws[0].shape[1])
    pairwise = check_bool("pairwise", pairwise)
    solver = check_optional_str("solver", solver)
    max_memory = _check_max_memory(max_memory)
    _, out = _forward_finite(ws, bs, a, xb)
    full = lipschitz_bound(ws, None, a, method, solver=solver, max_memory=max_memory)
    lip = full.value
    certified = full.certified
    m = out.shape[1]

    def safe_div(num: FloatArray, den: FloatArray) -> FloatArray:
        # a zero constant means a constant function: its decision never changes
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.inf)
        return np.where(num > 0, r, 0.0)

    if m == 1:
        margin = np.abs(out[:, 0])
        predicted = np.sign(out[:, 0]).astype(int)
        simple = safe_div(margin, np.full_like(margin, lip))
        pair = None
        radius = simple
    else:
        predicted = np.argmax(out, axis=1)
        rows = np.arange(out.shape[0])
        others = out.copy()
        others[rows, predicted] = -np.inf
        margin = out[rows, predicted] - others.max(axis=1)
        simple = safe_div(margin, np.full_like(margin, math.sqrt(2.0) * lip))
        pair = None
        radius = simple
        if pairwise:
            pair = np.full(out.shape[0], np.inf)
            cache = {}
            for c in np.unique(predicted):
                for j in range(m):
                    if j == c:
                        continue
                    last = (ws[-1][c] - ws[-1][j])[None, :]
                    res = lipschitz_bound(
                        [*ws[:-1], last], None, a, method, solver=solver, max_memory=max_memory
                    )
                    cache[(int(c), j)] = res
                    certified = certified and res.certified
                    sel = predicted == c
                    gap = out[sel, c] - out[sel, j]
                    pair[sel] = np.minimum(pair[sel], safe_div(gap, np.full_like(gap, res.value)))
            radius = np.maximum(simple, pair)
    if not certified:
        radius = np.full_like(np.asarray(radius, dtype=float), np.nan)
    if single:
        return CertifiedRadius(
            float(radius[0]),
            int(predicted[0]),
            float(margin[0]),
            None if pair is None else float(pair[0]),
            float(simple[0]),
            full,
            bool(certified),
        )
    return CertifiedRadius(radius, predicted, margin, pair, simple, full, bool(certified))
