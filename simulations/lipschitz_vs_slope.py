"""
Lipschitz bounds and certified radii versus the leak
====================================================

How the leak ``a`` moves Lipschitz bounds and certified radii of fixed Leaky-ReLU networks.

Left panels: for three fixed networks, every bound as ``a`` goes from 0 (ReLU) to 1 (linear):
the naive product of norms, LipSDP-Layer, LipSDP-Neuron, the exact constant maximised over all
biases (one hidden layer), the exact constant for the network's own biases, and the sampled
lower bound. Right panel: the certified l2 radius of the same classifier at the same inputs
with ReLU (a = 0) and with a leaky ReLU (same weights): it moves either way, because the radius
is ``margin(x; a) / L(a)`` and the leak changes the margin (the function itself) as well as L.

Run: ``python simulations/lipschitz_vs_slope.py --out DIR [--quick]`` (writes PNG + CSV,
headless). CSV headers carry units (``[-]``: all quantities are dimensionless) and numbers six
significant digits.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import itertools

import matplotlib.pyplot as plt
import numpy as np

from leaky_control.analysis.lipschitz import (
    certified_radius,
    lipschitz_bound,
    lipschitz_lower_bound,
)
from leaky_control.cli import output_folder, positive_int
from leaky_control.tables import write_csv


def random_net(sizes, seed, bias_scale=0.5):
    rng = np.random.default_rng(seed)
    ws = [rng.standard_normal((o, i)) / np.sqrt(i) for i, o in itertools.pairwise(sizes)]
    bs = [bias_scale * rng.standard_normal(o) for o in sizes[1:]]
    return ws, bs


def networks():
    """Three fixed networks: a small one-hidden-layer net, a deeper net, and a cancelling pair."""
    odd = (
        [np.array([[1.0], [-1.0], [0.5]]), np.array([[1.0, -1.0, 0.8]])],
        [np.array([0.0, 0.0, -0.3]), np.zeros(1)],
    )
    return {
        "2-8-1 (random)": random_net([2, 8, 1], seed=1),
        "2-12-12-1 (random)": random_net([2, 12, 12, 1], seed=2),
        "1-3-1 (cancelling pair)": odd,
    }


def bounds_vs_slope(slopes, seed=0):
    rows = []
    for name, (ws, bs) in networks().items():
        one_hidden = len(ws) == 2
        for a in slopes:
            methods = ["naive", "lipsdp-layer", "lipsdp"]
            if one_hidden:
                methods += ["exact", "exact-regions"]
            for m in methods:
                r = lipschitz_bound(ws, bs, a, m)
                rows.append((name, a, m, r.value, r.certified))
            low = lipschitz_lower_bound(ws, bs, a, n_samples=2048, seed=seed)
            rows.append((name, a, "sampled (lower)", low.value, False))
    return rows


def radius_relu_vs_leaky(a_leaky=0.2, n_points=40, seed=0):
    ws, bs = random_net([2, 16, 3], seed=7, bias_scale=0.3)
    rng = np.random.default_rng(seed)
    xs = rng.uniform(-2, 2, (n_points, 2))
    r0 = certified_radius(ws, bs, xs, 0.0, method="lipsdp")
    r1 = certified_radius(ws, bs, xs, a_leaky, method="lipsdp")
    rows = []
    for i, x in enumerate(xs):
        rows.append(
            (
                x[0],
                x[1],
                r0.radius[i],
                r1.radius[i],
                r0.margin[i],
                r1.margin[i],
                r0.lipschitz.value,
                r1.lipschitz.value,
                int(r0.predicted[i]),
                int(r1.predicted[i]),
            )
        )
    return rows


STYLE = {
    "naive": ("tab:gray", "--"),
    "lipsdp-layer": ("tab:orange", "-"),
    "lipsdp": ("tab:blue", "-"),
    "exact": ("tab:green", ":"),
    "exact-regions": ("tab:red", "-."),
    "sampled (lower)": ("black", "none"),
}


def plot(rows, radius_rows, a_leaky, path):
    names = list(dict.fromkeys(r[0] for r in rows))
    fig, axes = plt.subplots(1, len(names) + 1, figsize=(4.2 * (len(names) + 1), 4.0))
    for ax, name in zip(axes, names, strict=False):
        for method, (color, ls) in STYLE.items():
            pts = [(r[1], r[3]) for r in rows if r[0] == name and r[2] == method]
            if not pts:
                continue
            a, v = np.array(pts).T
            if method == "sampled (lower)":
                ax.plot(a, v, "o", color=color, ms=3.5, label=method)
            elif method == "exact":
                # drawn on top: for one hidden layer and one output it often coincides with LipSDP
                ax.plot(
                    a, v, ls, color=color, lw=2.6, zorder=5, label="exact (worst case over biases)"
                )
            elif method == "exact-regions":
                ax.plot(a, v, ls, color=color, lw=1.6, label="exact (these biases)")
            elif method == "naive":
                # flat for a < 1; at a = 1 the net is linear and the bound is exact: a jump,
                # not a slope, so the point a = 1 is not joined to the rest
                lin = a >= 1.0
                ax.plot(a[~lin], v[~lin], ls, color=color, lw=1.6,
                        label="naive product of norms (a < 1)")
                ax.plot(a[lin], v[lin], "*", color=color, ms=10,
                        label="naive at a = 1: exact (linear net)")
            else:
                ax.plot(a, v, ls, color=color, lw=1.6, label=method)
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("leak a (negative_slope)")
        ax.set_ylabel("Lipschitz constant or bound, l2 [-]")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    ax = axes[-1]
    r0 = np.array([r[2] for r in radius_rows])
    r1 = np.array([r[3] for r in radius_rows])
    up = r1 > r0
    ax.plot(r0[up], r1[up], "^", color="tab:green", label=f"larger with a={a_leaky:g} ({up.sum()})")
    ax.plot(r0[~up], r1[~up], "v", color="tab:red", label=f"smaller ({(~up).sum()})")
    top = 1.05 * max(r0.max(), r1.max())
    ax.plot([0, top], [0, top], "k-", lw=0.8)
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    l0, l1 = radius_rows[0][6], radius_rows[0][7]
    ax.set_title(
        f"certified radius, 2-16-3 classifier\nLipSDP L: {l0:.3g} (ReLU) -> {l1:.3g} (leaky)",
        fontsize=10,
    )
    ax.set_xlabel("radius with ReLU (a = 0)")
    ax.set_ylabel(f"radius with leaky ReLU (a = {a_leaky:g}), same weights")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=output_folder, default="out/lipschitz_vs_slope",
                        help="output directory")
    parser.add_argument("--n-slopes", type=positive_int, default=11,
                        help="number of leak values in [0, 1]")
    parser.add_argument("--leak", type=float, default=0.2, help="leak for the radius comparison")
    parser.add_argument("--quick", action="store_true", help="3 leaks only (smoke run)")
    args = parser.parse_args(argv)
    if args.quick:
        args.n_slopes = 3
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    slopes = np.linspace(0.0, 1.0, args.n_slopes)
    rows = bounds_vs_slope(slopes)
    write_csv(out / "bounds_vs_slope.csv",
              ["network [-]", "negative_slope [-]", "method [-]", "lipschitz_l2 [-]",
               "certified_upper_bound [-]"],
              [(n, float(a), m, v, bool(c)) for n, a, m, v, c in rows])
    radius_rows = radius_relu_vs_leaky(args.leak)
    write_csv(out / "radius_relu_vs_leaky.csv",
              ["x0 [-]", "x1 [-]", "radius_relu [-]", "radius_leaky [-]", "margin_relu [-]",
               "margin_leaky [-]", "lipsdp_relu [-]", "lipsdp_leaky [-]", "class_relu [-]",
               "class_leaky [-]"], radius_rows)
    png = out / "lipschitz_vs_slope.png"
    plot(rows, radius_rows, args.leak, png)
    if os.environ.get("LEAKY_CONTROL_VERBOSE", "1") != "0":
        print(f"wrote {png}, {out / 'bounds_vs_slope.csv'}, {out / 'radius_relu_vs_leaky.csv'}")
    return png


if __name__ == "__main__":
    main()
