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

import hashlib
import inspect

from numba.core.errors import TypingError
from numba.extending import overload

__all__ = ["define_model", "model_digest", "model_of", "register", "registered_model"]

#: record class -> model class
_REGISTRY = {}


def register(model_cls, record_cls):
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


def define_model(cls, kind, required, optional=()):
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


def model_of(record):
    """The model class that owns ``record`` (a ``TypeError`` naming it when none does)."""
    model = _REGISTRY.get(type(record))
    if model is None:
        raise TypeError(
            f"no leaky_control model takes records of type {type(record).__qualname__}; a "
            "model's record() must return the Record (typing.NamedTuple) of a Plant, "
            "Controller or Solver subclass that defines its numba functions")
    return model


def registered_model(record_type):
    """The model class behind a numba record type (``TypingError`` when there is none)."""
    cls = getattr(record_type, "instance_class", None)
    model = _REGISTRY.get(cls)
    if model is None:
        raise TypingError(
            f"no leaky_control model takes records of type {record_type}; a model's parameters "
            "must be the Record (typing.NamedTuple) of a Plant or Controller subclass")
    return model


def code_digest(code, h):
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


def model_digest(model_cls):
    """SHA-256 over the sources of ``model_cls`` and its bases up to the library's.

    The file that defines each class in the model's hierarchy is hashed whole (a model's helper
    functions live beside it); a class without a source file (defined interactively) is hashed
    by the byte code of its numba functions instead.
    """
    cached = model_cls.__dict__.get("_digest_cache")
    if cached is not None:
        return cached
    h = hashlib.sha256()
    seen = set()
    for klass in model_cls.__mro__:
        if klass is object or klass.__module__ == "builtins":
            continue
        try:
            path = inspect.getsourcefile(klass)
        except TypeError:
            path = None
        if path:
            if path in seen:
                continue  # a subclass in the same file as its base (LeakyPI and LeakyPID)
            try:
                with open(path, "rb") as fh:
                    h.update(fh.read())
                seen.add(path)
                continue
            except OSError:
                pass
        for name in sorted(vars(klass)):
            value = vars(klass)[name]
            value = getattr(value, "__func__", value)
            code = getattr(getattr(value, "py_func", value), "__code__", None)
            if code is not None:
                h.update(name.encode())
                code_digest(code, h)
    digest = h.hexdigest()
    type.__setattr__(model_cls, "_digest_cache", digest)
    return digest


def _fn(record_type, name):
    return getattr(registered_model(record_type), name)


# The generic calls. Inside numba code each is replaced by the model's own function for the
# record's type (LLVM then inlines it into the solver loop); their Python bodies do the same
# lookup at run time, which is what runs under NUMBA_DISABLE_JIT=1 (for debugging).


def _owner(record):
    return model_of(record)

def plant_dynamics(p, t, x, u, d, dx):
    """Write the plant's state derivative into ``dx[:n]``."""
    _owner(p)._nb_dynamics(p, t, x, u, d, dx)


def plant_output(p, t, x, d, y):
    """Write the plant's measured output into ``y``."""
    fn = _owner(p)._nb_output
    if fn is None:
        y[:] = x[:y.size]
    else:
        fn(p, t, x, d, y)


def ctrl_output(c, t, X, n, y, r, uraw, u):
    """Write the controller's raw and saturated commands."""
    _owner(c)._nb_output(c, t, X, n, y, r, uraw, u)


def ctrl_derivative(c, t, X, n, y, r, uraw, u, dX):
    """Write the controller states' derivatives into ``dX[n:]``."""
    fn = _owner(c)._nb_derivative
    if fn is not None:
        fn(c, t, X, n, y, r, uraw, u, dX)


def ctrl_sample(c, t, X, n, y, r, uraw, u):
    """One sample of a sampled controller."""
    model = _owner(c)
    (model._nb_sample or model._nb_output)(c, t, X, n, y, r, uraw, u)


@overload(plant_dynamics, jit_options={"_nrt": False})
def _plant_dynamics(p, t, x, u, d, dx):
    fn = _fn(p, "_nb_dynamics")
    return lambda p, t, x, u, d, dx: fn(p, t, x, u, d, dx)


@overload(plant_output, jit_options={"_nrt": False})
def _plant_output(p, t, x, d, y):
    fn = _fn(p, "_nb_output")
    if fn is None:  # the output is the full state
        def full_state(p, t, x, d, y):
            for i in range(y.size):
                y[i] = x[i]
        return full_state
    return lambda p, t, x, d, y: fn(p, t, x, d, y)


@overload(ctrl_output, jit_options={"_nrt": False})
def _ctrl_output(c, t, X, n, y, r, uraw, u):
    fn = _fn(c, "_nb_output")
    return lambda c, t, X, n, y, r, uraw, u: fn(c, t, X, n, y, r, uraw, u)


@overload(ctrl_derivative, jit_options={"_nrt": False})
def _ctrl_derivative(c, t, X, n, y, r, uraw, u, dX):
    fn = _fn(c, "_nb_derivative")
    if fn is None:  # a static controller
        return lambda c, t, X, n, y, r, uraw, u, dX: None
    return lambda c, t, X, n, y, r, uraw, u, dX: fn(c, t, X, n, y, r, uraw, u, dX)


@overload(ctrl_sample, jit_options={"_nrt": False})
def _ctrl_sample(c, t, X, n, y, r, uraw, u):
    fn = _fn(c, "_nb_sample")
    if fn is None:  # nothing but the law itself happens at a sample
        out = _fn(c, "_nb_output")
        return lambda c, t, X, n, y, r, uraw, u: out(c, t, X, n, y, r, uraw, u)
    return lambda c, t, X, n, y, r, uraw, u: fn(c, t, X, n, y, r, uraw, u)


