"""Plants from a bare numba function ``f(t, x, ud, params, dx)`` (the ``@rhs`` form).

Kept for scripts written before plants were classes; a subclass of
:class:`~leaky_control.plants.Plant` with a ``Record`` of named parameters is the form to
prefer (docs/architecture.md). Each ``@rhs`` function becomes a model class of its own, so its
kernels are specialised and cached like a built-in's, keyed on a digest of the function's
source file.
"""

from __future__ import annotations

import collections
import hashlib
import inspect
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .._dispatch import feed_computation
from .._jit import python_function
from .._validate import as_finite_array, check_int
from .base import Plant, input_limits_arrays

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

    from .._typing import FloatArray, IOFunction

__all__ = ["RHS", "NumbaPlant", "rhs"]


@dataclass(frozen=True)
class RHS:
    """A user's numba dynamics checked for the ``f(t, x, ud, params, dx)`` form (see :func:`rhs`)."""

    dispatcher: Callable[..., None] = field(repr=False)
    name: str = ""


def rhs(func: Any) -> RHS:
    """Decorator: make a numba-compiled function usable as plant dynamics.

    The function must be compiled with ``numba.njit`` and have the form
    ``f(t, x, ud, params, dx) -> None``, writing ``dx`` in place (``t`` float, the rest
    contiguous float64 arrays).

    Parameters
    ----------
    func : numba.core.registry.CPUDispatcher
        The ``@njit`` function.

    Returns
    -------
    RHS
        Pass it to :class:`NumbaPlant`.

    Raises
    ------
    TypeError
        For a plain Python function or one that does not compile for the signature.

    Examples
    --------
    >>> import numba, leaky_control as lc
    >>> @lc.rhs
    ... @numba.njit
    ... def decay(t, x, ud, params, dx):
    ...     dx[0] = -params[0] * x[0] + ud[0]
    >>> plant = lc.NumbaPlant(decay, nstates=1, params=[2.0])
    """
    from numba import types
    from numba.core.registry import CPUDispatcher

    if isinstance(func, RHS):
        return func
    from numba import config

    if not isinstance(func, CPUDispatcher) and not (config.DISABLE_JIT and callable(func)):
        what = getattr(func, "__name__", repr(func))
        raise TypeError(
            f"@rhs needs a numba-compiled function, got the plain Python object {what!r}; "
            "decorate it with @numba.njit first (@leaky_control.rhs above @numba.njit), "
            "with the form f(t, x, ud, params, dx) writing dx in place")
    a = types.float64[::1]
    try:
        if isinstance(func, CPUDispatcher):
            func.compile(types.void(types.float64, a, a, a, a))
    except Exception as exc:
        raise TypeError(
            f"{func.__name__} does not compile as f(t: float64, x, ud, params, dx: float64[::1]) "
            f"-> None: {type(exc).__name__}: {str(exc).splitlines()[0]}") from exc
    return RHS(func, getattr(func, "__name__", ""))


def _function_digest(fn: Any) -> str:
    """SHA-256 of a user's ``@rhs`` function: its file, and what numba compiles from it (byte
    code, closure values, frozen globals, the numba functions it calls): two functions made by
    one factory with different captured values differ."""
    py = python_function(fn)
    h = hashlib.sha256()
    try:
        # no source file (None) raises TypeError here, handled below like a missing file
        with open(inspect.getsourcefile(py), "rb") as fh:  # type: ignore[arg-type]
            h.update(fh.read())
    except (OSError, TypeError):
        pass
    h.update(py.__qualname__.encode())
    feed_computation(fn, h, set(), True)
    return h.hexdigest()


_MODELS: dict[Any, type[NumbaPlant]] = {}


def _model_for(dynamics: RHS) -> type[NumbaPlant]:
    """The model class running ``dynamics`` (made once per function and process)."""
    f = dynamics.dispatcher
    model = _MODELS.get(f)
    if model is not None:
        return model
    digest = _function_digest(f)
    tag = f"{''.join(c if c.isalnum() else '_' for c in python_function(f).__qualname__)}_{digest[:12]}"
    # module-level names: the kernels' disk cache pickles the record type by reference
    # a type name made at run time (one per user function), which mypy cannot follow
    record = collections.namedtuple(  # type: ignore[misc]
        f"RHSRecord_{tag}", ["C", "lo", "hi", "params", "ud"])
    record.__module__ = __name__

    def _dynamics(p: Any, t: float, x: FloatArray, u: FloatArray, d: FloatArray,
                  dx: FloatArray) -> None:
        # ud: the clipped inputs then the disturbances, in the record's scratch row
        m = p.lo.size
        n = p.C.shape[1]
        for j in range(m):
            p.ud[j] = min(max(u[j], p.lo[j]), p.hi[j])
        for j in range(p.ud.size - m):
            p.ud[m + j] = d[j]
        f(t, x[:n], p.ud, p.params, dx[:n])

    def _output(p: Any, t: float, x: FloatArray, d: FloatArray, y: FloatArray) -> None:
        C = p.C
        for i in range(C.shape[0]):
            s = 0.0
            for j in range(C.shape[1]):
                s += C[i, j] * x[j]
            y[i] = s

    model = type(f"RHSPlant_{tag}", (NumbaPlant,), {
        "Record": record, "dynamics": staticmethod(_dynamics), "output": staticmethod(_output),
        "__module__": __name__, "__doc__": f"NumbaPlant running {python_function(f).__qualname__}"})
    # what the kernel computes: NumbaPlant's own code and the user's function (its code,
    # closure and global values), never the order in which plants were made
    type.__setattr__(model, "_digest_cache",
                     hashlib.sha256((digest + _own_digest()).encode()).hexdigest())
    setattr(sys.modules[__name__], record.__name__, record)
    setattr(sys.modules[__name__], model.__name__, model)
    _MODELS[f] = model
    return model


def _own_digest() -> str:
    from .._dispatch import model_digest

    return model_digest(NumbaPlant)


class NumbaPlant(Plant):
    """A plant whose dynamics are a user-written numba function.

    Parameters
    ----------
    dynamics : RHS
        A function decorated with :func:`rhs`: ``f(t, x, ud, params, dx)`` writing the state
        derivative into ``dx``; ``ud`` holds the control inputs (after ``input_limits``)
        followed by the disturbances.
    nstates : int
        Number of states.
    ninputs : int, default 1
        Number of control inputs.
    ndisturbances : int, default 0
        Number of disturbance inputs.
    C : array_like, optional
        Output matrix (p, nstates); default measures the first state.
    params : array_like, optional
        Float parameters passed to ``f`` unchanged (a runtime argument: changing them never
        recompiles).
    input_limits : (lower, upper), optional
    name : str, optional
    """

    # sizes set per instance by __init__
    nstates: int
    ninputs: int
    ndisturbances: int
    noutputs: int

    def __new__(cls, dynamics: RHS | None = None, *args: Any, **kwargs: Any) -> NumbaPlant:
        if cls is NumbaPlant:
            if not isinstance(dynamics, RHS):
                raise TypeError(
                    "dynamics must be a function decorated with @leaky_control.rhs, "
                    f"got {dynamics!r}")
            cls = _model_for(dynamics)
        return object.__new__(cls)

    def __init__(self, dynamics: RHS, nstates: int, ninputs: int = 1, ndisturbances: int = 0,
                 C: ArrayLike | None = None, params: ArrayLike = (),
                 input_limits: tuple[Any, Any] | None = None, name: str | None = "plant") -> None:
        for k, v, lo in (("nstates", nstates, 1), ("ninputs", ninputs, 1),
                         ("ndisturbances", ndisturbances, 0)):
            # a bound far above any real model, below sizes whose arrays cannot exist
            check_int(k, v, low=lo, high=10**6)
        self.dynamics_function = dynamics
        self.nstates, self.ninputs = int(nstates), int(ninputs)
        self.ndisturbances = int(ndisturbances)
        Cm = np.eye(1, self.nstates) if C is None else as_finite_array("C", np.atleast_2d(C),
                                                                        ndim=2)
        if Cm.shape[1] != self.nstates:
            raise ValueError(f"C must have {self.nstates} columns, got shape {Cm.shape}")
        self.C = np.ascontiguousarray(Cm)
        self.noutputs = Cm.shape[0]
        self.param_values = as_finite_array("params", np.atleast_1d(params), ndim=1)
        self._lo, self._hi = input_limits_arrays("input_limits", input_limits, self.ninputs)
        self.name = name

    @property
    def state_labels(self) -> list[str]:
        return [f"x[{i}]" for i in range(self.nstates)]

    @property
    def disturbance_labels(self) -> list[str]:
        return [f"d[{i}]" for i in range(self.ndisturbances)]

    @property
    def params(self) -> dict[str, Any]:
        return {"params": self.param_values.copy()}

    def replace(self, **changes: Any) -> NumbaPlant:
        unknown = set(changes) - {"params"}
        if unknown:
            raise ValueError(f"unknown parameter(s) {sorted(unknown)} for NumbaPlant; "
                             "allowed: ['params']")
        return NumbaPlant(self.dynamics_function, self.nstates, self.ninputs,
                          self.ndisturbances, self.C,
                          changes.get("params", self.param_values), (self._lo, self._hi),
                          self.name)

    def actuator_limits(self) -> tuple[FloatArray, FloatArray]:
        return self._lo.copy(), self._hi.copy()

    def record(self) -> Any:
        return self.Record(self.C, self._lo, self._hi, self.param_values,
                           np.zeros(self.ninputs + self.ndisturbances))

    def _model_functions(self) -> tuple[IOFunction, IOFunction]:
        # the user's function in plain Python: numpy checks its indexing (see _probe.py)
        f, n, m, C, pv = (python_function(self.dynamics_function.dispatcher), self.nstates,
                          self.ninputs, self.C, self.param_values)
        lo, hi = self._lo, self._hi

        def upd(t: float, x: ArrayLike, ud: ArrayLike, params: Any) -> FloatArray:
            dx = np.empty(n)
            ud = np.array(ud, dtype=float)
            ud[:m] = np.clip(ud[:m], lo, hi)
            f(float(t), np.ascontiguousarray(x, dtype=float), ud, pv, dx)
            return dx

        return upd, lambda t, x, u, params: C @ x
