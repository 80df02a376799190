r"""One call from a plant and a network controller to closed-loop certificates.

:func:`certify` takes an ``lc`` plant and an :class:`~leaky_control.LeakyMLP` and brings the
loop into the form :mod:`leaky_control.analysis.nn_loop` certifies, in deviation coordinates
``dx = x - x*`` about the equilibrium ``(x*, u*)`` the loop actually has (found numerically from
an operating point, never assumed):

- the network's input/output scaling and a constant reference are folded exactly into its first
  and last layers, the equilibrium into the biases (``pi_dev(0) = 0``);
- the plant's and the controller's actuator limits are intersected; an asymmetric range about
  ``u*`` is replaced by the symmetric one of its smaller side, which is sound (the true
  saturation's chord slopes about ``u*`` lie inside those of the narrower symmetric one);
- :class:`~leaky_control.LinearPlant`: ``(A, B)`` exactly (``time="discrete"``: the exact
  zero-order-hold sampled plant); :class:`~leaky_control.Pendulum`: its linear part plus the
  ``sin`` term as a :class:`~leaky_control.analysis.nn_loop.PlantNonlinearity` with a local
  sector on the box; any other plant: its Jacobian linearisation, which is *not* a certificate
  of the nonlinear loop, and the result says so (``status="linearisation_only"``).

Then the global contraction certificate (linear plants) and, when it fails, the region of
attraction are computed; both are re-checked by :mod:`.nn_loop` and once more here against the
plant's own equations and the controller's own :meth:`~leaky_control.LeakyMLP.forward`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._checks import as_array, check_choice, check_int, check_real, short_repr
from ._ibp import chord_slopes_sin
from .nn_loop import (
    GlobalCertificate,
    PlantNonlinearity,
    RegionOfAttraction,
    center_network,
    global_certificate,
    region_of_attraction,
)

if TYPE_CHECKING:
    from ..controllers.mlp import LeakyMLP
    from ..plants.base import Plant

__all__ = ["LoopCertificate", "certify"]

FloatArray = NDArray[np.float64]

STATUSES = ("global", "region", "none", "linearisation_only", "no_equilibrium", "solver_failed")
# a finite stand-in for "no limit" on one input of a multi-input plant whose other inputs
# saturate (nn_loop takes finite limits); the IBP bounds never reach it
_NO_LIMIT = 1e300


# ---------------------------------------------------------------------------- result


@dataclass(frozen=True, eq=False)
class LoopCertificate:
    """Result of :func:`certify`.

    Attributes
    ----------
    status : str
        ``"global"``: the loop contracts, so ``x*`` is globally exponentially stable;
        ``"region"``: every state in the certified ellipsoid about ``x*`` converges to it;
        ``"none"``: no certificate of either form (says nothing about instability);
        ``"linearisation_only"``: the plant is neither linear nor a pendulum, the certificates
        in :attr:`global_certificate` / :attr:`region` are for its Jacobian linearisation and
        certify nothing about the nonlinear loop; ``"no_equilibrium"``: the loop has no
        equilibrium near the operating point; ``"solver_failed"``.
    plant_name, controller_name : str
        What was certified.
    time : str
        ``"continuous"`` or ``"discrete"``.
    dt : float or None
        Sample time (discrete).
    model : str
        How the plant entered: ``"linear (exact)"``, ``"pendulum: linear part + sin sector
        (exact)"`` or ``"Jacobian linearisation (not a certificate)"``.
    equilibrium : numpy.ndarray or None
        ``x*`` in the plant's state coordinates.
    equilibrium_input : numpy.ndarray or None
        ``u*``, the (unsaturated) command holding ``x*``.
    residual : float
        ``max |f(x*, u*)|`` of the plant's own equations at the equilibrium found.
    A, B : numpy.ndarray or None
        Linear part of the deviation model the certificates were computed for.
    u_limit : numpy.ndarray or None
        Symmetric saturation ``|u - u*| <= u_limit`` used (``None``: no actuator limit).
    negative_slope : float
        Leak of the network (1.0 for a network without hidden layer, run as linear).
    global_certificate : GlobalCertificate or None
        The contraction certificate (``None`` when not attempted, e.g. for a nonlinear plant).
    region : RegionOfAttraction or None
        The region of attraction (``None`` when not needed or not attempted).
    roa_radius : float
        Radius of a ball about ``x*`` (plant coordinates) every state of which is certified
        to converge: ``inf`` for ``"global"``, the inscribed-ball radius for ``"region"``,
        0 otherwise (also for ``"linearisation_only"``: nothing is claimed).
    assumptions : tuple of str
        What the result assumes, in sentences.
    message : str
        Why this status.
    recheck : dict
        The re-check against the plant's own equations and the controller's ``forward``.
    """

    status: str
    plant_name: str
    controller_name: str
    time: str
    dt: float | None
    model: str
    equilibrium: FloatArray | None
    equilibrium_input: FloatArray | None
    residual: float
    A: FloatArray | None
    B: FloatArray | None
    u_limit: FloatArray | None
    negative_slope: float
    global_certificate: GlobalCertificate | None
    region: RegionOfAttraction | None
    roa_radius: float
    assumptions: tuple[str, ...]
    message: str
    recheck: dict[str, Any] = field(default_factory=dict)

    @property
    def certified(self) -> bool:
        """True for ``"global"`` and ``"region"`` (a claim about the nonlinear loop)."""
        return self.status in ("global", "region")

    def contains(self, X: ArrayLike) -> NDArray[np.bool_]:
        """Whether plant states ``X`` (rows, plant coordinates) are certified to converge.

        Parameters
        ----------
        X : array_like, shape (N, n) or (n,)
            States in the plant's coordinates.

        Returns
        -------
        numpy.ndarray of bool, shape (N,)
            All True for ``"global"``; inside the ellipsoid about ``x*`` for ``"region"``;
            all False otherwise.
        """
        X_ = np.atleast_2d(as_array("X", X))
        if self.status == "global":
            return np.ones(X_.shape[0], dtype=bool)
        if self.status != "region" or self.region is None or self.equilibrium is None:
            return np.zeros(X_.shape[0], dtype=bool)
        if X_.shape[1] != self.equilibrium.size:
            raise ValueError(f"X must have {self.equilibrium.size} columns (one per plant "
                             f"state), got shape {X_.shape}")
        return self.region.contains(X_ - self.equilibrium)

    def summary(self) -> str:
        """A plain-text report: status, equilibrium, certificates, assumptions.

        Returns
        -------
        str
        """
        def vec(v: FloatArray | None) -> str:
            # + 0.0 turns a printed -0 into 0
            return "-" if v is None else np.array2string(np.asarray(v) + 0.0, precision=6,
                                                         suppress_small=True)

        lines = [f"LoopCertificate: {self.status}",
                 f"  loop: {self.plant_name} with {self.controller_name} "
                 f"(negative_slope {self.negative_slope:g}), {self.time} time"
                 + (f", dt = {self.dt:g}" if self.dt is not None else ""),
                 f"  plant model: {self.model}",
                 f"  equilibrium: x* = {vec(self.equilibrium)}, u* = "
                 f"{vec(self.equilibrium_input)} (residual {self.residual:.2g})"]
        if self.u_limit is not None:
            lines.append(f"  saturation about u*: |u - u*| <= {vec(self.u_limit)}")
        only = (" [linearised plant only: NOT a claim about the loop]"
                if self.status == "linearisation_only" else "")
        g = self.global_certificate
        if g is None:
            lines.append("  global certificate: not attempted")
        else:
            what = ("rate" if g.time == "continuous" else "factor")
            lines.append(f"  global certificate: {g.status}"
                         + (f" ({what} {g.rate:.6g})" if g.certified else "") + only)
        r = self.region
        if r is None:
            lines.append("  region of attraction: not attempted")
        else:
            lines.append(f"  region of attraction: {r.status}"
                         + (f" (ellipsoid on box {vec(r.box)}, inscribed ball radius "
                            f"{r.roa_radius:.6g})" if r.certified else "") + only)
        lines.append(f"  certified ball about x*: radius {self.roa_radius:.6g}")
        lines.append(f"  {self.message}")
        lines.append("  assumptions:")
        lines += [f"    - {s}" for s in self.assumptions]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


# ---------------------------------------------------------------------------- the network


def _fold_network(controller: LeakyMLP, n: int, reference: float
                  ) -> tuple[list[FloatArray], list[FloatArray], float]:
    """The controller as ``x -> W_L phi(... W_1 x + b_1 ...) + b_L`` on plant states only.

    The controller computes ``s_out * N((z - o_in) * s_in) + o_out`` with ``z = [x, r]``; the
    input scaling becomes ``W_1 diag(s_in)`` and ``b_1 - W_1 (s_in o_in)``, a constant
    reference one more bias term, the output scaling ``diag(s_out) W_L``,
    ``s_out b_L + o_out``: the same function, so the certificate is about this controller.
    A network without hidden layer gets an identity hidden layer at slope 1 (exactly linear).
    """
    ws = [np.array(w, dtype=np.float64) for w in controller.weights]
    bs = [np.array(b, dtype=np.float64).reshape(-1) for b in controller.biases]
    n_in = ws[0].shape[1]
    m = ws[-1].shape[0]

    def field_or(name: str, default: float, size: int) -> FloatArray:
        v = getattr(controller, name, None)
        if v is None:
            return np.full(size, default)
        return np.broadcast_to(np.asarray(v, dtype=np.float64), (size,)).copy()

    o_in = field_or("input_offset", 0.0, n_in)
    s_in = field_or("input_scale", 1.0, n_in)
    s_out = field_or("output_scale", 1.0, m)
    o_out = field_or("output_offset", 0.0, m)
    W1 = ws[0] * s_in[None, :]
    b1 = bs[0] - W1 @ o_in
    if controller.reference_input:
        b1 = b1 + W1[:, n] * float(reference)
        W1 = W1[:, :n]
    ws[0], bs[0] = W1, b1
    ws[-1] = s_out[:, None] * ws[-1]
    bs[-1] = s_out * bs[-1] + o_out
    a = float(controller.negative_slope)
    if len(ws) == 1:
        ws = [np.eye(n), ws[0]]
        bs = [np.zeros(n), bs[0]]
        a = 1.0
    return ws, bs, a


def _forward(ws: list[FloatArray], bs: list[FloatArray], a: float, X: FloatArray) -> FloatArray:
    v = X
    for w, b in zip(ws[:-1], bs[:-1], strict=True):
        z = v @ w.T + b
        v = np.where(z >= 0.0, z, a * z)
    out: FloatArray = v @ ws[-1].T + bs[-1]
    return out


def _check_fold(controller: LeakyMLP, ws: list[FloatArray], bs: list[FloatArray], a: float,
                n: int, reference: float, x0: FloatArray) -> float:
    """Largest relative gap between the folded network and ``controller.forward``.

    The controller's scaling convention belongs to another module: if it ever changes, the
    certificate must not silently describe a different function.
    """
    rng = np.random.default_rng(12345)
    scale = np.maximum(1.0, np.abs(x0))
    X = x0 + rng.uniform(-2.0, 2.0, (64, n)) * scale
    mine = _forward(ws, bs, a, X)
    theirs = np.asarray(controller.forward(X, reference), dtype=np.float64).reshape(mine.shape)
    size = 1.0 + np.abs(theirs) + sum(float(np.sum(np.abs(w))) for w in ws)
    return float(np.max(np.abs(mine - theirs) / size))


# ---------------------------------------------------------------------------- plant models


def _kind(plant: Plant) -> str:
    """``"linear"`` / ``"pendulum"`` when the plant's physics is the known one, else ``"other"``
    (a subclass that rewrites ``dynamics`` is not the model we can write down)."""
    from ..plants.linear import LinearPlant
    from ..plants.pendulum import Pendulum

    dyn = type(plant).dynamics  # type: ignore[attr-defined]
    if isinstance(plant, LinearPlant) and dyn is LinearPlant.dynamics:
        return "linear"
    if isinstance(plant, Pendulum) and dyn is Pendulum.dynamics:
        return "pendulum"
    return "other"


def _sin_shift_sector(theta_star: float) -> Callable[[float, float], tuple[float, float]]:
    """Chord-slope range about 0 of ``q(y) = sin(th* + y) - sin(th*)`` for ``y`` in a range.

    ``q(y)/y = cos(th*) sin(y)/y + sin(th*) (cos(y) - 1)/y``; the first factor ranges over the
    sinc range of :func:`chord_slopes_sin`, the second is bounded by ``|y|/2``
    (``1 - cos y <= y^2/2``). Interval arithmetic on the two, padded outward for rounding.
    """
    c, s = math.cos(theta_star), math.sin(theta_star)

    def sector(y_lo: float, y_hi: float) -> tuple[float, float]:
        r = max(abs(y_lo), abs(y_hi))
        lo_s, hi_s = chord_slopes_sin(-r, r)
        lo, hi = sorted((c * lo_s, c * hi_s))
        extra = abs(s) * r / 2.0
        pad = 1e-12 * (1.0 + abs(lo) + abs(hi) + extra)
        return lo - extra - pad, hi + extra + pad

    return sector


def _zoh(A: FloatArray, B: FloatArray, dt: float) -> tuple[FloatArray, FloatArray]:
    """Exact zero-order-hold discretisation: ``expm([[A, B], [0, 0]] dt)``."""
    from scipy.linalg import expm

    n, m = B.shape
    M = np.zeros((n + m, n + m))
    M[:n, :n], M[:n, n:] = A, B
    E = expm(M * dt)
    return E[:n, :n], E[:n, n:]


# ---------------------------------------------------------------------------- validation


def _check_plant(plant: Any) -> Plant:
    from ..plants import as_plant
    from ..plants.base import Plant

    if isinstance(plant, Plant):
        return plant
    try:
        return as_plant(plant)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"plant must be a leaky_control plant (LinearPlant, Pendulum, ...) or a "
            f"python-control state-space/transfer function, got {short_repr(plant)} of type "
            f"{type(plant).__name__}") from exc


def _check_controller(controller: Any, plant: Plant) -> LeakyMLP:
    from ..controllers.mlp import LeakyMLP

    if not isinstance(controller, LeakyMLP):
        raise TypeError(
            f"controller must be a leaky_control.LeakyMLP (a network state-feedback "
            f"controller), got {short_repr(controller)} of type {type(controller).__name__}")
    n, m = plant.nstates, plant.ninputs
    if controller.nstate_inputs != n or controller.sizes[-1] != m:
        raise ValueError(
            f"controller must read the plant's {n} state(s) and drive its {m} input(s); got a "
            f"network with {controller.nstate_inputs} state input(s) (reference_input="
            f"{controller.reference_input}) and {controller.sizes[-1]} output(s) for "
            f"{type(plant).__name__} (n={n}, m={m})")
    return controller


def _start_state(operating_point: Any, n: int) -> FloatArray:
    if operating_point is None:
        return np.zeros(n)
    state = getattr(operating_point, "state", operating_point)
    x0 = as_array("operating_point", state)
    x0 = x0.reshape(-1) if x0.ndim <= 1 else x0
    if x0.shape != (n,):
        raise ValueError(
            f"operating_point must be None, an lc.OperatingPoint or a state of {n} numbers "
            f"(one per plant state), got {short_repr(operating_point)}")
    return x0


# ---------------------------------------------------------------------------- the call


def certify(
    plant: Any,
    controller: Any,
    *,
    operating_point: Any = None,
    box: ArrayLike | None = None,
    time: str = "continuous",
    dt: float | None = None,
    reference: float = 0.0,
    decay: float = 1e-3,
    scales: ArrayLike | None = None,
    rate_tol: float = 1e-3,
    n_samples: int = 2000,
    seed: int = 0,
) -> LoopCertificate:
    r"""Closed-loop certificates for a plant with a :class:`~leaky_control.LeakyMLP` controller.

    Finds the equilibrium ``(x*, u*)`` the loop has near ``operating_point``, writes the loop
    in deviation coordinates about it, and runs
    :func:`~leaky_control.analysis.nn_loop.global_certificate` (linear plants) and, when that
    does not certify, :func:`~leaky_control.analysis.nn_loop.region_of_attraction`.

    Parameters
    ----------
    plant : Plant, control.StateSpace or control.TransferFunction
        :class:`~leaky_control.LinearPlant` (and its textbook subclasses) and
        :class:`~leaky_control.Pendulum` are modelled exactly; any other plant only through its
        Jacobian linearisation (``status="linearisation_only"``, never a claim).
    controller : LeakyMLP
        The network, read with its input/output scaling and its ``u_min``/``u_max``; a
        network with ``reference_input=True`` sees the constant ``reference``.
    operating_point : array_like or OperatingPoint, optional
        Where to look for the equilibrium (a plant state; default the origin). For the upright
        pendulum pass ``[pi, 0]``.
    box : array_like, shape (n,), optional
        Half-widths of the largest box about ``x*`` the region of attraction may use, and how
        far from ``operating_point`` the equilibrium may lie (outside it: ``"no_equilibrium"``).
        Default: any equilibrium the local search reaches from ``operating_point``, and the box
        ``max(1, |x*_i|)`` per state, a placeholder: pass the box that matters for your plant.
    time : {"continuous", "discrete"}, default "continuous"
        Continuous time needs a continuous controller (``controller.dt`` is None).
        ``"discrete"`` certifies the sampled loop (zero-order hold, exact for a linear plant;
        refused for the pendulum, which has no exact sampled model).
    dt : float, optional
        Sample time for ``time="discrete"``; default ``controller.dt``.
    reference : float, default 0.0
        Constant reference for a network with ``reference_input=True``.
    decay : float, default 1e-3
        Decrease rate demanded by the region of attraction (see
        :func:`~leaky_control.analysis.nn_loop.region_of_attraction`).
    scales : array_like, optional
        Box scales the region of attraction tries.
    rate_tol : float, default 1e-3
        Relative bisection width of the global rate.
    n_samples : int, default 2000
        Sampled states of every re-check (at least 10).
    seed : int, default 0
        Seed of those samples.

    Returns
    -------
    LoopCertificate

    Raises
    ------
    TypeError
        If ``controller`` is not a LeakyMLP or ``plant`` is not a plant.
    ValueError
        If the network's sizes do not match the plant, ``box`` or ``operating_point`` has the
        wrong size or sign, ``time``/``dt`` do not match the controller, or the pendulum is
        asked for in discrete time.
    RuntimeError
        If the network folded for the certificate does not reproduce ``controller.forward``
        (a changed scaling convention of LeakyMLP).

    Notes
    -----
    Saturation: the plant's and the controller's limits are intersected to ``[lo, hi]``; the
    certificates use ``|u - u*| <= min(hi - u*, u* - lo)`` (per input), a slope-``[0, 1]``
    nonlinearity whose local sectors contain those of the true, asymmetric one, so the
    replacement is sound (and conservative on the wider side).
    """
    plant_ = _check_plant(plant)
    ctrl = _check_controller(controller, plant_)
    n, m, q = plant_.nstates, plant_.ninputs, plant_.ndisturbances
    time = check_choice("time", time, ("continuous", "discrete"))
    reference = check_real("reference", reference)
    decay = check_real("decay", decay, low=0.0, high=1.0, high_open=True)
    rate_tol = check_real("rate_tol", rate_tol, low=0.0, low_open=True, high=1.0)
    n_samples = check_int("n_samples", n_samples, low=10)
    seed = check_int("seed", seed, low=0)
    ctrl_dt = ctrl.dt
    if time == "continuous":
        if dt is not None:
            raise ValueError(f"dt must be None for time='continuous', got {short_repr(dt)}; "
                             "pass time='discrete' for a sampled loop")
        if ctrl_dt is not None:
            raise ValueError(
                f"time='continuous' needs a continuous controller, but controller.dt = "
                f"{ctrl_dt!r} (sampled); pass time='discrete' to certify the sampled loop")
        step: float | None = None
    else:
        if dt is None and ctrl_dt is None:
            raise ValueError("time='discrete' needs a sample time: dt, or a sampled controller "
                             "(controller.dt), got neither")
        step = check_real("dt", dt if dt is not None else ctrl_dt, low=0.0, low_open=True)
        if ctrl_dt is None or not math.isclose(step, float(ctrl_dt), rel_tol=1e-12):
            raise ValueError(
                f"dt must equal controller.dt (the controller's sample time) for "
                f"time='discrete', got dt={short_repr(dt)} and controller.dt={ctrl_dt!r}")
    x0 = _start_state(operating_point, n)
    if box is None:
        h = np.maximum(1.0, np.abs(x0))  # replaced by max(1, |x*_i|) once x* is known
        box_note = ""
    else:
        h = as_array("box", box)
        if h.shape != (n,) or np.any(h <= 0.0):
            raise ValueError(
                f"box must hold {n} positive half-widths (one per state of "
                f"{type(plant_).__name__}), got {short_repr(box)}")
        box_note = f"box half-widths {np.round(h, 6).tolist()} about x*"
    kind = _kind(plant_)
    if time == "discrete" and kind == "pendulum":
        raise ValueError(
            "time='discrete' is refused for a Pendulum: its sampled-data loop has no exact "
            "discrete model (only a linear plant's zero-order hold is exact); allowed: "
            "time='continuous' with a continuous controller")

    ws, bs, a = _fold_network(ctrl, n, reference)
    gap = _check_fold(ctrl, ws, bs, a, n, reference, x0)
    if gap > 1e-9:
        raise RuntimeError(
            f"the network folded for the certificate differs from controller.forward by "
            f"{gap:.3g} (relative): LeakyMLP's scaling convention is not the one assumed, "
            "u = s_out * N((z - o_in) * s_in) + o_out")

    p_lo, p_hi = (np.asarray(v, dtype=np.float64).reshape(m) for v in plant_.actuator_limits())
    lo = np.maximum(p_lo, float(ctrl.u_min))
    hi = np.minimum(p_hi, float(ctrl.u_max))
    upd, _ = plant_._model_functions()
    d0 = np.zeros(q)

    def command(X: FloatArray) -> FloatArray:
        raw = np.asarray(ctrl.forward(X, reference), dtype=np.float64).reshape(X.shape[0], m)
        return np.clip(raw, lo, hi)

    def field_true(X: FloatArray) -> FloatArray:
        U = command(X)
        return np.array([upd(0.0, x, np.concatenate([u, d0]), None)
                         for x, u in zip(X, U, strict=True)])

    plant_name, ctrl_name = type(plant_).__name__, (
        f"LeakyMLP {'-'.join(str(s) for s in ctrl.sizes)}")
    base: dict[str, Any] = {"plant_name": plant_name, "controller_name": ctrl_name,
                            "time": time, "dt": step, "negative_slope": a}
    assumptions = ["no disturbance (d = 0)",
                   "the controller is the LeakyMLP as given (scaling and a constant reference "
                   f"r = {reference:g} folded exactly into its first and last layers)"]

    # ---- the equilibrium the loop actually has
    x_star, resid, ok, how = _equilibrium(lambda x: field_true(x[None, :])[0], x0)
    model = {"linear": "linear (exact)",
             "pendulum": "pendulum: linear part + sin sector (exact)",
             "other": "Jacobian linearisation (not a certificate)"}[kind]
    # with a box the equilibrium must lie in it about the operating point; without one any
    # root the local solver reaches from x0 is accepted (and reported)
    near = ok and (box is None or bool(np.all(np.abs(x_star - x0) <= h)))
    if not ok or not near:
        where = (f"the closest point found, x = {np.round(x_star, 6).tolist()}, leaves a "
                 f"residual {resid:.3g}" if not ok else
                 f"the equilibrium found, x* = {(np.round(x_star, 6) + 0.0).tolist()}, lies "
                 f"outside the box about the operating point ({box_note})")
        return LoopCertificate(
            status="no_equilibrium", model=model, equilibrium=None, equilibrium_input=None,
            residual=resid, A=None, B=None, u_limit=None, global_certificate=None, region=None,
            roa_radius=0.0, assumptions=tuple(assumptions),
            message=f"the loop has no equilibrium near x0 = {np.round(x0, 6).tolist()}: {where} "
                    f"({how}); nothing to certify", **base)
    if box is None:
        h = np.maximum(1.0, np.abs(x_star))
        box_note = (f"box defaulted to max(1, |x*_i|) = {np.round(h, 6).tolist()} about x* (a "
                    "placeholder: pass box)")
    u_raw = _forward(ws, bs, a, x_star[None, :])[0]
    u_star = u_raw.copy()
    assumptions.append(
        f"certificate about the equilibrium x* = {(np.round(x_star, 9) + 0.0).tolist()}, "
        f"u* = {(np.round(u_star, 9) + 0.0).tolist()}, found numerically (residual "
        f"{resid:.2g}) and treated as exact")
    if np.any(u_raw <= lo) or np.any(u_raw >= hi):
        return LoopCertificate(
            status="none", model=model, equilibrium=x_star, equilibrium_input=u_star,
            residual=resid, A=None, B=None, u_limit=None, global_certificate=None, region=None,
            roa_radius=0.0, assumptions=tuple(assumptions),
            message=f"the equilibrium needs u* = {u_raw.tolist()} at or beyond the actuator "
                    f"limits [{lo.tolist()}, {hi.tolist()}]: the loop is open there, no "
                    "certificate of this form exists", **base)

    # ---- deviation model
    nl: PlantNonlinearity | None = None
    if kind == "linear":
        A = np.array(plant_.A, dtype=np.float64)  # type: ignore[attr-defined]
        B = np.array(plant_.B, dtype=np.float64)  # type: ignore[attr-defined]
        assumptions.append("continuous-time plant model exact (LinearPlant)")
    elif kind == "pendulum":
        p = plant_
        ml2 = float(p.m) * float(p.l) ** 2  # type: ignore[attr-defined]
        A = np.array([[0.0, 1.0], [0.0, -float(p.b) / ml2]])  # type: ignore[attr-defined]
        B = np.array([[0.0], [1.0 / ml2]])
        g_l = float(p.g) / float(p.l)  # type: ignore[attr-defined]
        th = float(x_star[0])
        if g_l > 0.0:
            s_th = math.sin(th)
            nl = PlantNonlinearity(
                E=np.array([0.0, -g_l]), C=np.array([1.0, 0.0]),
                func=lambda y: np.sin(th + y) - s_th, sector=_sin_shift_sector(th),
                name="sin")
        assumptions.append(
            "continuous-time plant model exact (Pendulum: m l^2 th'' = u - b th' - m g l "
            "sin(th)), the sin term about th* entering through a local chord-slope sector on "
            "the box")
    else:
        Jx, Ju, _ = plant_.jacobian(x_star, u_star, d0)
        A, B = np.array(Jx, dtype=np.float64), np.array(Ju, dtype=np.float64)
        assumptions.append(
            f"the plant ({plant_name}) is replaced by its finite-difference Jacobian "
            "linearisation about (x*, u*): the results are about that linear plant and are NOT "
            "a certificate of the nonlinear loop")
    if time == "discrete":
        assert step is not None
        A, B = _zoh(A, B, step)
        assumptions.append(f"sampled loop: the controller's command is held (zero-order hold) "
                           f"for dt = {step:g}, the plant sampled exactly; the certificate is "
                           "about the sampling instants")
    # the deviation network: pi_dev(dx) = N(x* + dx) - u*
    bs_dev = [b.copy() for b in bs]
    bs_dev[0] = bs[0] + ws[0] @ x_star
    bs_dev = center_network(ws, bs_dev, a)
    limited = np.isfinite(lo) | np.isfinite(hi)
    u_limit: FloatArray | None = None
    if np.any(limited):
        side = np.minimum(hi - u_star, u_star - lo)
        u_limit = np.where(np.isfinite(side), side, _NO_LIMIT)
        asym = np.abs((hi - u_star) - (u_star - lo)) > 1e-12 * (1.0 + np.abs(u_star))
        assumptions.append(
            "saturation treated as slope [0, 1] about u* with the symmetric limit |u - u*| <= "
            f"{np.round(u_limit, 9).tolist()}"
            + (" (the smaller side of the asymmetric limits "
               f"[{lo.tolist()}, {hi.tolist()}]: sound, conservative on the wider side)"
               if np.any(asym & limited) else "")
            + (" (unlimited inputs given a huge limit)" if not np.all(limited) else ""))

    # ---- certificates, each re-checked against the plant's own equations and
    # controller.forward (continuous) or the exact sampled map with the true saturation
    g_cert: GlobalCertificate | None = None
    region: RegionOfAttraction | None = None
    recheck: dict[str, Any] = {"fold_gap": gap}
    rng = np.random.default_rng(seed + 1)
    cont = time == "continuous"
    truth = field_true if cont else None
    status, message, radius = "none", "", 0.0
    if nl is None:
        g_cert = global_certificate(A, B, ws, bs_dev, a, time=time, u_max=u_limit,
                                    rate_tol=rate_tol, n_samples=n_samples, seed=seed)
        if g_cert.certified and kind != "other":
            assert g_cert.P is not None
            ok_g, worst = _recheck_pairs(truth, A, B, ws, bs, a, lo, hi, g_cert.P, g_cert.rate,
                                         cont, x_star, h, n_samples, rng)
            recheck.update(global_passed=ok_g, global_worst=worst)
            if ok_g:
                status, radius = "global", math.inf
                message = (f"globally contracting ({'rate' if cont else 'factor'} "
                           f"{g_cert.rate:.6g}): x* is the unique equilibrium, globally "
                           "exponentially stable")
                assumptions.append("global contraction makes the region of attraction the "
                                   "whole state space: not computed")
            else:
                message = (f"the global certificate failed the re-check on the true loop "
                           f"(relative {worst:.3g}); withdrawn; ")
    if status != "global" and not (kind == "other" and g_cert is not None and g_cert.certified):
        region = region_of_attraction(A, B, ws, bs_dev, a, h, time=time, u_max=u_limit,
                                      nonlinearity=nl, scales=scales, decay=decay,
                                      n_samples=n_samples, seed=seed)
    assumptions.append(box_note)

    if kind == "other":
        what = ("the linearised loop contracts" if g_cert is not None and g_cert.certified else
                "the linearised loop has a region of attraction" if region is not None and
                region.certified else "not even the linearised loop is certified")
        return LoopCertificate(
            status="linearisation_only", model=model, equilibrium=x_star,
            equilibrium_input=u_star, residual=resid, A=A, B=B, u_limit=u_limit,
            global_certificate=g_cert, region=region, roa_radius=0.0,
            assumptions=tuple(assumptions),
            message=f"{plant_name} is nonlinear and has no exact model here: {what}, which is "
                    "not a certificate of the nonlinear loop (roa_radius 0)", recheck=recheck,
            **base)

    if region is not None and region.certified:
        assert region.P is not None
        ok_r, worst = _recheck_region(truth, A, B, ws, bs, a, lo, hi, region.P, decay, cont,
                                      x_star, n_samples, rng)
        recheck.update(region_passed=ok_r, region_worst=worst)
        if ok_r:
            status, radius = "region", float(region.roa_radius)
            message += (f"every state with (x - x*)' P (x - x*) <= 1 converges to x*; it "
                        f"contains the ball of radius {radius:.6g} about x*")
            assumptions.append(
                "the ellipsoid lies in the box on which the local sectors of the hidden units"
                + (", the saturation" if u_limit is not None else "")
                + (" and the sin term" if nl is not None else "")
                + " hold, and V = (x - x*)' P (x - x*) decreases on it")
        else:
            message += (f"the region certificate failed the re-check on the true loop "
                        f"(relative {worst:.3g}); withdrawn; ")
    if status == "none":
        failed = [c for c in (g_cert, region) if c is not None and c.status == "solver_failed"]
        if failed and not any(c is not None and c.certified for c in (g_cert, region)):
            status = "solver_failed"
            message += "; ".join(c.message for c in failed)
        else:
            parts = [f"global: {g_cert.message}" if g_cert is not None else
                     "global: not attempted (the plant is nonlinear)"]
            if region is not None:
                parts.append(f"region: {region.message}")
            message += "no certificate: " + "; ".join(parts)
    return LoopCertificate(
        status=status, model=model, equilibrium=x_star, equilibrium_input=u_star,
        residual=resid, A=A, B=B, u_limit=u_limit, global_certificate=g_cert, region=region,
        roa_radius=radius, assumptions=tuple(assumptions), message=message, recheck=recheck,
        **base)


# ---------------------------------------------------------------------------- helpers


def _equilibrium(f: Callable[[FloatArray], FloatArray], x0: FloatArray
                 ) -> tuple[FloatArray, float, bool, str]:
    """A root of the closed-loop vector field near ``x0``: ``(x*, residual, accepted, note)``.

    Least squares (trust region) then Newton steps with a finite-difference Jacobian, kept
    while they lower the residual. Accepted when the residual is at rounding level relative to
    the size of the terms of ``f``.
    """
    from scipy.optimize import least_squares

    with np.errstate(all="ignore"):
        f0 = f(x0)
    if not np.all(np.isfinite(f0)):
        return x0, math.inf, False, "the vector field is not finite at the operating point"
    sol = least_squares(f, x0, method="trf", xtol=1e-15, ftol=1e-15, gtol=1e-15,
                        max_nfev=200 * (x0.size + 1))
    x = np.asarray(sol.x, dtype=np.float64)
    F = f(x)
    for _ in range(8):
        J = _fd_jac(f, x, F)
        step = np.linalg.lstsq(J, -F, rcond=None)[0]
        Fn = f(x + step)
        if not np.all(np.isfinite(Fn)) or np.max(np.abs(Fn)) >= np.max(np.abs(F)):
            break
        x, F = x + step, Fn
    resid = float(np.max(np.abs(F)))
    J = _fd_jac(f, x, F)
    scale = 1.0 + float(np.max(np.abs(J))) * max(1.0, float(np.max(np.abs(x))))
    return x, resid, resid <= 1e-9 * scale, str(sol.message)


def _fd_jac(f: Callable[[FloatArray], FloatArray], x: FloatArray, F: FloatArray) -> FloatArray:
    J = np.empty((F.size, x.size))
    for j in range(x.size):
        e = np.zeros(x.size)
        e[j] = 1e-7 * max(1.0, abs(x[j]))
        J[:, j] = (f(x + e) - f(x - e)) / (2.0 * e[j])
    return J


def _model_map(A: FloatArray, B: FloatArray, ws: list[FloatArray], bs: list[FloatArray],
               a: float, lo: FloatArray, hi: FloatArray, X: FloatArray) -> FloatArray:
    """``A x + B sat(N(x))`` on the linear part (the exact sampled map in discrete time)."""
    U = np.clip(_forward(ws, bs, a, X), lo, hi)
    out: FloatArray = X @ A.T + U @ B.T
    return out


def _recheck_pairs(field_true: Callable[[FloatArray], FloatArray] | None, A: FloatArray,
                   B: FloatArray, ws: list[FloatArray], bs: list[FloatArray], a: float,
                   lo: FloatArray, hi: FloatArray, P: FloatArray, rate: float, cont: bool,
                   x_star: FloatArray, h: FloatArray, n_samples: int,
                   rng: np.random.Generator) -> tuple[bool, float]:
    """Contraction on random pairs of plant states, with the plant's own equations (continuous)
    or the exact sampled map with the true asymmetric saturation (discrete)."""
    n = x_star.size
    k = min(n_samples, 500)
    s = np.geomspace(1e-2, 1e2, 5)[rng.integers(0, 5, k)][:, None] * h
    X1 = x_star + rng.standard_normal((k, n)) * s
    X2 = X1 + rng.standard_normal((k, n)) * s * rng.uniform(1e-3, 1.0, (k, 1))
    if cont:
        assert field_true is not None
        F1, F2 = field_true(X1), field_true(X2)
    else:
        F1, F2 = (_model_map(A, B, ws, bs, a, lo, hi, X) for X in (X1, X2))
    D, dF = X1 - X2, F1 - F2
    V = np.einsum("ij,jk,ik->i", D, P, D)
    W = np.einsum("ij,jk,ik->i", dF, P, dF)
    lhs = 2.0 * np.einsum("ij,jk,ik->i", D, P, dF) + 2.0 * rate * V if cont else W - rate**2 * V
    scale = V * (1.0 + abs(rate)) + np.sqrt(W * V)
    worst = float(np.max(lhs / np.maximum(scale, 1e-300)))
    return worst <= 1e-8, worst


def _recheck_region(field_true: Callable[[FloatArray], FloatArray] | None, A: FloatArray,
                    B: FloatArray, ws: list[FloatArray], bs: list[FloatArray], a: float,
                    lo: FloatArray, hi: FloatArray, P: FloatArray, decay: float,
                    cont: bool, x_star: FloatArray, n_samples: int,
                    rng: np.random.Generator) -> tuple[bool, float]:
    """``V = dx' P dx`` decreases at sampled states of the ellipsoid (half on its boundary),
    with the plant's own equations and the true (asymmetric) saturation.

    The equilibrium's own residual (rounding level) is allowed for: the decrease is demanded
    up to ``2 |dx|_P |f(x*)|_P``.
    """
    n = x_star.size
    k = min(n_samples, 500)
    L = np.linalg.cholesky(P)
    U = rng.standard_normal((k, n))
    U /= np.linalg.norm(U, axis=1, keepdims=True)
    radii = np.where(np.arange(k) < k // 2, 1.0, rng.uniform(0.05, 1.0, k) ** (1.0 / n))
    D = np.linalg.solve(L.T, (U * radii[:, None]).T).T
    X = x_star + D
    V = np.einsum("ij,jk,ik->i", D, P, D)
    if cont:
        assert field_true is not None
        Fx = field_true(X)
        f0 = field_true(x_star[None, :])[0]
        lhs = 2.0 * np.einsum("ij,jk,ik->i", D, P, Fx) + 2.0 * decay * V
        slack = 2.0 * np.sqrt(V * float(f0 @ P @ f0))
        scale = V + np.abs(2.0 * np.einsum("ij,jk,ik->i", D, P, Fx))
    else:
        Xn = _model_map(A, B, ws, bs, a, lo, hi, X)
        x_next = _model_map(A, B, ws, bs, a, lo, hi, x_star[None, :])[0]
        Dn = Xn - x_star
        Vn = np.einsum("ij,jk,ik->i", Dn, P, Dn)
        r0 = x_next - x_star
        lhs = Vn - (1.0 - decay) ** 2 * V
        slack = 2.0 * np.sqrt(Vn * float(r0 @ P @ r0)) + float(r0 @ P @ r0)
        scale = V + Vn
    worst = float(np.max((lhs - slack) / np.maximum(scale, 1e-300)))
    return worst <= 1e-8, worst
