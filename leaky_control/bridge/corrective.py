"""Corrective-signal availability: one metric for a control loop and for a training run.

The package's principle is a corrective signal that never switches off. This module measures
how often it is *available*, on both sides, as ``1 - (fraction of the time it is lost)``:

- **control** (:func:`control_availability`): the signal is lost at time ``t`` when the plant
  is off target, ``|e(t)| > e_tol``, while the input reaching the plant is zero,
  ``|u(t)| <= u_tol``. With ``e_tol = 0`` and a loop whose input is never zero while ``e > 0``,
  the lost fraction is :func:`leaky_control.metrics.coasting_fraction` (a ReLU controller's
  coasting: output above target, no input);
- **training** (:func:`training_availability`): the signal is lost for a (sample, hidden unit)
  pair whose activation derivative is exactly zero, so no gradient flows through it; the lost
  fraction per epoch is ``TrainHistory.zero_grad_fraction``.

Both return an :class:`Availability`: a per-time (or per-epoch) array and a time-weighted
(trapezoid) summary, so a value of 1 means the corrective signal was always there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..analysis._checks import as_array, check_real
from ..metrics import coasting_fraction

if TYPE_CHECKING:

    from .._typing import FloatArray
    from .training import TrainHistory

__all__ = ["Availability", "control_availability", "training_availability"]


@dataclass(frozen=True)
class Availability:
    """Corrective-signal availability over a run.

    Attributes
    ----------
    x : numpy.ndarray
        Time points (control) or epochs (training).
    availability : numpy.ndarray
        Per point, in ``[0, 1]``: for control 1 or 0 (signal available or lost at that time),
        for training ``1 - zero_grad_fraction`` of that epoch.
    summary : float
        Trapezoid average of ``availability`` over ``x`` (for a single point, that point).
    lost : float
        ``1 - summary``: the time (or epoch) weighted fraction with the signal lost.
    """

    x: np.ndarray
    availability: np.ndarray
    summary: float
    lost: float


def _trapezoid_mean(x: FloatArray, v: FloatArray) -> float:
    if x.size == 1:
        return float(v[0])
    dx = np.diff(x)
    return float(np.sum(dx * 0.5 * (v[1:] + v[:-1])) / (x[-1] - x[0]))


def _output(resp: Any, name: str) -> FloatArray:
    # a leaky_control run keeps e and u in resp.loop; other data may carry them as outputs
    data: Any  # the inner-loop signals (None when absent), then the response itself
    for data in (getattr(resp, "loop", None), resp):
        labels = list(getattr(data, "output_labels", None) or [])
        if name in labels:
            outputs = as_array(f"resp.outputs ({name!r})", data.outputs, finite=False)
            return np.atleast_2d(outputs)[labels.index(name)]
    raise ValueError(
        f"resp must be a simulated loop with signals 'e' and 'u' (from leaky_control.simulate); "
        f"{name!r} is not among them")


def control_availability(resp: Any, e_tol: float | None = None,
                         u_tol: float | None = None) -> Availability:
    """Corrective-signal availability of a simulated control loop.

    The signal is lost at time ``t`` when the plant is off target, ``|e| > e_tol``, and the
    input reaching the plant is zero, ``|u| <= u_tol``.

    Parameters
    ----------
    resp : control.TimeResponseData
        A response of :func:`leaky_control.simulate` (single-output loop: it needs the ``e``
        and ``u`` signals of ``resp.loop``), or any response with outputs labelled ``e`` and
        ``u``.
    e_tol : float, optional
        Off-target tolerance (>= 0), in the output's units. Default: 2 % of the largest
        ``|r|`` (python-control's default settling band), 0 when the reference is 0.
    u_tol : float, optional
        Inputs with ``|u| <= u_tol`` count as zero (>= 0); default as
        :func:`leaky_control.metrics.coasting_fraction`, ``1e-9 * max(1, max |u|)``.

    Returns
    -------
    Availability
        ``x`` is the time; ``availability`` is 1 where the signal is available, 0 where lost;
        ``lost`` equals ``coasting_fraction(t, tol - |e|, u, u_tol)`` (the coasting fraction
        with "above target" replaced by "off target by more than ``e_tol``").

    Raises
    ------
    ValueError
        If ``resp`` lacks ``e`` or ``u`` or a tolerance is negative or not finite.
    """
    if not hasattr(resp, "time"):
        raise TypeError(
            "resp must be a simulated loop (a response of leaky_control.simulate, with time and "
            f"the signals 'e' and 'u'), got {type(resp).__name__}"
        )
    t = as_array("resp.time", resp.time, finite=False)
    e, u = _output(resp, "e"), _output(resp, "u")
    if not (np.all(np.isfinite(e)) and np.all(np.isfinite(u))):
        raise ValueError("resp has non-finite e or u (a failed run); availability is undefined")
    if e_tol is None:
        labels = list(getattr(resp, "input_labels", []))
        r = as_array("resp.inputs", resp.inputs, finite=False)
        r = np.atleast_2d(r)[labels.index("r")] if "r" in labels else e * 0.0
        e_tol = 0.02 * float(np.max(np.abs(r)))
    e_tol = check_real("e_tol", e_tol, low=0.0)
    if u_tol is None:
        u_tol = 1e-9 * max(1.0, float(np.max(np.abs(u))))
    u_tol = check_real("u_tol", u_tol, low=0.0)
    # coasting_fraction counts "e' < 0 and u == 0"; e' = e_tol - |e| is negative exactly off target
    shifted = e_tol - np.abs(e)
    lost_now = (shifted < 0) & (np.abs(u) <= u_tol)
    lost = coasting_fraction(t, shifted, u, u_tol=u_tol)
    return Availability(x=t, availability=1.0 - lost_now.astype(float), summary=1.0 - lost, lost=lost)


def training_availability(history: TrainHistory) -> Availability:
    """Corrective-signal availability of a training run, per epoch.

    Parameters
    ----------
    history : leaky_control.bridge.training.TrainHistory
        From :func:`leaky_control.bridge.training.train` with ``track=True`` (the default).

    Returns
    -------
    Availability
        ``x`` is the epoch (row 0: the initial network); ``availability`` is
        ``1 - zero_grad_fraction``: the fraction of (sample, hidden unit) pairs on the training
        set with a nonzero activation derivative; ``summary`` its trapezoid mean over epochs.

    Raises
    ------
    TypeError
        If ``history`` has no ``epoch`` and ``zero_grad_fraction`` arrays.
    ValueError
        If ``zero_grad_fraction`` is empty, not tracked (NaN) or outside ``[0, 1]``.
    """
    if not (hasattr(history, "zero_grad_fraction") and hasattr(history, "epoch")):
        raise TypeError(f"history must be a TrainHistory from train(), got {type(history).__name__}")
    zg = as_array("history.zero_grad_fraction", history.zero_grad_fraction, finite=False)
    ep = as_array("history.epoch", history.epoch, finite=False)
    if zg.ndim != 1 or zg.size == 0 or zg.shape != ep.shape:
        raise ValueError(f"history.zero_grad_fraction must be a non-empty 1-d array matching "
                         f"history.epoch, got shapes {zg.shape} and {ep.shape}")
    if not np.all((zg >= 0) & (zg <= 1)):
        raise ValueError("history.zero_grad_fraction must lie in [0, 1] (train with track=True), "
                         f"got {zg!r}")
    avail = 1.0 - zg
    summary = _trapezoid_mean(ep, avail)
    return Availability(x=ep, availability=avail, summary=summary, lost=1.0 - summary)
