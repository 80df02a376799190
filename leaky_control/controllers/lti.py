r"""python-control LTI systems as leaky controllers, on the numba path.

:class:`LeakyLTI` wraps a single-input single-output :class:`control.TransferFunction` or
:class:`control.StateSpace` ``C`` acting on the error ``e = r - y``, with a leaky ReLU on its
output::

    v = Cc xc + Dc e,   u_raw = phi_a(v),   u = clip(u_raw, u_min, u_max)

with ``(Ac, Bc, Cc, Dc)`` the state-space realisation of ``C`` (:func:`control.ss`) and
``phi_a`` the leaky ReLU of slope ``a = negative_slope``. A continuous system (``dt = 0``)
integrates ``xc' = Ac xc + Bc e``. A discrete one (``dt > 0``) is a sampled controller of
sample time ``dt``: at each instant ``t0 + k dt`` the command is computed from the current
``xc`` and ``e`` and held (zero-order hold), then ``xc <- Ac xc + Bc e`` (python-control's
convention for discrete systems). With ``a = 1`` and no limits this is exactly the linear loop
``ct.feedback(P * C)``.

:func:`as_controller` turns what a python-control user passes as a controller into one.
"""

from __future__ import annotations

import math
from dataclasses import KW_ONLY, dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

import control as ct
import numpy as np
from numba import njit

from .._validate import as_finite_array, check_finite_scalar
from ..activations import leaky_relu, leaky_relu_scalar
from .base import Controller, check_limits, check_negative_slope

if TYPE_CHECKING:
    import control
    from numpy.typing import ArrayLike

    from .._typing import FloatArray
    from ..plants.base import Plant

__all__ = ["LeakyLTI", "as_controller"]


class LTIRecord(NamedTuple):
    """Parameters of :class:`LeakyLTI` as the kernels read them (C-contiguous float64)."""

    A: np.ndarray  # (nc, nc)
    B: np.ndarray  # (nc, 1)
    C: np.ndarray  # (1, nc)
    D: np.ndarray  # (1, 1)
    a: float
    u_min: float
    u_max: float
    xn: np.ndarray  # (nc,) scratch for the sampled update, so it allocates nothing


@njit(_nrt=False)
def _lti_output(c: LTIRecord, t: float, X: FloatArray, n: int, y: FloatArray, r: FloatArray,
                uraw: FloatArray, u: FloatArray) -> None:
    e = r[0] - y[0]
    v = c.D[0, 0] * e
    C = c.C
    for j in range(C.shape[1]):
        v += C[0, j] * X[n + j]
    uraw[0] = leaky_relu_scalar(v, c.a)
    u[0] = min(max(uraw[0], c.u_min), c.u_max)


@njit(_nrt=False)
def _lti_derivative(c: LTIRecord, t: float, X: FloatArray, n: int, y: FloatArray,
                    r: FloatArray, uraw: FloatArray, u: FloatArray, dX: FloatArray) -> None:
    e = r[0] - y[0]
    A, B = c.A, c.B
    for i in range(A.shape[0]):
        s = B[i, 0] * e
        for j in range(A.shape[1]):
            s += A[i, j] * X[n + j]
        dX[n + i] = s


@njit(_nrt=False)
def _lti_sample(c: LTIRecord, t: float, X: FloatArray, n: int, y: FloatArray, r: FloatArray,
                uraw: FloatArray, u: FloatArray) -> None:
    # the command from the current state and error (held until the next sample), then the
    # state update; through scratch, since every new state reads all the old ones
    _lti_output(c, t, X, n, y, r, uraw, u)
    e = r[0] - y[0]
    A, B, xn = c.A, c.B, c.xn
    for i in range(A.shape[0]):
        s = 0.0
        for j in range(A.shape[1]):
            s += A[i, j] * X[n + j]
        xn[i] = s + B[i, 0] * e
    for i in range(A.shape[0]):
        X[n + i] = xn[i]


def _realise(sys: Any) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, float | None]:
    """``(A, B, C, D, dt)`` of a SISO python-control LTI system (``dt`` None: continuous)."""
    if not isinstance(sys, ct.TransferFunction | ct.StateSpace):
        raise TypeError(f"sys must be a single-input single-output control.TransferFunction or "
                        f"control.StateSpace (ct.tf, ct.ss), got {type(sys).__name__}")
    if sys.ninputs != 1 or sys.noutputs != 1:
        raise ValueError(
            f"LeakyLTI needs a single-input single-output system (it acts on the error "
            f"r - y), got {sys.ninputs} input(s) and {sys.noutputs} output(s)")
    dt = sys.dt
    if dt is True:
        raise ValueError(
            "LeakyLTI needs the sample time of a discrete system, got dt=True (discrete, "
            "unspecified sample time); give it, e.g. ct.tf(num, den, 0.05)")
    # dt None is python-control's unspecified timebase: continuous, as as_plant reads it
    dt = None if dt is None or dt == 0 else check_finite_scalar("sys.dt", dt, low=0.0,
                                                                low_open=True)
    ss = ct.ss(sys)  # a non-proper transfer function is refused here, by python-control
    mats = [as_finite_array(f"sys.{k}", m, ndim=2)
            for k, m in zip("ABCD", (ss.A, ss.B, ss.C, ss.D), strict=True)]
    nc = mats[0].shape[0]
    # python-control keeps a static gain as 0-by-0 A with 0-wide B: give every matrix the
    # SISO shapes the kernels loop over
    A = mats[0].reshape(nc, nc)
    B = mats[1].reshape(nc, 1)
    C = mats[2].reshape(1, nc)
    D = mats[3].reshape(1, 1)
    return A, B, C, D, dt


@dataclass(frozen=True, eq=False)
class LeakyLTI(Controller):
    r"""A python-control LTI system as a Leaky-ReLU-shaped error-feedback controller.

    ``v = Cc xc + Dc e``, ``u = clip(phi_a(v), u_min, u_max)`` on the error ``e = r - y``,
    with the states ``xc`` of the system's realisation (see the module docstring). There is
    no anti-windup: the states keep integrating the error while the command saturates (use
    :class:`LeakyPID` for back-calculation).

    Parameters
    ----------
    sys : control.TransferFunction or control.StateSpace
        Single-input single-output, proper; continuous (``dt = 0`` or None) or discrete
        (``dt > 0``: a sampled controller of that sample time with zero-order hold). A
        transfer function is realised with :func:`control.ss`.
    negative_slope : float
        Leak ``a`` in ``[0, 1]``, required (no default: 1 is the linear controller ``sys``
        itself, as :func:`as_controller` makes it).
    u_min, u_max : float
        Actuator limits of the controller output (infinite by default).
    name : str

    Notes
    -----
    ``params`` lists ``sys``, ``negative_slope``, ``u_min`` and ``u_max``: a sweep or
    ``simulate(params=...)`` can replace the whole system (a grid of tuned controllers) as
    well as the leak and the limits, never a single realisation matrix, which has no meaning
    of its own (the realisation of a transfer function is python-control's choice).
    """

    sys: object
    _: KW_ONLY
    # required: None only marks it missing, and __post_init__ refuses it with the choices
    negative_slope: float = None  # type: ignore[assignment]
    u_min: float = -math.inf
    u_max: float = math.inf
    name: str = "controller"

    error_feedback = True
    Record = LTIRecord
    if TYPE_CHECKING:  # set by __post_init__, outside the dataclass fields
        _abcd: tuple[FloatArray, FloatArray, FloatArray, FloatArray] = field(init=False)
        _dt: float | None = field(init=False)

    def __post_init__(self) -> None:
        check_negative_slope(self)
        check_limits(self.u_min, self.u_max)
        # replace() re-runs this on a copy: realise the system only when it changed (a sweep
        # over the leak replaces it per point, and a realisation costs more than the rest)
        if self.__dict__.get("_source") is not self.sys:
            A, B, C, D, dt = _realise(self.sys)
            object.__setattr__(self, "_abcd", (A, B, C, D))
            object.__setattr__(self, "_dt", dt)
            object.__setattr__(self, "_source", self.sys)

    @property
    def dt(self) -> float | None:
        """The sample time of a discrete system (None: continuous)."""
        return self._dt

    @property
    def nstates(self) -> int:
        """Number of controller states (the order of the realisation)."""
        return self._abcd[0].shape[0]

    @property
    def state_labels(self) -> list[str]:
        return [f"xc[{i}]" for i in range(self.nstates)]

    @property
    def matrices(self) -> tuple[FloatArray, ...]:
        """The realisation ``(A, B, C, D)`` the kernels use (copies)."""
        return tuple(m.copy() for m in self._abcd)

    def law(self, e: ArrayLike, xc: ArrayLike | None = None) -> FloatArray:
        """The command before saturation, ``phi_a(C xc + D e)``, in numpy.

        Parameters
        ----------
        e : array_like
            Error values (any shape).
        xc : array_like, optional
            Controller states, shape ``(nstates,)`` or ``e.shape + (nstates,)``; default zeros.

        Returns
        -------
        numpy.ndarray
        """
        _, _, C, D = self._abcd
        e = np.asarray(e, dtype=float)
        v = D[0, 0] * e
        if xc is not None and self.nstates:
            v = v + np.asarray(xc, dtype=float) @ C[0]
        return leaky_relu(v, self.negative_slope)

    def record(self, plant: Plant) -> LTIRecord:
        self.check_siso(plant)
        A, B, C, D = self._abcd
        return LTIRecord(A, B, C, D, float(self.negative_slope), float(self.u_min),
                         float(self.u_max), np.zeros(self.nstates))

    output = _lti_output
    derivative = _lti_derivative
    sample = _lti_sample

    def linear_gain(self, plant: Plant, Cx: ArrayLike | None = None) -> FloatArray:
        """``Dc Cx``: the controller's direct gain times the plant's output Jacobian.

        Used only for default step sizes and horizons. ``Dc`` is the controller's gain at
        high frequency, its instantaneous reaction to the error, which sets the loop's fast
        modes; the modes of its states are reported by :meth:`fast_rates` (with their
        coupling to the plant) and :meth:`slow_rates`. For a PI ``kp + ki/s`` this is
        ``kp C``, what :class:`LeakyPI` reports, so both get the same defaults.
        """
        if Cx is None:
            Cx = getattr(plant, "C", np.eye(1, plant.nstates))
        return self._abcd[3][0, 0] * np.asarray(Cx, dtype=float)

    def fast_rates(self, Ju: FloatArray, Cx: FloatArray) -> list[float]:
        """Magnitudes of the controller's poles and of its modes in the loop (continuous
        only; a sampled controller's states are frozen between samples).

        Besides the poles of ``Ac``, the loop's matrix with the plant's own dynamics left out,
        ``[[-s Ju Dc Cx, s Ju Cc], [-Bc Cx, Ac]]`` at both slopes ``s`` (the simulator adds the
        plant's ``Jx`` separately): an integrator has a pole at 0, yet ``ki/s`` on a plant
        ``1/(s+1)`` oscillates at ``sqrt(ki)``, which the step must resolve.
        """
        if self.sampled or self.nstates == 0:
            return []
        A, B, C, D = self._abcd
        rates = [float(v) for v in np.abs(np.linalg.eigvals(A))]
        Ju = np.asarray(Ju, dtype=float).reshape(-1, 1)
        Cx = np.asarray(Cx, dtype=float)[:1]
        for s in self.slope_bounds:
            M = np.block([[-s * D[0, 0] * Ju @ Cx, s * Ju @ C], [-B @ Cx, A]])
            rates.append(float(np.max(np.abs(np.linalg.eigvals(M)))))
        return rates

    def slow_rates(self) -> list[float]:
        """Rate (1/s) of the controller's slowest mode: the smallest nonzero magnitude among
        its poles and zeros.

        In a closed loop the controller's poles move towards its zeros, leaving a slow mode
        near the slowest of them: a PI's zero ``ki/kp`` (the integral action, as
        :class:`LeakyPI` reports), a lag compensator's pole and zero. Poles at 0 (integrators)
        have no rate of their own. A discrete pole or zero ``z`` counts as ``|log z| / dt``.
        """
        A, B, C, D = self._abcd
        sys = ct.ss(A, B, C, D, self.dt or 0)
        roots = np.concatenate([np.linalg.eigvals(A), ct.zeros(sys)]) if self.nstates \
            else np.zeros(0, dtype=complex)
        roots = np.asarray(roots, dtype=complex)
        if self.sampled:
            roots = roots[roots != 0]  # a deadbeat pole (z = 0) is instant, not slow
            rates = np.abs(np.log(roots)) / self.dt
        else:
            rates = np.abs(roots)
        rates = rates[np.isfinite(rates)]
        # a computed integrator pole may be a rounding error away from 0
        rates = rates[rates > 1e-9 * (1.0 + (rates.max() if rates.size else 0.0))]
        return [float(rates.min())] if rates.size else []

    def to_nlsys(self, plant: Plant | None = None, name: str | None = None,
                 raw: bool = False) -> control.NonlinearIOSystem:
        """The controller as a :class:`control.NonlinearIOSystem` (numpy, its own law: the
        independent reference the kernels are tested against).

        Parameters
        ----------
        plant : Plant, optional
            Names the signals after the plant's (see
            :meth:`~leaky_control.controllers.Controller.signal_labels`), so that
            ``control.interconnect`` closes the loop by name.
        name : str, optional
            Default the controller's name.
        raw : bool, default False
            Also output ``u_raw``, the command before saturation.

        Returns
        -------
        control.NonlinearIOSystem
            Inputs ``r`` and ``y``; output ``u`` (saturated), then ``u_raw`` with ``raw`` (the
            plant's names given a plant); states ``xc[i]``; the system's ``dt`` (a discrete one
            updates ``xc <- Ac xc + Bc e`` per sample; python-control cannot interconnect it
            with a continuous plant, so simulate that loop with
            :func:`leaky_control.simulate`).
        """
        A, B, C, D = (m.copy() for m in self._abcd)
        a, lo, hi = self.negative_slope, self.u_min, self.u_max

        def output(t: float, x: FloatArray, inp: FloatArray, params: Any) -> FloatArray:
            e = inp[0] - inp[1]
            uraw = float(leaky_relu(C[0] @ np.asarray(x, dtype=float) + D[0, 0] * e, a))
            return np.array([min(max(uraw, lo), hi), uraw])

        def update(t: float, x: FloatArray, inp: FloatArray, params: Any) -> FloatArray:
            # continuous: the derivative; discrete: the next state (python-control's
            # conventions; the same formula)
            return A @ np.asarray(x, dtype=float) + B[:, 0] * (inp[0] - inp[1])

        return self._nlsys(update, output, plant, name, raw)


def _not_lti_message(obj: object) -> str:
    if isinstance(obj, ct.NonlinearIOSystem):
        return (
            f"controller is a control.{type(obj).__name__}, whose Python callbacks cannot run "
            "in the numba kernels; write it as a subclass of "
            "leaky_control.controllers.Controller with a NamedTuple Record and a static numba "
            "output(c, t, X, n, y, r, uraw, u) (plus derivative(...) for states): see "
            "docs/architecture.md, 'Models as code'")
    return (f"a controller must be a leaky_control Controller (LeakyPID, ..., or a "
            f"subclass of leaky_control.controllers.Controller) or a single-input "
            f"single-output control.TransferFunction or control.StateSpace (ct.tf, ct.ss), "
            f"got {type(obj).__name__}")


def as_controller(obj: object) -> Controller:
    """Turn what a python-control user passes as a controller into a controller.

    Parameters
    ----------
    obj : Controller, control.TransferFunction or control.StateSpace
        A leaky_control controller is returned as it is; a single-input single-output LTI
        system becomes the linear controller ``LeakyLTI(obj, negative_slope=1.0)`` (what
        ``ct.feedback(P * obj)`` simulates).

    Returns
    -------
    Controller

    Raises
    ------
    TypeError
        For anything else, naming its type; a :class:`control.NonlinearIOSystem` with how to
        write it as a :class:`Controller` subclass.
    ValueError
        For an LTI system that is not SISO, or discrete without a sample time.
    """
    if isinstance(obj, Controller):
        return obj
    if isinstance(obj, ct.TransferFunction | ct.StateSpace):
        return LeakyLTI(obj, negative_slope=1.0)
    raise TypeError(_not_lti_message(obj))
