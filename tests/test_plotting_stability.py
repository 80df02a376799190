"""Stability pictures: the circle-criterion Nyquist plot and the phase portrait.

Oracles are written here, independent of the code under test: the frequency response from the
transfer function's polynomials (numpy), the critical disk from its textbook definition, the
centre-loop stability from the roots of ``den + sigma num``, the closed loop as a hand-written
right-hand side integrated by scipy's ``solve_ivp``, equilibria solved by hand.
"""

from __future__ import annotations

import control as ct
import matplotlib
import numpy as np
import pytest
from scipy.integrate import solve_ivp

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.patches import Circle, FancyArrowPatch, Rectangle

import leaky_control as lc
from leaky_control.plotting import circle_criterion_plot, closed_loop_field, phase_portrait


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _freqresp(num, den, w):
    s = 1j * np.asarray(w)
    return np.polyval(num, s) / np.polyval(den, s)


def _circle_verdict(num, den, k, a, w):
    """Circle criterion by hand: centre loop Hurwitz and the curve outside the critical region
    on a dense grid; returns (verdict, smallest distance into the allowed region)."""
    sigma = 0.5 * (1 + a) * k
    centre_poles = np.roots(np.polyadd(den, sigma * np.asarray(num, dtype=float)))
    g = _freqresp(num, den, w)
    if a > 0:
        c, rad = -0.5 * (1 / (a * k) + 1 / k), 0.5 * (1 / (a * k) - 1 / k)
        clearance = np.abs(g - c) - rad
    else:
        clearance = g.real + 1 / k
    return bool(np.all(centre_poles.real < 0) and clearance.min() > 0), float(clearance.min())


CASES = [
    # (num, den, k, a): margins kept away from 0 so a dense grid decides them unambiguously
    ([1.0], [1.0, 3.0, 3.0, 1.0], 5.0, 0.0),
    ([1.0], [1.0, 3.0, 3.0, 1.0], 5.0, 0.2),
    ([1.0], [1.0, 3.0, 3.0, 1.0], 5.0, 0.5),
    ([1.0], [1.0, 3.0, 3.0, 1.0], 2.0, 0.0),
    ([2.0], [1.0, 0.4, 1.0], 1.0, 0.5),
    ([2.0], [1.0, 0.4, 1.0], 0.2, 0.0),
    ([1.0, 1.0], [1.0, 2.0, 4.0, 1.0], 3.0, 0.1),
    ([1.0], [1.0, 1.0, 0.0], 2.0, 0.1),  # an integrator: python-control rescales the far part
]


@pytest.mark.parametrize(("num", "den", "k", "a"), CASES)
def test_nyquist_verdict_matches_a_dense_grid_by_hand(num, den, k, a, tmp_path):
    w = np.geomspace(1e-4, 1e4, 400_001)
    expected, clearance = _circle_verdict(num, den, k, a, w)
    assert abs(clearance) > 1e-3  # the case is decidable on the grid
    cplt = circle_criterion_plot(ct.tf(num, den), [(k, a)])
    (res,) = cplt.results
    assert res.holds is expected
    assert (res.margin > 0) is expected
    legend = [t.get_text() for t in cplt.legend.get_texts()]
    verdict = [t for t in legend if t.startswith(f"k = {k:g}, a = {a:g}")]
    assert len(verdict) == 1
    assert (": holds (" in verdict[0]) is expected
    assert (": fails (" in verdict[0]) is (not expected)
    cplt.figure.savefig(tmp_path / "nyquist.png")
    assert (tmp_path / "nyquist.png").stat().st_size > 5_000


def test_nyquist_curve_mirror_and_arrows_follow_increasing_frequency():
    num, den = [1.0], [1.0, 3.0, 3.0, 1.0]
    w = np.geomspace(1e-2, 1e2, 600)
    cplt = circle_criterion_plot(ct.tf(num, den), [(5.0, 0.2)], omega=w, arrows=2)
    assert isinstance(cplt, ct.ControlPlot)
    ax = cplt.axes[0, 0]
    g = _freqresp(num, den, w)
    primary, mirror = cplt.lines[0][0], cplt.lines[0][2]
    drawn = np.asarray(primary.get_xdata()) + 1j * np.asarray(primary.get_ydata())
    np.testing.assert_allclose(drawn, g, rtol=1e-10, atol=1e-12)
    drawn_m = np.asarray(mirror.get_xdata()) + 1j * np.asarray(mirror.get_ydata())
    np.testing.assert_allclose(np.sort_complex(drawn_m), np.sort_complex(np.conj(g)),
                               rtol=1e-10, atol=1e-12)
    assert mirror.get_linestyle() == "--"
    assert primary.get_linestyle() == "-"
    arrows = [p for p in ax.patches if isinstance(p, FancyArrowPatch)]
    assert len(arrows) == 4  # two on the curve, two on its mirror image
    on_primary = on_mirror = 0
    for p in arrows:
        tail, head = (complex(*pt) for pt in p._posA_posB)
        ip, jp = (int(np.argmin(np.abs(g - z))) for z in (tail, head))
        im, jm = (int(np.argmin(np.abs(np.conj(g) - z))) for z in (tail, head))
        if abs(g[ip] - tail) < 1e-12 and abs(g[jp] - head) < 1e-12:
            assert jp == ip + 1  # omega > 0: the head is the next higher frequency
            on_primary += 1
        else:
            assert abs(np.conj(g[im]) - tail) < 1e-12
            assert abs(np.conj(g[jm]) - head) < 1e-12
            assert jm == im - 1  # mirror: omega runs from -inf up to 0, down the grid of |omega|
            on_mirror += 1
    assert on_primary == on_mirror == 2
    labels = [t.get_text() for t in cplt.legend.get_texts()]
    assert any("mirror" in t and r"\omega < 0" in t for t in labels)
    assert "increasing" in cplt.legend.get_title().get_text()


def test_nyquist_critical_regions_are_the_textbook_ones_and_fill_the_axes():
    cplt = circle_criterion_plot(ct.tf([1.0], [1.0, 3.0, 3.0, 1.0]), [(5.0, 0.0), (4.0, 0.25)])
    ax = cplt.axes[0, 0]
    half, disk = cplt.lines[1][0], cplt.lines[2][0]
    assert isinstance(half, Rectangle)
    assert isinstance(disk, Circle)
    # half-plane Re < -1/k; disk with diameter [-1/(a k), -1/k] = [-1, -0.25]
    assert half.get_x() + half.get_width() == pytest.approx(-0.2, abs=1e-12)
    assert disk.center == pytest.approx((-0.625, 0.0), abs=1e-12)
    assert disk.radius == pytest.approx(0.375, abs=1e-12)
    # no empty bands: the limits hug the curve and the disk (6 % padding, 2 % slack)
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    pts = np.concatenate([np.asarray(ln.get_xdata()) + 1j * np.asarray(ln.get_ydata())
                          for ln in cplt.lines[0]])
    data = (min(pts.real.min(), -1.0), max(pts.real.max(), 0.0), pts.imag.min(), pts.imag.max())
    span = max(data[1] - data[0], data[3] - data[2])
    for lim, d in zip((x0, x1, y0, y1), data, strict=True):
        assert abs(lim - d) <= 0.08 * span
    assert ax.get_aspect() == 1.0  # equal scales: the disk is drawn round


@pytest.mark.parametrize(("bad", "match"), [
    ([(0.0, 0.1)], "k must be finite and > 0"),
    ([(1.0, 1.5)], r"negative_slope must lie in \[0, 1\]"),
    ([], "at least one"),
    ([(1.0, "x")], r"sectors\[0\]"),
])
def test_nyquist_bad_sectors_named(bad, match):
    with pytest.raises((ValueError, TypeError), match=match):
        circle_criterion_plot(ct.tf([1.0], [1.0, 1.0]), bad)


def test_nyquist_bad_systems_named():
    with pytest.raises(TypeError, match="sys must be a python-control"):
        circle_criterion_plot(np.eye(2), [(1.0, 0.1)])
    with pytest.raises(ValueError, match="single-input single-output"):
        circle_criterion_plot(ct.rss(2, 2, 1), [(1.0, 0.1)])
    with pytest.raises(ValueError, match="continuous-time"):
        circle_criterion_plot(ct.tf([1.0], [1.0, -0.5], 0.1), [(1.0, 0.1)])
    with pytest.raises(ValueError, match="omega"):
        circle_criterion_plot(ct.tf([1.0], [1.0, 1.0]), [(1.0, 0.1)], omega=[0.0, 1.0])


# --- phase portraits ---------------------------------------------------------------------

A2 = np.array([[0.0, 1.0], [-2.0, -3.0]])  # G = 1/(s^2 + 3 s + 2), y = x1
B2 = np.array([[0.0], [1.0]])
C2 = np.array([[1.0, 0.0]])


def _leaky(v, a):
    return v if v >= 0 else a * v


def _rhs_p(kp, a, r):
    def f(_t, x):
        u = kp * _leaky(r - x[0], a)
        return [x[1], -2.0 * x[0] - 3.0 * x[1] + u]
    return f


def test_phase_portrait_trajectories_arrows_equilibrium_and_kink(tmp_path):
    kp, a, r = 4.0, 0.2, 1.0
    x0s = np.array([[-1.0, 2.0], [3.0, -1.0], [2.5, 2.0]])
    cplt = phase_portrait(lc.LinearPlant(A2, B2, C2), lc.LeakyP(kp=kp, negative_slope=a),
                          (-1.5, 3.5, -2.5, 2.5), initial_states=x0s, reference=r,
                          final_time=6.0, grid=9)
    assert isinstance(cplt, ct.ControlPlot)
    # trajectories: the plotted data against solve_ivp of the loop written here
    f = _rhs_p(kp, a, r)
    for line, x0, resp in zip(cplt.lines[0], x0s, cplt.responses, strict=True):
        t = resp.time
        ref = solve_ivp(f, (0.0, t[-1]), x0, t_eval=t, method="DOP853", rtol=1e-11,
                        atol=1e-12)
        assert ref.success
        np.testing.assert_allclose(line.get_xdata(), ref.y[0], atol=2e-6)
        np.testing.assert_allclose(line.get_ydata(), ref.y[1], atol=2e-6)
    # arrows: unit vectors along the hand-written field
    q = cplt.lines[1]
    X, Y = q.X.ravel(), q.Y.ravel()
    U, V = np.asarray(q.U).ravel(), np.asarray(q.V).ravel()
    for x, y, u, v in zip(X, Y, U, V, strict=True):
        d = np.asarray(f(0.0, [x, y]))
        n = np.hypot(*d)
        if n > 0:
            np.testing.assert_allclose([u, v], d / n, atol=1e-12)
    # the one equilibrium: 2 y = kp (r - y) with y < r (slope-1 side) -> y = kp r / (2 + kp)
    y_eq = kp * r / (2.0 + kp)
    np.testing.assert_allclose(cplt.equilibria, [[y_eq, 0.0]], atol=1e-9)
    # the switching line is y = x1 = r
    paths = cplt.lines[3].allsegs[0]
    verts = np.concatenate(paths)
    np.testing.assert_allclose(verts[:, 0], r, atol=1e-9)
    assert np.ptp(verts[:, 1]) == pytest.approx(5.0, rel=1e-9)  # crosses the whole box
    cplt.figure.savefig(tmp_path / "phase.png")
    assert (tmp_path / "phase.png").stat().st_size > 10_000


def test_phase_portrait_relu_coasting_has_a_line_of_equilibria():
    """G = 1/(s(s+1)) under ReLU P control: above the reference the loop is open and every
    state (y >= r, v = 0) is at rest; the leak leaves the single equilibrium (r, 0)."""
    A = np.array([[0.0, 1.0], [0.0, -1.0]])
    plant = lc.LinearPlant(A, B2, C2)
    relu = phase_portrait(plant, lc.LeakyP(kp=2.0, negative_slope=0.0), (-2, 2, -2, 2),
                          reference=0.5, final_time=8.0, grid=5, per_side=2)
    eq = relu.equilibria
    assert len(eq) >= 3
    np.testing.assert_allclose(eq[:, 1], 0.0, atol=1e-9)
    assert np.all(eq[:, 0] >= 0.5 - 1e-9)
    leaky = phase_portrait(plant, lc.LeakyP(kp=2.0, negative_slope=0.3), (-2, 2, -2, 2),
                           reference=0.5, final_time=8.0, grid=5, per_side=2)
    np.testing.assert_allclose(leaky.equilibria, [[0.5, 0.0]], atol=1e-8)


def test_phase_portrait_with_a_controller_state():
    """First-order plant x' = -x + u under a leaky PI: the state is (x, z), z' = e."""
    kp, ki, a, r = 2.0, 1.0, 0.1, 1.0
    plant = lc.LinearPlant(np.array([[-1.0]]), np.array([[1.0]]), np.array([[1.0]]))
    x0s = np.array([[0.0, 0.0], [2.0, -1.0]])
    cplt = phase_portrait(plant, lc.LeakyPI(kp=kp, ki=ki, negative_slope=a),
                          initial_states=x0s, reference=r, final_time=8.0, grid=5)

    def f(_t, s):
        e = r - s[0]
        return [-s[0] + kp * _leaky(e, a) + ki * s[1], e]

    for line, x0, resp in zip(cplt.lines[0], x0s, cplt.responses, strict=True):
        ref = solve_ivp(f, (0.0, resp.time[-1]), x0, t_eval=resp.time, method="DOP853",
                        rtol=1e-11, atol=1e-12)
        np.testing.assert_allclose(line.get_xdata(), ref.y[0], atol=2e-6)
        np.testing.assert_allclose(line.get_ydata(), ref.y[1], atol=2e-6)
    # equilibrium: e = 0, so x = r and z = x / ki
    np.testing.assert_allclose(cplt.equilibria, [[r, r / ki]], atol=1e-8)
    # default box: the trajectories fill it, padded by 8 %
    x0, x1 = cplt.axes[0, 0].get_xlim()
    xs = np.concatenate([ln.get_xdata() for ln in cplt.lines[0]])
    assert x0 == pytest.approx(xs.min() - 0.08 * np.ptp(xs))
    assert x1 == pytest.approx(xs.max() + 0.08 * np.ptp(xs))


def test_phase_portrait_bad_input_named():
    p = lc.LeakyP(kp=1.0, negative_slope=0.1)
    three = lc.LinearPlant(np.diag([-1.0, -2.0, -3.0]), np.ones((3, 1)), np.ones((1, 3)))
    with pytest.raises(ValueError, match="2 states"):
        phase_portrait(three, p, (-1, 1, -1, 1))
    plant = lc.LinearPlant(A2, B2, C2)
    with pytest.raises(ValueError, match="x1_min < x1_max"):
        phase_portrait(plant, p, (1, -1, -1, 1))
    with pytest.raises(ValueError, match="give box"):
        phase_portrait(plant, p)
    with pytest.raises(ValueError, match=r"shape \(N, 2\)"):
        phase_portrait(plant, p, initial_states=[1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="grid must be an integer >= 2"):
        phase_portrait(plant, p, (-1, 1, -1, 1), grid=1)
    with pytest.raises(ValueError, match="final_time"):
        phase_portrait(plant, p, (-1, 1, -1, 1), final_time=-1.0)
    with pytest.raises(ValueError, match="labels must hold 2 strings"):
        phase_portrait(plant, p, (-1, 1, -1, 1), labels=["x only"])
    with pytest.raises(TypeError, match="final_time must be a number"):
        phase_portrait(plant, p, (-1, 1, -1, 1), final_time="long")
    with pytest.raises(TypeError, match="reference must be a number"):
        phase_portrait(plant, p, (-1, 1, -1, 1), reference="one")


def test_phase_portrait_state_feedback_kink_and_field():
    """u = phi_a(kr r - K x): the switching line is K x = kr r; closed_loop_field is the
    hand-written field."""
    K, kr, a, r = np.array([[3.0, 1.0]]), 2.0, 0.25, 0.8
    plant = lc.LinearPlant(A2, B2, C2)
    ctrl = lc.LeakyStateFeedback(K=K, negative_slope=a, kr=[kr])
    cplt = phase_portrait(plant, ctrl, (-1.0, 1.5, -1.5, 1.5), reference=r, final_time=5.0,
                          grid=4, per_side=1)
    verts = np.concatenate(cplt.lines[3].allsegs[0])
    np.testing.assert_allclose(verts @ K[0], kr * r, atol=1e-9)
    labels = [t.get_text() for t in cplt.legend.get_texts()]
    assert any(t.startswith("switching line u_raw (at a = 1) = 0") for t in labels)

    def f(x):
        u = _leaky(kr * r - K[0] @ x, a)
        return A2 @ x + B2[:, 0] * u

    field = closed_loop_field(plant, ctrl, reference=r)
    for x in ([0.3, -0.2], [-0.9, 1.1], [1.4, 0.0]):
        np.testing.assert_allclose(field(np.array(x)), f(np.array(x)), atol=1e-12)
    # one equilibrium: x2 = 0, 2 x1 = phi_a(kr r - 3 x1) on the slope-1 side: x1 = kr r / 5
    np.testing.assert_allclose(cplt.equilibria, [[kr * r / 5.0, 0.0]], atol=1e-9)
