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

import numpy as np

from .._dispatch import define_model
from .._validate import check_finite_scalar

__all__ = ["Controller", "ErrorFeedback", "check_dt", "check_limits"]


@functools.cache
def _param_names(cls):
    # fields are per class; listing them on every call was a third of replace()'s cost
    return tuple(f.name for f in dataclasses.fields(cls) if f.init and f.name != "name")


def check_limits(u_min, u_max):
    """Check actuator limits: real numbers (infinite allowed) with ``u_min < u_max``."""
    for k, v in (("u_min", u_min), ("u_max", u_max)):
        if type(v) is float:  # the common case, without the slow abstract-class checks
            if v != v:
                raise ValueError(f"{k} must be a real number (infinite allowed), got {v!r}")
            continue
        if isinstance(v, bool) or not isinstance(v, int | float | np.floating | np.integer) \
                or math.isnan(v):
            raise ValueError(f"{k} must be a real number (infinite allowed), got {v!r}")
    if not u_min < u_max:
        raise ValueError(f"u_min must be < u_max, got u_min={u_min!r}, u_max={u_max!r}")


def check_dt(dt):
    """Check a sample time: ``None`` (continuous) or a finite number > 0."""
    if dt is not None:
        check_finite_scalar("dt", dt, low=0.0, low_open=True)


class Controller(abc.ABC):
    """Base class of all controllers (see the module docstring for the protocol)."""

    #: whether the controller reads the error ``r - y`` of a single measured output (its
    #: responses then carry ``e``, and python-control's SISO conventions apply)
    error_feedback = False
    dt = None
    nstates = 0
    state_labels = ()
    name = "controller"

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # an abstract base or a re-parametrisation (LeakyPI of LeakyPID) defines nothing
        define_model(cls, "controller", "output", ("derivative", "sample"))

    @abc.abstractmethod
    def record(self, plant):
        """This controller's parameters for ``plant`` as its ``Record``.

        Raises ``ValueError`` when the plant's sizes do not fit the controller.
        """

    @abc.abstractmethod
    def linear_gain(self, plant, Cx=None):
        """The gain ``G`` of the controller's linear part at slope 1: ``u ~ -G x`` near the
        origin of the plant state (used for default step sizes and horizons); ``Cx`` is the
        plant's output Jacobian where the controller reads the output."""

    @property
    def sampled(self):
        """True for a sampled (discrete-time, zero-order hold) controller."""
        return self.dt is not None

    @property
    def slope_bounds(self):
        """The range ``(low, high)`` of the leak's slope over a run (a fixed leak: ``(a, 1)``)."""
        return (self.negative_slope, 1.0)

    @property
    def initial_state(self):
        """Default controller state (zeros)."""
        return np.zeros(self.nstates)

    def slow_rates(self):
        """Rates (1/s) of the controller's own slow modes (integral action)."""
        return []

    def fast_rates(self, Ju, Cx):
        """Rates (1/s) of the controller's own fast dynamics beyond the loop's Jacobian (a
        derivative filter), given the plant's input and output Jacobians."""
        return []

    @property
    def params(self):
        """The controller's parameters as a dict (the names ``simulate(params=...)`` accepts)."""
        return {k: getattr(self, k) for k in _param_names(type(self))}

    def replace(self, **changes):
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

    @property
    def has_integrator(self):
        """Whether the controller carries an integral state (``ki != 0``)."""
        return self.ki != 0.0

    def check_siso(self, plant):
        """Refuse a plant that is not single-input single-output, by name."""
        if plant.ninputs != 1 or plant.noutputs != 1:
            raise ValueError(
                f"{type(self).__name__} needs a single-input single-output plant, got "
                f"{plant.ninputs} input(s) and {plant.noutputs} output(s); use "
                "LeakyStateFeedback for multi-input plants")

    def linear_gain(self, plant, Cx=None):
        """``kp C``: the loop gain at slope 1 (``Cx``, the plant's output Jacobian, defaults
        to its ``C`` or the first state)."""
        if Cx is None:
            Cx = getattr(plant, "C", np.eye(1, plant.nstates))
        return self.kp * np.asarray(Cx, dtype=float)

    def slow_rates(self):
        """Rates of the controller's slow modes: the integral action ``|ki / kp|``."""
        return [abs(self.ki / self.kp)] if self.has_integrator and self.kp != 0 else []


def static_feedback_nlsys(law, n, m, controller, name=None):
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

    Returns
    -------
    control.NonlinearIOSystem
        Inputs ``r`` then ``x[i]``; outputs ``u`` (saturated) then ``u_raw`` per channel.
    """
    import control as ct

    lo, hi = controller.u_min, controller.u_max

    def output(t, x, inp, params):
        uraw = np.atleast_1d(law(inp[1:], inp[0]))
        return np.concatenate([np.clip(uraw, lo, hi), uraw])

    names = [f"u[{i}]" for i in range(m)] if m > 1 else ["u"]
    raws = [f"u_raw[{i}]" for i in range(m)] if m > 1 else ["u_raw"]
    return ct.nlsys(None, output, inputs=["r"] + [f"x[{i}]" for i in range(n)],
                    outputs=names + raws, dt=0 if controller.dt is None else controller.dt,
                    name=name or controller.name)
