"""Process-level behaviour: the disk cache of the kernel, lazy import, the demo command."""

import csv
import subprocess
import sys

SCRIPT = """
import numpy as np
import leaky_control as lc
from leaky_control.simulation import kernel_of, prepare
args = (lc.CruiseControl(), lc.LeakyPI(kp=0.5, ki=0.1, negative_slope=0.1, u_min=0, u_max=1),
        np.linspace(0, 30, 3001))
resp = lc.simulate(*args, reference=25.0, initial_state=[20.0])
assert resp.success
st = kernel_of(prepare(*args)).stats
print("HITS", sum(st.cache_hits.values()), "MISSES", sum(st.cache_misses.values()))
"""


def _run(code):
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600,
                         check=True)
    return out.stdout


def test_second_process_loads_kernel_from_cache():
    _run(SCRIPT)  # compiles (or loads) and writes the cache
    second = _run(SCRIPT).split()
    hits, misses = int(second[second.index("HITS") + 1]), int(second[second.index("MISSES") + 1])
    assert hits == 1 and misses == 0


def test_import_compiles_nothing_and_loads_no_numba():
    out = _run("import sys, leaky_control; print('numba' in sys.modules, 'control' in sys.modules)")
    assert out.split() == ["False", "False"]


def test_demo_writes_table_and_figure(tmp_path, capsys):
    from leaky_control.cli import main

    assert main(["demo", "--out", str(tmp_path), "--final-time", "60"]) == 0
    with open(tmp_path / "cruise_control_metrics.csv") as fh:
        text = fh.read()
    rows = list(csv.DictReader(text.splitlines()))
    assert len(rows) == 6
    assert list(rows[0]) == ["brake [-]", "negative_slope [-]", "PeakOverspeed [m/s]",
                             "MeanBrakeRequest [-]", "MeanBrakeForce [N]", "CoastingTime [s]",
                             "CoastingFraction [-]", "IAE [m/s s]"]
    assert "0000000" not in text and "9999999" not in text  # no float noise
    coast = {(r["brake [-]"], float(r["negative_slope [-]"])): float(r["CoastingTime [s]"])
             for r in rows}
    peak = {(r["brake [-]"], float(r["negative_slope [-]"])): float(r["PeakOverspeed [m/s]"])
            for r in rows}
    # throttle only: every controller coasts alike; with a brake only the ReLU one coasts
    assert coast[("false", 0.0)] == coast[("false", 0.1)] == coast[("false", 1.0)] > 30.0
    assert coast[("true", 0.0)] == coast[("false", 0.0)]
    assert coast[("true", 0.1)] == coast[("true", 1.0)] == 0.0
    assert peak[("true", 0.0)] > peak[("true", 0.1)] > peak[("true", 1.0)]
    out = capsys.readouterr().out
    assert "Rows: speed, throttle/brake command and road slope" in out
    png = tmp_path / "cruise_control.png"
    assert png.stat().st_size > 20_000
    with open(png, "rb") as fh:
        assert fh.read(8) == b"\x89PNG\r\n\x1a\n"
