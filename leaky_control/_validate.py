"""Input checks shared by every module: each error names the parameter, the value and what is allowed."""

from __future__ import annotations

import math
from collections.abc import Sequence
from numbers import Real
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, DTypeLike, NDArray

__all__ = ["as_finite_array", "check_finite_scalar", "check_slope"]


def check_finite_scalar(name: str, value: object, *, low: float | None = None,
                        high: float | None = None, low_open: bool = False,
                        high_open: bool = False) -> float:
    """Return ``value`` as a float after checking it is a finite real in the given range.

    Parameters
    ----------
    name : str
        Parameter name used in the error message.
    value : object
        The value to check.
    low, high : float, optional
        Bounds; ``None`` means unbounded on that side.
    low_open, high_open : bool
        Whether the bound itself is excluded.

    Returns
    -------
    float

    Raises
    ------
    TypeError
        If ``value`` is not a real number.
    ValueError
        If ``value`` is NaN, infinite or outside the range.
    """
    # exact floats first: the ABC isinstance check below costs more than the rest (sweeps
    # validate every point's parameters)
    if type(value) is not float and (
            isinstance(value, bool) or not isinstance(value, Real | np.floating | np.integer)):
        raise TypeError(f"{name} must be a real number, got {value!r} of type {type(value).__name__}")
    try:
        v = float(value)
    except OverflowError:  # an int beyond float range (10**400): finite in Python, not here
        raise ValueError(f"{name} must be finite, got an integer of {len(str(abs(value)))} "
                         "digits, beyond the float range (about 1.8e308)") from None
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {v!r}")
    below = low is not None and (v <= low if low_open else v < low)
    above = high is not None and (v >= high if high_open else v > high)
    if below or above:
        lo = "(-inf" if low is None else ("(" if low_open else "[") + f"{low:g}"
        hi = "inf)" if high is None else f"{high:g}" + (")" if high_open else "]")
        raise ValueError(f"{name} must be in {lo}, {hi}, got {v!r}")
    return v


def check_int(name: str, value: object, low: int | None = None, high: int | None = None) -> int:
    """Check an integer option (numpy integers accepted; bool, float and str refused) and
    return it as ``int``; ``low``/``high`` are inclusive bounds."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be an integer, got {value!r} of type {type(value).__name__}")
    v = int(value)
    if (low is not None and v < low) or (high is not None and v > high):
        lo = "-inf" if low is None else f"{low}"
        hi = "inf" if high is None else f"{high:.0e}" if high >= 10**6 else f"{high}"
        shown = v if abs(v) < 10**30 else f"an integer of {len(str(abs(v)))} digits"
        raise ValueError(f"{name} must be an integer in [{lo}, {hi}], got {shown}")
    return v


def check_slope(value: object, name: str = "negative_slope", low: float = 0.0,
                high: float = 1.0) -> float:
    """Check a leak ``a``; controllers and the slope-restricted analyses allow ``[0, 1]``."""
    return check_finite_scalar(name, value, low=low, high=high)


def as_finite_array(name: str, value: ArrayLike, *, ndim: int | None = None,
                    shape: Sequence[int | None] | None = None,
                    dtype: DTypeLike = np.float64) -> NDArray[Any]:
    """Convert ``value`` to a contiguous float64 array and check it is finite and shaped right.

    Parameters
    ----------
    name : str
        Parameter name used in the error message.
    value : array_like
        The value to convert.
    ndim : int, optional
        Required number of dimensions.
    shape : tuple, optional
        Required shape; ``None`` entries match any length.

    Returns
    -------
    numpy.ndarray
    """
    if np.iscomplexobj(value):
        # numpy would drop the imaginary part with only a warning
        raise TypeError(f"{name} must be real, got complex values ({np.asarray(value).dtype})")
    try:
        arr = np.ascontiguousarray(value, dtype=dtype)
    except OverflowError:  # an int beyond float range (10**400)
        raise ValueError(f"{name} must be finite, got an integer beyond the float range "
                         "(about 1.8e308)") from None
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be an array of real numbers, got {value!r}") from exc
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimension(s), got shape {arr.shape}")
    if shape is not None:
        if arr.ndim != len(shape) or any(
            s is not None and s != a for s, a in zip(shape, arr.shape, strict=True)
        ):
            want = "(" + ", ".join("any" if s is None else str(s) for s in shape) + ")"
            raise ValueError(f"{name} must have shape {want}, got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(arr))[0]
        raise ValueError(
            f"{name} must be finite, got {float(arr[tuple(bad)])!r} at index "
            f"{tuple(int(i) for i in bad)}"
        )
    return arr
