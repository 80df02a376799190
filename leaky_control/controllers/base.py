"""The controller protocol: one class per controller shape, its law written once in numba.

A controller is a subclass of :class:`Controller` that defines

- ``Record``: a ``typing.NamedTuple`` class of the values its numba functions read;
- ``record(self, plant)``: this controller's values for ``plant`` (checks the sizes);
- ``output(c, t, X, n, y, r, uraw, u)``: writes the command before (``uraw``) and after
  (``u``) its own saturation, from the closed-loop state ``X`` (plant states, then the
  controller's own from index ``n``), the plant output ``y`` and the reference ``r``;
- optionally ``derivative(c, t, X, n, y, r, uraw, u, dX)``: the derivatives of its states,
  written to ``dX[n:]`` (continuous controllers with states);
- optionally ``sample(c, t, X, n, y, r, uraw, u)``: what happens at a sample instant of a
  sampled controller (default: the law is evaluated and held);
- ``nstates``, ``state_labels`` and ``dt`` (``None``: continuous).

What the simulator and the analyses ask of a controller beyond that is the small Python
protocol below (:meth:`Controller.linear_gain`, :attr:`Controller.slope_bounds`,
:attr:`Controller.error_feedback`, :meth:`Controller.fast_rates`), never ``hasattr``.
"""

from __future__ import annotations

import abc
import dataclasses
import functools
import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from .._dispatch import define_model
from .._validate import check_finite_scalar, check_slope

if TYPE_CHECKING:
    import control
    from numpy.typing import ArrayLike

    from .._typing import FloatArray, IOFunction, ModelRecord
    from ..plants.base import Plant

__all__ = ["Controller", "ErrorFeedback", "check_dt", "check_limits", "check_negative_slope"]


@functools.cache
def _param_names(cls: type) -> tuple[str, ...]:
    # fields are per class; listing them on every call was a third of replace()'s cost
    return tuple(f.name for f in dataclasses.fields(cls) if f.init and f.name != "name")


def check_limits(u_min: float, u_max: float) -> None:
    """Check actuator limits: real numbers (infinite allowed) with ``u_min < u_max``."""
    for k, v in (("u_min", u_min), ("u_max", u_max)):
        if type(v) is float:  # the common case, without the slow abstract-class checks
            if v != v:
                raise ValueError(f"{k} must be a real number (infinite allowed), got {v!r}")
            continue
        if isinstance(v, bool) or not isinstance(v, int | float | np.floating | np.integer) \
                or (isinstance(v, int) and abs(v) > 2**1023) or math.isnan(v):
            shown = f"an integer of {len(str(abs(v)))} digits" if isinstance(v, int) and \
                not isinstance(v, bool) and abs(v) > 2**1023 else repr(v)
            raise ValueError(f"{k} must be a real number (infinite allowed), got {shown}")
    if not u_min < u_max:
        raise ValueError(f"u_min must be < u_max, got u_min={u_min!r}, u_max={u_max!r}")


def check_negative_slope(controller: Controller) -> None:
    """Check a controller's leak ``a``, which has no default: the shape is the design choice."""
    if controller.negative_slope is None:
        raise TypeError(
            f"{type(controller).__name__} needs negative_slope, the leak a in [0, 1]: 1.0 is "
            "the linear controller (as in python-control), 0.0 the ReLU controller that applies "
            "no proportional force on overshoot (it coasts), values between are leaky (the "
            "shipped studies use 0.1)")
    check_slope(controller.negative_slope)


def check_dt(dt: float | None) -> None:
    """Check a sample time: ``None`` (continuous) or a finite number > 0."""
    if dt is not None:
        check_finite_scalar("dt", dt, low=0.0, low_open=True)


class Controller(abc.ABC):
    """Base class of all controllers (see the module docstring for the protocol)."""

    #: whether the controller reads the error ``r - y`` of a single measured output (its
    #: responses then carry ``e``, and python-control's SISO conventions apply)
    error_feedback = False
    name = "controller"
    if TYPE_CHECKING:
        # the sample time (None: continuous); a field of most controllers
        @property
        def dt(self) -> float | None: ...

        # read-only to the type checker: controllers with states derive them from their
        # parameters (properties), static ones keep these class values
        @property
        def nstates(self) -> int: ...

        @property
        def state_labels(self) -> Sequence[str]: ...
    else:
        dt = None
        nstates = 0
        state_labels = ()
    #: the numba functions and record class :func:`~leaky_control._dispatch.define_model`
    #: sets on every subclass that defines them
    Record: ClassVar[type[Any]]
    _nb_output: ClassVar[Any]
    _nb_derivative: ClassVar[Any]
    _nb_sample: ClassVar[Any]

    if TYPE_CHECKING:
        # what every concrete controller (a dataclass) has; declared for the type checker
        # only, so that no class attribute shadows a subclass's field or property
        __dataclass_fields__: ClassVar[dict[str, Any]]

        @property
        def negative_slope(self) -> float: ...

        @property
        def u_min(self) -> float: ...

        @property
        def u_max(self) -> float: ...

        def __post_init__(self) -> None: ...

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # an abstract base or a re-parametrisation (LeakyPI of LeakyPID) defines nothing
        define_model(cls, "controller", "output", ("derivative", "sample"))

    @abc.abstractmethod
    def record(self, plant: Plant) -> ModelRecord:
        """This controller's parameters for ``plant`` as its ``Record``.

        Raises ``ValueError`` when the plant's sizes do not fit the controller.
        """

    @abc.abstractmethod
    def linear_gain(self, plant: Plant, Cx: ArrayLike | None = None) -> FloatArray:
        """The gain ``G`` of the controller's linear part at slope 1: ``u ~ -G x`` near the
        origin of the plant state (used for default step sizes and horizons); ``Cx`` is the
        plant's output Jacobian where the controller reads the output."""

    @property
    def sampled(self) -> bool:
        """True for a sampled (discrete-time, zero-order hold) controller."""
        return self.dt is not None

    @property
    def slope_bounds(self) -> tuple[float, float]:
        """The range ``(low, high)`` of the leak's slope over a run (a fixed leak: ``(a, 1)``)."""
        return (self.negative_slope, 1.0)

    @property
    def initial_state(self) -> FloatArray:
        """Default controller state (zeros)."""
        return np.zeros(self.nstates)

    def slow_rates(self) -> list[float]:
        """Rates (1/s) of the controller's own slow modes (integral action)."""
        return []

    def check_siso(self, plant: Plant) -> None:
        """Refuse a plant that is not single-input single-output, by name."""
        if plant.ninputs != 1 or plant.noutputs != 1:
            raise ValueError(
                f"{type(self).__name__} needs a single-input single-output plant, got "
                f"{plant.ninputs} input(s) and {plant.noutputs} output(s); use "
                "LeakyStateFeedback for multi-input plants")

    def io_sizes(self) -> tuple[int, int]:
        """``(measured, m)``: how many signals the controller reads besides ``r`` (one output
        for error feedback; the plant states for state feedback) and how many it drives."""
        return 1, 1

    def signal_labels(self, plant: Plant | None = None,
                      raw: bool = True) -> tuple[list[str], list[str]]:
        """Input and output names of :meth:`to_nlsys`, chosen so that
        ``control.interconnect([plant.to_nlsys(), controller.to_nlsys(plant)], ...)`` joins
        the loop by name, with no explicit connections.

        Parameters
        ----------
        plant : Plant, optional
            The plant the controller is wired to. Without one the names are generic: ``y`` (or
            ``x[i]``) in, ``u`` (or ``u[i]``) out.
        raw : bool, default True
            Whether the outputs include ``u_raw``.

        Returns
        -------
        inputs, outputs : list of str
            Inputs: ``r``, then the plant's output label (error feedback) or its state labels
            (state feedback: wire it to ``plant.to_nlsys(full_state=True)``). Outputs: the
            plant's control-input labels, then ``u_raw`` (``u_raw[i]`` per channel).
        """
        nmeas, m = self.io_sizes()
        if plant is None:
            measured = ["y"] if self.error_feedback else _numbered("x", nmeas, always=True)
            driven = _numbered("u", m)
        else:
            measured = list(plant.output_labels)[:1] if self.error_feedback \
                else list(plant.state_labels)
            driven = list(plant.input_labels)
        return ["r"] + measured, driven + (_numbered("u_raw", len(driven)) if raw else [])

    def _nlsys(self, update: IOFunction | None, output: IOFunction, plant: Plant | None,
               name: str | None, raw: bool) -> control.NonlinearIOSystem:
        """``control.nlsys`` of a law whose ``output`` returns ``u`` then ``u_raw``, named by
        :meth:`signal_labels` (``u_raw`` dropped unless ``raw``: python-control warns about
        an output nobody connects)."""
        import control as ct

        inputs, outputs = self.signal_labels(plant, raw)
        out = output if raw else (lambda t, x, inp, params: output(t, x, inp, params)[:len(outputs)])
        return ct.nlsys(update, out, states=list(self.state_labels) if update else None,
                        inputs=inputs, outputs=outputs, dt=0 if self.dt is None else self.dt,
                        name=name or self.name)

    def fast_rates(self, Ju: FloatArray, Cx: FloatArray) -> list[float]:
        """Rates (1/s) of the controller's own fast dynamics beyond the loop's Jacobian (a
        derivative filter), given the plant's input and output Jacobians."""
        return []

    @property
    def params(self) -> dict[str, Any]:
        """The controller's parameters as a dict (the names ``simulate(params=...)`` accepts)."""
        return {k: getattr(self, k) for k in _param_names(type(self))}

    def replace(self, **changes: Any) -> Controller:
        """A copy with some parameters changed, validated like the constructor."""
        unknown = set(changes).difference(_param_names(type(self)))
        if unknown:
            raise ValueError(
                f"unknown parameter(s) {sorted(unknown)} for {type(self).__name__}; "
                f"allowed: {sorted(self.params)}")
        # a copy with the changed fields, then the constructor's checks and normalisation
        # (__post_init__ is idempotent); dataclasses.replace re-runs __init__ over every field,
        # which was half the per-point cost of a sweep
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        new.__dict__.update(changes)
        new.__post_init__()
        return new


class ErrorFeedback(Controller):
    """Base of the controllers that act on the error ``e = r - y`` of one measured output with
    a proportional gain ``kp`` and an integral gain ``ki`` (the PID family, AdaptivePReLU)."""

    error_feedback = True

    if TYPE_CHECKING:
        # fields of every concrete subclass (dataclasses), for the type checker only
        @property
        def kp(self) -> float: ...

        @property
        def ki(self) -> float: ...

    @property
    def has_integrator(self) -> bool:
        """Whether the controller carries an integral state (``ki != 0``)."""
        return self.ki != 0.0

    def linear_gain(self, plant: Plant, Cx: ArrayLike | None = None) -> FloatArray:
        """``kp C``: the loop gain at slope 1 (``Cx``, the plant's output Jacobian, defaults
        to its ``C`` or the first state)."""
        if Cx is None:
            Cx = getattr(plant, "C", np.eye(1, plant.nstates))
        return self.kp * np.asarray(Cx, dtype=float)

    def slow_rates(self) -> list[float]:
        """Rates of the controller's slow modes: the integral action ``|ki / kp|``."""
        return [abs(self.ki / self.kp)] if self.has_integrator and self.kp != 0 else []


def _numbered(base: str, k: int, always: bool = False) -> list[str]:
    return [f"{base}[{i}]" for i in range(k)] if k > 1 or always else [base]


def static_feedback_nlsys(law: Callable[[FloatArray, float], ArrayLike], n: int, m: int,
                          controller: Controller, name: str | None = None,
                          plant: Plant | None = None,
                          raw: bool = False) -> control.NonlinearIOSystem:
    """A static state-feedback law as a :class:`control.NonlinearIOSystem`.

    Parameters
    ----------
    law : callable
        ``law(x, r) -> u_raw`` (m values) for plant states ``x`` and reference ``r``.
    n, m : int
        Numbers of plant states and of control inputs.
    controller : Controller
        Supplies ``u_min``, ``u_max``, ``dt`` and the default ``name``.
    name : str, optional
    plant : Plant, optional
        Names the signals after the plant's (see :meth:`Controller.signal_labels`).
    raw : bool, default False
        Also output ``u_raw`` per channel.

    Returns
    -------
    control.NonlinearIOSystem
        Inputs ``r`` then the states; outputs ``u`` (saturated), then ``u_raw``.
    """
    lo, hi = controller.u_min, controller.u_max

    def output(t: float, x: FloatArray, inp: FloatArray, params: Any) -> FloatArray:
        uraw = np.atleast_1d(law(inp[1:], inp[0]))
        return np.concatenate([np.clip(uraw, lo, hi), uraw])

    return controller._nlsys(None, output, plant, name, raw)
