"""Open loop: no feedback; the reference signal is the plant's input."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .base import Controller

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

    def record(self, plant):
        return OpenLoopRecord(plant.ninputs)

    @staticmethod
    def output(c, t, X, n, y, r, uraw, u):
        for i in range(u.size):
            uraw[i] = r[0]
            u[i] = r[0]

    def linear_gain(self, plant, Cx=None):
        """Zero: an open loop feeds nothing back."""
        return np.zeros((plant.ninputs, plant.nstates))
