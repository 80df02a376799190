"""Kernels specialised per (solver, plant, controller), cached on disk under digest names.

numba compiles a generic solver body once per argument *type*; the model calls inside resolve
by the records' types (:mod:`leaky_control._dispatch`). Each specialisation gets a dispatcher of
its own, made from the entry function under a new name

    ``<entry>__<Solver>__<Plant>__<Controller>_<identity>__<digest>``

where the digest covers every source the kernel is compiled from: the solver package, the
dispatch layer, the activations, and the plant's and the controller's source files. numba
names cache files after the function and checks only the entry's own file; with the digest in
the name an edited model, an edited solver, or two scripts that both define a ``Quadrotor``
can never load each other's kernel, and a cache file holds one model pair only (so loading its
index never needs a class that the running program lacks). Files of older digests for the same
name are removed when a new one is made.

A model defined inside a function (``<locals>`` in its qualified name) cannot be named by
pickle, which numba's cache index needs: its kernels are compiled per process, uncached.

The cache is numba's with the library's safeguards
(:func:`leaky_control._jit.enable_disk_cache`): every file carries a checksum, and a damaged
one is deleted and its kernel recompiled with a :class:`KernelCacheWarning` instead of
failing every later process; when no numba cache folder is writable, kernels are cached in a
private per-user temp folder, or else compiled per process, with one warning saying so.
"""

from __future__ import annotations

import glob
import hashlib
import os
import threading
import types as pytypes
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from .._dispatch import model_digest
from .._jit import KernelCacheWarning, enable_disk_cache

__all__ = ["KernelCacheWarning", "kernel", "package_digest"]

_PKG = Path(__file__).resolve().parent.parent
#: sources every kernel is compiled from, besides the models' own files
_SOURCES = (sorted((_PKG / "solvers").glob("*.py"))
            + [_PKG / "_dispatch.py", _PKG / "_jit.py", _PKG / "activations.py",
               _PKG / "status.py", _PKG / "step_metrics.py"])

_DIGEST: str | None = None
_KERNELS: dict[tuple[Any, ...], Any] = {}
_LOCK = threading.Lock()


def package_digest() -> str:
    """SHA-256 over the library sources every kernel is compiled from."""
    global _DIGEST
    if _DIGEST is None:
        h = hashlib.sha256()
        for p in _SOURCES:
            h.update(p.name.encode())
            h.update(p.read_bytes())
        _DIGEST = h.hexdigest()
    return _DIGEST


def _cacheable(model: Any) -> bool:
    return "<locals>" not in model.__qualname__ and "<locals>" not in \
        model.Record.__qualname__


def _renamed(func: Any, name: str,
             bind: Mapping[str, Any] | None = None) -> pytypes.FunctionType:
    """The same code as a function of another name (numba names cache files after it),
    with the global names in ``bind`` bound to other objects."""
    glb = func.__globals__ if not bind else {**func.__globals__, **bind}
    f = pytypes.FunctionType(func.__code__, glb, name, func.__defaults__, func.__closure__)
    f.__qualname__ = name
    f.__module__ = func.__module__
    f.__doc__ = func.__doc__
    f.__annotations__ = dict(func.__annotations__)  # FunctionType() leaves them out
    return f


def _drop_older(dispatcher: Any, stem: str, digest: str) -> None:
    """Remove cache files of ``stem`` whose digest is not ``digest`` (stale by construction)."""
    try:
        impl = dispatcher._cache._impl
        path = impl.locator.get_cache_path()
        modname = impl.filename_base.split(".")[0]
    except AttributeError:
        return
    pattern = os.path.join(glob.escape(path), glob.escape(f"{modname}.{stem}__") + "*.nb[ic]")
    for f in glob.glob(pattern):
        if digest not in os.path.basename(f):
            try:
                os.remove(f)
            except OSError:
                pass  # another process removed it, or the folder is read-only


def kernel(entry: Callable[..., Any], *models: type, bind: Mapping[str, Any] | None = None,
           **jit_options: Any) -> Any:
    """The dispatcher of ``entry`` specialised to some models (solver, plant, controller).

    Parameters
    ----------
    entry : function
        A module-level Python function (the kernel entry of ``simulate`` or of the sweeps).
    *models : type
        The registered model classes (the owners of the records passed in).
    bind : dict, optional
        Global names of ``entry`` to bind to other objects in this specialisation (the sweep
        kernel's ``solve`` to the solver's body); a numba function bound this way is called
        directly, one compilation layer less than a call through an ``@overload``.
    **jit_options
        Further ``numba.njit`` options (``parallel``, ``nogil``).

    Returns
    -------
    numba dispatcher
        Made once per process and key; compiled (or loaded from the disk cache) on first call.
    """
    key = (entry, models, tuple(sorted(jit_options.items())))  # bind follows from the models
    d = _KERNELS.get(key)
    if d is not None:
        return d
    with _LOCK:
        d = _KERNELS.get(key)
        if d is None:
            from numba import njit

            h = hashlib.sha256(package_digest().encode())
            for m in models:
                h.update(model_digest(m).encode())
            digest = h.hexdigest()[:20]
            # two models of the same name in different modules keep separate files
            ident = hashlib.sha256("|".join(f"{m.__module__}.{m.__qualname__}"
                                            for m in models).encode()).hexdigest()[:6]
            stem = "__".join([entry.__name__] + [m.__name__ for m in models]) + f"_{ident}"
            d = njit(**jit_options)(_renamed(entry, f"{stem}__{digest}", bind))
            if all(_cacheable(m) for m in models):
                # numba's cache=True, but damaged files are recompiled rather than fatal and a
                # read-only install falls back to a temp folder (see _jit.enable_disk_cache);
                # it acts when the dispatcher compiles, so calls of a ready kernel pay nothing
                enable_disk_cache(d)
                _drop_older(d, stem, digest)
            _KERNELS[key] = d
    return d


def kernel_source(dispatcher: Any) -> str:
    """``"cache"`` when every compilation of ``dispatcher`` came from the disk cache, else
    ``"compiled"``."""
    stats = dispatcher.stats
    return "compiled" if sum(stats.cache_misses.values()) else "cache"
