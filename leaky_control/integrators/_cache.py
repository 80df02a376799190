"""Keep numba's disk cache honest about the kernels' callees.

numba invalidates a cached function only when its *own* source file changes. The kernels
compile the model functions of ``models.py``, ``loop.py`` and ``mlp_model.py`` (and the
activations) into themselves, so an edit there, or an upgrade that changes only those files,
would leave a stale kernel in the cache that silently runs the old models (seen: a new
controller code fell through to another controller's branch). Every kernel therefore checks a
digest of all the sources it is compiled from and drops its cache files when it changed.
"""

from __future__ import annotations

import glob
import hashlib
import os
from pathlib import Path

_HERE = Path(__file__).resolve().parent
SOURCES = sorted(_HERE.glob("*.py")) + [_HERE.parent / "activations.py"]


def sources_digest():
    """SHA-256 over every source a kernel is compiled from."""
    h = hashlib.sha256()
    for p in SOURCES:
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def cached_kernel(dispatcher):
    """Return ``dispatcher`` after removing its disk cache if the kernel sources changed.

    Parameters
    ----------
    dispatcher : numba.core.registry.CPUDispatcher
        A ``cache=True`` kernel, not yet compiled in this process.

    Returns
    -------
    numba.core.registry.CPUDispatcher
    """
    impl = dispatcher._cache._impl
    path = impl.locator.get_cache_path()
    prefix = impl.filename_base.split("-")[0]  # "<module>.<qualname>" without the line number
    stamp = os.path.join(path, prefix + ".sources")
    digest = sources_digest()
    try:
        with open(stamp) as fh:
            current = fh.read().strip() == digest
    except OSError:
        current = False
    if not current:
        for f in glob.glob(os.path.join(glob.escape(path), glob.escape(prefix) + "-*.nb[ic]")):
            try:
                os.remove(f)
            except OSError:
                pass  # another process removed it, or the folder is read-only: numba recompiles
        try:
            os.makedirs(path, exist_ok=True)
            tmp = f"{stamp}.{os.getpid()}"
            with open(tmp, "w") as fh:
                fh.write(digest)
            os.replace(tmp, stamp)
        except OSError:
            pass
    return dispatcher


class KernelPair:
    """The two dispatchers of one kernel body, built and cache-checked on first use.

    ``kernel(False)`` is compiled lazily for built-in models, which pass the integer 0 in the
    user-dynamics slot; ``kernel(True)`` is compiled on creation for ``user_signature``, whose typed
    function slot keeps the disk cache valid across processes for :func:`leaky_control.rhs`
    dynamics. Both come from the same Python function, so they integrate the same equations.

    Parameters
    ----------
    pyfunc : callable
        The kernel body (a module-level Python function).
    user_signature : numba signature
        The signature with the ``FunctionType`` slot.
    **jit_options
        Further ``njit`` options (``parallel``, ``nogil``).
    """

    def __init__(self, pyfunc, user_signature, **jit_options):
        self.pyfunc = pyfunc
        self.user_signature = user_signature
        self.jit_options = jit_options
        self._dispatchers = {}

    def __call__(self, user=False):
        """The dispatcher for built-in models (``user=False``) or for user dynamics."""
        from numba import njit

        if user not in self._dispatchers:
            # the digest check must run before anything is compiled or loaded from the cache
            d = cached_kernel(njit(**dict(self.jit_options, cache=True))(self.pyfunc))
            if user:
                import warnings

                from numba.core.errors import NumbaExperimentalFeatureWarning

                # the typed function slot is the documented way to pass user dynamics; numba
                # flags first-class function types as experimental on every compile
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", NumbaExperimentalFeatureWarning)
                    d.compile(self.user_signature.args)
                # as an eager njit(signature) does: calls convert to this signature instead
                # of compiling a specialisation keyed on the user function's identity
                d.disable_compile()
            self._dispatchers[user] = d
        return self._dispatchers[user]
