"""Smoke test of simulations/lipschitz_vs_slope.py: it runs headless and its CSV is consistent."""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("cvxpy")
pytest.importorskip("matplotlib")

SCRIPT = Path(__file__).resolve().parents[1] / "simulations" / "lipschitz_vs_slope.py"


def test_study_script_writes_png_and_sound_csv(tmp_path):
    spec = importlib.util.spec_from_file_location("lipschitz_vs_slope", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    png = mod.main(["--out", str(tmp_path), "--n-slopes", "2"])
    assert png.exists()
    assert png.stat().st_size > 10_000
    with open(tmp_path / "bounds_vs_slope.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["network [-]", "negative_slope [-]", "method [-]",
                             "lipschitz_l2 [-]", "certified_upper_bound [-]"]
    assert {r["negative_slope [-]"] for r in rows} == {"0", "1"}
    # every certified upper bound dominates the sampled lower bound of the same network and
    # slope (relative slack 1e-5: both are written with six significant digits)
    for r in rows:
        if r["certified_upper_bound [-]"] == "true":
            low = next(
                float(q["lipschitz_l2 [-]"])
                for q in rows
                if q["network [-]"] == r["network [-]"]
                and q["negative_slope [-]"] == r["negative_slope [-]"]
                and q["method [-]"] == "sampled (lower)"
            )
            assert low <= float(r["lipschitz_l2 [-]"]) * (1 + 1e-5)
    # a = 1: the network is linear, so the naive bound is exact: equal to ||W2 W1||_2 computed
    # here from the same weights
    ws, _ = mod.networks()["2-8-1 (random)"]
    naive1 = next(float(r["lipschitz_l2 [-]"]) for r in rows
                  if r["network [-]"] == "2-8-1 (random)" and r["negative_slope [-]"] == "1"
                  and r["method [-]"] == "naive")
    assert naive1 == pytest.approx(np.linalg.norm(ws[1] @ ws[0], 2), rel=1e-5)
    with open(tmp_path / "radius_relu_vs_leaky.csv") as fh:
        radii = list(csv.DictReader(fh))
    assert len(radii) == 40
    assert all(float(r["radius_relu [-]"]) >= 0 and float(r["radius_leaky [-]"]) >= 0
               for r in radii)
