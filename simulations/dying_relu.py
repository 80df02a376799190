"""
Dying ReLU: a dead neuron, and dead units in a network
======================================================

Dying ReLU: the three-point dead neuron, and dead units in a deeper network (SGD vs Adam).

Part 1, the three-point dead neuron: ``x = t = (1, 2, 3)``, one unit ``y = phi(w x + b)`` with
``w = b = -1``, loss ``mean((y - t)**2)``. Every pre-activation is negative, so a ReLU unit gets
exactly zero gradient and never moves; a leaky unit (a = 0.01) gets a gradient ``a`` times
smaller and revives; a PReLU unit also learns its slope. Trained full-batch with SGD and Adam.

Part 2, a deeper network ``2-32-32-1`` initialised with bias -2 (many units start stuck
negative), ReLU / leaky 0.01 / leaky 0.1 / PReLU, trained with mini-batch SGD and Adam. The
figure shows the loss, the number of hidden units stuck negative and the gradient that still
reaches the stuck first-layer units (exactly zero for ReLU: dead units); ReLU is drawn wide and
pale underneath so that a leaky curve lying on it stays visible. The CSV holds the whole
history of :func:`leaky_control.bridge.training.train` (stuck, dead and revived units per layer,
zero-gradient fraction).

Run ``python simulations/dying_relu.py --out results`` (add ``--quick`` for a fast smoke run).
Writes ``dying_relu_neuron.png/.csv`` and ``dying_relu_network.png/.csv`` into ``--out``; CSV
headers carry units (``[-]``: every quantity is dimensionless), numbers six significant digits.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

from leaky_control.activations import prelu, prelu_backward
from leaky_control.bridge.init import init_mlp
from leaky_control.bridge.training import train
from leaky_control.cli import output_folder, positive_int
from leaky_control.tables import write_csv

UNITS = (("relu", 0.0, False), ("leaky", 0.01, False), ("prelu", 0.01, True))
NETS = (("relu", None), ("leaky", 0.01), ("leaky", 0.1), ("prelu", 0.01))


def three_point_neuron(slope, learn_slope, optimizer, lr, steps):
    """Train ``y = phi(w x + b)`` on ``x = t = (1, 2, 3)`` from ``w = b = -1``.

    Returns a dict of per-step arrays ``loss``, ``w``, ``b``, ``slope`` and ``revived_step``
    (first step after which some pre-activation is positive, or None).
    """
    x = np.array([1.0, 2.0, 3.0])
    t = x.copy()
    p = np.array([-1.0, -1.0, slope])  # w, b, slope
    m = np.zeros(3)
    v = np.zeros(3)
    rec = {"loss": [], "w": [], "b": [], "slope": []}
    revived = None
    for k in range(steps + 1):
        z = p[0] * x + p[1]
        y = prelu(z, p[2])
        rec["loss"].append(np.mean((y - t) ** 2))
        rec["w"].append(p[0])
        rec["b"].append(p[1])
        rec["slope"].append(p[2])
        if revived is None and np.any(z > 0):
            revived = k
        if k == steps:
            break
        gz, ga = prelu_backward(z, p[2], 2.0 * (y - t) / x.size)
        g = np.array([np.sum(gz * x), np.sum(gz), ga if learn_slope else 0.0])
        if optimizer == "sgd":
            p -= lr * g
        else:
            m = 0.9 * m + 0.1 * g
            v = 0.999 * v + 0.001 * g * g
            p -= lr * (m / (1 - 0.9 ** (k + 1))) / (np.sqrt(v / (1 - 0.999 ** (k + 1))) + 1e-8)
    out = {key: np.asarray(val) for key, val in rec.items()}
    out["revived_step"] = revived
    return out


def _plot_neuron(results, steps, path):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 3, figsize=(13, 7), constrained_layout=True)
    for r, opt in enumerate(("sgd", "adam")):
        for name, _, _ in UNITS:
            res = results[name, opt]
            if res["revived_step"] is not None:
                lab = f"{name} (revived at step {res['revived_step']})"
            elif res["slope"][-1] < 0 and res["loss"][-1] < 1e-3:
                lab = f"{name} (never revived: fits t with a learnt slope {res['slope'][-1]:.2f})"
            else:
                lab = f"{name} (never revived)"
            axes[r, 0].plot(res["loss"], label=lab)
            axes[r, 1].plot(3 * res["w"] + res["b"], label=name)
            axes[r, 2].plot(res["slope"], label=name)
        axes[r, 0].set(yscale="log", xlabel="step", ylabel="loss [-]", title=f"{opt.upper()}: loss")
        axes[r, 1].axhline(0, color="k", lw=0.6)
        axes[r, 1].set(
            xlabel="step",
            ylabel="largest pre-activation 3w + b",
            title=f"{opt.upper()}: unit alive again once 3w + b > 0",
        )
        axes[r, 2].set(
            xlabel="step", ylabel="negative slope a [-]",
            title=f"{opt.upper()}: slope a (PReLU learns it)"
        )
        for ax in axes[r]:
            ax.legend(fontsize=8)
    fig.suptitle(f"Three-point dead neuron x = t = (1, 2, 3), w = b = -1, {steps} full-batch steps")
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ReLU is drawn wide and pale underneath, the leaky curves narrower on top: where the curves
# coincide (ReLU and leaky 0.01 under SGD) both stay visible
NET_STYLE = {
    ("relu", None): dict(color="k", lw=4.0, alpha=0.35, ls="-"),
    ("leaky", 0.01): dict(color="C1", lw=1.6, ls="--"),
    ("leaky", 0.1): dict(color="C2", lw=1.6, ls="-"),
    ("prelu", 0.01): dict(color="C0", lw=1.6, ls="-."),
}


def _net_label(act, a, h):
    if act == "relu":
        name = "ReLU"
    else:
        name = f"leaky a = {a:g}" if act == "leaky" else f"PReLU, a learnt from {a:g}"
    return name + ("" if h.success else " (diverged)")


def _plot_network(hists, path):
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, axes = plt.subplots(2, 3, figsize=(16, 8.4), constrained_layout=True)
    n_units = None
    for r, opt in enumerate(("sgd", "adam")):
        ax_loss, ax_stuck, ax_grad = axes[r]
        for act, a in NETS:
            h = hists[act, a, opt]
            style = NET_STYLE[act, a]
            lab = _net_label(act, a, h)
            ax_loss.plot(h.epoch, h.loss, label=lab, **style)
            # units, not fractions: 32 + 32 hidden units, counts read directly
            n_units = 32 * h.stuck_fraction.shape[1]
            stuck = np.rint(32 * h.stuck_fraction.sum(axis=1))
            ax_stuck.plot(h.epoch, stuck, label=lab, **style)
            if act != "relu":
                g = np.where(h.stuck_grad_norm[:, 0] > 0, h.stuck_grad_norm[:, 0], np.nan)
                ax_grad.plot(h.epoch, g, label=lab, **style)
        relu = hists["relu", None, opt]
        ax_loss.set(yscale="log", xlabel="epoch", ylabel="training MSE [-]",
                    title=f"{opt.upper()}: training loss")
        ax_stuck.set(xlabel="epoch", ylabel=f"units stuck negative (of {n_units})",
                     ylim=(0, n_units), title=f"{opt.upper()}: hidden units stuck negative "
                                                "(both layers)")
        zf = relu.zero_grad_fraction[-1]
        ax_grad.set(yscale="log", xlabel="epoch", ylabel="mean gradient norm [-]",
                    title=f"{opt.upper()}: gradient reaching stuck layer-1 units\n"
                          f"(ReLU: 0, not drawn; {100 * zf:.0f} % of sample-unit pairs blocked)")
        for ax in axes[r]:
            ax.grid(True, ls=":", lw=0.6)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole
        ax_loss.legend(fontsize="small")
    fig.suptitle("2-32-32-1 network, biases initialised at -2 (many units start stuck negative): "
                 "a dead ReLU unit gets no gradient, a stuck leaky unit still does")
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None):
    """Run both experiments and write PNG + CSV files.

    Parameters
    ----------
    argv : list of str, optional
        Command-line arguments (``--out DIR``, ``--quick``, ``--steps N``, ``--epochs N``).

    Returns
    -------
    int
        0 on success.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=output_folder, default="results",
                        help="output directory (created if missing)")
    parser.add_argument("--steps", type=positive_int, default=1000,
                        help="steps for the three-point neuron")
    parser.add_argument("--epochs", type=positive_int, default=100,
                        help="epochs for the deeper network")
    parser.add_argument("--quick", action="store_true", help="few steps/epochs (smoke test)")
    args = parser.parse_args(argv)
    if args.quick:
        args.steps, args.epochs = 50, 3
    if args.steps < 1 or args.epochs < 1:
        parser.error("--steps and --epochs must be >= 1")
    os.environ.setdefault("MPLBACKEND", "Agg")
    import matplotlib

    matplotlib.use("Agg")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    lrs = {"sgd": 0.05, "adam": 0.02}
    neuron = {}
    for name, slope, learn in UNITS:
        for opt in ("sgd", "adam"):
            neuron[name, opt] = three_point_neuron(slope, learn, opt, lrs[opt], args.steps)
    write_csv(out / "dying_relu_neuron.csv",
              ["unit [-]", "optimizer [-]", "step [-]", "loss [-]", "w [-]", "b [-]", "slope [-]"],
              ([name, opt, k, res["loss"][k], res["w"][k], res["b"][k], res["slope"][k]]
               for (name, opt), res in neuron.items() for k in range(len(res["loss"]))))
    _plot_neuron(neuron, args.steps, out / "dying_relu_neuron.png")

    rng = np.random.default_rng(0)
    x = rng.normal(size=(512, 2))
    y = (np.sin(2 * x[:, 0]) + x[:, 1] ** 2)[:, None]
    net_lrs = {"sgd": 0.01, "adam": 0.005}
    hists = {}
    for act, a in NETS:
        net = init_mlp([2, 32, 32, 1], act, a, rng=1, bias=-2.0)
        for opt in ("sgd", "adam"):
            hists[act, a, opt] = train(net, x, y, opt, net_lrs[opt], args.epochs, 32, seed=2)
    header = ["activation [-]", "negative_slope [-]", "optimizer [-]", "epoch [-]", "loss [-]",
              "stuck_l1 [-]", "stuck_l2 [-]", "dead_l1 [-]", "dead_l2 [-]", "revived_l1 [-]",
              "revived_l2 [-]", "stuck_grad_norm_l1 [-]", "stuck_grad_norm_l2 [-]",
              "zero_grad_fraction [-]", "success [-]"]
    write_csv(out / "dying_relu_network.csv", header,
              ([act, 0.0 if a is None else a, opt, int(e), h.loss[e], *h.stuck_fraction[e],
                *h.dead_fraction[e], *(int(v) for v in h.revived[e]), *h.stuck_grad_norm[e],
                h.zero_grad_fraction[e], bool(h.success)]
               for (act, a, opt), h in hists.items() for e in h.epoch))
    _plot_network(hists, out / "dying_relu_network.png")

    for (name, opt), res in neuron.items():
        print(
            f"neuron {name:5s} {opt:4s}: loss {res['loss'][0]:.3f} -> {res['loss'][-1]:.4f}, "
            f"revived at step {res['revived_step']}, final slope {res['slope'][-1]:.3f}"
        )
    for (act, a, opt), h in hists.items():
        print(
            f"net {act:5s} a={a!s:5s} {opt:4s}: loss {h.loss[-1]:.4f}, layer-1 stuck "
            f"{h.stuck_fraction[0, 0]:.2f} -> {h.stuck_fraction[-1, 0]:.2f}, "
            f"revived {h.revived.sum(0)}"
        )
    print(f"wrote {out}/dying_relu_neuron.(png|csv) and {out}/dying_relu_network.(png|csv)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
