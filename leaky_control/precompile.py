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


def _source(dispatcher):
    from .solvers.kernels import kernel_source

    return kernel_source(dispatcher)


def _timed(name, build):
    t0 = time.perf_counter()
    source = build()
    return KernelTiming(name, time.perf_counter() - t0, source)


def _flagship():
    """The loops the shipped studies run: the cruise PI loop and a linear PD loop."""
    from .controllers import LeakyPD, LeakyPI
    from .plants import CruiseControl, LinearPlant

    return [(CruiseControl(), LeakyPI(kp=0.5, ki=0.1, negative_slope=0.1)),
            (LinearPlant([[0.0, 1.0], [0.0, -2.0]], [[0.0], [1.0]], [[1.0, 0.0]]),
             LeakyPD(kp=4.0, kd=1.0, negative_slope=0.1))]


def _simulation_kernels(loops):
    import numpy as np

    from .simulation import _models, execute, kernel_of, prepare
    from .solvers import RK4, Dopri5
    from .solvers.batch import sweep_parallel
    from .solvers.kernels import kernel

    out = []
    t = np.linspace(0.0, 1.0, 11)
    for plant, controller in loops:
        tag = f"{type(plant).__name__} + {type(controller).__name__}"
        for solver in (RK4(), Dopri5()):
            run = prepare(plant, controller, t, solver=solver)

            def simulate_kernel(run=run):
                execute(run)
                return _source(kernel_of(run))

            out.append(_timed(f"simulate, {type(solver).__name__}: {tag}", simulate_kernel))

            def sweep_kernel(plant=plant, controller=controller, solver=solver, run=run):
                from .sweeps import sweep

                sweep(plant, controller, {"negative_slope": [0.0, 1.0]}, t, solver=solver)
                models = _models(run)
                return _source(kernel(sweep_parallel, *models, bind={"solve": models[0]._nb_run},
                                      parallel=True, nogil=True))

            out.append(_timed(f"sweep, {type(solver).__name__}: {tag}", sweep_kernel))

    def metrics():
        from numba import types

        from .step_metrics import step_metrics_kernel

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


def warmup(loops=None, *, analysis=True):
    """Compile the kernels of some loops once (or load them from the disk cache) and time them.

    Kernels are specialised per (solver, plant, controller) and compiled on first use, a few
    seconds each; warming up is optional, for a batch job that wants the cost up front.

    Parameters
    ----------
    loops : list of (plant, controller), optional
        The loops to prepare, for RK4 and Dopri5, ``simulate`` and ``sweep``; default the
        shipped studies' loops (the cruise PI loop, a linear PD loop).
    analysis : bool, default True
        Also the exact-Lipschitz and training kernels.

    Returns
    -------
    list of KernelTiming
        One entry per kernel, in the order they were prepared.

    Notes
    -----
    See docs/simulation.md, "Compile time", for measured figures. Kernels are cached next to the installed
    package (numba's ``__pycache__``); set ``NUMBA_CACHE_DIR`` when that folder is read-only.
    """
    out = _simulation_kernels(_flagship() if loops is None else list(loops))
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
