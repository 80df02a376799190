"""
Dying ReLU: a dead neuron, and dead units in a network
======================================================

Dying ReLU: the three-point dead neuron, and dead units in a deeper network (SGD vs Adam).

Part 1, the three-point dead neuron: ``x = t = (1, 2, 3)``, one unit ``y = phi(w x + b)`` with
``w = b = -1``, loss ``mean((y - t)**2)``. Every pre-activation is negative, so a ReLU unit gets
exactly zero gradient and never moves; a leaky unit (a = 0.01) gets a gradient ``a`` times
smaller and revives; a PReLU unit also learns its slope. Trained full-batch with SGD and Adam.

Part 2, a deeper network ``2-32-32-1`` initialised with bias -2 (many units start stuck
negative), ReLU / leaky 0.01 / leaky 0.1 / PReLU, trained with mini-batch SGD and Adam: loss,
stuck-negative fraction, units revived and the fraction of (sample, unit) pairs with exactly
zero gradient, from :func:`leaky_control.bridge.training.train`'s history.

Run ``python simulations/dying_relu.py --out results`` (add ``--quick`` for a fast smoke run).
Writes ``dying_relu_neuron.png/.csv`` and ``dying_relu_network.png/.csv`` into ``--out``.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
from pathlib import Path

import numpy as np

from leaky_control.activations import prelu, prelu_backward
from leaky_control.bridge.init import init_mlp
from leaky_control.bridge.training import train
from leaky_control.cli import output_folder, positive_int

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
            lab = (
                f"{name} (revived at step {res['revived_step']})"
                if res["revived_step"] is not None
                else f"{name} (never revived)"
            )
            axes[r, 0].plot(res["loss"], label=lab)
            axes[r, 1].plot(3 * res["w"] + res["b"], label=name)
            axes[r, 2].plot(res["slope"], label=name)
        axes[r, 0].set(yscale="log", xlabel="step", ylabel="loss", title=f"{opt.upper()}: loss")
        axes[r, 1].axhline(0, color="k", lw=0.6)
        axes[r, 1].set(
            xlabel="step",
            ylabel="largest pre-activation 3w + b",
            title=f"{opt.upper()}: unit alive again once 3w + b > 0",
        )
        axes[r, 2].set(
            xlabel="step", ylabel="negative slope", title=f"{opt.upper()}: slope (PReLU learns it)"
        )
        for ax in axes[r]:
            ax.legend(fontsize=8)
    fig.suptitle(f"Three-point dead neuron x = t = (1, 2, 3), w = b = -1, {steps} full-batch steps")
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _plot_network(hists, path):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 4, figsize=(17, 7.5), constrained_layout=True)
    for r, opt in enumerate(("sgd", "adam")):
        for act, a in NETS:
            h = hists[act, a, opt]
            lab = (act if a is None else f"{act} a={a}") + ("" if h.success else " (diverged)")
            axes[r, 0].plot(h.epoch, h.loss, label=lab)
            axes[r, 1].plot(h.epoch, h.stuck_fraction[:, 0], label=lab)
            axes[r, 2].plot(h.epoch, np.cumsum(h.revived[:, 0]), label=lab)
            axes[r, 3].plot(h.epoch, h.zero_grad_fraction, label=lab)
        axes[r, 0].set(
            yscale="log", xlabel="epoch", ylabel="training MSE", title=f"{opt.upper()}: loss"
        )
        axes[r, 1].set(
            xlabel="epoch", ylabel="fraction", title=f"{opt.upper()}: layer-1 units stuck negative"
        )
        axes[r, 2].set(
            xlabel="epoch",
            ylabel="units",
            title=f"{opt.upper()}: layer-1 units revived (cumulative)",
        )
        axes[r, 3].set(
            xlabel="epoch",
            ylabel="fraction",
            ylim=(-0.02, 1.02),
            title=f"{opt.upper()}: zero-gradient (sample, unit) pairs",
        )
        for ax in axes[r]:
            ax.legend(fontsize=8)
    fig.suptitle(
        "2-32-32-1 network, bias initialised at -2: dead (ReLU) vs stuck-but-alive (leaky) units"
    )
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
    parser.add_argument("--out", type=output_folder, default="results", help="output directory (created if missing)")
    parser.add_argument("--steps", type=positive_int, default=1000, help="steps for the three-point neuron")
    parser.add_argument("--epochs", type=positive_int, default=100, help="epochs for the deeper network")
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
    with open(out / "dying_relu_neuron.csv", "w", newline="") as fh:
        wr = csv.writer(fh)
        wr.writerow(["unit", "optimizer", "step", "loss", "w", "b", "slope"])
        for (name, opt), res in neuron.items():
            for k in range(len(res["loss"])):
                wr.writerow(
                    [
                        name,
                        opt,
                        k,
                        f"{res['loss'][k]:.10g}",
                        f"{res['w'][k]:.10g}",
                        f"{res['b'][k]:.10g}",
                        f"{res['slope'][k]:.10g}",
                    ]
                )
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
    with open(out / "dying_relu_network.csv", "w", newline="") as fh:
        wr = csv.writer(fh)
        wr.writerow(
            [
                "activation",
                "negative_slope",
                "optimizer",
                "epoch",
                "loss",
                "stuck_l1",
                "stuck_l2",
                "dead_l1",
                "dead_l2",
                "revived_l1",
                "revived_l2",
                "zero_grad_fraction",
                "success",
            ]
        )
        for (act, a, opt), h in hists.items():
            for e in h.epoch:
                wr.writerow(
                    [
                        act,
                        0.0 if a is None else a,
                        opt,
                        int(e),
                        f"{h.loss[e]:.10g}",
                        *(f"{v:.6g}" for v in h.stuck_fraction[e]),
                        *(f"{v:.6g}" for v in h.dead_fraction[e]),
                        *(int(v) for v in h.revived[e]),
                        f"{h.zero_grad_fraction[e]:.6g}",
                        h.success,
                    ]
                )
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
