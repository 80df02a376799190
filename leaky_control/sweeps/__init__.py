"""Parameter sweeps: many closed-loop runs over a grid, on local cores or an executor.

``grid`` (parameter table), ``chunk`` (the unit of work executors run), ``checkpoint``
(atomic resumable storage), ``result`` (``SweepResult``) and ``api`` (``sweep``).
"""

from .api import sweep
from .checkpoint import CheckpointWarning
from .grid import Points
from .result import SweepResult

__all__ = ["CheckpointWarning", "Points", "SweepResult", "sweep"]
