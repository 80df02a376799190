r"""Implicit (deep-equilibrium) Leaky-ReLU layers ``z = phi_a(W z + U x + b)`` with certificates.

For ``0 <= a <= 1`` the leaky ReLU is monotone and 1-Lipschitz (slopes in ``[a, 1]``), so the
layer has a unique fixed point, reached by a convergent iteration with a known rate, when one
of these holds (tried in this order):

``"norm2"``
    ``||W||_2 < 1``: ``z -> phi_a(W z + u)`` is a contraction in the Euclidean norm with factor
    ``L = ||W||_2`` (Banach). After ``k`` steps from ``z0`` the error is at most
    ``L^k ||z1 - z0|| / (1 - L)``.
``"mu_inf"``
    ``mu_inf(W) < 1`` (non-Euclidean contraction; Jafarpour et al., NeurIPS 2021): the averaged
    map ``z -> (1 - alpha) z + alpha phi_a(W z + u)`` with
    ``alpha = 1 / (1 - min(0, min_i W_ii))`` contracts in the max-norm with factor
    ``1 - alpha (1 - max(0, mu_inf(W)))``. It covers matrices with ``||W||_2 >= 1``.
``"monotone"``
    ``mu_2(W) < 1``, i.e. ``I - W`` strongly monotone with ``m = 1 - mu_2(W)`` (Winston and
    Kolter, NeurIPS 2020): the leaky ReLU is the proximal map of a convex function (for
    ``a > 0``, ``(1/a - 1) min(0, z)^2 / 2``; for ``a = 0`` the indicator of ``z >= 0``), so
    Peaceman-Rachford splitting ``y -> R_B R_A y`` (reflected resolvents, ``z = J_A(y)``)
    contracts in the Euclidean norm with factor ``||(I - s A)(I + s A)^{-1}||_2 < 1``,
    ``A = I - W``; the step ``s`` is chosen to minimise that factor.

When none applies the layer may have no or several fixed points; :func:`deq_solve` then runs
plain iteration for at most ``max_iter`` steps and says that nothing is certified.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ._checks import as_array, check_choice, check_int, check_real
from .contraction import log_norm

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

    from .._typing import FloatArray

__all__ = ["DEQCertificate", "DEQResult", "deq_certificate", "deq_solve"]

_KINDS = ("norm2", "mu_inf", "monotone")


@dataclass(frozen=True, eq=False)
class DEQCertificate:
    """Why the implicit layer has a unique fixed point and how fast the iteration reaches it.

    Attributes
    ----------
    kind : str
        ``"norm2"``, ``"mu_inf"`` or ``"monotone"`` (see the module docstring).
    value : float
        The certified quantity: ``||W||_2``, ``mu_inf(W)`` or ``m = 1 - mu_2(W)``.
    factor : float
        Contraction factor ``L < 1`` of the iteration map, in ``norm``.
    norm : str
        ``"2"`` or ``"inf"``: the norm in which ``factor`` and error bounds hold.
    step : float
        Averaging weight (``"mu_inf"``), splitting step (``"monotone"``) or 1.
    output_lipschitz : float
        Lipschitz constant from the iterated variable to ``z`` (``||(I + s A)^{-1}||_2`` for
        ``"monotone"``, else 1); error bounds on ``z`` carry this factor.
    """

    kind: str
    value: float
    factor: float
    norm: str
    step: float
    output_lipschitz: float = 1.0

    def iteration_bound(self, initial_step: float, tol: float) -> int:
        """Iterations after which the a-posteriori bound is below ``tol`` (Banach estimate).

        Parameters
        ----------
        initial_step : float
            ``||T(z0) - z0||`` in :attr:`norm`.
        tol : float
            Target error ``> 0``.

        Returns
        -------
        int
            ``ceil(log(tol (1 - L) / (l_out initial_step)) / log L)``, at least 1, with
            ``l_out`` = :attr:`output_lipschitz`.
        """
        initial_step = check_real("initial_step", initial_step, low=0.0)
        tol = check_real("tol", tol, low=0.0, low_open=True)
        L = self.factor
        if initial_step == 0.0 or L == 0.0:
            return 1
        denom = self.output_lipschitz * initial_step
        ratio = tol * (1.0 - L) / denom if denom > 0.0 else math.inf
        if not ratio < 1.0:
            return 1  # one step already certifies tol (also a zero output Lipschitz constant)
        # ratio may underflow to 0 for huge steps; the smallest positive float keeps log finite
        return max(1, math.ceil(math.log(max(ratio, 5e-324)) / math.log(L)))


@dataclass(frozen=True, eq=False)
class DEQResult:
    """Result of :func:`deq_solve`.

    Attributes
    ----------
    z : numpy.ndarray
        The fixed point, shape ``(n,)`` or ``(batch, n)`` like ``x``.
    success : bool
        True when the iteration stopped at ``tol`` (certified or, without a certificate,
        with a small residual).
    status : str
        ``"converged"`` (certified error ``<= tol``), ``"converged_uncertified"`` (residual
        ``<= tol`` but no uniqueness or error guarantee), ``"max_iter"`` or ``"diverged"``.
    message : str
        Explanation.
    n_iter : int
        Evaluations of the iteration map.
    residual : float
        ``max |z - phi_a(W z + U x + b)|`` of the returned ``z``.
    error_bound : float
        Certified bound on the distance to the true fixed point in the certificate's norm
        (NaN without a certificate).
    certificate : DEQCertificate or None
        The certificate used, or None when none applies.
    iteration_bound : int or None
        Picard steps the Banach estimate needs for ``tol`` from the initial guess.
    """

    z: np.ndarray
    success: bool
    status: str
    message: str
    n_iter: int
    residual: float
    error_bound: float
    certificate: DEQCertificate | None
    iteration_bound: int | None


def _check_W(W: ArrayLike) -> FloatArray:
    W = as_array("W", W, ndim=2)
    if W.shape[0] != W.shape[1] or W.shape[0] == 0:
        raise ValueError(f"W must be a non-empty square matrix, got shape {W.shape}")
    return W


def deq_certificate(W: ArrayLike, kind: str = "auto") -> DEQCertificate | None:
    """The first certificate (``norm2``, ``mu_inf``, ``monotone``) that ``W`` satisfies.

    Parameters
    ----------
    W : array_like, shape (n, n)
        Weight matrix of the implicit layer.
    kind : {"auto", "norm2", "mu_inf", "monotone"}, default "auto"
        Which certificate to try; ``"auto"`` tries them in that order.

    Returns
    -------
    DEQCertificate or None
        None if the requested certificate (or, for ``"auto"``, every one) fails.
    """
    return _find_certificate(_check_W(W), check_choice("kind", kind, ("auto", *_KINDS)))


def _find_certificate(W: FloatArray, kind: str) -> DEQCertificate | None:
    """:func:`deq_certificate` on a checked ``W`` and ``kind``."""
    n = W.shape[0]
    kinds = _KINDS if kind == "auto" else (kind,)
    for kd in kinds:
        if kd == "norm2":
            s = float(np.linalg.norm(W, 2))
            if s < 1.0:
                return DEQCertificate("norm2", s, s, "2", 1.0)
        elif kd == "mu_inf":
            mu = log_norm(W, math.inf)
            if mu < 1.0:
                # Largest averaging weight that keeps every diagonal Jacobian entry >= 0,
                # which is what turns the row sums into mu_inf.
                alpha = 1.0 / (1.0 - min(0.0, float(np.min(np.diag(W)))))
                return DEQCertificate("mu_inf", mu, 1.0 - alpha * (1.0 - max(0.0, mu)), "inf",
                                      alpha)
        else:
            m = 1.0 - log_norm(W, 2)
            if m > 0.0:
                step, factor, out = _best_cayley(np.eye(n) - W, m)
                if factor < 1.0:
                    return DEQCertificate("monotone", m, factor, "2", step, out)
    return None


def _cayley(A: FloatArray, s: float) -> tuple[float, float]:
    n = A.shape[0]
    inv = np.linalg.inv(np.eye(n) + s * A)
    return float(np.linalg.norm((np.eye(n) - s * A) @ inv, 2)), float(np.linalg.norm(inv, 2))


def _best_cayley(A: FloatArray, m: float) -> tuple[float, float, float]:
    """Step minimising ``||(I - sA)(I + sA)^{-1}||_2`` (< 1 for every s > 0 when sym(A) >= m I)."""
    from scipy.optimize import minimize_scalar

    lip = float(np.linalg.norm(A, 2))
    lo, hi = math.log(1e-3 / lip), math.log(1e3 / m)
    opt = minimize_scalar(lambda t: _cayley(A, math.exp(t))[0], bounds=(lo, hi),
                          method="bounded", options={"xatol": 1e-3})
    s = math.exp(opt.x)
    factor, out = _cayley(A, s)
    return s, factor, out


def _leaky(v: FloatArray, a: float) -> FloatArray:
    return np.where(v >= 0.0, v, a * v)


def _norms(d: FloatArray, which: str) -> FloatArray:
    return np.linalg.norm(d, ord=np.inf if which == "inf" else 2, axis=-1)


def deq_solve(W: ArrayLike, U: ArrayLike, b: ArrayLike, x: ArrayLike, negative_slope: float, *,
              tol: float = 1e-8, method: str = "picard", certificate: str = "auto",
              max_iter: int = 10_000, z0: ArrayLike | None = None, memory: int = 5) -> DEQResult:
    r"""Solve the implicit layer ``z = phi_a(W z + U x + b)`` with a convergence certificate.

    Parameters
    ----------
    W : array_like, shape (n, n)
        Recurrent weight.
    U : array_like, shape (n, p)
        Input weight.
    b : array_like, shape (n,)
        Bias.
    x : array_like, shape (p,) or (batch, p)
        Input, one sample or a batch (rows).
    negative_slope : float
        Leak ``a`` in ``[0, 1]`` (the slope restriction all certificates use).
    tol : float, default 1e-8
        With a certificate: stop when the certified distance to the fixed point (in the
        certificate's norm, worst sample) is ``<= tol``. Without: stop when the residual
        ``max |z - phi_a(W z + U x + b)|`` is ``<= tol``.
    method : {"picard", "anderson"}, default "picard"
        ``"picard"`` iterates the certified map; ``"anderson"`` accelerates the same map
        (Anderson type II with ``memory`` past steps, safeguarded: a step is accepted only if
        it lowers the residual, so the certified error bound still applies).
    certificate : {"auto", "norm2", "mu_inf", "monotone"}, default "auto"
        Which certificate to use (see :func:`deq_certificate`).
    max_iter : int, default 10000
        Hard cap on evaluations of the iteration map; the result then has status
        ``"max_iter"``.
    z0 : array_like, optional
        Initial guess (shape of the output); zeros by default.
    memory : int, default 5
        Anderson memory.

    Returns
    -------
    DEQResult
        ``.z``, ``.status``, ``.certificate``, ``.error_bound``, ``.iteration_bound`` ...

    Raises
    ------
    ValueError, TypeError
        On mismatched shapes, non-finite entries, ``negative_slope`` outside ``[0, 1]`` or bad
        options.
    """
    W = _check_W(W)
    n = W.shape[0]
    U = as_array("U", U)
    if U.ndim != 2 or U.shape[0] != n:
        raise ValueError(f"U must have shape ({n}, p) to match W {W.shape}, got {U.shape}")
    p = U.shape[1]
    b = as_array("b", b, shape=(n,), match=f"W {W.shape}")
    x = as_array("x", x)
    single = x.ndim <= 1
    X = x.reshape(1, -1) if single else x
    if X.ndim != 2 or X.shape[1] != p:
        raise ValueError(f"x must have shape ({p},) or (batch, {p}) to match U {U.shape}, "
                         f"got {x.shape}")
    if X.shape[0] == 0:
        raise ValueError(f"x must hold at least one sample, got shape {x.shape}")
    a = check_real("negative_slope", negative_slope, low=0.0, high=1.0)
    tol = check_real("tol", tol, low=0.0, low_open=True)
    method = check_choice("method", method, ("picard", "anderson"))
    max_iter = check_int("max_iter", max_iter, low=1, desc="an integer >= 1")
    memory = check_int("memory", memory, low=1, desc="an integer >= 1")
    cert = _find_certificate(W, check_choice("certificate", certificate, ("auto", *_KINDS)))
    u = X @ U.T + b
    if z0 is None:
        Z = np.zeros((X.shape[0], n))
    else:
        Z = as_array("z0", z0)
        want = (n,) if single else (X.shape[0], n)
        if Z.shape != want:
            raise ValueError(f"z0 must have the shape of the output {want}, got {Z.shape}")
        Z = Z.reshape(X.shape[0], n).copy()

    out = None
    if cert is None or cert.kind == "norm2":
        def T(z: FloatArray) -> FloatArray:
            return _leaky(z @ W.T + u, a)
    elif cert.kind == "mu_inf":
        def T(z: FloatArray) -> FloatArray:
            return (1.0 - cert.step) * z + cert.step * _leaky(z @ W.T + u, a)
    else:
        s_ = cert.step
        shrink = 1.0 + s_ * (1.0 / a - 1.0) if a > 0 else math.inf
        JA = np.linalg.inv(np.eye(n) + s_ * (np.eye(n) - W))

        def out(y: FloatArray) -> FloatArray:
            return (y + s_ * u) @ JA.T

        def T(z: FloatArray) -> FloatArray:
            ra = 2.0 * out(z) - z
            # prox of s f: identity on v >= 0, shrink (a > 0) or clip to 0 (ReLU) below
            jb = np.where(ra >= 0.0, ra, 0.0 if a == 0 else ra / shrink)
            return 2.0 * jb - ra

    which = cert.norm if cert is not None else "inf"
    with np.errstate(over="ignore", invalid="ignore"):
        return _iterate(T, out, Z, W, u, a, cert, which, tol, method, max_iter, memory, single,
                        certificate)


def _iterate(T: Callable[[FloatArray], FloatArray], out: Callable[[FloatArray], FloatArray] | None,
             Z: FloatArray, W: FloatArray, u: FloatArray, a: float, cert: DEQCertificate | None,
             which: str, tol: float, method: str, max_iter: int, memory: int, single: bool,
             requested: str) -> DEQResult:
    L = cert.factor if cert is not None else math.nan
    lout = cert.output_lipschitz if cert is not None else 1.0
    if out is None:
        def out(y: FloatArray) -> FloatArray:
            return y

    def residual(z: FloatArray) -> float:
        return float(np.max(np.abs(z - _leaky(z @ W.T + u, a))))

    TZ = T(Z)
    r0 = float(np.max(_norms(TZ - Z, which)))
    it_bound = cert.iteration_bound(r0, tol) if cert is not None and math.isfinite(r0) else None
    n_iter = 1
    hist_g, hist_t = [], []
    status = "max_iter"
    while True:
        step = _norms(TZ - Z, which)
        # a run-away iterate is reported long before it overflows to inf
        if not np.all(np.isfinite(step)) or np.max(step) > 1e100:
            status = "diverged"
            break
        if cert is not None:
            bound = lout * float(np.max(step)) * L / (1.0 - L) if L > 0 else 0.0
            if bound <= tol:
                Z, status = TZ, "converged"
                break
        elif residual(out(TZ)) <= tol:
            Z, status = TZ, "converged_uncertified"
            break
        if n_iter >= max_iter:
            Z = TZ
            break
        if method == "anderson" and n_iter + 2 <= max_iter:
            g = TZ - Z
            hist_g.append(g)
            hist_t.append(TZ)
            if len(hist_g) > memory + 1:
                hist_g.pop(0)
                hist_t.pop(0)
            cand = TZ
            if len(hist_g) >= 2:
                dG = np.stack([hist_g[i + 1] - hist_g[i] for i in range(len(hist_g) - 1)], -1)
                dT = np.stack([hist_t[i + 1] - hist_t[i] for i in range(len(hist_t) - 1)], -1)
                gram = np.einsum("bni,bnj->bij", dG, dG)
                reg = 1e-12 * np.trace(gram, axis1=1, axis2=2)[:, None, None] + 1e-300
                gam = np.linalg.solve(gram + reg * np.eye(gram.shape[-1]),
                                      np.einsum("bni,bn->bi", dG, g)[..., None])[..., 0]
                cand = TZ - np.einsum("bni,bi->bn", dT, gam)
            Tc = T(cand)
            n_iter += 1
            # Safeguard: keep the accelerated point only where it shrinks the step, so the
            # iteration never does worse than the certified map it accelerates.
            TT = T(TZ) if len(hist_g) >= 2 else Tc
            if len(hist_g) >= 2:
                n_iter += 1
                good = _norms(Tc - cand, which) <= _norms(TT - TZ, which)
                Z = np.where(good[:, None], cand, TZ)
                TZ = np.where(good[:, None], Tc, TT)
            else:
                Z, TZ = TZ, Tc
        else:
            Z, TZ = TZ, T(TZ)
            n_iter += 1

    z_final = out(Z)
    res = residual(z_final)
    if cert is not None:
        # a-posteriori Banach bound from the final iterate itself, valid however it was reached
        err = lout * float(np.max(_norms(T(Z) - Z, which))) / (1.0 - L)
        msg = {"converged": f"converged with certificate {cert.kind} (factor {L:.4g})",
               "max_iter": f"stopped at max_iter={max_iter} before the certified error reached "
                           f"tol (Banach estimate needs {it_bound} Picard steps)",
               "diverged": "the iteration produced non-finite values"}[status]
    else:
        err = math.nan
        msg = ("no certificate applies (||W||_2 >= 1, mu_inf(W) >= 1 and mu_2(W) >= 1): the "
               "fixed point may not exist or be unique; " if requested == "auto" else
               f"the requested certificate {requested!r} does not hold for W: no certificate "
               "applies and the fixed point may not exist or be unique; ")
        msg += {"converged_uncertified": "plain iteration reached the residual tol anyway",
                "max_iter": f"plain iteration stopped at max_iter={max_iter} without converging",
                "diverged": "plain iteration diverged"}[status]
    z_out = z_final[0] if single else z_final
    return DEQResult(z=z_out, success=status in ("converged", "converged_uncertified"),
                     status=status, message=msg, n_iter=n_iter, residual=res, error_bound=err,
                     certificate=cert, iteration_bound=it_bound)
