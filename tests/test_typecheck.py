"""The package's type annotations: mypy runs clean over it (pyproject's [tool.mypy]), and every
public function, method and class constructor is annotated, checked without mypy by
``inspect.signature`` so that a missing annotation fails even where mypy is not installed."""

from __future__ import annotations

import importlib
import inspect
import os
import pkgutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import leaky_control

REPO = Path(__file__).resolve().parents[1]


def _public_modules() -> list[str]:
    """Every module of the package whose name has no private part (``leaky_control._jit`` and
    ``leaky_control.sweeps.chunk`` are left out; ``leaky_control.analysis.lipschitz`` is in)."""
    names = ["leaky_control"]
    for info in pkgutil.walk_packages(leaky_control.__path__, "leaky_control."):
        if info.name == "leaky_control.__main__":
            continue  # running it runs the command line
        if not any(part.startswith("_") for part in info.name.split(".")[1:]):
            names.append(info.name)
    return names


def _plain(obj: Any) -> Any:
    """The Python function behind a numba dispatcher, staticmethod or classmethod."""
    obj = getattr(obj, "__func__", obj)
    return getattr(obj, "py_func", obj)


def _missing_name() -> None:
    """Stands for a name listed in ``__all__`` that the module does not define."""


_MISSING = _missing_name


def _callables(module: Any) -> Iterator[tuple[str, Callable[..., Any]]]:
    """``(qualified name, function)`` for the module's public names (its ``__all__``) defined
    in this package: functions, and for classes their own public methods, properties and
    ``__init__``/``__call__`` (the signatures a user calls)."""
    for name in getattr(module, "__all__", ()):
        obj = getattr(module, name, _MISSING)
        if obj is _MISSING:  # reported by the caller rather than crashing the walk
            yield f"{module.__name__}.{name}", _MISSING
            continue
        if not getattr(obj, "__module__", "").startswith("leaky_control"):
            continue  # a re-export from elsewhere (python-control, numpy) is not ours to check
        where = f"{obj.__module__}.{getattr(obj, '__qualname__', name)}"
        if inspect.isclass(obj):
            for attr, member in vars(obj).items():
                if attr.startswith("_") and attr not in ("__init__", "__call__", "__new__"):
                    continue
                if isinstance(member, property):
                    if member.fget is not None:
                        yield f"{where}.{attr}", member.fget
                    continue
                fn = _plain(member)
                if inspect.isfunction(fn) and fn.__module__.startswith("leaky_control") \
                        and fn.__qualname__.startswith(obj.__qualname__ + "."):
                    # own methods only; a dataclass's generated __init__ is annotated from
                    # its fields, a NamedTuple's __new__ by typing
                    yield f"{where}.{attr}", fn
        else:
            fn = _plain(obj)
            if inspect.isfunction(fn):
                yield where, fn


def _missing(fn: Callable[..., Any]) -> list[str]:
    sig = inspect.signature(fn)
    out = [f"parameter {p.name!r}" for i, p in enumerate(sig.parameters.values())
           if p.annotation is inspect.Parameter.empty
           and not (i == 0 and p.name in ("self", "cls"))]
    if sig.return_annotation is inspect.Signature.empty:
        out.append("the return type")
    return out


def test_every_public_callable_is_annotated() -> None:
    modules = _public_modules()
    # the walk reaches the subpackages and their modules, not only the top level
    assert {"leaky_control.analysis.lipschitz", "leaky_control.sweeps", "leaky_control.plants",
            "leaky_control.controllers.pid"} <= set(modules)
    checked: dict[str, Callable[..., Any]] = {}
    for name in modules:
        checked.update(_callables(importlib.import_module(name)))
    # the public API as README.md shows it is among what was checked
    for must in ("leaky_control.simulation.simulate", "leaky_control.sweeps.api.sweep",
                 "leaky_control.controllers.pid.LeakyPID.law",
                 "leaky_control.plants.linear.LinearPlant.to_ss",
                 "leaky_control.response.LoopResponse.signal",
                 "leaky_control.analysis.lipschitz.lipschitz_bound"):
        assert must in checked, must
    problems = {where: "listed in __all__ but not defined" if fn is _MISSING
                else f"no annotation for {', '.join(miss)}"
                for where, fn in checked.items() if fn is _MISSING or (miss := _missing(fn))}
    assert not problems, "\n".join(f"{where}: {why}" for where, why in sorted(problems.items()))


def test_the_annotation_check_catches_a_missing_annotation() -> None:
    # the check above would pass vacuously if _missing never found anything
    def bare(x, y: int = 0):
        return x

    def full(x: float, *args: int, **kw: str) -> float:
        return x

    assert _missing(bare) == ["parameter 'x'", "the return type"]
    assert _missing(full) == []


@pytest.mark.slow
def test_mypy_runs_clean() -> None:
    pytest.importorskip("mypy")
    if not (REPO / "pyproject.toml").is_file():
        pytest.skip("needs the source tree (pyproject.toml holds the mypy configuration)")
    # a cache outside the working tree, kept between runs (a warm run takes a few seconds)
    uid = os.getuid() if hasattr(os, "getuid") else "user"
    cache = Path(tempfile.gettempdir()) / f"leaky_control-mypy-cache-{uid}"
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "mypy", "--cache-dir", str(cache)],
                          cwd=REPO, capture_output=True, text=True, timeout=900, check=False)
    seconds = time.perf_counter() - start
    report = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"mypy failed after {seconds:.0f} s:\n{report}"
    assert "Success: no issues found" in report
    assert "error:" not in report


# --- what the type checker found ----------------------------------------------------------


def test_closed_loop_nlsys_refuses_a_controller_without_a_python_control_form() -> None:
    # mypy: Controller has no to_nlsys; OpenLoop (controller=None) raised a bare AttributeError
    import leaky_control as lc

    with pytest.raises(TypeError, match=r"to_nlsys.*OpenLoop has none"):
        lc.closed_loop_nlsys(lc.FirstOrderLag(), None)


def test_explicit_rk_solvers_import_without_docstrings() -> None:
    # mypy: ExplicitRK.__doc__ may be None; under python -OO the dataclass puts a one-line
    # signature there, and Dopri5's and Tsit5's docstrings indexed its second line
    code = ("import leaky_control as lc; "
            "print(type(lc.Dopri5()).__name__, type(lc.Tsit5()).__name__)")
    proc = subprocess.run([sys.executable, "-OO", "-c", code], capture_output=True, text=True,
                          timeout=300, check=False, cwd=tempfile.gettempdir())
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["Dopri5", "Tsit5"]


def test_fixed_step_stats_without_the_step() -> None:
    # mypy: stats(info, max_step=None) passed None to float(); now NaN, as documented for
    # a step that is not known
    import math

    import numpy as np

    import leaky_control as lc

    stats = lc.RK4().stats(np.array([0.0, 1.5, 10.0, 0.0, 0.0]))
    assert math.isnan(stats["max_step"])
    assert stats["nsteps"] == 10
    assert stats["nfev"] == 40  # four stages per step
    assert stats["failure_time"] == 1.5


@pytest.mark.parametrize("gain", [None, 2.0])
def test_step_response_default_horizon_with_none_or_a_python_control_controller(
        gain: float | None) -> None:
    # mypy: step_response chose its default horizon from the controller as given, so None
    # (open loop) and a control.TransferFunction raised AttributeError (no linear_gain)
    import math

    import control as ct

    import leaky_control as lc

    controller = None if gain is None else ct.tf([gain], [1.0])
    resp = lc.step_response(lc.FirstOrderLag(gain=1.0, tau=1.0), controller)
    k = 0.0 if gain is None else gain
    # closed loop y' = -(1 + k) y + k r (open loop: y' = -y + r): horizon 10 / (1 + k)
    rate = 1.0 + k if gain is not None else 1.0
    assert resp.time[-1] == pytest.approx(10.0 / rate, rel=1e-12)
    final = (k / (1.0 + k) if gain is not None else 1.0) * (1.0 - math.exp(-10.0))
    assert resp.outputs[-1] == pytest.approx(final, abs=1e-8)
