"""simulations/slope_gain_sweep.py runs headless, writes its files, and shows the leak's effect:
with a brake the overspeed falls as a kp grows and only a = 0 coasts; with a throttle only the
leak changes nothing."""

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


def test_script_writes_csv_and_png_and_the_leak_acts_only_with_a_brake(tmp_path, capsys):
    mod = _load()
    assert mod.main(["--out", str(tmp_path), "--n", "5"]) == 0
    assert "50 runs" in capsys.readouterr().out
    png = tmp_path / "slope_gain_sweep.png"
    assert png.stat().st_size > 10_000 and png.read_bytes()[:4] == b"\x89PNG"
    with open(tmp_path / "slope_gain_sweep.csv") as fh:
        text = fh.read()
    rows = list(csv.DictReader(text.splitlines()))
    assert len(rows) == 50 and all(r["status [-]"] == "ok" for r in rows)
    assert "0000000" not in text and "9999999" not in text  # no float noise
    assert "ControlEffort [s]" in rows[0] and "IAE [m/s s]" in rows[0]

    def grid(brake, key):
        return np.array([float(r[key]) for r in rows if r["brake [-]"] == brake]).reshape(5, 5)

    # rows: negative_slope 0, 0.25, ..., 1; columns: kp 0.2 ... 2
    over, cf = grid("true", "PeakOverspeed [m/s]"), grid("true", "CoastingFraction [-]")
    assert np.all(cf[0] > 0.3) and np.all(cf[1:] == 0.0)  # with a brake only a = 0 coasts
    # more leak or more gain: more braking, less overspeed
    assert np.all(np.diff(over, axis=0) < 0) and np.all(np.diff(over[1:], axis=1) < 0)
    # the ReLU loop coasts more than 5 m/s over at every gain (the gain only sets the droop it
    # starts the descent from), more than the a = 0.25 loop (3.5 m/s at kp = 0.2, below 1 m/s
    # from kp = 1.1)
    assert np.all(over[0] > 5.0) and np.all(over[0] > over[1] + 2.0)
    # throttle only: every leak gives the same run, the ReLU's, at every gain
    for key in ("PeakOverspeed [m/s]", "CoastingFraction [-]", "IAE [m/s s]"):
        g = grid("false", key)
        assert np.all(g == g[0]), key
    np.testing.assert_array_equal(grid("false", "PeakOverspeed [m/s]")[0], over[0])
