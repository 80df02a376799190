"""numba integrator kernels (arrays in, arrays out) and the solver objects that select them.

Nothing here imports the plant or controller classes; models reach the kernels as integer
codes plus float64 arrays (:mod:`.models`).
"""

from .dopri5 import dopri5_kernel
from .fixed import fixed_kernel
from .solvers import RK4, Dopri5, Euler

__all__ = ["RK4", "Dopri5", "Euler", "dopri5_kernel", "fixed_kernel"]
