"""Time of the global closed-loop certificate of a 2-32-32-1 Leaky-ReLU network controller.

The same certificate (``analysis.nn_loop.global_certificate``: one LMI per bisection step on the
rate) solved by the package's log-barrier solver and by cvxpy with Clarabel and SCS, alternating
in one process so load drifts hit every solver alike; medians of ``--repeats`` runs, and the
ratio to the barrier solver. The LMI has size n + 2 * 32 + 1 (68 here) with 64 multipliers.

Run: ``OPENBLAS_NUM_THREADS=1 python benchmarks/bench_nn_certificate.py [--repeats 3]``
(one BLAS thread: on 2 shared cores, threads fighting over them cost up to 10x).
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
    args = parser.parse_args()
    A = np.array([[-1.0, 1.0], [0.0, -2.0]])
    B = np.array([[0.0], [1.0]])
    W = network()
    solvers = ("barrier", "CLARABEL", "SCS")
    for a in (0.3, 0.9):
        times: dict[str, list[float]] = {s: [] for s in solvers}
        results = {}
        for _ in range(args.repeats):
            for s in solvers:
                t0 = time.perf_counter()
                results[s] = global_certificate(A, B, W, None, a, solver=s)
                times[s].append(time.perf_counter() - t0)
        base = statistics.median(times["barrier"])
        for s in solvers:
            c, med = results[s], statistics.median(times[s])
            print(f"a = {a}: {s:8s} {c.status:14s} rate {c.rate:.4f} {c.n_solves:2d} SDPs "
                  f"median {med:6.2f} s ({med / base:4.1f}x barrier)")


if __name__ == "__main__":
    main()
