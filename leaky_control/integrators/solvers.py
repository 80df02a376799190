"""Solver descriptions: small frozen objects saying how a step is taken (see STYLE.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from .._validate import check_finite_scalar
from .fixed import METHOD_EULER, METHOD_RK4

__all__ = ["RK4", "Euler"]


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
