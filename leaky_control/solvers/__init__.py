"""Solvers: one module per method, all running the same closed-loop vector field (:mod:`.loop`).

- :class:`RK4`, :class:`Euler` (:mod:`.fixed`): fixed steps;
- :class:`Dopri5` (:mod:`.dopri5`), :class:`Tsit5` (:mod:`.tsit5`): adaptive explicit
  Runge-Kutta 5(4) pairs on one loop (:mod:`.explicit_rk`), each a tableau;
- :class:`Rosenbrock23` (:mod:`.rosenbrock`): L-stable linearly implicit 2(3) for stiff loops.

See :mod:`.base` for the protocol and :mod:`.kernels` for how kernels are specialised and cached.
"""

from .dopri5 import Dopri5
from .fixed import RK4, Euler
from .rosenbrock import Rosenbrock23
from .tsit5 import Tsit5

__all__ = ["RK4", "Dopri5", "Euler", "Rosenbrock23", "Tsit5"]
