"""Step-response figures (headless-safe: callers choose the backend; scripts use Agg)."""

from __future__ import annotations

import numpy as np

__all__ = ["coasting_spans", "response_grid_plot"]


def coasting_spans(t, e, u, u_tol=1e-9):
    """Time intervals ``[(t_start, t_end), ...]`` where the loop coasts (overshoot, zero input).

    Parameters
    ----------
    t, e, u : array_like
        Time, error and input reaching the plant.
    u_tol : float
        Inputs with ``|u| <= u_tol`` count as zero.

    Returns
    -------
    list of tuple
    """
    t, e, u = (np.asarray(v, dtype=float) for v in (t, e, u))
    mask = (e < 0) & (np.abs(u) <= u_tol)
    spans, start = [], None
    for k, on in enumerate(mask):
        if on and start is None:
            start = t[k]
        if not on and start is not None:
            spans.append((start, t[k]))
            start = None
    if start is not None:
        spans.append((start, t[-1]))
    return spans


def response_grid_plot(columns, reference=None, *, title=None, u_label="u", y_label="y"):
    """Grid of responses: one column per scenario, output on top and input below.

    Parameters
    ----------
    columns : list of (str, list of (str, TimeResponseData))
        Column title and the labelled responses drawn in it.
    reference : array_like, optional
        Reference signal drawn dashed on the output axes.
    title : str, optional
    u_label, y_label : str
        Axis labels.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, len(columns), figsize=(5.5 * len(columns), 6.5), sharex=True,
                             squeeze=False)
    for j, (col_title, responses) in enumerate(columns):
        ay, au = axes[0, j], axes[1, j]
        for k, (label, resp) in enumerate(responses):
            color = f"C{k}"
            t = resp.time
            ay.plot(t, resp.y[0], color=color, label=label)
            u = resp.signal("u")
            au.plot(t, u, color=color, label=label)
            if "e" in resp.loop.output_labels:
                for a, b in coasting_spans(t, resp.signal("e"), u):
                    ay.axvspan(a, b, color=color, alpha=0.08, lw=0)
        if reference is not None:
            ay.plot(responses[0][1].time, reference, "k--", lw=1, label="reference")
        ay.set_title(col_title)
        ay.set_ylabel(y_label)
        au.set_ylabel(u_label)
        au.set_xlabel("time [s]")
        au.axhline(0.0, color="k", lw=0.6)
        for ax in (ay, au):
            ax.grid(True, ls=":")
        ay.legend(loc="lower right", fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
