"""The side-by-side: corrective-signal availability in a control loop and in training.

Left, control: the flagship scenario (:mod:`leaky_control.studies.cruise_control`: a P speed
controller, kp = 1 per m/s, takes the car from 20 to 25 m/s; a 4 degree descent from 10 s to
30 s) with a ReLU (a = 0), a leaky (a = 0.1) and an adaptive-slope
(:class:`leaky_control.AdaptivePReLU`, P only, a0 = 0) proportional law, on the car with a
brake; the same runs on the throttle-only car are the hatched bars of the availability panel.
Right, training: a 2-32-32-1 network initialised with bias -2 (as in
``simulations/dying_relu.py``) with ReLU, leaky (0.1) and PReLU (slopes start at 0.1) units,
trained with Adam. Bottom row, both sides: when the corrective signal is lost
(:mod:`leaky_control.bridge.corrective`): in the loop, off target by more than 2 % of the set
point with zero input; in training, the share of (sample, unit) pairs with zero derivative.

Writes ``corrective_signal.png`` and ``corrective_signal.csv`` (one row per run, units in the
header) into ``--out``.

Run: ``python simulations/corrective_signal.py --out results``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..cli import output_folder, positive_int, positive_seconds
from .cruise_control import KP, V0, VREF, road_slope

if TYPE_CHECKING:
    from ..bridge.training import TrainHistory
    from ..response import LoopResponse

__all__ = ["CONTROL", "CSV_HEADER", "GAMMA", "NETWORKS", "main", "plot", "run_control",
           "run_training", "summarise"]

#: adaptation gain of the adaptive controller: on the car with a brake its slope climbs from 0
#: to about 0.45 during the descent; on the throttle-only car the cut command freezes it at 0
GAMMA = 0.02
#: (label, leak); ``None`` is the adaptive controller
CONTROL: tuple[tuple[str, float | None], ...] = (
    ("ReLU (a = 0)", 0.0), ("leaky (a = 0.1)", 0.1), ("adaptive PReLU (a0 = 0)", None))
NETWORKS = (("ReLU", "relu", None), ("leaky (a = 0.1)", "leaky", 0.1),
            ("PReLU (a0 = 0.1)", "prelu", 0.1))
CSV_HEADER = ("side [-]", "run [-]", "brake [-]", "PeakOverspeed [m/s]", "IAE [m/s s]",
              "CoastingFraction [-]", "availability [-]", "final_slope [-]", "final_loss [-]",
              "dead_fraction_l1 [-]", "stuck_fraction_l1 [-]", "final_availability [-]")


def run_control(final_time: float = 60.0, npts: int = 3001) -> dict[tuple[str, bool], LoopResponse]:
    """The cruise runs, with and without a brake.

    Parameters
    ----------
    final_time : float, default 60.0
        Simulated time [s].
    npts : int, default 3001
        Output time points.

    Returns
    -------
    dict
        ``{(label, brake): response}`` for the labels of :data:`CONTROL`.

    Raises
    ------
    RuntimeError
        If a simulation fails.
    """
    import leaky_control as lc

    t = np.linspace(0.0, final_time, npts)
    theta = road_slope(t)
    out = {}
    for brake in (True, False):
        plant = lc.CruiseControl(brake=brake)
        lim = {"u_min": -1.0 if brake else 0.0, "u_max": 1.0}
        for label, a in CONTROL:
            ctrl: Any
            if a is None:
                ctrl = lc.AdaptivePReLU(kp=KP, gamma=GAMMA, a0=0.0, **lim)
            else:
                ctrl = lc.LeakyP(kp=KP, negative_slope=a, **lim)
            resp = lc.simulate(plant, ctrl, t, reference=VREF, disturbance=theta,
                               initial_state=[V0], solver=lc.Dopri5(rtol=1e-8, atol=1e-10))
            if not resp.success:
                raise RuntimeError(f"simulation failed ({label}, brake={brake}): {resp.message}")
            out[label, brake] = resp
    return out


def run_training(epochs: int = 100, n: int = 512, seed: int = 0) -> dict[str, TrainHistory]:
    """Training runs on ``y = sin(2 x1) + x2^2``.

    Parameters
    ----------
    epochs : int, default 100
        Training epochs.
    n : int, default 512
        Training samples.
    seed : int, default 0
        Seed of the data.

    Returns
    -------
    dict
        ``{label: TrainHistory}`` for the labels of :data:`NETWORKS`.
    """
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


def summarise(control: dict[tuple[str, bool], LoopResponse],
              training: dict[str, TrainHistory]) -> list[dict[str, Any]]:
    """One row per run, keyed by the names of :data:`CSV_HEADER` without units.

    Parameters
    ----------
    control : dict
        From :func:`run_control`.
    training : dict
        From :func:`run_training`.

    Returns
    -------
    list of dict
        Cells that do not apply to a side are empty strings.
    """
    import leaky_control as lc
    from leaky_control.bridge.corrective import control_availability, training_availability

    keys = [h.split(" ")[0] for h in CSV_HEADER]
    rows = []
    for (label, brake), resp in control.items():
        info = lc.step_info(resp, final_output=VREF, initial_output=V0)
        labels = list(resp.state_labels)
        row: dict[str, Any] = dict.fromkeys(keys, "")
        row.update({"side": "control", "run": label, "brake": brake,
                    "PeakOverspeed": max(0.0, float(np.max(resp.outputs)) - VREF),
                    "IAE": info["IAE"], "CoastingFraction": info["CoastingFraction"],
                    "availability": control_availability(resp).summary,
                    "final_slope": resp.signal("a")[-1] if "a" in labels else ""})
        rows.append(row)
    for label, h in training.items():
        av = training_availability(h)
        row = dict.fromkeys(keys, "")
        row.update({"side": "training", "run": label, "final_loss": h.loss[-1],
                    "dead_fraction_l1": h.dead_fraction[-1, 0],
                    "stuck_fraction_l1": h.stuck_fraction[-1, 0],
                    "availability": av.summary, "final_availability": av.availability[-1]})
        rows.append(row)
    return rows


def plot(control: dict[tuple[str, bool], LoopResponse], training: dict[str, TrainHistory],
         path: str) -> str:
    """The 3 x 2 figure (control left, training right); returns the path written.

    Parameters
    ----------
    control : dict
        From :func:`run_control`.
    training : dict
        From :func:`run_training`.
    path : str
        PNG file to write.

    Returns
    -------
    str
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from leaky_control.bridge.corrective import control_availability, training_availability

    slope_line: Any = None
    with plt.rc_context({"font.size": 10.5, "legend.fontsize": 9}):
        fig, ax = plt.subplots(3, 2, figsize=(13, 10.5), layout="constrained",
                               height_ratios=[1.2, 1.0, 0.9])
        for k, (label, _) in enumerate(CONTROL):
            c = f"C{k}"
            resp = control[label, True]
            t = resp.time
            lw = 1.3 + 1.0 * (len(CONTROL) - 1 - k)
            ax[0, 0].plot(t, resp.outputs, c, lw=lw, label=label)
            ax[1, 0].plot(t, resp.signal("u"), c, lw=lw, label=label)
            if "a" in list(resp.state_labels):
                slope_ax = ax[1, 0].twinx()
                (slope_line,) = slope_ax.plot(t, resp.signal("a"), c, ls=":", lw=1.8,
                                              label="adaptive slope a(t), right axis")
                slope_ax.set_ylabel("adaptive slope a [-] (dotted)")
                slope_ax.set_ylim(-1.1, 1.1)
            for brake in (True, False):
                av = control_availability(control[label, brake])
                lost = av.availability < 0.5
                row = 2 * k + (0 if brake else 1)
                spans = _spans(np.asarray(t), lost)
                ax[2, 0].broken_barh(spans, (row - 0.35, 0.7), facecolor=c,
                                     alpha=1.0 if brake else 0.45,
                                     hatch=None if brake else "//", edgecolor=c)
        rows = [f"{label.split(' ')[0]}, {'brake' if b else 'no brake'}: "
                f"{control_availability(control[label, b]).summary:.2f}"
                for label, _ in CONTROL for b in (True, False)]
        ax[2, 0].set_yticks(range(len(rows)), rows, fontsize=9)
        ax[2, 0].set_ylim(len(rows) - 0.4, -0.6)
        ax[2, 0].set_xlim(ax[0, 0].get_xlim())
        ax[0, 0].axhline(VREF, color="k", ls="--", lw=1, label="set point")
        ax[0, 0].axvspan(10.0, 30.0, color="0.6", alpha=0.15, lw=0, label="4 deg descent")
        ax[0, 0].set(ylabel="speed v [m/s]", xlabel="time [s]",
                     title="Cruise control, P loop, car with a brake (flagship scenario)")
        ax[1, 0].axhline(0, color="k", lw=0.6)
        ax[1, 0].set(ylabel="command u [-] (throttle +, brake -)", xlabel="time [s]",
                     ylim=(-1.1, 1.1))
        ax[2, 0].set(xlabel="time [s]",
                     title="control: bars where the signal is lost (|e| > 2 % of r, zero input);\n"
                           "labels: availability (1 = never lost)")
        for k, (label, h) in enumerate(training.items()):
            c = f"C{k}"
            av = training_availability(h)
            ax[0, 1].plot(h.epoch, h.loss, c, label=label)
            ax[1, 1].plot(h.epoch, h.dead_fraction[:, 0], c, label=f"{label}: dead")
            ax[1, 1].plot(h.epoch, h.stuck_fraction[:, 0], c, ls="--",
                          label=f"{label}: stuck negative")
            ax[2, 1].plot(h.epoch, 1.0 - av.availability, c,
                          label=f"{label}: availability {av.summary:.2f}")
        ax[0, 1].set(yscale="log", ylabel="training MSE [-]", xlabel="epoch",
                     title="Training 2-32-32-1, bias init -2, Adam")
        ax[1, 1].set(ylabel="fraction of layer-1 units [-]", xlabel="epoch", ylim=(-0.02, 1.02))
        ax[2, 1].set(xlabel="epoch", ylabel="fraction with zero derivative [-]",
                     ylim=(-0.02, 1.02),
                     title="training: share of (sample, unit) pairs that pass no gradient;\n"
                           "labels: availability (1 = never lost)")
        for a in ax.ravel():
            a.grid(True, ls=":")
        for a in (ax[0, 0], ax[0, 1], ax[1, 1], ax[2, 1]):
            a.legend(loc="best")
        ax[1, 0].legend(handles=[slope_line], loc="lower right")
        fig.suptitle("Corrective-signal availability: the same quantity in a control loop and "
                     "in training", fontsize=13)
        fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _spans(t: np.ndarray, mask: np.ndarray) -> list[tuple[float, float]]:
    # (start, width) pairs of the runs where mask holds, for broken_barh
    out = []
    start = None
    for k, on in enumerate(mask):
        if on and start is None:
            start = float(t[k])
        if not on and start is not None:
            out.append((start, float(t[k]) - start))
            start = None
    if start is not None:
        out.append((start, float(t[-1]) - start))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point.

    Parameters
    ----------
    argv : sequence of str, optional
        ``--out DIR`` (default ``results``), ``--final-time S`` (default 60), ``--epochs N``
        (default 100; ``--quick`` sets 20).

    Returns
    -------
    int
        0 on success.
    """
    from ..tables import write_csv

    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--out", type=output_folder, default="results",
                        help="output folder (created if missing)")
    parser.add_argument("--final-time", type=positive_seconds, default=60.0,
                        help="simulated time [s]")
    parser.add_argument("--epochs", type=positive_int, default=None,
                        help="training epochs (default 100)")
    parser.add_argument("--quick", action="store_true", help="20 training epochs")
    args = parser.parse_args(argv)
    epochs = args.epochs if args.epochs is not None else (20 if args.quick else 100)
    os.makedirs(args.out, exist_ok=True)
    control = run_control(args.final_time, npts=max(11, int(50 * args.final_time) + 1))
    training = run_training(epochs)
    rows = summarise(control, training)
    keys = [h.split(" ")[0] for h in CSV_HEADER]
    csv_path = write_csv(os.path.join(args.out, "corrective_signal.csv"), CSV_HEADER,
                         [[r[k] for k in keys] for r in rows])
    png_path = plot(control, training, os.path.join(args.out, "corrective_signal.png"))
    for r in rows:
        print(", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                        for k, v in r.items() if v != ""))
    print(f"wrote {csv_path}\nwrote {png_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
