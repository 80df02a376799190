"""Compile (or load from the disk cache) every built-in numba kernel up front.

A kernel compiles on its first call and is then cached on disk; the first ``simulate`` or
``sweep`` of a fresh install therefore pays seconds to minutes of compilation. ``warmup`` pays
it at a moment of the user's choosing (``leaky-control warmup`` after installing, or at the
start of a batch job) and reports what each kernel cost. A second warmup loads everything
from the cache.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

__all__ = ["KernelTiming", "warmup"]


@dataclass(frozen=True)
class KernelTiming:
    """How long one kernel took to become ready.

    Attributes
    ----------
    name : str
    seconds : float
    source : str
        ``"compiled"`` (nothing usable in the disk cache) or ``"cache"`` (loaded from it).
    """

    name: str
    seconds: float
    source: str


def _builtin_signature(user_signature):
    """The built-in models' signature: the integer 0 in the user-dynamics slot."""
    from numba import types

    return (types.int64,) + tuple(user_signature.args[1:])


def _source(dispatcher):
    stats = dispatcher.stats
    return "compiled" if sum(stats.cache_misses.values()) else "cache"


def _kernel_pairs():
    from .integrators.batch import batch_parallel, batch_serial
    from .integrators.dopri5 import dopri5_kernel
    from .integrators.fixed import fixed_kernel

    return {"fixed-step (Euler, RK4)": fixed_kernel, "Dopri5": dopri5_kernel,
            "sweep, parallel": batch_parallel, "sweep, serial": batch_serial}


def _timed(name, build):
    t0 = time.perf_counter()
    source = build()
    return KernelTiming(name, time.perf_counter() - t0, source)


def _simulation_kernels(user):
    out = []
    for name, pair in _kernel_pairs().items():
        def builtin(pair=pair):
            d = pair(False)
            d.compile(_builtin_signature(pair.user_signature))
            return _source(d)

        out.append(_timed(name, builtin))
        if user:
            out.append(_timed(f"{name}, @rhs plants", lambda pair=pair: _source(pair(True))))
    from .integrators.step_metrics import step_metrics_kernel

    def metrics():
        from numba import types

        d = step_metrics_kernel()
        a = types.float64[::1]
        d.compile((a, a, a, a, types.boolean, a, a))
        return _source(d)

    out.append(_timed("step_info metrics", metrics))
    return out


def _analysis_kernels():
    """The analysis and training kernels are typed by their first call: make small ones."""
    import numpy as np

    from .analysis import _lipschitz_exact as exact
    from .analysis import lipschitz_bound
    from .bridge import init_mlp, train
    from .bridge import mlp as mlp_mod
    from .bridge import training as training_mod

    def lipschitz():
        rng = np.random.default_rng(0)
        lipschitz_bound([rng.normal(size=(3, 2)), rng.normal(size=(1, 3))], method="exact")
        return _worst(exact._enumerate_kernel, exact._opnorm, exact._frob)

    def training():
        rng = np.random.default_rng(0)
        x = rng.normal(size=(16, 2))
        y = x[:, :1] ** 2
        net = init_mlp([2, 4, 1], "leaky", 0.1, rng=0)
        train(net, x, y, "sgd", 0.01, epochs=1, batch_size=8, seed=0)
        train(net, x, y, "adam", 0.01, epochs=1, batch_size=8, seed=0)
        net.forward(x)
        return _worst(training_mod._epoch_kernel, mlp_mod._forward_kernel,
                      mlp_mod._loss_grad_kernel)

    return [_timed("exact Lipschitz enumeration", lipschitz),
            _timed("training (MLP forward, backward, epochs)", training)]


def _worst(*dispatchers):
    return "compiled" if any(_source(d) == "compiled" for d in dispatchers) else "cache"


def warmup(*, user_plants=True, analysis=True):
    """Compile every built-in kernel once (or load it from the disk cache) and time it.

    Parameters
    ----------
    user_plants : bool, default True
        Also the kernel variants that run :func:`leaky_control.rhs` plants.
    analysis : bool, default True
        Also the exact-Lipschitz and training kernels.

    Returns
    -------
    list of KernelTiming
        One entry per kernel, in the order they were prepared.

    Notes
    -----
    On a 2-core machine a cold warmup takes several minutes (see docs/simulation.md,
    "Compile time"); a warm one, a few seconds. Kernels are cached next to the installed
    package (numba's ``__pycache__``); set ``NUMBA_CACHE_DIR`` when that folder is read-only.
    """
    out = _simulation_kernels(bool(user_plants))
    if analysis:
        out += _analysis_kernels()
    return out


def format_report(timings):
    """A plain-text table of :func:`warmup`'s result."""
    width = max(len(t.name) for t in timings)
    lines = [f"{'kernel':<{width}}  {'seconds':>8}  source"]
    lines += [f"{t.name:<{width}}  {t.seconds:8.2f}  {t.source}" for t in timings]
    lines.append(f"{'total':<{width}}  {sum(t.seconds for t in timings):8.2f}")
    return "\n".join(lines)
