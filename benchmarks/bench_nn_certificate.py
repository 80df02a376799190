"""Time of the global closed-loop certificate of a 2-32-32-1 Leaky-ReLU network controller.

The same certificate (``analysis.nn_loop.global_certificate``: one LMI per bisection step on the
rate) solved by the package's log-barrier solver and by cvxpy with Clarabel and SCS, alternating
in one process so load drifts hit every solver alike; medians of ``--repeats`` runs, and the
ratio to the barrier solver. The LMI has size n + 2 * 32 (66 here) with 64 multipliers.

Run: ``OPENBLAS_NUM_THREADS=1 python benchmarks/bench_nn_certificate.py [--repeats 3]
[--slopes 0.3 0.9] [--solvers barrier CLARABEL SCS]`` (one BLAS thread: on 2 shared cores,
threads fighting over them cost up to 10x). The barrier is always run: it is the reference.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from leaky_control.analysis.nn_loop import global_certificate


def network(seed: int = 0) -> list[np.ndarray]:
    """Weights of a random 2-32-32-1 network (Kaiming-like scaling) whose loop is certified.

    The second draw of the stream: the first gives a loop that some constant choice of slopes
    already destabilises, which the certificate reports without solving anything.
    """
    rng = np.random.default_rng(seed)
    for _ in range(2):
        W = [rng.standard_normal((32, 2)) / np.sqrt(2),
             rng.standard_normal((32, 32)) / np.sqrt(32),
             rng.standard_normal((1, 32)) / np.sqrt(32)]
    return W


def main() -> None:
    """Print one line per (slope, solver): status, rate, SDPs, median seconds, ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--slopes", type=float, nargs="+", default=[0.3, 0.9])
    parser.add_argument("--solvers", nargs="+", default=["barrier", "CLARABEL", "SCS"])
    args = parser.parse_args()
    A = np.array([[-1.0, 1.0], [0.0, -2.0]])
    B = np.array([[0.0], [1.0]])
    W = network()
    solvers = ["barrier", *(s for s in args.solvers if s != "barrier")]
    for a in args.slopes:
        times: dict[str, list[float]] = {s: [] for s in solvers}
        results = {}
        for _ in range(args.repeats):
            for s in solvers:
                t0 = time.perf_counter()
                results[s] = global_certificate(A, B, W, None, a, solver=s)
                times[s].append(time.perf_counter() - t0)
        base = statistics.median(times["barrier"])
        ref = results["barrier"].rate
        for s in solvers:
            c, med = results[s], statistics.median(times[s])
            print(f"a = {a}: {s:8s} {c.status:14s} rate {c.rate:.4f} "
                  f"({c.rate / ref:.4f} of barrier) {c.n_solves:2d} SDPs "
                  f"median {med:6.2f} s ({med / base:5.1f}x barrier)", flush=True)


if __name__ == "__main__":
    main()
