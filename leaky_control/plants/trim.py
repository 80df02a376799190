"""Operating (trim) points: the state and constant input holding a plant's output at a set point.

One numeric method for every plant: the ``n + m`` unknowns ``(x, u)`` solve the ``n + p``
equations ``f(x, u, d) = 0``, ``h(x, d) = y_ref`` (``p = m``) by bounded least squares, on the
plant's own Python reference functions (``Plant._model_functions``, the ``py_func`` path of
``to_nlsys``) and its Jacobian (``Plant.jacobian``), with the input bounded by the actuator
limits the plant applies.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
from scipy.optimize import least_squares

from .._validate import as_finite_array, check_finite_scalar

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

    from .._typing import FloatArray
    from .base import Plant

__all__ = ["OperatingPoint", "operating_point"]


class OperatingPoint(NamedTuple):
    """An equilibrium of a plant at a set point (see :func:`operating_point`).

    Attributes
    ----------
    state : numpy.ndarray
        Equilibrium state ``x*`` (n,).
    input : numpy.ndarray
        Constant control input ``u*`` (m,), inside the actuator limits.
    output : numpy.ndarray
        Output ``y* = h(x*, d)`` (p,) the equilibrium achieves.
    residual : float
        ``max(|f(x*, u*, d)|, |y* - y_ref|)``, in the plant's own units.
    """

    state: np.ndarray
    input: np.ndarray
    output: np.ndarray
    residual: float


def operating_point(plant: Plant, output: ArrayLike, disturbance: ArrayLike | None = None, *,
                    guess: OperatingPoint | tuple[Any, Any] | None = None,
                    tol: float = 1e-10) -> OperatingPoint:
    """The equilibrium state and constant input that hold the output at a set point.

    Solves ``f(x*, u*, d) = 0`` and ``h(x*, d) = output`` for the ``n`` states and ``m``
    inputs together (``m`` must equal the number of outputs ``p``), by bounded least squares
    (:func:`scipy.optimize.least_squares`, trust-region reflective, variables scaled by the
    Jacobian's columns), then projected Newton steps, on the plant's own Python reference
    functions (the ones :meth:`Plant.to_nlsys` runs) with the Jacobian from
    :meth:`Plant.jacobian`. The inputs are bounded by :meth:`Plant.actuator_limits`, so a set
    point that needs more is refused rather than met by an input the plant would clip. The
    plant is evaluated at ``t = 0``.

    A marginal plant (an integrator) has a continuum of equilibria when the output does not
    pin the integrated state; one near the starting point is returned. The result is an
    equilibrium, not necessarily a stable one.

    Parameters
    ----------
    plant : Plant, control.StateSpace, control.TransferFunction or (A, B, C, D)
        Anything :func:`~leaky_control.plants.as_plant` accepts. A linear plant must have
        ``D = 0`` (the plant protocol's output does not see ``u``).
    output : float or array_like
        Set point ``y_ref``, one finite value per plant output (a scalar for one output).
    disturbance : float or array_like, optional
        Constant disturbance ``d``, one finite value per disturbance input; default zeros.
    guess : (state, input) pair, optional
        Starting point; either may be None. Default: the state that meets the set point
        linearly from zero and the input ``0`` (the middle of the limits when both are finite),
        inside the limits. An :class:`OperatingPoint` is accepted.
    tol : float, default 1e-10
        Largest residual accepted, relative to ``max(1, max|output|)``.

    Returns
    -------
    OperatingPoint
        ``(state, input, output, residual)``.

    Raises
    ------
    ValueError
        If the plant has fewer or more outputs than inputs, an argument is not finite or has
        the wrong shape, the set point needs an input outside the actuator limits (naming the
        input and the limit), or no equilibrium with this output is found (giving the
        residual).

    Examples
    --------
    >>> import leaky_control as lc
    >>> from leaky_control.plants import operating_point
    >>> op = operating_point(lc.CruiseControl(), 20.0)
    >>> op.state, op.input.round(4)
    (array([20.]), array([0.1687]))
    >>> operating_point(lc.Pendulum(), 0.5).input.round(4)  # m g l sin(0.5)
    array([4.7032])

    Uphill at 60 m/s the car needs more than full throttle:

    >>> operating_point(lc.CruiseControl(), 60.0, 0.05)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: set point output=60 with disturbance=0.05 is outside ... needs u > 1 ...
    """
    from . import as_plant

    plant = as_plant(plant)
    n, m, p, q = plant.nstates, plant.ninputs, plant.noutputs, plant.ndisturbances
    if p != m:
        raise ValueError(
            f"operating_point needs as many set-point outputs as inputs (a square trim): "
            f"{type(plant).__name__} has {p} output(s) and {m} input(s)")
    D = getattr(plant, "D", None)
    if D is not None and np.any(np.asarray(D) != 0):
        raise ValueError(
            "plant has direct feedthrough (D != 0) from the input to the output; the plant "
            "protocol's output h(x, d) does not see u, so its trim would be wrong: use a "
            "strictly proper plant")
    y_ref = as_finite_array("output", np.atleast_1d(output), shape=(p,))
    d = np.zeros(q) if disturbance is None else as_finite_array(
        "disturbance", np.atleast_1d(disturbance), shape=(q,))
    tol = check_finite_scalar("tol", tol, low=0.0, low_open=True)
    lo, hi = (np.asarray(a, dtype=float).reshape(m) for a in plant.actuator_limits())
    x0, u0 = _guess(guess, n, m)

    upd, out = plant._model_functions()

    def output_of(x: FloatArray) -> FloatArray:
        return np.array(x, dtype=float) if out is None else \
            np.asarray(out(0.0, x, np.concatenate([np.zeros(m), d]), None), dtype=float)

    def equations(z: FloatArray) -> FloatArray:
        x, u = z[:n], z[n:]
        dx = np.asarray(upd(0.0, x, np.concatenate([u, d]), None), dtype=float)
        return np.concatenate([dx, output_of(x) - y_ref])

    def jacobian(z: FloatArray) -> FloatArray:
        Jx, Ju, Cx = plant.jacobian(z[:n], z[n:], d)
        J = np.zeros((n + p, n + m))
        J[:n, :n], J[:n, n:], J[n:, :n] = Jx, Ju, Cx
        return J

    if u0 is None:
        both = np.isfinite(lo) & np.isfinite(hi)
        u0 = np.zeros(m)
        u0[both] = 0.5 * (lo[both] + hi[both])
    u0 = np.clip(u0, lo, hi)
    if x0 is None:
        # meet the set point linearly from zero (the least-norm correction): a start near the
        # answer for the state the output measures, and exact for a linear output
        x0 = np.zeros(n)
        Cx = jacobian(np.concatenate([x0, u0]))[n:, :n]
        x0 = x0 + np.linalg.lstsq(Cx, y_ref - output_of(x0), rcond=None)[0]
    z0 = np.concatenate([x0, u0])
    with np.errstate(over="ignore", invalid="ignore"):  # judged just below, by name
        start_ok = np.all(np.isfinite(equations(z0)))
    if not start_ok:
        raise ValueError(
            f"for the set point output={y_ref.tolist()} the plant's equations are not finite at "
            f"the starting point state={x0.tolist()}, input={u0.tolist()}; give "
            "guess=(state, input) where the plant is defined, or a set point it can reach")

    lb = np.concatenate([np.full(n, -np.inf), lo])
    ub = np.concatenate([np.full(n, np.inf), hi])
    sol = least_squares(equations, z0, jac=jacobian, bounds=(lb, ub), method="trf",
                        x_scale="jac", tr_solver="exact", ftol=1e-15, xtol=1e-15, gtol=1e-15,
                        max_nfev=100 * (n + m + 1))
    z, F = _polish(equations, jacobian, sol.x, lb, ub)
    residual = float(np.max(np.abs(F))) if F.size else 0.0
    scale = max(1.0, float(np.max(np.abs(y_ref))) if p else 1.0)
    if residual <= tol * scale:
        x, u = z[:n].copy(), z[n:].copy()
        return OperatingPoint(x, u, output_of(x), residual)

    setpoint = _describe("output", y_ref) + (f" with {_describe('disturbance', d)}" if q else "")
    beyond = _limits_in_the_way(jacobian(z), F, z[n:], lo, hi, n, plant.input_labels)
    if beyond:
        raise ValueError(
            f"set point {setpoint} is outside the actuator limits: it needs {'; '.join(beyond)}; "
            f"the closest equilibrium within the limits leaves a residual {residual:.3g}")
    raise ValueError(
        f"set point {setpoint} is unreachable: no equilibrium with this output was found "
        f"(residual {residual:.3g} > tol {tol * scale:.3g}; solver: {sol.message}); "
        "if one exists elsewhere, start from it with guess=(state, input)")


def _polish(equations: Callable[[FloatArray], FloatArray],
            jacobian: Callable[[FloatArray], FloatArray], z: FloatArray, lb: FloatArray,
            ub: FloatArray, iterations: int = 8) -> tuple[FloatArray, FloatArray]:
    """Newton steps projected onto the bounds, kept while they lower the residual.

    The trust-region reflective iterates approach an input's limit only geometrically; a
    projected Newton step lands on it (and ends at machine precision elsewhere)."""
    F = equations(z)
    for _ in range(iterations):
        step = np.linalg.lstsq(jacobian(z), -F, rcond=None)[0]  # least-norm: a continuum is fine
        z_new = np.clip(z + step, lb, ub)
        F_new = equations(z_new)
        if not np.all(np.isfinite(F_new)) or np.max(np.abs(F_new)) >= np.max(np.abs(F)):
            break
        z, F = z_new, F_new
    return z, F


def _guess(guess: Any, n: int, m: int) -> tuple[FloatArray | None, FloatArray | None]:
    """``(x0, u0)`` from ``guess`` (a pair or an OperatingPoint; None parts stay None)."""
    if guess is None:
        return None, None
    if hasattr(guess, "state") and hasattr(guess, "input"):
        xs, us = guess.state, guess.input
    else:
        try:
            xs, us = guess
        except (TypeError, ValueError):
            raise ValueError(
                f"guess must be a (state, input) pair or an OperatingPoint, got {guess!r}"
            ) from None
    x0 = None if xs is None else as_finite_array("guess state", np.atleast_1d(xs), shape=(n,))
    u0 = None if us is None else as_finite_array("guess input", np.atleast_1d(us), shape=(m,))
    return x0, u0


def _limits_in_the_way(J: FloatArray, F: FloatArray, u: FloatArray, lo: FloatArray,
                       hi: FloatArray, n: int, labels: Sequence[str]) -> list[str]:
    """Descriptions of the inputs held at a limit that the residual pushes beyond it."""
    g = J[:, n:].T @ F  # gradient of |F|^2 / 2 with respect to u
    size = np.linalg.norm(J[:, n:], axis=0) * np.linalg.norm(F)
    out = []
    for j in range(u.size):
        pushes = abs(g[j]) > 1e-9 * size[j]
        # the solver approaches a limit geometrically: "at" it within 1e-6 of the range
        near = 1e-6 * (hi[j] - lo[j] if np.isfinite(hi[j] - lo[j]) else
                       max(1.0, abs(lo[j]) if np.isfinite(lo[j]) else abs(hi[j])))
        at_hi = np.isfinite(hi[j]) and u[j] >= hi[j] - near
        at_lo = np.isfinite(lo[j]) and u[j] <= lo[j] + near
        if at_hi and g[j] < 0 and pushes:
            out.append(f"{labels[j]} > {hi[j]:g} (its upper limit)")
        elif at_lo and g[j] > 0 and pushes:
            out.append(f"{labels[j]} < {lo[j]:g} (its lower limit)")
    return out


def _describe(name: str, v: FloatArray) -> str:
    return f"{name}={v[0]:g}" if v.size == 1 else f"{name}={[float(f'{a:g}') for a in v]}"
