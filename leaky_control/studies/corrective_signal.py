"""The side-by-side: corrective-signal availability in a control loop and in training.

Left, control: the flagship cruise-control scenario (:mod:`leaky_control.studies.cruise_control`:
20 -> 25 m/s, 4 degree hill at 5 s, 1 degree descent from 27 s) under a PI with ReLU (a = 0),
leaky (a = 0.1) and adaptive-slope (:class:`leaky_control.AdaptivePReLU`, a0 = 0) proportional
terms, with a brake; the same runs without a brake are drawn dashed in the availability panel.
Right, training: a 2-32-32-1 network initialised with bias -2 (as in
``simulations/dying_relu.py``) with ReLU, leaky (0.1) and PReLU (slopes start at 0.1) units,
trained with Adam. Bottom row, both sides: corrective-signal availability
(:mod:`leaky_control.bridge.corrective`). Writes ``corrective_signal.png`` and
``corrective_signal.csv`` (one row per run) into ``--out``.

Run: ``python simulations/corrective_signal.py --out results``.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys

import numpy as np

from ..cli import output_folder, positive_int, positive_seconds
from .cruise_control import KI, KP, V0, VREF, road_slope

#: adaptation gain of the adaptive controller (slope 0 -> about 0.8 over the overshoot)
GAMMA = 0.2
CONTROL = (("ReLU (a=0)", 0.0), ("leaky (a=0.1)", 0.1), ("adaptive PReLU (a0=0)", None))
NETWORKS = (("ReLU", "relu", None), ("leaky (a=0.1)", "leaky", 0.1), ("PReLU (a0=0.1)", "prelu", 0.1))


def run_control(final_time=60.0, npts=3001):
    """Cruise runs: ``{(label, brake): response}``."""
    import leaky_control as lc

    t = np.linspace(0.0, final_time, npts)
    theta = road_slope(t)
    out = {}
    for brake in (True, False):
        plant = lc.CruiseControl(brake=brake)
        z0 = plant.equilibrium_throttle(V0) / KI
        lim = dict(u_min=-1.0 if brake else 0.0, u_max=1.0)
        for label, a in CONTROL:
            if a is None:
                ctrl, xc0 = lc.AdaptivePReLU(kp=KP, ki=KI, gamma=GAMMA, a0=0.0, **lim), [z0, 0.0]
            else:
                ctrl, xc0 = lc.LeakyPI(kp=KP, ki=KI, negative_slope=a, **lim), [z0]
            resp = lc.simulate(plant, ctrl, t, reference=VREF, disturbance=theta,
                               initial_state=[V0], controller_state=xc0)
            if not resp.success:
                raise RuntimeError(f"simulation failed ({label}, brake={brake}): {resp.message}")
            out[label, brake] = resp
    return out


def run_training(epochs=100, n=512, seed=0):
    """Training runs: ``{label: TrainHistory}`` on ``y = sin(2 x1) + x2^2``."""
    from leaky_control.bridge.init import init_mlp
    from leaky_control.bridge.training import train

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2))
    y = (np.sin(2 * x[:, 0]) + x[:, 1] ** 2)[:, None]
    out = {}
    for label, act, a in NETWORKS:
        net = init_mlp([2, 32, 32, 1], act, a, rng=1, bias=-2.0)
        out[label] = train(net, x, y, "adam", 0.005, epochs, 32, seed=2)
    return out


def summarise(control, training):
    """One row per run: metric name -> value."""
    import leaky_control as lc
    from leaky_control.bridge.corrective import control_availability, training_availability

    rows = []
    for (label, brake), resp in control.items():
        info = lc.step_info(resp, final_output=VREF, initial_output=V0)
        av = control_availability(resp)
        labels = list(resp.state_labels)
        rows.append({"side": "control", "run": label, "brake": brake,
                     "overshoot_pct": info["Overshoot"], "IAE": info["IAE"],
                     "coasting_fraction": info["CoastingFraction"],
                     "availability": av.summary,
                     "final_slope": resp.signal("a")[-1] if "a" in labels else np.nan})
    for label, h in training.items():
        av = training_availability(h)
        rows.append({"side": "training", "run": label, "final_loss": h.loss[-1],
                     "dead_fraction_l1": h.dead_fraction[-1, 0],
                     "stuck_fraction_l1": h.stuck_fraction[-1, 0],
                     "availability": av.summary, "final_availability": av.availability[-1]})
    return rows


def plot(control, training, path):
    """The 3 x 2 figure; returns the path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from leaky_control.bridge.corrective import control_availability, training_availability

    fig, ax = plt.subplots(3, 2, figsize=(13, 10), constrained_layout=True)
    for k, (label, _) in enumerate(CONTROL):
        c = f"C{k}"
        resp = control[label, True]
        t = resp.time
        ax[0, 0].plot(t, resp.y[0], c, label=label)
        ax[1, 0].plot(t, resp.signal("u"), c, label=f"{label}: u")
        labels = list(resp.state_labels)
        if "a" in labels:
            ax[1, 0].plot(t, resp.signal("a"), c, ls=":", label="adaptive slope a(t)")
        for brake, ls in ((True, "-"), (False, "--")):
            av = control_availability(control[label, brake])
            lost = np.cumsum(1.0 - av.availability) / np.arange(1, t.size + 1)
            ax[2, 0].plot(t, lost, c, ls=ls,
                          label=f"{label}, {'brake' if brake else 'no brake'}: "
                                f"availability {av.summary:.3f}")
    ax[0, 0].axhline(VREF, color="k", ls="--", lw=1)
    ax[0, 0].set(ylabel="speed v [m/s]", title="Cruise control, with brake (flagship scenario)")
    ax[1, 0].axhline(0, color="k", lw=0.6)
    ax[1, 0].set(ylabel="throttle (+) / brake (-); slope a")
    ax[2, 0].set(xlabel="time [s]", ylabel="running fraction lost",
                 title="control: off target (|e| > 2 % of r) with zero input")
    for k, (label, h) in enumerate(training.items()):
        c = f"C{k}"
        av = training_availability(h)
        ax[0, 1].plot(h.epoch, h.loss, c, label=label)
        ax[1, 1].plot(h.epoch, h.dead_fraction[:, 0], c, label=f"{label}: dead")
        ax[1, 1].plot(h.epoch, h.stuck_fraction[:, 0], c, ls="--", label=f"{label}: stuck negative")
        ax[2, 1].plot(av.x, 1.0 - av.availability, c,
                      label=f"{label}: availability {av.summary:.3f}")
    ax[0, 1].set(yscale="log", ylabel="training MSE",
                 title="Training 2-32-32-1, bias init -2, Adam")
    ax[1, 1].set(ylabel="fraction of layer-1 units", ylim=(-0.02, 1.02))
    ax[2, 1].set(xlabel="epoch", ylabel="fraction lost", ylim=(-0.02, 1.02),
                 title="training: (sample, unit) pairs with zero derivative")
    for a in ax.ravel():
        a.grid(True, ls=":")
        a.legend(fontsize=7)
    fig.suptitle("Corrective-signal availability: the same quantity in a control loop and in training")
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def main(argv=None):
    """Command-line entry point.

    Parameters
    ----------
    argv : list of str, optional
        ``--out DIR`` (default ``results``), ``--final-time S``, ``--epochs N``.

    Returns
    -------
    int
        0 on success.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=output_folder, default="results", help="output folder (created if missing)")
    parser.add_argument("--final-time", type=positive_seconds, default=60.0, help="simulated time [s]")
    parser.add_argument("--epochs", type=positive_int, default=100, help="training epochs")
    args = parser.parse_args(argv)
    if args.final_time <= 0 or args.epochs < 1:
        parser.error("--final-time must be > 0 and --epochs >= 1")
    os.makedirs(args.out, exist_ok=True)
    control = run_control(args.final_time, npts=max(11, int(50 * args.final_time) + 1))
    training = run_training(args.epochs)
    rows = summarise(control, training)
    keys = []
    for r in rows:
        keys += [k for k in r if k not in keys]
    csv_path = os.path.join(args.out, "corrective_signal.csv")
    with open(csv_path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=keys)
        w.writeheader()
        w.writerows(rows)
    png_path = plot(control, training, os.path.join(args.out, "corrective_signal.png"))
    for r in rows:
        print(", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in r.items()))
    print(f"wrote {csv_path}\nwrote {png_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
