"""The leaky-control command line: demo runs the flagship cruise-control study, warmup
compiles every kernel up front. Also python -m leaky_control."""

from __future__ import annotations

import argparse
import math
import os
import sys

__all__ = ["main", "output_folder", "positive_int", "positive_seconds"]


def positive_seconds(text):
    """argparse type: a finite time > 0 in seconds."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of seconds, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be finite and > 0, got {text!r}")
    return value


def positive_int(text):
    """argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text!r}")
    return value


def output_folder(text):
    """argparse type: a folder that exists or can be made, and can be written to."""
    try:
        os.makedirs(text, exist_ok=True)
    except OSError as exc:
        raise argparse.ArgumentTypeError(f"cannot create folder {text!r}: {exc.strerror}") from None
    if not os.access(text, os.W_OK | os.X_OK):
        raise argparse.ArgumentTypeError(f"folder {text!r} is not writable")
    return text


def main(argv=None):
    """Entry point of the ``leaky-control`` console script.

    Parameters
    ----------
    argv : list of str, optional
        Arguments (default ``sys.argv[1:]``).

    Returns
    -------
    int
        Exit status.
    """
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="leaky-control",
        description="Leaky-ReLU feedback controllers: run the flagship study (demo) or compile "
                    "the kernels up front (warmup).")
    parser.add_argument("--version", action="version", version=f"leaky-control {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="cruise-control study: ReLU vs leaky vs linear PI, "
                                       "with and without a brake (PNG + CSV)")
    demo.add_argument("--out", type=output_folder, default="results",
                      help="output folder (default: results)")
    demo.add_argument("--final-time", type=positive_seconds, default=60.0,
                      help="simulated time [s]")
    warm = sub.add_parser("warmup", help="compile the shipped studies' numba kernels now (or "
                                         "load them from the disk cache) and report the time "
                                         "each took")
    warm.add_argument("--no-analysis", action="store_true",
                      help="skip the exact-Lipschitz and training kernels")
    args = parser.parse_args(argv)
    if args.command == "warmup":
        from .precompile import format_report, warmup

        print(format_report(warmup(analysis=not args.no_analysis)))
        return 0
    if args.command == "demo":
        from .studies import cruise_control

        return cruise_control.main(["--out", args.out, "--final-time", str(args.final_time)])
    return 2  # pragma: no cover - argparse rejects unknown commands


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
