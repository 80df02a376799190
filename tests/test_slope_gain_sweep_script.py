"""simulations/slope_gain_sweep.py runs headless, writes its files, and shows the leak's effect."""

import csv
import importlib.util
from pathlib import Path

import numpy as np

SCRIPT = Path(__file__).resolve().parents[1] / "simulations" / "slope_gain_sweep.py"


def _load():
    spec = importlib.util.spec_from_file_location("slope_gain_sweep", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_script_writes_csv_and_png_and_the_leak_reduces_coasting(tmp_path, capsys):
    mod = _load()
    assert mod.main(["--out", str(tmp_path), "--n", "5"]) == 0
    assert "25 runs" in capsys.readouterr().out
    png = tmp_path / "slope_gain_sweep.png"
    assert png.stat().st_size > 10_000 and png.read_bytes()[:4] == b"\x89PNG"
    with open(tmp_path / "slope_gain_sweep.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 25 and all(r["status"] == "ok" for r in rows)
    cf = np.array([float(r["CoastingFraction"]) for r in rows]).reshape(5, 5)
    over = np.array([float(r["Overshoot"]) for r in rows]).reshape(5, 5)
    # rows: negative_slope 0 .. 1; columns: kp. Without a brake the ReLU loop coasts through
    # the descent at every gain; the linear loop coasts less and overshoots less
    assert np.all(cf[0] > 0.1)
    assert np.all(cf[-1] < cf[0]) and np.all(over[-1] < over[0])
