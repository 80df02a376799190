"""A/B: the LeakyMLP kernel with input/output scaling (issue 14) against the tree before it.

The scaling adds, per evaluation, one subtract and one multiply per network input and one
multiply-add per output to a forward pass of a few hundred multiply-adds. This measures what
that costs in the hot loop: the simulate kernel alone (no validation, no TimeResponseData) and
``lc.simulate``, of a pendulum held upright by a 2-16-16-1 leaky network (a = 0.1), 0-30 s,
3001 outputs, RK4 dt = 0.01 (12,000 network evaluations plus 3001 for the outputs) and Dopri5
(rtol 1e-6). Each tree runs in its own processes, alternately (old, new, old, new, ...), each
process timing a median of ``--calls`` calls after a warm call; the table gives per-round
medians and the median of the per-round ratios new / old. Every process also prints a digest of
its default-scaling outputs (states and u_raw bytes): equal digests show that the default
scaling leaves the results bit for bit as they were.

The trees are plain directories holding a ``leaky_control`` package (``git archive`` of a
commit, plus the changed file for the new side); each gets its own numba cache folder in the
temp dir, compiled by a first untimed process.

Run: ``python benchmarks/bench_mlp_scaling.py OLD_TREE NEW_TREE [NEW_TREE ...] [--rounds 7]
[--calls 30]`` (several new trees: variants, all against the first; per-call minima are
reported too, as the machine is shared and a process that shares its core runs at half speed
throughout).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from typing import Any

CHILD = r"""
import hashlib, json, math, statistics, sys, time
import numpy as np
import leaky_control as lc
from leaky_control.simulation import kernel_of, prepare

rng = np.random.default_rng(0)
sizes = [2, 16, 16, 1]
ws = [rng.normal(scale=1.0 / math.sqrt(i), size=(o, i)) for i, o in zip(sizes[:-1], sizes[1:])]
bs = [rng.normal(scale=0.1, size=o) for o in sizes[1:]]
ws[-1] = ws[-1] * 5.0
plant = lc.Pendulum()
ctrl = lc.LeakyMLP(weights=ws, biases=bs, negative_slope=0.1, u_min=-20.0, u_max=20.0)
t = np.linspace(0.0, 30.0, 3001)
x0 = [math.pi + 0.3, 0.0]
calls = int(sys.argv[1])
out = {}
digest = hashlib.sha256()
for name, solver in (("rk4", lc.RK4(max_step=0.01)), ("dopri5", lc.Dopri5())):
    run = prepare(plant, ctrl, t, initial_state=x0, solver=solver)
    k = kernel_of(run)
    T = t.size
    outs = (np.empty((T, run.x0.size)), np.empty((T, 1)), np.empty((T, 1)), np.empty((T, 1)),
            np.zeros(5))
    args = (run.S, run.P, run.C, plant.nstates, 0, 0.0, run.t, run.r, run.d, run.x0, run.opts,
            *outs)
    k(*args)
    times = []
    for _ in range(calls):
        t0 = time.perf_counter(); k(*args); times.append(time.perf_counter() - t0)
    out[name + "_kernel_us"] = 1e6 * statistics.median(times)
    out[name + "_kernel_min_us"] = 1e6 * min(times)
    resp = lc.simulate(plant, ctrl, t, initial_state=x0, solver=solver)
    times = []
    for _ in range(calls):
        t0 = time.perf_counter()
        resp = lc.simulate(plant, ctrl, t, initial_state=x0, solver=solver)
        times.append(time.perf_counter() - t0)
    out[name + "_simulate_us"] = 1e6 * statistics.median(times)
    out[name + "_simulate_min_us"] = 1e6 * min(times)
    digest.update(np.ascontiguousarray(resp.states).tobytes())
    digest.update(np.ascontiguousarray(resp.loop.y[1]).tobytes())
out["digest"] = digest.hexdigest()[:16]
print(json.dumps(out))
"""

KEYS = ("rk4_kernel_us", "rk4_simulate_us", "dopri5_kernel_us", "dopri5_simulate_us")


def run(tree: str, calls: int) -> dict[str, Any]:
    """One child process on ``tree``; returns its timings and digest."""
    env = dict(os.environ, PYTHONPATH=tree, NUMBA_CACHE_DIR=os.path.join(
        tempfile.gettempdir(), "bench_mlp_scaling_cache_" + os.path.basename(tree.rstrip("/"))))
    res = subprocess.run([sys.executable, "-c", CHILD, str(calls)], env=env, check=True,
                         capture_output=True, text=True, cwd=tempfile.gettempdir())
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    """Run the rounds and print the table."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("old", help="the baseline tree")
    ap.add_argument("new", nargs="+", help="one or more trees compared with it")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--calls", type=int, default=30)
    a = ap.parse_args()
    trees = [a.old, *a.new]
    for tree in trees:  # compile into each tree's cache, untimed
        run(tree, 1)
    rows = []
    for i in range(a.rounds):
        res = [run(tree, a.calls) for tree in trees]  # alternating: old, new..., old, new...
        rows.append(res)
        print(f"round {i + 1}: " + ", ".join(
            f"{k} " + "/".join(f"{r[k]:.0f}" for r in res) for k in KEYS), flush=True)
    print(f"load average at end: {os.getloadavg()[0]:.2f}")
    print("| tree | what | median of process medians | new / old: median of per-round ratios "
          "of medians (range) | of minima |")
    print("| --- | --- | --- | --- | --- |")
    for j, tree in enumerate(trees):
        for k in KEYS:
            med = statistics.median(r[j][k] for r in rows)
            kmin = k.replace("_us", "_min_us")
            q = [r[j][k] / r[0][k] for r in rows]
            qm = statistics.median(r[j][kmin] / r[0][kmin] for r in rows)
            ratio = "-" if j == 0 else f"{statistics.median(q):.3f} ({min(q):.2f}-{max(q):.2f})"
            print(f"| {os.path.basename(tree.rstrip('/'))} | {k.replace('_us', '')} | "
                  f"{med:.0f} us | {ratio} | {'-' if j == 0 else f'{qm:.3f}'} |")
    digests = {r[j]["digest"] for r in rows for j in range(len(trees))}
    print(f"output digests (every tree, default scaling): {sorted(digests)}"
          + (" -> bit for bit equal" if len(digests) == 1 else " -> DIFFERENT"))


if __name__ == "__main__":
    main()
