"""Dormand-Prince 5(4): the tableau of Hairer's ``dopri5`` on the shared adaptive loop."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, NamedTuple

import numpy as np

from .explicit_rk import ExplicitRK, Tableau

__all__ = ["Dopri5"]


def _tableau() -> Tableau:
    # Hairer, Norsett & Wanner I, table II.5.2
    c = [0.0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1.0, 1.0]
    A = np.zeros((7, 7))
    A[1, :1] = [1 / 5]
    A[2, :2] = [3 / 40, 9 / 40]
    A[3, :3] = [44 / 45, -56 / 15, 32 / 9]
    A[4, :4] = [19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729]
    A[5, :5] = [9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656]
    b = np.array([35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84, 0.0])
    A[6] = b
    e = np.array([71 / 57600, 0.0, -71 / 16695, 71 / 1920, -17253 / 339200, 22 / 525, -1 / 40])
    # Shampine's continuous extension as in Hairer's dopri5.f (CONTD5):
    # y(theta) = y0 + theta (dy + (1 - theta) (h k1 - dy + theta (rc4 + (1 - theta) h sum d k)))
    # with dy = h sum b k and rc4 = 2 dy - h k1 - h k7, expanded into powers of theta
    d = np.array([-12715105075 / 11282082432, 0.0, 87487479700 / 32700410799,
                  -10690763975 / 1880347072, 701980252875 / 199316789632,
                  -1453857185 / 822651844, 69997945 / 29380423])
    first, last = np.eye(7)[0], np.eye(7)[6]
    dense = np.stack([first, 3 * b - 2 * first - last + d, -2 * b + first + last - 2 * d, d],
                     axis=1)
    return Tableau(c=c, A=A, b=b, e=e, dense=dense, order=5, embedded_order=4)


class Dopri5Record(NamedTuple):
    """Selects the Dormand-Prince tableau inside numba."""

    order: int


@dataclass(frozen=True)
class Dopri5(ExplicitRK):
    __doc__ = ("Adaptive Dormand-Prince 5(4) (Hairer's ``dopri5``) with a 4th-order dense "
               # partition: see Tsit5 (python -OO leaves a one-line docstring)
               "output.\n" + (ExplicitRK.__doc__ or "").partition("\n")[2])

    order: ClassVar[int] = 5
    tableau: ClassVar[Tableau] = _tableau()
    Record: ClassVar[type] = Dopri5Record
