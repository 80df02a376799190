"""simulations/dying_relu.py runs headless and writes its files; the three-point neuron obeys
the facts it illustrates (checked against hand-derived values, not against the script)."""

import csv
import importlib.util
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "simulations" / "dying_relu.py"


@pytest.fixture(scope="module")
def sim():
    spec = importlib.util.spec_from_file_location("dying_relu", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_three_point_neuron(sim):
    relu = sim.three_point_neuron(0.0, False, "sgd", 0.05, 200)
    # w = b = -1: z = -(x + 1) < 0, y = 0, loss = mean(t^2) = 14/3 and no step ever moves w, b
    assert relu["loss"][0] == pytest.approx(14 / 3)
    assert np.all(relu["w"] == -1.0)
    assert relu["revived_step"] is None
    leaky = sim.three_point_neuron(0.01, False, "sgd", 0.05, 400)
    # first step: dL/dw = sum(2 (a z - t)/3 * a * x) with z = -(x + 1)
    x = np.array([1.0, 2.0, 3.0])
    g_w = np.sum(2 * (0.01 * -(x + 1) - x) / 3 * 0.01 * x)
    assert leaky["w"][1] == pytest.approx(-1.0 - 0.05 * g_w, rel=1e-12)
    assert leaky["revived_step"] is not None
    assert leaky["loss"][-1] < 1e-3


def test_main_quick_writes_png_and_csv(sim, tmp_path):
    assert sim.main(["--out", str(tmp_path), "--quick"]) == 0
    for name in ("dying_relu_neuron", "dying_relu_network"):
        assert (tmp_path / f"{name}.png").stat().st_size > 10_000
        with open(tmp_path / f"{name}.csv") as fh:
            rows = list(csv.DictReader(fh))
        assert len(rows) > 10
        assert all(h.endswith("]") and " [" in h for h in rows[0])  # every header has a unit
    with open(tmp_path / "dying_relu_neuron.csv") as fh:
        rows = list(csv.DictReader(fh))
    # six significant digits: the ReLU unit's loss is 14/3 and never moves
    relu = [r for r in rows if r["unit [-]"] == "relu"]
    assert {r["loss [-]"] for r in relu} == {"4.66667"}
    with open(tmp_path / "dying_relu_network.csv") as fh:
        rows = list(csv.DictReader(fh))
    relu = [r for r in rows if r["activation [-]"] == "relu"]
    leaky = [r for r in rows if r["activation [-]"] == "leaky"]
    assert all(float(r["zero_grad_fraction [-]"]) > 0 for r in relu)
    # a stuck ReLU unit is dead (no gradient at all); a leaky unit never passes exactly none
    assert all(float(r["stuck_grad_norm_l1 [-]"]) == 0 for r in relu
               if float(r["stuck_l1 [-]"]) > 0)
    assert all(float(r["zero_grad_fraction [-]"]) == 0 for r in leaky)
    assert {r["success [-]"] for r in rows} <= {"true", "false"}
