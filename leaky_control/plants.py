"""Plant models: linear systems from python-control, built-in physical plants, user numba dynamics.

Every plant describes itself twice: as integer codes plus float64 arrays for the cached numba
kernels (``_pack``), and as a :class:`control.NonlinearIOSystem` (``to_nlsys``) written in plain
numpy, which is the independent reference the kernels are tested against.

Inputs are the control inputs ``u`` followed by disturbances ``d``; outputs are measured
signals. A plant in a loop with a nonlinear controller must have no direct feedthrough from
``u`` to ``y`` (an algebraic loop); disturbances may feed through.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass, field

import control as ct
import numpy as np

from ._validate import as_finite_array, check_finite_scalar
from .integrators import models as _m

__all__ = [
    "CruiseControl",
    "DCMotor",
    "FirstOrderLag",
    "LinearPlant",
    "MassSpringDamper",
    "NumbaPlant",
    "Pendulum",
    "Plant",
    "as_plant",
    "rhs",
]


@functools.cache
def _field_names(cls):
    # listing dataclass fields on every call cost more than reading the values
    return tuple(f.name for f in dataclasses.fields(cls) if f.name != "name")


class Plant:
    """Base class of all plants (abstract).

    Attributes
    ----------
    nstates, ninputs, ndisturbances, noutputs : int
    state_labels, input_labels, disturbance_labels, output_labels : list of str
    """

    nstates: int
    ninputs: int
    ndisturbances: int
    noutputs: int

    def _pack(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def actuator_limits(self):
        """Actuator limits ``(lower, upper)`` arrays that the plant itself applies to ``u``."""
        return np.full(self.ninputs, -np.inf), np.full(self.ninputs, np.inf)

    @property
    def params(self):
        """Physical parameters as a dict (the names :func:`simulate`'s ``params=`` accepts)."""
        return {k: getattr(self, k) for k in _field_names(type(self))}

    def replace(self, **changes):
        """A copy with some parameters changed (validated like the constructor)."""
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise ValueError(
                f"unknown parameter(s) {sorted(unknown)} for {type(self).__name__}; "
                f"allowed: {sorted(self.params)}"
            )
        return dataclasses.replace(self, **changes)

    def _labels(self):
        return self.state_labels, self.input_labels + self.disturbance_labels, self.output_labels


def _limits(name, limits, m):
    if limits is None:
        return np.full(m, -np.inf), np.full(m, np.inf)
    lo, hi = limits
    lo = np.broadcast_to(np.asarray(lo, dtype=float), (m,)).copy()
    hi = np.broadcast_to(np.asarray(hi, dtype=float), (m,)).copy()
    if np.isnan(lo).any() or np.isnan(hi).any() or np.any(lo >= hi):
        raise ValueError(f"{name} must be (lower, upper) with lower < upper and no NaN, got {limits!r}")
    return lo, hi


@dataclass(frozen=True, eq=False)
class LinearPlant(Plant):
    """Linear plant ``x' = A x + B sat(u) + E d``, ``y = C x + D u + F d``.

    Parameters
    ----------
    A, B, C : array_like
        State-space matrices, shapes (n, n), (n, m), (p, n).
    D : array_like, optional
        Feedthrough (p, m); must be zero to close a loop with a nonlinear controller.
    E, F : array_like, optional
        Disturbance matrices (n, q) and (p, q); default ``E = B``, ``F = D`` (the disturbance
        adds to the control input).
    input_limits : (lower, upper), optional
        Actuator saturation the plant applies to ``u`` (scalars or per input).
    name : str, optional
    """

    A: np.ndarray
    B: np.ndarray
    C: np.ndarray
    D: np.ndarray | None = None
    E: np.ndarray | None = None
    F: np.ndarray | None = None
    input_limits: tuple | None = None
    name: str | None = None

    def __post_init__(self):
        A = as_finite_array("A", self.A, ndim=2)
        n = A.shape[0]
        if A.shape != (n, n):
            raise ValueError(f"A must be square, got shape {A.shape}")
        B = as_finite_array("B", np.atleast_2d(self.B) if np.ndim(self.B) < 2 else self.B, ndim=2)
        if B.shape[0] != n:
            raise ValueError(f"B must have {n} rows (the number of states), got shape {B.shape}")
        m = B.shape[1]
        C = as_finite_array("C", np.atleast_2d(self.C), ndim=2)
        if C.shape[1] != n:
            raise ValueError(f"C must have {n} columns (the number of states), got shape {C.shape}")
        p = C.shape[0]
        D = np.zeros((p, m)) if self.D is None else as_finite_array("D", np.atleast_2d(self.D))
        if D.shape != (p, m):
            raise ValueError(f"D must have shape ({p}, {m}), got {D.shape}")
        E = B.copy() if self.E is None else as_finite_array("E", self.E, ndim=2)
        if E.shape[0] != n:
            raise ValueError(f"E must have {n} rows, got shape {E.shape}")
        q = E.shape[1]
        F = (D.copy() if self.E is None else np.zeros((p, q))) if self.F is None else as_finite_array(
            "F", np.atleast_2d(self.F)
        )
        if F.shape != (p, q):
            raise ValueError(f"F must have shape ({p}, {q}), got {F.shape}")
        lo, hi = _limits("input_limits", self.input_limits, m)
        for k, v in dict(A=A, B=B, C=C, D=D, E=E, F=F).items():
            object.__setattr__(self, k, v)
        object.__setattr__(self, "_lo", lo)
        object.__setattr__(self, "_hi", hi)

    nstates = property(lambda self: self.A.shape[0])
    ninputs = property(lambda self: self.B.shape[1])
    ndisturbances = property(lambda self: self.E.shape[1])
    noutputs = property(lambda self: self.C.shape[0])
    state_labels = property(lambda self: [f"x[{i}]" for i in range(self.nstates)])
    input_labels = property(
        lambda self: ["u"] if self.ninputs == 1 else [f"u[{i}]" for i in range(self.ninputs)]
    )
    disturbance_labels = property(
        lambda self: ["d"] if self.ndisturbances == 1 else [f"d[{i}]" for i in range(self.ndisturbances)]
    )
    output_labels = property(
        lambda self: ["y"] if self.noutputs == 1 else [f"y[{i}]" for i in range(self.noutputs)]
    )

    def actuator_limits(self):
        return self._lo.copy(), self._hi.copy()

    @property
    def params(self):
        return {k: getattr(self, k) for k in ("A", "B", "C", "D", "E", "F")}

    def _pack(self):
        n, m, q, p = self.nstates, self.ninputs, self.ndisturbances, self.noutputs
        pint = np.array([_m.PLANT_LINEAR, n, m, q, p], dtype=np.int64)
        ppar = np.concatenate(
            [a.ravel() for a in (self.A, self.B, self.C, self.E, self.F, self._lo, self._hi)]
        )
        return pint, ppar, None

    def to_ss(self):
        """The plant as a :class:`control.StateSpace` with inputs ``[u, d]`` (saturation ignored)."""
        return ct.ss(self.A, np.hstack([self.B, self.E]), self.C, np.hstack([self.D, self.F]))

    def to_nlsys(self, name=None):
        """The plant as a :class:`control.NonlinearIOSystem` (numpy, with input saturation)."""
        m = self.ninputs
        A, B, C, D, E, F, lo, hi = self.A, self.B, self.C, self.D, self.E, self.F, self._lo, self._hi

        def upd(t, x, ud, params):
            return A @ x + B @ np.clip(ud[:m], lo, hi) + E @ ud[m:]

        def out(t, x, ud, params):
            return C @ x + D @ np.clip(ud[:m], lo, hi) + F @ ud[m:]

        states, inputs, outputs = self._labels()
        return ct.nlsys(upd, out, states=states, inputs=inputs, outputs=outputs,
                        name=name or self.name or "plant")

    def jacobian(self, x=None, u=None, d=None):
        """``(df/dx, df/du, dh/dx)`` of the linear model (exact)."""
        return self.A, self.B, self.C


def _fields_repr(obj, names):
    return ", ".join(f"{k}={getattr(obj, k)!r}" for k in names)


@dataclass(frozen=True, eq=False, init=False, repr=False)
class MassSpringDamper(LinearPlant):
    """Mass-spring-damper ``m x'' + c x' + k x = u + d``; output the position.

    Parameters
    ----------
    m, c, k : float
        Mass (> 0), damping (>= 0) and stiffness (>= 0).
    input_limits : (lower, upper), optional
        Force saturation.
    """

    def __init__(self, m=1.0, c=1.0, k=1.0, input_limits=None, name=None):
        m = check_finite_scalar("m", m, low=0.0, low_open=True)
        c = check_finite_scalar("c", c, low=0.0)
        k = check_finite_scalar("k", k, low=0.0)
        object.__setattr__(self, "_phys", dict(m=m, c=c, k=k))
        super().__init__(
            A=[[0.0, 1.0], [-k / m, -c / m]], B=[[0.0], [1.0 / m]], C=[[1.0, 0.0]],
            input_limits=input_limits, name=name or "mass-spring-damper",
        )

    state_labels = property(lambda self: ["position", "velocity"])
    output_labels = property(lambda self: ["position"])
    params = property(lambda self: dict(self._phys))

    def replace(self, **changes):
        kw = dict(self._phys, input_limits=self.input_limits, name=self.name)
        _check_known(self, changes, kw)
        return type(self)(**{**kw, **changes})

    def __repr__(self):
        return f"MassSpringDamper({', '.join(f'{k}={v!r}' for k, v in self._phys.items())})"


def _check_known(obj, changes, kw):
    unknown = set(changes) - set(kw)
    if unknown:
        raise ValueError(
            f"unknown parameter(s) {sorted(unknown)} for {type(obj).__name__}; allowed: {sorted(kw)}"
        )


@dataclass(frozen=True, eq=False, init=False, repr=False)
class DCMotor(LinearPlant):
    """Armature-controlled DC motor with voltage input and load-torque disturbance.

    ``J w' = K i - b w - d``, ``L i' = V - R i - K w`` (and ``theta' = w`` for
    ``output="angle"``). Defaults are the classic textbook motor (J = 0.01 kg m^2,
    b = 0.1 N m s, K = 0.01 N m/A, R = 1 ohm, L = 0.5 H).

    Parameters
    ----------
    J, b, K, R, L : float
        Inertia, viscous friction, motor constant, resistance, inductance (all > 0, b >= 0).
    output : {"speed", "angle"}
        Measured output.
    input_limits : (lower, upper), optional
        Voltage saturation.
    """

    def __init__(self, J=0.01, b=0.1, K=0.01, R=1.0, L=0.5, output="speed", input_limits=None,
                 name=None):
        J = check_finite_scalar("J", J, low=0.0, low_open=True)
        b = check_finite_scalar("b", b, low=0.0)
        K = check_finite_scalar("K", K, low=0.0, low_open=True)
        R = check_finite_scalar("R", R, low=0.0, low_open=True)
        L = check_finite_scalar("L", L, low=0.0, low_open=True)
        if output not in ("speed", "angle"):
            raise ValueError(f"output must be 'speed' or 'angle', got {output!r}")
        object.__setattr__(self, "_phys", dict(J=J, b=b, K=K, R=R, L=L, output=output))
        A = [[-b / J, K / J], [-K / L, -R / L]]
        B = [[0.0], [1.0 / L]]
        E = [[-1.0 / J], [0.0]]
        C = [[1.0, 0.0]]
        if output == "angle":
            A = [[0.0, 1.0, 0.0], [0.0, *A[0]], [0.0, *A[1]]]
            B = [[0.0], *B]
            E = [[0.0], *E]
            C = [[1.0, 0.0, 0.0]]
        super().__init__(A=A, B=B, C=C, E=E, input_limits=input_limits, name=name or "dc-motor")

    state_labels = property(
        lambda self: (["angle"] if self._phys["output"] == "angle" else []) + ["speed", "current"]
    )
    input_labels = property(lambda self: ["voltage"])
    disturbance_labels = property(lambda self: ["load_torque"])
    output_labels = property(lambda self: [self._phys["output"]])
    params = property(lambda self: dict(self._phys))
    replace = MassSpringDamper.replace

    def __repr__(self):
        return f"DCMotor({', '.join(f'{k}={v!r}' for k, v in self._phys.items())})"


@dataclass(frozen=True, eq=False, init=False, repr=False)
class FirstOrderLag(LinearPlant):
    """First-order lag ``tau y' = -y + gain (u + d)``.

    Parameters
    ----------
    gain : float
        Static gain (finite).
    tau : float
        Time constant (> 0).
    input_limits : (lower, upper), optional
    """

    def __init__(self, gain=1.0, tau=1.0, input_limits=None, name=None):
        gain = check_finite_scalar("gain", gain)
        tau = check_finite_scalar("tau", tau, low=0.0, low_open=True)
        object.__setattr__(self, "_phys", dict(gain=gain, tau=tau))
        super().__init__(A=[[-1.0 / tau]], B=[[gain / tau]], C=[[1.0]], input_limits=input_limits,
                         name=name or "first-order-lag")

    params = property(lambda self: dict(self._phys))
    replace = MassSpringDamper.replace

    def __repr__(self):
        return f"FirstOrderLag({', '.join(f'{k}={v!r}' for k, v in self._phys.items())})"


@dataclass(frozen=True)
class CruiseControl(Plant):
    """Vehicle speed dynamics of Astrom & Murray, *Feedback Systems*, sec. 4.1.

    The defaults reproduce the vehicle of python-control's ``examples/cruise-control.py`` in
    gear 4: ``m v' = alpha T(alpha v) u - m g Cr sgn(v) - rho Cd A |v| v / 2 - m g sin(theta)``
    with torque curve ``T(w) = max(0, Tm (1 - beta (w/omega_m - 1)^2))``, throttle ``u``
    saturated to ``[0, 1]`` and the road slope ``theta`` (rad) as the disturbance.

    With ``brake=True`` the input range is ``[-1, 1]`` and a negative input brakes with
    ``brake_force * u`` newtons, so a leaky controller can act against an overshoot where a
    ReLU one can only coast.

    Parameters
    ----------
    m, g, Cr, Cd, rho, A : float
        Mass [kg], gravity [m/s^2], rolling friction, drag coefficient, air density
        [kg/m^3], frontal area [m^2].
    alpha : tuple of float
        Gear ratio divided by wheel radius for gears 1..5.
    gear : int
        Gear in use (1..5).
    Tm, omega_m, beta : float
        Engine torque constant [N m], peak-torque engine speed [rad/s], torque roll-off.
    brake : bool
        Whether negative inputs brake.
    brake_force : float, optional
        Braking force at ``u = -1`` [N]; default the peak engine force in the chosen gear
        (``alpha[gear-1] * Tm``), so both directions have comparable authority.
    """

    m: float = 1600.0
    g: float = 9.8
    Cr: float = 0.01
    Cd: float = 0.32
    rho: float = 1.3
    A: float = 2.4
    alpha: tuple = (40.0, 25.0, 16.0, 12.0, 10.0)
    gear: int = 4
    Tm: float = 190.0
    omega_m: float = 420.0
    beta: float = 0.4
    brake: bool = False
    brake_force: float | None = None
    name: str = "vehicle"

    nstates = 1
    ninputs = 1
    ndisturbances = 1
    noutputs = 1
    state_labels = ("v",)
    input_labels = ["u"]
    disturbance_labels = ["theta"]
    output_labels = ["v"]

    def __post_init__(self):
        for k in ("m", "g", "rho", "A", "Tm", "omega_m"):
            check_finite_scalar(k, getattr(self, k), low=0.0, low_open=True)
        for k in ("Cr", "Cd", "beta"):
            check_finite_scalar(k, getattr(self, k), low=0.0)
        alpha = tuple(float(a) for a in self.alpha)
        if len(alpha) < 1 or not all(math.isfinite(a) and a > 0 for a in alpha):
            raise ValueError(f"alpha must be a non-empty sequence of positive numbers, got {self.alpha!r}")
        object.__setattr__(self, "alpha", alpha)
        if isinstance(self.gear, bool) or not isinstance(self.gear, int | np.integer) or not (
            1 <= self.gear <= len(alpha)
        ):
            raise ValueError(f"gear must be an integer in [1, {len(alpha)}], got {self.gear!r}")
        if not isinstance(self.brake, bool | np.bool_):
            raise TypeError(f"brake must be True or False, got {self.brake!r}")
        if self.brake_force is not None:
            check_finite_scalar("brake_force", self.brake_force, low=0.0, low_open=True)

    @property
    def effective_brake_force(self):
        """Braking force at ``u = -1`` in newtons (0 when ``brake`` is False)."""
        if not self.brake:
            return 0.0
        if self.brake_force is not None:
            return float(self.brake_force)
        return self.alpha[self.gear - 1] * self.Tm

    def actuator_limits(self):
        return np.array([-1.0 if self.brake else 0.0]), np.array([1.0])

    def _pack(self):
        ppar = np.array([self.m, self.g, self.Cr, self.Cd, self.rho, self.A,
                         self.alpha[self.gear - 1], self.Tm, self.omega_m, self.beta,
                         self.effective_brake_force])
        return np.array([_m.PLANT_CRUISE, 1, 1, 1, 1], dtype=np.int64), ppar, None

    def acceleration(self, v, u, theta=0.0):
        """Vehicle acceleration in numpy (the reference the kernel is tested against)."""
        v = np.asarray(v, dtype=float)
        lo, hi = self.actuator_limits()
        throttle = np.clip(u, lo[0], hi[0])
        alpha = self.alpha[self.gear - 1]
        torque = np.maximum(self.Tm * (1 - self.beta * (alpha * v / self.omega_m - 1) ** 2), 0.0)
        force = np.where(throttle >= 0, alpha * torque * throttle,
                         self.effective_brake_force * throttle)
        fd = (self.m * self.g * np.sin(theta) + self.m * self.g * self.Cr * np.copysign(1.0, v)
              + 0.5 * self.rho * self.Cd * self.A * np.abs(v) * v)
        return (force - fd) / self.m

    def equilibrium_throttle(self, v, theta=0.0):
        """Throttle holding speed ``v`` on slope ``theta`` (may lie outside the input range)."""
        alpha = self.alpha[self.gear - 1]
        torque = max(self.Tm * (1 - self.beta * (alpha * v / self.omega_m - 1) ** 2), 0.0)
        fd = (self.m * self.g * math.sin(theta) + self.m * self.g * self.Cr * math.copysign(1.0, v)
              + 0.5 * self.rho * self.Cd * self.A * abs(v) * v)
        if fd < 0 and self.brake:
            return fd / self.effective_brake_force
        return fd / (alpha * torque)

    def _model_functions(self):
        def upd(t, x, u, params):
            return np.atleast_1d(self.acceleration(x[0], u[0], u[1]))

        return upd, None

    def to_nlsys(self, name=None):
        """The plant as a :class:`control.NonlinearIOSystem` (inputs ``u``, ``theta``)."""
        upd, out = self._model_functions()
        return ct.nlsys(upd, out, states=["v"], inputs=["u", "theta"], outputs=["v"],
                        name=name or self.name)

    def jacobian(self, x, u, d):
        """Finite-difference ``(df/dx, df/du, dh/dx)`` at a point."""
        return _fd_jacobian(self, x, u, d)


@dataclass(frozen=True)
class Pendulum(Plant):
    """Damped pendulum ``m l^2 th'' = u + d - b th' - m g l sin(th)``; output the angle.

    ``th = 0`` hangs down. The model is nonlinear through ``sin``.

    Parameters
    ----------
    m, l : float
        Mass [kg] and length [m] (> 0).
    b : float
        Viscous damping [N m s] (>= 0).
    g : float
        Gravity [m/s^2] (>= 0).
    u_min, u_max : float
        Torque saturation (infinite by default).
    """

    m: float = 1.0
    l: float = 1.0  # noqa: E741 - the textbook symbol
    b: float = 0.1
    g: float = 9.81
    u_min: float = -math.inf
    u_max: float = math.inf
    name: str = "pendulum"

    nstates = 2
    ninputs = 1
    ndisturbances = 1
    noutputs = 1
    state_labels = ("theta", "omega")
    input_labels = ["u"]
    disturbance_labels = ["d"]
    output_labels = ["theta"]

    def __post_init__(self):
        check_finite_scalar("m", self.m, low=0.0, low_open=True)
        check_finite_scalar("l", self.l, low=0.0, low_open=True)
        check_finite_scalar("b", self.b, low=0.0)
        check_finite_scalar("g", self.g, low=0.0)
        _limits("(u_min, u_max)", (self.u_min, self.u_max), 1)

    def actuator_limits(self):
        return np.array([self.u_min], dtype=float), np.array([self.u_max], dtype=float)

    def _pack(self):
        ppar = np.array([self.m, self.l, self.b, self.g, self.u_min, self.u_max], dtype=float)
        return np.array([_m.PLANT_PENDULUM, 2, 1, 1, 1], dtype=np.int64), ppar, None

    def _model_functions(self):
        m, ell, b, g, lo, hi = self.m, self.l, self.b, self.g, self.u_min, self.u_max

        def upd(t, x, u, params):
            tq = np.clip(u[0], lo, hi) + u[1]
            return np.array([x[1], (tq - b * x[1] - m * g * ell * np.sin(x[0])) / (m * ell**2)])

        return upd, lambda t, x, u, params: x[:1]

    def to_nlsys(self, name=None):
        """The plant as a :class:`control.NonlinearIOSystem` (inputs ``u``, ``d``)."""
        upd, out = self._model_functions()
        return ct.nlsys(upd, out, states=["theta", "omega"],
                        inputs=["u", "d"], outputs=["theta"], name=name or self.name)

    def jacobian(self, x, u, d):
        """Finite-difference ``(df/dx, df/du, dh/dx)`` at a point."""
        return _fd_jacobian(self, x, u, d)


def _fd_jacobian(plant, x, u, d):
    """Central finite differences of the plant's numpy model (used only to pick step sizes)."""
    # the model functions directly, not through to_nlsys(): building a python-control system
    # cost ~0.3 ms, most of a fixed-step simulate's Python time
    upd, out = plant._model_functions()
    x = np.asarray(x, dtype=float)
    ud = np.concatenate([np.atleast_1d(u), np.atleast_1d(d)]).astype(float)
    n, m = x.size, plant.ninputs
    f = lambda xx, uu: np.asarray(upd(0.0, xx, uu, None), dtype=float)  # noqa: E731
    h = (lambda xx, uu: np.asarray(xx, dtype=float)) if out is None else \
        (lambda xx, uu: np.asarray(out(0.0, xx, uu, None), dtype=float))  # noqa: E731
    Jx = np.empty((n, n))
    Ju = np.empty((n, m))
    Cx = np.empty((plant.noutputs, n))
    for j in range(n):
        e = np.zeros(n)
        e[j] = 1e-6 * max(1.0, abs(x[j]))
        Jx[:, j] = (f(x + e, ud) - f(x - e, ud)) / (2 * e[j])
        Cx[:, j] = (h(x + e, ud) - h(x - e, ud)) / (2 * e[j])
    for j in range(m):
        e = np.zeros(ud.size)
        e[j] = 1e-6 * max(1.0, abs(ud[j]))
        Ju[:, j] = (f(x, ud + e) - f(x, ud - e)) / (2 * e[j])
    return Jx, Ju, Cx


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

    def __init__(self, dynamics, nstates, ninputs=1, ndisturbances=0, C=None, params=(),
                 input_limits=None, name="plant"):
        if not isinstance(dynamics, RHS):
            raise TypeError(
                f"dynamics must be a function decorated with @leaky_control.rhs, got {dynamics!r}"
            )
        for k, v, lo in (("nstates", nstates, 1), ("ninputs", ninputs, 1), ("ndisturbances", ndisturbances, 0)):
            if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < lo:
                raise ValueError(f"{k} must be an integer >= {lo}, got {v!r}")
        self.dynamics = dynamics
        self.nstates, self.ninputs, self.ndisturbances = int(nstates), int(ninputs), int(ndisturbances)
        Cm = np.eye(1, self.nstates) if C is None else as_finite_array("C", np.atleast_2d(C), ndim=2)
        if Cm.shape[1] != self.nstates:
            raise ValueError(f"C must have {self.nstates} columns, got shape {Cm.shape}")
        self.C = Cm
        self.noutputs = Cm.shape[0]
        self.param_values = as_finite_array("params", np.atleast_1d(np.asarray(params, dtype=float)), ndim=1)
        self._lo, self._hi = _limits("input_limits", input_limits, self.ninputs)
        self.name = name
        self.state_labels = [f"x[{i}]" for i in range(self.nstates)]
        self.input_labels = ["u"] if self.ninputs == 1 else [f"u[{i}]" for i in range(self.ninputs)]
        self.disturbance_labels = [f"d[{i}]" for i in range(self.ndisturbances)]
        self.output_labels = ["y"] if self.noutputs == 1 else [f"y[{i}]" for i in range(self.noutputs)]

    @property
    def params(self):
        return {"params": self.param_values.copy()}

    def replace(self, **changes):
        _check_known(self, changes, {"params": None})
        return NumbaPlant(self.dynamics, self.nstates, self.ninputs, self.ndisturbances, self.C,
                          changes["params"], (self._lo, self._hi), self.name)

    def actuator_limits(self):
        return self._lo.copy(), self._hi.copy()

    def _pack(self):
        pint = np.array([_m.PLANT_USER, self.nstates, self.ninputs, self.ndisturbances,
                         self.noutputs], dtype=np.int64)
        ppar = np.concatenate([self.C.ravel(), self._lo, self._hi, self.param_values])
        return pint, ppar, self.dynamics.dispatcher

    def _model_functions(self):
        f, n, m, C, pv = self.dynamics.dispatcher, self.nstates, self.ninputs, self.C, self.param_values
        lo, hi = self._lo, self._hi

        def upd(t, x, ud, params):
            dx = np.empty(n)
            ud = np.array(ud, dtype=float)
            ud[:m] = np.clip(ud[:m], lo, hi)
            f(float(t), np.ascontiguousarray(x, dtype=float), ud, pv, dx)
            return dx

        return upd, lambda t, x, u, params: C @ x

    def to_nlsys(self, name=None):
        """The plant as a :class:`control.NonlinearIOSystem` calling the numba function."""
        upd, out = self._model_functions()
        states, inputs, outputs = self._labels()
        return ct.nlsys(upd, out, states=states, inputs=inputs,
                        outputs=outputs, name=name or self.name)

    def jacobian(self, x, u, d):
        """Finite-difference ``(df/dx, df/du, dh/dx)`` at a point."""
        return _fd_jacobian(self, x, u, d)


@dataclass(frozen=True)
class RHS:
    """A user's numba dynamics, compiled for the kernels' function slot (made by :func:`rhs`)."""

    dispatcher: object = field(repr=False)
    name: str = ""


def rhs(func):
    """Decorator: make a numba-compiled function usable as plant dynamics.

    The function must be compiled with ``numba.njit`` and have the form
    ``f(t, x, ud, params, dx) -> None``, writing ``dx`` in place (``t`` float, the rest
    contiguous float64 arrays). It is compiled eagerly for that signature so the simulation
    kernel, which takes it through a typed function slot, stays cached on disk.

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
    from numba.core.registry import CPUDispatcher

    if isinstance(func, RHS):
        return func
    if not isinstance(func, CPUDispatcher):
        what = getattr(func, "__name__", repr(func))
        raise TypeError(
            f"@rhs needs a numba-compiled function, got the plain Python object {what!r}; "
            "decorate it with @numba.njit first (@leaky_control.rhs above @numba.njit), "
            "with the form f(t, x, ud, params, dx) writing dx in place"
        )
    try:
        func.compile(_m.USER_RHS_SIG)
    except Exception as exc:
        raise TypeError(
            f"{func.__name__} does not compile as f(t: float64, x, ud, params, dx: float64[::1]) "
            f"-> None: {type(exc).__name__}: {str(exc).splitlines()[0]}"
        ) from exc
    return RHS(func, getattr(func, "__name__", ""))


def as_plant(sys, *, input_limits=None):
    """Turn a python-control system, an ``(A, B, C, D)`` tuple or a plant into a plant.

    Parameters
    ----------
    sys : Plant, control.StateSpace, control.TransferFunction or tuple
        Continuous-time, proper. Transfer functions are realised with :func:`control.tf2ss`.
        All inputs of a python-control system are control inputs; the disturbance adds to them.
    input_limits : (lower, upper), optional
        Actuator saturation for a new linear plant.

    Returns
    -------
    Plant
    """
    if isinstance(sys, Plant):
        if input_limits is not None:
            raise ValueError("input_limits applies only when converting a system; set it on the plant")
        return sys
    if isinstance(sys, ct.TransferFunction):
        _check_continuous(sys)
        for i in range(sys.noutputs):
            for j in range(sys.ninputs):
                num = np.trim_zeros(np.atleast_1d(sys.num[i][j]), "f")
                den = np.trim_zeros(np.atleast_1d(sys.den[i][j]), "f")
                if len(num) > len(den):
                    raise ValueError(
                        f"transfer function {i},{j} is not proper (numerator degree {len(num) - 1} "
                        f"> denominator degree {len(den) - 1}); only proper plants can be simulated"
                    )
        sys = ct.tf2ss(sys)
    if isinstance(sys, ct.StateSpace):
        _check_continuous(sys)
        return LinearPlant(sys.A, sys.B, sys.C, sys.D, input_limits=input_limits,
                           name=sys.name if not sys.name.startswith("sys[") else None)
    if isinstance(sys, tuple | list) and len(sys) == 4:
        A, B, C, D = sys
        return LinearPlant(A, B, C, D, input_limits=input_limits)
    raise TypeError(
        "plant must be a leaky_control Plant, a control.StateSpace, a control.TransferFunction "
        f"or an (A, B, C, D) tuple, got {type(sys).__name__}"
    )


def _check_continuous(sys):
    if sys.dt not in (0, None):
        raise ValueError(
            f"plant must be continuous-time, got a discrete-time system with dt={sys.dt!r}; "
            "sampled control is set on the controller (dt=...), the plant stays continuous"
        )
