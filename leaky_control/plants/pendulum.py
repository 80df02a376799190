"""Damped pendulum ``m l^2 th'' = u + d - b th' - m g l sin(th)``."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from .._validate import check_finite_scalar
from .base import Plant, input_limits_arrays

if TYPE_CHECKING:
    from .._typing import FloatArray

__all__ = ["Pendulum"]


class PendulumRecord(NamedTuple):
    """Parameters of :class:`Pendulum` as the kernels read them."""

    m: float
    l: float  # noqa: E741 - the textbook symbol
    b: float
    g: float
    u_min: float
    u_max: float


@dataclass(frozen=True)
class Pendulum(Plant):
    """Damped pendulum ``m l^2 th'' = u + d - b th' - m g l sin(th)``; output the angle.

    ``th = 0`` hangs down. The model is nonlinear through ``sin``.

    Parameters
    ----------
    m, l : float
        Mass [kg] and length [m] (> 0).
    b : float
        Viscous damping [N m s] (>= 0).
    g : float
        Gravity [m/s^2] (>= 0).
    u_min, u_max : float
        Torque saturation (infinite by default).
    """

    m: float = 1.0
    l: float = 1.0  # noqa: E741 - the textbook symbol
    b: float = 0.1
    g: float = 9.81
    u_min: float = -math.inf
    u_max: float = math.inf
    name: str = "pendulum"

    Record = PendulumRecord
    nstates = 2
    ninputs = 1
    ndisturbances = 1
    noutputs = 1
    state_labels = ("theta", "omega")
    input_labels = ("u",)
    disturbance_labels = ("d",)
    output_labels = ("theta",)

    def __post_init__(self) -> None:
        check_finite_scalar("m", self.m, low=0.0, low_open=True)
        check_finite_scalar("l", self.l, low=0.0, low_open=True)
        check_finite_scalar("b", self.b, low=0.0)
        check_finite_scalar("g", self.g, low=0.0)
        for k in ("u_min", "u_max"):  # scalars: the pendulum has one torque input
            v = getattr(self, k)
            if isinstance(v, bool) or not isinstance(v, int | float | np.integer | np.floating):
                raise TypeError(f"{k} must be a real number (infinite allowed), got {v!r}")
        input_limits_arrays("(u_min, u_max)", (self.u_min, self.u_max), 1)

    def actuator_limits(self) -> tuple[FloatArray, FloatArray]:
        return np.array([self.u_min], dtype=float), np.array([self.u_max], dtype=float)

    def record(self) -> PendulumRecord:
        return PendulumRecord(float(self.m), float(self.l), float(self.b), float(self.g),
                              float(self.u_min), float(self.u_max))

    @staticmethod
    def dynamics(p: PendulumRecord, t: float, x: FloatArray, u: FloatArray, d: FloatArray,
                 dx: FloatArray) -> None:
        torque = min(max(u[0], p.u_min), p.u_max) + d[0]
        dx[0] = x[1]
        dx[1] = (torque - p.b * x[1] - p.m * p.g * p.l * math.sin(x[0])) / (p.m * p.l * p.l)

    @staticmethod
    def output(p: PendulumRecord, t: float, x: FloatArray, d: FloatArray, y: FloatArray) -> None:
        y[0] = x[0]
