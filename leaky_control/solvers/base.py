"""The solver protocol: a solver is one class whose ``run`` function is a numba kernel body.

A solver subclass of :class:`Solver` defines

- ``Record``: a ``typing.NamedTuple`` class (its type selects the solver inside numba; it may
  hold compile-time choices);
- ``record(self)`` and ``options(self, max_step)``: the record, and the float64 vector of
  runtime options (tolerances, step limits) the body reads;
- ``run(s, P, C, n, sampled, dts, t_out, r_sig, d_sig, x0, opts, out_x, out_y, out_u,
  out_uraw, info)``: integrates the loop of plant record ``P`` and controller record ``C``
  from ``x0`` onto ``t_out``, writing the outputs and ``info = [status, failure time, count,
  accepted, rejected]`` (status: :class:`leaky_control.status.Status`).

Defining the subclass registers it; :func:`leaky_control.simulate` and the sweeps compile one
kernel per (solver, plant, controller) through :mod:`.kernels`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from .._dispatch import register

if TYPE_CHECKING:
    from .._typing import FloatArray

__all__ = ["Solver"]


#: the largest step count a solver accepts: counts reach the kernels as float64, exact to 2**53
MAX_COUNT = 2**53


class Solver:
    """Base class of the solvers (see the module docstring)."""

    #: adaptive solvers choose their steps by error control; fixed-step ones need ``max_step``
    adaptive: ClassVar[bool] = False
    #: order of the method, its record class and its compiled body (set per solver class)
    order: ClassVar[int]
    Record: ClassVar[type[Any]]
    _nb_run: ClassVar[Any]
    if TYPE_CHECKING:
        # what the simulator reads of every solver (each concrete one is a dataclass)
        max_steps: int

        def record(self) -> Any: ...

        def options(self, max_step: float) -> FloatArray: ...

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        own = cls.__dict__
        if "run" in own:
            from numba import njit

            # the body allocates its scratch arrays, so numba's runtime stays on here
            cls._nb_run = njit(own["run"].__func__)
        if "Record" in own:
            # a method that shares a body (Dopri5, Tsit5 on the explicit-RK loop) registers
            # its own record, which selects its constants inside that body
            register(cls, own["Record"])

    def stats(self, info: FloatArray, max_step: float | None = None) -> dict[str, Any]:
        """The run statistics of ``info`` as ``TimeResponseData.stats`` holds them
        (``max_step``: the fixed step in use, for fixed-step solvers)."""
        raise NotImplementedError
