"""Step-response figures for reports: output, input and disturbance over time, coasting shaded.

Every function draws on matplotlib without choosing a backend (scripts select Agg) and returns
python-control's :class:`control.ControlPlot`, whose ``lines`` array holds the real
:class:`matplotlib.lines.Line2D` objects per axes, so a user can restyle them afterwards.

The *coasting* spans shaded here are the intervals where the output is above its target
(``e = r - y < 0``) while the input reaching the plant is zero: what a ReLU controller does on
overshoot, and what any controller does when the actuator cannot act in that direction (a
throttle without a brake).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

if TYPE_CHECKING:
    import control as ct
    from matplotlib.axes import Axes

__all__ = ["COASTING_LABEL", "coasting_spans", "response_grid_plot", "step_response_plot"]

#: Legend text of the coasting shading.
COASTING_LABEL = "coasting: above set point, zero input (bars: which run)"
#: Shading of the coasting spans (one colour for every controller, so it has one legend entry).
_COAST_STYLE: dict[str, Any] = {"color": "0.6", "alpha": 0.18, "lw": 0}
_Column = tuple[str, Sequence[tuple[str, Any]]]


def _as_signal(name: str, value: ArrayLike) -> NDArray[np.float64]:
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be an array of numbers, got {type(value).__name__}") from None
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    return arr


def coasting_spans(t: ArrayLike, e: ArrayLike, u: ArrayLike,
                   u_tol: float | None = None) -> list[tuple[float, float]]:
    """Time intervals where the loop coasts: output above target (``e < 0``) and zero input.

    A span opens at the first sample that coasts and closes at the first sample that does not
    (or at the last time point), so on a grid of spacing ``h`` each end is within ``h`` of the
    true switching instant.

    Parameters
    ----------
    t : array_like
        Time points, strictly increasing.
    e : array_like
        Error ``r - y`` on ``t``.
    u : array_like
        Input reaching the plant on ``t``.
    u_tol : float, optional
        Inputs with ``|u| <= u_tol`` count as zero (finite, ``>= 0``); default
        ``1e-9 * max(1, max |u|)``, the rule of :func:`leaky_control.metrics.coasting_mask`
        that ``CoastingFraction`` uses.

    Returns
    -------
    list of tuple of float
        ``[(t_start, t_end), ...]`` in increasing order.

    Raises
    ------
    ValueError
        If the arrays differ in length, ``t`` is not strictly increasing or ``u_tol`` is
        negative or not finite.
    """
    tt, ee, uu = _as_signal("t", t), _as_signal("e", e), _as_signal("u", u)
    if not (ee.shape == tt.shape and uu.shape == tt.shape):
        raise ValueError(f"t, e and u must have the same length, got {tt.size}, {ee.size} and "
                         f"{uu.size}")
    if tt.size > 1 and not np.all(np.diff(tt) > 0):
        raise ValueError("t must be strictly increasing")
    from ..metrics import coasting_mask

    mask = coasting_mask(ee, uu, u_tol)
    spans: list[tuple[float, float]] = []
    start: float | None = None
    for k, on in enumerate(mask):
        if on and start is None:
            start = float(tt[k])
        if not on and start is not None:
            spans.append((start, float(tt[k])))
            start = None
    if start is not None:
        spans.append((start, float(tt[-1])))
    return spans


def _signal(resp: Any, name: str) -> NDArray[np.float64] | None:
    loop = getattr(resp, "loop", None)
    labels = list(getattr(loop, "output_labels", None) or [])
    if name not in labels:
        return None
    return np.asarray(resp.signal(name), dtype=float)


def _output(resp: Any) -> NDArray[np.float64]:
    y = np.asarray(resp.outputs, dtype=float)
    return y if y.ndim == 1 else y[0]


def _check_columns(columns: Any) -> list[_Column]:
    if isinstance(columns, str) or not isinstance(columns, Sequence) or len(columns) == 0:
        raise ValueError("columns must be a non-empty list of (title, [(label, response), ...]), "
                         f"got {columns!r}")
    out: list[_Column] = []
    for j, col in enumerate(columns):
        if not (isinstance(col, tuple | list) and len(col) == 2 and isinstance(col[0], str)):
            raise ValueError(f"columns[{j}] must be (title, [(label, response), ...]), got {col!r}")
        title, responses = col
        if not isinstance(responses, Sequence) or len(responses) == 0:
            raise ValueError(f"columns[{j}] ({title!r}) has no responses")
        for k, item in enumerate(responses):
            if not (isinstance(item, tuple | list) and len(item) == 2 and isinstance(item[0], str)
                    and hasattr(item[1], "time") and hasattr(item[1], "outputs")):
                raise ValueError(f"columns[{j}] response {k} must be (label, TimeResponseData), "
                                 f"got {item!r}")
        out.append((title, list(responses)))
    return out


def _union(spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
    # overlapping translucent spans would stack into darker grey; shade each instant once
    out: list[tuple[float, float]] = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def _per_time(name: str, value: ArrayLike | None,
              t: NDArray[np.float64]) -> NDArray[np.float64] | None:
    if value is None:
        return None
    arr = np.asarray(value, dtype=float)
    if arr.ndim == 0:
        return np.full_like(t, float(arr))
    if arr.shape != t.shape:
        raise ValueError(f"{name} must be a number or have one value per time point "
                         f"({t.size}), got shape {arr.shape}")
    return arr


def response_grid_plot(
    columns: Sequence[tuple[str, Sequence[tuple[str, Any]]]],
    reference: ArrayLike | None = None,
    *,
    disturbance: ArrayLike | None = None,
    title: str | None = None,
    y_label: str = "y",
    u_label: str = "u",
    d_label: str = "d",
    requested: bool = False,
    coasting: bool = True,
    axes: NDArray[Any] | None = None,
    legend: bool = True,
    legend_ncol: int | None = None,
    legend_loc: str = "outside lower center",
) -> ct.ControlPlot:
    """Grid of step responses: one column per scenario; output, input (and disturbance) rows.

    Responses in a column are drawn in colours ``C0, C1, ...`` and in decreasing line widths,
    the first widest, so runs that coincide stay visible as nested stripes instead of hiding
    each other.

    Parameters
    ----------
    columns : sequence of (str, sequence of (str, LoopResponse))
        Column title and the labelled responses drawn in it (``leaky_control.simulate`` runs:
        the output is the first plant output, the input ``resp.signal("u")``).
    reference : array_like or float, optional
        Reference drawn dashed black on the output axes (one value per time point of the
        first response of each column, or a constant).
    disturbance : array_like or float, optional
        Drawn in a short third row (for example the road slope), on the same time points.
    title : str, optional
        Figure title (``suptitle``).
    y_label, u_label, d_label : str
        Axis labels of the output, input and disturbance rows; put the units in them.
    requested : bool, default False
        Also draw the controller's command before saturation (``u_raw``), dashed, where it
        leaves the input actually applied: what the controller asked for and did not get.
    coasting : bool, default True
        Shade (grey, one legend entry) the spans where a response of the column coasts (see
        :func:`coasting_spans`; needs the error ``e`` in ``resp.loop``), with a bar in the
        run's colour at the foot of the output axes for each run that coasts.
    axes : numpy.ndarray of matplotlib.axes.Axes, optional
        Draw on these axes, shape ``(rows, len(columns))`` with ``rows`` 2, or 3 with a
        disturbance; default a new figure.
    legend : bool, default True
        One figure legend below the axes (labels of the first column, reference, requested
        input, coasting), so no legend covers data.
    legend_ncol : int, optional
        Columns of that legend (default: all entries on one row, up to 6).
    legend_loc : str, default "outside lower center"
        Where the figure legend goes (matplotlib's ``outside ...`` locations keep it off the
        axes in a constrained layout).

    Returns
    -------
    control.ControlPlot
        ``lines[i, j]`` is the list of lines of row ``i`` (0 output, 1 input, 2 disturbance)
        and column ``j``: on the output row the responses then the reference, on the input
        row the applied inputs then the requested ones; ``axes`` the ``(rows, columns)`` axes;
        ``legend`` the figure legend (or ``None``).

    Raises
    ------
    ValueError
        If ``columns``, ``reference``, ``disturbance`` or ``axes`` have the wrong shape.
    """
    import control as ct
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    cols = _check_columns(columns)
    nrows = 3 if disturbance is not None else 2
    if axes is None:
        fig = plt.figure(figsize=(5.2 * len(cols) + 0.8, 6.8 if nrows == 3 else 5.8),
                         layout="constrained")
        grid = fig.add_gridspec(nrows, len(cols), height_ratios=[3, 2, 1][:nrows])
        ax_arr = np.empty((nrows, len(cols)), dtype=object)
        for j in range(len(cols)):
            for i in range(nrows):
                ax_arr[i, j] = fig.add_subplot(grid[i, j],
                                               sharex=ax_arr[0, 0] if (i or j) else None)
    else:
        ax_arr = np.asarray(axes, dtype=object)
        if ax_arr.shape != (nrows, len(cols)):
            raise ValueError(f"axes must have shape ({nrows}, {len(cols)}) (rows x columns), "
                             f"got {ax_arr.shape}")
        fig = ax_arr[0, 0].figure
    lines = np.empty(ax_arr.shape, dtype=object)
    for idx in np.ndindex(ax_arr.shape):
        lines[idx] = []
    handles: list[Any] = []
    labels: list[str] = []
    any_coasting = any_requested = False
    for j, (col_title, responses) in enumerate(cols):
        ay: Axes = ax_arr[0, j]
        au: Axes = ax_arr[1, j]
        n = len(responses)
        t0 = np.asarray(responses[0][1].time, dtype=float)
        col_spans: list[tuple[float, float]] = []
        for k, (label, resp) in enumerate(responses):
            t = np.asarray(resp.time, dtype=float)
            style: dict[str, Any] = {"color": f"C{k}", "lw": 1.3 + 1.0 * (n - 1 - k),
                                     "solid_capstyle": "butt"}
            (ly,) = ay.plot(t, _output(resp), label=label, **style)
            lines[0, j].append(ly)
            u = _signal(resp, "u")
            if u is None:
                u = np.atleast_2d(np.asarray(resp.inputs, dtype=float))[0]
            (lu,) = au.plot(t, u, label=label, **style)
            lines[1, j].append(lu)
            if j == 0:
                handles.append(ly)
                labels.append(label)
            e = _signal(resp, "e")
            if coasting and e is not None:
                spans = coasting_spans(t, e, u)
                for a, b in spans:
                    # a bar per coasting run at the foot of the axes says which run coasts
                    ay.axvspan(a, b, ymin=0.012 + 0.03 * k, ymax=0.036 + 0.03 * k,
                               color=f"C{k}", alpha=0.9, lw=0)
                col_spans.extend(spans)
        if requested:
            for k, (label, resp) in enumerate(responses):
                uraw, u = _signal(resp, "u_raw"), _signal(resp, "u")
                if uraw is None or u is None:
                    continue
                t = np.asarray(resp.time, dtype=float)
                lost = np.abs(uraw - u) > 1e-9 * max(1.0, float(np.max(np.abs(u))))
                if not np.any(lost):
                    continue
                # only where the request differs from what was applied; the rest is the solid line
                shown = np.where(lost, uraw, np.nan)
                (lr,) = au.plot(t, shown, color=f"C{k}", lw=1.3, ls=(0, (3, 2)),
                                label=f"{label}: requested")
                lines[1, j].append(lr)
                any_requested = True
        for a, b in _union(col_spans):
            ay.axvspan(a, b, **_COAST_STYLE)
            any_coasting = True
        if reference is not None:
            ref = _per_time("reference", reference, t0)
            assert ref is not None
            (lref,) = ay.plot(t0, ref, color="k", ls="--", lw=1.0, label="set point")
            lines[0, j].append(lref)
            if j == 0:
                handles.append(lref)
                labels.append("set point")
        if disturbance is not None:
            ad: Axes = ax_arr[2, j]
            d = _per_time("disturbance", disturbance, t0)
            assert d is not None
            (ld,) = ad.plot(t0, d, color="0.3", lw=1.4)
            lines[2, j].append(ld)
            ad.set_ylabel(d_label)
            ad.axhline(0.0, color="k", lw=0.6)
        ay.set_title(col_title)
        ay.set_ylabel(y_label)
        au.set_ylabel(u_label)
        au.axhline(0.0, color="k", lw=0.6)
        ax_arr[-1, j].set_xlabel("time [s]")
        for i in range(nrows):
            ax_arr[i, j].grid(True, ls=":")
            if i < nrows - 1:
                ax_arr[i, j].tick_params(labelbottom=False)
    if any_requested:
        from matplotlib.lines import Line2D

        handles.append(Line2D([], [], color="0.3", lw=1.3, ls=(0, (3, 2))))
        labels.append("command before the actuator limit (dashed)")
    if any_coasting:
        handles.append(Patch(**_COAST_STYLE))
        labels.append(COASTING_LABEL)
    leg = None
    if legend:
        ncol = legend_ncol if legend_ncol is not None else min(len(handles), 6)
        leg = fig.legend(handles, labels, loc=legend_loc, ncol=ncol,  # type: ignore[call-overload]
                         frameon=False)
    if title:
        fig.suptitle(title)
    return ct.ControlPlot(lines, axes=ax_arr, figure=fig, legend=leg)


def step_response_plot(
    responses: Sequence[tuple[str, Any]],
    reference: ArrayLike | None = None,
    *,
    disturbance: ArrayLike | None = None,
    title: str | None = None,
    y_label: str = "y",
    u_label: str = "u",
    d_label: str = "d",
    requested: bool = False,
    coasting: bool = True,
) -> ct.ControlPlot:
    """One column of :func:`response_grid_plot`: labelled responses, output over input.

    Parameters
    ----------
    responses : sequence of (str, LoopResponse)
        Labelled runs of :func:`leaky_control.simulate`.
    reference, disturbance : array_like or float, optional
        As in :func:`response_grid_plot`.
    title : str, optional
        Axes title.
    y_label, u_label, d_label : str
        Axis labels, with units.
    requested, coasting : bool
        As in :func:`response_grid_plot`.

    Returns
    -------
    control.ControlPlot
        ``lines`` and ``axes`` of shape ``(2, 1)`` (``(3, 1)`` with a disturbance).

    Examples
    --------
    >>> import control as ct, leaky_control as lc                     # doctest: +SKIP
    >>> from leaky_control.plotting import step_response_plot           # doctest: +SKIP
    >>> runs = [(f"a = {a:g}", lc.step_response(ct.tf([1], [1, 2, 0]),
    ...          lc.LeakyPD(kp=4.0, kd=1.0, negative_slope=a), timepts=20.0))
    ...         for a in (0.0, 1.0)]                                    # doctest: +SKIP
    >>> cplt = step_response_plot(runs, reference=1.0, y_label="y [rad]")  # doctest: +SKIP
    >>> cplt.figure.savefig("step.png")                                 # doctest: +SKIP
    """
    return response_grid_plot([(title or "", responses)], reference, disturbance=disturbance,
                              y_label=y_label, u_label=u_label, d_label=d_label,
                              requested=requested, coasting=coasting)
