"""Scenario files: a study described in TOML, read and validated into a :class:`Scenario`.

Every key, its type, default and meaning is documented in docs/scenarios.md. Everything is
checked here, before any simulation: each error is a :class:`ScenarioError` naming the key path
(``controller[1].negative_slopes[2]``), the value given and what is allowed, with a close
match for a misspelt key. Models are built through one lookup (:mod:`.registry`), so a plant
class exported by the package, or a user's ``"package.module:Class"``, needs nothing here.
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .registry import check_keywords, close_match, keywords, registry

__all__ = ["MISSING", "ModelRun", "Scenario", "ScenarioError", "Signal", "apply_overrides",
           "load_scenario", "parse_scenario"]


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


#: marks a key that was not given
MISSING: Any = _Missing()


class ScenarioError(ValueError):
    """A scenario that cannot run: names the key path, the value and what is allowed.

    Parameters
    ----------
    path : str
        Key path in the file (``"controller[1].negative_slopes[2]"``; ``""`` for the file).
    value : object
        The value found there (:data:`MISSING` when the key is absent).
    message : str
        What is wrong and what is allowed.
    source : str, optional
        The file (or shipped scenario) it came from.
    """

    def __init__(self, path: str, value: Any, message: str, source: str | None = None) -> None:
        self.path = path
        self.value = value
        self.message = message
        self.source = source
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.source}: " if self.source else ""
        if self.value is MISSING:
            return f"{where}{self.path}: missing; {self.message}" if self.path else \
                f"{where}{self.message}"
        text = repr(self.value)
        if len(text) > 80:
            text = text[:77] + "..."
        return f"{where}{self.path} = {text}: {self.message}" if self.path else \
            f"{where}{self.message}"


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


class _Table:
    """A TOML table being read: remembers which keys were used, to refuse the others."""

    def __init__(self, data: Any, path: str, allowed_hint: str = "",
                 allowed: Sequence[str] | None = None) -> None:
        if not isinstance(data, Mapping):
            raise ScenarioError(path, data, f"must be a table{allowed_hint}")
        self.data = dict(data)
        self.path = path
        self.used: set[str] = set()
        if allowed is not None:
            # a misspelt key first: it is usually why a required one seems missing
            self.finish(allowed, used=set(allowed))

    def has(self, key: str) -> bool:
        return key in self.data

    def raw(self, key: str) -> Any:
        self.used.add(key)
        return self.data.get(key, MISSING)

    def at(self, key: str) -> str:
        return _join(self.path, key)

    def finish(self, allowed: Sequence[str], used: set[str] | None = None) -> None:
        """Refuse keys that were not read (or not in ``used``), with the closest allowed one."""
        for key in self.data:
            if key not in (self.used if used is None else used):
                raise ScenarioError(
                    self.at(key), self.data[key],
                    f"unknown key{close_match(key, allowed)}; allowed here: "
                    f"{', '.join(allowed)}")


# --- typed values -----------------------------------------------------------------------------

def _number(path: str, value: Any, *, low: float | None = None, high: float | None = None,
            low_open: bool = False, what: str = "a number") -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ScenarioError(path, value, f"must be {what}")
    x = float(value)
    if not math.isfinite(x):
        raise ScenarioError(path, value, f"must be {what} (finite)")
    if low is not None and (x < low or (low_open and x == low)):
        raise ScenarioError(path, value, f"must be {what}")
    if high is not None and x > high:
        raise ScenarioError(path, value, f"must be {what}")
    return x


def _integer(path: str, value: Any, *, low: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ScenarioError(path, value, f"must be {what}")
    return int(value)


def _string(path: str, value: Any, what: str = "a string") -> str:
    if not isinstance(value, str):
        raise ScenarioError(path, value, f"must be {what}")
    return value


def _boolean(path: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ScenarioError(path, value, "must be true or false")
    return value


def _numbers(path: str, value: Any, what: str = "a list of numbers", *,
             nonempty: bool = True) -> list[float]:
    if not isinstance(value, list) or (nonempty and not value):
        raise ScenarioError(path, value, f"must be {what}")
    return [_number(_join(path, i), v, what="a number") for i, v in enumerate(value)]


# --- the pieces of a scenario -----------------------------------------------------------------

@dataclass(frozen=True)
class Signal:
    """A reference or disturbance: a constant (per channel) or a piecewise-linear table.

    Attributes
    ----------
    constant : list of float or None
        One value per channel (a scalar given in the file is one value).
    times : numpy.ndarray or None
        Breakpoint times of a table (strictly increasing).
    values : numpy.ndarray or None
        ``(channels, len(times))`` values at the breakpoints, scaled; held constant before the
        first and after the last time.
    """

    constant: list[float] | None = None
    times: NDArray[np.float64] | None = None
    values: NDArray[np.float64] | None = None

    @property
    def channels(self) -> int:
        """Number of channels the file gave."""
        if self.constant is not None:
            return len(self.constant)
        assert self.values is not None
        return int(self.values.shape[0])

    def at(self, t: NDArray[np.float64]) -> NDArray[np.float64]:
        """The signal on ``t`` as ``(channels, len(t))``.

        Parameters
        ----------
        t : numpy.ndarray

        Returns
        -------
        numpy.ndarray
        """
        if self.constant is not None:
            return np.repeat(np.asarray(self.constant, dtype=float)[:, None], t.size, axis=1)
        assert self.times is not None
        assert self.values is not None
        return np.vstack([np.interp(t, self.times, row) for row in self.values])

    def start(self, t0: float) -> NDArray[np.float64]:
        """The value of every channel at ``t0``."""
        return self.at(np.array([t0]))[:, 0]

    @property
    def final(self) -> NDArray[np.float64]:
        """The value of every channel after the last breakpoint (or the constant)."""
        if self.constant is not None:
            return np.asarray(self.constant, dtype=float)
        assert self.values is not None
        return self.values[:, -1].copy()


def _signal(path: str, value: Any, *, allow_channels: bool) -> Signal:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return Signal(constant=[_number(path, value)])
    if isinstance(value, list) and allow_channels:
        return Signal(constant=_numbers(path, value, "a number, a list of numbers (one per "
                                                     "channel) or a table {times, values}"))
    hint = " {times, values, scale}" + ("" if not allow_channels else
                                        ", a number or a list (one per channel)")
    tab = _Table(value, path, hint, ["times", "values", "scale"])
    times = tab.raw("times")
    if times is MISSING:
        raise ScenarioError(tab.at("times"), MISSING, "required: a list of breakpoint times "
                                                       "[s], strictly increasing")
    tt = np.asarray(_numbers(tab.at("times"), times, "a list of breakpoint times [s]"))
    bad = np.flatnonzero(np.diff(tt) <= 0)
    if bad.size:
        i = int(bad[0]) + 1
        raise ScenarioError(_join(tab.at("times"), i), times[i],
                            f"times must be strictly increasing (times[{i - 1}] = "
                            f"{times[i - 1]!r})")
    raw_values = tab.raw("values")
    if raw_values is MISSING:
        raise ScenarioError(tab.at("values"), MISSING, f"required: {tt.size} values, one per "
                                                        "time" + (" (or one such list per "
                                                                  "channel)" if allow_channels
                                                                  else ""))
    vpath = tab.at("values")
    if allow_channels and isinstance(raw_values, list) and raw_values and \
            all(isinstance(r, list) for r in raw_values):
        rows = [_numbers(_join(vpath, i), r) for i, r in enumerate(raw_values)]
    else:
        rows = [_numbers(vpath, raw_values)]
    for i, row in enumerate(rows):
        if len(row) != tt.size:
            p = vpath if len(rows) == 1 else _join(vpath, i)
            raise ScenarioError(p, raw_values if len(rows) == 1 else raw_values[i],
                                f"must hold {tt.size} values, one per entry of times "
                                f"(got {len(row)})")
    scale = tab.raw("scale")
    k = 1.0 if scale is MISSING else _number(tab.at("scale"), scale, what="a number (the "
                                             "factor the values are multiplied by)")
    tab.finish(["times", "values", "scale"])
    return Signal(times=tt, values=k * np.asarray(rows, dtype=float))


@dataclass(frozen=True)
class ModelRun:
    """One simulated loop of a scenario.

    Attributes
    ----------
    plant_label, controller_label, label : str
        The plant's and controller's labels from the file, and the run's legend label.
    plant, controller : object
        The models, built and validated.
    negative_slope : float
        The controller's leak in this run.
    plant_index, controller_index : int
        Positions in the file's plant and controller lists.
    """

    plant_label: str
    controller_label: str
    label: str
    plant: Any
    controller: Any
    negative_slope: float
    plant_index: int
    controller_index: int


@dataclass(frozen=True)
class Scenario:
    """A validated scenario (see docs/scenarios.md for the file format).

    Attributes
    ----------
    name : str
        The file's stem, or ``output.name``: the stem of every file written.
    title, summary : str
    source : str
        Where it was read from.
    runs : list of ModelRun
        Every (plant, controller, negative slope) loop, plants slowest.
    plant_labels, controller_labels : list of str
    solver : object
        The solver instance (``None``: ``simulate``'s default RK4).
    timepts : numpy.ndarray
    reference : Signal
    disturbance : Signal or None
    initial_states : list of numpy.ndarray or None
        Per plant (None: zeros).
    initial_outputs : list of float
        Per plant: the output the runs start from (metrics' ``initial_output`` default).
    controller_states : dict of int to numpy.ndarray
        Initial controller state per run index, when the file gives one (a list, or
        ``"trim"``: the integrator holding the operating point's input).
    metric_options : dict
        ``settling_threshold``, ``rise_limits``, ``initial_output`` (``"initial"`` or a
        number) and ``final_output`` (None, ``"reference"`` or a number).
    metric_keys : list of str
    outputs : dict
        ``metrics``, ``response``, ``plot``, ``coasting`` (bool), ``title``, ``y_label``,
        ``u_label``, ``dpi``, ``columns``.
    units : dict
        ``output``, ``input``, ``disturbance``.
    sweep : dict or None
        ``grid`` (name -> numpy array), ``metrics``, ``chunk_size``, ``threads``, ``units``
        (name -> unit of a swept parameter).
    raw : dict
        The parsed file after overrides.
    """

    name: str
    title: str
    summary: str
    source: str
    runs: list[ModelRun]
    plant_labels: list[str]
    controller_labels: list[str]
    solver: Any
    timepts: NDArray[np.float64]
    reference: Signal
    disturbance: Signal | None
    initial_states: list[NDArray[np.float64] | None]
    initial_outputs: list[float]
    controller_states: dict[int, NDArray[np.float64]]
    metric_options: dict[str, Any]
    metric_keys: list[str]
    outputs: dict[str, Any]
    units: dict[str, str]
    sweep: dict[str, Any] | None
    raw: dict[str, Any] = field(repr=False)


TOP_KEYS = ("title", "summary", "plant", "controller", "solver", "time", "reference",
            "disturbance", "initial", "metrics", "output", "units", "sweep")


def load_scenario(path: str | os.PathLike[str], overrides: Sequence[str] = (), *,
                  final_time: float | None = None) -> Scenario:
    """Read and validate a scenario file.

    Parameters
    ----------
    path : str or path-like
        A ``.toml`` file.
    overrides : sequence of str
        ``"key.path=value"`` assignments applied before validation (TOML values: ``3``,
        ``[0, 1]``, ``true``, ``"RK4"``; text that is not TOML counts as a string).
    final_time : float, optional
        Shorthand for the override ``time.final``.

    Returns
    -------
    Scenario

    Raises
    ------
    ScenarioError
        For an unreadable file, TOML syntax, or any invalid key or value.
    """
    source = os.fspath(path)
    try:
        with open(source, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ScenarioError("", MISSING, f"scenario file {source!r} not found") from None
    except OSError as exc:
        raise ScenarioError("", MISSING, f"cannot read {source!r}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError("", MISSING, f"{source}: not valid TOML: {exc}") from None
    name = os.path.splitext(os.path.basename(source))[0]
    return parse_scenario(data, name=name, source=source, overrides=overrides,
                          final_time=final_time)


_TOKEN = re.compile(r"([A-Za-z_][A-Za-z0-9_\-]*)((?:\[\d+\])*)$")


def _parse_value(text: str) -> Any:
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def apply_overrides(data: dict[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """``data`` with ``"key.path=value"`` assignments applied (a new dict; tables copied).

    Parameters
    ----------
    data : dict
        A parsed scenario.
    overrides : sequence of str
        Assignments. ``plant[0]`` also addresses a single ``[plant]`` table.

    Returns
    -------
    dict

    Raises
    ------
    ScenarioError
        For a malformed assignment or a path through something that is not a table or list.
    """
    import copy

    out = copy.deepcopy(data)
    for item in overrides:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ScenarioError("--set", item, "must be key.path=value (e.g. time.final=10, "
                                               "controller[0].kp=0.6)")
        parts: list[str | int] = []
        for token in key.split("."):
            m = _TOKEN.match(token)
            if not m:
                raise ScenarioError("--set", item, f"{token!r} is not a key (letters, digits, "
                                                   "_ and -, then optional [index])")
            parts.append(m.group(1))
            parts += [int(i) for i in re.findall(r"\[(\d+)\]", m.group(2))]
        node: Any = out
        path = ""
        for k, part in enumerate(parts):
            last = k == len(parts) - 1
            if isinstance(part, int):
                if isinstance(node, dict) and part == 0:
                    pass  # a single [plant] table is plant[0]
                elif not isinstance(node, list) or part >= len(node):
                    raise ScenarioError(_join(path, part), MISSING,
                                        f"--set {item}: there is no entry {part} here")
                if last:
                    if isinstance(node, list):
                        node[part] = _parse_value(text.strip())
                    else:
                        raise ScenarioError(path, node, f"--set {item}: cannot replace a "
                                                        "whole table")
                elif isinstance(node, list):
                    node = node[part]
                path = _join(path, part)
                continue
            if not isinstance(node, dict):
                raise ScenarioError(path, node, f"--set {item}: {path} is not a table")
            if last:
                node[part] = _parse_value(text.strip())
            else:
                node = node.setdefault(part, {})
            path = _join(path, part)
    return out


def parse_scenario(data: Mapping[str, Any], *, name: str = "scenario",
                   source: str = "<scenario>", overrides: Sequence[str] = (),
                   final_time: float | None = None) -> Scenario:
    """Validate a parsed scenario (a dict as :mod:`tomllib` returns it).

    Parameters
    ----------
    data : mapping
    name : str
        Default stem of the files written.
    source : str
        Shown in error messages.
    overrides : sequence of str
        As in :func:`load_scenario`.
    final_time : float, optional
        As in :func:`load_scenario`.

    Returns
    -------
    Scenario

    Raises
    ------
    ScenarioError
    """
    try:
        ov = list(overrides)
        if final_time is not None:
            ov.append(f"time.final={float(final_time)!r}")
        raw = apply_overrides(dict(data), ov)
        return _Parser(raw, name, source).scenario()
    except ScenarioError as exc:
        if exc.source is None:
            exc.source = source
            exc.args = (str(exc),)
        raise


def _list_of_tables(top: _Table, key: str) -> list[tuple[str, dict[str, Any]]]:
    """``[plant]`` or ``[[plant]]``: ``[(path, table), ...]``."""
    value = top.raw(key)
    if value is MISSING:
        raise ScenarioError(key, MISSING, f"required: a [{key}] table (or [[{key}]] tables), "
                                          "with at least a type")
    if isinstance(value, Mapping):
        return [(key, dict(value))]
    if isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
        return [(_join(key, i), dict(v)) for i, v in enumerate(value)]
    raise ScenarioError(key, value, f"must be a [{key}] table or a list of [[{key}]] tables")


def _model_error(path: str, given: Mapping[str, Any], exc: Exception, what: str) -> ScenarioError:
    """A model's own refusal, pinned to the keyword it names when it names one."""
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    for k in sorted(given, key=len, reverse=True):
        if re.match(rf"\(?{re.escape(k)}\b", text):
            return ScenarioError(_join(path, k), given[k], text)
    return ScenarioError(path, dict(given), f"{what} refused: {text}")


class _Parser:
    def __init__(self, raw: dict[str, Any], name: str, source: str) -> None:
        self.raw = raw
        self.top = _Table(raw, "")
        self.name = name
        self.source = source

    # each section reads its keys and refuses the rest

    def scenario(self) -> Scenario:
        top = self.top
        title = top.raw("title")
        title = self.name if title is MISSING else _string("title", title)
        summary = top.raw("summary")
        summary = "" if summary is MISSING else _string("summary", summary)
        timepts = self.time()
        units = self.units()
        reference = self.reference()
        solver = self.solver()
        plants = self.plants()
        disturbance = self.disturbance(plants)
        t0 = float(timepts[0])
        initial_states, initial_outputs, trims = self.initial(plants, disturbance, t0)
        runs, clabels, cstates = self.controllers(plants, trims)
        metric_options, metric_keys = self.metrics()
        outputs = self.outputs()
        sweep = self.sweep(plants, runs)
        top.finish(list(TOP_KEYS))
        return Scenario(
            name=outputs.pop("name") or self.name, title=title, summary=summary,
            source=self.source, runs=runs, plant_labels=[p[0] for p in plants],
            controller_labels=clabels, solver=solver, timepts=timepts, reference=reference,
            disturbance=disturbance, initial_states=initial_states,
            initial_outputs=initial_outputs, controller_states=cstates,
            metric_options=metric_options, metric_keys=metric_keys, outputs=outputs,
            units=units, sweep=sweep, raw=self.raw)

    def time(self) -> NDArray[np.float64]:
        value = self.top.raw("time")
        if value is MISSING:
            raise ScenarioError("time", MISSING, "required: a [time] table with final (the "
                                                 "final time in s)")
        tab = _Table(value, "time", " {start, final, points}", ["start", "final", "points"])
        start = tab.raw("start")
        t0 = 0.0 if start is MISSING else _number("time.start", start)
        final = tab.raw("final")
        if final is MISSING:
            raise ScenarioError("time.final", MISSING, "required: the final time in s "
                                                       "(a number > time.start)")
        tf = _number("time.final", final, low=t0, low_open=True,
                     what=f"a number > time.start = {t0:g} (the final time in s)")
        points = tab.raw("points")
        n = 1001 if points is MISSING else _integer(
            "time.points", points, low=2, what="an integer >= 2 (output times, evenly spaced)")
        tab.finish(["start", "final", "points"])
        return np.linspace(t0, tf, n)

    def units(self) -> dict[str, str]:
        value = self.top.raw("units")
        out = {"output": "-", "input": "-", "disturbance": "-"}
        if value is MISSING:
            return out
        tab = _Table(value, "units", " {output, input, disturbance}", list(out))
        for k in out:
            v = tab.raw(k)
            if v is not MISSING:
                out[k] = _string(tab.at(k), v, "a unit as text, e.g. \"m/s\" (\"-\": none)")
        tab.finish(list(out))
        return out

    def reference(self) -> Signal:
        value = self.top.raw("reference")
        if value is MISSING:
            return Signal(constant=[0.0])
        return _signal("reference", value, allow_channels=False)

    def solver(self) -> Any:
        value = self.top.raw("solver")
        if value is MISSING:
            return None
        tab = _Table(value, "solver", " {type, options...}")
        cls, kwargs = self._typed(tab, "solver")
        return self._build(cls, kwargs, "solver", "the solver")

    def _typed(self, tab: _Table, kind: str,
               extra: Sequence[str] = (), provided: Sequence[str] = ()
               ) -> tuple[Callable[..., Any], dict[str, Any]]:
        """``type`` looked up, the remaining keys checked against its signature."""
        reg = registry(kind)
        type_name = tab.raw("type")
        if type_name is MISSING:
            raise ScenarioError(tab.at("type"), MISSING,
                                f"required: one of {', '.join(sorted(reg.names()))}, or "
                                "'package.module:Class'")
        _string(tab.at("type"), type_name, "a type name (text)")
        try:
            cls = reg.lookup(type_name)
        except LookupError as exc:
            raise ScenarioError(tab.at("type"), type_name, str(exc)) from None
        kwargs = {k: v for k, v in tab.data.items() if k != "type" and k not in extra}
        for k, problem in check_keywords(cls, kwargs, provided):
            if problem == "is required":
                raise ScenarioError(tab.at(k), MISSING, f"required by {type_name}")
            unknown = problem.startswith("is not a parameter")
            msg = problem if not unknown else \
                problem + (f"; scenario keys: {', '.join(['type', *extra])}" if extra else "")
            raise ScenarioError(tab.at(k), kwargs[k], msg)
        tab.used.update(tab.data)
        return cls, kwargs

    def _build(self, cls: Callable[..., Any], kwargs: Mapping[str, Any], path: str,
               what: str) -> Any:
        try:
            return cls(**kwargs)
        except (ValueError, TypeError, ArithmeticError) as exc:
            raise _model_error(path, kwargs, exc, what) from None

    def plants(self) -> list[tuple[str, Any, str]]:
        out = []
        for path, data in _list_of_tables(self.top, "plant"):
            tab = _Table(data, path)
            label = tab.raw("label")
            cls, kwargs = self._typed(tab, "plant", extra=("label",))
            plant = self._build(cls, kwargs, path, f"plant {data.get('type')!r}")
            from ..plants import Plant

            if not isinstance(plant, Plant):
                raise ScenarioError(_join(path, "type"), data.get("type"),
                                    "does not make a leaky_control Plant")
            text = str(data["type"]) if label is MISSING else _string(_join(path, "label"), label)
            out.append((text, plant, path))
        labels = [p[0] for p in out]
        for i, lab in enumerate(labels):
            if labels.index(lab) != i:
                raise ScenarioError(_join(out[i][2], "label"), lab,
                                    "two plants share this label; give each a distinct label")
        return out

    def disturbance(self, plants: list[tuple[str, Any, str]]) -> Signal | None:
        value = self.top.raw("disturbance")
        if value is MISSING:
            return None
        sig = _signal("disturbance", value, allow_channels=True)
        for label, plant, path in plants:
            q = plant.ndisturbances
            nonzero = bool(np.any(sig.values != 0)) if sig.values is not None else \
                any(v != 0 for v in (sig.constant or []))
            if q == 0 and nonzero:
                raise ScenarioError("disturbance", value,
                                    f"plant {label!r} ({path}) has no disturbance input")
            if q and sig.channels not in (1, q):
                raise ScenarioError("disturbance", value,
                                    f"plant {label!r} has {q} disturbance inputs "
                                    f"({', '.join(plant.disturbance_labels)}): give 1 or {q} "
                                    f"channels, got {sig.channels}")
        return sig

    def initial(self, plants: list[tuple[str, Any, str]], disturbance: Signal | None,
                t0: float) -> tuple[list[NDArray[np.float64] | None], list[float],
                                    list[NDArray[np.float64] | None]]:
        """Per plant: initial state, initial output, trim input (when trimmed)."""
        value = self.top.raw("initial")
        n = len(plants)
        states: list[NDArray[np.float64] | None] = [None] * n
        trims: list[NDArray[np.float64] | None] = [None] * n
        if value is MISSING:
            self._controller_state = MISSING
            return states, [self._output0(p, None, disturbance, t0) for _, p, _ in plants], \
                trims
        tab = _Table(value, "initial", " {state | output, controller_state}",
                     ["state", "output", "controller_state"])
        state, output = tab.raw("state"), tab.raw("output")
        self._controller_state = tab.raw("controller_state")
        tab.finish(["state", "output", "controller_state"])
        if state is not MISSING and output is not MISSING:
            raise ScenarioError("initial.output", output,
                                "give initial.state or initial.output, not both")
        if state is not MISSING:
            x0 = np.asarray(_numbers("initial.state", state, "a list of numbers, one per "
                                                             "plant state"))
            for label, plant, _ in plants:
                if x0.size != plant.nstates:
                    raise ScenarioError("initial.state", state,
                                        f"plant {label!r} has {plant.nstates} states "
                                        f"({', '.join(plant.state_labels)}), got {x0.size}")
            states = [x0.copy() for _ in plants]
        elif output is not MISSING:
            from ..plants import operating_point

            y = _numbers("initial.output", output) if isinstance(output, list) else \
                [_number("initial.output", output)]
            for i, (label, plant, _) in enumerate(plants):
                d = None if disturbance is None or plant.ndisturbances == 0 else \
                    np.broadcast_to(disturbance.start(t0), (plant.ndisturbances,))
                try:
                    op = operating_point(plant, y if len(y) > 1 else y[0], d)
                except (ValueError, TypeError, ArithmeticError) as exc:
                    raise ScenarioError("initial.output", output,
                                        f"no operating point of plant {label!r}: "
                                        f"{str(exc).splitlines()[0]}") from None
                states[i], trims[i] = op.state, op.input
        outputs = [self._output0(p, states[i], disturbance, t0)
                   for i, (_, p, _) in enumerate(plants)]
        return states, outputs, trims

    def _output0(self, plant: Any, x0: NDArray[np.float64] | None, disturbance: Signal | None,
                 t0: float) -> float:
        """The plant's first output at the start (the metrics' default initial output)."""
        x = np.zeros(plant.nstates) if x0 is None else x0
        d = np.zeros(plant.ndisturbances) if disturbance is None or not plant.ndisturbances \
            else np.broadcast_to(disturbance.start(t0), (plant.ndisturbances,))
        _, out = plant._model_functions()
        if out is None:  # the output is the full state
            return float(np.atleast_1d(x)[0])
        y = np.asarray(out(t0, x, np.concatenate([np.zeros(plant.ninputs), d]), None))
        return float(np.atleast_1d(y)[0])

    def controllers(self, plants: list[tuple[str, Any, str]],
                    trims: list[NDArray[np.float64] | None]
                    ) -> tuple[list[ModelRun], list[str], dict[int, NDArray[np.float64]]]:
        specs = []
        for path, data in _list_of_tables(self.top, "controller"):
            tab = _Table(data, path)
            label = tab.raw("label")
            slopes_raw = tab.raw("negative_slopes")
            limits = tab.raw("limits")
            cls, kwargs = self._typed(tab, "controller",
                                      extra=("label", "negative_slopes", "limits"),
                                      provided=("negative_slope",))
            known = keywords(cls)
            if slopes_raw is not MISSING and "negative_slope" in kwargs:
                raise ScenarioError(_join(path, "negative_slope"), kwargs["negative_slope"],
                                    "give negative_slope or negative_slopes, not both")
            if slopes_raw is not MISSING:
                spath = _join(path, "negative_slopes")
                if not isinstance(slopes_raw, list) or not slopes_raw:
                    raise ScenarioError(spath, slopes_raw, "must be a non-empty list of leaks "
                                                          "in [0, 1] (one run each)")
                slopes = [_number(_join(spath, i), a, low=0.0, high=1.0,
                                  what="a leak in [0, 1] (0: ReLU, 1: linear)")
                          for i, a in enumerate(slopes_raw)]
            elif "negative_slope" in kwargs:
                slopes = [_number(_join(path, "negative_slope"), kwargs.pop("negative_slope"),
                                  low=0.0, high=1.0, what="a leak in [0, 1] (0: ReLU, 1: linear)")]
            elif known is None or "negative_slope" in known:
                raise ScenarioError(_join(path, "negative_slopes"), MISSING,
                                    "required: a list of leaks in [0, 1], one run each (0: "
                                    "ReLU, 1: linear)")
            else:
                slopes = [math.nan]  # a controller without a leak (OpenLoop)
            if limits is not MISSING:
                if limits != "plant":
                    raise ScenarioError(_join(path, "limits"), limits,
                                        "must be \"plant\" (u_min, u_max from the plant's "
                                        "actuator limits) or left out")
                for k in ("u_min", "u_max"):
                    if known is not None and k not in known:
                        raise ScenarioError(_join(path, "limits"), limits,
                                            f"{data.get('type')} has no {k} to set")
                    if k in kwargs:
                        raise ScenarioError(_join(path, k), kwargs[k],
                                            "give u_min/u_max or limits = \"plant\", not both")
            text = str(data["type"]) if label is MISSING else _string(_join(path, "label"), label)
            specs.append((text, cls, kwargs, slopes, limits is not MISSING, path))
        labels = [s[0] for s in specs]
        for i, lab in enumerate(labels):
            if labels.index(lab) != i:
                raise ScenarioError(_join(specs[i][5], "label"), lab,
                                    "two controllers share this label; give each a distinct "
                                    "label")
        runs = []
        cstates: dict[int, NDArray[np.float64]] = {}
        for ip, (plabel, plant, _) in enumerate(plants):
            for ic, (clabel, cls, kwargs, slopes, from_plant, path) in enumerate(specs):
                kw = dict(kwargs)
                if from_plant:
                    lo, hi = plant.actuator_limits()
                    if np.size(lo) != 1:
                        raise ScenarioError(_join(path, "limits"), "plant",
                                            f"plant {plabel!r} has {np.size(lo)} inputs; give "
                                            "u_min and u_max")
                    kw["u_min"], kw["u_max"] = float(np.ravel(lo)[0]), float(np.ravel(hi)[0])
                for j, a in enumerate(slopes):
                    if not math.isnan(a):
                        kw["negative_slope"] = a
                    try:
                        ctrl = cls(**kw)
                    except (ValueError, TypeError, ArithmeticError) as exc:
                        err = _model_error(path, kw, exc, f"controller {clabel!r}")
                        if err.path.endswith(".negative_slope"):
                            err = ScenarioError(_join(_join(path, "negative_slopes"), j), a,
                                                err.message)
                        raise err from None
                    try:
                        ctrl.record(plant)  # a SISO controller on a MIMO plant, ...
                    except (ValueError, TypeError) as exc:
                        raise ScenarioError(path, kwargs.get("type", clabel),
                                            f"controller {clabel!r} cannot run with plant "
                                            f"{plabel!r}: {str(exc).splitlines()[0]}") from None
                    name = _slope_name(a)
                    label = name if len(specs) == 1 else f"{clabel}, {name}"
                    runs.append(ModelRun(plabel, clabel, label, plant, ctrl, a, ip, ic))
                    state = self._trimmed_state(ctrl, trims[ip], path)
                    if state is not None:
                        cstates[len(runs) - 1] = state
        return runs, labels, cstates

    def _trimmed_state(self, ctrl: Any, trim: NDArray[np.float64] | None,
                       path: str) -> NDArray[np.float64] | None:
        value = self._controller_state
        if value is MISSING:
            return None
        vpath = "initial.controller_state"
        if isinstance(value, list):
            xc = np.asarray(_numbers(vpath, value, "a list of numbers (one per controller "
                                                    "state) or \"trim\"", nonempty=False))
            if xc.size != ctrl.nstates:
                raise ScenarioError(vpath, value, f"the controller of {path} has "
                                                  f"{ctrl.nstates} states "
                                                  f"({', '.join(ctrl.state_labels) or 'none'})")
            return xc
        if value != "trim":
            raise ScenarioError(vpath, value, "must be a list of numbers or \"trim\" (the "
                                              "integrator holding the trim input)")
        if trim is None:
            raise ScenarioError(vpath, value, "\"trim\" needs initial.output (the operating "
                                              "point whose input the integrator holds)")
        labels = list(ctrl.state_labels)
        law = getattr(ctrl, "law", None)
        if "z" not in labels or law is None or getattr(ctrl, "ki", 0.0) == 0.0:
            raise ScenarioError(vpath, value, f"\"trim\" needs a controller with an integrator "
                                              f"(ki != 0); {path} has states {labels}")
        return _integrator_for(ctrl, float(trim[0]), labels.index("z"), vpath)

    def metrics(self) -> tuple[dict[str, Any], list[str]]:
        from ..metrics import STEP_INFO_KEYS

        value = self.top.raw("metrics")
        opts: dict[str, Any] = {"initial_output": "initial", "final_output": None,
                                "settling_threshold": 0.02, "rise_limits": (0.1, 0.9)}
        keys = list(STEP_INFO_KEYS)
        if value is MISSING:
            return opts, keys
        tab = _Table(value, "metrics", "", ["initial_output", "final_output",
                                            "settling_threshold", "rise_limits", "keys"])
        v = tab.raw("initial_output")
        if v is not MISSING:
            opts["initial_output"] = v if v == "initial" else _number(
                "metrics.initial_output", v, what="\"initial\" (the run's first output) or a "
                                                  "number")
        v = tab.raw("final_output")
        if v is not MISSING:
            opts["final_output"] = v if v == "reference" else _number(
                "metrics.final_output", v, what="\"reference\" (the reference's final value) "
                                                "or a number")
        v = tab.raw("settling_threshold")
        if v is not MISSING:
            opts["settling_threshold"] = _number("metrics.settling_threshold", v, low=0.0,
                                                 low_open=True, high=1.0,
                                                 what="a fraction in (0, 1)")
        v = tab.raw("rise_limits")
        if v is not MISSING:
            lim = _numbers("metrics.rise_limits", v, "[low, high] with 0 <= low < high <= 1")
            if len(lim) != 2 or not 0 <= lim[0] < lim[1] <= 1:
                raise ScenarioError("metrics.rise_limits", v,
                                    "must be [low, high] with 0 <= low < high <= 1")
            opts["rise_limits"] = tuple(lim)
        v = tab.raw("keys")
        if v is not MISSING:
            keys = _metric_keys("metrics.keys", v)
        tab.finish(["initial_output", "final_output", "settling_threshold", "rise_limits",
                    "keys"])
        return opts, keys

    def outputs(self) -> dict[str, Any]:
        value = self.top.raw("output")
        out: dict[str, Any] = {"name": None, "metrics": True, "response": True, "plot": True,
                               "title": None, "y_label": None, "u_label": None, "dpi": 110,
                               "columns": "auto", "coasting": True}
        if value is MISSING:
            return out
        tab = _Table(value, "output", "", list(out))
        for k in ("metrics", "response", "plot", "coasting"):
            v = tab.raw(k)
            if v is not MISSING:
                out[k] = _boolean(tab.at(k), v)
        for k in ("title", "y_label", "u_label"):
            v = tab.raw(k)
            if v is not MISSING:
                out[k] = _string(tab.at(k), v)
        v = tab.raw("name")
        if v is not MISSING:
            if not isinstance(v, str) or not re.fullmatch(r"[A-Za-z0-9_.\-]+", v):
                raise ScenarioError("output.name", v, "must be a file stem (letters, digits, "
                                                      "_ . -)")
            out["name"] = v
        v = tab.raw("dpi")
        if v is not MISSING:
            out["dpi"] = _integer("output.dpi", v, low=20, what="an integer >= 20")
        v = tab.raw("columns")
        if v is not MISSING:
            if v not in ("auto", "plant", "controller"):
                raise ScenarioError("output.columns", v, "must be \"auto\", \"plant\" or "
                                                         "\"controller\" (one figure column "
                                                         "per plant or per controller)")
            out["columns"] = v
        tab.finish(list(out))
        return out

    def sweep(self, plants: list[tuple[str, Any, str]], runs: list[ModelRun]
              ) -> dict[str, Any] | None:
        value = self.top.raw("sweep")
        if value is MISSING:
            return None
        tab = _Table(value, "sweep", " {grid, metrics, chunk_size, threads, units}",
                     ["grid", "metrics", "chunk_size", "threads", "units"])
        grid_raw = tab.raw("grid")
        if grid_raw is MISSING:
            raise ScenarioError("sweep.grid", MISSING,
                                "required: a [sweep.grid] table of parameter -> values")
        gtab = _Table(grid_raw, "sweep.grid")
        if not gtab.data:
            raise ScenarioError("sweep.grid", grid_raw, "must name at least one parameter")
        if len(plants) != 1 or len({r.controller_index for r in runs}) != 1:
            raise ScenarioError("sweep", MISSING, "a sweep needs exactly one [plant] and one "
                                                  "[controller]")
        run = runs[0]
        allowed = sorted(set(run.controller.params) | set(run.plant.params))
        grid: dict[str, NDArray[np.float64]] = {}
        if "negative_slope" not in gtab.data and len(runs) > 1:
            grid["negative_slope"] = np.array([r.negative_slope for r in runs])
        for k, v in gtab.data.items():
            p = gtab.at(k)
            if k not in allowed:
                raise ScenarioError(p, v, f"is not a parameter of the plant or the controller"
                                          f"{close_match(k, allowed)}; allowed: "
                                          f"{', '.join(allowed)}")
            grid[k] = _grid_values(p, v, unit_interval=(k == "negative_slope"))
        gtab.used.update(gtab.data)
        out: dict[str, Any] = {"grid": grid, "metrics": None, "chunk_size": None,
                               "threads": None, "units": {}}
        v = tab.raw("units")
        if v is not MISSING:
            utab = _Table(v, "sweep.units", " {parameter = \"unit\", ...}")
            for k, unit in utab.data.items():
                if k not in grid:
                    raise ScenarioError(utab.at(k), unit, f"is not a swept parameter"
                                                          f"{close_match(k, list(grid))}; "
                                                          f"swept: {', '.join(grid)}")
                out["units"][k] = _string(utab.at(k), unit, "a unit as text (\"-\": none)")
            utab.used.update(utab.data)
        v = tab.raw("metrics")
        if v is not MISSING:
            out["metrics"] = _metric_keys("sweep.metrics", v)
        v = tab.raw("chunk_size")
        if v is not MISSING:
            out["chunk_size"] = _integer("sweep.chunk_size", v, low=1, what="an integer >= 1")
        v = tab.raw("threads")
        if v is not MISSING:
            out["threads"] = _integer("sweep.threads", v, low=1, what="an integer >= 1")
        tab.finish(["grid", "metrics", "chunk_size", "threads", "units"])
        return out


def _slope_name(a: float) -> str:
    if math.isnan(a):
        return "no leak"
    if a == 0.0:
        return "ReLU (a=0)"
    if a == 1.0:
        return "linear (a=1)"
    return f"leaky (a={a:g})"


def _metric_keys(path: str, value: Any) -> list[str]:
    from ..metrics import STEP_INFO_KEYS

    if not isinstance(value, list) or not value:
        raise ScenarioError(path, value, f"must be a non-empty list of metric names from "
                                         f"{', '.join(STEP_INFO_KEYS)}")
    for i, k in enumerate(value):
        if k not in STEP_INFO_KEYS:
            raise ScenarioError(_join(path, i), k,
                                f"unknown metric{close_match(str(k), list(STEP_INFO_KEYS))}; "
                                f"allowed: {', '.join(STEP_INFO_KEYS)}")
    return list(dict.fromkeys(value))


def _grid_values(path: str, value: Any, *, unit_interval: bool) -> NDArray[np.float64]:
    """A grid axis: a list, or ``{linspace = [a, b, n]}``, ``{logspace = [a, b, n]}``
    (powers of ten) or ``{arange = [start, stop, step]}``."""
    if isinstance(value, list):
        vals = np.asarray(_numbers(path, value, "a non-empty list of numbers, or {linspace = "
                                                "[start, stop, n]}, {logspace = [start, stop, "
                                                "n]}, {arange = [start, stop, step]}"))
    else:
        tab = _Table(value, path, " (a list of numbers, or {linspace = [start, stop, n]}, "
                                  "{logspace = [start, stop, n]}, {arange = [start, stop, step]})")
        kinds = [k for k in ("linspace", "logspace", "arange") if tab.has(k)]
        if len(kinds) != 1 or len(tab.data) != 1:
            raise ScenarioError(path, value, "must hold exactly one of linspace, logspace, "
                                             "arange")
        kind = kinds[0]
        p = _join(path, kind)
        spec = tab.raw(kind)
        nums = _numbers(p, spec, "[start, stop, n] (n: an integer >= 1)" if kind != "arange"
                        else "[start, stop, step]")
        if len(nums) != 3:
            raise ScenarioError(p, spec, "must be three numbers: [start, stop, n]" if kind !=
                                "arange" else "must be three numbers: [start, stop, step]")
        if kind == "arange":
            if not nums[2] > 0 or nums[1] <= nums[0] or (nums[1] - nums[0]) / nums[2] > 1e6:
                raise ScenarioError(p, spec, "must have stop > start and 0 < step, at most "
                                             "1e6 values")
            vals = np.arange(*nums)
        else:
            n = _integer(_join(p, 2), spec[2], low=1, what="an integer >= 1 (how many values)")
            vals = np.linspace(nums[0], nums[1], n) if kind == "linspace" else \
                np.logspace(nums[0], nums[1], n)
    if unit_interval:
        bad = np.flatnonzero((vals < 0) | (vals > 1))
        if bad.size:
            raise ScenarioError(path, value, f"negative_slope values must lie in [0, 1]; "
                                             f"{vals[bad[0]]:g} does not")
    return vals


def _integrator_for(ctrl: Any, u: float, iz: int, path: str) -> NDArray[np.float64]:
    """The controller state whose law gives ``u`` at zero error: the integrator ``z`` that
    holds the trim input (other states zero). Solved numerically on the controller's own
    ``law`` so the error and output shapes are both covered."""
    from scipy.optimize import brentq

    def f(z: float) -> float:
        return float(ctrl.law(0.0, z, 0.0)) - u

    lo, hi = -1.0, 1.0
    for _ in range(200):
        if f(lo) <= 0.0 <= f(hi) or f(hi) <= 0.0 <= f(lo):
            break
        lo, hi = 2.0 * lo, 2.0 * hi
    else:
        raise ScenarioError(path, "trim", f"no integrator state of {type(ctrl).__name__} "
                                          f"gives the trim input {u:g} at zero error")
    xc = np.zeros(ctrl.nstates)
    xc[iz] = brentq(f, lo, hi, xtol=1e-15, rtol=4 * np.finfo(float).eps)
    return xc
