"""Open loop: no feedback; the reference signal is the plant's input."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from .base import Controller

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

    from .._typing import FloatArray
    from ..plants.base import Plant

__all__ = ["OpenLoop"]


class OpenLoopRecord(NamedTuple):
    """:class:`OpenLoop` reads nothing; the record only selects its law."""

    ninputs: int


@dataclass(frozen=True)
class OpenLoop(Controller):
    """No controller: every control input equals the reference ``r`` (an input signal).

    ``simulate(plant, None, ...)`` uses it, so ``reference=`` is then the open-loop input
    (a scalar, or values on ``timepts``). A plant without control inputs simply runs free.
    """

    name: str = "open loop"
    negative_slope = 1.0

    Record = OpenLoopRecord

    def record(self, plant: Plant) -> OpenLoopRecord:
        return OpenLoopRecord(plant.ninputs)

    @staticmethod
    def output(c: OpenLoopRecord, t: float, X: FloatArray, n: int, y: FloatArray,
               r: FloatArray, uraw: FloatArray, u: FloatArray) -> None:
        for i in range(u.size):
            uraw[i] = r[0]
            u[i] = r[0]

    def linear_gain(self, plant: Plant, Cx: ArrayLike | None = None) -> FloatArray:
        """Zero: an open loop feeds nothing back."""
        return np.zeros((plant.ninputs, plant.nstates))
