"""Private input checks for :mod:`leaky_control.analysis` and :mod:`leaky_control.bridge`.

They complete :mod:`leaky_control._validate` (whose errors name the parameter, the value and what
is allowed) for inputs it lets through with an unnamed or unexpected exception: integers too large
for a float (``OverflowError``), ragged nested lists, boolean or string arrays, ``None``, integer
counts, choices, flags, seeds, and allocations larger than the machine's memory.

These belong in ``_validate.py`` (owned elsewhere); they are kept here until they move.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .._memory import available_memory
from .._validate import as_finite_array, check_finite_scalar

if TYPE_CHECKING:
    from .._typing import FloatArray

__all__ = []

INT64_MAX = int(np.iinfo(np.int64).max)


def short_repr(value: Any, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit`` characters (a 400-digit integer stays readable)."""
    try:
        text = repr(value)
    except Exception:  # a hostile __repr__ must not hide the real error
        text = f"<{type(value).__name__} object>"
    if len(text) > limit:
        text = f"{text[: limit - 20]}...({len(text)} characters)"
    return text


def check_real(name: str, value: Any, **bounds: Any) -> float:
    """:func:`check_finite_scalar`, with an integer too large for a float refused by name."""
    try:
        return check_finite_scalar(name, value, **bounds)
    except OverflowError:
        raise ValueError(
            f"{name} must be finite, got {short_repr(value)}, an integer beyond the float range "
            "(about 1.8e308)"
        ) from None


def check_int(name: str, value: Any, *, low: int | None = None, high: int | None = None,
              desc: str | None = None) -> int:
    """A Python or numpy integer (not a bool) in ``[low, high]``; ``high`` defaults to int64's max.

    ``desc`` is the phrase after "must be" in the range error (default from ``low``).
    """
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | np.integer):
        raise TypeError(
            f"{name} must be an integer, got {short_repr(value)} of type {type(value).__name__}"
        )
    v = int(value)
    hi = INT64_MAX if high is None else high
    if desc is None:
        named: dict[int | None, str] = {0: "a non-negative integer", 1: "a positive integer"}
        desc = named.get(low, "an integer" if low is None else f"an integer >= {low}")
    if low is not None and v < low:
        raise ValueError(f"{name} must be {desc}, got {short_repr(v)}")
    if v > hi:
        raise ValueError(f"{name} must be {desc} no larger than {hi}, got {short_repr(v)}")
    return v


def check_bool(name: str, value: Any) -> bool:
    """A bool (or numpy bool); anything else is refused rather than taken for its truth value."""
    if not isinstance(value, bool | np.bool_):
        raise TypeError(
            f"{name} must be True or False, got {short_repr(value)} of type {type(value).__name__}"
        )
    return bool(value)


def check_choice(name: str, value: object, choices: Sequence[str]) -> str:
    """A string among ``choices``: a TypeError for a non-string, a ValueError for an unknown one."""
    listed = ", ".join(map(repr, choices))
    if not isinstance(value, str):
        raise TypeError(
            f"{name} must be one of {listed}, got {short_repr(value)} of type "
            f"{type(value).__name__}"
        )
    if value not in choices:
        raise ValueError(f"{name} must be one of {listed}, got {short_repr(value)}")
    return value


def check_optional_str(name: str, value: Any, what: str = "a cvxpy solver name") -> str | None:
    """None or a string (the string's meaning is checked where it is used)."""
    if value is not None and not isinstance(value, str):
        raise TypeError(f"{name} must be {what} (str) or None, got {short_repr(value)}")
    return value


def check_seed(name: str, value: Any) -> Any:
    """None, a non-negative integer seed or a ``numpy.random.Generator``."""
    if isinstance(value, np.random.Generator):
        return value
    if value is None:
        return None
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | np.integer):
        raise TypeError(
            f"{name} must be None, a non-negative integer seed or a numpy.random.Generator, got "
            f"{short_repr(value)} of type {type(value).__name__}"
        )
    if value < 0:
        raise ValueError(f"{name} must be a non-negative integer seed, got {short_repr(value)}")
    return value


def as_array(name: str, value: Any, *, ndim: int | None = None,
             shape: Sequence[int | None] | None = None, finite: bool = True,
             match: str | None = None) -> FloatArray:
    """:func:`as_finite_array` with every failure named: also ragged lists, ``None``, booleans,
    strings and integers too large for a float. ``finite=False`` only converts (float64).
    ``match`` names what fixes ``shape`` (e.g. ``"weights[0] of shape (3, 2)"``) so that a
    mismatch names both parameters."""
    if value is None:
        raise TypeError(f"{name} must be an array of real numbers, got None")
    if isinstance(value, dict | str | bytes):
        raise TypeError(
            f"{name} must be an array of real numbers, got {type(value).__name__} "
            f"{short_repr(value)}"
        )
    try:
        raw = value if isinstance(value, np.ndarray) else np.asarray(value)
    except (ValueError, TypeError) as exc:  # ragged nesting, unconvertible objects
        raise ValueError(
            f"{name} must be a rectangular array of real numbers (rows of equal length), got "
            f"{short_repr(value)}"
        ) from exc
    kind = raw.dtype.kind
    if kind == "b":
        raise TypeError(f"{name} must hold real numbers, got booleans {short_repr(value)}")
    if kind == "c":
        raise TypeError(f"{name} must be real, got complex values ({raw.dtype})")
    if kind in "USVMm":
        raise TypeError(
            f"{name} must be an array of real numbers, got dtype {raw.dtype} "
            f"({short_repr(value)})"
        )
    try:
        if finite:
            arr = as_finite_array(name, raw, ndim=ndim)  # its own errors name the parameter
        else:
            try:
                arr = np.array(raw, dtype=np.float64)
            except (TypeError, ValueError) as exc:  # None or "abc" inside a list
                raise TypeError(
                    f"{name} must be an array of real numbers, got {short_repr(value)}"
                ) from exc
    except OverflowError:
        raise ValueError(
            f"{name} must be finite, got an integer beyond the float range (about 1.8e308) in "
            f"{short_repr(value)}"
        ) from None
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimension(s), got shape {arr.shape}")
    if shape is not None and (arr.ndim != len(shape) or any(
            s is not None and s != a for s, a in zip(shape, arr.shape, strict=True))):
        want = "(" + ", ".join("any" if s is None else str(s) for s in shape) + ")"
        context = "" if match is None else f" to match {match}"
        raise ValueError(f"{name} must have shape {want}{context}, got {arr.shape}")
    return arr


def is_sequence(value: Any) -> bool:
    """A list/tuple-like sequence, not a string and not an array (those are checked apart)."""
    return isinstance(value, Sequence) and not isinstance(value, str | bytes)


def check_sizes(name: str, sizes: Any, *, min_len: int = 2) -> list[int]:
    """Layer widths: a sequence (or 1-D integer array) of positive Python or numpy integers."""
    if isinstance(sizes, np.ndarray):
        if sizes.ndim != 1:
            raise ValueError(f"{name} must be a 1-D sequence of integers, got shape {sizes.shape}")
        seq = list(sizes)
    elif is_sequence(sizes):
        seq = list(sizes)
    else:
        raise TypeError(
            f"{name} must be a sequence of positive integers (n_in, ..., n_out), got "
            f"{short_repr(sizes)} of type {type(sizes).__name__}"
        )
    if len(seq) < min_len:
        raise ValueError(
            f"{name} must hold >= {min_len} positive integers (n_in, ..., n_out), got "
            f"{short_repr(sizes)}"
        )
    return [check_int(f"{name}[{i}]", s, low=1) for i, s in enumerate(seq)]


# ---------------------------------------------------------------------------- memory


def format_bytes(n: float) -> str:
    if not math.isfinite(n):
        return "unlimited"
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{int(n)} bytes"


def check_allocation(name: str, value: Any, n_bytes: float, what: str) -> None:
    """Refuse, naming the parameter, a request whose arrays cannot fit in the available memory.

    ``n_bytes`` is the size of the arrays the request allocates (a float or a Python int, so an
    absurd size cannot overflow); ``what`` describes them.
    """
    avail = available_memory()
    if avail is not None and n_bytes > avail:
        raise ValueError(
            f"{name}={short_repr(value)} needs {what} of about {format_bytes(float(n_bytes))}, "
            f"more than the {format_bytes(avail)} of memory available"
        )


def require_cvxpy(what: str) -> Any:
    """Import cvxpy lazily; when it is missing, say who needs it and which extra provides it.

    Parameters
    ----------
    what : str
        Who needs it, e.g. ``"the LipSDP methods"``.

    Returns
    -------
    module
        ``cvxpy``.
    """
    try:
        import cvxpy as cp
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise ImportError(
            f"{what} need cvxpy (with the Clarabel and SCS solvers) for their semidefinite "
            'programs; install the analysis extra: pip install "leaky-control[analysis]"'
        ) from exc
    return cp

