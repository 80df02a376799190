"""leaky_control.plotting.responses: the returned ControlPlot holds the real lines and axes,
the lines carry the responses' data, and coasting is found and labelled."""

from __future__ import annotations

import control as ct
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pytest

import leaky_control as lc
from leaky_control.plotting import (
    COASTING_LABEL,
    coasting_spans,
    response_grid_plot,
    step_response_plot,
)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def runs() -> dict[float, lc.LoopResponse]:
    # a ReLU P loop from above its target coasts (u = 0) until it crosses the target; the
    # leaky one brakes all the way: the first order plant v' = -v/5 + u, r = 1, v(0) = 3
    plant = ct.ss([[-0.2]], [[1.0]], [[1.0]], [[0.0]])
    t = np.linspace(0.0, 20.0, 401)
    return {a: lc.simulate(plant, lc.LeakyP(kp=2.0, negative_slope=a), t, reference=1.0,
                           initial_state=[3.0], solver=lc.RK4(max_step=0.01))
            for a in (0.0, 0.5)}


def test_coasting_spans_on_a_hand_built_signal() -> None:
    t = np.arange(10.0)
    e = np.array([1, -1, -1, -1, 1, -1, -1, 1, -1, -1], dtype=float)
    u = np.array([1, 0, 0, 0.5, 0, 0, 1e-12, 0, 0, 0], dtype=float)
    # t = 1, 2 coast (t = 3 has input), t = 5, 6 coast (1e-12 is zero), t = 8, 9 run to the end
    assert coasting_spans(t, e, u) == [(1.0, 3.0), (5.0, 7.0), (8.0, 9.0)]
    # a larger tolerance counts u = 0.5 as zero: t = 1..3 join
    assert coasting_spans(t, e, u, u_tol=0.6) == [(1.0, 4.0), (5.0, 7.0), (8.0, 9.0)]
    assert coasting_spans(t, np.ones(10), np.zeros(10)) == []  # below target: never coasts


@pytest.mark.parametrize("args,kw,match", [
    ((np.arange(3.0), np.ones(2), np.ones(3)), {}, "same length"),
    ((np.array([0.0, 2.0, 1.0]), np.ones(3), np.ones(3)), {}, "strictly increasing"),
    ((np.arange(3.0), np.ones(3), np.ones(3)), {"u_tol": -1.0}, r"u_tol must be in \[0, inf\), got -1.0"),
    ((np.arange(3.0), np.ones((3, 1)), np.ones(3)), {}, "e must be one-dimensional"),
])
def test_coasting_spans_refuses_bad_input(args, kw, match) -> None:
    with pytest.raises(ValueError, match=match):
        coasting_spans(*args, **kw)


def test_step_response_plot_returns_the_real_lines_with_the_data(runs) -> None:
    labelled = [(f"a = {a:g}", r) for a, r in runs.items()]
    cplt = step_response_plot(labelled, reference=1.0, y_label="v [m/s]", u_label="u [N]")
    assert isinstance(cplt, ct.ControlPlot)
    assert cplt.axes.shape == (2, 1) and cplt.lines.shape == (2, 1)
    fig = cplt.figure
    for idx in np.ndindex(cplt.axes.shape):
        ax = cplt.axes[idx]
        assert ax in fig.axes
        for line in cplt.lines[idx]:
            assert line in ax.lines  # the very Line2D drawn, not a copy
    out_lines, in_lines = cplt.lines[0, 0], cplt.lines[1, 0]
    for k, (_, r) in enumerate(labelled):
        np.testing.assert_array_equal(out_lines[k].get_xdata(), r.time)
        np.testing.assert_array_equal(out_lines[k].get_ydata(), r.outputs)
        np.testing.assert_array_equal(in_lines[k].get_ydata(), r.signal("u"))
    np.testing.assert_array_equal(out_lines[-1].get_ydata(), np.ones(401))  # the set point
    assert cplt.axes[0, 0].get_ylabel() == "v [m/s]"
    assert cplt.axes[1, 0].get_xlabel() == "time [s]"


def test_coasting_is_shaded_and_in_the_legend(runs) -> None:
    relu = runs[0.0]
    spans = coasting_spans(relu.time, relu.signal("e"), relu.signal("u"))
    # v(t) = 3 exp(-t/5) coasts until it reaches 1: t = 5 ln 3 = 5.49 s, to the grid step 0.05
    assert len(spans) == 1 and spans[0][0] == 0.0
    assert spans[0][1] == pytest.approx(5 * np.log(3.0), abs=0.05)
    cplt = step_response_plot([("ReLU", relu), ("leaky", runs[0.5])], reference=1.0)
    texts = [t.get_text() for t in cplt.legend.get_texts()]
    assert COASTING_LABEL in texts and "ReLU" in texts and "set point" in texts
    ax = cplt.axes[0, 0]
    # one grey span over the ReLU run's coasting, one bar in the ReLU colour (the leaky run
    # never coasts, so no second bar)
    assert len(ax.patches) == 2
    for p in ax.patches:  # axvspan draws Rectangles in data x
        assert (p.get_x(), p.get_x() + p.get_width()) == pytest.approx(spans[0], abs=1e-12)


def test_requested_input_is_drawn_only_where_the_actuator_cut_it() -> None:
    # throttle-only car: a leaky controller asks to brake, the actuator limit cuts it at zero
    car = lc.CruiseControl()
    t = np.linspace(0.0, 10.0, 201)
    resp = lc.simulate(car, lc.LeakyP(kp=1.0, negative_slope=0.5, u_min=0.0, u_max=1.0), t,
                       reference=20.0, initial_state=[25.0], solver=lc.RK4(max_step=0.01))
    cplt = response_grid_plot([("no brake", [("leaky", resp)])], reference=20.0,
                              disturbance=0.0, requested=True, d_label="slope [deg]")
    assert cplt.axes.shape == (3, 1)
    u_lines = cplt.lines[1, 0]
    assert len(u_lines) == 2  # applied, then requested
    req = u_lines[1].get_ydata()
    uraw = resp.signal("u_raw")
    cut = uraw < 0
    assert cut.any()
    np.testing.assert_array_equal(req[cut], uraw[cut])
    assert np.all(np.isnan(req[~cut]))
    assert cplt.axes[2, 0].get_ylabel() == "slope [deg]"
    texts = [x.get_text() for x in cplt.legend.get_texts()]
    assert any("before the actuator limit" in x for x in texts)


def test_grid_draws_on_given_axes_and_refuses_bad_shapes(runs) -> None:
    fig, axes = plt.subplots(2, 2)
    cols = [("A", [("ReLU", runs[0.0])]), ("B", [("leaky", runs[0.5])])]
    cplt = response_grid_plot(cols, axes=axes, legend=False)
    assert cplt.figure is fig and cplt.legend is None
    assert all(cplt.axes[i, j] is axes[i, j] for i in range(2) for j in range(2))
    assert [ax.get_title() for ax in axes[0]] == ["A", "B"]
    with pytest.raises(ValueError, match=r"axes must have shape \(2, 2\)"):
        response_grid_plot(cols, axes=axes[:, :1])
    with pytest.raises(ValueError, match="reference must be a number or have one value"):
        response_grid_plot(cols, reference=np.ones(3))
    with pytest.raises(ValueError, match="columns must be a non-empty list"):
        response_grid_plot([])
    with pytest.raises(ValueError, match=r"columns\[0\] response 0 must be"):
        response_grid_plot([("A", [("x", 3.0)])])
