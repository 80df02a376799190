"""Speed of the Lipschitz analysis against the targets of issue 4.

Run: ``python benchmarks/bench_lipschitz.py [--repeat N]``. Prints the median (and min/max)
wall time of each case; the first call of each case (numba cache load, cvxpy import) is a
warm-up and is reported separately. Targets:

* LipSDP-Neuron, 10-32-32-1 network, Clarabel: <= 2 s;
* naive bound and sampled lower bound, ~1e5 weights: well under 1 s;
* exact enumeration, one hidden layer of n = 20: <= 10 s.
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import time

import numpy as np

from leaky_control.analysis.lipschitz import lipschitz_bound, lipschitz_lower_bound


def net(sizes, seed=0):
    rng = np.random.default_rng(seed)
    ws = [rng.standard_normal((o, i)) / np.sqrt(i) for i, o in itertools.pairwise(sizes)]
    bs = [0.1 * rng.standard_normal(o) for o in sizes[1:]]
    return ws, bs


def timed(fn, repeat):
    t0 = time.perf_counter()
    first = fn()
    warm = time.perf_counter() - t0
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return first, warm, times


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="timed repetitions per case")
    args = parser.parse_args(argv)
    a = 0.01
    w_sdp, _ = net([10, 32, 32, 1])
    w_big, b_big = net([128, 256, 256, 1])
    w_ex1, _ = net([10, 20, 1])
    w_ex3, _ = net([10, 20, 3])
    w_reg, b_reg = net([2, 12, 1])
    n_big = sum(w.size for w in w_big)
    cases = [
        ("lipsdp 10-32-32-1 (Clarabel)", lambda: lipschitz_bound(w_sdp, None, a, "lipsdp"), 2.0),
        ("lipsdp-layer 10-32-32-1", lambda: lipschitz_bound(w_sdp, None, a, "lipsdp-layer"), None),
        (
            "lipsdp 10-32-32-1 (SCS)",
            lambda: lipschitz_bound(w_sdp, None, a, "lipsdp", solver="SCS"),
            None,
        ),
        (f"naive, {n_big} weights", lambda: lipschitz_bound(w_big, None, a, "naive"), 1.0),
        (
            f"sampled lower bound, {n_big} weights (1024 samples + 48 local rounds)",
            lambda: lipschitz_lower_bound(w_big, b_big, a, seed=0),
            1.0,
        ),
        ("exact 10-20-1 (2^20 patterns)", lambda: lipschitz_bound(w_ex1, None, a, "exact"), 10.0),
        (
            "exact 10-20-3 (2^20 patterns, 2-norm)",
            lambda: lipschitz_bound(w_ex3, None, a, "exact"),
            10.0,
        ),
        ("exact-regions 2-12-1", lambda: lipschitz_bound(w_reg, b_reg, a, "exact-regions"), None),
    ]
    print(f"load average at start: {os.getloadavg()}; cpu count: {os.cpu_count()}")
    print(f"{'case':<66} {'value':>10} {'first':>8} {'median':>8} {'min':>8} {'max':>8} target")
    for name, fn, target in cases:
        res, warm, times = timed(fn, args.repeat)
        med = statistics.median(times)
        verdict = (
            "" if target is None else (f"<= {target:g} s " + ("met" if med <= target else "MISSED"))
        )
        print(
            f"{name:<66} {float(res.value):>10.5g} {warm:>8.3f} {med:>8.3f} "
            f"{min(times):>8.3f} {max(times):>8.3f} {verdict}"
        )
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
