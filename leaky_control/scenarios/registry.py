"""Model classes by name, for scenario files: one lookup over the package's exports.

A scenario names its plant, controller and solver by ``type``. The names come from the
``__all__`` of :mod:`leaky_control.plants`, :mod:`leaky_control.controllers` and
:mod:`leaky_control.solvers` (every exported subclass of ``Plant``, ``Controller`` or
``Solver``), so a model file exported there is usable from TOML with no edit here; a user's
class is named ``"package.module:Class"``. Python-control's linear systems have two
pseudo-types, ``"tf"`` and ``"ss"``, built by the small factories below. Keywords are checked
against the constructor's signature (:func:`check_keywords`) before the model validates
their values.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["KINDS", "Keyword", "Registry", "check_keywords", "close_match", "registry"]

#: the kinds of objects a scenario builds, and the subpackage exporting each
KINDS = {"plant": "plants", "controller": "controllers", "solver": "solvers"}


def close_match(name: str, choices: Sequence[str]) -> str:
    """``" (did you mean 'x'?)"`` for the closest of ``choices``, or ``""``.

    Parameters
    ----------
    name : str
        What was given.
    choices : sequence of str
        What is allowed.

    Returns
    -------
    str
    """
    # case slips ("pendulum" for "Pendulum") are the commonest typo: they come first
    lower = {c.lower(): c for c in choices}
    best = [lower[name.lower()]] if name.lower() in lower else \
        difflib.get_close_matches(name, list(choices), n=1, cutoff=0.5)
    return f" (did you mean {best[0]!r}?)" if best else ""


def _tf_plant(num: Sequence[float], den: Sequence[float],
              input_limits: Sequence[float] | None = None) -> Any:
    """A python-control transfer function ``num/den`` as a plant (``lc.as_plant``)."""
    import control as ct

    from ..plants import as_plant

    return as_plant(ct.tf(num, den), input_limits=_limits(input_limits))


def _ss_plant(A: Sequence[Sequence[float]], B: Sequence[Sequence[float]],
              C: Sequence[Sequence[float]], D: Sequence[Sequence[float]] | None = None,
              input_limits: Sequence[float] | None = None) -> Any:
    """A python-control state-space system as a plant (``lc.as_plant``)."""
    import control as ct
    import numpy as np

    from ..plants import as_plant

    Cm = np.atleast_2d(np.asarray(C, dtype=float))
    Bm = np.atleast_2d(np.asarray(B, dtype=float))
    Dm = np.zeros((Cm.shape[0], Bm.shape[1])) if D is None else D
    return as_plant(ct.ss(A, Bm, Cm, Dm), input_limits=_limits(input_limits))


def _tf_controller(num: Sequence[float], den: Sequence[float], negative_slope: float,
                   dt: float | None = None, u_min: float = -math.inf,
                   u_max: float = math.inf) -> Any:
    """A python-control transfer function in the leaky shape (``lc.LeakyLTI``)."""
    import control as ct

    from ..controllers import LeakyLTI

    sys = ct.tf(num, den) if dt is None else ct.tf(num, den, dt)
    return LeakyLTI(sys, negative_slope=negative_slope, u_min=u_min, u_max=u_max)


def _ss_controller(A: Sequence[Sequence[float]], B: Sequence[Sequence[float]],
                   C: Sequence[Sequence[float]], D: Sequence[Sequence[float]],
                   negative_slope: float, dt: float | None = None, u_min: float = -math.inf,
                   u_max: float = math.inf) -> Any:
    """A python-control state-space system in the leaky shape (``lc.LeakyLTI``)."""
    import control as ct

    from ..controllers import LeakyLTI

    sys = ct.ss(A, B, C, D) if dt is None else ct.ss(A, B, C, D, dt)
    return LeakyLTI(sys, negative_slope=negative_slope, u_min=u_min, u_max=u_max)


def _limits(value: Sequence[float] | None) -> tuple[float, float] | None:
    if value is None:
        return None
    if isinstance(value, str) or len(value) != 2:
        raise ValueError(f"input_limits must be [lower, upper], got {value!r}")
    return (float(value[0]), float(value[1]))


_FACTORIES: dict[str, dict[str, Callable[..., Any]]] = {
    "plant": {"tf": _tf_plant, "ss": _ss_plant},
    "controller": {"tf": _tf_controller, "ss": _ss_controller},
    "solver": {},
}


class Keyword:
    """One constructor keyword: its name, whether it is required, and its default.

    Parameters
    ----------
    name : str
    required : bool
    default : object
        ``inspect.Parameter.empty`` when required.
    """

    def __init__(self, name: str, required: bool, default: Any) -> None:
        self.name = name
        self.required = required
        self.default = default

    def __repr__(self) -> str:
        return f"Keyword({self.name!r}, required={self.required})"


class Registry:
    """Name -> class (or factory) for one kind of object (plant, controller or solver).

    Parameters
    ----------
    kind : {"plant", "controller", "solver"}
    """

    def __init__(self, kind: str) -> None:
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {sorted(KINDS)}, got {kind!r}")
        self.kind = kind
        self._names: dict[str, Callable[..., Any]] | None = None

    @property
    def base(self) -> type:
        """The base class every entry derives from (``Plant``, ``Controller``, ``Solver``)."""
        if self.kind == "plant":
            from ..plants import Plant

            return Plant
        if self.kind == "controller":
            from ..controllers import Controller

            return Controller
        from ..solvers.base import Solver

        return Solver

    def names(self) -> dict[str, Callable[..., Any]]:
        """Every name this kind accepts, with its class or factory (built on first use)."""
        if self._names is None:
            mod = importlib.import_module(f"leaky_control.{KINDS[self.kind]}")
            base = self.base
            found: dict[str, Callable[..., Any]] = {}
            for name in getattr(mod, "__all__", ()):
                obj = getattr(mod, name, None)
                if inspect.isclass(obj) and issubclass(obj, base) and obj is not base \
                        and not inspect.isabstract(obj):
                    found[name] = obj
            found.update(_FACTORIES[self.kind])
            self._names = found
        return self._names

    def lookup(self, type_name: str) -> Callable[..., Any]:
        """The class or factory named ``type_name``.

        Parameters
        ----------
        type_name : str
            An exported name (``"Pendulum"``), ``"tf"``/``"ss"`` (plants and controllers), or
            ``"package.module:Class"``.

        Returns
        -------
        callable

        Raises
        ------
        LookupError
            With the names allowed and the closest one, or why the import failed.
        """
        names = self.names()
        if type_name in names:
            return names[type_name]
        if ":" in type_name:
            return self._import(type_name)
        raise LookupError(
            f"unknown {self.kind} type{close_match(type_name, list(names))}; allowed: "
            f"{', '.join(sorted(names))}, or 'package.module:Class' for your own")

    def _import(self, spec: str) -> Callable[..., Any]:
        module_name, _, attr = spec.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise LookupError(f"cannot import module {module_name!r}: {exc}") from None
        obj = module
        for part in attr.split("."):
            if not part or not hasattr(obj, part):
                raise LookupError(f"module {module_name!r} has no attribute {attr!r}")
            obj = getattr(obj, part)
        if not (inspect.isclass(obj) and issubclass(obj, self.base)):
            raise LookupError(f"{spec!r} is not a subclass of leaky_control's "
                              f"{self.base.__name__}")
        return obj


def keywords(factory: Callable[..., Any]) -> dict[str, Keyword] | None:
    """The keywords ``factory`` accepts, or None when it takes ``**kwargs`` (anything).

    Parameters
    ----------
    factory : callable

    Returns
    -------
    dict of str to Keyword, or None
    """
    try:
        sig = inspect.signature(factory)
    except (TypeError, ValueError):
        return None
    out: dict[str, Keyword] = {}
    for p in sig.parameters.values():
        if p.kind is p.VAR_KEYWORD:
            return None
        if p.kind is p.VAR_POSITIONAL or p.name.startswith("_"):
            continue
        out[p.name] = Keyword(p.name, p.default is p.empty, p.default)
    return out


def check_keywords(factory: Callable[..., Any], given: Mapping[str, Any],
                   provided: Sequence[str] = ()) -> list[tuple[str, str]]:
    """Problems with keywords for ``factory``: ``[(keyword, what is wrong), ...]``.

    Unknown keywords (with the closest known one), missing required ones (unless in
    ``provided``: keywords the scenario fills in itself), and values whose TOML type cannot
    be what the default's type is (a string for a number, a number for a flag).

    Parameters
    ----------
    factory : callable
        A class or factory from :class:`Registry`.
    given : mapping
        Keyword -> value from the scenario.
    provided : sequence of str
        Keywords the caller adds.

    Returns
    -------
    list of (str, str)
    """
    known = keywords(factory)
    if known is None:
        return []
    problems = []
    for k, v in given.items():
        if k not in known:
            problems.append((k, f"is not a parameter of {getattr(factory, '__name__', factory)}"
                                f"{close_match(k, list(known))}; allowed: "
                                f"{', '.join(known) or 'none'}"))
            continue
        problem = _type_problem(known[k].default, v)
        if problem:
            problems.append((k, problem))
    for k, kw in known.items():
        if kw.required and k not in given and k not in provided:
            problems.append((k, "is required"))
    return problems


def _type_problem(default: Any, value: Any) -> str:
    """What is wrong with ``value`` for a keyword whose default is ``default`` (or "")."""
    if isinstance(default, bool):
        return "" if isinstance(value, bool) else "must be true or false"
    if isinstance(default, int | float):
        # an integer default with a fractional value is left to the model, which knows
        # whether it means anything (a gear of 2.5 does not)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return "must be a number"
        return ""
    if isinstance(default, str):
        return "" if isinstance(value, str) else "must be a string"
    return ""


_REGISTRIES = {kind: Registry(kind) for kind in KINDS}


def registry(kind: str) -> Registry:
    """The shared :class:`Registry` of ``kind`` (``"plant"``, ``"controller"``, ``"solver"``).

    Parameters
    ----------
    kind : str

    Returns
    -------
    Registry
    """
    if kind not in _REGISTRIES:
        raise ValueError(f"kind must be one of {sorted(KINDS)}, got {kind!r}")
    return _REGISTRIES[kind]
