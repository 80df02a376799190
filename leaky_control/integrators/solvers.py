"""Solver descriptions: small frozen objects saying how a step is taken (see STYLE.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import math
from numbers import Real

import numpy as np

from .._validate import check_finite_scalar
from .dopri5 import STOP_REL
from .fixed import METHOD_EULER, METHOD_RK4

__all__ = ["RK4", "Dopri5", "Euler"]


@dataclass(frozen=True)
class _FixedStep:
    max_step: float | None = None
    substeps: int = 1

    def __post_init__(self):
        if self.max_step is not None:
            check_finite_scalar("max_step", self.max_step, low=0.0, low_open=True)
        if isinstance(self.substeps, bool) or not isinstance(self.substeps, int) or self.substeps < 1:
            raise ValueError(f"substeps must be an integer >= 1, got {self.substeps!r}")


@dataclass(frozen=True)
class RK4(_FixedStep):
    """Classical fourth-order Runge-Kutta with a fixed step.

    Each interval between output times (and between controller samples) is cut into
    ``max(substeps, ceil(length / max_step))`` equal steps.

    Parameters
    ----------
    max_step : float, optional
        Largest step (> 0); default chosen from the loop's fastest mode by ``simulate``.
    substeps : int, default 1
        Least number of steps per output interval.
    """

    order: ClassVar[int] = 4
    method_code: ClassVar[int] = METHOD_RK4


@dataclass(frozen=True)
class Euler(_FixedStep):
    """Forward Euler with a fixed step (order 1); parameters as :class:`RK4`."""

    order: ClassVar[int] = 1
    method_code: ClassVar[int] = METHOD_EULER


#: smallest accepted ``rtol``: below about 100 ulps the error estimate is rounding noise
_RTOL_FLOOR = 100 * 2.220446049250313e-16


@dataclass(frozen=True)
class Dopri5:
    """Adaptive Dormand-Prince 5(4) with error control, PI step control and dense output.

    Steps are accepted when Hairer's RMS norm of the embedded error estimate, weighted by
    ``atol + rtol * max(|x_old|, |x_new|)`` per state, is at most 1. Kinks of the leaky shape
    and of saturations are handled by step rejection; see docs/simulation.md, "Adaptive
    integration".

    Parameters
    ----------
    rtol : float, default 1e-6
        Relative tolerance, finite, in ``[100 eps, 1)``.
    atol : float, default 1e-9
        Absolute tolerance (> 0, finite), in the units of the states.
    dtmin : float, default 0.0
        Smallest step (>= 0, finite); a step the controller would make smaller (or below 16
        ulps of ``t``) ends the run with ``success=False`` and a step-size underflow message.
    dtmax : float, default inf
        Largest step (> 0, may be infinite; must exceed ``dtmin``).
    max_steps : int, default 100000
        Most steps (accepted plus rejected, >= 1); reaching it ends the run with
        ``success=False`` and a message naming the time reached.
    first_step : float, optional
        Initial step (> 0, finite); default chosen by Hairer's starting-step algorithm.
    """

    rtol: float = 1e-6
    atol: float = 1e-9
    dtmin: float = 0.0
    dtmax: float = math.inf
    max_steps: int = 100_000
    first_step: float | None = None

    order: ClassVar[int] = 5

    def __post_init__(self):
        check_finite_scalar("rtol", self.rtol, low=_RTOL_FLOOR, high=1.0, high_open=True)
        check_finite_scalar("atol", self.atol, low=0.0, low_open=True)
        check_finite_scalar("dtmin", self.dtmin, low=0.0)
        if isinstance(self.dtmax, bool) or not isinstance(self.dtmax, Real) or \
                math.isnan(self.dtmax) or not self.dtmax > self.dtmin:
            raise ValueError(f"dtmax must be a number > dtmin = {self.dtmin!r} (inf allowed), "
                             f"got {self.dtmax!r}")
        if isinstance(self.max_steps, bool) or not isinstance(self.max_steps, int | np.integer) or \
                self.max_steps < 1:
            raise ValueError(f"max_steps must be an integer >= 1, got {self.max_steps!r}")
        if self.first_step is not None:
            check_finite_scalar("first_step", self.first_step, low=0.0, low_open=True)

    def _options(self):
        """The kernel's option vector ``[rtol, atol, dtmin, dtmax, max_steps, first_step,
        stop_rel]`` (``first_step`` 0: automatic; ``stop_rel``: see ``signal_stops``)."""
        return np.array([self.rtol, self.atol, self.dtmin, self.dtmax, float(self.max_steps),
                         0.0 if self.first_step is None else self.first_step, STOP_REL])
