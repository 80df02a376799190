"""Vehicle speed dynamics of Astrom & Murray, *Feedback Systems*, sec. 4.1 (cruise control)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from .._jit import python_function
from .._validate import check_finite_scalar
from .base import Plant

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

    from .._typing import FloatArray

__all__ = ["CruiseControl"]


class CruiseRecord(NamedTuple):
    """Parameters of :class:`CruiseControl` as the kernels read them."""

    m: float
    g: float
    Cr: float
    Cd: float
    rho: float
    A: float
    alpha: float  # of the gear in use
    Tm: float
    omega_m: float
    beta: float
    brake_force: float  # 0 without a brake


@dataclass(frozen=True)
class CruiseControl(Plant):
    """Vehicle speed dynamics of Astrom & Murray, *Feedback Systems*, section 4.1.

    The defaults reproduce the vehicle of python-control's ``examples/cruise-control.py`` in
    gear 4: ``m v' = alpha T(alpha v) u - m g Cr sgn(v) - rho Cd A |v| v / 2 - m g sin(theta)``
    with torque curve ``T(w) = max(0, Tm (1 - beta (w/omega_m - 1)^2))``, throttle ``u``
    saturated to ``[0, 1]`` and the road slope ``theta`` (rad) as the disturbance.

    With ``brake=True`` the input range is ``[-1, 1]`` and a negative input brakes with
    ``brake_force * u`` newtons, so a leaky controller can act against an overshoot where a
    ReLU one can only coast.

    Parameters
    ----------
    m, g, Cr, Cd, rho, A : float
        Mass [kg], gravity [m/s^2], rolling friction, drag coefficient, air density
        [kg/m^3], frontal area [m^2].
    alpha : tuple of float
        Gear ratio divided by wheel radius for gears 1..5.
    gear : int
        Gear in use (1..5).
    Tm, omega_m, beta : float
        Engine torque constant [N m], peak-torque engine speed [rad/s], torque roll-off.
    brake : bool
        Whether negative inputs brake.
    brake_force : float, optional
        Braking force at ``u = -1`` [N]; default the peak engine force in the chosen gear
        (``alpha[gear-1] * Tm``), so both directions have comparable authority.
    """

    m: float = 1600.0
    g: float = 9.8
    Cr: float = 0.01
    Cd: float = 0.32
    rho: float = 1.3
    A: float = 2.4
    alpha: tuple = (40.0, 25.0, 16.0, 12.0, 10.0)
    gear: int = 4
    Tm: float = 190.0
    omega_m: float = 420.0
    beta: float = 0.4
    brake: bool = False
    brake_force: float | None = None
    name: str = "vehicle"

    Record = CruiseRecord
    nstates = 1
    ninputs = 1
    ndisturbances = 1
    noutputs = 1
    state_labels = ("v",)
    input_labels = ("u",)
    disturbance_labels = ("theta",)
    output_labels = ("v",)

    def __post_init__(self) -> None:
        for k in ("m", "g", "rho", "A", "Tm", "omega_m"):
            check_finite_scalar(k, getattr(self, k), low=0.0, low_open=True)
        for k in ("Cr", "Cd", "beta"):
            check_finite_scalar(k, getattr(self, k), low=0.0)
        try:
            alpha = tuple(float(a) for a in self.alpha)
        except (TypeError, ValueError, OverflowError):
            alpha = ()
        if len(alpha) < 1 or not all(math.isfinite(a) and a > 0 for a in alpha):
            raise ValueError(
                f"alpha must be a non-empty sequence of positive numbers, got {self.alpha!r}")
        object.__setattr__(self, "alpha", alpha)
        if isinstance(self.gear, bool) or not isinstance(self.gear, int | np.integer) or not (
            1 <= self.gear <= len(alpha)
        ):
            raise ValueError(f"gear must be an integer in [1, {len(alpha)}] (one per entry of "
                             f"alpha), got {self.gear!r}")
        if not isinstance(self.brake, bool | np.bool_):
            raise TypeError(f"brake must be True or False, got {self.brake!r}")
        if self.brake_force is not None:
            check_finite_scalar("brake_force", self.brake_force, low=0.0, low_open=True)

    @property
    def effective_brake_force(self) -> float:
        """Braking force at ``u = -1`` in newtons (0 when ``brake`` is False)."""
        if not self.brake:
            return 0.0
        if self.brake_force is not None:
            return float(self.brake_force)
        return self.alpha[self.gear - 1] * self.Tm

    def actuator_limits(self) -> tuple[FloatArray, FloatArray]:
        return np.array([-1.0 if self.brake else 0.0]), np.array([1.0])

    def record(self) -> CruiseRecord:
        return CruiseRecord(float(self.m), float(self.g), float(self.Cr), float(self.Cd),
                            float(self.rho), float(self.A), self.alpha[self.gear - 1],
                            float(self.Tm), float(self.omega_m), float(self.beta),
                            float(self.effective_brake_force))

    @staticmethod
    def dynamics(p: CruiseRecord, t: float, x: FloatArray, u: FloatArray, d: FloatArray,
                 dx: FloatArray) -> None:
        v = x[0]
        throttle = min(max(u[0], -1.0 if p.brake_force > 0.0 else 0.0), 1.0)
        if throttle >= 0.0:
            torque = p.Tm * (1.0 - p.beta * (p.alpha * v / p.omega_m - 1.0) ** 2)
            force = p.alpha * max(torque, 0.0) * throttle
        else:
            force = p.brake_force * throttle
        fg = p.m * p.g * math.sin(d[0])
        fr = p.m * p.g * p.Cr * math.copysign(1.0, v)
        fa = 0.5 * p.rho * p.Cd * p.A * abs(v) * v
        dx[0] = (force - fg - fr - fa) / p.m

    def acceleration(self, v: ArrayLike, u: ArrayLike, theta: ArrayLike = 0.0) -> FloatArray:
        """Vehicle acceleration (``dynamics`` run in plain Python, elementwise over arrays).

        Parameters
        ----------
        v, u, theta : array_like
            Speed [m/s], throttle command and road slope [rad], broadcast together.

        Returns
        -------
        numpy.ndarray
        """
        rec = self.record()
        dyn = python_function(type(self)._nb_dynamics)
        v, u, theta = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in (v, u, theta)))
        out = np.empty(v.shape)
        dx = np.empty(1)
        for i in np.ndindex(v.shape):
            dyn(rec, 0.0, v[i].reshape(1), u[i].reshape(1), theta[i].reshape(1), dx)
            out[i] = dx[0]
        return out

    def equilibrium_throttle(self, v: float, theta: float = 0.0) -> float:
        """Throttle holding speed ``v`` on slope ``theta`` (may lie outside the input range).

        Parameters
        ----------
        v : float
            Speed [m/s].
        theta : float, default 0.0
            Road slope [rad].

        Returns
        -------
        float
        """
        alpha = self.alpha[self.gear - 1]
        torque = max(self.Tm * (1 - self.beta * (alpha * v / self.omega_m - 1) ** 2), 0.0)
        fd = (self.m * self.g * math.sin(theta) + self.m * self.g * self.Cr * math.copysign(1.0, v)
              + 0.5 * self.rho * self.Cd * self.A * abs(v) * v)
        if fd < 0 and self.brake:
            return fd / self.effective_brake_force
        return fd / (alpha * torque)
