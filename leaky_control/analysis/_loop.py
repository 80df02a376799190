"""Shared input handling for the loop analyses: matrices, gain, slope, vertices, centre loop.

The loop is ``x' = A x + B phi_a(k (r - C x))`` with ``m`` channels (``B`` is ``(n, m)``,
``C`` is ``(m, n)``); the state-feedback controller is the case ``C = K``, ``k = 1``. Its
differential dynamics are ``dx' = (A - k B diag(s) C) dx`` with each ``s_i`` in ``[a, 1]``.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

import numpy as np

from ._checks import as_array, check_real

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

    from .._typing import FloatArray

__all__ = []


def loop_matrices(A: ArrayLike, B: ArrayLike, C: ArrayLike,
                  names: tuple[str, str, str] = ("A", "B", "C")
                 ) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Validate ``A, B, C`` and return them as float64 arrays with ``B (n, m)``, ``C (m, n)``."""
    na, nb, nc = names
    A = as_array(na, A)
    if A.ndim == 0:
        A = A.reshape(1, 1)
    if A.ndim != 2 or A.shape[0] != A.shape[1] or A.shape[0] == 0:
        raise ValueError(f"{na} must be a non-empty square matrix (n, n), got shape {A.shape}")
    n = A.shape[0]
    B = as_array(nb, B)
    if B.ndim <= 1:
        B = B.reshape(-1, 1)
    if B.ndim != 2 or B.shape[0] != n or B.shape[1] == 0:
        raise ValueError(
            f"{nb} must have shape ({n}, m), m >= 1, to match {na} {A.shape}, got {B.shape}"
        )
    m = B.shape[1]
    C = as_array(nc, C)
    if C.ndim <= 1:
        C = C.reshape(1, -1)
    if C.ndim != 2 or C.shape != (m, n):
        raise ValueError(
            f"{nc} must have shape ({m}, {n}) (one row per input channel of {nb} {B.shape}, "
            f"one column per state of {na}), "
            f"got {C.shape}"
        )
    return A, B, C


def check_gain(k: float, name: str = "k") -> float:
    """A positive finite loop gain (a negative gain is the same loop with ``-C``)."""
    return check_real(name, k, low=0.0, low_open=True)


def _plant_matrices(plant: Any) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Duck-type a plant: python-control systems, our LinearPlant, anything with ``.A .B .C``."""
    import control as ct  # core dependency; imported here so this module stays light

    if isinstance(plant, ct.TransferFunction):
        plant = ct.ss(plant)
    if not all(hasattr(plant, name) for name in ("A", "B", "C")):
        raise TypeError(
            "plant must be a control.StateSpace, control.TransferFunction or a linear plant with "
            f"attributes .A, .B, .C (.D), got {type(plant).__name__}"
        )
    # named checks: a complex or non-numeric matrix must not be cast (numpy would drop the
    # imaginary part with only a warning and certify a different plant)
    A, B, C = (as_array(f"plant.{name}", getattr(plant, name), finite=False)
               for name in ("A", "B", "C"))
    D = as_array("plant.D", getattr(plant, "D", 0.0))
    if np.any(D != 0.0):
        raise ValueError(
            "plant must be strictly proper (D = 0): with a feedthrough the loop through the "
            f"leaky ReLU is an algebraic loop, which these analyses do not cover; got D = {D!r}"
        )
    return A, B, C


def _check_unsupported(obj: Any, what: str) -> None:
    """Refuse features that break the slope restriction or the continuous-time model.

    Saturation flattens the nonlinearity (slope 0 outside the linear range, so the sector is no
    longer [a k, k]); integral/derivative terms add controller states; a sample time makes the
    loop discrete-time. None of these is covered by the analyses, so silently ignoring them
    would certify the wrong loop.
    """
    for name in ("ki", "kd"):
        if getattr(obj, name, 0.0) not in (0, 0.0, None):
            raise TypeError(
                f"{what} has {name}={getattr(obj, name)!r}; only proportional (LeakyP) and "
                "state-feedback controllers are covered"
            )
    for name in ("u_min", "u_max"):
        v = getattr(obj, name, None)
        if v is not None and np.all(np.isfinite(v)):
            raise ValueError(
                f"{what} has {name}={v!r}: saturation breaks the slope restriction [a, 1]; "
                "analyse the unsaturated loop (infinite limits)"
            )
    if getattr(obj, "input_limits", None) is not None:
        raise ValueError(
            f"{what} has input_limits={obj.input_limits!r}: saturation breaks the slope "
            "restriction [a, 1]; analyse the unsaturated plant"
        )
    # python-control marks continuous time with dt = 0 (None: unspecified timebase)
    if getattr(obj, "dt", None) not in (None, 0):
        raise ValueError(f"{what} is sampled (dt={obj.dt!r}); the analyses are continuous-time")


def resolve_loop(A: Any, B: Any, C: Any, k: Any, negative_slope: float | None, *,
                 allow_mimo: bool = True
                ) -> tuple[FloatArray, FloatArray, FloatArray, Any, float, str]:
    """Return ``(A, B, C, k, a, kind)`` for either call form.

    Matrix form: ``(A, B, C, k, negative_slope)``. System form: ``A`` is a plant and ``B`` a
    controller (``LeakyP``: ``.kp``; ``LeakyStateFeedback``: ``.K``) or ``None`` with ``k`` and
    ``negative_slope`` given as keywords (then ``C`` must be ``None``).
    """
    is_plant = hasattr(A, "A") or type(A).__name__ == "TransferFunction"
    k_name, a_name = "k", "negative_slope"
    if is_plant:
        Ap, Bp, Cp = _plant_matrices(A)
        _check_unsupported(A, "plant")
        controller = B
        if controller is not None:
            _check_unsupported(controller, "controller")
        if C is not None:
            raise TypeError("with a plant as first argument, pass the controller second and no C")
        if controller is None:
            if negative_slope is None:
                raise TypeError("negative_slope is required when no controller is given")
            A_, B_, C_ = loop_matrices(Ap, Bp, Cp, ("plant.A", "plant.B", "plant.C"))
            kind = "proportional"
            k = 1.0 if k is None else k
        elif hasattr(controller, "K"):
            if k is not None or negative_slope is not None:
                raise TypeError("k and negative_slope come from the controller; do not pass them")
            K = as_array("controller.K", controller.K, finite=False)
            A_, B_, C_ = loop_matrices(Ap, Bp, K, ("plant.A", "plant.B", "controller.K"))
            k, negative_slope, kind = 1.0, controller.negative_slope, "state_feedback"
            k_name, a_name = "k", "controller.negative_slope"
        elif hasattr(controller, "kp"):
            if k is not None or negative_slope is not None:
                raise TypeError("k and negative_slope come from the controller; do not pass them")
            A_, B_, C_ = loop_matrices(Ap, Bp, Cp, ("plant.A", "plant.B", "plant.C"))
            k, negative_slope, kind = controller.kp, controller.negative_slope, "proportional"
            k_name, a_name = "controller.kp", "controller.negative_slope"
        else:
            raise TypeError(
                "controller must be a LeakyP (attribute .kp) or LeakyStateFeedback (attribute .K), "
                f"got {type(controller).__name__}"
            )
    else:
        if B is None or C is None:
            raise TypeError("matrix form needs A, B and C")
        if negative_slope is None:
            raise TypeError("negative_slope is required")
        A_, B_, C_ = loop_matrices(A, B, C)
        k = 1.0 if k is None else k
        kind = "matrix"
    k = check_gain(k, k_name)
    a = check_real(a_name, negative_slope, low=0.0, high=1.0)
    if not allow_mimo and B_.shape[1] != 1:
        raise ValueError(
            f"this test is for single-input loops (B with one column), got B of shape {B_.shape}; "
            "use contraction_rate for multi-input loops"
        )
    return A_, B_, C_, k, a, kind


def vertices(A: FloatArray, B: FloatArray, C: FloatArray, k: Any,
             a: float) -> tuple[FloatArray, FloatArray]:
    """Jacobians ``A - k B diag(s) C`` at every corner ``s`` of ``[a, 1]^m`` (deduplicated)."""
    m = B.shape[1]
    corners = [(1.0,) * m] if a == 1.0 else list(itertools.product((a, 1.0), repeat=m))
    return np.stack([A - k * (B * np.asarray(s)) @ C for s in corners]), np.asarray(corners)


def centre(A: FloatArray, B: FloatArray, C: FloatArray, k: Any, a: float) -> FloatArray:
    """The centre loop ``A - k (1 + a)/2 B C`` (the linear gain in the middle of the sector)."""
    return A - k * 0.5 * (1.0 + a) * B @ C


def spectral_abscissa(J: FloatArray) -> float:
    return float(np.max(np.linalg.eigvals(J).real))
