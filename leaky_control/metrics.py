"""Step-response metrics with python-control's keys, plus loop-quality and coasting metrics.

The python-control keys follow :func:`control.step_info`'s definitions exactly (measured from
``initial_output``, 0 by default, as python-control assumes). Two differences, both deliberate:

- the final value is not guessed from the last sample of a run that has not settled: unless
  ``final_output`` is given, the response counts as settled only when its last 20 % of the
  time window moves by less than a quarter of the settling band; otherwise ``Settled`` is False
  and every key that depends on the final value is NaN;
- extra keys: ``Settled``, ``IAE``, ``ISE``, ``ITAE``, ``ControlEffort`` and
  ``CoastingFraction``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ._validate import as_finite_array, check_finite_scalar
from .step_metrics import COAST_RTOL, NMETRICS, SETTLED, STEP_INFO_KEYS, step_metrics_kernel

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, NDArray

    from ._typing import FloatArray

__all__ = ["STEP_INFO_KEYS", "coasting_fraction", "coasting_mask", "step_info"]



def _time_weights(t: FloatArray) -> FloatArray:
    """Trapezoid weights: sum(w * f) is the trapezoid integral of f."""
    dt = np.diff(t)
    w = np.zeros_like(t)
    w[:-1] += dt / 2
    w[1:] += dt / 2
    return w


def coasting_mask(e: NDArray[np.float64], u: NDArray[np.float64],
                  u_tol: float | None = None) -> NDArray[np.bool_]:
    """Where the loop coasts: output above its target (``e < 0``) and zero input.

    Parameters
    ----------
    e, u : ndarray
        Error ``r - y`` and input reaching the plant, finite, same shape.
    u_tol : float, optional
        Inputs with ``|u| <= u_tol`` count as zero; default ``1e-9 * max(1, max |u|)``
        (``step_metrics.COAST_RTOL``), the tolerance :func:`step_info`'s
        ``CoastingFraction`` uses.

    Returns
    -------
    ndarray of bool
    """
    if u_tol is None:
        u_tol = COAST_RTOL * max(1.0, float(np.max(np.abs(u), initial=0.0)))
    u_tol = check_finite_scalar("u_tol", u_tol, low=0.0)
    return (e < 0) & (np.abs(u) <= u_tol)


def coasting_fraction(t: ArrayLike, e: ArrayLike, u: ArrayLike,
                      u_tol: float | None = None) -> float:
    """Fraction of the time the output is above its target while the input is zero.

    The output is above its target when ``e = r - y < 0``: the side on which a ReLU
    controller ``u = k max(0, e)`` is silent. The corrective signal counts as zero when
    ``|u| <= u_tol``. This is how long the loop *coasts*.

    Parameters
    ----------
    t : array_like
        Time points.
    e : array_like
        Error ``r - y`` on ``t``.
    u : array_like
        Input reaching the plant on ``t``.
    u_tol : float, optional
        Default ``1e-9 * max(1, max |u|)``.

    Returns
    -------
    float
        Time-weighted (trapezoid) fraction in ``[0, 1]``.
    """
    # a NaN would count as "not coasting" and silently shrink the fraction
    t, e, u = (as_finite_array(k, v, ndim=1) for k, v in (("t", t), ("e", e), ("u", u)))
    if not t.size >= 2 or e.shape != t.shape or u.shape != t.shape:
        raise ValueError(f"t, e and u must have the same length, at least 2, got shapes "
                         f"{t.shape}, {e.shape}, {u.shape}")
    if not np.all(np.diff(t) > 0):
        raise ValueError("t must be strictly increasing")
    coast = coasting_mask(e, u, u_tol)
    w = _time_weights(t)
    return float(np.sum(w * coast) / np.sum(w))


def step_info(data: Any, timepts: ArrayLike | None = None, *,
              final_output: float | None = None, settling_threshold: float = 0.02,
              rise_limits: tuple[float, float] = (0.1, 0.9), initial_output: float = 0.0,
              output: int | str = 0) -> dict[str, float | bool]:
    """Step-response characteristics of a response, with python-control's keys and more.

    Parameters
    ----------
    data : control.TimeResponseData or array_like
        A response from :func:`leaky_control.simulate`, or any ``TimeResponseData``
        python-control builds (labelled or not; a step response of a single-input system), or
        the output samples ``y`` as an array (then ``timepts`` is required), as
        :func:`control.step_info` takes them.
    timepts : array_like, optional
        Times of the samples when ``data`` is an array (strictly increasing, same length).
    final_output : float, optional
        Final value to measure against. Default: the last sample, provided the run settled.
    settling_threshold : float, default 0.02
        Settling band as a fraction of the final value (python-control's convention), in (0, 1).
    rise_limits : (float, float), default (0.1, 0.9)
        Rise-time limits as fractions of the final value, ``0 <= low < high <= 1``.
    initial_output : float, default 0.0
        Output value the step starts from; python-control's metrics assume 0.
    output : int or str, default 0
        Which output of a response to measure (index or label).

    Returns
    -------
    dict
        python-control's keys ``RiseTime, SettlingTime, SettlingMin, SettlingMax, Overshoot,
        Undershoot, Peak, PeakTime, SteadyStateValue`` and ``Settled`` (bool), ``IAE``,
        ``ISE``, ``ITAE`` (integrals of ``|e|``, ``e^2``, ``(t - t0)|e|``), ``ControlEffort``
        (integral of ``|u|``) and ``CoastingFraction`` (see :func:`coasting_fraction`); the loop
        metrics are NaN for data without ``e``/``u`` outputs (arrays, python-control's own
        responses). An unsettled run (unless ``final_output`` is given) has ``Settled`` False
        and NaN for every key that needs a final value.
    """
    opts = metric_options(settling_threshold, rise_limits, initial_output, final_output)
    t, y, e, u = _step_data(data, timepts, output)
    has_loop = e is not None and u is not None
    if not has_loop:
        e = u = np.zeros(1)
    values = np.empty(NMETRICS)
    step_metrics_kernel()(t, y, np.ascontiguousarray(e), np.ascontiguousarray(u), has_loop,
                          opts, values)
    return metrics_dict(values)


def _step_data(data: Any, timepts: ArrayLike | None, output: int | str
               ) -> tuple[FloatArray, FloatArray, FloatArray | None, FloatArray | None]:
    """``(t, y, e, u)`` from a response or from arrays (``e``/``u`` None when absent)."""
    if hasattr(data, "time") and hasattr(data, "outputs"):
        if timepts is not None:
            raise TypeError("timepts goes with an array of samples; a TimeResponseData "
                            "carries its own time")
        t = np.ascontiguousarray(data.time, dtype=float)
        outs = np.asarray(data.outputs, dtype=float)
        if outs.ndim == 3:  # python-control's step responses: (outputs, inputs, time)
            if outs.shape[1] != 1:
                raise ValueError(
                    f"data holds the step responses from {outs.shape[1]} inputs; pass one as "
                    "arrays: step_info(resp.outputs[i, j], resp.time)")
            outs = outs[:, 0]
        outs = np.atleast_2d(outs)
        labels = list(data.output_labels) if data.output_labels is not None else []
        if isinstance(output, str):
            if output not in labels:
                raise ValueError(f"output {output!r} not among the response's outputs {labels}")
            output = labels.index(output)
        if isinstance(output, bool) or not isinstance(output, int | np.integer) or \
                not 0 <= output < outs.shape[0]:
            raise ValueError(f"output must be an output label or an index in [0, "
                             f"{outs.shape[0]}), got {output!r}")
        y = np.ascontiguousarray(outs[output])

        # a leaky_control run keeps its inner-loop signals apart from the outputs
        inner: Any = getattr(data, "loop", None)
        inner_labels = list(inner.output_labels) if inner is not None else []

        def signal(name: str) -> FloatArray | None:
            if name in inner_labels:
                return np.ascontiguousarray(inner.y[inner_labels.index(name)])
            return None

        e, u = signal("e"), signal("u")
    else:
        if isinstance(data, str | bytes) or not hasattr(data, "__len__"):
            raise TypeError("data must be a control.TimeResponseData or an array of output "
                            f"samples, got {type(data).__name__}")
        if timepts is None:
            raise TypeError("step_info of an array of samples needs timepts (their times), "
                            "as control.step_info(y, T) does")
        # NaN samples are a run's honest failure marker: allowed in y, not in the times
        try:
            y = np.ascontiguousarray(np.squeeze(np.asarray(data, dtype=float)))
        except (TypeError, ValueError, OverflowError):
            raise TypeError(f"data must be an array of real output samples, got {data!r}") \
                from None
        t = as_finite_array("timepts", np.squeeze(np.asarray(timepts, dtype=object))
                            if np.ndim(timepts) else timepts)
        if y.ndim != 1 or t.shape != y.shape:
            raise ValueError(f"data and timepts must be 1-D of the same length, got shapes "
                             f"{np.shape(data)} and {np.shape(timepts)}")
        e = u = None
    if t.size < 2 or not np.all(np.isfinite(t)) or not np.all(np.diff(t) > 0):
        raise ValueError("the time points must be finite and strictly increasing, at least 2")
    return t, y, e, u


def metric_options(settling_threshold: float = 0.02,
                   rise_limits: tuple[float, float] = (0.1, 0.9), initial_output: float = 0.0,
                   final_output: float | None = None) -> FloatArray:
    """Validate :func:`step_info`'s options and return the metric kernel's option vector.

    Parameters are those of :func:`step_info`; the vector layout is documented in
    :mod:`leaky_control.step_metrics`.
    """
    thr = check_finite_scalar("settling_threshold", settling_threshold, low=0.0, high=1.0,
                              low_open=True, high_open=True)
    try:
        lo_lim, hi_lim = rise_limits
    except (TypeError, ValueError):
        raise ValueError(f"rise_limits must be a pair (low, high), got {rise_limits!r}") from None
    lo_lim = check_finite_scalar("rise_limits[0]", lo_lim, low=0.0, high=1.0)
    hi_lim = check_finite_scalar("rise_limits[1]", hi_lim, low=0.0, high=1.0)
    if not lo_lim < hi_lim:
        raise ValueError(f"rise_limits must satisfy low < high, got {rise_limits!r}")
    y0 = check_finite_scalar("initial_output", initial_output)
    final = math.nan if final_output is None else check_finite_scalar("final_output", final_output)
    return np.array([thr, lo_lim, hi_lim, y0, final], dtype=float)


def metrics_dict(values: Sequence[float] | FloatArray) -> dict[str, float | bool]:
    """Map a kernel metric vector to ``step_info``'s dict (``Settled`` as bool)."""
    info = {k: float(v) for k, v in zip(STEP_INFO_KEYS, values)}
    info["Settled"] = bool(values[SETTLED])
    return info
