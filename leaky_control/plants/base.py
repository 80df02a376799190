"""The plant protocol: one class per plant, its parameters as a record, its physics written once.

A plant is a subclass of :class:`Plant` that defines

- ``Record``: a ``typing.NamedTuple`` class of the values its numba functions read (floats,
  ints, float64 arrays);
- ``record(self)``: this plant's values as a ``Record``;
- ``dynamics(p, t, x, u, d, dx)``: writes the state derivative into ``dx[:n]`` from the
  record ``p``, the time, the closed-loop state ``x`` (plant states first, so the hot path
  never slices), the controller's command ``u`` (the plant applies its own actuator limits)
  and the disturbances ``d``; allocates nothing;
- optionally ``output(p, t, x, d, y)``: writes the measured output (default: the full state);
- the sizes ``nstates``, ``ninputs``, ``ndisturbances``, ``noutputs`` and their labels.

Defining the subclass registers it (:mod:`leaky_control._dispatch`); the solvers compile a
kernel specialised to it on first use and cache it on disk under a name that carries a digest
of its source file. The numpy reference (:meth:`Plant.to_nlsys`, the finite-difference
:meth:`Plant.jacobian`) calls the same functions in plain Python, so the physics exists once.
"""

from __future__ import annotations

import abc
import dataclasses
import functools
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from .._dispatch import define_model
from .._jit import python_function

if TYPE_CHECKING:
    import control
    from numpy.typing import ArrayLike

    from .._typing import FloatArray, IOFunction, ModelRecord

__all__ = ["Plant", "input_limits_arrays"]


@functools.cache
def _field_names(cls: type) -> tuple[str, ...]:
    # listing dataclass fields on every call cost more than reading the values
    return tuple(f.name for f in dataclasses.fields(cls) if f.name != "name")


def _labels(prefix: str, k: int) -> list[str]:
    return [prefix] if k == 1 else [f"{prefix}[{i}]" for i in range(k)]


class Plant(abc.ABC):
    """Base class of all plants (see the module docstring for the protocol).

    Attributes
    ----------
    nstates, ninputs, ndisturbances, noutputs : int
    state_labels, input_labels, disturbance_labels, output_labels : sequence of str
        Default ``x[i]``, ``u``/``u[i]``, ``d``/``d[i]``, ``y``/``y[i]``.
    """

    if TYPE_CHECKING:
        # read-only to the type checker: a plant may derive its sizes (LinearPlant from its
        # matrices) or set them as class values
        @property
        def nstates(self) -> int: ...

        @property
        def ninputs(self) -> int: ...

        @property
        def ndisturbances(self) -> int: ...

        @property
        def noutputs(self) -> int: ...
    else:
        nstates: int
        ninputs: int
        ndisturbances: int
        noutputs: int
    name: str | None = "plant"
    #: the numba functions and record class :func:`~leaky_control._dispatch.define_model`
    #: sets on every subclass that defines them
    Record: ClassVar[type[Any]]
    _nb_dynamics: ClassVar[Any]
    _nb_output: ClassVar[Any]
    if TYPE_CHECKING:  # every concrete plant is a dataclass (dataclasses.replace needs one)
        __dataclass_fields__: ClassVar[dict[str, Any]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # a subclass that only re-parametrises its base (MassSpringDamper) defines nothing
        define_model(cls, "plant", "dynamics", ("output",))

    @abc.abstractmethod
    def record(self) -> ModelRecord:
        """This plant's parameters as its ``Record`` (what the numba functions read)."""

    # --- sizes and labels -------------------------------------------------------------------

    @property
    def state_labels(self) -> Sequence[str]:
        return [f"x[{i}]" for i in range(self.nstates)]

    @property
    def input_labels(self) -> Sequence[str]:
        return _labels("u", self.ninputs)

    @property
    def disturbance_labels(self) -> Sequence[str]:
        return _labels("d", self.ndisturbances)

    @property
    def output_labels(self) -> Sequence[str]:
        return _labels("y", self.noutputs)

    def _labels(self) -> tuple[list[str], list[str], list[str]]:
        return (list(self.state_labels), list(self.input_labels) + list(self.disturbance_labels),
                list(self.output_labels))

    def actuator_limits(self) -> tuple[FloatArray, FloatArray]:
        """Actuator limits ``(lower, upper)`` arrays that the plant itself applies to ``u``."""
        return np.full(self.ninputs, -np.inf), np.full(self.ninputs, np.inf)

    # --- parameters ------------------------------------------------------------------------

    @property
    def params(self) -> dict[str, Any]:
        """Physical parameters as a dict (the names :func:`simulate`'s ``params=`` accepts)."""
        return {k: getattr(self, k) for k in _field_names(type(self))}

    def replace(self, **changes: Any) -> Plant:
        """A copy with some parameters changed (validated like the constructor)."""
        unknown = set(changes) - set(_field_names(type(self)))
        if unknown:
            raise ValueError(
                f"unknown parameter(s) {sorted(unknown)} for {type(self).__name__}; "
                f"allowed: {sorted(self.params)}")
        return dataclasses.replace(self, **changes)

    # --- the numpy reference ---------------------------------------------------------------

    def _model_functions(self) -> tuple[IOFunction, IOFunction | None]:
        """``(update, output)`` in plain Python over numpy arrays: the model's own numba
        functions run uncompiled (``py_func``). ``output`` is None for a full-state output."""
        rec = self.record()
        n, m, p = self.nstates, self.ninputs, self.noutputs
        dyn = python_function(type(self)._nb_dynamics)
        outf = type(self)._nb_output

        def upd(t: float, x: ArrayLike, ud: ArrayLike, params: Any) -> FloatArray:
            ud = np.asarray(ud, dtype=float)
            dx = np.zeros(n)
            dyn(rec, float(t), np.asarray(x, dtype=float), ud[:m], ud[m:], dx)
            return dx

        if outf is None:
            return upd, None
        outf = python_function(outf)

        def out(t: float, x: ArrayLike, ud: ArrayLike, params: Any) -> FloatArray:
            ud = np.asarray(ud, dtype=float)
            y = np.empty(p)
            outf(rec, float(t), np.asarray(x, dtype=float), ud[m:], y)
            return y

        return upd, out

    def to_nlsys(self, name: str | None = None, *,
                 full_state: bool = False) -> control.NonlinearIOSystem:
        """The plant as a :class:`control.NonlinearIOSystem` (plain numpy; the reference the
        kernels are tested against).

        Parameters
        ----------
        name : str, optional
        full_state : bool, default False
            Output the states (named by ``state_labels``) followed by the plant outputs whose
            labels are not state labels (an output named like a state is that state): what a
            state-feedback controller's ``to_nlsys(plant)`` reads.

        Returns
        -------
        control.NonlinearIOSystem
            Inputs: the control inputs, then the disturbances, by ``input_labels`` and
            ``disturbance_labels``; outputs by ``output_labels``. A controller's
            ``to_nlsys(plant)`` uses the same names, so ``control.interconnect`` joins the two
            without explicit connections.
        """
        import control as ct

        upd, out = self._model_functions()
        if out is None:
            out = lambda t, x, u, params: np.asarray(x, dtype=float)  # noqa: E731
        states, inputs, outputs = self._labels()
        if full_state:
            extra = [i for i, s in enumerate(outputs) if s not in states]
            outputs = states + [outputs[i] for i in extra]
            measure = out

            def out(t: float, x: ArrayLike, u: ArrayLike, params: Any) -> FloatArray:
                return np.concatenate([np.asarray(x, dtype=float),
                                       np.asarray(measure(t, x, u, params))[extra]])

        return ct.nlsys(upd, out, states=states, inputs=inputs, outputs=outputs,
                        name=name or getattr(self, "name", None) or "plant")

    def jacobian(self, x: ArrayLike, u: ArrayLike,
                 d: ArrayLike) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Central finite-difference ``(df/dx, df/du, dh/dx)`` at a point (used to pick step
        sizes and default horizons)."""
        return _fd_jacobian(self, x, u, d)


def input_limits_arrays(name: str, limits: Any, m: int) -> tuple[FloatArray, FloatArray]:
    """``(lower, upper)`` arrays of length ``m`` from ``None`` or a pair of scalars/arrays."""
    if limits is None:
        return np.full(m, -np.inf), np.full(m, np.inf)
    allowed = (f"{name} must be None or a pair (lower, upper) of numbers or length-{m} "
               f"arrays with lower < upper (infinite allowed, no NaN)")
    if isinstance(limits, str | bytes) or np.iscomplexobj(limits):
        raise TypeError(f"{allowed}, got {limits!r}")
    try:
        lo, hi = limits
        lo = np.broadcast_to(np.asarray(lo, dtype=float), (m,)).copy()
        hi = np.broadcast_to(np.asarray(hi, dtype=float), (m,)).copy()
    except (TypeError, ValueError, OverflowError):
        raise TypeError(f"{allowed}, got {limits!r}") from None
    if np.isnan(lo).any() or np.isnan(hi).any() or np.any(lo >= hi):
        raise ValueError(
            f"{name} must be (lower, upper) with lower < upper and no NaN, got {limits!r}")
    return lo, hi


def _one_sided(f: Callable[[FloatArray], FloatArray], z: FloatArray, j: int,
               scale: float) -> FloatArray:
    """Derivative of ``f`` along coordinate ``j`` at ``z``, robust to a jump at ``z``.

    Each side's difference quotient is taken at steps ``h`` and ``10 h``: across a jump
    (``sgn(v)`` at ``v = 0``, a switch) it grows like ``1/h``, so a side whose quotient at ``h``
    exceeds three times its quotient at ``10 h`` is discarded. Of the sides left, the larger
    slope is kept (a kink such as a saturation edge: the steeper side sets the step). A central
    difference across ``sgn(v)`` at rest once gave a 1e5/s "mode" and a 2e-6 s default step.
    """
    h = 1e-6 * scale
    f0 = f(z)
    sides = []
    for s in (1.0, -1.0):
        e = np.zeros(z.size)
        e[j] = s * h
        q1 = (f(z + e) - f0) / (s * h)
        q2 = (f(z + 10.0 * e) - f0) / (s * 10.0 * h)
        jump = np.abs(q1) > 3.0 * np.abs(q2) + 1e-9 * (1.0 + np.abs(q2))
        sides.append(np.where(jump, 0.0, q1))
    a, b = sides
    return np.where(np.abs(a) >= np.abs(b), a, b)


def _fd_jacobian(plant: Plant, x: ArrayLike, u: ArrayLike,
                 d: ArrayLike) -> tuple[FloatArray, FloatArray, FloatArray]:
    upd, out = plant._model_functions()
    x = np.asarray(x, dtype=float)
    ud = np.concatenate([np.atleast_1d(u), np.atleast_1d(d)]).astype(float)
    n, m = x.size, plant.ninputs
    fx = lambda xx: np.asarray(upd(0.0, xx, ud, None), dtype=float)  # noqa: E731
    hx = (lambda xx: np.asarray(xx, dtype=float)) if out is None else \
        (lambda xx: np.asarray(out(0.0, xx, ud, None), dtype=float))  # noqa: E731
    fu = lambda uu: np.asarray(upd(0.0, x, uu, None), dtype=float)  # noqa: E731
    Jx = np.empty((n, n))
    Ju = np.empty((n, m))
    Cx = np.empty((plant.noutputs, n))
    for j in range(n):
        Jx[:, j] = _one_sided(fx, x, j, max(1.0, abs(x[j])))
        Cx[:, j] = _one_sided(hx, x, j, max(1.0, abs(x[j])))
    for j in range(m):
        Ju[:, j] = _one_sided(fu, ud, j, max(1.0, abs(ud[j])))
    return Jx, Ju, Cx
