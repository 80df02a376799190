"""Benchmark: contraction certificates and the exact circle test (medians, side by side).

Targets (issue 5): a 4-state, 2-input state-feedback certificate (4 vertices, bisection to
1e-4) in at most 2 s; the exact circle test in milliseconds.

Run::

    /work/venv/bin/python benchmarks/bench_contraction.py --repeat 7
"""

from __future__ import annotations

import argparse
import os
import platform
import sys

import control as ct
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _reference import time_stats  # noqa: E402


def state_feedback_case():
    """Two coupled mass-spring-dampers (4 states, 2 forces) with an LQR gain as leaky feedback."""
    A = np.array([[0.0, 1.0, 0.0, 0.0],
                  [-2.0, -0.2, 1.0, 0.0],
                  [0.0, 0.0, 0.0, 1.0],
                  [1.0, 0.0, -2.0, -0.2]])
    B = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 0.0], [0.0, 1.0]])
    K, _, _ = ct.lqr(A, B, np.eye(4), np.eye(2))
    return A, B, np.asarray(K)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)

    from leaky_control.analysis.contraction import contraction_rate
    from leaky_control.analysis.sector import (
        _hinf_hamiltonian,
        _imag_axis_freqs,
        circle_criterion,
    )

    print(f"python {platform.python_version()}, {os.cpu_count()} cores, "
          f"load average before: {os.getloadavg()}")
    rows = []

    A, B, K = state_feedback_case()
    a = 0.3
    cert = contraction_rate(A, B, K, 1.0, a)  # warm-up: imports, cvxpy canonicalisation
    assert cert.success and cert.check(), cert.message
    med, lo, hi = time_stats(lambda: contraction_rate(A, B, K, 1.0, a), args.repeat)
    rows.append(("state-feedback certificate, n=4, m=2 (4 vertices), rate_tol=1e-4",
                 med, lo, hi, f"rate {cert.rate:.5f}, {cert.n_solves} SDPs"))

    sys3 = ct.ss(ct.tf([1], [1, 3, 3, 1]))
    A3, B3, C3 = (np.asarray(m) for m in (sys3.A, sys3.B, sys3.C))
    cert3 = contraction_rate(A3, B3, C3, 5.0, 0.5)
    med, lo, hi = time_stats(lambda: contraction_rate(A3, B3, C3, 5.0, 0.5), args.repeat)
    rows.append(("SISO certificate 1/(s+1)^3, k=5, a=0.5", med, lo, hi,
                 f"rate {cert3.rate:.5f}, {cert3.n_solves} SDPs"))

    # exact circle verdict alone: one 2n x 2n Hamiltonian eigenvalue problem
    k, a3 = 5.0, 0.5
    sigma, delta = k * (1 + a3) / 2, k * (1 - a3) / 2
    Ac = A3 - sigma * B3 @ C3

    def exact_only():
        ok = np.max(np.linalg.eigvals(Ac).real) < 0
        return ok and _imag_axis_freqs(_hinf_hamiltonian(Ac, B3, C3, 1.0 / delta)).size == 0

    reps = max(args.repeat, 200)
    med, lo, hi = time_stats(exact_only, reps)
    rows.append(("exact circle verdict (Hamiltonian eigenvalues), n=3", med, lo, hi, ""))
    med, lo, hi = time_stats(lambda: circle_criterion(A3, B3, C3, k, a3), args.repeat * 5)
    rows.append(("circle_criterion (exact + H-inf margin + 2x2000-pt sweep), n=3",
                 med, lo, hi, ""))
    w = np.concatenate([[0.0], np.geomspace(1e-3, 1e3, 4000)])
    ref_sys = ct.ss(Ac, B3, C3, 0)
    med, lo, hi = time_stats(
        lambda: np.max(np.abs(ct.frequency_response(ref_sys, w).complex)) * delta < 1,
        args.repeat * 5)
    rows.append(("reference: python-control frequency_response sweep, 4001 pts", med, lo, hi, ""))

    print()
    print("| case | median | min | max | note |")
    print("|---|---|---|---|---|")
    for name, med, lo, hi, note in rows:
        def f(t):
            return f"{t * 1e3:.3f} ms" if t < 1 else f"{t:.3f} s"
        print(f"| {name} | {f(med)} | {f(lo)} | {f(hi)} | {note} |")
    print(f"\nload average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
