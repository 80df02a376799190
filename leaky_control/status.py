"""How a run ended: one enum for every solver, the sweeps and the results, with its messages."""

from __future__ import annotations

import enum
from typing import Any

__all__ = ["Status", "status_message"]


class Status(enum.IntEnum):
    """Outcome of one closed-loop run (the kernels write these codes as floats)."""

    #: the run reached the last output time
    SUCCESS = 0
    #: a state became NaN or infinite, or grew beyond 1e150 (the loop diverged)
    NONFINITE = 1
    #: the adaptive step size fell below ``dtmin`` (or 16 ulps of ``t``)
    STEP_UNDERFLOW = 2
    #: the step budget ``max_steps`` ran out
    MAX_STEPS = 3
    #: a sweep point whose parameter values a model rejected; it never ran
    INVALID_PARAMETERS = 4
    #: the run was stopped from outside (Ctrl-C); ``simulate`` then raises KeyboardInterrupt
    INTERRUPTED = 5


def status_message(status: int | Status, time: float, solver: Any, final_time: float) -> str:
    """The message of a run that ended with ``status`` at ``time``.

    Parameters
    ----------
    status : int or Status
    time : float
        Time the run reached.
    solver : object
        The solver description (supplies ``dtmin`` and ``max_steps`` where they matter).
    final_time : float
        The last output time asked for.

    Returns
    -------
    str
    """
    status = Status(int(status))
    if status is Status.SUCCESS:
        return "simulation completed"
    if status is Status.STEP_UNDERFLOW:
        return (f"step size underflow at t = {time:.6g}: the error estimate asked for a "
                f"step below dtmin = {getattr(solver, 'dtmin', 0.0):g} (or 16 ulps of t); "
                "samples after that are NaN")
    if status is Status.MAX_STEPS:
        return (f"max_steps = {getattr(solver, 'max_steps', '?')} steps reached at "
                f"t = {time:.6g} of {final_time:.6g}; samples after that are NaN")
    if status is Status.INVALID_PARAMETERS:
        return "invalid parameters: the run did not start"
    if status is Status.INTERRUPTED:
        return f"interrupted at t = {time:.6g}; samples after that are NaN"
    return (f"state became non-finite or diverged (|x| > 1e150) at t = {time:.6g}; "
            "samples after that are NaN")
