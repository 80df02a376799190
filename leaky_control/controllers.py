r"""Leaky-ReLU-shaped feedback controllers.

Each controller is a frozen dataclass. ``negative_slope`` ``a`` sets how the controller reacts
to a negative error (the plant above its target): ``a = 0`` is the ReLU controller that applies
no proportional force then (it *coasts*), ``a = 1`` is the linear controller, ``0 < a < 1`` is
leaky. Controllers accept ``0 <= a <= 1``: that is the range where the law is slope-restricted
in ``[a, 1]``, the fact the stability and Lipschitz analyses build on.

PID family, with error ``e = r - y``, integral state ``z`` and filtered derivative ``e_d``:

- ``shape="error"`` (default): ``u = kp phi_a(e) + ki z + kd e_d``;
- ``shape="output"`` (the neuron shape, an activation of a weighted sum):
  ``u = phi_a(kp e + ki z + kd e_d)``.

Then ``u`` is saturated to ``[u_min, u_max]``, with back-calculation anti-windup
``z' = e + (kaw / ki)(sat(u) - u)``. The derivative is filtered, ``e_d = s/(tau_d s + 1) e``.
With a sample time ``dt`` the law runs at ``t0 + k dt`` and its output is held in between
(zero-order hold); the integrator advances by forward Euler and the derivative filter by
backward Euler.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass, field

import control as ct
import numpy as np

from ._validate import as_finite_array, check_finite_scalar, check_slope
from .activations import leaky_relu
from .integrators import models as _m

__all__ = ["AdaptivePReLU", "LeakyP", "LeakyPD", "LeakyPI", "LeakyPID", "LeakyStateFeedback"]

_SHAPES = {"error": _m.SHAPE_ERROR, "output": _m.SHAPE_OUTPUT}


def _check_limits(u_min, u_max):
    for k, v in (("u_min", u_min), ("u_max", u_max)):
        if isinstance(v, bool) or not isinstance(v, int | float | np.floating | np.integer) or math.isnan(v):
            raise ValueError(f"{k} must be a real number (infinite allowed), got {v!r}")
    if not u_min < u_max:
        raise ValueError(f"u_min must be < u_max, got u_min={u_min!r}, u_max={u_max!r}")


def _check_dt(dt):
    if dt is not None:
        check_finite_scalar("dt", dt, low=0.0, low_open=True)


@functools.cache
def _param_names(cls):
    # fields are per class; listing them on every call was a third of replace()'s cost
    return tuple(f.name for f in dataclasses.fields(cls) if f.init and f.name != "name")


class _Controller:
    """Shared behaviour: parameter dict, validated replace, name."""

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
                f"allowed: {sorted(self.params)}"
            )
        # a copy with the changed fields, then the constructor's checks and normalisation
        # (__post_init__ is idempotent); dataclasses.replace re-runs __init__ over every field,
        # which was half the per-point cost of a sweep
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        new.__dict__.update(changes)
        new.__post_init__()
        return new

    @property
    def sampled(self):
        """True for a sampled (discrete-time, zero-order hold) controller."""
        return self.dt is not None


@dataclass(frozen=True)
class LeakyPID(_Controller):
    """Leaky-ReLU-shaped PID controller (see the module docstring for the law).

    Parameters
    ----------
    kp, ki, kd : float
        Proportional, integral and derivative gains (finite).
    negative_slope : float, default 0.01
        Leak ``a`` in ``[0, 1]``: 0 is ReLU (coasts on overshoot), 1 is linear.
    shape : {"error", "output"}
        Where the leaky ReLU acts: on the proportional error term, or on the whole sum.
    u_min, u_max : float
        Actuator limits of the controller output (infinite by default).
    kaw : float, optional
        Back-calculation anti-windup gain ``1/T_t`` (>= 0); default ``1/T_t`` with
        ``T_t = T_i = kp/ki`` for PI and ``T_t = sqrt(T_i T_d)`` with a derivative term
        (Astrom & Hagglund's rule), or 1 when ``kp = 0``. Acts only while saturated.
    tau_d : float, optional
        Derivative filter time constant (> 0); default ``kd / (10 kp)`` (filter N = 10).
    dt : float, optional
        Sample time (> 0) for a sampled controller with zero-order hold; ``None`` is continuous.
    name : str
    """

    kp: float = 1.0
    ki: float = 0.0
    kd: float = 0.0
    negative_slope: float = 0.01
    shape: str = "error"
    u_min: float = -math.inf
    u_max: float = math.inf
    kaw: float | None = None
    tau_d: float | None = None
    dt: float | None = None
    name: str = "controller"

    def __post_init__(self):
        for k in ("kp", "ki", "kd"):
            check_finite_scalar(k, getattr(self, k))
        check_slope(self.negative_slope)
        if self.shape not in _SHAPES:
            raise ValueError(f"shape must be 'error' or 'output', got {self.shape!r}")
        _check_limits(self.u_min, self.u_max)
        if self.kaw is not None:
            check_finite_scalar("kaw", self.kaw, low=0.0)
        if self.tau_d is not None:
            check_finite_scalar("tau_d", self.tau_d, low=0.0, low_open=True)
        elif self.kd != 0.0 and self.kp == 0.0:
            raise ValueError("tau_d (derivative filter time constant > 0) is required when kp = 0 and kd != 0")
        _check_dt(self.dt)

    @property
    def has_integrator(self):
        """Whether the controller carries an integral state (``ki != 0``)."""
        return self.ki != 0.0

    @property
    def has_derivative(self):
        """Whether the controller carries a derivative-filter state (``kd != 0``)."""
        return self.kd != 0.0

    @property
    def effective_tau_d(self):
        """The derivative filter time constant in use."""
        if self.tau_d is not None:
            return float(self.tau_d)
        return abs(self.kd / (10.0 * self.kp)) if self.kd != 0.0 else 1.0

    @property
    def effective_kaw(self):
        """The anti-windup gain in use."""
        if self.kaw is not None:
            return float(self.kaw)
        if self.kp == 0.0 or self.ki == 0.0:
            return 1.0
        ti = abs(self.kp / self.ki)
        tt = math.sqrt(ti * abs(self.kd / self.kp)) if self.kd != 0.0 else ti
        return 1.0 / tt

    @property
    def nstates(self):
        """Number of controller states (integrator, derivative filter)."""
        return int(self.has_integrator) + int(self.has_derivative)

    @property
    def state_labels(self):
        return (["z"] if self.has_integrator else []) + (["xf"] if self.has_derivative else [])

    @property
    def lipschitz_constant(self):
        """Lipschitz constant of the static map ``e -> u`` from the error (integral and derivative
        states frozen): ``|kp| max(1, |a|) = |kp|`` for ``a`` in ``[0, 1]``; the slope of the map
        lies in ``[a |kp|, |kp|]`` (sector ``[a kp, kp]`` for ``kp >= 0``)."""
        return abs(self.kp)

    def law(self, e, z=0.0, ed=0.0):
        """The control law before saturation, vectorised in numpy.

        Parameters
        ----------
        e, z, ed : array_like
            Error, integral state and filtered derivative.

        Returns
        -------
        numpy.ndarray
        """
        e, z, ed = (np.asarray(v, dtype=float) for v in (e, z, ed))
        a = self.negative_slope
        if self.shape == "output":
            return leaky_relu(self.kp * e + self.ki * z + self.kd * ed, a)
        return self.kp * leaky_relu(e, a) + self.ki * z + self.kd * ed

    def _pack(self, plant):
        if plant.ninputs != 1 or plant.noutputs != 1:
            raise ValueError(
                f"{type(self).__name__} needs a single-input single-output plant, got "
                f"{plant.ninputs} input(s) and {plant.noutputs} output(s); use LeakyStateFeedback "
                "for multi-input plants"
            )
        iz = 0 if self.has_integrator else -1
        ifl = (1 if self.has_integrator else 0) if self.has_derivative else -1
        cint = np.array([_m.CTRL_PID, _SHAPES[self.shape], iz, ifl, int(self.sampled)], dtype=np.int64)
        cpar = np.array([self.kp, self.ki, self.kd, self.negative_slope, self.u_min, self.u_max,
                         self.effective_kaw, self.effective_tau_d, self.dt or 0.0])
        return cint, cpar

    def to_nlsys(self, name=None):
        """The controller as a :class:`control.NonlinearIOSystem`.

        Inputs ``r`` and ``y``; outputs ``u`` (saturated) and ``u_raw``; states ``z`` and/or
        ``xf``. A sampled controller becomes a discrete-time system with ``dt``; python-control
        cannot interconnect it with a continuous plant, so simulate it with
        :func:`leaky_control.simulate`.
        """
        iz = 0 if self.has_integrator else None
        ifl = (1 if self.has_integrator else 0) if self.has_derivative else None
        tau, kaw, ki, dt = self.effective_tau_d, self.effective_kaw, self.ki, self.dt
        lo, hi = self.u_min, self.u_max

        def terms(x, e):
            z = x[iz] if iz is not None else 0.0
            ed = (e - x[ifl]) / tau if ifl is not None else 0.0
            return z, ed

        def output(t, x, inp, params):
            e = inp[0] - inp[1]
            if dt is not None and ifl is not None:
                # the discrete filter refreshes with the new error before the law is evaluated
                x = np.array(x, dtype=float)
                x[ifl] += dt / (tau + dt) * (e - x[ifl])
            uraw = float(self.law(e, *terms(x, e)))
            return np.array([min(max(uraw, lo), hi), uraw])

        def update(t, x, inp, params):
            e = inp[0] - inp[1]
            u, uraw = output(t, x, inp, params)
            aw = kaw / ki * (u - uraw) if ki != 0.0 else 0.0
            if dt is None:
                dx = np.zeros(self.nstates)
                if iz is not None:
                    dx[iz] = e + aw
                if ifl is not None:
                    dx[ifl] = (e - x[ifl]) / tau
                return dx
            xn = np.array(x, dtype=float)
            if ifl is not None:
                xn[ifl] += dt / (tau + dt) * (e - xn[ifl])
            if iz is not None:
                xn[iz] += dt * (e + aw)
            return xn

        return ct.nlsys(update, output, states=self.state_labels, inputs=["r", "y"],
                        outputs=["u", "u_raw"], dt=0 if dt is None else dt, name=name or self.name)


def _pid_subclass(cls_name, doc, fixed):
    """LeakyP, LeakyPI, LeakyPD: LeakyPID with some gains fixed at zero (not in the signature)."""
    fields = [(k, float, field(default=0.0, init=False)) for k in fixed]
    cls = dataclasses.make_dataclass(cls_name, fields, bases=(LeakyPID,), frozen=True)
    cls.__doc__ = doc
    cls.__module__ = __name__
    return cls


LeakyP = _pid_subclass(
    "LeakyP",
    """Leaky-ReLU proportional controller ``u = sat(kp phi_a(r - y))``.

    Parameters
    ----------
    kp : float
        Proportional gain.
    negative_slope : float, default 0.01
        Leak ``a`` in ``[0, 1]``.
    shape, u_min, u_max, dt, name
        As in :class:`LeakyPID`.
    """,
    ("ki", "kd"),
)
LeakyPI = _pid_subclass(
    "LeakyPI",
    """Leaky-ReLU PI controller ``u = sat(kp phi_a(e) + ki z)`` (or the ``"output"`` shape).

    Parameters
    ----------
    kp, ki : float
        Gains.
    negative_slope : float, default 0.01
        Leak ``a`` in ``[0, 1]``.
    shape, u_min, u_max, kaw, dt, name
        As in :class:`LeakyPID`.
    """,
    ("kd",),
)
LeakyPD = _pid_subclass(
    "LeakyPD",
    """Leaky-ReLU PD controller ``u = sat(kp phi_a(e) + kd e_d)`` with a filtered derivative.

    Parameters
    ----------
    kp, kd : float
        Gains.
    negative_slope : float, default 0.01
        Leak ``a`` in ``[0, 1]``.
    shape, u_min, u_max, tau_d, dt, name
        As in :class:`LeakyPID`.
    """,
    ("ki",),
)


def static_feedback_nlsys(law, n, m, controller, name=None):
    """A static state-feedback law as a :class:`control.NonlinearIOSystem`.

    Parameters
    ----------
    law : callable
        ``law(x, r) -> u_raw`` (m values) for plant states ``x`` and reference ``r``.
    n, m : int
        Numbers of plant states and of control inputs.
    controller : object
        Supplies ``u_min``, ``u_max``, ``dt`` and the default ``name``.
    name : str, optional

    Returns
    -------
    control.NonlinearIOSystem
        Inputs ``r`` then ``x[i]``; outputs ``u`` (saturated) then ``u_raw`` per channel.
    """
    lo, hi = controller.u_min, controller.u_max

    def output(t, x, inp, params):
        uraw = np.atleast_1d(law(inp[1:], inp[0]))
        return np.concatenate([np.clip(uraw, lo, hi), uraw])

    names = [f"u[{i}]" for i in range(m)] if m > 1 else ["u"]
    raws = [f"u_raw[{i}]" for i in range(m)] if m > 1 else ["u_raw"]
    return ct.nlsys(None, output, inputs=["r"] + [f"x[{i}]" for i in range(n)],
                    outputs=names + raws, dt=0 if controller.dt is None else controller.dt,
                    name=name or controller.name)


@dataclass(frozen=True, eq=False)
class LeakyStateFeedback(_Controller):
    """Leaky-ReLU state feedback ``u_i = sat(phi_a(kr_i r - (K x)_i))``, one leak per channel.

    Parameters
    ----------
    K : array_like
        Gain matrix (m, n): m control inputs, n plant states.
    negative_slope : float, default 0.01
        Leak ``a`` in ``[0, 1]``.
    kr : array_like or "auto", default "auto"
        Reference feedforward gains (m,). ``"auto"`` gives unit DC gain of the linear
        (``a = 1``) loop for a single-input single-output linear plant and zero otherwise.
    u_min, u_max : float
        Actuator limits applied to every channel.
    dt : float, optional
        Sample time for a sampled controller (zero-order hold).
    name : str
    """

    K: np.ndarray = None
    negative_slope: float = 0.01
    kr: object = "auto"
    u_min: float = -math.inf
    u_max: float = math.inf
    dt: float | None = None
    name: str = "controller"

    def __post_init__(self):
        if self.K is None:
            raise ValueError("K (state-feedback gain matrix, shape (m, n)) is required")
        K = as_finite_array("K", np.atleast_2d(self.K), ndim=2)
        object.__setattr__(self, "K", K)
        check_slope(self.negative_slope)
        if not (isinstance(self.kr, str) and self.kr == "auto"):
            kr = as_finite_array("kr", np.atleast_1d(self.kr), ndim=1)
            if kr.size != K.shape[0]:
                raise ValueError(f"kr must have {K.shape[0]} entries (one per input), got {kr.size}")
            object.__setattr__(self, "kr", kr)
        _check_limits(self.u_min, self.u_max)
        _check_dt(self.dt)

    nstates = 0
    state_labels = ()

    @property
    def lipschitz_constant(self):
        """Lipschitz constant of ``x -> u`` in the 2-norm: ``||K||_2`` for ``a`` in ``[0, 1]``
        (each channel's slope lies in ``[a, 1]``, so the Jacobian is ``diag(s) K`` with
        ``|s_i| <= 1``; the bound is attained with every channel on its slope-1 side)."""
        return float(np.linalg.norm(self.K, 2))

    def feedforward(self, plant):
        """The reference gains in use with ``plant``."""
        if not isinstance(self.kr, str):
            return self.kr
        m = self.K.shape[0]
        if m == 1 and plant.noutputs == 1 and hasattr(plant, "A") and plant.ninputs == 1:
            Acl = plant.A - plant.B @ self.K
            try:
                dc = float(-(plant.C @ np.linalg.solve(Acl, plant.B))[0, 0])
            except np.linalg.LinAlgError:
                dc = 0.0
            if dc != 0.0 and math.isfinite(dc):
                return np.array([1.0 / dc])
        return np.zeros(m)

    def _pack(self, plant):
        m, n = self.K.shape
        if n != plant.nstates or m != plant.ninputs:
            raise ValueError(
                f"K must have shape ({plant.ninputs}, {plant.nstates}) for this plant "
                f"(inputs, states), got {self.K.shape}"
            )
        cint = np.array([_m.CTRL_STATEFB, n, m, int(self.sampled)], dtype=np.int64)
        cpar = np.concatenate([[self.negative_slope, self.u_min, self.u_max, self.dt or 0.0],
                               self.K.ravel(), self.feedforward(plant)])
        return cint, cpar

    def to_nlsys(self, plant=None, name=None):
        """The controller as a static :class:`control.NonlinearIOSystem` with inputs ``r`` and
        the plant states, outputs ``u`` (saturated) and ``u_raw`` per channel.

        Parameters
        ----------
        plant : Plant, optional
            Needed to resolve ``kr="auto"``.
        name : str, optional
        """
        m, n = self.K.shape
        kr = self.feedforward(plant) if plant is not None else (
            np.zeros(m) if isinstance(self.kr, str) else self.kr)
        K, a = self.K, self.negative_slope
        return static_feedback_nlsys(lambda x, r: leaky_relu(kr * r - K @ x, a), n, m, self,
                                     name)


@dataclass(frozen=True)
class AdaptivePReLU(_Controller):
    r"""Leaky PI whose slope ``a`` is learned online: the control twin of PReLU.

    ``u = sat(kp phi_a(e) + ki z)``, ``e = r - y``, with the integrator and anti-windup of
    :class:`LeakyPI` and the slope ``a`` a controller state moved by a gradient (MIT-rule) law
    on the instantaneous tracking cost ``J = e^2 / 2``, projected onto ``[0, 1]``:

    .. math::

        \dot a = \operatorname{Proj}_{[0,1]}\bigl(\gamma\, s\, k_p\, e \min(0, e)\bigr)
        \quad\text{while } u \text{ is not saturated}, \qquad \dot a = 0 \text{ otherwise.}

    **Derivation.** Gradient descent ``a' = -gamma dJ/da = -gamma e de/da = gamma e dy/da``.
    The MIT rule replaces the plant's output sensitivity ``dy/da`` by the sensitivity of the
    input, ``du/da = kp min(0, e)`` (exactly PReLU's weight gradient ``dphi/da = min(0, z)``),
    times the sign ``s`` of the plant's input gain; the gain's magnitude is absorbed in
    ``gamma``. ``Proj`` sets ``a' = 0`` when ``a`` is on a bound and the law points outward.

    **Assumptions and consequences** (state them before you trust the law):

    - the plant's output moves with the sign ``s`` of its input gain (``dy/du`` has a known,
      constant sign) and adaptation is slow against the loop's dynamics (small ``gamma``):
      only then is ``s du/da`` a fair stand-in for ``dy/da``. As for every MIT rule there is no
      general stability guarantee for large ``gamma``;
    - ``e min(0, e) = e^2`` for ``e < 0`` and 0 otherwise, so with ``s kp > 0`` the slope
      *never decreases*: ``a(t) = min(1, a0 + gamma s kp * integral of min(0, e)^2 over the
      unsaturated time)``. It records how much overshoot the loop has had; nothing forgets it
      (no leakage term), and ``a = 1`` makes it the linear PI. ``s kp < 0`` drives it down to 0;
    - like a ReLU neuron, the rule gets no gradient while ``e >= 0`` (``a`` does not act there)
      and none while the controller saturates (the applied input does not depend on ``a``);
    - only the controller's own limits ``u_min``/``u_max`` are seen; a plant that clips
      further (the cruise throttle) is outside the sensitivity model;
    - ``a(t)`` stays in ``[0, 1]``, so at every instant ``e -> kp phi_a(e)`` lies in the sector
      ``[0, kp]``: results for time-varying nonlinearities in that sector (circle criterion)
      cover this controller, results that need a constant slope (Popov) do not.

    Parameters
    ----------
    kp : float, default 1.0
        Proportional gain (finite).
    ki : float, default 0.0
        Integral gain (finite); 0 removes the integrator state.
    gamma : float, default 1.0
        Adaptation gain (>= 0, finite); 0 freezes ``a`` at ``a0`` (then this is :class:`LeakyPI`).
    a0 : float, default 0.0
        Initial slope in ``[0, 1]``; the default starts as a ReLU controller.
    plant_gain_sign : {1, -1}, default 1
        Sign ``s`` of the plant's input gain (``+1``: more input raises the output).
    u_min, u_max : float
        Controller output limits (infinite by default).
    kaw : float, optional
        Back-calculation anti-windup gain (>= 0); default ``ki / kp`` as for :class:`LeakyPI`.
    dt : None
        Only continuous time is implemented; any other value raises ``ValueError``.
    name : str

    Notes
    -----
    States: ``z`` (when ``ki != 0``) then ``a``; :func:`leaky_control.simulate` starts ``a`` at
    ``a0`` unless ``controller_state`` says otherwise. With fixed-step RK4 the state may pass a
    bound by at most one step's increment before the projection holds it; the law always uses
    ``clip(a, 0, 1)``.
    """

    kp: float = 1.0
    ki: float = 0.0
    gamma: float = 1.0
    a0: float = 0.0
    plant_gain_sign: int = 1
    u_min: float = -math.inf
    u_max: float = math.inf
    kaw: float | None = None
    dt: float | None = None
    name: str = "controller"

    def __post_init__(self):
        for k in ("kp", "ki"):
            check_finite_scalar(k, getattr(self, k))
        check_finite_scalar("gamma", self.gamma, low=0.0)
        check_slope(self.a0, name="a0")
        if isinstance(self.plant_gain_sign, bool) or self.plant_gain_sign not in (1, -1):
            raise ValueError(f"plant_gain_sign must be 1 or -1, got {self.plant_gain_sign!r}")
        _check_limits(self.u_min, self.u_max)
        if self.kaw is not None:
            check_finite_scalar("kaw", self.kaw, low=0.0)
        if self.dt is not None:
            raise ValueError(
                f"AdaptivePReLU is continuous-time only: dt must be None, got {self.dt!r}")

    has_derivative = False

    @property
    def has_integrator(self):
        """Whether the controller carries an integral state (``ki != 0``)."""
        return self.ki != 0.0

    @property
    def negative_slope(self):
        """The initial slope ``a0`` (the slope the law starts from)."""
        return self.a0

    #: the range the slope can take, for step-size and analysis choices
    slope_bounds = (0.0, 1.0)

    @property
    def effective_kaw(self):
        """The anti-windup gain in use."""
        if self.kaw is not None:
            return float(self.kaw)
        return 1.0 if self.kp == 0.0 or self.ki == 0.0 else abs(self.ki / self.kp)

    @property
    def nstates(self):
        """Number of controller states: the integrator (if ``ki != 0``) and the slope."""
        return int(self.has_integrator) + 1

    @property
    def state_labels(self):
        return (["z"] if self.has_integrator else []) + ["a"]

    @property
    def initial_state(self):
        """Default controller state: ``z = 0`` and ``a = a0``."""
        return np.array(([0.0] if self.has_integrator else []) + [self.a0])

    @property
    def lipschitz_constant(self):
        """``|kp|``: the slope of ``e -> u`` lies in ``[a |kp|, |kp|]`` for any ``a`` in [0, 1]."""
        return abs(self.kp)

    def slope_rate(self, e, a, saturated=False):
        """The adaptation law ``a'`` in numpy (projection included).

        Parameters
        ----------
        e : array_like
            Tracking error ``r - y``.
        a : array_like
            Current slope.
        saturated : array_like of bool, default False
            Whether the controller output is saturated (no adaptation then).

        Returns
        -------
        numpy.ndarray
        """
        e, a = np.asarray(e, dtype=float), np.asarray(a, dtype=float)
        rate = self.gamma * self.plant_gain_sign * self.kp * e * np.minimum(0.0, e)
        outward = ((a >= 1.0) & (rate > 0.0)) | ((a <= 0.0) & (rate < 0.0))
        return np.where(outward | np.asarray(saturated, dtype=bool), 0.0, rate)

    def _pack(self, plant):
        if plant.ninputs != 1 or plant.noutputs != 1:
            raise ValueError(
                f"AdaptivePReLU needs a single-input single-output plant, got {plant.ninputs} "
                f"input(s) and {plant.noutputs} output(s)")
        iz = 0 if self.has_integrator else -1
        ia = 1 if self.has_integrator else 0
        cint = np.array([_m.CTRL_ADAPTIVE, iz, ia], dtype=np.int64)
        cpar = np.array([self.kp, self.ki, self.gamma, float(self.plant_gain_sign),
                         self.u_min, self.u_max, self.effective_kaw])
        return cint, cpar

    def to_nlsys(self, name=None):
        """The controller as a continuous :class:`control.NonlinearIOSystem`.

        Inputs ``r`` and ``y``; outputs ``u`` (saturated) and ``u_raw``; states ``z`` (when
        ``ki != 0``) and ``a``. Its initial state must be given explicitly (``a0`` is not
        python-control's default of 0); see :attr:`initial_state`.

        Parameters
        ----------
        name : str, optional
        """
        has_z = self.has_integrator
        ia = 1 if has_z else 0
        kp, ki, kaw, lo, hi = self.kp, self.ki, self.effective_kaw, self.u_min, self.u_max

        def output(t, x, inp, params):
            e = inp[0] - inp[1]
            a = min(max(x[ia], 0.0), 1.0)
            uraw = float(kp * leaky_relu(e, a) + (ki * x[0] if has_z else 0.0))
            return np.array([min(max(uraw, lo), hi), uraw])

        def update(t, x, inp, params):
            e = inp[0] - inp[1]
            u, uraw = output(t, x, inp, params)
            dx = np.zeros(self.nstates)
            if has_z:
                dx[0] = e + (kaw / ki * (u - uraw) if ki != 0.0 else 0.0)
            dx[ia] = float(self.slope_rate(e, x[ia], saturated=u != uraw))
            return dx

        return ct.nlsys(update, output, states=self.state_labels, inputs=["r", "y"],
                        outputs=["u", "u_raw"], dt=0, name=name or self.name)
