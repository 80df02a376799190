"""CSV tables for reports: units in every header, numbers without float noise.

One convention for every table the package writes (studies, scenarios, sweeps): a column is
headed ``name [unit]`` (``[-]`` when dimensionless), floats are written with ``digits``
significant digits (``0.30000000000000004`` becomes ``0.3``), booleans as ``true``/``false``
and NaN as ``nan``. The units of the step-response metrics live here, once.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = ["METRIC_UNITS", "format_value", "metric_header", "write_csv"]

#: Unit of each metric of :func:`leaky_control.step_info`, with ``{y}`` the output's unit and
#: ``{u}`` the input's unit.
METRIC_UNITS: dict[str, str] = {
    "RiseTime": "s",
    "SettlingTime": "s",
    "SettlingMin": "{y}",
    "SettlingMax": "{y}",
    "Overshoot": "%",
    "Undershoot": "%",
    "Peak": "{y}",
    "PeakTime": "s",
    "SteadyStateValue": "{y}",
    "Settled": "-",
    "IAE": "{y} s",
    "ISE": "{y}^2 s",
    "ITAE": "{y} s^2",
    "ControlEffort": "{u} s",
    "CoastingFraction": "-",
}


def metric_header(key: str, output_unit: str = "-", input_unit: str = "-") -> str:
    """Column header ``key [unit]`` for a step-response metric.

    Parameters
    ----------
    key : str
        A key of :data:`METRIC_UNITS`.
    output_unit, input_unit : str
        Units of the plant output and input (``"-"`` when dimensionless).

    Returns
    -------
    str

    Raises
    ------
    KeyError
        If ``key`` is not a known metric.
    """
    if key not in METRIC_UNITS:
        raise KeyError(f"metric {key!r} has no unit; known metrics: {', '.join(METRIC_UNITS)}")
    # a dimensionless factor (or its square) drops out of a product: "{y} s" -> "s"
    factors = [f for f in METRIC_UNITS[key].format(y=output_unit, u=input_unit).split()
               if f not in ("-", "-^2")]
    return f"{key} [{' '.join(factors) or '-'}]"


def format_value(value: Any, digits: int = 6) -> str:
    """One CSV cell: floats to ``digits`` significant digits, bools as ``true``/``false``.

    Parameters
    ----------
    value : object
        The cell's value; anything that is not a float, int or bool is written with ``str``.
    digits : int
        Significant digits of floats.

    Returns
    -------
    str
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    try:
        x = float(value)
    except (TypeError, ValueError):
        return str(value)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    text = f"{x:.{digits}g}"
    return "0" if text == "-0" else text


def write_csv(path: str | os.PathLike[str], header: Sequence[str],
              rows: Iterable[Sequence[Any]], digits: int = 6) -> str:
    """Write a table with :func:`format_value` cells; return the path written.

    Parameters
    ----------
    path : str or path-like
        File to write (its folder must exist).
    header : sequence of str
        Column headers, each ``name [unit]``.
    rows : iterable of sequence
        Rows with as many cells as ``header``.
    digits : int
        Significant digits of floats.

    Returns
    -------
    str

    Raises
    ------
    ValueError
        If a row's length differs from the header's.
    """
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        for k, row in enumerate(rows):
            if len(row) != len(header):
                raise ValueError(f"row {k} has {len(row)} cells, the header has {len(header)}")
            writer.writerow([format_value(v, digits) for v in row])
    return os.fspath(path)
