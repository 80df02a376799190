r"""Absolute stability of leaky loops: circle and Popov criteria, and the describing function.

In the loop ``u = phi_a(k (r - y))``, ``y = G(s) u`` the map ``e -> phi_a(k e)`` is
slope-restricted (hence, around any equilibrium, sector-bounded) in ``[k1, k2] = [a k, k]``.

* :func:`circle_criterion`: the centre loop ``A - k (1+a)/2 B C`` is Hurwitz and the Nyquist
  plot of ``G`` avoids the disk whose diameter is ``[-1/k1, -1/k2]`` (for ``a = 0`` the
  half-plane ``Re < -1/k``). Equivalently (loop transformation) ``delta ||G_c||_inf < 1`` with
  ``G_c = G / (1 + k (1+a)/2 G)`` and ``delta = k (1-a)/2``; that is tested exactly through the
  eigenvalues of a Hamiltonian matrix. It holds for *time-varying* nonlinearities in the
  sector, and for one channel it is equivalent to the contraction LMI of
  :func:`~leaky_control.analysis.contraction.contraction_rate`.
* :func:`popov_criterion`: for *time-invariant* nonlinearities only, a multiplier
  ``1 + q s`` (``q >= 0``) is searched for; it proves global asymptotic stability of the
  equilibrium, not contraction.
* :class:`LeakyReLUNonlinearity`: the describing function is ``(1 + a)/2`` at every amplitude.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import control as ct
import numpy as np

from ..activations import leaky_relu
from ._checks import as_array, check_allocation, check_int, check_real
from ._loop import resolve_loop, spectral_abscissa

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, NDArray

    from .._typing import FloatArray

__all__ = [
    "CircleCriterionResult",
    "LeakyReLUNonlinearity",
    "PopovCriterionResult",
    "circle_criterion",
    "popov_criterion",
]


def _freq_response(A: FloatArray, B: FloatArray, C: FloatArray,
                   omega: FloatArray) -> NDArray[np.complex128]:
    """``C (j w I - A)^{-1} B`` for every ``w`` (SISO), one batched solve."""
    n = A.shape[0]
    M = 1j * omega[:, None, None] * np.eye(n) - A
    rhs = np.broadcast_to(B.astype(complex), (omega.size, n, B.shape[1]))
    return (C @ np.linalg.solve(M, rhs))[:, 0, 0]


def _freq_response_or_nan(A: FloatArray, B: FloatArray, C: FloatArray,
                          omega: FloatArray) -> NDArray[np.complex128]:
    """:func:`_freq_response`, NaN at frequencies where ``j w`` is an eigenvalue of ``A``.

    An integrator (or an unstable loop with a pole on the imaginary axis) puts a singular
    ``j w I - A`` on the grid; the Nyquist/Popov data there is left out instead of failing.
    """
    try:
        return _freq_response(A, B, C, omega)
    except np.linalg.LinAlgError:
        keep = np.abs(np.linalg.det(1j * omega[:, None, None] * np.eye(A.shape[0]) - A)) > 0
        resp = np.full(omega.shape, np.nan + 0j)
        resp[keep] = _freq_response(A, B, C, omega[keep])
        return resp


def _imag_axis_freqs(H: FloatArray, tol: float = 1e-7) -> FloatArray:
    """Non-negative imaginary parts of the eigenvalues of ``H`` lying on the imaginary axis."""
    ev = np.linalg.eigvals(H)
    on_axis = np.abs(ev.real) <= tol * np.maximum(1.0, np.abs(ev))
    return np.unique(np.round(np.abs(ev[on_axis].imag), 14))


def _hinf_hamiltonian(A: FloatArray, B: FloatArray, C: FloatArray, gamma: float) -> FloatArray:
    """``jw`` is an eigenvalue iff ``gamma`` is a singular value of ``G(jw)`` (D = 0)."""
    # (1 / gamma)^2, not 1 / gamma^2: a tiny sector (huge gamma) underflows to the right answer
    return np.block([[A, (B @ B.T) * (1.0 / gamma) ** 2], [-C.T @ C, -A.T]])


def _hinf_norm(A: FloatArray, B: FloatArray, C: FloatArray, rtol: float = 1e-8,
               max_iter: int = 100) -> tuple[float, float]:
    """Boyd-Balakrishnan-Bruinsma-Steinbuch iteration for ``||G||_inf`` of a stable SISO ``G``.

    Returns ``(upper bound on the norm, peak frequency)``: the bound exceeds the true norm by
    at most ``2 rtol`` relative, so margins computed from it are conservative.
    Quadratically convergent; each step is one eigenvalue computation of a ``2n x 2n``
    Hamiltonian.
    """
    poles = np.linalg.eigvals(A)
    cands = np.concatenate([[0.0], np.abs(poles), np.abs(poles.imag)])
    vals = np.abs(_freq_response(A, B, C, cands))
    i = int(np.argmax(vals))
    g_lb, w_peak = float(vals[i]), float(cands[i])
    if g_lb == 0.0:
        return 0.0, w_peak
    for _ in range(max_iter):
        gamma = (1.0 + 2.0 * rtol) * g_lb
        w = _imag_axis_freqs(_hinf_hamiltonian(A, B, C, gamma))
        if w.size < 2:
            break
        mids = 0.5 * (w[:-1] + w[1:])
        vals = np.abs(_freq_response(A, B, C, mids))
        j = int(np.argmax(vals))
        if vals[j] <= g_lb:
            break
        g_lb, w_peak = float(vals[j]), float(mids[j])
    return (1.0 + 2.0 * rtol) * g_lb, w_peak


def _omega_grid(A: FloatArray, n_points: int) -> FloatArray:
    mags = np.abs(np.linalg.eigvals(A))
    mags = mags[mags > 0]
    lo = 1e-3 * (mags.min() if mags.size else 1.0)
    hi = 1e3 * (mags.max() if mags.size else 1.0)
    return np.concatenate([[0.0], np.geomspace(lo, hi, n_points - 1)])


def _guard_scaling(fn: Callable[..., Any], A: FloatArray, B: FloatArray, C: FloatArray, k: float,
                   *args: Any) -> Any:
    """Run a criterion with float overflow and division by zero trapped.

    A gain or matrices so large or small that the loop's frequency response, Hamiltonian or
    linear program leave the float64 range cannot be analysed here; that is said by name
    instead of a RuntimeWarning, an OverflowError or a result built on inf.
    """
    try:
        with np.errstate(over="raise", divide="raise"):
            return fn(A, B, C, k, *args)
    except (FloatingPointError, OverflowError) as exc:
        raise ValueError(
            f"the loop is too badly scaled for a float64 analysis ({exc}): k={k:g}, "
            f"max|A|={np.max(np.abs(A)):g}, max|B|={np.max(np.abs(B)):g}, "
            f"max|C|={np.max(np.abs(C)):g}; rescale the gain k or the state (A, B, C)"
        ) from None


def _check_points(n_points: object, n: int) -> int:
    n_points = check_int("n_points", n_points, low=10)
    # two grids (plant and centre loop) of batched (n, n) complex solves
    check_allocation("n_points", n_points, 2 * 16 * n_points * (2 * n * n + 4 * n + 4),
                     "frequency-response arrays")
    return n_points


@dataclass(frozen=True, eq=False)
class CircleCriterionResult:
    """Result of :func:`circle_criterion`.

    Attributes
    ----------
    holds : bool
        Exact verdict (centre loop Hurwitz and Hamiltonian test).
    holds_sweep : bool
        Verdict of the frequency sweep on ``omega`` (can miss a narrow resonance).
    margin : float
        ``1 - delta ||G_c||_inf``, with ``G_c`` the centre loop and ``delta = k (1-a)/2`` the
        half-width of the sector: ``> 0`` iff the criterion holds (the sector half-width may
        grow by the factor ``1/(1 - margin)`` around the same centre). ``-inf`` when the centre
        loop is unstable.
    omega_peak : float
        Frequency (rad/s) where the margin is smallest (the Nyquist plot is closest to the disk).
    sector : tuple of float
        ``(k1, k2) = (a k, k)``.
    centre_gain : float
        ``k (1 + a)/2``.
    centre_abscissa : float
        Largest real part of the eigenvalues of the centre loop (must be ``< 0``).
    message : str
        Why it holds or fails.
    omega : numpy.ndarray
        Sweep frequencies (rad/s), starting at 0.
    response : numpy.ndarray of complex
        ``G(j omega)`` of the plant alone: the Nyquist curve to draw with the disk.
    disk_center, disk_radius : float
        The critical disk (on the real axis); for ``a = 0`` it is the half-plane
        ``Re s <= -1/k``, reported as ``disk_radius = inf`` and ``disk_center = -1/k``.
    """

    holds: bool
    holds_sweep: bool
    margin: float
    omega_peak: float
    sector: tuple
    centre_gain: float
    centre_abscissa: float
    message: str
    omega: np.ndarray
    response: np.ndarray
    disk_center: float
    disk_radius: float

    def plot(self, ax: Any = None) -> Any:
        """Nyquist plot of ``G(j omega)`` (both frequency signs) with the critical disk.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional
            Axes to draw on; a new figure is made if omitted.

        Returns
        -------
        matplotlib.axes.Axes
        """
        import matplotlib.pyplot as plt
        from matplotlib.patches import Circle

        if ax is None:
            _, ax = plt.subplots()
        g = self.response
        ax.plot(g.real, g.imag, "C0", label="G(jw)")
        ax.plot(g.real, -g.imag, "C0--", lw=0.8)
        k1, k2 = self.sector
        if math.isinf(self.disk_radius):
            ax.axvspan(-1e6, -1.0 / k2, color="C3", alpha=0.2, label="critical half-plane")
        elif self.disk_radius > 0:
            ax.add_patch(Circle((self.disk_center, 0.0), self.disk_radius, color="C3",
                                alpha=0.25, label="critical disk"))
        else:
            ax.plot([self.disk_center], [0.0], "C3x", label="critical point")
        re = np.concatenate([g.real, [self.disk_center - self.disk_radius if
                                      math.isfinite(self.disk_radius) else -1.5 / k2, 0.0]])
        span = max(np.ptp(re), np.ptp(g.imag) * 2, 1e-9)
        ax.set_xlim(re.min() - 0.1 * span, re.max() + 0.1 * span)
        ax.set_ylim(-0.6 * span, 0.6 * span)
        ax.set_aspect("equal", adjustable="box")
        ax.axhline(0, color="0.7", lw=0.5)
        ax.axvline(0, color="0.7", lw=0.5)
        ax.set_xlabel("Re")
        ax.set_ylabel("Im")
        ax.set_title(f"circle criterion, sector [{k1:.3g}, {k2:.3g}]: "
                     f"{'holds' if self.holds else 'fails'}")
        ax.legend(loc="best", fontsize="small")
        return ax


def circle_criterion(A: Any, B: Any = None, C: ArrayLike | None = None, k: float | None = None,
                     negative_slope: float | None = None, *,
                     n_points: int = 2000) -> CircleCriterionResult:
    r"""Circle criterion for the leaky loop, exact (Hamiltonian) and on a frequency sweep.

    Call forms mirror :func:`~leaky_control.analysis.contraction.contraction_rate`::

        circle_criterion(A, B, C, k, negative_slope)
        circle_criterion(plant, controller)                  # a LeakyP
        circle_criterion(plant, k=5.0, negative_slope=0.1)   # plant: StateSpace/TransferFunction

    Parameters
    ----------
    A : array_like, shape (n, n), or plant
        State matrix, or a strictly proper SISO plant (``control.StateSpace``,
        ``control.TransferFunction`` or an object with ``.A, .B, .C, .D``).
    B : array_like, shape (n,) or (n, 1), or controller, optional
        Input matrix, or a ``LeakyP``-like controller (``.kp``, ``.negative_slope``).
    C : array_like, shape (n,) or (1, n), optional
        Output matrix (matrix form only).
    k : float, optional
        Loop gain ``> 0`` (default 1 in the matrix form).
    negative_slope : float
        Leak ``a`` in ``[0, 1]``.
    n_points : int, default 2000
        Number of sweep frequencies (0 and a log grid spanning the poles of the plant and of
        the centre loop by three decades each way).

    Returns
    -------
    CircleCriterionResult
        ``.holds``, ``.margin``, ``.omega_peak``, the Nyquist data and ``.plot()``.

    Raises
    ------
    ValueError, TypeError
        On bad shapes or values, a multi-input loop, or a plant with feedthrough.

    Notes
    -----
    The criterion covers every nonlinearity, time-varying or not, whose graph lies in the
    sector ``[a k, k]``; with the slope restriction it proves incremental (contraction) as
    well as equilibrium stability. It needs no stable open loop: the centre-loop condition
    replaces the Nyquist encirclement count.
    """
    A_, B_, C_, k, a, _ = resolve_loop(A, B, C, k, negative_slope, allow_mimo=False)
    n_points = _check_points(n_points, A_.shape[0])
    return _guard_scaling(_circle, A_, B_, C_, k, a, n_points)


def _circle(A_: FloatArray, B_: FloatArray, C_: FloatArray, k: float, a: float,
            n_points: int) -> CircleCriterionResult:
    k1, k2 = a * k, k
    sigma, delta = 0.5 * (k1 + k2), 0.5 * (k2 - k1)
    Ac = A_ - sigma * B_ @ C_
    alpha = spectral_abscissa(Ac)
    omega = np.union1d(_omega_grid(A_, n_points), _omega_grid(Ac, n_points))
    # a plant pole on the imaginary axis (an integrator) sits on the grid: left out (NaN)
    resp = _freq_response_or_nan(A_, B_, C_, omega)
    if k1 > 0:
        center, radius = -0.5 * (1 / k1 + 1 / k2), 0.5 * (1 / k1 - 1 / k2)
    else:
        center, radius = -1.0 / k2, math.inf
    common: dict[str, Any] = dict(sector=(k1, k2), centre_gain=sigma, centre_abscissa=alpha,
                                  omega=omega, response=resp, disk_center=center,
                                  disk_radius=radius)
    if alpha >= 0.0:
        return CircleCriterionResult(
            holds=False, holds_sweep=False, margin=-math.inf, omega_peak=math.nan,
            message=f"the centre loop A - {sigma:.4g} B C is not Hurwitz (spectral abscissa "
                    f"{alpha:.3g}): the linear gain {sigma:.4g} inside the sector destabilises it",
            **common,
        )
    if delta == 0.0:
        return CircleCriterionResult(
            holds=True, holds_sweep=True, margin=1.0, omega_peak=math.nan,
            message="a = 1: the loop is linear and its closed loop is Hurwitz", **common,
        )
    hinf, w_peak = _hinf_norm(Ac, B_, C_)
    holds_exact = _imag_axis_freqs(_hinf_hamiltonian(Ac, B_, C_, 1.0 / delta)).size == 0
    gc = _freq_response(Ac, B_, C_, omega)
    holds_sweep = bool(np.max(np.abs(gc)) * delta < 1.0)
    margin = 1.0 - delta * hinf
    if holds_exact:
        msg = (f"holds: centre loop Hurwitz and the Nyquist plot stays outside the disk "
               f"(margin {margin:.4g}, closest at {w_peak:.4g} rad/s)")
    else:
        msg = (f"fails: the Nyquist plot enters the critical disk of sector [{k1:.4g}, {k2:.4g}] "
               f"(margin {margin:.4g} at {w_peak:.4g} rad/s)")
    return CircleCriterionResult(holds=bool(holds_exact), holds_sweep=holds_sweep,
                                 margin=margin, omega_peak=w_peak, message=msg, **common)


@dataclass(frozen=True, eq=False)
class PopovCriterionResult:
    """Result of :func:`popov_criterion`.

    Attributes
    ----------
    holds : bool
        True if the Popov inequality holds for ``q`` (verified by a Hamiltonian test).
    q : float
        The multiplier ``q >= 0`` found (NaN if the lower-bound loop is unstable).
    margin : float
        ``min_w 1 + K' Re[(1 + j w q) G1(j w)]`` over the (refined) frequency grid, with
        ``K' = k (1 - a)`` and ``G1 = G/(1 + a k G)``; ``> 0`` when the criterion holds.
    omega_peak : float
        Frequency of that minimum.
    sector : tuple of float
        ``(a k, k)``.
    message : str
        Why it holds or fails.
    omega, popov_x, popov_y : numpy.ndarray
        Popov plot data: ``(Re G1(jw), w Im G1(jw))``; the Popov line passes through
        ``(-1/K', 0)`` with slope ``1/q`` and the curve must lie to its right.
    """

    holds: bool
    q: float
    margin: float
    omega_peak: float
    sector: tuple
    message: str
    omega: np.ndarray
    popov_x: np.ndarray
    popov_y: np.ndarray

    def plot(self, ax: Any = None) -> Any:
        """Popov plot with the Popov line.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional
            Axes to draw on; a new figure is made if omitted.

        Returns
        -------
        matplotlib.axes.Axes
        """
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots()
        ax.plot(self.popov_x, self.popov_y, "C0", label="(Re G1, w Im G1)")
        k1, k2 = self.sector
        if k2 > k1 and math.isfinite(self.q):
            x0 = -1.0 / (k2 - k1)
            ys = np.array([min(self.popov_y.min(), -1.0), max(self.popov_y.max(), 1.0)])
            xs = x0 + self.q * ys
            ax.plot(xs, ys, "C3", label=f"Popov line, q = {self.q:.3g}")
        ax.axhline(0, color="0.7", lw=0.5)
        ax.axvline(0, color="0.7", lw=0.5)
        ax.set_xlabel("Re G1(jw)")
        ax.set_ylabel("w Im G1(jw)")
        ax.set_title(f"Popov criterion: {'holds' if self.holds else 'fails'}")
        ax.legend(loc="best", fontsize="small")
        return ax


def _popov_hamiltonian(A1: FloatArray, B: FloatArray, C: FloatArray, Kp: float,
                       q: float) -> FloatArray | None:
    """Zeros of ``Z(s) + Z(-s)`` with ``Z(s) = 1/K' + (1 + q s) G1(s)``; ``None`` if ``Z(inf) <= 0``."""
    Cz = C + q * C @ A1
    Dz = 1.0 / Kp + q * float((C @ B)[0, 0])
    if Dz <= 0.0:
        return None
    R = 2.0 * Dz
    n = A1.shape[0]
    Aphi = np.block([[A1, np.zeros((n, n))], [np.zeros((n, n)), -A1.T]])
    Bphi = np.vstack([B, Cz.T])
    Cphi = np.hstack([Cz, -B.T])
    return Aphi - Bphi @ Cphi / R


def popov_criterion(A: Any, B: Any = None, C: ArrayLike | None = None, k: float | None = None,
                    negative_slope: float | None = None, *, q: float | None = None,
                    q_max: float | None = None, n_points: int = 2000) -> PopovCriterionResult:
    r"""Popov criterion for the leaky loop with a search over the multiplier ``q >= 0``.

    After the loop transformation ``G1 = G/(1 + a k G)`` (realisation ``A - a k B C``, which
    must be Hurwitz) the nonlinearity lies in the sector ``[0, K']``, ``K' = k (1 - a)``, and
    the criterion asks for ``q >= 0`` with
    ``1/K' + Re[(1 + j w q) G1(j w)] > 0`` for all ``w >= 0`` (including ``w -> inf``).
    ``q`` maximising the smallest value on a frequency grid is found by a linear program; the
    inequality at that ``q`` is then verified exactly (Hamiltonian eigenvalues), and any
    violating frequency is added to the grid before solving again.

    Parameters
    ----------
    A : array_like, shape (n, n), or plant
        State matrix or strictly proper SISO plant (as in :func:`circle_criterion`).
    B : array_like or controller, optional
        Input matrix or ``LeakyP``-like controller.
    C : array_like, optional
        Output matrix (matrix form only).
    k : float, optional
        Loop gain ``> 0`` (default 1 in the matrix form).
    negative_slope : float
        Leak ``a`` in ``[0, 1]``.
    q : float, optional
        Test this multiplier only (``>= 0``) instead of searching.
    q_max : float, optional
        Upper end of the search; default ``10 / min |Re eig(A - a k B C)|`` (ten slowest
        time constants).
    n_points : int, default 2000
        Number of grid frequencies for the search.

    Returns
    -------
    PopovCriterionResult
        ``.holds``, ``.q``, ``.margin``, ``.omega_peak``, Popov-plot data and ``.plot()``.

    Raises
    ------
    ValueError, TypeError
        On bad shapes or values, multi-input loops, or a plant with feedthrough.

    Notes
    -----
    Valid for *time-invariant* memoryless nonlinearities in the sector only (our leaky ReLU
    with constant ``a`` and ``k``); it proves global asymptotic stability of the equilibrium
    for a constant reference, not contraction and not robustness to a time-varying gain.
    """
    A_, B_, C_, k, a, _ = resolve_loop(A, B, C, k, negative_slope, allow_mimo=False)
    n_points = _check_points(n_points, A_.shape[0])
    if q is not None:
        q = check_real("q", q, low=0.0)
    if q_max is not None:
        q_max = check_real("q_max", q_max, low=0.0)
    return _guard_scaling(_popov, A_, B_, C_, k, a, n_points, q, q_max)


def _popov(A_: FloatArray, B_: FloatArray, C_: FloatArray, k: float, a: float, n_points: int,
           q: float | None, q_max: float | None) -> PopovCriterionResult:
    k1, k2 = a * k, k
    Kp = k2 - k1
    A1 = A_ - k1 * B_ @ C_
    alpha = spectral_abscissa(A1)
    omega = _omega_grid(A1, n_points)
    # an unstable A1 may have a pole on the grid (e.g. an integrator at a = 0): NaN there;
    # a Hurwitz A1, the only case that goes on below, never does
    g1 = _freq_response_or_nan(A1, B_, C_, omega)
    base: dict[str, Any] = dict(sector=(k1, k2), omega=omega, popov_x=g1.real,
                                popov_y=omega * g1.imag)
    if alpha >= 0.0:
        return PopovCriterionResult(
            holds=False, q=math.nan, margin=-math.inf, omega_peak=math.nan,
            message=f"the loop at the lower sector gain {k1:.4g} (A - a k B C) is not Hurwitz "
                    f"(spectral abscissa {alpha:.3g}); the linear gain {k1:.4g} is in the sector",
            **base,
        )
    if Kp == 0.0:
        return PopovCriterionResult(holds=True, q=0.0, margin=1.0, omega_peak=math.nan,
                                    message="a = 1: the loop is linear and Hurwitz", **base)
    if q_max is None:
        q_max = 10.0 / np.min(np.abs(np.linalg.eigvals(A1).real))
    q_max = check_real("q_max", q_max, low=0.0)
    cb = float((C_ @ B_)[0, 0])

    def margins(qv: float, w: FloatArray, g: NDArray[np.complex128]) -> FloatArray:
        # normalised Popov function 1 + K' Re[(1 + j w q) G1]; the last entry is w -> inf
        return np.concatenate([1.0 + Kp * (g.real - qv * w * g.imag), [1.0 + Kp * qv * cb]])

    from scipy.optimize import linprog

    w_grid, g_grid = omega, g1
    holds, q_best = False, 0.0 if q is None else q
    for _ in range(6):
        if q is None:
            # maximise t subject to t <= 1 + K'(Re g - q w Im g) on the grid and at infinity
            a_rows = np.column_stack([
                np.concatenate([Kp * w_grid * g_grid.imag, [-Kp * cb]]),
                np.ones(w_grid.size + 1),
            ])
            b_rows = np.concatenate([1.0 + Kp * g_grid.real, [1.0]])
            lp = linprog([0.0, -1.0], A_ub=a_rows, b_ub=b_rows,
                         bounds=[(0.0, q_max), (None, None)], method="highs")
            if lp.status != 0:
                break
            q_best = float(lp.x[0])
        H = _popov_hamiltonian(A1, B_, C_, Kp, q_best)
        bad = np.array([]) if H is None else _imag_axis_freqs(H)
        if H is not None and bad.size == 0:
            holds = True
            break
        if q is not None or bad.size == 0:
            break
        w_grid = np.union1d(w_grid, bad)
        g_grid = _freq_response(A1, B_, C_, w_grid)
    m = margins(q_best, w_grid, g_grid)
    i = int(np.argmin(m))
    w_peak = math.inf if i == w_grid.size else float(w_grid[i])
    if holds:
        msg = f"holds with q = {q_best:.4g} (grid margin {m[i]:.4g} at {w_peak:.4g} rad/s)"
    else:
        msg = (f"fails: no q in [0, {q_max:.4g}] makes the Popov inequality hold "
               f"(best q = {q_best:.4g}, margin {m[i]:.4g} at {w_peak:.4g} rad/s)"
               if q is None else f"fails for q = {q_best:.4g} (margin {m[i]:.4g})")
    return PopovCriterionResult(holds=holds, q=q_best, margin=float(m[i]), omega_peak=w_peak,
                                message=msg, **base)


class LeakyReLUNonlinearity(ct.DescribingFunctionNonlinearity):
    r"""The leaky ReLU ``u = gain * phi_a(e)`` as a python-control describing-function nonlinearity.

    Works with ``control.describing_function`` and ``control.describing_function_plot``.
    Its describing function (first harmonic of the output over the amplitude of the input
    sinusoid ``A sin wt``) is ``gain (1 + a)/2`` for *every* amplitude, because ``phi_a`` is
    positively homogeneous. It ignores the DC offset ``gain A (1 - a)/pi`` of the output (and
    all higher harmonics), which the asymmetric nonlinearity produces and which shifts the
    operating point of a real loop: a describing-function prediction of a limit cycle is a
    heuristic, not a certificate.

    Parameters
    ----------
    negative_slope : float, default 0.01
        Leak ``a`` in ``[0, 1]``.
    gain : float, default 1.0
        Gain ``> 0`` in front of ``phi_a``.
    """

    def __init__(self, negative_slope: float = 0.01, gain: float = 1.0) -> None:
        super().__init__()
        self.negative_slope = check_real("negative_slope", negative_slope, low=0.0, high=1.0)
        self.gain = check_real("gain", gain, low=0.0, low_open=True)

    def __call__(self, x: ArrayLike) -> float | FloatArray:
        """Evaluate ``gain * phi_a(x)`` (scalar in, float out; arrays are mapped elementwise)."""
        out = self.gain * leaky_relu(x, self.negative_slope)
        return float(out) if np.ndim(out) == 0 else out

    def _isstatic(self) -> bool:
        return True

    def describing_function(self, A: float) -> float:
        """Describing function ``gain (1 + a)/2`` at amplitude ``A >= 0`` (real, no phase).

        Parameters
        ----------
        A : float
            Amplitude of the input sinusoid, finite and ``>= 0``.

        Returns
        -------
        float
        """
        check_real("A", A, low=0.0)
        return self.gain * 0.5 * (1.0 + self.negative_slope)

    def dc_offset(self, A: ArrayLike) -> float | FloatArray:
        """Mean of the output over one period of ``A sin wt``: ``gain A (1 - a)/pi``.

        Parameters
        ----------
        A : float or array_like
            Amplitude(s), finite and ``>= 0``.

        Returns
        -------
        float or numpy.ndarray
        """
        if isinstance(A, list | tuple | np.ndarray):
            amp = as_array("A", A, finite=False)
            if np.ndim(A) == 0:
                amp = amp.reshape(())
            if not np.all(np.isfinite(amp)) or np.any(amp < 0):
                raise ValueError(f"A must be finite and >= 0, got {A!r}")
        else:
            amp = np.asarray(check_real("A", A, low=0.0))
        out = self.gain * amp * (1.0 - self.negative_slope) / math.pi
        return float(out) if out.ndim == 0 else out
