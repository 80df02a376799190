"""warmup(): every built-in kernel becomes ready, each reported as soon as it is, and a new
process then loads each one from the disk cache instead of compiling it; kernel_state tells
ahead of a run whether its kernel is ready, cached or still to compile."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

import leaky_control as lc
from leaky_control.precompile import KernelTiming, format_report, kernel_state

EXPECTED = {f"{what}, {solver}: {loop}" for what in ("simulate", "sweep")
            for solver in ("RK4", "Dopri5")
            for loop in ("CruiseControl + LeakyP", "CruiseControl + LeakyPI",
                         "LinearPlant + LeakyPD")} | {
    "step_info metrics", "exact Lipschitz enumeration",
    "training (MLP forward, backward, epochs)"}


@pytest.mark.slow
def test_warmup_then_a_new_process_loads_every_kernel_from_the_cache() -> None:
    timings = lc.warmup()
    assert {t.name for t in timings} == EXPECTED
    assert all(t.seconds >= 0 and t.source in ("cache", "compiled") for t in timings)

    code = "import sys; from leaky_control.cli import main; sys.exit(main(sys.argv[1:]))"
    out = subprocess.run([sys.executable, "-c", code, "warmup"],
                         capture_output=True, text=True, timeout=600, check=True).stdout
    rows = dict(line.rsplit(None, 2)[::2] for line in out.splitlines()[1:-1])
    assert set(rows) == EXPECTED, out
    assert set(rows.values()) == {"cache"}, out
    assert out.splitlines()[-1].startswith("total")


@pytest.mark.slow
def test_warmup_reports_each_kernel_when_it_is_ready_not_at_the_end() -> None:
    seen: list[tuple[float, KernelTiming]] = []
    t0 = time.perf_counter()
    timings = lc.warmup(analysis=False,
                        on_ready=lambda t: seen.append((time.perf_counter(), t)))
    assert [t for _, t in seen] == timings
    elapsed = 0.0
    for when, t in seen:
        elapsed += t.seconds
        # called right after its own kernel: the time since the start is the kernels so far
        # (plus the small set-up between them), not the whole warmup
        assert elapsed - 1e-6 <= when - t0 <= elapsed + 2.0, (when - t0, elapsed)


def test_warmup_report_formats_every_kernel() -> None:
    text = format_report([KernelTiming("a", 1.5, "compiled"), KernelTiming("bb", 0.25, "cache")])
    lines = text.splitlines()
    assert lines[1].split() == ["a", "1.50", "compiled"]
    assert lines[2].split() == ["bb", "0.25", "cache"]
    assert lines[3].split() == ["total", "1.75"]


@pytest.mark.slow
def test_kernel_state_tells_ready_cached_and_to_compile() -> None:
    code = """
import leaky_control as lc
from leaky_control.precompile import kernel_state
car, pi = lc.CruiseControl(), lc.LeakyPI(kp=0.5, ki=0.1, negative_slope=0.1)
lc.simulate(car, pi, 1.0)                # compiled or loaded: on disk from here on
print(kernel_state(car, pi))
"""
    first = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           timeout=600, check=True).stdout.split()
    assert first == ["ready"]
    code2 = """
import leaky_control as lc
from leaky_control.precompile import kernel_state
print(kernel_state(lc.CruiseControl(), lc.LeakyPI(kp=0.5, ki=0.1, negative_slope=0.1)))
"""
    second = subprocess.run([sys.executable, "-c", code2], capture_output=True, text=True,
                            timeout=600, check=True).stdout.split()
    assert second == ["cached"]  # a new process: on disk, not yet loaded


def test_kernel_state_of_a_model_defined_in_a_function_is_compile() -> None:
    from dataclasses import dataclass
    from typing import NamedTuple

    class LagRecord(NamedTuple):
        tau: float

    @dataclass(frozen=True)
    class Lag(lc.Plant):  # defined in a function: its kernels cannot be cached on disk
        tau: float = 1.0
        Record = LagRecord
        nstates = ninputs = noutputs = 1
        ndisturbances = 0

        def record(self) -> LagRecord:
            return LagRecord(float(self.tau))

        @staticmethod
        def dynamics(p, t, x, u, d, dx):  # type: ignore[no-untyped-def]
            dx[0] = (u[0] - x[0]) / p.tau

    assert kernel_state(Lag(), lc.LeakyP(kp=1.0, negative_slope=0.5)) == "compile"
