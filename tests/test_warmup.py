"""warmup(): every built-in kernel becomes ready, and a new process then loads each one from
the disk cache instead of compiling it."""

import subprocess
import sys

import leaky_control as lc

EXPECTED = {f"{what}, {solver}: {loop}" for what in ("simulate", "sweep")
            for solver in ("RK4", "Dopri5")
            for loop in ("CruiseControl + LeakyPI", "LinearPlant + LeakyPD")} | {
    "step_info metrics", "exact Lipschitz enumeration",
    "training (MLP forward, backward, epochs)"}


def test_warmup_then_a_new_process_loads_every_kernel_from_the_cache():
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


def test_warmup_report_formats_every_kernel():
    from leaky_control.precompile import KernelTiming, format_report

    text = format_report([KernelTiming("a", 1.5, "compiled"), KernelTiming("bb", 0.25, "cache")])
    lines = text.splitlines()
    assert lines[1].split() == ["a", "1.50", "compiled"]
    assert lines[2].split() == ["bb", "0.25", "cache"]
    assert lines[3].split() == ["total", "1.75"]
