"""
Certified network controllers: region of attraction versus the leak
===================================================================

Study (issue 14): Leaky-ReLU networks imitating an LQR expert, certified with
``leaky_control.analysis.certify`` and checked by simulation.

Two loops, each with networks trained at ``negative_slope`` 0, 0.01, 0.1 and 0.3 from the same
seed (one hidden layer of 8 units, 300 epochs of ``leaky_control.bridge.imitate``):

* the **inverted pendulum** (``m = l = 1``, ``b = 0.1``, ``g = 9.81``) held upright
  (``theta = pi``) with the torque saturated at ``|u| <= 5 N m``, about half of ``m g l``: the
  LQR gain reaches the limit at ``|theta - pi| ~ 0.25 rad``, so saturation shapes every
  certificate. No global certificate exists for any leak (an open-loop unstable plant under a
  bounded input); ``certify`` looks for a region of attraction, an ellipsoid about the
  upright. Starts are drawn uniformly in it and on its boundary (``--inside``, 600 by default),
  and just outside it (``--outside``, the boundary scaled by 1.05 to 1.5);
* the **cruise loop** (``leaky_control.CruiseControl``, throttle in ``[0, 1]``, held at
  25 m/s): ``certify`` has no exact model of it and returns ``"linearisation_only"``, which
  claims nothing; its starts (15 to 35 m/s) are simulated and reported as unclaimed.

Convergence test: the sweep point completes (finite states, status 0) and
``max_i |x_i(T) - x*_i| <= 1e-3`` (rad, rad/s; m/s) at the final time ``T`` (20 s for the
pendulum, 60 s for the car). Every start inside a certified region must pass it and must keep
``V = (x - x*)' P (x - x*) <= 1 + 1e-6`` at every output sample (the ellipsoid is invariant);
otherwise the certificate would be unsound and the script exits with status 1 naming the case
(after writing what it has).

Writes ``certified_nn_controller.csv`` (one row per plant and leak) and
``certified_nn_controller.png`` (the certified ellipses over the simulated trajectories per
leak, the certified radius against the leak, the cruise trajectories).

Run::

    python simulations/certified_nn_controller.py --out results/certified [--quick]
"""

from __future__ import annotations

import argparse
import math
import sys
import textwrap
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
from numpy.typing import NDArray

import leaky_control as lc
from leaky_control.analysis.certify import LoopCertificate, certify
from leaky_control.bridge import imitate, lqr_expert
from leaky_control.tables import write_csv

FloatArray = NDArray[np.float64]

SLOPES: tuple[float, ...] = (0.0, 0.01, 0.1, 0.3)
SEED = 0
HIDDEN: tuple[int, ...] = (8,)
EPOCHS = 300
U_MAX = 5.0  # N m, about half of m g l = 9.81: the upright cannot be held beyond ~30 deg
UP = np.array([math.pi, 0.0])
V_REF = 25.0  # m/s
CONVERGED_TOL = 1e-3
INVARIANCE_TOL = 1e-6
BOUNDARY_FRACTION = 0.2  # of the inside starts, placed on the ellipsoid's boundary
OUTSIDE_SCALE = (1.05, 1.5)
MAX_DRAWN = 150  # inside trajectories drawn per panel (all are simulated and counted)
MAX_DRAWN_CRUISE = 25

CSV_NAME = "certified_nn_controller.csv"
PNG_NAME = "certified_nn_controller.png"

HEADER: list[str] = [
    "plant [-]",
    "negative_slope [-]",
    "certified_global [-]",
    "certified_rate [1/s]",
    "roa_radius [rad, rad/s | m/s]",
    "trajectories_inside [-]",
    "converged_inside [-]",
    "trajectories_outside [-]",
    "converged_outside [-]",
    "status [-]",
    "equilibrium [rad, rad/s | m/s]",
    "equilibrium_input [N m | -]",
    "simulated_ball_radius [rad, rad/s | m/s]",
    "max_V_inside [-]",
    "worst_final_error_inside [rad, rad/s | m/s]",
    "fit_error_max [N m | -]",
    "train_time [s]",
    "certify_time [s]",
    "simulate_time [s]",
]


@dataclass
class Case:
    """One loop of the study: the plant, its expert and where things are sampled."""

    name: str
    plant: Any
    expert: Any
    train_box: list[list[float]]
    cert_box: list[float]
    operating_point: FloatArray
    horizon: float
    n_times: int
    unclaimed_box: FloatArray  # (n, 2): where unclaimed starts are drawn (no certificate)
    probe_radii: FloatArray  # circles of starts about x* that measure the simulated ball


@dataclass
class Outcome:
    """What one (plant, leak) run gave."""

    case: str
    slope: float
    controller: lc.LeakyMLP
    cert: LoopCertificate
    fit_error: float
    x_star: FloatArray
    X0: FloatArray
    inside: NDArray[np.bool_]
    converged: NDArray[np.bool_]
    states: FloatArray  # (N, T, n)
    t: FloatArray
    max_v: FloatArray  # per start, NaN when there is no ellipsoid
    final_error: FloatArray
    probe_radius: float = math.nan  # largest probed ball whose every start converged
    probe_fail_radius: float = math.inf  # smallest probed radius with a failing start
    times: dict[str, float] = field(default_factory=dict)


def pendulum_case() -> Case:
    """The upright pendulum with ``|u| <= U_MAX`` and its LQR expert (Q = diag(10, 1), R = 1).

    Returns
    -------
    Case
    """
    plant = lc.Pendulum(u_min=-U_MAX, u_max=U_MAX)
    expert = lqr_expert(plant, (UP, 0.0), Q=[10.0, 1.0], R=[1.0], u_min=-U_MAX, u_max=U_MAX)
    return Case("pendulum", plant, expert,
                train_box=[[math.pi - 0.8, -1.6], [math.pi + 0.8, 1.6]],
                cert_box=[1.0, 3.0], operating_point=UP, horizon=20.0, n_times=2001,
                unclaimed_box=np.array([[math.pi - 0.5, math.pi + 0.5], [-1.0, 1.0]]),
                probe_radii=np.linspace(0.02, 1.0, 50))


def cruise_case() -> Case:
    """The car of Astrom & Murray held at ``V_REF`` by a throttle in ``[0, 1]``.

    Returns
    -------
    Case
    """
    plant = lc.CruiseControl()
    op = lc.operating_point(plant, V_REF)
    expert = lqr_expert(plant, op, Q=[1.0], R=[1.0], u_min=0.0, u_max=1.0)
    x_op = np.asarray(op[0], dtype=float)
    return Case("cruise", plant, expert, train_box=[[15.0], [35.0]], cert_box=[10.0],
                operating_point=x_op, horizon=60.0, n_times=601,
                unclaimed_box=np.array([[15.0, 35.0]]),
                probe_radii=np.linspace(0.5, 20.0, 40))


def ellipsoid_starts(P: FloatArray, x_star: FloatArray, n: int, scale: tuple[float, float],
                     boundary_fraction: float, rng: np.random.Generator) -> FloatArray:
    """Starts ``x* + s L^{-T} w`` about the ellipsoid ``{d : d' P d <= 1}`` (``P = L L'``).

    With ``scale = (1, 1)``: ``w`` uniform in the unit ball (so the starts are uniform in the
    ellipsoid), the last ``boundary_fraction`` of them on its boundary (shrunk by 1e-9 so they
    are inside after rounding). Otherwise ``w`` on the unit sphere and ``s`` uniform in
    ``scale``: a shell just outside.

    Parameters
    ----------
    P : numpy.ndarray, shape (n, n)
        The certified ellipsoid, positive definite.
    x_star : numpy.ndarray, shape (n,)
        Its centre.
    n : int
        Number of starts.
    scale : (float, float)
        Range of the radial scale.
    boundary_fraction : float
        Fraction placed on the boundary (inside case only).
    rng : numpy.random.Generator

    Returns
    -------
    numpy.ndarray, shape (n, dim)
    """
    dim = x_star.size
    w = rng.standard_normal((n, dim))
    w /= np.linalg.norm(w, axis=1, keepdims=True)
    if scale == (1.0, 1.0):
        n_in = n - round(boundary_fraction * n)
        w[:n_in] *= rng.uniform(0.0, 1.0, (n_in, 1)) ** (1.0 / dim)
        w *= 1.0 - 1e-9
    else:
        w *= rng.uniform(scale[0], scale[1], (n, 1))
    L = np.linalg.cholesky(P)
    return x_star + np.linalg.solve(L.T, w.T).T


def simulate_starts(case: Case, ctrl: lc.LeakyMLP, X0: FloatArray) -> tuple[FloatArray,
                                                                            NDArray[np.int_],
                                                                            FloatArray]:
    """All starts of one controller in one :func:`leaky_control.sweep` (Dopri5, rtol 1e-9).

    Parameters
    ----------
    case : Case
    ctrl : LeakyMLP
    X0 : numpy.ndarray, shape (N, n)

    Returns
    -------
    states : numpy.ndarray, shape (N, T, n)
    status : numpy.ndarray of int, shape (N,)
        The sweep's per-point status (0: completed).
    t : numpy.ndarray, shape (T,)
    """
    t = np.linspace(0.0, case.horizon, case.n_times)
    res = lc.sweep(case.plant, ctrl, lc.Points([{"initial_state": x} for x in X0]), t,
                   metrics=["IAE"], keep_trajectories=True,
                   solver=lc.Dopri5(rtol=1e-9, atol=1e-12))
    states = np.asarray(res.trajectories["states"], dtype=float)
    return states, np.asarray(res.status, dtype=int), t


def converged_mask(states: FloatArray, status: NDArray[np.int_], x_star: FloatArray
                   ) -> tuple[NDArray[np.bool_], FloatArray]:
    """The study's convergence test on simulated trajectories.

    Parameters
    ----------
    states : numpy.ndarray, shape (N, T, n)
    status : numpy.ndarray of int, shape (N,)
    x_star : numpy.ndarray, shape (n,)

    Returns
    -------
    converged : numpy.ndarray of bool, shape (N,)
        Completed (status 0), finite, and ``max_i |x_i(T) - x*_i| <= CONVERGED_TOL``.
    final_error : numpy.ndarray, shape (N,)
        That distance (inf for a non-finite trajectory).
    """
    finite = np.all(np.isfinite(states), axis=(1, 2))
    err = np.max(np.abs(states[:, -1, :] - x_star), axis=1)
    final_error = np.where(finite, err, np.inf)
    return (status == 0) & finite & (final_error <= CONVERGED_TOL), final_error


def probe_ball(case: Case, ctrl: lc.LeakyMLP, x_star: FloatArray, n_dir: int
               ) -> tuple[float, float]:
    """Measure by simulation the largest ball about ``x*`` whose probed starts all converge.

    Starts on circles (in state coordinates, as ``roa_radius``) of the radii
    ``case.probe_radii``, ``n_dir`` evenly spaced directions each (two for one state).

    Parameters
    ----------
    case : Case
    ctrl : LeakyMLP
    x_star : numpy.ndarray
    n_dir : int

    Returns
    -------
    probe_radius : float
        Largest probed radius below the first failing one (0 if the smallest fails).
    fail_radius : float
        Smallest probed radius with a start that does not converge (inf if none): a
        certificate claiming a ball at least this large would be contradicted.
    """
    radii = case.probe_radii
    if x_star.size == 1:
        dirs = np.array([[1.0], [-1.0]])
    else:
        s = np.linspace(0.0, 2.0 * math.pi, n_dir, endpoint=False)
        dirs = np.column_stack([np.cos(s), np.sin(s)])
    X0 = (x_star + radii[:, None, None] * dirs[None, :, :]).reshape(-1, x_star.size)
    states, status, _ = simulate_starts(case, ctrl, X0)
    ok = converged_mask(states, status, x_star)[0].reshape(radii.size, dirs.shape[0])
    bad = np.flatnonzero(~ok.all(axis=1))
    if bad.size == 0:
        return float(radii[-1]), math.inf
    first = int(bad[0])
    return (float(radii[first - 1]) if first > 0 else 0.0), float(radii[first])


def run_case(case: Case, slope: float, n_inside: int, n_outside: int,
             rng: np.random.Generator, n_dir: int = 48) -> Outcome:
    """Train, certify and simulate one (plant, leak).

    Parameters
    ----------
    case : Case
    slope : float
        The leak ``a`` of the hidden units.
    n_inside, n_outside : int
        Starts inside the certified region and just outside it; without a region, all
        ``n_inside + n_outside`` starts are unclaimed (drawn in ``case.unclaimed_box``).
    rng : numpy.random.Generator
        Draws the starts.
    n_dir : int, default 48
        Directions per circle of :func:`probe_ball`.

    Returns
    -------
    Outcome
    """
    t0 = time.perf_counter()
    fit = imitate(case.expert, case.train_box, hidden=HIDDEN, negative_slope=slope, seed=SEED,
                  epochs=EPOCHS)
    t1 = time.perf_counter()
    cert = certify(case.plant, fit.controller, operating_point=case.operating_point,
                   box=case.cert_box)
    t2 = time.perf_counter()
    x_star = (np.asarray(cert.equilibrium, dtype=float) if cert.equilibrium is not None
              else np.asarray(case.operating_point, dtype=float))
    P = (np.asarray(cert.region.P, dtype=float) if cert.status == "region"
         and cert.region is not None and cert.region.P is not None else None)
    if P is not None:
        X0 = np.vstack([
            ellipsoid_starts(P, x_star, n_inside, (1.0, 1.0), BOUNDARY_FRACTION, rng),
            ellipsoid_starts(P, x_star, n_outside, OUTSIDE_SCALE, 0.0, rng)])
    else:
        # "global" needs no ellipsoid (everything is inside); "none", "linearisation_only":
        # nothing is claimed, the starts only show what the loop does
        lo, hi = case.unclaimed_box[:, 0], case.unclaimed_box[:, 1]
        X0 = rng.uniform(lo, hi, (n_inside + n_outside, lo.size))
    inside = np.asarray(cert.contains(X0), dtype=bool)
    states, status, t = simulate_starts(case, fit.controller, X0)
    converged, final_error = converged_mask(states, status, x_star)
    probe_radius, fail_radius = probe_ball(case, fit.controller, x_star, n_dir)
    t3 = time.perf_counter()
    D = states - x_star
    if P is not None:
        max_v = np.max(np.einsum("kti,ij,ktj->kt", D, P, D), axis=1)
    else:
        max_v = np.full(X0.shape[0], np.nan)
    return Outcome(case.name, slope, fit.controller, cert, float(fit.fit_error["max"]), x_star,
                   X0, inside, converged, states, t, max_v, final_error, probe_radius,
                   fail_radius, {"train": t1 - t0, "certify": t2 - t1, "simulate": t3 - t2})


def soundness_failures(o: Outcome) -> list[str]:
    """Starts inside a certified region that did not converge or left the ellipsoid.

    Parameters
    ----------
    o : Outcome

    Returns
    -------
    list of str
        One line per failure (empty: the certificate held on every start).
    """
    bad = []
    for k in np.flatnonzero(o.inside):
        v_bad = np.isfinite(o.max_v[k]) and o.max_v[k] > 1.0 + INVARIANCE_TOL
        if not o.converged[k] or v_bad:
            bad.append(f"{o.case}, negative_slope {o.slope:g}: start {o.X0[k].tolist()} inside "
                       f"the certified region: final error {o.final_error[k]:.3g} "
                       f"(tolerance {CONVERGED_TOL:g}), max V {o.max_v[k]:.9g}")
    if o.cert.certified and o.cert.roa_radius >= o.probe_fail_radius:
        bad.append(f"{o.case}, negative_slope {o.slope:g}: certified ball radius "
                   f"{o.cert.roa_radius:.6g} reaches the probed radius {o.probe_fail_radius:.6g} "
                   "where a simulated start does not converge")
    return bad


def csv_row(o: Outcome) -> list[Any]:
    """One CSV row (the columns of :data:`HEADER`).

    Parameters
    ----------
    o : Outcome

    Returns
    -------
    list
    """
    c = o.cert
    if c.status == "global" and c.global_certificate is not None:
        rate = float(c.global_certificate.rate)
    elif c.status == "region" and c.region is not None:
        rate = float(c.region.decay)  # V decays at least as exp(-2 decay t)
    else:
        rate = 0.0
    ins = o.inside
    eq_in = "" if c.equilibrium_input is None else " ".join(
        f"{v:.6g}" for v in np.asarray(c.equilibrium_input))
    return [o.case, o.slope, c.status == "global", rate,
            float(c.roa_radius) if c.certified else 0.0,
            int(ins.sum()), int((o.converged & ins).sum()),
            int((~ins).sum()), int((o.converged & ~ins).sum()),
            c.status, " ".join(f"{v:.6g}" for v in o.x_star), eq_in, o.probe_radius,
            float(np.max(o.max_v[ins])) if ins.any() else math.nan,
            float(np.max(o.final_error[ins])) if ins.any() else math.nan,
            o.fit_error, o.times["train"], o.times["certify"], o.times["simulate"]]


def _region_matrix(o: Outcome) -> FloatArray | None:
    """The certified ellipsoid's ``P`` (deviation coordinates), or None without a region."""
    if o.cert.status != "region" or o.cert.region is None or o.cert.region.P is None:
        return None
    return np.asarray(o.cert.region.P, dtype=float)


def _ellipse(P: FloatArray, n: int = 361) -> FloatArray:
    """Boundary points ``d`` with ``d' P d = 1`` (2-D), shape (n, 2)."""
    s = np.linspace(0.0, 2.0 * math.pi, n)
    L = np.linalg.cholesky(P)
    return np.linalg.solve(L.T, np.vstack([np.cos(s), np.sin(s)])).T


def plot(outcomes: Sequence[Outcome], path: Path) -> None:
    """The study's figure: ellipses over trajectories per leak, radius vs leak, cruise runs.

    Parameters
    ----------
    outcomes : sequence of Outcome
    path : pathlib.Path
        PNG to write.
    """
    pend = [o for o in outcomes if o.case == "pendulum"]
    cruise = [o for o in outcomes if o.case == "cruise"]
    fig = plt.figure(figsize=(14.0, 9.4), layout="constrained")
    gs = fig.add_gridspec(2, max(len(pend), 2))
    # one zoom for all panels, so the ellipses compare by eye
    ellipses = {o.slope: _ellipse(P) for o in pend if (P := _region_matrix(o)) is not None}
    reach = [np.max(np.abs(e), axis=0) for e in ellipses.values()]
    lim = 1.8 * np.max(reach, axis=0) if reach else np.array([0.5, 1.0])
    for j, o in enumerate(pend):
        ax = fig.add_subplot(gs[0, j])
        d = o.states - o.x_star
        # a readable subset of the inside trajectories (evenly through the uniform and the
        # boundary starts), every outside one, every failure; every start is dotted
        ins_idx = np.flatnonzero(o.inside)
        keep = set(ins_idx[np.unique(np.linspace(0, ins_idx.size - 1, min(ins_idx.size,
                                                                            MAX_DRAWN))
                                     .astype(int))].tolist()) if ins_idx.size else set()
        keep |= set(np.flatnonzero(~o.inside | ~o.converged).tolist())
        drawn = [k for k in np.argsort(o.converged, kind="stable") if k in keep]
        for k in drawn[::-1]:  # converged first, failures last (on top)
            colour = ("tab:blue" if o.inside[k] else "0.6") if o.converged[k] else "tab:red"
            ax.plot(d[k, :, 0], d[k, :, 1], color=colour, lw=0.4, alpha=0.35 if o.converged[k]
                    else 0.8)
        ax.plot(o.X0[o.inside, 0] - o.x_star[0], o.X0[o.inside, 1] - o.x_star[1], ".",
                color="tab:blue", ms=1.5)
        out_ok, out_bad = ~o.inside & o.converged, ~o.inside & ~o.converged
        ax.plot(o.X0[out_ok, 0] - o.x_star[0], o.X0[out_ok, 1] - o.x_star[1], ".",
                color="0.35", ms=2.5)
        ax.plot(o.X0[out_bad, 0] - o.x_star[0], o.X0[out_bad, 1] - o.x_star[1], "x",
                color="tab:red", ms=4)
        if o.slope in ellipses:
            e = ellipses[o.slope]
            ax.plot(e[:, 0], e[:, 1], color="k", lw=1.6)
            ax.add_patch(plt.Circle((0.0, 0.0), o.cert.roa_radius, fill=False, ls="--",
                                    color="k", lw=0.8))
        ax.set_xlim(-lim[0], lim[0])
        ax.set_ylim(-lim[1], lim[1])
        ins = o.inside
        ax.set_title(f"a = {o.slope:g}: {o.cert.status}, r = {o.cert.roa_radius:.3g}\n"
                     f"inside {int((o.converged & ins).sum())}/{int(ins.sum())} converge, "
                     f"outside {int((o.converged & ~ins).sum())}/{int((~ins).sum())}",
                     fontsize=9.5)
        ax.set_xlabel(r"$\theta - \pi$ [rad]")
        if j == 0:
            ax.set_ylabel(r"$\omega$ [rad/s]")
        ax.grid(alpha=0.3)
    ax = fig.add_subplot(gs[1, : max(1, len(pend) // 2)])
    a = np.array([o.slope for o in pend])
    radius = np.array([o.cert.roa_radius if o.cert.certified else 0.0 for o in pend])
    ax.plot(a, radius, "o-", color="k", label="pendulum: certified (roa_radius)")
    ax.plot(a, [o.probe_radius for o in pend], "^--", color="tab:blue",
            label="pendulum: simulated (every probed start within it converges)")
    if cruise:
        ax.plot([o.slope for o in cruise], [0.0] * len(cruise), "s", color="tab:orange",
                label="cruise loop: linearisation only, no claim (0)")
    ax.set_xscale("symlog", linthresh=0.01)
    ax.set_xticks(list(SLOPES))
    ax.set_xticklabels([f"{s:g}" for s in SLOPES])
    ax.set_xlabel("negative_slope a [-]")
    ax.set_ylabel("ball radius about x* [rad, rad/s]")
    ax.set_ylim(bottom=0.0)
    ax.set_title("largest ball about the upright: certified vs simulated, against the leak",
                 fontsize=10)
    ax.legend(fontsize=8.5)
    ax.grid(alpha=0.3)
    if cruise:
        ax = fig.add_subplot(gs[1, max(1, len(pend) // 2):])
        colours = plt.get_cmap("viridis")(np.linspace(0.0, 0.85, len(cruise)))
        for o, colour in zip(cruise, colours, strict=True):
            shown = np.unique(np.linspace(0, o.states.shape[0] - 1,
                                          min(o.states.shape[0], MAX_DRAWN_CRUISE)).astype(int))
            for k in shown:
                ax.plot(o.t, o.states[k, :, 0], color=colour, lw=0.5, alpha=0.4,
                        label=(f"a = {o.slope:g}: {int(o.converged.sum())}/"
                               f"{o.converged.size} converge" if k == shown[0] else None))
        ax.axhline(V_REF, color="k", lw=0.8, ls=":")
        ax.set_xlabel("time [s]")
        ax.set_ylabel("speed v [m/s]")
        ax.set_title("cruise loop (throttle in [0, 1]): linearisation_only, no claim "
                     f"({len(shown)} runs per leak drawn)", fontsize=10)
        leg = ax.legend(fontsize=8.5)
        for line in leg.get_lines():
            line.set_linewidth(2.0)
            line.set_alpha(1.0)
        ax.grid(alpha=0.3)
    fig.suptitle("Leaky-ReLU networks imitating LQR (2-8-1, seed 0): certified region of "
                 "attraction vs simulation", fontsize=12)
    caption = (
        "Top: pendulum about the upright (theta = pi), torque saturated at 5 N m. Black: boundary "
        "of the certified ellipsoid (every state inside converges, under the certificate's "
        "assumptions: no disturbance, the network as trained, the exact pendulum model with sin "
        "bounded by its chord-slope sector on the box [1 rad, 3 rad/s], saturation as a "
        "slope-[0, 1] sector); dashed: the largest ball inside it (roa_radius; drawn on unequal "
        "axis scales). Blue: "
        "trajectories from starts inside it (uniform, and on the boundary); grey: starts "
        "1.05-1.5x outside it that converge; red: starts that do not converge to within "
        f"{CONVERGED_TOL:g} of x* by t = 20 s (Dopri5, rtol 1e-9). Bottom left: the simulated "
        "radius is probed on circles about x* (a measurement, not a certificate; the torque "
        "limit caps it near asin(5/9.81) = 0.53 rad). Bottom right: the cruise loop, which "
        "certify does not model exactly (linearisation only: no claim).")
    fig.text(0.01, -0.005, textwrap.fill(caption, 190), fontsize=8.5, va="top")
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the study; return 0, or 1 when a certified start failed (a soundness bug).

    Parameters
    ----------
    argv : sequence of str, optional
        Command-line arguments (default ``sys.argv[1:]``).

    Returns
    -------
    int
        Exit status.
    """
    parser = argparse.ArgumentParser(description="Certified network controllers vs the leak.")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--quick", action="store_true",
                        help="small version: 60 starts inside, 20 outside per network")
    parser.add_argument("--inside", type=int, default=None,
                        help="starts inside each certified region (default 600; quick 60)")
    parser.add_argument("--outside", type=int, default=None,
                        help="starts just outside it (default 150; quick 20)")
    args = parser.parse_args(argv)
    n_in = args.inside if args.inside is not None else (60 if args.quick else 600)
    n_out = args.outside if args.outside is not None else (20 if args.quick else 150)
    if n_in < 1 or n_out < 0:
        parser.error(f"--inside must be >= 1 and --outside >= 0, got {n_in} and {n_out}")
    args.out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    outcomes: list[Outcome] = []
    for case in (pendulum_case(), cruise_case()):
        for a in SLOPES:
            o = run_case(case, a, n_in, n_out, rng, n_dir=16 if args.quick else 48)
            outcomes.append(o)
            row = csv_row(o)
            print(f"{case.name:8s} a = {a:<5g} {o.cert.status:18s} radius {row[4]:.4g}  "
                  f"inside {row[6]}/{row[5]}  outside {row[8]}/{row[7]}  "
                  f"(train {o.times['train']:.1f} s, certify {o.times['certify']:.1f} s, "
                  f"simulate {o.times['simulate']:.1f} s)", flush=True)
    csv_path = write_csv(args.out / CSV_NAME, HEADER, [csv_row(o) for o in outcomes])
    plot(outcomes, args.out / PNG_NAME)
    print(f"wrote {csv_path} and {args.out / PNG_NAME}")
    failures = [f for o in outcomes for f in soundness_failures(o)]
    if failures:
        print(f"SOUNDNESS FAILURE: {len(failures)} start(s) inside a certified region did not "
              "converge or left it:", file=sys.stderr)
        for f in failures[:20]:
            print("  " + f, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
