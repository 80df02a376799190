"""Nyquist plots with the circle-criterion disk of a leaky loop.

The loop ``u = k phi_a(r - y)``, ``y = G(s) u`` has its nonlinearity in the sector
``[a k, k]``. The circle criterion asks the Nyquist curve of ``G`` to stay out of the disk
whose diameter is ``[-1/(a k), -1/k]`` on the real axis (for ``a = 0`` the half-plane
``Re s < -1/k``); :func:`circle_criterion_plot` draws the curve with python-control (its
frequency-direction arrows and mirror image) and one critical region per sector, with the
verdict of :func:`leaky_control.analysis.sector.circle_criterion` in the legend.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import control as ct
import numpy as np
from numpy.typing import ArrayLike, NDArray

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.legend import Legend

__all__ = ["circle_criterion_plot"]

# the Nyquist curve is drawn in C0; the critical regions take the next colours, red first
_SECTOR_COLORS = ("C3", "C1", "C2", "C4", "C5", "C6", "C8", "C9")


def _check_sectors(sectors: Any) -> list[tuple[float, float]]:
    """``(k, a)`` or a sequence of them -> list of float pairs, each checked."""
    if isinstance(sectors, tuple) and len(sectors) == 2 and all(
            isinstance(v, int | float | np.floating | np.integer) for v in sectors):
        sectors = [sectors]
    try:
        items = list(sectors)
    except TypeError:
        raise TypeError(f"sectors must be a (k, negative_slope) pair or a sequence of such pairs, "
                        f"got {sectors!r}") from None
    if not items:
        raise ValueError("sectors must hold at least one (k, negative_slope) pair, got none")
    if len(items) > len(_SECTOR_COLORS):
        raise ValueError(f"sectors holds {len(items)} pairs; at most {len(_SECTOR_COLORS)} can be "
                         "told apart in one plot")
    out = []
    for i, item in enumerate(items):
        try:
            k, a = (float(v) for v in item)
        except (TypeError, ValueError):
            raise TypeError(f"sectors[{i}] must be a pair (k, negative_slope) of numbers, "
                            f"got {item!r}") from None
        if not (math.isfinite(k) and k > 0):
            raise ValueError(f"sectors[{i}]: the gain k must be finite and > 0, got {k!r}")
        if not (0.0 <= a <= 1.0):
            raise ValueError(f"sectors[{i}]: negative_slope must lie in [0, 1], got {a!r}")
        out.append((k, a))
    return out


def _check_system(sys: Any) -> Any:
    if not isinstance(sys, ct.LTI):
        raise TypeError("sys must be a python-control TransferFunction or StateSpace, "
                        f"got {type(sys).__name__}")
    if not sys.issiso():
        raise ValueError(f"sys must be single-input single-output, got {sys.ninputs} inputs and "
                         f"{sys.noutputs} outputs")
    if not sys.isctime():
        raise ValueError(f"sys must be continuous-time (the circle criterion here is for "
                         f"continuous loops), got dt={sys.dt!r}")
    return sys


def _frequency_grid(omega: ArrayLike | None, results: Sequence[Any]) -> NDArray[np.float64]:
    if omega is not None:
        w = np.asarray(omega, dtype=float)
        if w.ndim != 1 or w.size < 2 or not np.all(np.isfinite(w)) or np.any(w <= 0):
            raise ValueError(f"omega must be a 1-D array of at least 2 finite frequencies > 0 "
                             f"(rad/s), got {omega!r}")
        return np.unique(w)
    # the analysis grid spans every pole of the plant and of the centre loops by three decades;
    # the closest points to the disks are added so that the marked point lies on the curve
    grids = [r.omega[r.omega > 0] for r in results]
    peaks = [r.omega_peak for r in results if math.isfinite(r.omega_peak) and r.omega_peak > 0]
    return np.unique(np.concatenate([*grids, np.asarray(peaks, dtype=float)]))


def _limits(points: NDArray[np.complex128], lo: float, hi: float,
            pad: float) -> tuple[float, float, float, float]:
    """Box around the points and the real interval [lo, hi], padded by ``pad`` of its size."""
    re = np.concatenate([points.real, [lo, hi, 0.0]])
    im = np.concatenate([points.imag, [0.0]])
    x0, x1, y0, y1 = re.min(), re.max(), im.min(), im.max()
    span = max(x1 - x0, y1 - y0, 1e-12)
    return x0 - pad * span, x1 + pad * span, y0 - pad * span, y1 + pad * span


def _drawn_points(lines: Any) -> NDArray[np.complex128]:
    pts = [np.asarray(ln.get_xdata(), dtype=float) + 1j * np.asarray(ln.get_ydata(), dtype=float)
           for seg in np.ravel(lines) for ln in seg if ln is not None]
    allpts = np.concatenate(pts) if pts else np.zeros(1, dtype=complex)
    return allpts[np.isfinite(allpts)]


def circle_criterion_plot(
    sys: Any,
    sectors: tuple[float, float] | Sequence[tuple[float, float]],
    *,
    omega: ArrayLike | None = None,
    ax: Axes | None = None,
    arrows: int = 3,
    mark_closest: bool = True,
    legend_loc: str | None = "below",
    title: str | None = None,
) -> ct.ControlPlot:
    r"""Nyquist plot of ``sys`` with the circle-criterion critical region of each sector.

    For each ``(k, a)`` the loop ``u = k phi_a(r - y)`` has its nonlinearity in the sector
    ``[a k, k]``; the critical region is the disk with diameter ``[-1/(a k), -1/k]`` on the
    real axis, or for ``a = 0`` the half-plane ``Re < -1/k``. The curve is drawn by
    :func:`control.nyquist_plot`: solid for ``omega > 0``, dashed for its mirror image
    (``omega < 0``, the complex conjugate), arrows pointing towards increasing ``omega``. The
    legend gives the verdict of :func:`leaky_control.analysis.sector.circle_criterion` per
    sector (exact Hamiltonian test, including the centre-loop stability the picture cannot
    show) and its margin.

    Parameters
    ----------
    sys : control.TransferFunction or control.StateSpace
        Strictly proper, continuous-time SISO plant ``G``.
    sectors : (float, float) or sequence of (float, float)
        One pair ``(k, negative_slope)`` or a list of them (at most 8): gain ``k > 0`` and
        leak ``a`` in ``[0, 1]``.
    omega : array_like, optional
        Frequencies (rad/s, ``> 0``) at which to draw the curve; default the analysis grid
        (three decades beyond the poles) plus the frequency of closest approach to each disk.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; default a new figure sized to the data's aspect ratio.
    arrows : int, default 3
        Number of frequency-direction arrows on the curve and on its mirror image.
    mark_closest : bool, default True
        Mark, per sector, the point of the curve closest to its critical region (where the
        margin is attained); its frequency is given in the legend.
    legend_loc : str or None, default "below"
        ``"below"`` puts the legend under the axes, any matplotlib location puts it inside,
        ``None`` draws none.
    title : str, optional
        Axes title; default names the plot and the system.

    Returns
    -------
    control.ControlPlot
        ``lines`` is a 1-D object array: ``lines[0]`` the Nyquist curve's artists (python-control's
        primary, scaled primary, mirror and scaled mirror segments), ``lines[i]`` for sector
        ``i - 1`` the critical region's patch and, with ``mark_closest``, the marker. ``axes``
        is a ``(1, 1)`` array, ``figure`` and ``legend`` as usual. The extra attribute
        ``results`` holds one :class:`~leaky_control.analysis.sector.CircleCriterionResult`
        per sector.

    Raises
    ------
    TypeError
        If ``sys`` is not a python-control LTI system or a sector is not a pair of numbers.
    ValueError
        If ``sys`` is not SISO continuous-time or has feedthrough, a gain is not ``> 0``, a
        leak lies outside ``[0, 1]``, ``omega`` is not a grid of positive frequencies, or
        ``arrows`` is negative.

    Examples
    --------
    >>> import control as ct
    >>> cplt = circle_criterion_plot(ct.tf([1], [1, 3, 3, 1]), [(5.0, 0.0), (5.0, 0.5)])
    >>> [r.holds for r in cplt.results]
    [False, True]
    """
    import matplotlib.pyplot as plt
    from matplotlib.colors import to_rgba
    from matplotlib.lines import Line2D
    from matplotlib.patches import Circle, Patch, Rectangle
    from matplotlib.transforms import offset_copy

    from ..analysis.sector import circle_criterion

    sys = _check_system(sys)
    pairs = _check_sectors(sectors)
    if isinstance(arrows, bool) or not isinstance(arrows, int | np.integer) or arrows < 0:
        raise ValueError(f"arrows must be an integer >= 0, got {arrows!r}")
    if legend_loc is not None and not isinstance(legend_loc, str):
        raise TypeError(f"legend_loc must be a string or None, got {legend_loc!r}")
    results = [circle_criterion(sys, k=k, negative_slope=a) for k, a in pairs]
    w = _frequency_grid(omega, results)

    response = ct.nyquist_response(sys, w, warn_encirclements=False, warn_nyquist=False)
    lo = min(-1.0 / (a * k) if a > 0 else -1.0 / k for k, a in pairs)
    hi = max(-1.0 / k for k, _ in pairs)
    if any(a == 0 for _, a in pairs):
        lo = min(lo, 1.25 * hi)  # show some of each half-plane beyond its edge

    if ax is None:
        # the aspect ratio of the data is needed for the figure size: draw on a scratch axes
        scratch = plt.figure()
        tmp = ct.nyquist_plot(response, ax=scratch.add_subplot(), arrows=0, legend_loc=False,
                              title="")
        x0, x1, y0, y1 = _limits(_drawn_points(tmp.lines), lo, hi, 0.06)
        plt.close(scratch)
        # inches: the axes box takes the data's aspect ratio; title and tick labels about 0.9
        # high and 0.9 wide, each legend row about 0.22
        width = 6.4
        box_h = float(np.clip((width - 0.9) * (y1 - y0) / (x1 - x0), 2.0, 8.0))
        rows = 3 + len(pairs) + (1 if mark_closest else 0)
        fig: Any
        fig, ax = plt.subplots(figsize=(width, box_h + 0.9 + (0.24 * rows + 0.6
                                                               if legend_loc == "below" else 0)),
                               constrained_layout=True)
    else:
        fig = ax.get_figure()
    cplt = ct.nyquist_plot(response, ax=ax, arrows=arrows, color="C0", legend_loc=False,
                           title="")
    # python-control marks -1, the critical point of the unit-gain linear loop; here the
    # critical set is the disk, so the stray marker would mislead
    for line in list(ax.lines):
        if line.get_marker() == "+" and np.allclose(line.get_xdata(), [-1.0]):
            line.remove()

    lines = np.empty(1 + len(pairs), dtype=object)
    lines[0] = [ln for seg in np.ravel(cplt.lines) for ln in seg if ln is not None]
    # limits from what python-control drew (mirror and rescaled parts included), not from the
    # raw response, which near an imaginary-axis pole is unbounded
    x0, x1, y0, y1 = _limits(_drawn_points(cplt.lines), lo, hi, 0.06)
    handles: list[Any] = [
        Line2D([], [], color="C0", marker="o", ms=4,
               label=r"$G(j\omega)$, $\omega > 0$ (dot: $\omega = 0$)"),
        Line2D([], [], color="C0", ls="--",
               label=r"mirror image $G(-j\omega) = \overline{G(j\omega)}$, $\omega < 0$"),
    ]
    if any(ln is not None for seg in (cplt.lines[0, 1], cplt.lines[0, 3]) for ln in seg):
        handles.append(Line2D([], [], color="C0", ls="-.",
                              label=r"dash-dot / dotted: $|G| \to \infty$ (pole on the "
                                    r"imaginary axis), drawn rescaled"))
    big = 1e3 * max(x1 - x0, y1 - y0)
    for i, ((k, a), res) in enumerate(zip(pairs, results, strict=True)):
        color = _SECTOR_COLORS[i]
        verdict = "holds" if res.holds else "fails"
        margin = f"margin {res.margin:.3g}" if math.isfinite(res.margin) else "centre loop unstable"
        patch: Patch
        if a > 0:
            # translucent fill, opaque edge: overlapping regions stay tellable apart
            patch = Circle((res.disk_center, 0.0), res.disk_radius,
                           facecolor=to_rgba(color, 0.2), edgecolor=color, lw=1.3)
            region = f"disk [{-1 / (a * k):.3g}, {-1 / k:.3g}]"
        else:
            patch = Rectangle((-1.0 / k - big, -big), big, 2 * big,
                              facecolor=to_rgba(color, 0.12), edgecolor=color, lw=1.3)
            region = f"half-plane Re < {-1 / k:.3g}"
        ax.add_patch(patch)
        patch.set_label(f"k = {k:g}, a = {a:g}: sector [{a * k:.3g}, {k:.3g}], {region}: "
                        f"{verdict} ({margin})")
        handles.append(patch)
        artists: list[Any] = [patch]
        lines[1 + i] = artists
        if mark_closest and math.isfinite(res.omega_peak) and res.omega_peak > 0:
            g = complex(ct.evalfr(sys, 1j * res.omega_peak))
            (marker,) = ax.plot([g.real], [g.imag], "x", color=color, ms=8, mew=2, zorder=5)
            artists.append(marker)
            at = rf" at $\omega$ = {res.omega_peak:.3g} rad/s)"
            patch.set_label(str(patch.get_label())[:-1] + at)
    if mark_closest and any(math.isfinite(r.omega_peak) for r in results):
        handles.append(Line2D([], [], color="0.3", marker="x", ls="none", mew=2,
                              label="point of the curve closest to the critical region"))

    ax.axhline(0.0, color="0.6", lw=0.6, zorder=0)
    ax.axvline(0.0, color="0.6", lw=0.6, zorder=0)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    # equal scales keep the disk round; the box (not the data limits) adapts, so no empty band
    ax.set_aspect("equal", adjustable="box")
    ax.set_xlabel(r"Re $G(j\omega)$")
    ax.set_ylabel(r"Im $G(j\omega)$")
    ax.grid(True, ls=":", lw=0.6)
    name = getattr(sys, "name", "G")
    ax.set_title(title if title is not None else f"Circle criterion: Nyquist plot of {name}")
    note = r"arrows point towards increasing $\omega$"
    legend: Legend | None = None
    if legend_loc == "below":
        # a fixed distance under the axes (clear of the tick labels and the x label), whatever
        # the height of the axes box
        below = offset_copy(ax.transAxes, fig=fig, y=-0.5, units="inches")
        legend = ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0),
                           bbox_transform=below, fontsize="small", title=note,
                           title_fontsize="small", frameon=False)
    elif legend_loc is not None:
        legend = ax.legend(handles=handles, loc=legend_loc,  # type: ignore[call-overload]
                           fontsize="small", title=note, title_fontsize="small")
    out = ct.ControlPlot(lines, axes=np.array([[ax]]), figure=fig, legend=legend)
    out.results = results
    return out
