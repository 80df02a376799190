"""Corrective-signal availability on hand-computed cases, for a control loop and a training run."""

import control as ct
import numpy as np
import pytest

import leaky_control as lc
from leaky_control.bridge.corrective import control_availability, training_availability
from leaky_control.bridge.training import TrainHistory


def fake_loop(t, e, u, r):
    # the outputs simulate() returns for a SISO loop: y, u, u_raw, e
    y = r - e
    return ct.TimeResponseData(t, np.vstack([y, u, u, e]), inputs=r,
                               output_labels=["y", "u", "u_raw", "e"], input_labels=["r"],
                               plot_inputs=False)


def test_control_availability_hand_computed():
    t = np.array([0.0, 1.0, 2.0, 3.0, 4.0])
    e = np.array([1.0, 0.5, -0.5, -0.01, -1.0])
    u = np.array([1.0, 0.0, 0.0, 0.0, 0.2])
    resp = fake_loop(t, e, u, np.full(5, 1.0))
    # e_tol = 0.02 * max|r| = 0.02: off target at t = 0, 1, 2, 4 (|e| = 0.01 at t = 3 is on
    # target); input zero at t = 1, 2, 3 -> lost at t = 1, 2
    av = control_availability(resp)
    np.testing.assert_array_equal(av.availability, [1, 0, 0, 1, 1])
    # trapezoid weights 0.5, 1, 1, 1, 0.5 over a total of 4: lost = (1 + 1) / 4
    assert av.lost == pytest.approx(0.5, abs=1e-15)
    assert av.summary == pytest.approx(0.5, abs=1e-15)
    # a wider band puts t = 1, 2 on target too; e_tol = 0 counts t = 3 as off target
    assert control_availability(resp, e_tol=0.6).lost == 0.0
    assert control_availability(resp, e_tol=0.0).lost == pytest.approx(0.75, abs=1e-15)
    # u_tol: |u| = 0.2 at t = 4 counts as zero with u_tol = 0.3 (weight 0.5)
    assert control_availability(resp, u_tol=0.3).lost == pytest.approx(0.625, abs=1e-15)


def test_control_availability_matches_coasting_fraction_on_a_relu_p_loop():
    # a ReLU P loop has u > 0 exactly when e > 0, so with e_tol = 0 the lost fraction is the
    # coasting fraction; from 26 m/s with target 20 the car coasts all the way down
    t = np.linspace(0, 20, 2001)
    resp = lc.simulate(lc.CruiseControl(brake=True), lc.LeakyP(kp=0.2, negative_slope=0.0,
                       u_min=-1, u_max=1), t, reference=20.0, initial_state=[26.0])
    e, u = resp.signal("e"), resp.signal("u")
    av = control_availability(resp, e_tol=0.0)
    assert av.lost == pytest.approx(lc.coasting_fraction(t, e, u), abs=1e-15)
    assert av.lost > 0.5
    leaky = lc.simulate(lc.CruiseControl(brake=True), lc.LeakyP(kp=0.2, negative_slope=0.5,
                        u_min=-1, u_max=1), t, reference=20.0, initial_state=[26.0])
    assert control_availability(leaky, e_tol=0.0).summary == 1.0


def history(epoch, zgf):
    n = len(epoch)
    z = np.zeros((n, 1))
    return TrainHistory(mlp=None, epoch=np.asarray(epoch), loss=np.zeros(n), batch_loss=np.zeros(n),
                        stuck_fraction=z, dead_fraction=z, revived=z.astype(int),
                        gradient_sparsity=z, zero_grad_fraction=np.asarray(zgf, dtype=float),
                        stuck_grad_norm=z, slopes=None)


def test_training_availability_hand_computed():
    av = training_availability(history([0, 1, 2], [0.5, 0.25, 0.75]))
    np.testing.assert_array_equal(av.availability, [0.5, 0.75, 0.25])
    # trapezoid over epochs 0..2: (0.5 + 0.75) / 2 * 1/2 + (0.75 + 0.25) / 2 * 1/2 = 0.5625
    assert av.summary == pytest.approx(0.5625, abs=1e-15)
    assert av.lost == pytest.approx(0.4375, abs=1e-15)
    assert training_availability(history([0], [0.2])).summary == pytest.approx(0.8)


def test_training_availability_on_a_real_run():
    # three-point dead ReLU neuron as a 1-1-1 network: x = (1, 2, 3), w = b = -1 makes every
    # pre-activation negative, so all (sample, unit) pairs have zero derivative; leaky: none
    from leaky_control.bridge.mlp import MLP
    from leaky_control.bridge.training import train

    x = np.array([[1.0], [2.0], [3.0]])
    for act, a, want in (("relu", None, 0.0), ("leaky", 0.01, 1.0)):
        net = MLP([np.array([[-1.0]]), np.array([[1.0]])], [np.array([-1.0]), np.array([0.0])],
                  activation=act, negative_slope=a)
        h = train(net, x, x, "sgd", lr=0.01, epochs=2, batch_size=3, seed=0)
        av = training_availability(h)
        np.testing.assert_array_equal(av.availability, want)


@pytest.mark.parametrize("call,exc,match", [
    (lambda r: control_availability(r, e_tol=-1.0), ValueError, "e_tol must be in"),
    (lambda r: control_availability(r, u_tol=float("nan")), ValueError, "u_tol must be finite"),
    (lambda r: control_availability(ct.TimeResponseData(
        np.arange(3.0), np.zeros((2, 3)), inputs=np.zeros(3), output_labels=["y", "u"])),
     ValueError, "signals 'e' and 'u'"),
    (lambda r: training_availability(object()), TypeError, "TrainHistory"),
    (lambda r: training_availability(history([0, 1], [0.1, np.nan])), ValueError, r"\[0, 1\]"),
])
def test_bad_input_is_named(call, exc, match):
    resp = fake_loop(np.arange(3.0), np.ones(3), np.ones(3), np.ones(3))
    with pytest.raises(exc, match=match):
        call(resp)


def test_side_by_side_script_runs_headless(tmp_path):
    import csv
    import runpy
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "simulations" / "corrective_signal.py"
    main = runpy.run_path(str(script))["main"]
    # 40 s covers the flagship's descent (10-30 s), where the ReLU loop coasts
    assert main(["--out", str(tmp_path), "--final-time", "40", "--epochs", "2"]) == 0
    assert (tmp_path / "corrective_signal.png").stat().st_size > 10_000
    with open(tmp_path / "corrective_signal.csv", newline="") as fh:
        text = fh.read()
    rows = list(csv.DictReader(text.splitlines()))
    assert len(rows) == 9
    assert "0000000" not in text and "9999999" not in text  # no float noise
    av = {(r["side [-]"], r["run [-]"].split(" ")[0], r["brake [-]"]): float(r["availability [-]"])
          for r in rows}
    # a nonzero leak keeps every derivative nonzero: availability exactly 1
    assert av["training", "leaky", ""] == 1.0
    # the loop with a brake: the leak keeps the signal; the ReLU loop loses it on the descent
    assert av["control", "leaky", "true"] == 1.0
    assert av["control", "ReLU", "true"] < 0.8
    # without a brake the cut command makes every controller lose it alike
    assert av["control", "ReLU", "false"] == av["control", "leaky", "false"] == \
        av["control", "ReLU", "true"]
