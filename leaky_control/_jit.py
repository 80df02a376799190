"""How the library compiles numba functions: models' functions (shared by plants and
controllers) and disk-cached functions whose cache survives damaged files and read-only
folders (:func:`cached_njit`, :func:`enable_disk_cache`)."""

from __future__ import annotations

import functools
import glob
import hashlib
import io
import os
import pickle
import stat
import tempfile
import threading
import types
import warnings
from collections.abc import Callable, Hashable
from typing import Any

__all__ = ["KernelCacheWarning", "cached_njit", "enable_disk_cache", "fallback_cache_dir",
           "model_function", "python_function"]


def model_function(fn: Callable[..., Any]) -> Any:
    """A model's function, compiled lazily without reference counting.

    Parameters
    ----------
    fn : callable or numba dispatcher
        ``@numba.njit`` function or the plain Python function (its ``py_func`` is used, so
        the user's own jit options do not matter).

    Returns
    -------
    numba dispatcher
        Compiled on first use inside a kernel (``_nrt=False``: a model function writes into
        the arrays it is given and allocates nothing; with numba's runtime on, every array
        argument cost an atomic reference-count update per call, which dominated the step
        time of the first kernels).
    """
    from numba import njit

    py = python_function(fn)
    if isinstance(py, staticmethod):
        py = py.__func__
    if not callable(py):
        raise TypeError(f"a model function must be a function, got {fn!r}")
    return njit(_nrt=False)(py)


def python_function(fn: Any) -> Any:
    """The plain Python function behind a numba dispatcher (``fn`` itself when it is one
    already, as every ``njit`` function is under ``NUMBA_DISABLE_JIT=1``)."""
    return getattr(fn, "py_func", fn)


# --------------------------------------------------------------------------------------------
# Disk cache that survives damaged files and unwritable folders
# --------------------------------------------------------------------------------------------

#: every cache file written through :func:`enable_disk_cache` starts with this tag and the
#: SHA-256 of the rest: numba's own files carry no checksum, and a flipped byte in a data
#: file's machine code loaded "fine" and then crashed the process (segmentation fault) or
#: ran altered code; a checksum is the only check that runs before anything is executed
_MAGIC = b"LCNBC\x00\x01\x00"
_HEADER = len(_MAGIC) + 32

_WARNED: set[Hashable] = set()
_WARN_LOCK = threading.Lock()


class KernelCacheWarning(RuntimeWarning):
    """A problem with numba's disk cache that the library worked around.

    Raised as a warning (never an error) when a cache file was damaged and its kernel was
    recompiled, when the kernels are cached in a temporary folder because the usual places
    are read-only, or when they cannot be cached at all. Results are unaffected; only compile
    time is.
    """


class _DamagedCacheFile(Exception):
    """A cache file that cannot be what :func:`enable_disk_cache` wrote (internal)."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


def _warn(message: str) -> None:
    """Warn at the first frame outside numba, this package and the import machinery (the
    user's call): a location inside numba's dispatcher would tell the user nothing."""
    import sys

    numba_file = sys.modules["numba"].__file__
    assert numba_file is not None  # numba is a regular package, never a namespace one
    inside = (os.path.dirname(os.path.abspath(__file__)) + os.sep,
              os.path.dirname(os.path.abspath(numba_file)) + os.sep)
    level = 2  # stacklevel 2 is the frame calling _warn
    frame: types.FrameType | None = sys._getframe(1)
    while frame is not None:
        name = frame.f_code.co_filename
        if not ("importlib" in name and "_bootstrap" in name):  # warnings skips these uncounted
            if not (os.path.abspath(name).startswith(inside) or "importlib" in name):
                break
            level += 1
        frame = frame.f_back
    warnings.warn(message, KernelCacheWarning, stacklevel=level)


def _warn_once(key: Hashable, message: str) -> None:
    # once per process and kind: a fallback applies to every kernel of the process, and one
    # line saying so is enough (the damaged-file warning names its file and is not deduplicated)
    with _WARN_LOCK:
        if key in _WARNED:
            return
        _WARNED.add(key)
    _warn(message)


def _seal(body: bytes) -> bytes:
    return _MAGIC + hashlib.sha256(body).digest() + body


def _unseal(blob: bytes, path: str) -> bytes:
    if len(blob) < _HEADER or blob[:len(_MAGIC)] != _MAGIC:
        raise _DamagedCacheFile(path, "not a leaky_control cache file (truncated or overwritten)")
    body = blob[_HEADER:]
    if hashlib.sha256(body).digest() != blob[len(_MAGIC):_HEADER]:
        raise _DamagedCacheFile(path, "checksum mismatch (truncated or altered)")
    return body


def _numba_index(blob: bytes) -> bool:
    """Whether ``blob`` starts like an index numba wrote itself (a pickled version string).

    Only the first object is unpickled, as numba itself does with every index it finds."""
    if not blob.startswith(b"\x80"):
        return False
    try:
        return isinstance(pickle.load(io.BytesIO(blob)), str)
    except Exception:
        return False


def fallback_cache_dir() -> str:
    """The per-user folder kernels are cached in when numba finds no writable place.

    Returns
    -------
    str
        ``<tempdir>/leaky_control-numba-cache-<uid>`` (``<user name>`` where there are no
        user ids). Not created here.
    """
    if hasattr(os, "getuid"):
        who = str(os.getuid())
    else:  # Windows: the temp folder is per user already
        import getpass

        try:
            who = getpass.getuser()
        except Exception:  # no user name in the environment: still one folder per process tree
            who = "user"
    return os.path.join(tempfile.gettempdir(), f"leaky_control-numba-cache-{who}")


def _private_fallback_root() -> str:
    """Create (or check) :func:`fallback_cache_dir` as a folder only this user can write.

    Cache files are pickles that load machine code: in a shared temp folder, a folder someone
    else made or can write to could hand this process their code, so such a folder is refused
    (``OSError``) rather than used.
    """
    root = fallback_cache_dir()
    os.makedirs(root, mode=0o700, exist_ok=True)
    st = os.lstat(root)
    if not stat.S_ISDIR(st.st_mode):
        raise OSError(f"{root} is not a folder")
    if hasattr(os, "getuid") and (st.st_uid != os.getuid() or st.st_mode & 0o022):
        raise OSError(f"{root} belongs to another user or is writable by others")
    return root


@functools.lru_cache(maxsize=None)
def _cache_classes() -> tuple[type[Any], type[Any]] | None:
    """numba cache classes with checksummed files and a temp-folder fallback.

    Built on first use (importing this module must not import numba). Returns ``None`` when
    this numba lacks the internals they extend; callers then use numba's own cache.
    """
    try:
        from numba.core import caching
        from numba.core.serialize import dumps
    except ImportError:
        return None
    if not all(hasattr(caching, name) for name in (
            "_CacheLocator", "_SourceFileBackedLocatorMixin", "CompileResultCacheImpl",
            "IndexDataCacheFile", "FunctionCache")):
        return None

    class TempDirLocator(caching._SourceFileBackedLocatorMixin, caching._CacheLocator):
        """Last resort after numba's locators: :func:`fallback_cache_dir`, per source folder."""

        def __init__(self, py_func: Callable[..., Any], py_file: str) -> None:
            self._py_file = py_file
            self._lineno = py_func.__code__.co_firstlineno
            self._cache_path = os.path.join(fallback_cache_dir(),
                                            self.get_suitable_cache_subpath(py_file))

        def get_cache_path(self) -> str:
            return self._cache_path

        def ensure_cache_path(self) -> None:
            _private_fallback_root()  # OSError (so: not this locator) unless private
            super().ensure_cache_path()

    class Impl(caching.CompileResultCacheImpl):
        # numba's locators first (NUMBA_CACHE_DIR, __pycache__, the user cache), so nothing
        # moves while they work; NUMBA_CACHE_LOCATOR_CLASSES, when set, still replaces them
        _locator_classes = [*caching.CompileResultCacheImpl._locator_classes, TempDirLocator]

    class CheckedFile(caching.IndexDataCacheFile):
        """numba's index and data files, each sealed with a checksum (see ``_MAGIC``)."""

        #: the data file being loaded, to name it if rebuilding fails
        last_data_path: str | None = None

        def _load_index(self) -> dict[Any, Any]:
            try:
                with open(self._index_path, "rb") as f:
                    blob = f.read()
            except FileNotFoundError:
                return {}
            if not blob.startswith(_MAGIC) and _numba_index(blob):
                # numba's own format (the function was cached with plain cache=True before):
                # stale rather than damaged, so no warning; the next save overwrites it
                return {}
            body = io.BytesIO(_unseal(blob, self._index_path))
            try:
                version = pickle.load(body)
                if version != self._version:
                    return {}  # another numba wrote it: stale, overwritten on save
                stamp, overloads = pickle.loads(body.read())
            except Exception as exc:
                raise _DamagedCacheFile(self._index_path,
                                        f"{type(exc).__name__}: {exc}") from exc
            return overloads if stamp == self._source_stamp else {}

        def _save_index(self, overloads: dict[Any, Any]) -> None:
            body = pickle.dumps(self._version, protocol=-1) + \
                dumps((self._source_stamp, overloads))
            with self._open_for_write(self._index_path) as f:
                f.write(_seal(body))

        def _load_data(self, name: str) -> Any:
            path = self._data_path(name)
            with open(path, "rb") as f:  # OSError: numba treats a missing file as a miss
                blob = f.read()
            self.last_data_path = path
            body = _unseal(blob, path)
            try:
                return pickle.loads(body)
            except Exception as exc:
                raise _DamagedCacheFile(path, f"{type(exc).__name__}: {exc}") from exc

        def _save_data(self, name: str, data: Any) -> None:
            with self._open_for_write(self._data_path(name)) as f:
                f.write(_seal(dumps(data)))

        def discard(self) -> list[str]:
            """Delete the index and every data file of this function; the paths deleted."""
            pattern = os.path.join(glob.escape(self._cache_path),
                                   glob.escape(self._index_name[:-len(".nbi")]) + ".*.nbc")
            gone = []
            for path in [self._index_path, *glob.glob(pattern)]:
                try:
                    os.remove(path)
                    gone.append(path)
                except FileNotFoundError:
                    pass
                except OSError:
                    pass  # read-only: the next save overwrites it in place, or fails and warns
            return gone

    class CheckedCache(caching.FunctionCache):
        """numba's function cache, reading sealed files and recovering from damaged ones."""

        _impl_class = Impl
        _cache_file: CheckedFile  # set in __init__, replacing numba's unchecked file

        def __init__(self, py_func: Callable[..., Any]) -> None:
            super().__init__(py_func)
            self._cache_file = CheckedFile(self._cache_path, self._impl.filename_base,
                                           self._cache_file._source_stamp)

        def load_overload(self, sig: Any, target_context: Any) -> Any:
            # only on a dispatcher's first call per signature, never on the hot path
            target_context.refresh()
            self._cache_file.last_data_path = None
            try:
                with self._guard_against_spurious_io_errors():
                    return self._load_overload(sig, target_context)
            except Exception as exc:
                # a cache is an optimisation: whatever failed (a damaged file, an object file
                # LLVM rejects), compiling afresh gives the right kernel
                if isinstance(exc, _DamagedCacheFile):
                    where, why = exc.path, exc.reason
                else:
                    where = self._cache_file.last_data_path or self._cache_file._index_path
                    why = f"{type(exc).__name__}: {exc}"
                self._cache_file.discard()
                _warn(f"leaky_control: the numba cache file {where} is damaged or unreadable "
                      f"({why}); deleted the cache files of {self._py_func.__qualname__}, "
                      f"which is recompiled and cached anew (the next process loads it)")
                return None

        def save_overload(self, sig: Any, data: Any) -> None:
            try:
                with self._guard_against_spurious_io_errors():
                    try:
                        self._save_overload(sig, data)
                    except _DamagedCacheFile:
                        # the index went bad after this process loaded it (another process)
                        self._cache_file.discard()
                        self._save_overload(sig, data)
            except OSError as exc:
                # a full disk or a folder made read-only meanwhile: the compiled kernel is
                # fine, it only cannot be kept for the next process
                _warn_once(("save", self._cache_path),
                           f"leaky_control: could not write numba cache files in "
                           f"{self._cache_path} ({exc}); kernels compiled in this process are "
                           f"not cached. Set NUMBA_CACHE_DIR to a writable folder.")

    return CheckedCache, TempDirLocator


def enable_disk_cache(dispatcher: Any) -> Any:
    """Cache ``dispatcher``'s compilations on disk, robustly (``njit(cache=True)``'s job).

    Parameters
    ----------
    dispatcher : numba dispatcher or function
        Made without ``cache=True``. Returned unchanged when it is a plain function
        (``NUMBA_DISABLE_JIT=1``).

    Returns
    -------
    The same object.

    Notes
    -----
    Differences from numba's own cache, all on the load/compile path (a call of an already
    compiled dispatcher never touches the cache):

    - Every file is sealed with a SHA-256 checksum. A damaged file (garbage, truncated, a
      flipped byte) is detected before it is unpickled or its machine code loaded; it and its
      function's other cache files are deleted, the function is recompiled and cached anew,
      and a :class:`KernelCacheWarning` names the file. Any other failure to load an entry is
      treated the same way.
    - When no numba locator has a writable folder (``NUMBA_CACHE_DIR`` unset, the package's
      ``__pycache__`` and the user cache folder read-only), files go to
      :func:`fallback_cache_dir` (created private to the user; refused if it is not) with one
      warning per process. If that fails too, the function compiles uncached, with one warning.
    - A failed write (disk full) warns and keeps the compiled function.
    """
    if not hasattr(dispatcher, "enable_caching"):
        return dispatcher  # NUMBA_DISABLE_JIT=1: a Python function
    classes = _cache_classes()
    if classes is None:  # a numba without the internals extended here: its own cache
        try:
            dispatcher.enable_caching()
        except RuntimeError as exc:
            _warn_uncached(exc)
        return dispatcher
    cache_class, temp_locator = classes
    try:
        cache = cache_class(dispatcher.py_func)
    except RuntimeError as exc:  # "cannot cache function ...: no locator available"
        _warn_uncached(exc)
        return dispatcher
    dispatcher._cache = cache  # what Dispatcher.enable_caching does with numba's class
    if isinstance(cache._impl.locator, temp_locator):
        _warn_once("fallback",
                   f"leaky_control: numba cannot write its cache next to the package or in "
                   f"the user cache folder; caching compiled kernels in {fallback_cache_dir()} "
                   f"instead. Set NUMBA_CACHE_DIR to a writable folder to choose where.")
    return dispatcher


def _warn_uncached(exc: BaseException) -> None:
    _warn_once("uncached",
               f"leaky_control: no writable folder for numba's cache ({exc}; "
               f"{fallback_cache_dir()} unusable too); kernels are compiled in every process. "
               f"Set NUMBA_CACHE_DIR to a writable folder to cache them.")


def cached_njit(fn: Callable[..., Any] | None = None, **options: Any) -> Any:
    """``numba.njit(cache=True, **options)`` with the robust cache of :func:`enable_disk_cache`.

    Use it for every module-level ``cache=True`` function: with numba's own ``cache=True``,
    decorating raises ``RuntimeError`` (at import) when no cache folder is writable, and a
    damaged cache file breaks every later process.

    Parameters
    ----------
    fn : function, optional
        Decorated directly (``@cached_njit``) or, when omitted, by the returned decorator
        (``@cached_njit(inline="always")``).
    **options
        Further ``numba.njit`` options except ``cache``.

    Returns
    -------
    numba dispatcher, or a decorator making one
    """
    options.pop("cache", None)  # numba's own cache=True is what this replaces

    def wrap(f: Callable[..., Any]) -> Any:
        from numba import njit

        return enable_disk_cache(njit(**options)(f))

    return wrap if fn is None else wrap(fn)
