"""Linear plant ``x' = A x + B sat(u) + E d``, ``y = C x + F d`` (python-control's systems)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from .._validate import as_finite_array
from .base import Plant, _labels, input_limits_arrays

if TYPE_CHECKING:
    import control
    from numpy.typing import ArrayLike

    from .._typing import FloatArray, IOFunction

__all__ = ["LinearPlant"]


class LinearRecord(NamedTuple):
    """Parameters of :class:`LinearPlant` as the kernels read them (C-contiguous arrays)."""

    A: np.ndarray
    B: np.ndarray
    C: np.ndarray
    E: np.ndarray
    F: np.ndarray
    lo: np.ndarray
    hi: np.ndarray


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

    if TYPE_CHECKING:
        # the constructor takes array_like matrices; __post_init__ leaves float64 arrays
        A: FloatArray
        B: FloatArray
        C: FloatArray
        D: FloatArray
        E: FloatArray
        F: FloatArray
        input_limits: tuple[Any, Any] | None
        name: str | None
        _lo: FloatArray
        _hi: FloatArray

        def __init__(self, A: ArrayLike, B: ArrayLike, C: ArrayLike, D: ArrayLike | None = None,
                     E: ArrayLike | None = None, F: ArrayLike | None = None,
                     input_limits: tuple[Any, Any] | None = None,
                     name: str | None = None) -> None: ...
    else:
        A: np.ndarray
        B: np.ndarray
        C: np.ndarray
        D: np.ndarray | None = None
        E: np.ndarray | None = None
        F: np.ndarray | None = None
        input_limits: tuple | None = None
        name: str | None = None

    Record = LinearRecord

    def __post_init__(self) -> None:
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
        F = (D.copy() if self.E is None else np.zeros((p, q))) if self.F is None else \
            as_finite_array("F", np.atleast_2d(self.F))
        if F.shape != (p, q):
            raise ValueError(f"F must have shape ({p}, {q}), got {F.shape}")
        lo, hi = input_limits_arrays("input_limits", self.input_limits, m)
        for k, v in dict(A=A, B=B, C=C, D=D, E=E, F=F).items():
            object.__setattr__(self, k, np.ascontiguousarray(v, dtype=float))
        object.__setattr__(self, "_lo", lo)
        object.__setattr__(self, "_hi", hi)

    @property
    def nstates(self) -> int:
        return self.A.shape[0]

    @property
    def ninputs(self) -> int:
        return self.B.shape[1]

    @property
    def ndisturbances(self) -> int:
        return self.E.shape[1]

    @property
    def noutputs(self) -> int:
        return self.C.shape[0]

    @property
    def state_labels(self) -> list[str]:
        return [f"x[{i}]" for i in range(self.nstates)]

    @property
    def disturbance_labels(self) -> list[str]:
        return _labels("d", self.ndisturbances)

    def actuator_limits(self) -> tuple[FloatArray, FloatArray]:
        return self._lo.copy(), self._hi.copy()

    @property
    def params(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("A", "B", "C", "D", "E", "F")}

    def record(self) -> LinearRecord:
        return LinearRecord(self.A, self.B, self.C, self.E, self.F, self._lo, self._hi)

    @staticmethod
    def dynamics(p: LinearRecord, t: float, x: FloatArray, u: FloatArray, d: FloatArray,
                 dx: FloatArray) -> None:
        A, B, E, lo, hi = p.A, p.B, p.E, p.lo, p.hi
        n, m, q = A.shape[0], B.shape[1], E.shape[1]
        for i in range(n):
            s = 0.0
            for j in range(n):
                s += A[i, j] * x[j]
            for j in range(m):
                s += B[i, j] * min(max(u[j], lo[j]), hi[j])
            for j in range(q):
                s += E[i, j] * d[j]
            dx[i] = s

    @staticmethod
    def output(p: LinearRecord, t: float, x: FloatArray, d: FloatArray, y: FloatArray) -> None:
        C, F = p.C, p.F
        for i in range(C.shape[0]):
            s = 0.0
            for j in range(C.shape[1]):
                s += C[i, j] * x[j]
            for j in range(F.shape[1]):
                s += F[i, j] * d[j]
            y[i] = s

    def to_ss(self) -> control.StateSpace:
        """The plant as a :class:`control.StateSpace` with inputs ``[u, d]`` (saturation ignored)."""
        import control as ct

        return ct.ss(self.A, np.hstack([self.B, self.E]), self.C, np.hstack([self.D, self.F]))

    def _model_functions(self) -> tuple[IOFunction, IOFunction]:
        """``(update, output)`` in numpy, with the input saturation and the feedthrough ``D``
        (which the kernels refuse): the reference behind :meth:`Plant.to_nlsys`."""
        m = self.ninputs
        A, B, C, D, E, F, lo, hi = self.A, self.B, self.C, self.D, self.E, self.F, self._lo, self._hi

        def upd(t: float, x: FloatArray, ud: FloatArray, params: Any) -> FloatArray:
            return A @ x + B @ np.clip(ud[:m], lo, hi) + E @ ud[m:]

        def out(t: float, x: FloatArray, ud: FloatArray, params: Any) -> FloatArray:
            return C @ x + D @ np.clip(ud[:m], lo, hi) + F @ ud[m:]

        return upd, out

    def jacobian(self, x: ArrayLike | None = None, u: ArrayLike | None = None,
                 d: ArrayLike | None = None) -> tuple[FloatArray, FloatArray, FloatArray]:
        """``(df/dx, df/du, dh/dx)`` of the linear model (exact)."""
        return self.A, self.B, self.C
