"""Training speed: leaky_control.bridge.training vs PyTorch CPU on the same problem.

8-64-64-1 leaky-ReLU MLP (a = 0.01), 1,024 points, batch 32, 30 epochs, SGD (lr 0.01) and Adam
(lr 1e-3); identical initial weights and identical per-epoch shuffles, so the float64 runs must
end at the same loss (printed as a check). Repeats are interleaved (ours, torch, ours, ...) so
both see the same machine load; the median time per epoch is reported.

Run: ``python benchmarks/bench_training.py [--repeats 7] [--threads 1]``. Never part of the
test suite. Our kernels are single-threaded; ``--threads`` sets ``torch.set_num_threads``.
"""

from __future__ import annotations

import argparse
import itertools
import os
import platform
import statistics
import time

import numpy as np

from leaky_control.bridge.init import init_mlp
from leaky_control.bridge.training import train

SIZES = [8, 64, 64, 1]
N, BATCH, EPOCHS, SLOPE = 1024, 32, 30, 0.01
LRS = {"sgd": 0.01, "adam": 1e-3}


def problem():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(N, 8))
    y = np.sin(x[:, :1]) + x[:, 1:2] * x[:, 2:3]
    return x, y, init_mlp(SIZES, "leaky", SLOPE, rng=0)


def run_ours(net, x, y, opt, track):
    t = time.perf_counter()
    h = train(net, x, y, opt, LRS[opt], EPOCHS, BATCH, seed=0, track=track)
    return (time.perf_counter() - t) / EPOCHS, h.loss[-1]


def run_torch(torch, net, x, y, opt, dtype):
    lins = [torch.nn.Linear(a, b).to(dtype) for a, b in itertools.pairwise(SIZES)]
    with torch.no_grad():
        for lin, w, b in zip(lins, net.weights, net.biases, strict=True):
            lin.weight.copy_(torch.tensor(w))
            lin.bias.copy_(torch.tensor(b))
    model = torch.nn.Sequential(
        lins[0], torch.nn.LeakyReLU(SLOPE), lins[1], torch.nn.LeakyReLU(SLOPE), lins[2]
    )
    optim = (
        torch.optim.SGD(model.parameters(), LRS[opt])
        if opt == "sgd"
        else torch.optim.Adam(model.parameters(), LRS[opt])
    )
    xt, yt = torch.tensor(x, dtype=dtype), torch.tensor(y, dtype=dtype)
    rng = np.random.default_rng(0)
    loss_fn = torch.nn.functional.mse_loss
    t = time.perf_counter()
    for _ in range(EPOCHS):
        perm = torch.from_numpy(rng.permutation(N))
        for s in range(0, N, BATCH):
            idx = perm[s : s + BATCH]
            optim.zero_grad(set_to_none=True)
            loss_fn(model(xt[idx]), yt[idx]).backward()
            optim.step()
    dt = (time.perf_counter() - t) / EPOCHS
    with torch.no_grad():
        return dt, loss_fn(model(xt), yt).item()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads")
    args = parser.parse_args(argv)
    x, y, net = problem()
    load_before = os.getloadavg()
    for opt in LRS:  # compile (or load from the numba cache) outside the timings
        train(net, x, y, opt, LRS[opt], 1, BATCH, seed=0)
    try:
        import torch

        torch.set_num_threads(args.threads)
        torch_version = torch.__version__
    except ImportError:
        torch, torch_version = None, "not installed"
    variants = [
        ("ours float64, history tracked", "ours", True),
        ("ours float64, loss only", "ours", False),
    ]
    if torch is not None:
        variants += [
            ("torch float64", "torch", torch.float64),
            ("torch float32", "torch", torch.float32),
        ]
    times = {(v[0], opt): [] for v in variants for opt in LRS}
    losses = {}
    for _ in range(args.repeats):
        for opt in LRS:
            for label, kind, extra in variants:
                if kind == "ours":
                    dt, loss = run_ours(net, x, y, opt, extra)
                else:
                    dt, loss = run_torch(torch, net, x, y, opt, extra)
                times[label, opt].append(dt)
                losses[label, opt] = loss
    load_after = os.getloadavg()
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"load average (1, 5, 15 min) before {load_before}, after {load_after}"
    )
    print(
        f"numpy {np.__version__}, torch {torch_version}, torch threads {args.threads}, "
        f"ours single-threaded; {args.repeats} interleaved repeats, median shown"
    )
    print(
        f"problem: {'-'.join(map(str, SIZES))} leaky a={SLOPE}, {N} points, "
        f"batch {BATCH}, {EPOCHS} epochs"
    )
    print()
    print(
        "| variant | optimizer | ms / epoch (median) | min | max | final loss | vs torch float32 |"
    )
    print("|---|---|---|---|---|---|---|")
    for opt in LRS:
        ref = statistics.median(times["torch float32", opt]) if torch is not None else None
        for label, _, _ in variants:
            ts = times[label, opt]
            med = statistics.median(ts)
            ratio = f"{med / ref:.2f}x" if ref else "n/a"
            print(
                f"| {label} | {opt} | {1e3 * med:.2f} | {1e3 * min(ts):.2f} | {1e3 * max(ts):.2f} "
                f"| {losses[label, opt]:.10f} | {ratio} |"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
