"""AdaptivePReLU: a leaky PI whose slope is learned online (the control twin of PReLU)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
from numba import njit

from .._validate import check_finite_scalar, check_slope
from ..activations import leaky_relu, leaky_relu_scalar
from .base import ErrorFeedback, check_limits

if TYPE_CHECKING:
    import control
    from numpy.typing import ArrayLike

    from .._typing import FloatArray
    from ..plants.base import Plant

__all__ = ["AdaptivePReLU"]


class AdaptiveRecord(NamedTuple):
    """Parameters of :class:`AdaptivePReLU` as the kernels read them."""

    kp: float
    ki: float
    gamma: float
    s: float  # sign of the plant's input gain
    u_min: float
    u_max: float
    kaw: float
    iz: int  # index of the integrator among the controller states (-1: none)
    ia: int  # index of the slope state


@njit(_nrt=False)
def _adaptive_output(c: AdaptiveRecord, t: float, X: FloatArray, n: int, y: FloatArray,
                     r: FloatArray, uraw: FloatArray, u: FloatArray) -> None:
    e = r[0] - y[0]
    z = X[n + c.iz] if c.iz >= 0 else 0.0
    # an RK4 stage may step a hair past a bound before the projection stops it; the law
    # itself never uses a slope outside [0, 1]
    a = min(max(X[n + c.ia], 0.0), 1.0)
    uraw[0] = c.kp * leaky_relu_scalar(e, a) + c.ki * z
    u[0] = min(max(uraw[0], c.u_min), c.u_max)


@njit(_nrt=False)
def _adaptive_slope_rate(kp: float, gamma: float, sgn: float, e: float, a: float, u: float,
                         uraw: float) -> float:
    """MIT rule for the slope with projection onto [0, 1] (derivation in AdaptivePReLU)."""
    if u != uraw:
        return 0.0  # saturated: the applied input does not depend on a, so no gradient
    rate = gamma * sgn * kp * e * min(0.0, e)
    if (a >= 1.0 and rate > 0.0) or (a <= 0.0 and rate < 0.0):
        return 0.0
    return rate


@dataclass(frozen=True)
class AdaptivePReLU(ErrorFeedback):
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

    def __post_init__(self) -> None:
        for k in ("kp", "ki"):
            check_finite_scalar(k, getattr(self, k))
        check_finite_scalar("gamma", self.gamma, low=0.0)
        check_slope(self.a0, name="a0")
        if isinstance(self.plant_gain_sign, bool) or self.plant_gain_sign not in (1, -1):
            raise ValueError(f"plant_gain_sign must be 1 or -1, got {self.plant_gain_sign!r}")
        check_limits(self.u_min, self.u_max)
        if self.kaw is not None:
            check_finite_scalar("kaw", self.kaw, low=0.0)
        if self.dt is not None:
            raise ValueError(
                f"AdaptivePReLU is continuous-time only: dt must be None, got {self.dt!r}")

    has_derivative = False


    @property
    def negative_slope(self) -> float:
        """The initial slope ``a0`` (the slope the law starts from)."""
        return self.a0

    #: the range the slope can take, for step-size and analysis choices
    slope_bounds = (0.0, 1.0)

    @property
    def effective_kaw(self) -> float:
        """The anti-windup gain in use."""
        if self.kaw is not None:
            return float(self.kaw)
        return 1.0 if self.kp == 0.0 or self.ki == 0.0 else abs(self.ki / self.kp)

    @property
    def nstates(self) -> int:
        """Number of controller states: the integrator (if ``ki != 0``) and the slope."""
        return int(self.has_integrator) + 1

    @property
    def state_labels(self) -> list[str]:
        return (["z"] if self.has_integrator else []) + ["a"]

    @property
    def initial_state(self) -> FloatArray:
        """Default controller state: ``z = 0`` and ``a = a0``."""
        return np.array(([0.0] if self.has_integrator else []) + [self.a0])

    @property
    def lipschitz_constant(self) -> float:
        """``|kp|``: the slope of ``e -> u`` lies in ``[a |kp|, |kp|]`` for any ``a`` in [0, 1]."""
        return abs(self.kp)

    def slope_rate(self, e: ArrayLike, a: ArrayLike,
                   saturated: ArrayLike = False) -> FloatArray:
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

    Record = AdaptiveRecord

    def record(self, plant: Plant) -> AdaptiveRecord:
        self.check_siso(plant)
        iz = 0 if self.has_integrator else -1
        ia = 1 if self.has_integrator else 0
        return AdaptiveRecord(float(self.kp), float(self.ki), float(self.gamma),
                              float(self.plant_gain_sign), float(self.u_min), float(self.u_max),
                              self.effective_kaw, iz, ia)

    output = _adaptive_output

    @staticmethod
    def derivative(c: AdaptiveRecord, t: float, X: FloatArray, n: int, y: FloatArray,
                   r: FloatArray, uraw: FloatArray, u: FloatArray, dX: FloatArray) -> None:
        e = r[0] - y[0]
        if c.iz >= 0:
            aw = c.kaw / c.ki * (u[0] - uraw[0]) if c.ki != 0.0 else 0.0
            dX[n + c.iz] = e + aw
        dX[n + c.ia] = _adaptive_slope_rate(c.kp, c.gamma, c.s, e, X[n + c.ia], u[0], uraw[0])

    def to_nlsys(self, plant: Plant | None = None, name: str | None = None,
                 raw: bool = False) -> control.NonlinearIOSystem:
        """The controller as a continuous :class:`control.NonlinearIOSystem`.

        Inputs ``r`` and ``y``; output ``u`` (saturated; with ``raw``, also ``u_raw``), or, given the
        ``plant``, named after its signals (see
        :meth:`~leaky_control.controllers.Controller.signal_labels`); states ``z`` (when
        ``ki != 0``) and ``a``. Its initial state must be given explicitly (``a0`` is not
        python-control's default of 0); see :attr:`initial_state`.

        Parameters
        ----------
        plant : Plant, optional
        name : str, optional
        raw : bool, default False
            Also output ``u_raw``, the command before saturation.
        """
        has_z = self.has_integrator
        ia = 1 if has_z else 0
        kp, ki, kaw, lo, hi = self.kp, self.ki, self.effective_kaw, self.u_min, self.u_max

        def output(t: float, x: FloatArray, inp: FloatArray, params: Any) -> FloatArray:
            e = inp[0] - inp[1]
            a = min(max(x[ia], 0.0), 1.0)
            uraw = float(kp * leaky_relu(e, a) + (ki * x[0] if has_z else 0.0))
            return np.array([min(max(uraw, lo), hi), uraw])

        def update(t: float, x: FloatArray, inp: FloatArray, params: Any) -> FloatArray:
            e = inp[0] - inp[1]
            u, uraw = output(t, x, inp, params)
            dx = np.zeros(self.nstates)
            if has_z:
                dx[0] = e + (kaw / ki * (u - uraw) if ki != 0.0 else 0.0)
            dx[ia] = float(self.slope_rate(e, x[ia], saturated=u != uraw))
            return dx

        return self._nlsys(update, output, plant, name, raw)
