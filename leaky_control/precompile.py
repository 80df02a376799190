"""Compile (or load from the disk cache) every built-in numba kernel up front.

A kernel compiles on its first call and is then cached on disk; the first ``simulate`` or
``sweep`` of a fresh install therefore pays seconds to minutes of compilation. ``warmup`` pays
it at a moment of the user's choosing (``leaky-control warmup`` after installing, or at the
start of a batch job) and reports what each kernel cost. A second warmup loads everything
from the cache.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["KernelTiming", "format_report", "kernel_state", "report_header", "report_line",
           "warmup"]

#: a loop to warm up: (plant, controller)
Loop = tuple[Any, Any]


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


def _source(dispatcher: Any) -> str:
    from .solvers.kernels import kernel_source

    return kernel_source(dispatcher)


def _timed(name: str, build: Callable[[], str],
           on_ready: Callable[[KernelTiming], None] | None = None) -> KernelTiming:
    t0 = time.perf_counter()
    source = build()
    timing = KernelTiming(name, time.perf_counter() - t0, source)
    if on_ready is not None:
        on_ready(timing)
    return timing


def _dispatcher_state(dispatcher: Any) -> str:
    """``"ready"`` (compiled or loaded in this process), ``"cached"`` (an entry waits in the
    disk cache) or ``"compile"`` (nothing usable: the first call compiles)."""
    if getattr(dispatcher, "overloads", None):
        return "ready"
    cache = getattr(dispatcher, "_cache", None)
    cache_file = getattr(cache, "_cache_file", None)
    try:
        # the index lists the signatures cached for this very source stamp; an index of
        # another stamp or numba version loads as empty
        entries = cache_file._load_index() if cache_file is not None else {}
    except Exception:
        return "compile"
    return "cached" if entries else "compile"


def kernel_state(plant: Any, controller: Any, solver: Any = None, *, sweep: bool = False) -> str:
    """Whether the kernel of a loop is ready, waiting in the disk cache, or must compile.

    Compiles nothing; lets a command say "compiling ... (first run, ~20 s)" before it pays
    for it.

    Parameters
    ----------
    plant, controller
        The loop, as :func:`leaky_control.simulate` takes it.
    solver : Solver, optional
        Default ``RK4()``, as in ``simulate``.
    sweep : bool, default False
        The local sweep kernel (numba ``prange`` over points) instead of ``simulate``'s.

    Returns
    -------
    str
        ``"ready"`` (already in this process), ``"cached"`` (will load from the disk cache, well
        under a second) or ``"compile"``.
    """
    import numpy as np

    from .simulation import _models, kernel_of, prepare
    from .solvers.batch import sweep_parallel
    from .solvers.kernels import kernel

    run = prepare(plant, controller, np.linspace(0.0, 1.0, 3), solver=solver)
    if not sweep:
        return _dispatcher_state(kernel_of(run))
    models = _models(run)
    return _dispatcher_state(kernel(sweep_parallel, *models, bind={"solve": models[0]._nb_run},
                                    parallel=True, nogil=True))


def _flagship() -> list[Loop]:
    """The loops the shipped studies run: the cruise P (flagship) and PI loops, a linear PD."""
    from .controllers import LeakyP, LeakyPD, LeakyPI
    from .plants import CruiseControl, LinearPlant

    return [(CruiseControl(), LeakyP(kp=1.0, negative_slope=0.1)),
            (CruiseControl(), LeakyPI(kp=0.5, ki=0.1, negative_slope=0.1)),
            (LinearPlant([[0.0, 1.0], [0.0, -2.0]], [[0.0], [1.0]], [[1.0, 0.0]]),
             LeakyPD(kp=4.0, kd=1.0, negative_slope=0.1))]


def _simulation_kernels(loops: Iterable[Loop],
                        on_ready: Callable[[KernelTiming], None] | None = None
                        ) -> list[KernelTiming]:
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

            def simulate_kernel(run: Any = run) -> str:
                execute(run)
                return _source(kernel_of(run))

            out.append(_timed(f"simulate, {type(solver).__name__}: {tag}", simulate_kernel,
                              on_ready))

            def sweep_kernel(plant: Any = plant, controller: Any = controller,
                             solver: Any = solver, run: Any = run) -> str:
                from .sweeps import sweep

                sweep(plant, controller, {"negative_slope": [0.0, 1.0]}, t, solver=solver)
                models = _models(run)
                return _source(kernel(sweep_parallel, *models, bind={"solve": models[0]._nb_run},
                                      parallel=True, nogil=True))

            out.append(_timed(f"sweep, {type(solver).__name__}: {tag}", sweep_kernel, on_ready))

    def metrics() -> str:
        from numba import types

        from .step_metrics import step_metrics_kernel

        d = step_metrics_kernel()
        a = types.float64[::1]
        d.compile((a, a, a, a, types.boolean, a, a))
        return _source(d)

    out.append(_timed("step_info metrics", metrics, on_ready))
    return out


def _analysis_kernels(on_ready: Callable[[KernelTiming], None] | None = None
                      ) -> list[KernelTiming]:
    """The analysis and training kernels are typed by their first call: make small ones."""
    import numpy as np

    from .analysis import _lipschitz_exact as exact
    from .analysis import lipschitz_bound
    from .bridge import init_mlp, train
    from .bridge import mlp as mlp_mod
    from .bridge import training as training_mod

    def lipschitz() -> str:
        rng = np.random.default_rng(0)
        lipschitz_bound([rng.normal(size=(3, 2)), rng.normal(size=(1, 3))], method="exact")
        return _worst(exact._enumerate_kernel, exact._opnorm, exact._frob)

    def training() -> str:
        rng = np.random.default_rng(0)
        x = rng.normal(size=(16, 2))
        y = x[:, :1] ** 2
        net = init_mlp([2, 4, 1], "leaky", 0.1, rng=0)
        train(net, x, y, "sgd", 0.01, epochs=1, batch_size=8, seed=0)
        train(net, x, y, "adam", 0.01, epochs=1, batch_size=8, seed=0)
        net.forward(x)
        return _worst(training_mod._epoch_kernel, mlp_mod._forward_kernel,
                      mlp_mod._loss_grad_kernel)

    return [_timed("exact Lipschitz enumeration", lipschitz, on_ready),
            _timed("training (MLP forward, backward, epochs)", training, on_ready)]


def _worst(*dispatchers: Any) -> str:
    return "compiled" if any(_source(d) == "compiled" for d in dispatchers) else "cache"


def warmup(loops: Iterable[Loop] | None = None, *, analysis: bool = True,
           on_ready: Callable[[KernelTiming], None] | None = None) -> list[KernelTiming]:
    """Compile the kernels of some loops once (or load them from the disk cache) and time them.

    Kernels are specialised per (solver, plant, controller) and compiled on first use, a few
    seconds each; warming up is optional, for a batch job that wants the cost up front.

    Parameters
    ----------
    loops : list of (plant, controller), optional
        The loops to prepare, for RK4 and Dopri5, ``simulate`` and ``sweep``; default the
        shipped studies' loops (the cruise P and PI loops, a linear PD loop).
    analysis : bool, default True
        Also the exact-Lipschitz and training kernels.
    on_ready : callable, optional
        Called with each :class:`KernelTiming` as soon as that kernel is ready (progress for
        a command line: a cold warmup takes about a minute).

    Returns
    -------
    list of KernelTiming
        One entry per kernel, in the order they were prepared.

    Notes
    -----
    See docs/simulation.md, "Compile time", for measured figures. Kernels are cached next to
    the installed package (numba's ``__pycache__``); set ``NUMBA_CACHE_DIR`` when that folder
    is read-only.
    """
    out = _simulation_kernels(_flagship() if loops is None else list(loops), on_ready)
    if analysis:
        out += _analysis_kernels(on_ready)
    return out


#: width of the kernel-name column of the report (the built-in names fit)
NAME_WIDTH = 42


def report_header(width: int = NAME_WIDTH) -> str:
    """The header line of :func:`format_report` (printed first when streaming).

    Parameters
    ----------
    width : int
        Width of the name column.

    Returns
    -------
    str
    """
    return f"{'kernel':<{width}}  {'seconds':>8}  source"


def report_line(timing: KernelTiming, width: int = NAME_WIDTH) -> str:
    """One kernel's line of :func:`format_report`.

    Parameters
    ----------
    timing : KernelTiming
    width : int
        Width of the name column.

    Returns
    -------
    str
    """
    return f"{timing.name:<{width}}  {timing.seconds:8.2f}  {timing.source}"


def format_report(timings: Sequence[KernelTiming], width: int | None = None) -> str:
    """A plain-text table of :func:`warmup`'s result: header, one line per kernel, total.

    Parameters
    ----------
    timings : sequence of KernelTiming
    width : int, optional
        Width of the name column (default: the longest name).

    Returns
    -------
    str
    """
    if width is None:
        width = max([len(t.name) for t in timings] + [len("total")])
    lines = [report_header(width)]
    lines += [report_line(t, width) for t in timings]
    lines.append(f"{'total':<{width}}  {sum(t.seconds for t in timings):8.2f}")
    return "\n".join(lines)
