"""Sweep grids: a full product of per-parameter values, or explicit points as columns."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from numpy.typing import NDArray

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

    def __init__(self, columns: Any = None, **named_columns: Any) -> None:
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
        self.columns: dict[str, NDArray[Any]] = {}
        self._given: dict[str, NDArray[Any]] = {}
        size: int | None = None
        for name, values in cols.items():
            col, given = _column(f"grid[{name!r}]", values)
            if size is None:
                size = len(col)
            elif len(col) != size:
                raise ValueError(
                    f"Points columns must have equal lengths: grid[{name!r}] has {len(col)} "
                    f"values, the first column has {size}")
            self.columns[name] = col
            if given is not None:
                self._given[name] = given
        if size == 0:
            raise ValueError("grid is empty: Points columns have no values")
        assert size is not None  # cols is not empty
        self.size: int = size

    def __len__(self) -> int:
        return self.size

    def __repr__(self) -> str:
        return f"Points({self.size} points over {list(self.columns)})"


def _rows_to_columns(rows: Sequence[Any]) -> dict[str, list[Any]]:
    if len(rows) == 0:
        raise ValueError("grid is empty: the list of points has no entries")
    names: list[str] | None = None
    for i, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise TypeError(f"grid[{i}] must be a dict of parameter values, got "
                            f"{type(row).__name__}")
        if names is None:
            names = list(row)
        elif set(row) != set(names):
            raise ValueError(f"every point must set the same names: grid[{i}] sets "
                             f"{sorted(row)}, grid[0] sets {sorted(names)}")
    assert names is not None  # rows is not empty
    return {k: [row[k] for row in rows] for k in names}


def _column(label: str, values: Any) -> tuple[NDArray[Any], NDArray[Any] | None]:
    """Values -> ``(column, given)``: the column as a numeric array (one row per value) or an
    object array when not numeric, and the values as given when the column changed their type.

    ``np.asarray([1, 2, 7, 2.5])`` is all floats, and a model that takes an integer (a gear)
    rejects 1.0 as readily as 2.5; ``[0.5, True]`` would turn ``True`` into 1.0, which the
    models refuse as a bool. So when a list mixes integers, floats and bools, ``given`` keeps
    each value as it was written (an object array) and the points pass those to the models,
    while ``column`` (what :attr:`SweepResult.params` shows) stays numeric for tables and
    plots. ``given`` is None when the column holds the values unchanged.
    """
    if isinstance(values, str) or not hasattr(values, "__len__"):
        raise TypeError(f"{label} must be a sequence of values, got {values!r}")
    arr: NDArray[Any] | None
    try:
        arr = np.asarray(values)
    except (ValueError, OverflowError):  # ragged values, or nothing numpy can hold
        arr = None
    if arr is None or arr.dtype.kind not in "biuf" or arr.ndim == 0:
        return _objects(values), None
    # NaN is no model's parameter value and cannot be compared: refused here, by name. An
    # infinite value is left to the model (u_max=inf is LeakyPI's default; kp=inf is
    # rejected by the controller at that point alone)
    if arr.dtype.kind == "f" and np.isnan(arr).any():
        bad = np.argwhere(np.isnan(arr))[0]
        raise ValueError(f"{label} values must be finite (or +-inf where the model takes it), "
                         f"got {arr[tuple(bad)]!r} at position {tuple(int(b) for b in bad)}")
    given = None
    if arr.ndim == 1 and not isinstance(values, np.ndarray) and \
            len({_KINDS.get(tp, tp) for tp in set(map(type, values))}) > 1:
        given = _objects(values)
    return arr, given


#: the kind each scalar type keeps in a sweep point (types not listed are kinds of their own)
_KINDS = {bool: "b", np.bool_: "b", int: "i", float: "f", np.float64: "f", np.float32: "f",
          np.int64: "i", np.int32: "i", np.int16: "i", np.int8: "i", np.uint64: "i",
          np.uint32: "i", np.uint16: "i", np.uint8: "i", np.float16: "f"}


def _objects(values: Sequence[Any]) -> NDArray[np.object_]:
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        out[i] = v
    return out


class PointTable:
    """The parameter table of a sweep: one column per name, one row per point.

    Parameters
    ----------
    grid : mapping or Points or sequence of mappings
        A mapping ``name -> values`` is a full product (the first name varies slowest, as in
        :func:`itertools.product`); :class:`Points` or a list of dicts are explicit points.
    """

    columns: dict[str, NDArray[Any]]
    values: dict[str, NDArray[Any]]
    names: tuple[str, ...]
    size: int
    product: bool

    def __init__(self, grid: Mapping[str, Any] | Points | Sequence[Mapping[str, Any]]) -> None:
        if isinstance(grid, Points):
            self.columns = dict(grid.columns)
            given = dict(grid._given)
            self.size = grid.size
            self.product = False
        elif isinstance(grid, Mapping):
            if not grid:
                raise ValueError("grid is empty: give at least one parameter name and values")
            axes = {name: _column(f"grid[{name!r}]", vals) for name, vals in grid.items()}
            for name, (ax, _) in axes.items():
                if len(ax) == 0:
                    raise ValueError(f"grid[{name!r}] has no values")
            sizes = [len(ax) for ax, _ in axes.values()]
            self.size = int(np.prod(sizes, dtype=np.int64))
            self.columns = {}
            given = {}
            stride = self.size
            idx = np.arange(self.size)
            for (name, (ax, ax_given)), k in zip(axes.items(), sizes, strict=True):
                stride //= k
                rows = (idx // stride) % k
                self.columns[name] = ax[rows]
                if ax_given is not None:
                    given[name] = ax_given[rows]
            self.product = True
        elif isinstance(grid, Sequence) and not isinstance(grid, str):
            pts = Points(grid)
            self.columns, self.size, self.product = pts.columns, pts.size, False
            given = dict(pts._given)
        else:
            raise TypeError("grid must be a dict of name -> values (full product), a Points "
                            f"object or a list of dicts, got {type(grid).__name__}")
        self.names = tuple(self.columns)
        # what the points pass to the models: the values as given where a column changed
        # their types (see _column), else the column itself
        self.values = {k: given.get(k, v) for k, v in self.columns.items()}

    def __len__(self) -> int:
        return self.size

    def value(self, name: str, i: int) -> Any:
        """Point ``i``'s value of ``name`` as a Python scalar or a numpy array (as given:
        an integer stays an integer in a column that also holds floats)."""
        v = self.values[name][i]
        return v.item() if isinstance(v, np.generic) else v

    def slice(self, start: int, stop: int) -> PointTable:
        """The rows ``start:stop`` as a new table (views of the columns)."""
        out = object.__new__(PointTable)
        out.columns = {k: v[start:stop] for k, v in self.columns.items()}
        out.values = {k: v[start:stop] for k, v in self.values.items()}
        out.size = stop - start
        out.product = False
        out.names = self.names
        return out

    def digest_bytes(self) -> bytes:
        """A byte string identifying the table's contents (for checkpoints): the values the
        models receive, with their types (gear 2 and gear 2.0 are different points)."""
        parts = []
        for k, v in self.values.items():
            parts.append(k.encode())
            parts.append(repr((v.dtype.str, v.shape)).encode())
            parts.append(v.tobytes() if v.dtype != object else
                         repr([(type(x).__name__, x) for x in v]).encode())
        return b"\0".join(parts)
