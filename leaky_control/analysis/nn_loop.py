r"""Closed-loop certificates for Leaky-ReLU network controllers: global contraction and regions of
attraction, each re-checked in numpy.

The loop is a linear plant in feedback with a network ``pi``::

    x' = A x + B u          (time="continuous")      x+ = A x + B u      (time="discrete")
    u  = pi(x)  or  u = sat(pi(x)),   sat(u) = clip(u, -u_max, u_max)

with ``pi(x) = W_L v_{L-1} + b_L``, ``v_i = phi_a(W_i v_{i-1} + b_i)``, ``v_0 = x`` and
``phi_a(z) = max(z, a z)`` the leaky ReLU (``a = 0``: ReLU).

Why the leak matters. Every hidden unit is slope-restricted in ``[a, 1]``. With ``a = 0`` a unit
can switch off (slope 0), and when every path through the network is off the controller is
constant and the loop is open: an open-loop unstable plant then runs away, so a ReLU controller
can at best be certified on a region. With ``a > 0`` the "off" slope is gone and a global
certificate may exist. Saturation brings the off slope back (the saturated actuator has slope 0),
so no leak helps an open-loop unstable plant under saturation globally; a region is then the
right question.

:func:`global_certificate` (incremental quadratic constraints). For two trajectories the
differences obey ``dv_i = S_i dz_i`` with ``S_i`` diagonal in ``[a, 1]`` (and ``[0, 1]`` for the
saturation). Each scalar ``(dz, dv)`` pair satisfies ``(dv - a dz)(dz - dv) >= 0``; with
multipliers ``lambda_j >= 0`` the S-procedure turns "``V = dx' P dx`` decreases at rate ``c``
whenever every constraint holds" into one linear matrix inequality in ``(P, lambda)``:

.. math::

    \mathcal{L}(P, c) + \sum_j \lambda_j Q_j \preceq 0,

with ``L = E0' P F + F' P E0 + 2 c E0' P E0`` (continuous; ``F`` maps the stacked increments
to ``dx'``, ``E0`` picks ``dx``) or ``F' P F - rho^2 E0' P E0`` (discrete). The best ``c`` (or
``rho``) is found by bisection. Feasibility proves contraction: every pair of trajectories
converges, ``|x1(t) - x2(t)|_P <= exp(-c t) |x1(0) - x2(0)|_P``. In particular the loop has a
unique equilibrium (wherever the biases put it) and it is globally exponentially stable.

:func:`region_of_attraction` (Yin, Seiler & Arcak, "Stability analysis using quadratic
constraints for systems with neural network controllers", IEEE TAC 2022). On a box of states,
interval bound propagation bounds every pre-activation; each unit's chord slope about its
equilibrium value then lies in a local ``[alpha_i, beta_i]`` inside ``[a, 1]`` (a unit that
keeps its sign on the box is exactly linear there). The saturation and a plant nonlinearity
``q = f(C_q x)`` (e.g. the pendulum's ``sin``) get local sectors the same way. The SDP looks
for an ellipsoid ``{x' P x <= 1}`` inside the box on which ``V = x' P x`` decreases; that
ellipsoid is then invariant and every trajectory starting in it converges to the equilibrium.
The ellipsoid is maximised through the radius of the largest ball it contains, over a scan of
box sizes.

Every certificate is re-checked in numpy from first principles (the matrix inequality rebuilt
neuron by neuron from the definition of each constraint, eigenvalues with a stated margin) and on
samples of the true nonlinear loop; a failed re-check demotes the status.
"""

from __future__ import annotations

import math
import time as _time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._barrier_sdp import LMIBlock, barrier_minimise
from ._checks import (
    as_array,
    check_choice,
    check_int,
    check_optional_str,
    check_real,
    require_cvxpy,
    short_repr,
)
from ._ibp import chord_slopes_leaky, chord_slopes_sat, chord_slopes_sin, interval_bounds, leaky

__all__ = [
    "GlobalCertificate",
    "PlantNonlinearity",
    "RegionOfAttraction",
    "center_network",
    "global_certificate",
    "network_forward",
    "region_of_attraction",
]

FloatArray = NDArray[np.float64]

_EPS = float(np.finfo(np.float64).eps)
_TIMES = ("continuous", "discrete")




# ---------------------------------------------------------------------------- validation


@dataclass(frozen=True, eq=False)
class _Net:
    """A validated network controller (float64 copies) with its optional saturation."""

    weights: list[FloatArray]
    biases: list[FloatArray]
    a: float
    u_max: FloatArray | None

    @property
    def hidden(self) -> list[int]:
        return [int(w.shape[0]) for w in self.weights[:-1]]


def _plant(A: ArrayLike, B: ArrayLike) -> tuple[FloatArray, FloatArray]:
    A_ = as_array("A", A)
    if A_.ndim == 0:
        A_ = A_.reshape(1, 1)
    if A_.ndim != 2 or A_.shape[0] != A_.shape[1] or A_.shape[0] == 0:
        raise ValueError(f"A must be a non-empty square matrix (n, n), got shape {A_.shape}")
    n = A_.shape[0]
    B_ = as_array("B", B)
    if B_.ndim <= 1:
        B_ = B_.reshape(-1, 1)
    if B_.ndim != 2 or B_.shape[0] != n or B_.shape[1] == 0:
        raise ValueError(
            f"B must have shape ({n}, m), m >= 1, to match A {A_.shape}, got {B_.shape}"
        )
    return A_, B_


def _network(weights: Sequence[ArrayLike], biases: Sequence[ArrayLike] | None,
             negative_slope: float, n: int, m: int, u_max: ArrayLike | None) -> _Net:
    a = check_real("negative_slope", negative_slope, low=0.0, high=1.0)
    if isinstance(weights, str | bytes | np.ndarray) or not isinstance(weights, Sequence):
        raise TypeError(
            "weights must be a list of 2-D arrays [W_1, ..., W_L] (W_i of shape (n_out, n_in)), "
            f"got {short_repr(weights)} of type {type(weights).__name__}"
        )
    if len(weights) < 2:
        raise ValueError(
            f"weights must hold at least 2 layers (one hidden layer and the linear output "
            f"layer), got {len(weights)}"
        )
    ws = [as_array(f"weights[{i}]", w, ndim=2) for i, w in enumerate(weights)]
    if ws[0].shape[1] != n:
        raise ValueError(
            f"weights[0] must have {n} columns (one per state of A), got shape {ws[0].shape}"
        )
    for i in range(1, len(ws)):
        if ws[i].shape[1] != ws[i - 1].shape[0]:
            raise ValueError(
                f"weights[{i}] must have {ws[i - 1].shape[0]} columns to match weights[{i - 1}] "
                f"of shape {ws[i - 1].shape}, got shape {ws[i].shape}"
            )
    if ws[-1].shape[0] != m:
        raise ValueError(
            f"weights[-1] must have {m} rows (one per column of B), got shape {ws[-1].shape}"
        )
    if biases is None:
        bs = [np.zeros(w.shape[0]) for w in ws]
    else:
        if isinstance(biases, str | bytes | np.ndarray) or not isinstance(biases, Sequence):
            raise TypeError(
                f"biases must be None or a list of 1-D arrays, one per layer, got "
                f"{short_repr(biases)} of type {type(biases).__name__}"
            )
        if len(biases) != len(ws):
            raise ValueError(
                f"biases must hold one vector per layer ({len(ws)}), got {len(biases)}"
            )
        bs = [as_array(f"biases[{i}]", b, shape=(w.shape[0],), match=f"weights[{i}] of shape "
                       f"{w.shape}") if np.ndim(b) == 1 else
              as_array(f"biases[{i}]", b, ndim=1) for i, (b, w) in enumerate(zip(biases, ws,
                                                                                  strict=True))]
    um: FloatArray | None = None
    if u_max is not None:
        um = as_array("u_max", u_max)
        if um.size == 1 and um.ndim <= 1:  # one limit for every input
            um = np.full(m, float(um.reshape(-1)[0]))
        if um.shape != (m,) or np.any(um <= 0.0):
            raise ValueError(
                f"u_max must be None (no saturation) or a positive number or {m} positive "
                f"numbers (one per input), got {short_repr(u_max)}"
            )
    return _Net(ws, bs, a, um)


def _check_time(time: str) -> str:
    return check_choice("time", time, _TIMES)


# ---------------------------------------------------------------------------- network


def network_forward(weights: Sequence[ArrayLike], biases: Sequence[ArrayLike] | None,
                    negative_slope: float, X: ArrayLike,
                    u_max: ArrayLike | None = None) -> FloatArray:
    """Evaluate the (optionally saturated) network controller at states ``X``.

    Parameters
    ----------
    weights : sequence of array_like
        ``[W_1, ..., W_L]``, ``W_i`` of shape ``(n_i, n_{i-1})``; the last layer is linear.
    biases : sequence of array_like or None
        ``[b_1, ..., b_L]`` (``None``: zero biases).
    negative_slope : float
        Leak ``a`` in ``[0, 1]`` of the hidden units (``0``: ReLU).
    X : array_like, shape (N, n) or (n,)
        States, one per row.
    u_max : float or array_like, optional
        Symmetric saturation limit(s) ``u = clip(pi(x), -u_max, u_max)``.

    Returns
    -------
    numpy.ndarray, shape (N, m) or (m,)
        The control.

    Raises
    ------
    ValueError, TypeError
        On mismatched shapes, non-finite entries or ``negative_slope`` outside ``[0, 1]``.
    """
    X_ = as_array("X", X)
    single = X_.ndim == 1
    X2 = X_.reshape(1, -1) if single else X_
    if X2.ndim != 2:
        raise ValueError(f"X must have shape (N, n) or (n,), got {X_.shape}")
    try:  # the output width is whatever the last layer says; _network reports bad layers
        m_out = int(np.shape(weights[-1])[0])
    except (TypeError, IndexError, KeyError):
        m_out = 1
    net = _network(weights, biases, negative_slope, X2.shape[1], m_out, u_max)
    u = _forward(net, X2)[2]
    return u[0] if single else u


def _forward(net: _Net, X: FloatArray) -> tuple[list[FloatArray], FloatArray, FloatArray]:
    """Pre-activations of every hidden layer, raw output and (saturated) control, row-wise."""
    v = X
    zs: list[FloatArray] = []
    for w, b in zip(net.weights[:-1], net.biases[:-1], strict=True):
        z = v @ w.T + b
        zs.append(z)
        v = leaky(z, net.a)
    u_raw = v @ net.weights[-1].T + net.biases[-1]
    u = u_raw if net.u_max is None else np.clip(u_raw, -net.u_max, net.u_max)
    return zs, u_raw, u


def center_network(weights: Sequence[ArrayLike], biases: Sequence[ArrayLike] | None,
                   negative_slope: float) -> list[FloatArray]:
    """Biases with the output bias shifted so that ``pi(0) = 0``.

    A region-of-attraction certificate is about the equilibrium at the origin, which needs
    ``pi(0) = 0`` (for a plant ``x' = A x + B u`` with invertible ``A`` any other value moves
    the equilibrium). Subtracting ``pi(0)`` from the last bias is the usual bias compensation.

    Parameters
    ----------
    weights : sequence of array_like
        ``[W_1, ..., W_L]``.
    biases : sequence of array_like or None
        ``[b_1, ..., b_L]`` (``None``: zeros).
    negative_slope : float
        Leak ``a`` in ``[0, 1]``.

    Returns
    -------
    list of numpy.ndarray
        New biases; only the last one differs.
    """
    n = int(np.shape(weights[0])[1]) if len(weights) and np.ndim(weights[0]) == 2 else 0
    m = int(np.shape(weights[-1])[0]) if len(weights) and np.ndim(weights[-1]) == 2 else 0
    net = _network(weights, biases, negative_slope, n, m, None)
    u0 = _forward(net, np.zeros((1, n)))[1][0]
    out = [b.copy() for b in net.biases]
    out[-1] = out[-1] - u0
    return out


# ---------------------------------------------------------------------------- the LMI


@dataclass(frozen=True, eq=False)
class _Layout:
    """Stacked vector ``xi = [x; v_1; ...; v_{L-1}; w (saturation); q (plant nonlinearity)]``."""

    sizes: list[int]
    sat: int | None  # block index of the saturation output, if any
    nl: int | None  # block index of the plant nonlinearity, if any

    @property
    def offsets(self) -> list[int]:
        return [0, *np.cumsum(self.sizes).tolist()]

    @property
    def dim(self) -> int:
        return int(sum(self.sizes))


@dataclass(frozen=True, eq=False)
class _QC:
    """One group of scalar constraints ``(v_j - alpha_j z_j)(beta_j z_j - v_j) >= 0``.

    ``z = W xi[src block]`` (an increment or a deviation from the equilibrium), ``v`` the
    ``dst`` block of ``xi``.
    """

    src: int
    dst: int
    W: FloatArray
    alpha: FloatArray
    beta: FloatArray
    name: str


def _layout(n: int, net: _Net, nl: bool) -> _Layout:
    sizes = [n, *net.hidden]
    sat = None
    if net.u_max is not None:
        sat = len(sizes)
        sizes.append(int(net.weights[-1].shape[0]))
    nli = None
    if nl:
        nli = len(sizes)
        sizes.append(1)
    return _Layout(sizes, sat, nli)


def _dynamics_map(A: FloatArray, B: FloatArray, net: _Net, lay: _Layout,
                  E: FloatArray | None) -> FloatArray:
    """``F`` with ``dx' = F xi``: ``A dx + B du + E dq``, ``du = W_L dv_{L-1}`` or ``dw``."""
    off = lay.offsets
    F = np.zeros((A.shape[0], lay.dim))
    F[:, : A.shape[0]] = A
    if lay.sat is None:
        last = len(net.weights) - 1  # block index of the last hidden layer
        F[:, off[last]: off[last + 1]] = B @ net.weights[-1]
    else:
        F[:, off[lay.sat]: off[lay.sat + 1]] = B
    if lay.nl is not None and E is not None:
        F[:, off[lay.nl]: off[lay.nl + 1]] = E.reshape(-1, 1)
    return F


def _qc_basis(lay: _Layout, q: _QC) -> FloatArray:
    """Columns ``vec(Q_j)`` (column-major) of one constraint group, built block-wise.

    ``(v - alpha z)(beta z - v) = -v^2 + (alpha + beta) z v - alpha beta z^2`` with
    ``z = w_j' xi_src``: the ``(src, src)`` block gets ``-alpha beta w_j w_j'``, the
    ``(src, dst_j)`` column ``(alpha + beta)/2 w_j`` (and its transpose), ``(dst_j, dst_j)``
    gets ``-1``.
    """
    d = lay.dim
    off = lay.offsets
    s0, s1, t0 = off[q.src], off[q.src + 1], off[q.dst]
    k = q.W.shape[0]
    Q = np.zeros((k, d, d))
    Q[:, s0:s1, s0:s1] = -(q.alpha * q.beta)[:, None, None] * np.einsum("ja,jb->jab", q.W, q.W)
    idx = np.arange(k)
    Q[idx, s0:s1, t0 + idx] += 0.5 * (q.alpha + q.beta)[:, None] * q.W
    Q[idx, t0 + idx, s0:s1] += 0.5 * (q.alpha + q.beta)[:, None] * q.W
    Q[idx, t0 + idx, t0 + idx] -= 1.0
    return Q.transpose(0, 2, 1).reshape(k, d * d).T


def _cvx_problem(cp: Any, n: int, lay: _Layout, qcs: list[_QC], F: FloatArray, time: str,
                 ) -> tuple[Any, Any, list[Any], Any]:
    """cvxpy's ``L(P, param) + sum_j lambda_j Q_j``, the constraints from :func:`_qc_basis`.

    ``param`` is ``c`` (continuous: ``+ 2 c E0' P E0``) or ``rho^2`` (discrete:
    ``- rho^2 E0' P E0``). Returns ``(expression, P, lambdas, param)``.
    """
    d = lay.dim
    P = cp.Variable((n, n), symmetric=True)
    param = cp.Parameter(nonneg=True)
    lams = [cp.Variable(q.W.shape[0], nonneg=True) for q in qcs]
    E0 = np.zeros((n, d))
    E0[:, :n] = np.eye(n)
    if time == "continuous":
        PF = P @ F
        lyap = E0.T @ PF + PF.T @ E0 + 2.0 * param * (E0.T @ P @ E0)
    else:
        lyap = F.T @ P @ F - param * (E0.T @ P @ E0)
    # The constraint part is linear in the stacked multipliers: one constant (d*d, N) matrix
    # times lambda. cvxpy canonicalises that in one step, where W' diag(lambda) W expressions
    # cost minutes for a 2-32-32-1 network.
    basis = np.concatenate([_qc_basis(lay, q) for q in qcs], axis=1)
    lam_all = cp.hstack(lams) if len(lams) > 1 else lams[0]
    qc_mat = cp.reshape(basis @ lam_all, (d, d), order="F")
    total = lyap + qc_mat
    return 0.5 * (total + total.T), P, lams, param


def _qc_lmi_numpy(n: int, lay: _Layout, qcs: list[_QC], lams: list[FloatArray], P: FloatArray,
                  A: FloatArray, B: FloatArray, net: _Net, E: FloatArray | None, time: str,
                  param: float) -> FloatArray:
    """The same matrix inequality rebuilt from first principles, one scalar constraint at a time.

    For every scalar nonlinearity ``j`` the vectors ``g`` (its input ``z = g' xi``) and ``h``
    (its output ``v = h' xi``) are written out from the network's weights, and
    ``lambda_j sym((h - alpha g)(beta g - h)')`` is added: the quadratic form of
    ``lambda_j (v - alpha z)(beta z - v)``. The Lyapunov term is formed from ``dx'`` (or ``dx+``)
    assembled row by row from ``A``, ``B`` and the weights.
    """
    d = lay.dim
    off = lay.offsets
    # dx' (or dx+) as a linear function of xi, assembled from the plant equations
    G = np.zeros((n, d))
    G[:, :n] += A
    m = B.shape[1]
    for k in range(m):
        if lay.sat is not None:
            G[:, off[lay.sat] + k] += B[:, k]
        else:
            last = len(net.weights) - 1
            for j in range(net.weights[-1].shape[1]):
                G[:, off[last] + j] += B[:, k] * net.weights[-1][k, j]
    if lay.nl is not None and E is not None:
        G[:, off[lay.nl]] += E.ravel()
    S = np.zeros((d, n))
    S[:n, :n] = np.eye(n)
    if time == "continuous":
        M = S @ P @ G
        M = M + M.T + 2.0 * param * (S @ P @ S.T)
    else:
        M = G.T @ P @ G - param * (S @ P @ S.T)
    for q, lam in zip(qcs, lams, strict=True):
        for j in range(q.W.shape[0]):
            g = np.zeros(d)
            g[off[q.src]: off[q.src + 1]] = q.W[j]
            h = np.zeros(d)
            h[off[q.dst] + j] = 1.0
            left = h - q.alpha[j] * g
            right = q.beta[j] * g - h
            M += lam[j] * 0.5 * (np.outer(left, right) + np.outer(right, left))
    return 0.5 * (M + M.T)


def _lmi_tol(M: FloatArray, P: FloatArray, lams: list[FloatArray]) -> float:
    """Backward-error bound on forming ``M`` and on ``eigvalsh``: ``M`` computed negative beyond
    this margin means the exact matrix is negative definite."""
    scale = float(np.linalg.norm(M, "fro") + np.linalg.norm(P, "fro")
                  + sum(float(np.sum(lam)) for lam in lams) + 1.0)
    return float(64.0 * M.shape[0] * _EPS * scale)


def _solve(cp: Any, prob: Any, solvers: list[str]) -> tuple[str | None, str, bool]:
    """Solve with the first solver that returns a solution.

    Returns ``(solver name or None, notes, answered)``; ``answered`` is True when a solver
    returned a solution or proved infeasibility (a verdict, not a failure).
    """
    notes = []
    for name in solvers:
        try:
            with warnings.catch_warnings():
                # an inaccurate solution is harmless: every candidate is re-checked in numpy
                warnings.filterwarnings("ignore", message="Solution may be inaccurate")
                prob.solve(solver=name)
        except Exception as exc:  # solver errors differ by backend; reported, never guessed
            notes.append(f"{name}: {type(exc).__name__}: {exc}")
            continue
        if prob.status in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE):
            return name, "; ".join(notes), True
        if prob.status in (cp.INFEASIBLE, cp.INFEASIBLE_INACCURATE):
            return None, "; ".join([*notes, f"{name}: {prob.status}"]), True
        notes.append(f"{name}: status {prob.status}")
    return None, "; ".join(notes) or "no solver attempted", False


def _spectral_abscissa(J: FloatArray) -> float:
    return float(np.max(np.linalg.eigvals(J).real))


def _spectral_radius(J: FloatArray) -> float:
    return float(np.max(np.abs(np.linalg.eigvals(J))))


def _vertex_jacobian(A: FloatArray, B: FloatArray, net: _Net, s: float, s_sat: float
                     ) -> FloatArray:
    """``A + B S_sat W_L s W_{L-1} ... s W_1``: the loop with every unit at slope ``s``."""
    K = net.weights[0]
    for w in net.weights[1:]:
        K = w @ (s * K)
    return A + s_sat * (B @ K)


def _sym_basis(n: int) -> FloatArray:
    """``(n(n+1)/2, n, n)``: ``E_kk`` and ``E_kl + E_lk`` (``k < l``), a basis of symmetric P."""
    mats = []
    for k in range(n):
        for j in range(k, n):
            E = np.zeros((n, n))
            E[k, j] = E[j, k] = 1.0
            mats.append(E)
    return np.array(mats)


def _lyap_coeffs(n: int, lay: _Layout, F: FloatArray, time: str, param: float) -> FloatArray:
    """The Lyapunov term for each basis matrix of P: shape ``(n(n+1)/2, d, d)``."""
    E0 = np.zeros((n, lay.dim))
    E0[:, :n] = np.eye(n)
    out = []
    for E in _sym_basis(n):
        if time == "continuous":
            X = E0.T @ E @ F
            out.append(X + X.T + 2.0 * param * (E0.T @ E @ E0))
        else:
            out.append(F.T @ E @ F - param * (E0.T @ E @ E0))
    return np.array(out)


def _qc_coeffs(lay: _Layout, qcs: list[_QC]) -> FloatArray:
    d = lay.dim
    basis = np.concatenate([_qc_basis(lay, q) for q in qcs], axis=1)
    return basis.T.reshape(-1, d, d).transpose(0, 2, 1)


def _unpack(y: FloatArray, n: int, qcs: list[_QC]) -> tuple[FloatArray, list[FloatArray]]:
    npar = n * (n + 1) // 2
    P = np.tensordot(y[:npar], _sym_basis(n), axes=1)
    lams = []
    i = npar
    for q in qcs:
        k = q.W.shape[0]
        lams.append(np.maximum(y[i: i + k], 0.0))
        i += k
    return P, lams


def _global_barrier(n: int, lay: _Layout, qcs: list[_QC], F: FloatArray, time: str,
                    param: float, cond: float, start: FloatArray | None = None
                    ) -> tuple[FloatArray, list[FloatArray], float, FloatArray | None]:
    """``min t`` s.t. ``L(P) + sum lambda Q < t I``, ``I < P < cond I``, ``lambda > 0``.

    Stops as soon as ``t`` is clearly negative (feasibility is all the bisection needs) or the
    central path proves ``t >= 0``. ``start``: ``(P, lambda, t-gap)`` entries of a previous
    solve's first centred point (the bisection's previous rate), where the new solve's first
    centering starts. Returns ``(P, lambdas, t, first centred point)``.
    """
    d = lay.dim
    G = np.concatenate([_lyap_coeffs(n, lay, F, time, param), _qc_coeffs(lay, qcs)])
    npar = n * (n + 1) // 2
    nlam = G.shape[0] - npar
    m = G.shape[0] + 1
    Fl = np.concatenate([-G, np.eye(d)[None]])  # t I - G(y)
    Pb = np.concatenate([_sym_basis(n), np.zeros((nlam + 1, n, n))])
    blocks = [LMIBlock(np.zeros((d, d)), Fl), LMIBlock(-np.eye(n), Pb),
              LMIBlock(cond * np.eye(n), -Pb)]
    A = np.zeros((nlam, m))
    A[np.arange(nlam), npar + np.arange(nlam)] = 1.0
    y0 = np.zeros(m)
    p0 = min(2.0, 0.5 * (1.0 + cond))
    y0[:npar] = np.array([p0 if k == j else 0.0 for k in range(n) for j in range(k, n)])
    y0[npar: npar + nlam] = 1.0
    gap = 1.0
    if start is not None:
        # P and lambda of the neighbouring problem's centre, t at the same distance above the
        # largest eigenvalue: the first centering then has little left to do
        y0[:-1], gap = start[:-1], float(start[-1])
    G0 = np.tensordot(y0[:-1], G, axes=1)
    y0[-1] = float(np.linalg.eigvalsh(G0)[-1]) + gap
    c = np.zeros(m)
    c[-1] = 1.0

    def stop(y: FloatArray) -> bool:
        # "clearly negative": 1e-9 of the matrix's scale is still 10^3 (d = 70) to 10^4 (d = 4)
        # times the numpy re-check's rounding bound (64 d eps of the scale), and a candidate
        # that fails the re-check only costs its rate; the former 1e-6 sent solves whose
        # optimum is slightly negative on to full convergence (600 Newton steps, seconds, for
        # a one-unit network)
        scale = 1.0 + float(np.linalg.norm(np.tensordot(y[:-1], G, axes=1), 2))
        return bool(y[-1] < -1e-9 * scale)

    # Each centering runs to convergence (up to the whole budget): the central path moves P
    # over orders of magnitude (from 2 I towards cond I), ~60-160 Newton steps per centering
    # here. A centering cut short (formerly 50 steps, 150 in all) leaves the iterate off the
    # path, where it drifts while mu grows: the rate was then reported uncertifiable although
    # the LMI is feasible (2-32-32-1 benchmark: 0.198 instead of Clarabel's 0.283). A rate the
    # barrier cannot settle in 600 steps counts as not certified (the bisection stays
    # conservative).
    res = barrier_minimise(c, blocks, A, np.zeros(nlam), y0, stop=stop,
                           give_up=lambda lower: lower > 0.0, max_newton=600, max_center=600)
    P, lams = _unpack(res.y[:-1], n, qcs)
    first = None
    if res.first_centre is not None:
        first = res.first_centre.copy()
        top = float(np.linalg.eigvalsh(np.tensordot(first[:-1], G, axes=1))[-1])
        first[-1] = first[-1] - top
    return P, lams, float(res.y[-1]), first


# ---------------------------------------------------------------------------- global


@dataclass(frozen=True, eq=False)
class GlobalCertificate:
    """Result of :func:`global_certificate`.

    Attributes
    ----------
    status : str
        ``"certified"`` (the matrix inequality holds, re-checked in numpy and on samples),
        ``"not_certified"`` (no certificate of this form; says nothing about instability by
        itself) or ``"solver_failed"``.
    time : str
        ``"continuous"`` or ``"discrete"``.
    rate : float
        Continuous time: the contraction rate ``c > 0`` (``|dx(t)|_P <= exp(-c t) |dx(0)|_P``).
        Discrete time: the contraction factor ``rho < 1`` (``|dx_{k+1}|_P <= rho |dx_k|_P``).
        NaN when not certified.
    rate_bound : float
        The best rate any certificate of this form could give: continuous
        ``min_s -max Re eig(J_s)``, discrete ``max_s spectral radius(J_s)``, over the loops
        with every unit at slope 1 and at slope ``a`` (saturation at 1 and 0).
    P : numpy.ndarray or None
        The metric (symmetric positive definite, smallest eigenvalue 1 up to scaling).
    multipliers : list of numpy.ndarray
        ``lambda >= 0`` for each hidden layer (and the saturation, last, if present).
    solver : str or None
        The cvxpy solver whose solution was accepted.
    margin : float
        ``-max eig`` of the re-built matrix inequality divided by ``max eig P`` (``> 0`` when
        certified); NaN when not computed.
    assumptions : list of str
        What the certificate assumes and what it proves, in sentences.
    message : str
        Why this status.
    recheck : dict
        The numpy re-check: ``max_eig``, ``tol``, ``samples`` (pairs tested), ``worst_ratio``
        (largest sampled ``(V(dx') + 2 c V)`` or ``V(dx+) / (rho^2 V)``, relative), ``passed``.
    n_solves : int
        Semidefinite programs solved.
    solve_time : float
        Wall-clock seconds spent in the whole call.
    """

    status: str
    time: str
    rate: float
    rate_bound: float
    P: FloatArray | None
    multipliers: list[FloatArray]
    solver: str | None
    margin: float
    assumptions: list[str]
    message: str
    recheck: dict[str, Any] = field(default_factory=dict)
    n_solves: int = 0
    solve_time: float = 0.0

    @property
    def certified(self) -> bool:
        """True when ``status == "certified"``."""
        return self.status == "certified"


def _global_qcs(net: _Net, lay: _Layout) -> list[_QC]:
    qcs = []
    for i, w in enumerate(net.weights[:-1]):
        k = w.shape[0]
        qcs.append(_QC(i, i + 1, w, np.full(k, net.a), np.ones(k), f"layer {i + 1}"))
    if lay.sat is not None:
        m = net.weights[-1].shape[0]
        qcs.append(_QC(len(net.weights) - 1, lay.sat, net.weights[-1], np.zeros(m), np.ones(m),
                       "saturation"))
    return qcs


def _sample_pairs(A: FloatArray, B: FloatArray, net: _Net, P: FloatArray, rate: float, time: str,
                  n_samples: int, rng: np.random.Generator) -> tuple[bool, float]:
    """Test the contraction inequality on random pairs of states of the true loop.

    Continuous: ``2 d' P (f(x1) - f(x2)) + 2 c d' P d <= 0``; discrete:
    ``|f(x1) - f(x2)|_P^2 <= rho^2 |d|_P^2``, ``d = x1 - x2``. States are drawn at several
    scales around the points where units switch, so kinks and saturation are crossed.
    Returns ``(passed, worst relative violation)``.
    """
    if n_samples == 0:
        return True, -math.inf
    n = A.shape[0]
    scales = np.geomspace(1e-2, 1e2, 5)
    s = scales[rng.integers(0, scales.size, size=n_samples)][:, None]
    X1 = rng.standard_normal((n_samples, n)) * s
    X2 = X1 + rng.standard_normal((n_samples, n)) * s * rng.uniform(1e-3, 1.0, (n_samples, 1))
    f1 = X1 @ A.T + _forward(net, X1)[2] @ B.T
    f2 = X2 @ A.T + _forward(net, X2)[2] @ B.T
    D = X1 - X2
    dF = f1 - f2
    V = np.einsum("ij,jk,ik->i", D, P, D)
    if time == "continuous":
        lhs = 2.0 * np.einsum("ij,jk,ik->i", D, P, dF) + 2.0 * rate * V
    else:
        lhs = np.einsum("ij,jk,ik->i", dF, P, dF) - rate**2 * V
    scale = V * (1.0 + abs(rate)) + np.einsum("ij,jk,ik->i", dF, P, dF) ** 0.5 * V**0.5
    rel = lhs / np.maximum(scale, 1e-300)
    worst = float(np.max(rel))
    # the inequality is exact in real arithmetic; allow rounding of the forward evaluation
    return bool(worst <= 1e-9), worst


def global_certificate(
    A: ArrayLike,
    B: ArrayLike,
    weights: Sequence[ArrayLike],
    biases: Sequence[ArrayLike] | None,
    negative_slope: float,
    *,
    time: str = "continuous",
    u_max: ArrayLike | None = None,
    rate_tol: float = 1e-3,
    metric_cond: float = 1e4,
    solver: str | None = "barrier",
    n_samples: int = 2000,
    seed: int = 0,
) -> GlobalCertificate:
    r"""Global contraction certificate of a linear plant in feedback with a leaky network.

    Incremental quadratic constraints, one per hidden unit (slope in ``[a, 1]``) and per
    saturated input (slope in ``[0, 1]``), with one multiplier each; bisection on the rate.

    Parameters
    ----------
    A : array_like, shape (n, n)
        Plant state matrix (continuous: ``x' = A x + B u``; discrete: ``x+ = A x + B u``).
    B : array_like, shape (n, m) or (n,)
        Plant input matrix.
    weights : sequence of array_like
        ``[W_1, ..., W_L]``, ``W_1`` of shape ``(n_1, n)``, ``W_L`` of shape ``(m, n_{L-1})``;
        at least one hidden layer.
    biases : sequence of array_like or None
        ``[b_1, ..., b_L]``; they do not enter the incremental certificate (they move the
        equilibrium, not the contraction).
    negative_slope : float
        Leak ``a`` in ``[0, 1]`` (``0``: ReLU, ``1``: linear).
    time : {"continuous", "discrete"}, default "continuous"
        Time domain of the plant.
    u_max : float or array_like, optional
        Symmetric actuator saturation ``u = clip(pi(x), -u_max, u_max)`` (one value or one per
        input); ``None`` for none.
    rate_tol : float, default 1e-3
        Relative width at which the bisection on the rate stops.
    metric_cond : float, default 1e4
        Bound on the condition number of ``P`` (``I <= P <= metric_cond I``), imposed alike by
        every solver, so that all of them solve the same problem and certify the same rate.
        It is kept because the inequality is homogeneous in ``(P, multipliers)``: without a
        bound the barrier's central path runs off to infinity, and a metric with a huge
        condition number is at the mercy of rounding in the numpy re-check.
    solver : str or None, default "barrier"
        ``"barrier"``: the built-in dense barrier method (fast for few unknowns and one large
        matrix inequality, the shape of these problems); a cvxpy solver name (e.g.
        ``"CLARABEL"``, ``"SCS"``); ``None``: Clarabel with SCS as fallback (cvxpy). Whatever
        solves, the certificate is re-checked in numpy.
    n_samples : int, default 2000
        Random pairs of states on which the certified inequality is re-tested on the true
        loop (``0`` skips it).
    seed : int, default 0
        Seed of those samples.

    Returns
    -------
    GlobalCertificate

    Raises
    ------
    ValueError, TypeError
        On mismatched shapes, non-finite entries, ``negative_slope`` outside ``[0, 1]``, an
        unknown ``time`` or bad options.
    ImportError
        If cvxpy is missing.

    Notes
    -----
    Contraction of the whole loop implies a unique equilibrium, globally exponentially stable.
    It is the origin only when ``A 0 + B sat(pi(0)) = 0``, e.g. after :func:`center_network`.
    The certificate holds for any time variation of the slopes inside their ranges, so it is
    conservative for the actual (time-invariant) network; it can never be obtained when some
    constant choice of slopes (e.g. every unit off for ReLU, saturation at slope 0) gives an
    unstable linear loop: then ``status`` is ``"not_certified"`` before any SDP.
    """
    t_start = _time.perf_counter()
    A_, B_ = _plant(A, B)
    n, m = A_.shape[0], B_.shape[1]
    net = _network(weights, biases, negative_slope, n, m, u_max)
    time = _check_time(time)
    rate_tol = check_real("rate_tol", rate_tol, low=0.0, low_open=True, high=1.0)
    metric_cond = check_real("metric_cond", metric_cond, low=1.0, low_open=True)
    solver = check_optional_str("solver", solver, "'barrier' or a cvxpy solver name")
    n_samples = check_int("n_samples", n_samples, low=0)
    seed = check_int("seed", seed, low=0)

    lay = _layout(n, net, nl=False)
    qcs = _global_qcs(net, lay)
    slopes = [(1.0, 1.0), (net.a, 1.0)]
    if net.u_max is not None:
        slopes += [(1.0, 0.0), (net.a, 0.0)]
    verts = [_vertex_jacobian(A_, B_, net, s, ss) for s, ss in slopes]
    assumptions = [
        f"every hidden unit is slope-restricted in [a, 1] = [{net.a:g}, 1] (leaky ReLU)",
        "the certificate covers any time-varying slopes in those ranges, so it proves more than "
        "the network needs and may fail where the network loop is in fact stable",
        "biases do not enter: incremental constraints prove contraction, so every pair of "
        "trajectories converges and the unique equilibrium (the origin only if "
        "A 0 + B sat(pi(0)) = 0, e.g. after bias compensation) is globally exponentially stable",
        "the plant is linear and known exactly",
    ]
    if net.u_max is not None:
        assumptions.insert(1, "each saturated input is slope-restricted in [0, 1]")
    if time == "continuous":
        rate_bound = min(-_spectral_abscissa(J) for J in verts)
        feasible_bound = rate_bound > 0.0
    else:
        rate_bound = max(_spectral_radius(J) for J in verts)
        feasible_bound = rate_bound < 1.0

    def result(status: str, rate: float, P: FloatArray | None, lams: list[FloatArray],
               used: str | None, margin: float, message: str, recheck: dict[str, Any],
               n_solves: int) -> GlobalCertificate:
        return GlobalCertificate(
            status=status, time=time, rate=rate, rate_bound=rate_bound, P=P, multipliers=lams,
            solver=used, margin=margin, assumptions=assumptions, message=message,
            recheck=recheck, n_solves=n_solves, solve_time=_time.perf_counter() - t_start)

    if not feasible_bound:
        which = "every unit at slope 1 or at slope a"
        if net.u_max is not None:
            which += " (saturation at slope 1 or 0)"
        what = ("not Hurwitz" if time == "continuous" else "not Schur")
        return result(
            "not_certified", math.nan, None, [], None, math.nan,
            f"a linear loop inside the slope set ({which}) is {what} (bound {rate_bound:.4g}); "
            "no incremental certificate exists", {}, 0)

    F = _dynamics_map(A_, B_, net, lay, None)
    # time scaling (continuous): unit-norm dynamics keep the solver's tolerances meaningful
    tscale = max(float(np.linalg.norm(F, 2)), 1e-12) if time == "continuous" else 1.0
    Fs = F / tscale
    eye = np.eye(n)
    if solver != "barrier":
        cp = require_cvxpy("the network-loop certificates")
        expr, Pvar, lam_vars, param = _cvx_problem(cp, n, lay, qcs, Fs, time)
        t = cp.Variable()
        cons = [Pvar >> eye, Pvar << metric_cond * eye, expr << t * np.eye(lay.dim), t >= -1.0]
        prob = cp.Problem(cp.Minimize(t), cons)
        solvers = [solver] if solver is not None else ["CLARABEL", "SCS"]

    best: tuple[float, FloatArray, list[FloatArray], str, dict[str, Any]] | None = None
    notes: list[str] = []
    n_solves = 0
    solver_ok = False
    warm: FloatArray | None = None

    def attempt(value: float) -> bool:
        nonlocal best, n_solves, solver_ok, warm
        pv = value / tscale if time == "continuous" else value**2
        n_solves += 1
        if solver == "barrier":
            # each solve's first centering starts at the previous one's centre (the central
            # path at the first mu hardly moves between neighbouring rates): ~40 % fewer steps
            Pv, lv, tv, centre = _global_barrier(n, lay, qcs, Fs, time, pv, metric_cond, warm)
            warm = centre if centre is not None else warm
            used: str | None = "barrier"
            solver_ok = True
        else:
            param.value = pv
            used, note, answered = _solve(cp, prob, solvers)
            solver_ok = solver_ok or answered
            if note:
                notes.append(note)
            if used is None or Pvar.value is None or t.value is None:
                return False
            tv = float(t.value)
            Pv = 0.5 * (Pvar.value + Pvar.value.T)
            lv = [np.maximum(np.asarray(lam.value, dtype=np.float64), 0.0) for lam in lam_vars]
        if tv >= 0.0 or used is None:
            return False
        # the solver saw the time-scaled inequality (divided by tscale): rescale back
        lv = [tscale * lam for lam in lv]
        chk = _recheck_global(n, lay, qcs, lv, Pv, A_, B_, net, time, value)
        if not chk["passed"]:
            return False
        best = (value, Pv, lv, used, chk)
        return True

    if time == "continuous":
        # the rate c: feasible below, up to rate_bound; absolute width, so a rate below
        # rate_tol * rate_bound is reported as not certified
        lo, hi, width, feasible_below = 0.0, rate_bound, rate_tol * rate_bound, True
    else:
        # the factor rho: feasible near 1, infeasible below rate_bound
        lo, hi, width, feasible_below = rate_bound, 1.0, rate_tol * (1.0 - rate_bound), False
    while hi - lo > width:
        mid = 0.5 * (lo + hi)
        if attempt(mid) == feasible_below:
            lo = mid
        else:
            hi = mid
        if best is None and not solver_ok and n_solves >= 2:
            break

    if best is None:
        if not solver_ok:
            return result("solver_failed", math.nan, None, [], None, math.nan,
                          "the SDP solver returned no solution: " + "; ".join(notes), {},
                          n_solves)
        return result(
            "not_certified", math.nan, None, [], None, math.nan,
            "no metric and multipliers passed the numpy re-check at any tested rate "
            f"(the linear-vertex bound is {rate_bound:.4g}); the loop may still be stable, "
            "but not provably with these constraints", {}, n_solves)
    value, Pv, lv, used, chk = best
    rng = np.random.default_rng(seed)
    ok, worst = _sample_pairs(A_, B_, net, Pv, value, time, n_samples, rng)
    chk = {**chk, "samples": n_samples, "worst_ratio": worst, "passed": bool(chk["passed"] and ok)}
    margin = -chk["max_eig"] / float(np.linalg.eigvalsh(Pv)[-1])
    if not ok:
        return result("not_certified", math.nan, Pv, lv, used, margin,
                      f"the LMI passed but a sampled pair of states violates the contraction "
                      f"inequality (relative {worst:.3g}); certificate withdrawn", chk, n_solves)
    what = (f"contracting with rate {value:.6g} (1/time)" if time == "continuous" else
            f"contracting with factor {value:.6g} per step")
    return result("certified", value, Pv, lv, used, margin,
                  f"{what}; re-checked in numpy (max eig {chk['max_eig']:.3g} <= "
                  f"-{chk['tol']:.3g}) and on {n_samples} sampled pairs", chk, n_solves)


def _recheck_global(n: int, lay: _Layout, qcs: list[_QC], lams: list[FloatArray], P: FloatArray,
                    A: FloatArray, B: FloatArray, net: _Net, time: str, value: float
                    ) -> dict[str, Any]:
    if not np.all(np.isfinite(P)) or np.linalg.eigvalsh(P)[0] <= 0.0:
        return {"passed": False, "max_eig": math.inf, "tol": 0.0}
    param = value if time == "continuous" else value**2
    M = _qc_lmi_numpy(n, lay, qcs, lams, P, A, B, net, None, time, param)
    top = float(np.linalg.eigvalsh(M)[-1])
    tol = _lmi_tol(M, P, lams)
    return {"passed": top <= -tol, "max_eig": top, "tol": tol}


# ---------------------------------------------------------------------------- region of attraction


@dataclass(frozen=True, eq=False)
class PlantNonlinearity:
    """One scalar plant nonlinearity ``x' = A x + B u + E q``, ``q = func(C x)``.

    ``sector(y_lo, y_hi)`` must return ``(alpha, beta)`` with
    ``alpha <= func(y) / y <= beta`` for every ``y != 0`` in ``[y_lo, y_hi]`` (a local sector
    about ``func(0) = 0``). :meth:`sine` builds the pendulum's ``sin``.

    Attributes
    ----------
    E : numpy.ndarray, shape (n,)
        Where ``q`` enters the dynamics.
    C : numpy.ndarray, shape (n,)
        ``y = C x`` is the argument of ``func``.
    func : callable
        Vectorised ``q = func(y)`` on a 1-D array.
    sector : callable
        ``(y_lo, y_hi) -> (alpha, beta)``, the chord-slope range about 0.
    name : str
        For messages.
    """

    E: FloatArray
    C: FloatArray
    func: Callable[[FloatArray], FloatArray]
    sector: Callable[[float, float], tuple[float, float]]
    name: str = "f"

    @classmethod
    def sine(cls, E: ArrayLike, C: ArrayLike) -> PlantNonlinearity:
        """``q = sin(C x)``: local sector ``[sin(r)/r, 1]`` for ``|C x| <= r <= pi``.

        Parameters
        ----------
        E : array_like, shape (n,)
            Input direction of ``q`` (for the pendulum ``(0, g/l)``, times ``dt`` in discrete
            time).
        C : array_like, shape (n,)
            Selects the angle (``(1, 0)`` for the pendulum).

        Returns
        -------
        PlantNonlinearity
        """
        E_ = as_array("E", E, ndim=1)
        C_ = as_array("C", C, ndim=1, shape=(E_.shape[0],), match=f"E of shape {E_.shape}")
        return cls(E_, C_, np.sin, chord_slopes_sin, "sin")


@dataclass(frozen=True, eq=False)
class RegionOfAttraction:
    """Result of :func:`region_of_attraction`.

    Attributes
    ----------
    status : str
        ``"certified"``: every state with ``x' P x <= 1`` converges to the origin (re-checked in
        numpy and on samples); ``"not_certified"``; ``"solver_failed"``.
    time : str
        ``"continuous"`` or ``"discrete"``.
    P : numpy.ndarray or None
        The ellipsoid ``{x : x' P x <= 1}``.
    box : numpy.ndarray or None
        Half-widths of the box ``|x_i| <= box_i`` the certificate used (the ellipsoid lies in it).
    roa_radius : float
        Radius of the largest ball about the origin inside the ellipsoid,
        ``1 / sqrt(max eig P)``; 0 when nothing is certified.
    decay : float
        Decrease demanded: continuous ``dV/dt <= -2 decay V``; discrete
        ``V(x+) <= (1 - decay)^2 V(x)``.
    multipliers : list of numpy.ndarray
        One array per constraint group (hidden layers, saturation, plant nonlinearity).
    sectors : list of tuple
        ``(name, alpha, beta)`` per constraint group: the local slopes on the chosen box.
    solver : str or None
        ``"barrier"`` (the built-in dense barrier method) when something was solved.
    margin : float
        ``-max eig`` of the rebuilt matrix inequality over ``max eig P``.
    assumptions : list of str
        What the certificate assumes, in sentences.
    message : str
        Why this status.
    recheck : dict
        Results of the numpy and sampled re-checks of the returned certificate.
    scan : list of dict
        One entry per box scale tried: ``scale``, ``status``, ``roa_radius``.
    solve_time : float
        Wall-clock seconds of the whole call.
    """

    status: str
    time: str
    P: FloatArray | None
    box: FloatArray | None
    roa_radius: float
    decay: float
    multipliers: list[FloatArray]
    sectors: list[tuple[str, FloatArray, FloatArray]]
    solver: str | None
    margin: float
    assumptions: list[str]
    message: str
    recheck: dict[str, Any] = field(default_factory=dict)
    scan: list[dict[str, Any]] = field(default_factory=list)
    solve_time: float = 0.0

    @property
    def certified(self) -> bool:
        """True when ``status == "certified"``."""
        return self.status == "certified"

    def contains(self, X: ArrayLike) -> NDArray[np.bool_]:
        """Whether the states ``X`` (rows) lie in the certified ellipsoid.

        Parameters
        ----------
        X : array_like, shape (N, n)
            States.

        Returns
        -------
        numpy.ndarray of bool, shape (N,)
            All False when nothing is certified.
        """
        X_ = np.atleast_2d(as_array("X", X))
        if self.P is None or not self.certified:
            return np.zeros(X_.shape[0], dtype=bool)
        inside: NDArray[np.bool_] = np.einsum("ij,jk,ik->i", X_, self.P, X_) <= 1.0
        return inside


def _local_qcs(net: _Net, lay: _Layout, h: FloatArray, nl: PlantNonlinearity | None
               ) -> tuple[list[_QC], dict[str, Any]]:
    """Constraint groups with the local chord-slope sectors on the box ``|x| <= h``."""
    n = h.size
    z_lo, z_hi, u_lo, u_hi = interval_bounds(net.weights, net.biases, net.a, -h, h)
    zs, u_raw0, _ = _forward(net, np.zeros((1, n)))
    qcs = []
    for i, w in enumerate(net.weights[:-1]):
        al, be = chord_slopes_leaky(z_lo[i], z_hi[i], zs[i][0], net.a)
        qcs.append(_QC(i, i + 1, w, al, be, f"layer {i + 1}"))
    if lay.sat is not None and net.u_max is not None:
        al, be = chord_slopes_sat(u_lo, u_hi, u_raw0[0], net.u_max)
        qcs.append(_QC(len(net.weights) - 1, lay.sat, net.weights[-1], al, be, "saturation"))
    if lay.nl is not None and nl is not None:
        r = float(np.abs(nl.C) @ h)
        al_q, be_q = nl.sector(-r, r)
        qcs.append(_QC(0, lay.nl, nl.C.reshape(1, -1), np.array([al_q]), np.array([be_q]),
                       nl.name))
    bounds = {"z_lo": z_lo, "z_hi": z_hi, "u_lo": u_lo, "u_hi": u_hi}
    return qcs, bounds


def _roa_barrier(n: int, lay: _Layout, qcs: list[_QC], F: FloatArray, time: str, param: float,
                 h: FloatArray) -> tuple[FloatArray, list[FloatArray]] | None:
    """Largest-ball ellipsoid in the box on which the local constraints prove decrease.

    Phase I: ``min t``, ``G(P, lambda) < t I``, ``P > e_i e_i' / h_i^2`` (the ellipsoid lies in
    the box), ``lambda > 0``; stop once ``t < 0`` clearly. Phase II from there:
    ``min s`` with ``G < -eps I``, ``P < s I`` (the ball of radius ``1/sqrt(s)`` fits inside).
    """
    d = lay.dim
    G = np.concatenate([_lyap_coeffs(n, lay, F, time, param), _qc_coeffs(lay, qcs)])
    npar = n * (n + 1) // 2
    nlam = G.shape[0] - npar
    basis = _sym_basis(n)
    box_blocks = []
    for i in range(n):
        e = np.zeros(n)
        e[i] = 1.0
        box_blocks.append(-np.outer(e, e) / h[i] ** 2)
    # phase I: y = [p, lambda, t]
    m1 = npar + nlam + 1
    p0 = 2.0 / float(np.min(h)) ** 2
    # The inequality is homogeneous in (P, lambda): without upper bounds the barrier's
    # central path runs off to infinity. Loose bounds (radius >= 0.02 min h), not so loose that
    # rounding of huge multipliers swamps the numpy re-check.
    p_hi = 1e3 * p0
    lam_hi = 1e3 * p0 * (1.0 + float(np.linalg.norm(F, 2)) ** 2)
    Pb1 = np.concatenate([basis, np.zeros((nlam + 1, n, n))])
    blocks1 = [LMIBlock(np.zeros((d, d)), np.concatenate([-G, np.eye(d)[None]])),
               LMIBlock(p_hi * np.eye(n), -Pb1)]
    blocks1 += [LMIBlock(F0, Pb1) for F0 in box_blocks]
    A1 = np.zeros((2 * nlam, m1))
    A1[np.arange(nlam), npar + np.arange(nlam)] = 1.0
    A1[nlam + np.arange(nlam), npar + np.arange(nlam)] = -1.0
    g1 = np.concatenate([np.zeros(nlam), np.full(nlam, lam_hi)])
    y0 = np.zeros(m1)
    y0[:npar] = np.array([p0 if k == j else 0.0 for k in range(n) for j in range(k, n)])
    y0[npar: npar + nlam] = p0
    y0[-1] = float(np.linalg.eigvalsh(np.tensordot(y0[:-1], G, axes=1))[-1]) + p0
    c1 = np.zeros(m1)
    c1[-1] = 1.0

    def stop(y: FloatArray) -> bool:
        scale = float(np.linalg.norm(np.tensordot(y[:-1], G, axes=1), 2))
        return bool(y[-1] < -1e-6 * scale)

    res = barrier_minimise(c1, blocks1, A1, g1, y0, stop=stop,
                           give_up=lambda lower: lower > 0.0, max_newton=600)
    if res.status != "stopped":
        return None
    t1 = float(res.y[-1])
    # a margin far below the solution's scale, far above the re-check's rounding bound
    g_norm = float(np.linalg.norm(np.tensordot(res.y[:-1], G, axes=1), 2))
    eps = min(-0.5 * t1, 1e-9 * g_norm)
    # phase II: y = [p, lambda, s]
    m2 = m1
    blocks2 = [LMIBlock(-eps * np.eye(d), np.concatenate([-G, np.zeros((1, d, d))])),
               LMIBlock(p_hi * np.eye(n), -Pb1)]
    blocks2 += [LMIBlock(F0, Pb1) for F0 in box_blocks]
    blocks2.append(LMIBlock(np.zeros((n, n)), np.concatenate(
        [-basis, np.zeros((nlam, n, n)), np.eye(n)[None]])))
    y2 = res.y.copy()
    P1, _ = _unpack(y2[:-1], n, qcs)
    y2[-1] = float(np.linalg.eigvalsh(P1)[-1]) * 1.5
    c2 = np.zeros(m2)
    c2[-1] = 1.0
    res2 = barrier_minimise(c2, blocks2, A1, g1, y2, gap_tol=1e-4, max_newton=600)
    return _unpack(res2.y[:-1], n, qcs)


def _plant_step(A: FloatArray, B: FloatArray, net: _Net, nl: PlantNonlinearity | None,
                X: FloatArray) -> FloatArray:
    """``A x + B sat(pi(x)) + E f(C x)`` row-wise: the vector field or the one-step map."""
    out = X @ A.T + _forward(net, X)[2] @ B.T
    if nl is not None:
        out = out + np.outer(nl.func(X @ nl.C), nl.E)
    return out


def _recheck_roa(n: int, lay: _Layout, qcs: list[_QC], lams: list[FloatArray], P: FloatArray,
                 A: FloatArray, B: FloatArray, net: _Net, nl: PlantNonlinearity | None,
                 time: str, decay: float, h: FloatArray, bounds: dict[str, Any],
                 n_samples: int, rng: np.random.Generator) -> dict[str, Any]:
    """Numpy re-check of a region certificate: the LMI, the box, and samples of the true loop."""
    out: dict[str, Any] = {"passed": False}
    if not np.all(np.isfinite(P)) or np.linalg.eigvalsh(P)[0] <= 0.0:
        out["reason"] = "P is not positive definite"
        return out
    param = decay if time == "continuous" else (1.0 - decay) ** 2
    M = _qc_lmi_numpy(n, lay, qcs, lams, P, A, B, net,
                      None if nl is None else nl.E, time, param)
    top = float(np.linalg.eigvalsh(M)[-1])
    tol = _lmi_tol(M, P, lams)
    out.update(max_eig=top, tol=tol)
    if top > -tol:
        out["reason"] = f"the rebuilt LMI has eigenvalue {top:.3g} > -{tol:.3g}"
        return out
    # the ellipsoid lies in the box: max over the ellipsoid of |x_i| is sqrt((P^-1)_ii)
    reach = np.sqrt(np.diag(np.linalg.inv(P)))
    out["ellipsoid_reach"] = reach
    if np.any(reach > h):
        out["reason"] = f"the ellipsoid reaches {reach} beyond the box {h}"
        return out
    # the local sectors: sampled states of the box give pre-activations inside the interval
    # bounds and chord slopes inside [alpha, beta]
    Xb = rng.uniform(-1.0, 1.0, (n_samples, n)) * h
    zs = _forward(net, Xb)[0]
    zs0 = _forward(net, np.zeros((1, n)))[0]
    for i, q in enumerate(qcs[: len(net.weights) - 1]):
        z, z0 = zs[i], zs0[i][0]
        slack = 1e-9 * (1.0 + np.abs(z))
        if np.any(z < bounds["z_lo"][i] - slack) or np.any(z > bounds["z_hi"][i] + slack):
            out["reason"] = f"a sampled pre-activation of layer {i + 1} leaves its IBP bounds"
            return out
        dz = z - z0
        ok = np.abs(dz) > 1e-9 * (1.0 + np.abs(z0))
        chord = (leaky(z, net.a) - leaky(z0[None, :], net.a))[ok] / dz[ok]
        al = np.broadcast_to(q.alpha, z.shape)[ok]
        be = np.broadcast_to(q.beta, z.shape)[ok]
        if np.any(chord < al - 1e-7) or np.any(chord > be + 1e-7):
            out["reason"] = f"a sampled chord slope of layer {i + 1} leaves its local sector"
            return out
    # decrease along the true loop, on the boundary and inside the ellipsoid
    L = np.linalg.cholesky(P)
    U = rng.standard_normal((n_samples, n))
    U /= np.linalg.norm(U, axis=1, keepdims=True)
    radii = np.where(np.arange(n_samples) < n_samples // 2, 1.0,
                     rng.uniform(0.0, 1.0, n_samples) ** (1.0 / n))
    X = np.linalg.solve(L.T, (U * radii[:, None]).T).T  # x' P x = radius^2
    V = np.einsum("ij,jk,ik->i", X, P, X)
    if np.any(V > 1.0 + 1e-9) or np.any(np.abs(X) > h * (1.0 + 1e-9)):
        out["reason"] = "sampled ellipsoid points leave the box"
        return out
    Fx = _plant_step(A, B, net, nl, X)
    if time == "continuous":
        lhs = 2.0 * np.einsum("ij,jk,ik->i", X, P, Fx) + 2.0 * decay * V
        scale = V + np.abs(2.0 * np.einsum("ij,jk,ik->i", X, P, Fx))
    else:
        Vn = np.einsum("ij,jk,ik->i", Fx, P, Fx)
        lhs = Vn - (1.0 - decay) ** 2 * V
        scale = V + Vn
    worst = float(np.max(lhs / np.maximum(scale, 1e-300)))
    out.update(samples=n_samples, worst_ratio=worst)
    if worst > 1e-9:
        out["reason"] = f"V does not decrease at a sampled state (relative {worst:.3g})"
        return out
    out["passed"] = True
    return out


def region_of_attraction(
    A: ArrayLike,
    B: ArrayLike,
    weights: Sequence[ArrayLike],
    biases: Sequence[ArrayLike] | None,
    negative_slope: float,
    box: ArrayLike,
    *,
    time: str = "discrete",
    u_max: ArrayLike | None = None,
    nonlinearity: PlantNonlinearity | None = None,
    scales: ArrayLike | None = None,
    decay: float = 1e-3,
    n_samples: int = 2000,
    seed: int = 0,
) -> RegionOfAttraction:
    r"""Ellipsoidal inner approximation of the region of attraction of the origin.

    Yin, Seiler & Arcak (IEEE TAC 2022): interval bound propagation on a box gives every
    hidden unit, the saturation and the plant nonlinearity a local chord-slope sector about
    the equilibrium; an ellipsoid inside the box on which ``V = x' P x`` decreases under those
    sector constraints is invariant, so every trajectory starting in it converges to the
    origin. The ellipsoid's inscribed-ball radius is maximised, over ``box * scale`` for each
    ``scale`` in ``scales``.

    Parameters
    ----------
    A : array_like, shape (n, n)
        Plant: continuous ``x' = A x + B u + E q`` or discrete ``x+ = A x + B u + E q`` (for
        an Euler discretisation pass ``I + dt A_c``, ``dt B_c``, ``dt E_c``).
    B : array_like, shape (n, m) or (n,)
        Input matrix.
    weights, biases : sequence of array_like
        The network (see :func:`global_certificate`); ``sat(pi(0))`` must be 0 (see
        :func:`center_network`).
    negative_slope : float
        Leak ``a`` in ``[0, 1]``.
    box : array_like, shape (n,)
        Largest half-widths ``|x_i| <= box_i`` to consider (positive).
    time : {"discrete", "continuous"}, default "discrete"
        Time domain (discrete as in the paper).
    u_max : float or array_like, optional
        Symmetric actuator saturation.
    nonlinearity : PlantNonlinearity, optional
        ``q = f(C x)`` with a local sector, e.g. :meth:`PlantNonlinearity.sine`; ``f(0) = 0``.
    scales : array_like, optional
        Box scales in ``(0, 1]`` to try (default 12 values from 0.05 to 1, geometric).
    decay : float, default 1e-3
        Continuous: ``dV/dt <= -2 decay V``; discrete: ``V(x+) <= (1 - decay)^2 V(x)``
        (``0 <= decay < 1``). A positive value gives exponential convergence.
    n_samples : int, default 2000
        Sampled states for the re-check (box and ellipsoid); at least 10.
    seed : int, default 0
        Seed of those samples.

    Returns
    -------
    RegionOfAttraction

    Raises
    ------
    ValueError, TypeError
        On bad shapes or values, a box that is not positive, a network whose control at the
        origin is not 0 or a nonlinearity with ``f(0) != 0``.
    """
    t_start = _time.perf_counter()
    A_, B_ = _plant(A, B)
    n, m = A_.shape[0], B_.shape[1]
    net = _network(weights, biases, negative_slope, n, m, u_max)
    time = _check_time(time)
    h0 = as_array("box", box, ndim=1, shape=(n,), match=f"A of shape {A_.shape}")
    if np.any(h0 <= 0.0):
        raise ValueError(f"box must hold {n} positive half-widths, got {short_repr(box)}")
    if scales is None:
        sc = np.geomspace(0.05, 1.0, 12)
    else:
        sc = as_array("scales", scales, ndim=1)
        if sc.size == 0 or np.any(sc <= 0.0) or np.any(sc > 1.0):
            raise ValueError(f"scales must be a non-empty list of numbers in (0, 1], got "
                             f"{short_repr(scales)}")
    decay = check_real("decay", decay, low=0.0, high=1.0, high_open=True)
    n_samples = check_int("n_samples", n_samples, low=10)
    seed = check_int("seed", seed, low=0)
    if nonlinearity is not None:
        if not isinstance(nonlinearity, PlantNonlinearity):
            raise TypeError(f"nonlinearity must be a PlantNonlinearity or None, got "
                            f"{type(nonlinearity).__name__}")
        for nm in ("E", "C"):
            v = getattr(nonlinearity, nm)
            if np.shape(v) != (n,):
                raise ValueError(f"nonlinearity.{nm} must have shape ({n},) to match A, got "
                                 f"{np.shape(v)}")
        f0 = float(np.asarray(nonlinearity.func(np.zeros(1)))[0])
        if f0 != 0.0:
            raise ValueError(f"nonlinearity.func(0) must be 0 (equilibrium at the origin), got "
                             f"{f0!r}")
    u0 = _forward(net, np.zeros((1, n)))[2][0]
    wscale = 1.0 + float(np.max(np.abs(net.biases[-1]))) + sum(
        float(np.max(np.abs(b))) if b.size else 0.0 for b in net.biases)
    if np.any(np.abs(u0) > 1e-12 * wscale):
        raise ValueError(
            f"the network's control at the origin must be 0 for an equilibrium there, got "
            f"sat(pi(0)) = {u0!r}; shift the output bias (center_network) or the state"
        )

    lay = _layout(n, net, nl=nonlinearity is not None)
    assumptions = [
        "the plant model (A, B and the nonlinearity with its sector) is exact",
        "the origin is an equilibrium: sat(pi(0)) = 0 and f(0) = 0",
        "each hidden unit, the saturation and the plant nonlinearity stay inside the local "
        "chord-slope sectors that interval bound propagation gives on the box; the ellipsoid "
        "lies in the box, so they hold wherever the certificate is used",
        "V = x' P x decreases on the ellipsoid, so it is invariant and every trajectory "
        "starting in it converges to the origin",
    ]
    if time == "discrete":
        assumptions.append("discrete time: the certificate is for the sampled map x+ = A x + "
                           "B u + E q as given (e.g. an Euler step), not for a continuous plant")
    F = _dynamics_map(A_, B_, net, lay, None if nonlinearity is None else nonlinearity.E)
    tscale = max(float(np.linalg.norm(F, 2)), 1e-12) if time == "continuous" else 1.0
    param_s = decay / tscale if time == "continuous" else (1.0 - decay) ** 2
    rng = np.random.default_rng(seed)
    scan: list[dict[str, Any]] = []
    best: dict[str, Any] | None = None
    def try_scale(s: float) -> None:
        nonlocal best
        h = h0 * float(s)
        qcs, bounds = _local_qcs(net, lay, h, nonlinearity)
        sol = _roa_barrier(n, lay, qcs, F / tscale, time, param_s, h)
        if sol is None:
            scan.append({"scale": float(s), "status": "not_certified", "roa_radius": 0.0})
            return
        Pv, lv = sol
        lv = [tscale * lam for lam in lv]
        # solver tolerance may leave the ellipsoid a hair outside the box; scaling (P, lambda)
        # together keeps the (homogeneous) decrease inequality and shrinks the ellipsoid
        kappa = float(np.max(np.diag(np.linalg.inv(Pv)) / h**2))
        if kappa > 1.0:
            Pv, lv = Pv * kappa * (1.0 + 1e-12), [lam * kappa * (1.0 + 1e-12) for lam in lv]
        chk = _recheck_roa(n, lay, qcs, lv, Pv, A_, B_, net, nonlinearity, time, decay, h,
                           bounds, n_samples, rng)
        radius = 1.0 / math.sqrt(float(np.linalg.eigvalsh(Pv)[-1]))
        status = "certified" if chk["passed"] else "not_certified"
        scan.append({"scale": float(s), "status": status,
                     "roa_radius": radius if chk["passed"] else 0.0,
                     **({} if chk["passed"] else {"reason": chk.get("reason", "")})})
        if chk["passed"] and (best is None or radius > best["radius"]):
            best = {"radius": radius, "P": Pv, "lams": lv, "h": h, "qcs": qcs, "chk": chk,
                    "scale": float(s)}

    for s in sc:
        try_scale(float(s))
    # refine between the best scale and the next larger one tried (radius often grows with
    # the box until the local sectors become too loose, then the SDP fails abruptly)
    if best is not None:
        larger = [float(v) for v in sc if v > best["scale"]]
        lo_s, hi_s = best["scale"], (min(larger) if larger else None)
        for _ in range(4 if hi_s is not None else 0):
            assert hi_s is not None
            mid = math.sqrt(lo_s * hi_s)
            before = best["scale"]
            try_scale(mid)
            if best["scale"] != before:
                lo_s = mid
            else:
                hi_s = mid

    def sectors(qcs: list[_QC]) -> list[tuple[str, FloatArray, FloatArray]]:
        return [(q.name, q.alpha, q.beta) for q in qcs]

    if best is None:
        return RegionOfAttraction(
            status="not_certified", time=time, P=None, box=None, roa_radius=0.0, decay=decay,
            multipliers=[], sectors=[], solver="barrier", margin=math.nan,
            assumptions=assumptions,
            message="no box scale gave an ellipsoid that passed the re-check",
            recheck={}, scan=scan, solve_time=_time.perf_counter() - t_start)
    chk = best["chk"]
    margin = -chk["max_eig"] / float(np.linalg.eigvalsh(best["P"])[-1])
    return RegionOfAttraction(
        status="certified", time=time, P=best["P"], box=best["h"], roa_radius=best["radius"],
        decay=decay, multipliers=best["lams"], sectors=sectors(best["qcs"]), solver="barrier",
        margin=margin, assumptions=assumptions,
        message=(f"ellipsoid certified on the box {np.round(best['h'], 6).tolist()}: "
                 f"largest inscribed ball radius {best['radius']:.6g}; re-checked in numpy "
                 f"and on {n_samples} sampled states"),
        recheck=chk, scan=scan, solve_time=_time.perf_counter() - t_start)
