r"""Matrix measures (log-norms) and contraction certificates for Leaky-ReLU feedback loops.

A loop ``x' = A x + B phi_a(k (r - C x))`` is a Lur'e system whose nonlinearity is
slope-restricted in ``[a, 1]``. The difference ``d = x1 - x2`` of any two trajectories obeys
``d' = (A - k B diag(s(t)) C) d`` with each ``s_i(t)`` in ``[a, 1]`` (a difference quotient of
``phi_a``), a polytopic linear system. A metric ``M > 0`` with

.. math:: J_i^T M + M J_i \preceq -2 c M \quad \text{at every vertex } J_i

therefore proves ``|x1(t) - x2(t)|_M <= exp(-c t) |x1(0) - x2(0)|_M`` for every reference and
every pair of initial states (contraction with rate ``c`` when ``c > 0``). For one channel this
is equivalent to the circle criterion through the KYP lemma (:mod:`.sector`).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ._checks import (
    as_array,
    check_int,
    check_optional_str,
    check_real,
    require_cvxpy,
    short_repr,
)
from ._loop import centre, resolve_loop, spectral_abscissa, vertices

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

    from .._typing import FloatArray

__all__ = ["ContractionCertificate", "contraction_rate", "log_norm"]





def _mu_rows(A: FloatArray) -> float:
    """mu_inf: the largest row sum with the diagonal taken with its sign."""
    off = np.abs(A).sum(axis=1) - np.abs(np.diag(A))
    return float(np.max(np.diag(A) + off))


def log_norm(A: ArrayLike, p: float | str = 2, weights: ArrayLike | None = None) -> float:
    r"""Matrix measure (logarithmic norm) ``mu_p(A) = lim_{h->0+} (||I + h A||_p - 1) / h``.

    Closed forms: ``mu_1`` is the largest column sum ``a_jj + sum_{i != j} |a_ij|``,
    ``mu_2 = lambda_max((A + A^T) / 2)``, ``mu_inf`` the largest row sum
    ``a_ii + sum_{j != i} |a_ij|``. ``||exp(A t)||_p <= exp(mu_p(A) t)`` for ``t >= 0``, so
    ``mu_p(J) < 0`` along every Jacobian proves contraction in that norm with rate ``-mu_p``.

    Parameters
    ----------
    A : array_like, shape (n, n)
        Real square matrix.
    p : {1, 2, inf}, default 2
        Which norm; ``numpy.inf`` or the string ``"inf"`` for the max-norm.
    weights : array_like, optional
        Either a vector ``eta > 0`` of length ``n`` (diagonal weights: the norm
        ``||diag(eta) x||_p``, so the measure is ``mu_p(diag(eta) A diag(eta)^{-1})``), or, for
        ``p = 2`` only, a symmetric positive definite metric ``P`` (the norm
        ``sqrt(x^T P x)``, measure ``lambda_max`` of ``(P A + A^T P)/2`` relative to ``P``).

    Returns
    -------
    float
        The matrix measure (may be negative).

    Raises
    ------
    ValueError
        If ``A`` is not square and finite, ``p`` is not 1, 2 or inf, or ``weights`` is not
        positive / positive definite or has the wrong shape.
    """
    A = as_array("A", A, ndim=2)
    n = A.shape[0]
    if A.shape != (n, n) or n == 0:
        raise ValueError(f"A must be a non-empty square matrix, got shape {A.shape}")
    if isinstance(p, str) and p.lower() == "inf":
        p = math.inf
    if isinstance(p, bool | np.bool_) or not isinstance(p, int | float | np.integer | np.floating):
        raise TypeError(
            f"p must be 1, 2 or inf, got {short_repr(p)} of type {type(p).__name__}"
        )
    if p not in (1, 2, math.inf):
        raise ValueError(f"p must be 1, 2 or inf, got {short_repr(p)}")
    if weights is not None:
        W = as_array("weights", weights)
        if W.ndim == 1:
            if W.shape != (n,) or np.any(W <= 0):
                raise ValueError(
                    f"weights must be a positive vector of length {n} (or a {n}x{n} metric), "
                    f"got {W!r}"
                )
            A = (W[:, None] * A) / W[None, :]
        elif W.ndim == 2:
            if p != 2:
                raise ValueError(f"a metric matrix weights is only defined for p = 2, got p={p!r}")
            if W.shape != (n, n) or not np.allclose(W, W.T, rtol=1e-12, atol=0.0):
                raise ValueError(f"weights must be a symmetric ({n}, {n}) metric, got {W.shape}")
            try:
                L = np.linalg.cholesky(W)
            except np.linalg.LinAlgError:
                raise ValueError("weights must be positive definite (Cholesky failed)") from None
            # ||x||_P = ||L^T x||, so the measure is mu_2 of L^T A L^{-T}
            A = np.linalg.solve(L, (A.T @ L)).T
        else:
            raise ValueError(f"weights must be 1-D or 2-D, got shape {W.shape}")
    if p == 1:
        return _mu_rows(A.T)
    if p == math.inf:
        return _mu_rows(A)
    return float(np.linalg.eigvalsh(0.5 * (A + A.T))[-1])


def _metric_rate(M: FloatArray, verts: FloatArray) -> float:
    """Exact best rate a fixed metric certifies: ``min_i -lambda_max(L^-1 (J^T M + M J) L^-T)/2``."""
    L = np.linalg.cholesky(M)
    worst = -np.inf
    for J in verts:
        S = J.T @ M
        X = np.linalg.solve(L, np.linalg.solve(L, S + S.T).T)
        worst = max(worst, np.linalg.eigvalsh(0.5 * (X + X.T))[-1])
    return -0.5 * worst


@dataclass(frozen=True, eq=False)
class ContractionCertificate:
    """Result of :func:`contraction_rate`.

    Attributes
    ----------
    rate : float
        Certified rate ``c``: ``J_i^T M + M J_i <= -2 c M`` at every vertex. ``> 0`` means
        contracting; a negative value bounds how fast trajectories can separate. NaN when no
        metric was computed (unstable centre loop or vertex, solver failure).
    metric : numpy.ndarray or None
        ``M`` (symmetric positive definite, scaled so its smallest eigenvalue is 1).
    vertices : numpy.ndarray, shape (N, n, n)
        The vertex Jacobians ``A - k B diag(s) C``.
    slopes : numpy.ndarray, shape (N, m)
        The corner ``s`` of each vertex.
    success : bool
        True when a metric with ``rate > 0`` was found and passed :meth:`check`.
    status : str
        ``"contracting"``, ``"not_contracting"``, ``"unstable_centre"``, ``"unstable_vertex"``
        or ``"solver_failed"``.
    message : str
        Human-readable explanation (the reason when ``success`` is False).
    rate_upper_bound : float
        ``min_i -max Re eig(J_i)``: no metric can certify a larger rate.
    lognorm_rates : dict
        ``{"1": c1, "2": c2, "inf": cinf}`` with ``c_p = -max_i mu_p(J_i)``, what the
        unweighted log-norms certify (often negative where a metric proves contraction).
    n_solves : int
        Number of semidefinite programs solved.
    """

    rate: float
    metric: np.ndarray | None
    vertices: np.ndarray
    slopes: np.ndarray
    success: bool
    status: str
    message: str
    rate_upper_bound: float
    lognorm_rates: dict = field(default_factory=dict)
    n_solves: int = 0

    def check(self, tol: float = 0.0) -> bool:
        """Re-verify the certificate with numpy eigenvalues.

        Parameters
        ----------
        tol : float, default 0.0
            Allowed largest eigenvalue of ``J_i^T M + M J_i + 2 rate M``, relative to the
            largest eigenvalue of ``M`` (``0`` demands the LMIs hold exactly in floating point).

        Returns
        -------
        bool
            True if ``M`` is symmetric positive definite and every vertex LMI holds at
            ``rate``; False when there is no metric.
        """
        tol = check_real("tol", tol, low=0.0)
        if self.metric is None or not math.isfinite(self.rate):
            return False
        M = self.metric
        if not np.array_equal(M, M.T):
            return False
        eig_m = np.linalg.eigvalsh(M)
        if eig_m[0] <= 0.0:
            return False
        with np.errstate(over="ignore"):  # a tolerance near 1e308: an infinite threshold
            limit = tol * eig_m[-1]
        for J in self.vertices:
            S = J.T @ M
            if np.linalg.eigvalsh(S + S.T + 2.0 * self.rate * M)[-1] > limit:
                return False
        return True


def _lognorm_rates(verts: FloatArray) -> dict[str, float]:
    return {
        name: -max(log_norm(J, p) for J in verts)
        for name, p in (("1", 1), ("2", 2), ("inf", math.inf))
    }


def contraction_rate(A: Any, B: Any = None, C: ArrayLike | None = None, k: float | None = None,
                     negative_slope: float | None = None, *, rate_tol: float = 1e-4,
                     max_iter: int = 60, metric_cond: float = 1e6,
                     solver: str | None = None) -> ContractionCertificate:
    r"""Best contraction rate of a leaky loop certified by a common quadratic metric.

    Two call forms::

        contraction_rate(A, B, C, k, negative_slope)   # x' = A x + B phi_a(k (r - C x))
        contraction_rate(plant, controller)             # LeakyP or LeakyStateFeedback

    The metric ``M`` is found by bisection on ``c`` over the LMIs
    ``J_i^T M + M J_i <= -2 c M``, ``I <= M <= metric_cond I`` at the ``2^m`` vertices
    ``J_i = A - k B diag(s) C``, ``s`` in ``{a, 1}^m`` (one slope per input channel). Each
    accepted metric is re-scored exactly in numpy, and the rate returned is backed off until
    :meth:`ContractionCertificate.check` accepts it.

    Parameters
    ----------
    A : array_like, shape (n, n), or plant
        State matrix, or a linear plant: ``control.StateSpace``, ``control.TransferFunction``
        or any object with arrays ``.A, .B, .C`` (and ``.D``, which must be zero).
    B : array_like, shape (n, m), or controller, optional
        Input matrix; in the system form, the controller: an object with ``.kp`` and
        ``.negative_slope`` (``LeakyP``, ``u = kp phi_a(r - y)``) or ``.K`` (shape ``(m, n)``)
        and ``.negative_slope`` (``LeakyStateFeedback``, ``u_i = phi_a(kr_i r - (K x)_i)``).
        ``None`` in the system form means "give ``k`` and ``negative_slope`` as keywords".
    C : array_like, shape (m, n), optional
        Output matrix (matrix form only; for state feedback pass ``C = K`` and ``k = 1``).
    k : float, optional
        Loop gain ``> 0`` (default 1 in the matrix form; taken from the controller otherwise).
    negative_slope : float
        Leak ``a`` in ``[0, 1]`` (taken from the controller in the system form).
    rate_tol : float, default 1e-4
        Stop bisecting when the bracket on ``c`` is narrower than this (absolute, 1/time).
    max_iter : int, default 60
        Maximum number of bisection steps (semidefinite programs).
    metric_cond : float, default 1e6
        Bound on the condition number of ``M`` (keeps the SDP bounded and well scaled).
    solver : str, optional
        cvxpy solver name; default Clarabel, with SCS as a fallback if Clarabel fails.

    Returns
    -------
    ContractionCertificate
        With ``.rate``, ``.metric``, ``.vertices``, ``.success``, ``.status``, ``.message``,
        ``.lognorm_rates`` and ``.check()``.

    Raises
    ------
    ValueError, TypeError
        On mismatched shapes, non-finite entries, ``k <= 0``, ``negative_slope`` outside
        ``[0, 1]``, a plant with feedthrough, or bad options.
    ImportError
        If cvxpy (the ``analysis`` extra) is missing and an SDP is needed.

    Notes
    -----
    An unstable centre loop ``A - k (1+a)/2 B C`` or an unstable vertex is reported in
    ``.status`` before any SDP is built: no metric can exist then, so it is the reason and
    not a solver outcome.
    """
    A_, B_, C_, k, a, _kind = resolve_loop(A, B, C, k, negative_slope)
    rate_tol = check_real("rate_tol", rate_tol, low=0.0, low_open=True)
    metric_cond = check_real("metric_cond", metric_cond, low=1.0, low_open=True)
    max_iter = check_int("max_iter", max_iter, low=1)
    solver = check_optional_str("solver", solver)

    verts, slopes = vertices(A_, B_, C_, k, a)
    n = A_.shape[0]
    ln_rates = _lognorm_rates(verts)
    upper = min(-spectral_abscissa(J) for J in verts)

    def result(rate: float, metric: FloatArray | None, success: bool, status: str, message: str,
               n_solves: int = 0) -> ContractionCertificate:
        return ContractionCertificate(
            rate=rate, metric=metric, vertices=verts, slopes=slopes, success=success,
            status=status, message=message, rate_upper_bound=upper,
            lognorm_rates=ln_rates, n_solves=n_solves,
        )

    alpha_c = spectral_abscissa(centre(A_, B_, C_, k, a))
    if alpha_c >= 0.0:
        return result(
            math.nan, None, False, "unstable_centre",
            f"the centre loop A - k(1+a)/2 B C (gain {k * (1 + a) / 2:g}) is not Hurwitz "
            f"(spectral abscissa {alpha_c:.3g}); a linear gain inside the sector already "
            "destabilises the loop, so no contraction metric exists",
        )
    if upper <= 0.0:
        i = int(np.argmin([-spectral_abscissa(J) for J in verts]))
        return result(
            math.nan, None, False, "unstable_vertex",
            f"vertex with slopes {tuple(slopes[i])} is not Hurwitz (spectral abscissa "
            f"{-upper:.3g}); a linear gain inside the sector destabilises the loop, so no "
            "contraction metric exists",
        )

    cp = require_cvxpy("contraction_rate")
    # Scale time so the vertices have unit norm: the SDP is then well conditioned and the
    # tolerances of the solver mean the same thing for fast and slow plants.
    scale = max(float(np.linalg.norm(J, 2)) for J in verts)
    Js = verts / scale
    M = cp.Variable((n, n), symmetric=True)
    t = cp.Variable()
    c = cp.Parameter()
    eye = np.eye(n)
    cons = [M >> eye, M << metric_cond * eye]
    for J in Js:
        E = J.T @ M + M @ J + 2 * c * M
        cons.append(0.5 * (E + E.T) << t * eye)
    prob = cp.Problem(cp.Minimize(t), cons)
    solvers = [solver] if solver is not None else ["CLARABEL", "SCS"]

    best_rate = _metric_rate(eye, Js)  # M = I is always admissible: the log-norm bound
    best_M = eye
    lo, hi = best_rate, upper / scale
    n_solves, n_ok, failure = 0, 0, None
    while (hi - lo) * scale > rate_tol and n_ok < max_iter:
        mid = 0.5 * (lo + hi)
        c.value = mid
        Mv, errors = None, []
        for name in solvers:
            n_solves += 1
            try:
                with warnings.catch_warnings():
                    # an inaccurate solution is harmless here: every metric is re-scored
                    # exactly in numpy before it counts
                    warnings.filterwarnings("ignore", "Solution may be inaccurate", UserWarning)
                    prob.solve(solver=name)
            except cp.error.SolverError as exc:
                errors.append(f"{name}: {exc}")
                continue
            if prob.status in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE) and M.value is not None:
                Mv = 0.5 * (M.value + M.value.T)
                break
            errors.append(f"{name}: status {prob.status}")
        if Mv is None:
            failure = "; ".join(errors)
            break
        n_ok += 1
        try:
            got = _metric_rate(Mv, Js)
        except np.linalg.LinAlgError:
            got = -math.inf
        if got > best_rate:
            best_rate, best_M = got, Mv
        # The exact score decides feasibility; a small slack absorbs solver tolerance so
        # the bracket keeps shrinking instead of stalling just below the optimum.
        if got >= mid - 0.1 * rate_tol / scale:
            lo = min(max(mid, got), hi)
        else:
            hi = mid

    # Back off until numpy accepts the certificate, so .check() never rejects what we return.
    w_min = np.linalg.eigvalsh(best_M)[0]
    best_M = best_M / w_min
    rate = best_rate * scale
    for backoff in (1e-9, 1e-7, 1e-5, 1e-3):
        cand = result(rate - backoff * max(1.0, abs(rate)), best_M, False, "", "", n_solves)
        if cand.check():
            rate = cand.rate
            break
    else:
        return result(
            math.nan, None, False, "solver_failed",
            "the metric returned by the solver does not pass the numpy re-check", n_solves,
        )
    early = ""
    if failure is not None:
        early = f" (bisection stopped early after a solver failure: {failure}; the rate is a " \
                "valid but possibly loose lower bound)"
    if rate > 0.0:
        return result(rate, best_M, True, "contracting",
                      f"contracting with rate {rate:.6g} in the metric M{early}", n_solves)
    if failure is not None and n_ok == 0:
        return result(rate, best_M, False, "solver_failed",
                      f"the SDP solver failed ({failure}); no contraction metric was found",
                      n_solves)
    return result(
        rate, best_M, False, "not_contracting",
        f"every vertex is Hurwitz but no common quadratic metric proves contraction; the best "
        f"certified rate is {rate:.6g} (trajectories separate no faster than exp({-rate:.3g} t))"
        f"{early}",
        n_solves,
    )
