"""Sweep grids: a full product of per-parameter values, or explicit points as columns."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

#: scenario names a grid may hold besides controller and plant parameters
SCENARIO_NAMES = ("reference", "disturbance", "initial_state", "controller_state")


class Points:
    """Explicit sweep points given as equal-length columns (Monte Carlo draws, lists).

    Parameters
    ----------
    columns : mapping, pandas.DataFrame or sequence of mappings, optional
        ``name -> values`` with one value per point (a DataFrame's columns), or one
        ``{name: value}`` dict per point (every dict with the same names).
    **named_columns
        More columns by keyword.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> pts = Points(kp=rng.uniform(0.2, 1.0, 1000), negative_slope=rng.uniform(0, 1, 1000))
    >>> len(pts)
    1000
    """

    def __init__(self, columns=None, **named_columns):
        if columns is None:
            columns = {}
        if isinstance(columns, Mapping):
            cols = dict(columns)
        elif hasattr(columns, "items") and hasattr(columns, "columns"):  # a pandas DataFrame
            cols = {str(k): np.asarray(v) for k, v in columns.items()}
        elif isinstance(columns, Sequence) and not isinstance(columns, str):
            cols = _rows_to_columns(columns)
        else:
            raise TypeError("Points takes a mapping of columns or a sequence of dicts, got "
                            f"{type(columns).__name__}")
        overlap = set(cols) & set(named_columns)
        if overlap:
            raise ValueError(f"column(s) {sorted(overlap)} given twice")
        cols.update(named_columns)
        if not cols:
            raise ValueError("grid is empty: Points needs at least one column")
        self.columns = {}
        size = None
        for name, values in cols.items():
            col = _column(f"grid[{name!r}]", values)
            if size is None:
                size = len(col)
            elif len(col) != size:
                raise ValueError(
                    f"Points columns must have equal lengths: grid[{name!r}] has {len(col)} "
                    f"values, the first column has {size}")
            self.columns[name] = col
        if size == 0:
            raise ValueError("grid is empty: Points columns have no values")
        self.size = size

    def __len__(self):
        return self.size

    def __repr__(self):
        return f"Points({self.size} points over {list(self.columns)})"


def _rows_to_columns(rows):
    if len(rows) == 0:
        raise ValueError("grid is empty: the list of points has no entries")
    names = None
    for i, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise TypeError(f"grid[{i}] must be a dict of parameter values, got "
                            f"{type(row).__name__}")
        if names is None:
            names = list(row)
        elif set(row) != set(names):
            raise ValueError(f"every point must set the same names: grid[{i}] sets "
                             f"{sorted(row)}, grid[0] sets {sorted(names)}")
    return {k: [row[k] for row in rows] for k in names}


def _column(label, values):
    """Values -> numeric array (one row per value) or object array when not numeric."""
    if isinstance(values, str) or not hasattr(values, "__len__"):
        raise TypeError(f"{label} must be a sequence of values, got {values!r}")
    try:
        arr = np.asarray(values)
    except ValueError:  # ragged values
        arr = None
    if arr is None or arr.dtype.kind not in "biuf" or arr.ndim == 0:
        out = np.empty(len(values), dtype=object)
        for i, v in enumerate(values):
            out[i] = v
        return out
    if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(arr))[0]
        raise ValueError(f"{label} values must be finite, got {arr[tuple(bad)]!r} at "
                         f"position {tuple(int(b) for b in bad)}")
    return arr


class PointTable:
    """The parameter table of a sweep: one column per name, one row per point.

    Parameters
    ----------
    grid : mapping or Points or sequence of mappings
        A mapping ``name -> values`` is a full product (the first name varies slowest, as in
        :func:`itertools.product`); :class:`Points` or a list of dicts are explicit points.
    """

    def __init__(self, grid):
        if isinstance(grid, Points):
            self.columns = dict(grid.columns)
            self.size = grid.size
            self.product = False
        elif isinstance(grid, Mapping):
            if not grid:
                raise ValueError("grid is empty: give at least one parameter name and values")
            axes = {name: _column(f"grid[{name!r}]", vals) for name, vals in grid.items()}
            for name, ax in axes.items():
                if len(ax) == 0:
                    raise ValueError(f"grid[{name!r}] has no values")
            sizes = [len(ax) for ax in axes.values()]
            self.size = int(np.prod(sizes, dtype=np.int64))
            self.columns = {}
            stride = self.size
            idx = np.arange(self.size)
            for (name, ax), k in zip(axes.items(), sizes):
                stride //= k
                self.columns[name] = ax[(idx // stride) % k]
            self.product = True
        elif isinstance(grid, Sequence) and not isinstance(grid, str):
            pts = Points(grid)
            self.columns, self.size, self.product = pts.columns, pts.size, False
        else:
            raise TypeError("grid must be a dict of name -> values (full product), a Points "
                            f"object or a list of dicts, got {type(grid).__name__}")
        self.names = tuple(self.columns)

    def __len__(self):
        return self.size

    def value(self, name, i):
        """Point ``i``'s value of ``name`` as a Python scalar or a numpy array."""
        v = self.columns[name][i]
        return v.item() if isinstance(v, np.generic) else v

    def slice(self, start, stop):
        """The rows ``start:stop`` as a new table (views of the columns)."""
        out = object.__new__(PointTable)
        out.columns = {k: v[start:stop] for k, v in self.columns.items()}
        out.size = stop - start
        out.product = False
        out.names = self.names
        return out

    def digest_bytes(self):
        """A byte string identifying the table's contents (for checkpoints)."""
        parts = []
        for k, v in self.columns.items():
            parts.append(k.encode())
            parts.append(v.tobytes() if v.dtype != object else repr(list(v)).encode())
        return b"\0".join(parts)
