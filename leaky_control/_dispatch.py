"""How the generic kernels reach a model's numba functions: by the type of its parameter record.

A plant or controller is one class (see :class:`leaky_control.plants.Plant` and
:class:`leaky_control.controllers.Controller`) with a parameter record (a ``typing.NamedTuple``
class) and numba functions taking that record first. Defining the class registers it here.
The solvers call the generic functions below (``plant_dynamics(p, ...)``, ...); numba resolves
each call at compile time from the record's type (``@overload``), so every kernel is compiled
for one (plant, controller, solver) and holds no switch over model codes. An unregistered
record is a typing error that names the record, never a fallthrough.

:func:`model_digest` hashes the sources a model is compiled from; the kernels' cache names carry
it (:mod:`leaky_control.solvers.kernels`), so an edited model never loads a stale kernel.
"""

from __future__ import annotations

import enum
import hashlib
import inspect
import types
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numba.core.errors import TypingError
from numba.extending import overload

if TYPE_CHECKING:
    from ._typing import FloatArray, ModelRecord

__all__ = ["define_model", "feed_computation", "model_digest", "model_of", "register",
           "registered_model"]

#: record class -> model class
_REGISTRY: dict[object, type] = {}


def register(model_cls: type, record_cls: type) -> None:
    """Register ``model_cls`` as the model whose numba functions take ``record_cls`` records.

    Parameters
    ----------
    model_cls : type
        A :class:`~leaky_control.plants.Plant` or
        :class:`~leaky_control.controllers.Controller` subclass.
    record_cls : type
        Its parameter record, a ``typing.NamedTuple`` (or ``collections.namedtuple``) class.
    """
    if not (isinstance(record_cls, type) and issubclass(record_cls, tuple)
            and hasattr(record_cls, "_fields")):
        raise TypeError(f"{model_cls.__qualname__}.Record must be a typing.NamedTuple class, "
                        f"got {record_cls!r}")
    owner = _REGISTRY.get(record_cls)
    if owner is not None and owner is not model_cls and owner.__qualname__ != \
            model_cls.__qualname__:
        raise TypeError(f"record {record_cls.__qualname__} already belongs to "
                        f"{owner.__qualname__}; give {model_cls.__qualname__} a Record of its own")
    _REGISTRY[record_cls] = model_cls


#: the functions a model class compiles into the kernels (plants and controllers)
_MODEL_FUNCTIONS = ("dynamics", "output", "derivative", "sample")


def define_model(cls: type, kind: str, required: str, optional: Sequence[str] = ()) -> None:
    """Compile and register the numba functions a model class defines itself.

    Called by ``__init_subclass__`` of plants and controllers. A class that defines none of
    its kind's functions re-parametrises its base and is left alone; one that defines any
    must define its own ``Record`` and the ``required`` function (the kernels find a model's
    functions by its record: functions without a record of their own would silently run the
    base's). Sets ``cls._nb_<name>`` for every function name (None for an absent optional one).

    Parameters
    ----------
    cls : type
    kind : str
        "plant" or "controller", for the error message.
    required : str
    optional : tuple of str
    """
    from ._jit import model_function

    own = cls.__dict__
    defined = [k for k in (required, *optional) if k in own]
    if not defined:
        return
    if "Record" not in own or required not in own:
        missing = "Record" if "Record" not in own else required
        raise TypeError(
            f"{cls.__qualname__} defines {' and '.join(defined)} but no {missing} of its own; "
            f"a {kind} with numba functions defines its Record and its {required}")
    for name in (required, *optional):
        setattr(cls, f"_nb_{name}", model_function(own[name]) if name in own else None)
    register(cls, own["Record"])


def model_of(record: ModelRecord) -> Any:
    """The model class that owns ``record`` (a ``TypeError`` naming it when none does)."""
    model = _REGISTRY.get(type(record))
    if model is None:
        raise TypeError(
            f"no leaky_control model takes records of type {type(record).__qualname__}; a "
            "model's record() must return the Record (typing.NamedTuple) of a Plant, "
            "Controller or Solver subclass that defines its numba functions")
    return model


def registered_model(record_type: Any) -> Any:
    """The model class behind a numba record type (``TypingError`` when there is none)."""
    cls = getattr(record_type, "instance_class", None)
    model = _REGISTRY.get(cls)
    if model is None:
        raise TypingError(
            f"no leaky_control model takes records of type {record_type}; a model's parameters "
            "must be the Record (typing.NamedTuple) of a Plant or Controller subclass")
    return model


def code_digest(code: types.CodeType, h: hashlib._Hash) -> None:
    """Feed a code object into hash ``h`` by its byte code, names and constants.

    Not ``marshal.dumps``: its output depends on reference counts (it writes back-references
    for objects seen twice), so it differed between processes for the same code.
    """
    h.update(code.co_code)
    h.update(repr((code.co_names, code.co_varnames, code.co_freevars)).encode())
    for c in code.co_consts:
        if hasattr(c, "co_code"):
            code_digest(c, h)
        elif isinstance(c, frozenset):  # its repr's order follows string hashing
            h.update(repr(sorted(map(repr, c))).encode())
        else:
            h.update(repr(c).encode())


#: scalars whose repr is their value, stable across processes
_PLAIN = (type(None), bool, int, float, complex, str, bytes, np.generic)


def feed_computation(value: object, h: hashlib._Hash, seen: set[tuple[int, bool]],
                     compiled: bool) -> None:
    """Feed what ``value`` contributes to a model's computation into ``h``.

    Every function: its name, byte code, constants and names. A function numba compiles (a
    dispatcher's Python function, and what its closure holds) also: its closure values and
    the values of the globals it names (numba freezes global numbers, tuples and arrays into
    the compiled code) and, recursively, the numba functions it calls. Python-side methods
    are fed by code only, since their globals include caches that change while a program runs
    (their source files are hashed whole anyway). Objects without a stable value
    representation are fed by type only (their repr may carry a memory address, which
    differs between processes).
    """
    value = getattr(value, "__func__", value)  # staticmethod, classmethod
    py = getattr(value, "py_func", None)  # a numba dispatcher: what it compiles
    if isinstance(py, types.FunctionType):
        value, compiled = py, True
    if isinstance(value, types.FunctionType):
        h.update(f"fn {value.__module__}.{value.__qualname__}\0".encode())
        key = (id(value), compiled)
        if key in seen:
            return
        seen.add(key)
        code_digest(value.__code__, h)
        if not compiled:
            return
        for cell in value.__closure__ or ():
            try:
                content = cell.cell_contents
            except ValueError:  # an empty cell
                content = None
            feed_computation(content, h, seen, True)
        glb = value.__globals__
        for name in sorted(_names(value.__code__)):
            if name in glb:
                h.update(f"global {name}\0".encode())
                feed_computation(glb[name], h, seen, False)
    elif isinstance(value, _PLAIN):
        h.update(repr(value).encode())
    elif isinstance(value, np.ndarray):
        h.update(repr((value.dtype.str, value.shape)).encode())
        if value.dtype != object:
            h.update(np.ascontiguousarray(value).data)
    elif isinstance(value, tuple | frozenset):  # what numba freezes; lists are not frozen
        items = sorted(value, key=repr) if isinstance(value, frozenset) else value
        h.update(f"{type(value).__name__}({len(items)})\0".encode())
        for item in items:
            feed_computation(item, h, seen, compiled)
    elif isinstance(value, types.ModuleType):
        h.update(f"module {value.__name__}\0".encode())
    elif isinstance(value, type):
        h.update(f"type {value.__module__}.{value.__qualname__}\0".encode())
    elif isinstance(value, enum.Enum):
        h.update(f"enum {type(value).__qualname__}.{value.name}\0".encode())
    else:
        h.update(f"object {type(value).__module__}.{type(value).__qualname__}\0".encode())


def _names(code: types.CodeType) -> set[str]:
    """Global names a code object and the code objects nested in it use."""
    out = set(code.co_names)
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            out |= _names(c)
    return out


def model_digest(model_cls: type) -> str:
    """SHA-256 over what ``model_cls`` computes with, up to the library's classes.

    The file that defines each class in the model's hierarchy is hashed whole (a model's helper
    functions live beside it), and each class's own numba functions are walked by
    :func:`feed_computation`: byte code, closure values, the global values numba freezes into
    the compiled code and the numba functions they call. So a model made by a factory (an
    ``@rhs`` function closing over a gain) gets a digest of its own, and a kernel cached for one
    gain is never loaded for another.
    """
    cached = model_cls.__dict__.get("_digest_cache")
    if cached is not None:
        return cached
    h = hashlib.sha256()
    files: set[str] = set()
    seen: set[tuple[int, bool]] = set()
    for klass in model_cls.__mro__:
        if klass is object or klass.__module__ == "builtins":
            continue
        try:
            path = inspect.getsourcefile(klass)
        except TypeError:
            path = None
        if path and path not in files:  # LeakyPI and LeakyPID share a file
            try:
                with open(path, "rb") as fh:
                    h.update(fh.read())
                files.add(path)
            except OSError:
                pass
        for name in _MODEL_FUNCTIONS:
            if name in vars(klass):
                h.update(f"{klass.__qualname__}.{name}\0".encode())
                feed_computation(vars(klass)[name], h, seen, True)
    digest = h.hexdigest()
    type.__setattr__(model_cls, "_digest_cache", digest)
    return digest


def _fn(record_type: Any, name: str) -> Any:
    return getattr(registered_model(record_type), name)


# The generic calls. Inside numba code each is replaced by the model's own function for the
# record's type (LLVM then inlines it into the solver loop); their Python bodies do the same
# lookup at run time, which is what runs under NUMBA_DISABLE_JIT=1 (for debugging).


def _owner(record: ModelRecord) -> Any:
    return model_of(record)

def plant_dynamics(p: ModelRecord, t: float, x: FloatArray, u: FloatArray, d: FloatArray,
                   dx: FloatArray) -> None:
    """Write the plant's state derivative into ``dx[:n]``."""
    _owner(p)._nb_dynamics(p, t, x, u, d, dx)


def plant_output(p: ModelRecord, t: float, x: FloatArray, d: FloatArray,
                 y: FloatArray) -> None:
    """Write the plant's measured output into ``y``."""
    fn = _owner(p)._nb_output
    if fn is None:
        y[:] = x[:y.size]
    else:
        fn(p, t, x, d, y)


def ctrl_output(c: ModelRecord, t: float, X: FloatArray, n: int, y: FloatArray,
                r: FloatArray, uraw: FloatArray, u: FloatArray) -> None:
    """Write the controller's raw and saturated commands."""
    _owner(c)._nb_output(c, t, X, n, y, r, uraw, u)


def ctrl_derivative(c: ModelRecord, t: float, X: FloatArray, n: int, y: FloatArray,
                    r: FloatArray, uraw: FloatArray, u: FloatArray, dX: FloatArray) -> None:
    """Write the controller states' derivatives into ``dX[n:]``."""
    fn = _owner(c)._nb_derivative
    if fn is not None:
        fn(c, t, X, n, y, r, uraw, u, dX)


def ctrl_sample(c: ModelRecord, t: float, X: FloatArray, n: int, y: FloatArray,
                r: FloatArray, uraw: FloatArray, u: FloatArray) -> None:
    """One sample of a sampled controller."""
    model = _owner(c)
    (model._nb_sample or model._nb_output)(c, t, X, n, y, r, uraw, u)


# numba's @overload requires a typing function's signature, annotations included, to
# equal its implementation's (an unannotated lambda), so these stay unannotated
@overload(plant_dynamics, jit_options={"_nrt": False})
def _plant_dynamics(p, t, x, u, d, dx):  # type: ignore[no-untyped-def]
    fn = _fn(p, "_nb_dynamics")
    return lambda p, t, x, u, d, dx: fn(p, t, x, u, d, dx)


@overload(plant_output, jit_options={"_nrt": False})
def _plant_output(p, t, x, d, y):  # type: ignore[no-untyped-def]
    fn = _fn(p, "_nb_output")
    if fn is None:  # the output is the full state
        def full_state(p, t, x, d, y):  # type: ignore[no-untyped-def]
            for i in range(y.size):
                y[i] = x[i]
        return full_state
    return lambda p, t, x, d, y: fn(p, t, x, d, y)


@overload(ctrl_output, jit_options={"_nrt": False})
def _ctrl_output(c, t, X, n, y, r, uraw, u):  # type: ignore[no-untyped-def]
    fn = _fn(c, "_nb_output")
    return lambda c, t, X, n, y, r, uraw, u: fn(c, t, X, n, y, r, uraw, u)


@overload(ctrl_derivative, jit_options={"_nrt": False})
def _ctrl_derivative(c, t, X, n, y, r, uraw, u, dX):  # type: ignore[no-untyped-def]
    fn = _fn(c, "_nb_derivative")
    if fn is None:  # a static controller
        return lambda c, t, X, n, y, r, uraw, u, dX: None
    return lambda c, t, X, n, y, r, uraw, u, dX: fn(c, t, X, n, y, r, uraw, u, dX)


@overload(ctrl_sample, jit_options={"_nrt": False})
def _ctrl_sample(c, t, X, n, y, r, uraw, u):  # type: ignore[no-untyped-def]
    fn = _fn(c, "_nb_sample")
    if fn is None:  # nothing but the law itself happens at a sample
        out = _fn(c, "_nb_output")
        return lambda c, t, X, n, y, r, uraw, u: out(c, t, X, n, y, r, uraw, u)
    return lambda c, t, X, n, y, r, uraw, u: fn(c, t, X, n, y, r, uraw, u)


