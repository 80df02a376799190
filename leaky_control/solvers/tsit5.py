"""Tsitouras 5(4): the tableau of Tsitouras (2011) on the shared adaptive loop.

Ch. Tsitouras, "Runge-Kutta pairs of order 5(4) satisfying only the first column simplifying
assumption", Computers & Mathematics with Applications 62 (2011) 770-775. Coefficients as
published (the first column from the simplifying assumption ``a_i1 = c_i - sum_j a_ij``), the
free 4th-order interpolant in its expanded polynomial form.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, NamedTuple

import numpy as np

from .explicit_rk import ExplicitRK, Tableau

__all__ = ["Tsit5"]


def _tableau() -> Tableau:
    c = np.array([0.0, 0.161, 0.327, 0.9, 0.9800255409045097, 1.0, 1.0])
    A = np.zeros((7, 7))
    A[2, 1] = 0.3354806554923570
    A[3, 1:3] = [-6.359448489975075, 4.362295432869581]
    A[4, 1:4] = [-11.74888356406283, 7.495539342889836, -0.09249506636175525]
    A[5, 1:5] = [-12.92096931784711, 8.159367898576159, -0.07158497328140100,
                 -0.02826905039406838]
    b = np.array([0.09646076681806523, 0.01, 0.4798896504144996, 1.379008574103742,
                  -3.290069515436081, 2.324710524099774, 0.0])
    A[6] = b
    for i in range(1, 6):
        A[i, 0] = c[i] - A[i, 1:i].sum()
    e = np.array([-0.00178001105222577714, -0.0008164344596567469, 0.007880878010261995,
                  -0.1447110071732629, 0.5823571654525552, -0.45808210592918697, 1.0 / 66.0])
    dense = np.array([
        [1.0, -2.763706197274826, 2.9132554618219126, -1.0530884977290216],
        [0.0, 0.13169999999999998, -0.2234, 0.1017],
        [0.0, 3.9302962368947516, -5.941033872131505, 2.490627285651253],
        [0.0, -12.411077166933676, 30.33818863028232, -16.548102889244902],
        [0.0, 37.50931341651104, -88.1789048947664, 47.37952196281928],
        [0.0, -27.896526289197286, 65.09189467479366, -34.87065786149661],
        [0.0, 1.5, -4.0, 2.5],
    ])
    return Tableau(c=c, A=A, b=b, e=e, dense=dense, order=5, embedded_order=4)


class Tsit5Record(NamedTuple):
    """Selects the Tsitouras tableau inside numba."""

    order: int


@dataclass(frozen=True)
class Tsit5(ExplicitRK):
    __doc__ = ("Adaptive Tsitouras 5(4) with its free 4th-order dense output (the default of "
               "DifferentialEquations.jl and diffrax for non-stiff problems).\n"
               # partition: under python -OO there is no docstring to continue (dataclass
               # puts a one-line signature there), and split(...)[1] failed the import
               + (ExplicitRK.__doc__ or "").partition("\n")[2])

    order: ClassVar[int] = 5
    tableau: ClassVar[Tableau] = _tableau()
    Record: ClassVar[type] = Tsit5Record
