"""Issue 10's table, measured side by side in one run, through the public API only.

Reference problem (``_reference.problem()``): cruise-control PI loop, negative_slope 0.1, kp 0.5,
ki 0.1, u in [0, 1], back-calculation anti-windup kaw = 0.2, 20 -> 25 m/s, the 4 degree hill
at t = 5 s, 0-30 s, 3001 outputs. Rows:

1. ``lc.simulate`` RK4 dt = 0.01 vs the same RK4 in C -O3 (``cruise_rk4.c``, called in process
   through ctypes). The C file implements the anti-windup loop (kaw = 0.2), so both sides run
   that loop (issue 10 words it "no anti-windup"; C and Python are kept equal instead). Paired
   ratio simulate / C.
2. ``lc.simulate`` Dopri5 (rtol 1e-6, atol 1e-9) vs numbalsoda LSODA (rtol 1e-6, atol 1e-9) on
   the same equations (``lsoda_cruise.py``), both on the 3001 output points. Paired ratio
   simulate / LSODA.
3. 10,000-point sweep (100 x 100 grid, negative_slope in [0, 1], kp in [0.2, 1.0]), Dopri5,
   3001 outputs, metrics only (the four of bench_sweep.py), threads=2: median of N runs after
   one warm run.
4. First ``simulate`` (RK4 default solver; Dopri5) and first 10 x 10 sweep (Dopri5) with an
   empty numba cache: each in a fresh process with ``NUMBA_CACHE_DIR`` a new empty folder,
   timing the first call only (imports excluded, reported beside it).
5. ``leaky-control warmup`` with an empty cache, whole command (only with ``--warmup``).
6. New process, warm cache: ``import leaky_control`` + first ``simulate`` (default RK4) of the
   reference problem, timed inside the child from before the import (numpy imported before,
   as in bench_simulate.py); median over processes.

Every timing is a median; ratios are paired (both sides back to back, ``paired_ratio``).

This process and the warm-cache children use ``NUMBA_CACHE_DIR`` (default: a folder in the
temp dir, so that an editable install's ``__pycache__`` is never written).

Run (from anywhere; to measure another checkout put it first on ``PYTHONPATH``):
``python benchmarks/bench_models.py [--quick] [--skip-cold] [--warmup]``
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

if not os.environ.get("NUMBA_CACHE_DIR"):  # before numba is imported anywhere
    os.environ["NUMBA_CACHE_DIR"] = os.path.join(tempfile.gettempdir(),
                                                 "leaky_control_bench_numba_cache")

import numpy as np  # noqa: E402
from _reference import paired_ratio, problem, time_stats  # noqa: E402

METRICS = ["Overshoot", "SettlingTime", "IAE", "CoastingFraction"]
ROWS = []  # (what, measured, goal, verdict)


def row(what, measured, goal, ok):
    verdict = "skipped" if ok is None else ("met" if ok else "**missed**")
    ROWS.append((what, measured, goal, verdict))


def say(*a):
    print(*a, flush=True)


# ---------------------------------------------------------------- 1. RK4 vs C -O3

C_WRAPPER = """
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
static double bench_res[2];
static int bench_record(const char *fmt, ...) {
    va_list ap; va_start(ap, fmt);
    bench_res[0] = va_arg(ap, double); bench_res[1] = va_arg(ap, double);
    va_end(ap); return 0;
}
#define printf bench_record
#define main cruise_main
#include "%s"
double cruise_result(int i) { return bench_res[i]; }
"""


def build_c(tmp):
    """``(run, result, exe_median)``: ``run()`` is one in-process call of cruise_rk4.c's loop
    (its ``main`` with reps = 1, printf captured), ``result(i)`` its last printed values
    (0: time of the run, 1: v(30)); ``exe_median`` the median the stand-alone -O3 program
    reports over 200 of its own runs. ``None`` without a C compiler."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        return None
    src = os.path.join(HERE, "cruise_rk4.c")
    wrap = os.path.join(tmp, "cruise_wrap.c")
    with open(wrap, "w") as fh:
        fh.write(C_WRAPPER % src)
    lib = os.path.join(tmp, "libcruise.so")
    exe = os.path.join(tmp, "cruise_rk4")
    subprocess.run([cc, "-O3", "-shared", "-fPIC", "-o", lib, wrap, "-lm"], check=True)
    subprocess.run([cc, "-O3", "-o", exe, src, "-lm"], check=True)
    out = subprocess.run([exe, "200"], capture_output=True, text=True, check=True).stdout.split()
    so = ctypes.CDLL(lib)
    so.cruise_main.argtypes = [ctypes.c_int, ctypes.POINTER(ctypes.c_char_p)]
    so.cruise_main.restype = ctypes.c_int
    so.cruise_result.argtypes = [ctypes.c_int]
    so.cruise_result.restype = ctypes.c_double
    argv = (ctypes.c_char_p * 3)(b"cruise_rk4", b"1", None)
    main = so.cruise_main

    def run():
        main(2, argv)

    return run, so.cruise_result, float(out[0]), float(out[1])


def bench_rk4_vs_c(args, tmp):
    lc, plant, ctrl, t, theta = problem()
    solver = lc.RK4(max_step=0.01)

    def sim():
        return lc.simulate(plant, ctrl, t, reference=25.0, disturbance=theta,
                           initial_state=[20.0], solver=solver)

    resp = sim()
    v_py = float(resp.y[0][-1])
    stats = getattr(resp, "stats", None) or {}
    built = build_c(tmp)
    if built is None:
        say("RK4 vs C: no C compiler (cc/gcc) found: skipped")
        row("`lc.simulate` RK4 dt=0.01 / C -O3", "no C compiler", "<= 1.5x", None)
        return
    crun, cres, exe_med, exe_v = built
    crun()
    v_c = cres(1)
    reps = 20 if args.quick else 100
    py_med = time_stats(sim, reps)[0]
    c_med = time_stats(crun, reps * 5)[0]
    rounds = 7 if args.quick else 21
    med, lo, hi = paired_ratio(crun, sim, rounds=rounds, fast_calls=20)
    say(f"RK4 dt=0.01 (loop with anti-windup kaw={ctrl.kaw}, as cruise_rk4.c): "
        f"lc.simulate {py_med * 1e3:.3f} ms (steps {stats.get('nsteps', '?')}), "
        f"C -O3 in process {c_med * 1e3:.3f} ms, C stand-alone exe {exe_med * 1e3:.3f} ms")
    say(f"  v(30): simulate {v_py:.12f}, C {v_c:.12f} (exe {exe_v:.12f}), "
        f"diff {v_py - v_c:.2e}")
    say(f"  paired ratio simulate / C, {rounds} rounds: median {med:.2f}x (min {lo:.2f}, "
        f"max {hi:.2f})")
    row("`lc.simulate` RK4 dt=0.01 / same RK4 in C -O3 (anti-windup loop, 3001 outputs)",
        f"{med:.2f}x ({lo:.2f}-{hi:.2f}); {py_med * 1e3:.3f} ms vs {c_med * 1e3:.3f} ms",
        "<= 1.5x", med <= 1.5)
    kernel_row("RK4 dt=0.01 kernel alone / C -O3", solver, crun, rounds, "<= 1.15x", 1.15)


def kernel_row(what, solver, ref, rounds, goal, bound):
    """The kernel without the Python around it (``_reference.kernel_alone``), paired with
    ``ref``; skipped on a checkout that predates it."""
    try:
        from _reference import kernel_alone

        krun, _ = kernel_alone(solver)
    except (ImportError, AttributeError, TypeError) as exc:
        say(f"{what}: kernel alone not measurable on this checkout ({exc})")
        return
    med, lo, hi = paired_ratio(ref, krun, rounds=rounds, fast_calls=20)
    say(f"  paired ratio {what}, {rounds} rounds: median {med:.2f}x (min {lo:.2f}, "
        f"max {hi:.2f}); kernel {time_stats(krun, 200)[0] * 1e3:.3f} ms")
    row(what, f"{med:.2f}x ({lo:.2f}-{hi:.2f})", goal, med <= bound)


# ---------------------------------------------------------------- 2. Dopri5 vs LSODA

def bench_dopri5_vs_lsoda(args):
    lc, plant, ctrl, t, theta = problem()
    solver = lc.Dopri5(rtol=1e-6, atol=1e-9)

    def sim():
        return lc.simulate(plant, ctrl, t, reference=25.0, disturbance=theta,
                           initial_state=[20.0], solver=solver)

    resp = sim()
    v_py = float(resp.y[0][-1])
    stats = getattr(resp, "stats", None) or {}
    try:
        import numbalsoda  # noqa: F401
    except ImportError as exc:
        say(f"Dopri5 vs LSODA: numbalsoda not importable ({exc}): skipped")
        row("`lc.simulate` Dopri5 rtol 1e-6 / numbalsoda LSODA rtol 1e-6", "numbalsoda missing",
            "<= 0.5x", None)
        return
    from lsoda_cruise import lsoda_runner

    lrun = lsoda_runner(plant, ctrl, t, rtol=1e-6, atol=1e-9)
    usol, ok = lrun()
    v_l = float(usol[-1, 0])
    maxdiff = float(np.max(np.abs(usol[:, 0] - np.asarray(resp.y[0]))))
    tight, _ = lsoda_runner(plant, ctrl, t, rtol=1e-12, atol=1e-14)()
    v_ref = float(tight[-1, 0])
    reps = 20 if args.quick else 100
    py_med = time_stats(sim, reps)[0]
    l_med = time_stats(lrun, reps)[0]
    rounds = 7 if args.quick else 21
    med, lo, hi = paired_ratio(lrun, sim, rounds=rounds, fast_calls=10)
    say(f"Dopri5 rtol 1e-6 atol 1e-9: lc.simulate {py_med * 1e3:.3f} ms (stats {dict(stats)}); "
        f"numbalsoda LSODA rtol 1e-6 atol 1e-9: {l_med * 1e3:.3f} ms (success {ok})")
    say(f"  v(30): simulate {v_py:.12f}, LSODA {v_l:.12f}, diff {v_py - v_l:.2e}; "
        f"max |v diff| over the 3001 points {maxdiff:.2e}")
    say(f"  error of v(30) vs LSODA rtol 1e-12 ({v_ref:.12f}): simulate {v_py - v_ref:.2e}, "
        f"LSODA rtol 1e-6 {v_l - v_ref:.2e}")
    say(f"  paired ratio simulate / LSODA, {rounds} rounds: median {med:.2f}x (min {lo:.2f}, "
        f"max {hi:.2f})")
    row("`lc.simulate` Dopri5 rtol 1e-6 / numbalsoda LSODA rtol 1e-6 (same loop, 3001 outputs)",
        f"{med:.2f}x ({lo:.2f}-{hi:.2f}); {py_med * 1e3:.3f} ms vs {l_med * 1e3:.3f} ms",
        "<= 0.5x", med <= 0.5)
    kernel_row("Dopri5 kernel alone / LSODA", solver, lrun, rounds, "<= 0.3x", 0.3)


# ---------------------------------------------------------------- 3. 10,000-point sweep

def sweep_kwargs(lc, theta):
    return dict(reference=25.0, initial_state=[20.0], disturbance=theta,
                solver=lc.Dopri5(rtol=1e-6, atol=1e-9), metrics=METRICS,
                metric_options={"initial_output": 20.0})


def bench_sweep(args):
    import numba

    lc, plant, ctrl, t, theta = problem()
    grid = {"negative_slope": np.linspace(0.0, 1.0, 100), "kp": np.linspace(0.2, 1.0, 100)}
    kw = sweep_kwargs(lc, theta)
    t0 = time.perf_counter()
    res = lc.sweep(plant, ctrl, grid, t, threads=2, **kw)  # warm run
    warm = time.perf_counter() - t0
    n = 1 if args.quick else 3
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        res = lc.sweep(plant, ctrl, grid, t, threads=2, **kw)
        times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    say(f"sweep 100x100 Dopri5 rtol 1e-6, 3001 outputs, metrics {METRICS}, threads=2 "
        f"(NUMBA_NUM_THREADS={numba.config.NUMBA_NUM_THREADS}, layer "
        f"{numba.threading_layer()}): warm run {warm:.3f} s, median of {n} {med:.3f} s "
        f"(runs {', '.join(f'{x:.3f}' for x in times)}); points {len(res)}, "
        f"failed {len(res.failed)}")
    row("10,000-point sweep, Dopri5 rtol 1e-6, 3001 outputs, metrics only, 2 threads",
        f"{med:.3f} s (median of {n})", "<= 0.4 s", med <= 0.4)


# ---------------------------------------------------------------- 4-6. child processes

CHILD = textwrap.dedent("""
    import json, sys, time
    t00 = time.perf_counter()
    import numpy as np
    sys.path.insert(0, {here!r})
    from _reference import problem
    kind = {kind!r}
    t0 = time.perf_counter()
    lc, plant, ctrl, t, theta = problem()
    simulate, sweep, RK4, Dopri5 = lc.simulate, lc.sweep, lc.RK4, lc.Dopri5
    if kind == "warm":  # the import is part of the timing
        resp = simulate(plant, ctrl, t, reference=25.0, disturbance=theta, initial_state=[20.0])
        t1 = time.perf_counter()
        print(json.dumps({{"first": t1 - t0, "with_numpy": t1 - t00,
                           "v30": float(resp.y[0][-1])}}))
        sys.exit(0)
    t1 = time.perf_counter()
    kw = dict(reference=25.0, disturbance=theta, initial_state=[20.0])
    if kind == "rk4":
        resp = simulate(plant, ctrl, t, **kw)
    elif kind == "dopri5":
        resp = simulate(plant, ctrl, t, solver=Dopri5(rtol=1e-6, atol=1e-9), **kw)
    else:
        grid = {{"negative_slope": np.linspace(0.0, 1.0, 10), "kp": np.linspace(0.2, 1.0, 10)}}
        resp = sweep(plant, ctrl, grid, t, solver=Dopri5(rtol=1e-6, atol=1e-9),
                     metrics={metrics!r}, metric_options={{"initial_output": 20.0}}, **kw)
    t2 = time.perf_counter()
    print(json.dumps({{"import": t1 - t0, "first": t2 - t1}}))
""")


def child(kind, cache_dir, timeout=1800):
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
    code = CHILD.format(here=HERE, kind=kind, metrics=METRICS)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(f"child {kind} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def bench_cold(args):
    for kind, label, goal in (("rk4", "first `simulate`, RK4 (default solver), empty cache", 5.0),
                              ("dopri5", "first `simulate`, Dopri5 rtol 1e-6, empty cache", 5.0),
                              ("sweep", "first 10x10 `sweep`, Dopri5, empty cache", 10.0)):
        with tempfile.TemporaryDirectory(prefix="lc_cold_") as cache:
            r = child(kind, cache)
            nfiles = sum(len(f) for _, _, f in os.walk(cache))
        say(f"cold {kind}: first call {r['first']:.2f} s (imports + problem() before it "
            f"{r['import']:.2f} s, not counted); {nfiles} cache files written to the empty "
            f"NUMBA_CACHE_DIR")
        row(label, f"{r['first']:.1f} s", f"<= {goal:g} s", r["first"] <= goal)


def bench_warmup_cli():
    with tempfile.TemporaryDirectory(prefix="lc_warmup_") as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        t0 = time.perf_counter()
        out = subprocess.run([sys.executable, "-m", "leaky_control.cli", "warmup"],
                             capture_output=True, text=True, env=env, timeout=3600)
        wall = time.perf_counter() - t0
    if out.returncode != 0:
        say(f"leaky-control warmup failed (rc {out.returncode}):\n{out.stderr[-3000:]}")
        row("`leaky-control warmup`, empty cache", f"failed (rc {out.returncode})", "<= 60 s",
            False)
        return
    say(f"leaky-control warmup, empty cache: {wall:.1f} s wall; its report:")
    say(textwrap.indent(out.stdout.rstrip(), "    "))
    row("`leaky-control warmup`, empty cache (whole command)", f"{wall:.0f} s", "<= 60 s",
        wall <= 60.0)


def bench_warm_process(args):
    cache = os.environ["NUMBA_CACHE_DIR"]
    child("warm", cache)  # make sure the cache holds the kernel (not counted)
    n = 3 if args.quick else 5
    runs = [child("warm", cache) for _ in range(n)]
    first = statistics.median(r["first"] for r in runs)
    withnp = statistics.median(r["with_numpy"] for r in runs)
    say(f"new process, warm cache: import leaky_control + first simulate, median of {n}: "
        f"{first:.3f} s (runs {', '.join(format(r['first'], '.3f') for r in runs)}); "
        f"including import numpy {withnp:.3f} s")
    row("new process, warm cache: `import leaky_control` + first `simulate` (RK4 default)",
        f"{first:.2f} s (median of {n}; {withnp:.2f} s with numpy)", "<= 1.0 s", first <= 1.0)


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repetitions")
    ap.add_argument("--skip-cold", action="store_true",
                    help="skip the empty-cache rows (first simulate / sweep)")
    ap.add_argument("--warmup", action="store_true",
                    help="also time `leaky-control warmup` with an empty cache (minutes)")
    args = ap.parse_args()

    start = time.perf_counter()
    load = os.getloadavg()
    import leaky_control

    say(f"load average at start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} "
        f"({os.cpu_count()} cores)")
    say(f"leaky_control from {os.path.dirname(leaky_control.__file__)}; python "
        f"{sys.version.split()[0]}; NUMBA_CACHE_DIR={os.environ['NUMBA_CACHE_DIR']}")
    with tempfile.TemporaryDirectory(prefix="lc_bench_c_") as tmp:
        bench_rk4_vs_c(args, tmp)
    bench_dopri5_vs_lsoda(args)
    bench_sweep(args)
    if args.skip_cold:
        say("empty-cache rows skipped (--skip-cold)")
    else:
        bench_cold(args)
    if args.warmup:
        bench_warmup_cli()
    else:
        say("leaky-control warmup (cold) not run: pass --warmup")
    bench_warm_process(args)

    end = os.getloadavg()
    say(f"load average at end: {end[0]:.2f} {end[1]:.2f} {end[2]:.2f}; "
        f"total {time.perf_counter() - start:.0f} s")
    say("")
    say("| what | measured | goal | verdict |")
    say("|---|---|---|---|")
    for r in ROWS:
        say("| " + " | ".join(r) + " |")


if __name__ == "__main__":
    main()
