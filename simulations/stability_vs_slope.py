"""
Certified stability versus the leak: circle criterion and contraction
=====================================================================

Study: what the leak buys in certified stability, for G = 1/(s+1)^3 under u = k phi_a(r - y).

With k = 5 the ReLU loop (a = 0) cannot be certified by the circle criterion (its Nyquist plot
enters the half-plane Re < -1/5) and no common quadratic metric contracts it; a leak a >= ~0.25
narrows the sector [a k, k] enough for both. The script writes

* ``rate_vs_slope.csv`` / ``.png``: certified contraction rate, its upper bound, what the
  Euclidean log-norm gives, circle margin and Popov verdict versus ``a``;
* ``circle_nyquist.png``: Nyquist plot of ``G`` with the critical region of the sectors
  ``[a k, k]`` for three leaks (drawn by :func:`leaky_control.plotting.circle_criterion_plot`),
  the whole curve and a zoom on where it meets the regions;
* ``trajectories.csv`` / ``.png``: two simulated trajectories for a certified leak, their
  distance in the certificate metric and the certified bound ``exp(-c t)``;
* ``phase_portraits.png``: what the leak does to the equilibria of a two-state loop,
  ``G2 = 1/(s (s + 1))`` under ``u = 2 phi_a(r - y)``: with ReLU every state above the
  reference at rest is an equilibrium (the loop coasts), a leak leaves one
  (:func:`leaky_control.plotting.phase_portrait`).

Trajectories are integrated with scipy's ``solve_ivp`` (DOP853, rtol 1e-10) as an independent
oracle; ``leaky_control.simulate`` can replace ``_simulate`` once the core simulator lands.

Run::

    python simulations/stability_vs_slope.py --out results/stability_vs_slope [--quick]

CSV columns carry their units (``[1/s]``, ``[s]``, ``[-]``) and six significant digits.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import control as ct
import numpy as np
from scipy.integrate import solve_ivp

from leaky_control.cli import output_folder, positive_int, positive_seconds
from leaky_control.tables import write_csv

K_GAIN = 5.0


def _simulate(A, B, C, k, a, r, x0, t_end, n_out=400):
    def rhs(_t, x):
        v = k * (r - C @ x)
        return A @ x + B @ np.where(v >= 0, v, a * v)

    ts = np.linspace(0.0, t_end, n_out)
    sol = solve_ivp(rhs, (0.0, t_end), x0, t_eval=ts, method="DOP853", rtol=1e-10, atol=1e-12)
    if not sol.success:
        raise RuntimeError(f"integration failed: {sol.message}")
    return ts, sol.y.T


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=output_folder, default="results/stability_vs_slope",
                        help="output directory (created if missing)")
    parser.add_argument("--n-slopes", type=positive_int, default=21,
                        help="number of leaks in [0, 1]")
    parser.add_argument("--slope", type=float, default=0.5,
                        help="leak used for the trajectory plot (must be certified)")
    parser.add_argument("--horizon", type=positive_seconds, default=5.0,
                        help="simulated time in units of the certified time constant 1/c")
    parser.add_argument("--quick", action="store_true",
                        help="3 leaks and a short horizon (smoke run)")
    args = parser.parse_args(argv)
    if args.quick:
        args.n_slopes, args.horizon = 3, 1.5

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from leaky_control.analysis.contraction import contraction_rate
    from leaky_control.analysis.sector import circle_criterion, popov_criterion
    from leaky_control.controllers import LeakyP
    from leaky_control.plants import LinearPlant

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    plant = ct.ss(ct.tf([1], [1, 3, 3, 1]))
    A, B, C = (np.asarray(m) for m in (plant.A, plant.B, plant.C))

    rows = []
    for a in np.linspace(0.0, 1.0, args.n_slopes):
        cert = contraction_rate(A, B, C, K_GAIN, float(a))
        circ = circle_criterion(A, B, C, K_GAIN, float(a))
        pop = popov_criterion(A, B, C, K_GAIN, float(a))
        rows.append(dict(
            negative_slope=float(a), rate=cert.rate, status=cert.status,
            certified=cert.success and cert.check(), rate_upper_bound=cert.rate_upper_bound,
            lognorm2_rate=cert.lognorm_rates["2"], circle_holds=circ.holds,
            circle_margin=circ.margin, popov_holds=pop.holds, popov_q=pop.q,
        ))
    units = dict(negative_slope="-", rate="1/s", status="-", certified="-",
                 rate_upper_bound="1/s", lognorm2_rate="1/s", circle_holds="-",
                 circle_margin="-", popov_holds="-", popov_q="s")
    write_csv(out / "rate_vs_slope.csv", [f"{k} [{units[k]}]" for k in rows[0]],
              [[str(v) if k == "status" else v for k, v in r_.items()] for r_ in rows])

    a_grid = np.array([r["negative_slope"] for r in rows])
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(7, 7), sharex=True)
    ax1.plot(a_grid, [r["rate"] for r in rows], "o-", label="certified rate c (common metric M)")
    ax1.plot(a_grid, [r["rate_upper_bound"] for r in rows], "k--", lw=1,
             label="upper bound min_i -max Re eig(J_i)")
    ln2 = min(r["lognorm2_rate"] for r in rows)
    ax1.text(0.02, 0.04, f"unweighted log-norms (M = I) give at best {ln2:.2f} for every a:\n"
             "off this scale, the weighted metric is what proves contraction",
             transform=ax1.transAxes, fontsize="small")
    ax1.axhline(0, color="0.5", lw=0.8)
    first_ok = next((r["negative_slope"] for r in rows if r["certified"]), None)
    if first_ok is not None:
        for ax in (ax1, ax2):
            ax.axvline(first_ok, color="C2", lw=0.8, ls="--")
        ax1.text(first_ok + 0.01, 0.2, f"first certified a = {first_ok:g}", color="C2",
                 fontsize="small")
    ax1.set_ylabel("contraction rate [1/s]")
    ax1.set_ylim(-0.2, 0.25)
    ax1.set_title(rf"$G = 1/(s+1)^3$, $u = {K_GAIN:g}\,\phi_a(r - y)$: what the leak certifies")
    ax1.legend(fontsize="small", loc="center right")
    ax2.plot(a_grid, [r["circle_margin"] for r in rows], "o-",
             label=r"circle-criterion margin $1 - \delta\,\|G_c\|_\infty$ (> 0: holds)")
    ax2.axhline(0, color="0.5", lw=0.8)
    popov_all = all(r["popov_holds"] for r in rows)
    popov_none = not any(r["popov_holds"] for r in rows)
    popov = ("holds for every a on the grid" if popov_all else
             "fails for every a on the grid" if popov_none else
             "holds for a in {" + ", ".join(f"{r['negative_slope']:g}" for r in rows
                                            if r["popov_holds"]) + "}")
    ax2.text(0.02, 0.95, f"Popov criterion (time-invariant nonlinearity only): {popov}",
             transform=ax2.transAxes, fontsize="small", va="top")
    ax2.set_xlabel("leak a (negative_slope)")
    ax2.set_ylabel("margin [-]")
    ax2.legend(fontsize="small", loc="lower right")
    fig.tight_layout()
    fig.savefig(out / "rate_vs_slope.png", dpi=120)
    plt.close(fig)

    from leaky_control.plotting import circle_criterion_plot, phase_portrait

    sectors = [(K_GAIN, 0.0), (K_GAIN, 0.2), (K_GAIN, args.slope)]
    fig, (ax_all, ax_zoom) = plt.subplots(1, 2, figsize=(13, 6.6), constrained_layout=True)
    cplt = circle_criterion_plot(plant, sectors, ax=ax_all, title="whole curve")
    circle_criterion_plot(plant, sectors, ax=ax_zoom, legend_loc=None,
                          title="zoom: where the curve meets the critical regions")
    # the zoom frames the closest points and the right-hand edges of the regions
    near = [complex(ct.evalfr(plant, 1j * r_.omega_peak)) for r_ in cplt.results]
    ax_zoom.set_xlim(-0.45, -0.05)
    ax_zoom.set_ylim(min(z.imag for z in near) - 0.15, max(z.imag for z in near) + 0.15)
    fig.suptitle(rf"Circle criterion for $G = 1/(s+1)^3$ under $u = {K_GAIN:g}\,\phi_a(r - y)$: "
                 "the loop is certified when the curve avoids the region of its sector")
    fig.savefig(out / "circle_nyquist.png", dpi=120, bbox_inches="tight")
    plt.close(fig)

    # two-state loop for the phase portraits: G2 = 1/(s (s + 1)), y = x1
    plant2 = LinearPlant(np.array([[0.0, 1.0], [0.0, -1.0]]), np.array([[0.0], [1.0]]),
                         np.array([[1.0, 0.0]]))
    fig, axes = plt.subplots(1, 2, figsize=(13, 6.4), constrained_layout=True)
    for ax, a2 in zip(axes, (0.0, 0.2), strict=True):
        pp = phase_portrait(plant2, LeakyP(kp=2.0, negative_slope=a2), (-1.5, 2.5, -1.5, 1.5),
                            reference=0.5, final_time=12.0, per_side=3, ax=ax,
                            labels=["output y = position [-]", "velocity dy/dt [1/s]"])
        if a2 == 0:
            # the whole half-line (y >= r, at rest) is in equilibrium: the roots found lie on it
            ax.plot([0.5, 2.5], [0.0, 0.0], color="k", lw=3, alpha=0.35, zorder=2)
            ax.set_title(f"ReLU: every state at rest with y >= r is an equilibrium (grey line; "
                         f"{len(pp.equilibria)} roots found on it)", fontsize="medium")
        else:
            ax.set_title(f"leak a = {a2:g}: a single equilibrium, y = r, at rest",
                         fontsize="medium")
    fig.suptitle(r"Phase portraits of $G_2 = 1/(s(s+1))$ under $u = 2\,\phi_a(r - y)$, "
                 r"$r = 0.5$: above the reference the ReLU loop coasts")
    fig.savefig(out / "phase_portraits.png", dpi=120, bbox_inches="tight")
    plt.close(fig)

    a = args.slope
    cert = contraction_rate(A, B, C, K_GAIN, a)
    if not cert.success:
        raise SystemExit(f"a = {a} is not certified ({cert.message}); pick a larger --slope")
    c, M = cert.rate, cert.metric
    r = np.array([1.0])
    x1, x2 = np.array([3.0, -2.0, 1.0]), np.array([-4.0, 1.0, 2.5])
    t_end = args.horizon / c
    ts, y1 = _simulate(A, B, C, K_GAIN, a, r, x1, t_end)
    _, y2 = _simulate(A, B, C, K_GAIN, a, r, x2, t_end)
    d = y1 - y2
    dist = np.sqrt(np.einsum("ti,ij,tj->t", d, M, d))
    bound = dist[0] * np.exp(-c * ts)
    worst = float(np.max(dist[1:] / bound[1:]))
    write_csv(out / "trajectories.csv", ["t [s]", "y1 [-]", "y2 [-]", "dist_M [-]", "bound [-]"],
              zip(ts, (y1 @ C.T)[:, 0], (y2 @ C.T)[:, 0], dist, bound, strict=True))

    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(7, 7), sharex=True)
    ax1.plot(ts, (y1 @ C.T)[:, 0], label="y, trajectory 1")
    ax1.plot(ts, (y2 @ C.T)[:, 0], label="y, trajectory 2")
    ax1.axhline(r[0], color="0.5", lw=0.8, ls="--", label="reference r")
    y_eq = K_GAIN * r[0] / (1.0 + K_GAIN)  # r > 0: equilibrium on the slope-1 side, G(0) = 1
    ax1.axhline(y_eq, color="k", lw=0.8, ls=":",
                label=f"equilibrium k r / (1 + k) = {y_eq:.3g} (P control: offset)")
    ax1.set_ylabel("output y [-]")
    ax1.set_title(f"a = {a:g}: two trajectories of the leaky loop")
    ax1.legend(fontsize="small")
    ax2.semilogy(ts, dist, label=r"$\|x_1 - x_2\|_M$ (simulated)")
    ax2.semilogy(ts, bound, "k--",
                 label=rf"certified bound $e^{{-{c:.4f} t}}\,\|x_1(0) - x_2(0)\|_M$")
    ax2.set_xlabel("t [s]")
    ax2.set_ylabel("distance in the metric M [-]")
    ax2.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(out / "trajectories.png", dpi=120)
    plt.close(fig)

    first = next((r_["negative_slope"] for r_ in rows if r_["certified"]), math.nan)
    print(f"smallest certified leak on the grid: a = {first:g}")
    print(f"a = {a:g}: certified rate {c:.5f}; "
          f"max over t > 0 of simulated/bound {worst:.6f} (<= 1)")
    print(f"wrote {out}/rate_vs_slope.csv, rate_vs_slope.png, circle_nyquist.png, "
          "phase_portraits.png, trajectories.csv, trajectories.png")
    return rows


if __name__ == "__main__":
    main()
