"""Leaky-ReLU state feedback ``u_i = sat(phi_a(kr_i r - (K x)_i))``."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple, cast

import numpy as np

from .._validate import as_finite_array
from ..activations import leaky_relu, leaky_relu_scalar
from .base import Controller, check_dt, check_limits, check_negative_slope, static_feedback_nlsys

if TYPE_CHECKING:
    import control
    from numpy.typing import ArrayLike

    from .._typing import FloatArray
    from ..plants.base import Plant

__all__ = ["LeakyStateFeedback"]


class StateFeedbackRecord(NamedTuple):
    """Parameters of :class:`LeakyStateFeedback` as the kernels read them."""

    a: float
    u_min: float
    u_max: float
    K: np.ndarray  # (m, n)
    kr: np.ndarray  # (m,)


@dataclass(frozen=True, eq=False)
class LeakyStateFeedback(Controller):
    """Leaky-ReLU state feedback ``u_i = sat(phi_a(kr_i r - (K x)_i))``, one leak per channel.

    Parameters
    ----------
    K : array_like
        Gain matrix (m, n): m control inputs, n plant states.
    negative_slope : float
        Leak ``a`` in ``[0, 1]``, required (no default: 1 is the linear controller).
    kr : array_like or "auto", default "auto"
        Reference feedforward gains (m,). ``"auto"`` gives unit DC gain of the linear
        (``a = 1``) loop for a single-input single-output linear plant and zero otherwise.
    u_min, u_max : float
        Actuator limits applied to every channel.
    dt : float, optional
        Sample time for a sampled controller (zero-order hold).
    name : str
    """

    K: np.ndarray = None  # type: ignore[assignment]  # required; None marks it missing
    # required: None only marks it missing, and __post_init__ refuses it with the choices
    negative_slope: float = None  # type: ignore[assignment]
    kr: ArrayLike | str = "auto"
    u_min: float = -math.inf
    u_max: float = math.inf
    dt: float | None = None
    name: str = "controller"

    def __post_init__(self) -> None:
        if self.K is None:
            raise ValueError("K (state-feedback gain matrix, shape (m, n)) is required")
        K = as_finite_array("K", np.atleast_2d(self.K), ndim=2)
        object.__setattr__(self, "K", np.ascontiguousarray(K))
        check_negative_slope(self)
        if not (isinstance(self.kr, str) and self.kr == "auto"):
            kr = as_finite_array("kr", np.atleast_1d(self.kr), ndim=1)
            if kr.size != K.shape[0]:
                raise ValueError(f"kr must have {K.shape[0]} entries (one per input), got {kr.size}")
            object.__setattr__(self, "kr", kr)
        check_limits(self.u_min, self.u_max)
        check_dt(self.dt)

    nstates = 0
    state_labels = ()

    @property
    def lipschitz_constant(self) -> float:
        """Lipschitz constant of ``x -> u`` in the 2-norm: ``||K||_2`` for ``a`` in ``[0, 1]``
        (each channel's slope lies in ``[a, 1]``, so the Jacobian is ``diag(s) K`` with
        ``|s_i| <= 1``; the bound is attained with every channel on its slope-1 side)."""
        return float(np.linalg.norm(self.K, 2))

    def feedforward(self, plant: Plant) -> FloatArray:
        """The reference gains in use with ``plant``."""
        if not isinstance(self.kr, str):
            return cast("FloatArray", self.kr)  # an array since __post_init__
        m = self.K.shape[0]
        if m == 1 and plant.noutputs == 1 and hasattr(plant, "A") and plant.ninputs == 1:
            lin: Any = plant  # a linear plant (it has A): its matrices
            Acl = lin.A - lin.B @ self.K
            try:
                dc = float(-(lin.C @ np.linalg.solve(Acl, lin.B))[0, 0])
            except np.linalg.LinAlgError:
                dc = 0.0
            if dc != 0.0 and math.isfinite(dc):
                return np.array([1.0 / dc])
        return np.zeros(m)

    Record = StateFeedbackRecord

    def record(self, plant: Plant) -> StateFeedbackRecord:
        m, n = self.K.shape
        if n != plant.nstates or m != plant.ninputs:
            raise ValueError(
                f"K must have shape ({plant.ninputs}, {plant.nstates}) for this plant "
                f"(inputs, states), got {self.K.shape}")
        return StateFeedbackRecord(float(self.negative_slope), float(self.u_min),
                                   float(self.u_max), self.K,
                                   np.ascontiguousarray(self.feedforward(plant), dtype=float))

    @staticmethod
    def output(c: StateFeedbackRecord, t: float, X: FloatArray, n: int, y: FloatArray,
               r: FloatArray, uraw: FloatArray, u: FloatArray) -> None:
        K = c.K
        for i in range(K.shape[0]):
            s = c.kr[i] * r[0]
            for j in range(K.shape[1]):
                s -= K[i, j] * X[j]
            uraw[i] = leaky_relu_scalar(s, c.a)
            u[i] = min(max(uraw[i], c.u_min), c.u_max)

    def linear_gain(self, plant: Plant, Cx: ArrayLike | None = None) -> FloatArray:
        """``K``: the loop gain at slope 1."""
        return self.K

    def io_sizes(self) -> tuple[int, int]:
        """``(n, m)``: reads the ``n`` plant states, drives ``m`` inputs."""
        return self.K.shape[1], self.K.shape[0]

    def to_nlsys(self, plant: Plant | None = None, name: str | None = None,
                 raw: bool = False) -> control.NonlinearIOSystem:
        """The controller as a static :class:`control.NonlinearIOSystem` with inputs ``r`` and
        the plant states, outputs ``u`` (saturated) and ``u_raw`` per channel.

        Parameters
        ----------
        plant : Plant, optional
            Resolves ``kr="auto"`` and names the signals after the plant's (see
            :meth:`~leaky_control.controllers.Controller.signal_labels`).
        name : str, optional
        raw : bool, default False
            Also output ``u_raw``, the command before saturation.
        """
        m, n = self.K.shape
        kr = self.feedforward(plant) if plant is not None else (
            np.zeros(m) if isinstance(self.kr, str) else cast("FloatArray", self.kr))
        K, a = self.K, self.negative_slope
        return static_feedback_nlsys(lambda x, r: leaky_relu(kr * r - K @ x, a), n, m, self,
                                     name, plant, raw)
