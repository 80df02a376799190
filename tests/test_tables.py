"""CSV tables: units in headers, no float noise, values read back within the stated digits."""

import csv
import math

import pytest

from leaky_control.step_metrics import STEP_INFO_KEYS
from leaky_control.tables import METRIC_UNITS, format_value, metric_header, write_csv


def test_every_step_info_key_has_a_unit():
    import numpy as np

    import leaky_control as lc

    t = np.linspace(0, 10, 201)
    info = lc.step_info(1 - np.exp(-t), t)
    assert set(STEP_INFO_KEYS) <= set(METRIC_UNITS)
    assert set(info) <= set(METRIC_UNITS), set(info) - set(METRIC_UNITS)


def test_headers_carry_units():
    assert metric_header("SettlingTime") == "SettlingTime [s]"
    assert metric_header("IAE", output_unit="m/s") == "IAE [m/s s]"
    assert metric_header("IAE") == "IAE [s]"
    assert metric_header("CoastingFraction") == "CoastingFraction [-]"
    assert metric_header("ControlEffort", "m/s", "-") == "ControlEffort [s]"
    assert metric_header("ControlEffort", "m/s", "N") == "ControlEffort [N s]"
    assert metric_header("ISE") == "ISE [s]"
    assert metric_header("Peak") == "Peak [-]"
    with pytest.raises(KeyError, match="'Bogus'"):
        metric_header("Bogus")


@pytest.mark.parametrize(("value", "text"), [
    (0.1 + 0.2, "0.3"), (True, "true"), (False, "false"), (7, "7"), (-0.0, "0"),
    (float("nan"), "nan"), (float("-inf"), "-inf"), (1e-12, "1e-12"), ("ReLU", "ReLU"),
    (123456789.0, "1.23457e+08"),
])
def test_format_value(value, text):
    assert format_value(value) == text


def test_write_csv_round_trip(tmp_path):
    rows = [(0.1 * k, k, k % 2 == 0) for k in range(20)]
    path = write_csv(tmp_path / "t.csv", ["x [m]", "k [-]", "even [-]"], rows)
    with open(path, newline="") as fh:
        back = list(csv.reader(fh))
    assert back[0] == ["x [m]", "k [-]", "even [-]"]
    for (x, k, even), (xs, ks, evs) in zip(rows, back[1:], strict=True):
        # 6 significant digits: relative error below 5e-6
        assert math.isclose(float(xs), x, rel_tol=5e-6, abs_tol=1e-300)
        assert len(xs) <= 8
        assert int(ks) == k and (evs == "true") == even
    with pytest.raises(ValueError, match="row 0 has 1 cells"):
        write_csv(tmp_path / "bad.csv", ["a", "b"], [(1,)])
