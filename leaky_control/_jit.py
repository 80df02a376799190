"""How the library compiles a model's numba functions (shared by plants and controllers)."""

from __future__ import annotations

__all__ = ["model_function", "python_function"]


def model_function(fn):
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


def python_function(fn):
    """The plain Python function behind a numba dispatcher (``fn`` itself when it is one
    already, as every ``njit`` function is under ``NUMBA_DISABLE_JIT=1``)."""
    return getattr(fn, "py_func", fn)
