"""Plant models: one module per plant (see :mod:`.base` for the protocol a plant follows).

Inputs are the control inputs ``u`` followed by disturbances ``d``; outputs are measured
signals. A plant in a loop with a nonlinear controller must have no direct feedthrough from
``u`` to ``y`` (an algebraic loop); disturbances may feed through.
"""

from __future__ import annotations

from typing import Any

import control as ct
import numpy as np

from .base import Plant
from .cruise import CruiseControl
from .linear import LinearPlant
from .numba_rhs import RHS, NumbaPlant, rhs
from .pendulum import Pendulum
from .textbook import DCMotor, FirstOrderLag, MassSpringDamper
from .trim import OperatingPoint, operating_point

__all__ = [
    "RHS",
    "CruiseControl",
    "DCMotor",
    "FirstOrderLag",
    "LinearPlant",
    "MassSpringDamper",
    "NumbaPlant",
    "OperatingPoint",
    "Pendulum",
    "Plant",
    "as_plant",
    "operating_point",
    "rhs",
]


def as_plant(sys: Any, *, input_limits: tuple[Any, Any] | None = None) -> Plant:
    """Turn a python-control system, an ``(A, B, C, D)`` tuple or a plant into a plant.

    Parameters
    ----------
    sys : Plant, control.StateSpace, control.TransferFunction or tuple
        Continuous-time, proper. Transfer functions are realised with :func:`control.tf2ss`.
        All inputs of a python-control system are control inputs; the disturbance adds to them.
        A :class:`control.NonlinearIOSystem` is refused with how to write it as a
        :class:`Plant`.
    input_limits : (lower, upper), optional
        Actuator saturation for a new linear plant.

    Returns
    -------
    Plant
    """
    if isinstance(sys, Plant):
        if input_limits is not None:
            raise ValueError("input_limits applies only when converting a system; set it on the plant")
        return sys
    if isinstance(sys, ct.TransferFunction):
        _check_continuous(sys)
        for i in range(sys.noutputs):
            for j in range(sys.ninputs):
                num = np.trim_zeros(np.atleast_1d(sys.num[i][j]), "f")
                den = np.trim_zeros(np.atleast_1d(sys.den[i][j]), "f")
                if not (np.all(np.isfinite(num)) and np.all(np.isfinite(den))):
                    raise ValueError(
                        f"transfer function {i},{j} must have finite coefficients, got "
                        f"numerator {num.tolist()} and denominator {den.tolist()}")
                if len(num) > len(den):
                    raise ValueError(
                        f"transfer function {i},{j} is not proper (numerator degree {len(num) - 1} "
                        f"> denominator degree {len(den) - 1}); only proper plants can be simulated"
                    )
        try:
            sys = ct.tf2ss(sys)
        except ct.ControlMIMONotImplemented:
            raise ValueError(
                f"a {sys.noutputs}x{sys.ninputs} transfer function needs slycot to be realised "
                "(python-control's tf2ss); pass the plant as ct.ss(A, B, C, D) or an "
                "(A, B, C, D) tuple, or pip install slycot") from None
    if isinstance(sys, ct.StateSpace):
        _check_continuous(sys)
        return LinearPlant(sys.A, sys.B, sys.C, sys.D, input_limits=input_limits,
                           name=sys.name if not sys.name.startswith("sys[") else None)
    if isinstance(sys, tuple | list) and len(sys) == 4:
        A, B, C, D = sys
        return LinearPlant(A, B, C, D, input_limits=input_limits)
    if isinstance(sys, ct.NonlinearIOSystem):
        raise TypeError(_NLSYS_PLANT.format(type(sys).__name__))
    raise TypeError(
        "plant must be a leaky_control Plant, a control.StateSpace, a control.TransferFunction "
        f"or an (A, B, C, D) tuple, got {type(sys).__name__}"
    )


_NLSYS_PLANT = """plant is a control.{}, whose Python callbacks cannot run in the numba \
kernels; write it as a fast model, a subclass of lc.Plant with a NamedTuple Record and a \
static numba-compatible dynamics that writes dx and allocates nothing:

    class TankRecord(NamedTuple):
        area: float

    @dataclass(frozen=True)
    class Tank(lc.Plant):
        area: float = 2.0
        Record = TankRecord
        nstates = ninputs = ndisturbances = noutputs = 1

        def record(self):
            return TankRecord(float(self.area))

        @staticmethod
        def dynamics(p, t, x, u, d, dx):
            dx[0] = (u[0] + d[0] - 0.1 * x[0]) / p.area

(optional output(p, t, x, d, y); see docs/architecture.md, "Models as code"). \
lc.closed_loop_nlsys is not applicable: it takes the same plants; to run the system as it is, \
interconnect it with controller.to_nlsys() in python-control (slow)."""


def _check_continuous(sys: Any) -> None:
    if sys.dt not in (0, None):
        raise ValueError(
            f"plant must be continuous-time, got a discrete-time system with dt={sys.dt!r}; "
            "sampled control is set on the controller (dt=...), the plant stays continuous"
        )
