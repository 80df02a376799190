r"""Leaky-ReLU-shaped feedback controllers.

Each controller is a frozen dataclass. ``negative_slope`` ``a`` sets how the controller reacts
to a negative error (the plant above its target): ``a = 0`` is the ReLU controller that applies
no proportional force then (it *coasts*), ``a = 1`` is the linear controller, ``0 < a < 1`` is
leaky. Controllers accept ``0 <= a <= 1``: that is the range where the law is slope-restricted
in ``[a, 1]``, the fact the stability and Lipschitz analyses build on.

PID family, with error ``e = r - y``, integral state ``z`` and filtered derivative ``e_d``:

- ``shape="error"`` (default): ``u = kp phi_a(e) + ki z + kd e_d``;
- ``shape="output"`` (the neuron shape, an activation of a weighted sum):
  ``u = phi_a(kp e + ki z + kd e_d)``.

Then ``u`` is saturated to ``[u_min, u_max]``, with back-calculation anti-windup
``z' = e + (kaw / ki)(sat(u) - u)``. The derivative is filtered, ``e_d = s/(tau_d s + 1) e``.
With a sample time ``dt`` the law runs at ``t0 + k dt`` and its output is held in between
(zero-order hold); the integrator advances by forward Euler and the derivative filter by
backward Euler.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
from numba import njit

from .._validate import check_finite_scalar
from ..activations import leaky_relu, leaky_relu_scalar
from .base import ErrorFeedback, check_dt, check_limits, check_negative_slope

if TYPE_CHECKING:
    import control
    from numpy.typing import ArrayLike

    from .._typing import FloatArray
    from ..plants.base import Plant

__all__ = ["LeakyP", "LeakyPD", "LeakyPI", "LeakyPID"]

SHAPE_ERROR = 0
SHAPE_OUTPUT = 1
_SHAPES = {"error": SHAPE_ERROR, "output": SHAPE_OUTPUT}


class PIDRecord(NamedTuple):
    """Parameters of the PID family as the kernels read them."""

    kp: float
    ki: float
    kd: float
    a: float
    u_min: float
    u_max: float
    kaw: float
    tau_d: float
    dt: float
    shape: int
    iz: int  # index of the integrator among the controller states (-1: none)
    ifl: int  # index of the derivative filter state (-1: none)


@njit(_nrt=False)
def _pid_law(c: PIDRecord, e: float, z: float, ed: float) -> float:
    if c.shape == SHAPE_OUTPUT:
        return leaky_relu_scalar(c.kp * e + c.ki * z + c.kd * ed, c.a)
    return c.kp * leaky_relu_scalar(e, c.a) + c.ki * z + c.kd * ed


@njit(_nrt=False)
def _pid_output(c: PIDRecord, t: float, X: FloatArray, n: int, y: FloatArray, r: FloatArray,
                uraw: FloatArray, u: FloatArray) -> None:
    e = r[0] - y[0]
    z = X[n + c.iz] if c.iz >= 0 else 0.0
    ed = (e - X[n + c.ifl]) / c.tau_d if c.ifl >= 0 else 0.0
    uraw[0] = _pid_law(c, e, z, ed)
    u[0] = min(max(uraw[0], c.u_min), c.u_max)


@njit(_nrt=False)
def _pid_derivative(c: PIDRecord, t: float, X: FloatArray, n: int, y: FloatArray,
                    r: FloatArray, uraw: FloatArray, u: FloatArray, dX: FloatArray) -> None:
    # integrator with back-calculation anti-windup, first-order derivative filter
    e = r[0] - y[0]
    if c.iz >= 0:
        aw = c.kaw / c.ki * (u[0] - uraw[0]) if c.ki != 0.0 else 0.0
        dX[n + c.iz] = e + aw
    if c.ifl >= 0:
        dX[n + c.ifl] = (e - X[n + c.ifl]) / c.tau_d


@njit(_nrt=False)
def _pid_sample(c: PIDRecord, t: float, X: FloatArray, n: int, y: FloatArray, r: FloatArray,
                uraw: FloatArray, u: FloatArray) -> None:
    # refresh the derivative filter with the new error (backward Euler of xf' = (e - xf)/tau),
    # compute the held command, then advance the integrator by one sample (forward Euler)
    e = r[0] - y[0]
    if c.ifl >= 0:
        X[n + c.ifl] += c.dt / (c.tau_d + c.dt) * (e - X[n + c.ifl])
    _pid_output(c, t, X, n, y, r, uraw, u)
    if c.iz >= 0:
        aw = c.kaw / c.ki * (u[0] - uraw[0]) if c.ki != 0.0 else 0.0
        X[n + c.iz] += c.dt * (e + aw)


@dataclass(frozen=True)
class LeakyPID(ErrorFeedback):
    """Leaky-ReLU-shaped PID controller (see the module docstring for the law).

    Parameters
    ----------
    kp, ki, kd : float
        Proportional, integral and derivative gains (finite).
    negative_slope : float
        Leak ``a`` in ``[0, 1]``, required (no default): 0 is ReLU (coasts on overshoot), 1
        is the linear PID.
    shape : {"error", "output"}
        Where the leaky ReLU acts: on the proportional error term, or on the whole sum.
    u_min, u_max : float
        Actuator limits of the controller output (infinite by default).
    kaw : float, optional
        Back-calculation anti-windup gain ``1/T_t`` (>= 0); default ``1/T_t`` with
        ``T_t = T_i = kp/ki`` for PI and ``T_t = sqrt(T_i T_d)`` with a derivative term
        (Astrom & Hagglund's rule), or 1 when ``kp = 0``. Acts only while saturated.
    tau_d : float, optional
        Derivative filter time constant (> 0); default ``kd / (10 kp)`` (filter N = 10).
    dt : float, optional
        Sample time (> 0) for a sampled controller with zero-order hold; ``None`` is continuous.
    name : str
    """

    kp: float = 1.0
    ki: float = 0.0
    kd: float = 0.0
    # required: None only marks it missing, and __post_init__ refuses it with the choices
    negative_slope: float = None  # type: ignore[assignment]
    shape: str = "error"
    u_min: float = -math.inf
    u_max: float = math.inf
    kaw: float | None = None
    tau_d: float | None = None
    dt: float | None = None
    name: str = "controller"

    def __post_init__(self) -> None:
        for k in ("kp", "ki", "kd"):
            check_finite_scalar(k, getattr(self, k))
        check_negative_slope(self)
        if not isinstance(self.shape, str) or self.shape not in _SHAPES:
            raise ValueError(f"shape must be 'error' or 'output', got {self.shape!r}")
        check_limits(self.u_min, self.u_max)
        if self.kaw is not None:
            check_finite_scalar("kaw", self.kaw, low=0.0)
        if self.tau_d is not None:
            check_finite_scalar("tau_d", self.tau_d, low=0.0, low_open=True)
        elif self.kd != 0.0 and self.kp == 0.0:
            raise ValueError("tau_d (derivative filter time constant > 0) is required when kp = 0 and kd != 0")
        check_dt(self.dt)


    @property
    def has_derivative(self) -> bool:
        """Whether the controller carries a derivative-filter state (``kd != 0``)."""
        return self.kd != 0.0

    @property
    def effective_tau_d(self) -> float:
        """The derivative filter time constant in use."""
        if self.tau_d is not None:
            return float(self.tau_d)
        return abs(self.kd / (10.0 * self.kp)) if self.kd != 0.0 else 1.0

    @property
    def effective_kaw(self) -> float:
        """The anti-windup gain in use."""
        if self.kaw is not None:
            return float(self.kaw)
        if self.kp == 0.0 or self.ki == 0.0:
            return 1.0
        ti = abs(self.kp / self.ki)
        tt = math.sqrt(ti * abs(self.kd / self.kp)) if self.kd != 0.0 else ti
        return 1.0 / tt

    @property
    def nstates(self) -> int:
        """Number of controller states (integrator, derivative filter)."""
        return int(self.has_integrator) + int(self.has_derivative)

    @property
    def state_labels(self) -> list[str]:
        return (["z"] if self.has_integrator else []) + (["xf"] if self.has_derivative else [])

    @property
    def lipschitz_constant(self) -> float:
        """Lipschitz constant of the static map ``e -> u`` from the error (integral and derivative
        states frozen): ``|kp| max(1, |a|) = |kp|`` for ``a`` in ``[0, 1]``; the slope of the map
        lies in ``[a |kp|, |kp|]`` (sector ``[a kp, kp]`` for ``kp >= 0``)."""
        return abs(self.kp)

    def law(self, e: ArrayLike, z: ArrayLike = 0.0, ed: ArrayLike = 0.0) -> FloatArray:
        """The control law before saturation, vectorised in numpy.

        Parameters
        ----------
        e, z, ed : array_like
            Error, integral state and filtered derivative.

        Returns
        -------
        numpy.ndarray
        """
        e, z, ed = (np.asarray(v, dtype=float) for v in (e, z, ed))
        a = self.negative_slope
        if self.shape == "output":
            return leaky_relu(self.kp * e + self.ki * z + self.kd * ed, a)
        return self.kp * leaky_relu(e, a) + self.ki * z + self.kd * ed

    Record = PIDRecord

    def record(self, plant: Plant) -> PIDRecord:
        self.check_siso(plant)
        iz = 0 if self.has_integrator else -1
        ifl = (1 if self.has_integrator else 0) if self.has_derivative else -1
        return PIDRecord(float(self.kp), float(self.ki), float(self.kd),
                         float(self.negative_slope), float(self.u_min), float(self.u_max),
                         self.effective_kaw, self.effective_tau_d, float(self.dt or 0.0),
                         _SHAPES[self.shape], iz, ifl)

    output = _pid_output
    derivative = _pid_derivative
    sample = _pid_sample


    def fast_rates(self, Ju: FloatArray, Cx: FloatArray) -> list[float]:
        if not self.has_derivative:
            return []
        tau = self.effective_tau_d
        return [1.0 / tau, abs(self.kd) * float(np.max(np.abs(Ju @ Cx))) / tau]


    def to_nlsys(self, plant: Plant | None = None, name: str | None = None,
                 raw: bool = False) -> control.NonlinearIOSystem:
        """The controller as a :class:`control.NonlinearIOSystem`.

        Inputs ``r`` and ``y``; output ``u`` (saturated; with ``raw=True`` also ``u_raw``, the
        command before saturation), or, given the
        ``plant``, named after its signals so that
        ``control.interconnect([plant.to_nlsys(), ctrl.to_nlsys(plant)], inplist=["r"],
        outlist=[...])`` closes the loop by name
        (:meth:`~leaky_control.controllers.Controller.signal_labels`); states ``z`` and/or
        ``xf``. A sampled controller becomes a discrete-time system with ``dt``; python-control
        cannot interconnect it with a continuous plant, so simulate it with
        :func:`leaky_control.simulate`.
        """
        iz = 0 if self.has_integrator else None
        ifl = (1 if self.has_integrator else 0) if self.has_derivative else None
        tau, kaw, ki, dt = self.effective_tau_d, self.effective_kaw, self.ki, self.dt
        lo, hi = self.u_min, self.u_max

        def terms(x: FloatArray, e: float) -> tuple[float, float]:
            z = x[iz] if iz is not None else 0.0
            ed = (e - x[ifl]) / tau if ifl is not None else 0.0
            return z, ed

        def output(t: float, x: FloatArray, inp: FloatArray, params: Any) -> FloatArray:
            e = inp[0] - inp[1]
            if dt is not None and ifl is not None:
                # the discrete filter refreshes with the new error before the law is evaluated
                x = np.array(x, dtype=float)
                x[ifl] += dt / (tau + dt) * (e - x[ifl])
            uraw = float(self.law(e, *terms(x, e)))
            return np.array([min(max(uraw, lo), hi), uraw])

        def update(t: float, x: FloatArray, inp: FloatArray, params: Any) -> FloatArray:
            e = inp[0] - inp[1]
            u, uraw = output(t, x, inp, params)
            aw = kaw / ki * (u - uraw) if ki != 0.0 else 0.0
            if dt is None:
                dx = np.zeros(self.nstates)
                if iz is not None:
                    dx[iz] = e + aw
                if ifl is not None:
                    dx[ifl] = (e - x[ifl]) / tau
                return dx
            xn = np.array(x, dtype=float)
            if ifl is not None:
                xn[ifl] += dt / (tau + dt) * (e - xn[ifl])
            if iz is not None:
                xn[iz] += dt * (e + aw)
            return xn

        return self._nlsys(update, output, plant, name, raw)


def _pid_subclass(cls_name: str, doc: str, fixed: tuple[str, ...]) -> type[LeakyPID]:
    """LeakyP, LeakyPI, LeakyPD: LeakyPID with some gains fixed at zero (not in the signature)."""
    fields = [(k, float, field(default=0.0, init=False)) for k in fixed]
    cls = dataclasses.make_dataclass(cls_name, fields, bases=(LeakyPID,), frozen=True)
    cls.__doc__ = doc
    cls.__module__ = __name__
    return cls


LeakyP = _pid_subclass(
    "LeakyP",
    """Leaky-ReLU proportional controller ``u = sat(kp phi_a(r - y))``.

    Parameters
    ----------
    kp : float
        Proportional gain.
    negative_slope : float
        Leak ``a`` in ``[0, 1]``, required (no default: 1 is the linear controller).
    shape, u_min, u_max, dt, name
        As in :class:`LeakyPID`.
    """,
    ("ki", "kd"),
)
LeakyPI = _pid_subclass(
    "LeakyPI",
    """Leaky-ReLU PI controller ``u = sat(kp phi_a(e) + ki z)`` (or the ``"output"`` shape).

    Parameters
    ----------
    kp, ki : float
        Gains.
    negative_slope : float
        Leak ``a`` in ``[0, 1]``, required (no default: 1 is the linear controller).
    shape, u_min, u_max, kaw, dt, name
        As in :class:`LeakyPID`.
    """,
    ("kd",),
)
LeakyPD = _pid_subclass(
    "LeakyPD",
    """Leaky-ReLU PD controller ``u = sat(kp phi_a(e) + kd e_d)`` with a filtered derivative.

    Parameters
    ----------
    kp, kd : float
        Gains.
    negative_slope : float
        Leak ``a`` in ``[0, 1]``, required (no default: 1 is the linear controller).
    shape, u_min, u_max, tau_d, dt, name
        As in :class:`LeakyPID`.
    """,
    ("ki",),
)
