"""Type aliases the package's annotations share (for type checkers and readers only: no
kernel reads them, and importing this module compiles nothing)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    import control
    from numpy.typing import ArrayLike

    from .controllers.base import Controller
    from .plants.base import Plant

__all__ = ["ControllerLike", "FloatArray", "IOFunction", "IntArray", "ModelRecord",
           "PlantLike"]

#: a float64 array, what the kernels read and write and what the public functions return
FloatArray: TypeAlias = NDArray[np.float64]
#: an integer array (status codes, indices)
IntArray: TypeAlias = NDArray[np.int64]
#: a model's parameter record: a ``typing.NamedTuple`` instance whose fields its numba
#: functions read (each model narrows it to its own ``Record`` class)
ModelRecord: TypeAlias = tuple[Any, ...]
#: a python-control update or output function ``f(t, x, u, params)``
IOFunction: TypeAlias = Callable[[float, Any, Any, Any], FloatArray]
#: what simulate, sweep and the analyses accept as a plant (see plants.as_plant)
PlantLike: TypeAlias = ("Plant | control.StateSpace | control.TransferFunction"
                        " | tuple[ArrayLike, ArrayLike, ArrayLike, ArrayLike]")
#: what they accept as a controller: one of the package's, a SISO python-control LTI system
#: (its linear law), or None (open loop)
ControllerLike: TypeAlias = "Controller | control.StateSpace | control.TransferFunction | None"
