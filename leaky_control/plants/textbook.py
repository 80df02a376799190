"""Textbook linear plants: mass-spring-damper, DC motor, first-order lag.

Each is a :class:`LinearPlant` built from physical parameters; they share its record and
numba functions (no model code of their own), and ``params``/``replace`` speak the physical
names.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from .._validate import check_finite_scalar
from .linear import LinearPlant

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

__all__ = ["DCMotor", "FirstOrderLag", "MassSpringDamper"]


def _check_model(name: str, phys: Mapping[str, Any], **matrices: ArrayLike) -> None:
    """Refuse parameters whose ratios overflow (tau = 1e-320 makes A = -1/tau infinite), by
    naming the parameters rather than the matrix built from them."""
    for key, value in matrices.items():
        if not np.all(np.isfinite(np.asarray(value, dtype=float))):
            given = ", ".join(f"{k}={v!r}" for k, v in phys.items())
            raise ValueError(f"{name} parameters {given} give a non-finite {key} matrix (their "
                             "ratios overflow); use values of a physical scale")


def _fields_repr(obj: object, names: Iterable[str]) -> str:
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

    if TYPE_CHECKING:
        _phys: dict[str, Any]  # the physical parameters, as given (validated)

    def __init__(self, m: float = 1.0, c: float = 1.0, k: float = 1.0,
                 input_limits: tuple[Any, Any] | None = None, name: str | None = None) -> None:
        m = check_finite_scalar("m", m, low=0.0, low_open=True)
        c = check_finite_scalar("c", c, low=0.0)
        k = check_finite_scalar("k", k, low=0.0)
        object.__setattr__(self, "_phys", dict(m=m, c=c, k=k))
        A, B = [[0.0, 1.0], [-k / m, -c / m]], [[0.0], [1.0 / m]]
        _check_model("MassSpringDamper", self._phys, A=A, B=B)
        super().__init__(
            A=A, B=B, C=[[1.0, 0.0]],
            input_limits=input_limits, name=name or "mass-spring-damper",
        )

    @property
    def state_labels(self) -> list[str]:
        return ["position", "velocity"]

    @property
    def output_labels(self) -> list[str]:
        return ["position"]

    @property
    def params(self) -> dict[str, Any]:
        return dict(self._phys)

    def replace(self, **changes: Any) -> LinearPlant:
        kw = dict(self._phys, input_limits=self.input_limits, name=self.name)
        _check_known(self, changes, kw)
        return type(self)(**{**kw, **changes})

    def __repr__(self) -> str:
        return f"MassSpringDamper({', '.join(f'{k}={v!r}' for k, v in self._phys.items())})"


def _check_known(obj: object, changes: Mapping[str, Any], kw: Mapping[str, Any]) -> None:
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

    if TYPE_CHECKING:
        _phys: dict[str, Any]  # the physical parameters, as given (validated)

    def __init__(self, J: float = 0.01, b: float = 0.1, K: float = 0.01, R: float = 1.0,
                 L: float = 0.5, output: Literal["speed", "angle"] = "speed",
                 input_limits: tuple[Any, Any] | None = None, name: str | None = None) -> None:
        J = check_finite_scalar("J", J, low=0.0, low_open=True)
        b = check_finite_scalar("b", b, low=0.0)
        K = check_finite_scalar("K", K, low=0.0, low_open=True)
        R = check_finite_scalar("R", R, low=0.0, low_open=True)
        L = check_finite_scalar("L", L, low=0.0, low_open=True)
        if not isinstance(output, str) or output not in ("speed", "angle"):
            raise ValueError(f"output must be 'speed' or 'angle', got {output!r}")
        object.__setattr__(self, "_phys", dict(J=J, b=b, K=K, R=R, L=L, output=output))
        A = [[-b / J, K / J], [-K / L, -R / L]]
        B = [[0.0], [1.0 / L]]
        E = [[-1.0 / J], [0.0]]
        C = [[1.0, 0.0]]
        _check_model("DCMotor", self._phys, A=A, B=B, E=E)
        if output == "angle":
            A = [[0.0, 1.0, 0.0], [0.0, *A[0]], [0.0, *A[1]]]
            B = [[0.0], *B]
            E = [[0.0], *E]
            C = [[1.0, 0.0, 0.0]]
        super().__init__(A=A, B=B, C=C, E=E, input_limits=input_limits, name=name or "dc-motor")

    @property
    def state_labels(self) -> list[str]:
        return (["angle"] if self._phys["output"] == "angle" else []) + ["speed", "current"]

    @property
    def input_labels(self) -> list[str]:
        return ["voltage"]

    @property
    def disturbance_labels(self) -> list[str]:
        return ["load_torque"]

    @property
    def output_labels(self) -> list[str]:
        return [self._phys["output"]]

    @property
    def params(self) -> dict[str, Any]:
        return dict(self._phys)
    replace = MassSpringDamper.replace

    def __repr__(self) -> str:
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

    if TYPE_CHECKING:
        _phys: dict[str, Any]  # the physical parameters, as given (validated)

    def __init__(self, gain: float = 1.0, tau: float = 1.0,
                 input_limits: tuple[Any, Any] | None = None, name: str | None = None) -> None:
        gain = check_finite_scalar("gain", gain)
        tau = check_finite_scalar("tau", tau, low=0.0, low_open=True)
        object.__setattr__(self, "_phys", dict(gain=gain, tau=tau))
        _check_model("FirstOrderLag", self._phys, A=[[-1.0 / tau]], B=[[gain / tau]])
        super().__init__(A=[[-1.0 / tau]], B=[[gain / tau]], C=[[1.0]], input_limits=input_limits,
                         name=name or "first-order-lag")

    @property
    def params(self) -> dict[str, Any]:
        return dict(self._phys)

    replace = MassSpringDamper.replace

    def __repr__(self) -> str:
        return f"FirstOrderLag({', '.join(f'{k}={v!r}' for k, v in self._phys.items())})"
