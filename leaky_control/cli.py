"""The leaky-control command line (also ``python -m leaky_control``).

- ``demo``: the flagship cruise-control study (PNG + CSV);
- ``run FILE.toml``: a study described in a scenario file (docs/scenarios.md);
- ``sweep FILE.toml``: a scenario's parameter sweep, with progress and checkpoints;
- ``studies [NAME]``: list the shipped studies and scenarios, or run one;
- ``warmup``: compile (or load) the shipped studies' kernels up front.

Progress goes to stderr as it happens, results to stdout. A bad scenario or argument prints
one line to stderr and exits with status 2 (no traceback).
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import math
import os
import pkgutil
import sys
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["main", "output_folder", "positive_int", "positive_seconds", "shipped_studies"]

#: exit statuses: bad input (as argparse), a run that failed, interrupted (as shells)
EXIT_USAGE, EXIT_FAILED, EXIT_INTERRUPTED = 2, 1, 130


def positive_seconds(text: str) -> float:
    """argparse type: a finite time > 0 in seconds.

    Parameters
    ----------
    text : str

    Returns
    -------
    float
    """
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of seconds, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be finite and > 0, got {text!r}")
    return value


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1.

    Parameters
    ----------
    text : str

    Returns
    -------
    int
    """
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text!r}")
    return value


def output_folder(text: str) -> str:
    """argparse type: a folder that exists or can be made, and can be written to.

    Parameters
    ----------
    text : str

    Returns
    -------
    str
    """
    try:
        os.makedirs(text, exist_ok=True)
    except OSError as exc:
        raise argparse.ArgumentTypeError(f"cannot create folder {text!r}: {exc.strerror}") from None
    if not os.access(text, os.W_OK | os.X_OK):
        raise argparse.ArgumentTypeError(f"folder {text!r} is not writable")
    return text


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class _Refused(Exception):
    """Bad input found by a command: one line on stderr, exit status 2."""


# --- the shipped studies ----------------------------------------------------------------------

def _python_studies() -> dict[str, tuple[str, Callable[[list[str]], int]]]:
    """Modules of :mod:`leaky_control.studies` with a ``main(argv)``: name -> (summary, main)."""
    from . import studies

    out: dict[str, tuple[str, Callable[[list[str]], int]]] = {}
    for info in pkgutil.iter_modules(studies.__path__):
        if info.name.startswith("_"):
            continue
        mod = importlib.import_module(f"{studies.__name__}.{info.name}")
        main_fn = getattr(mod, "main", None)
        if not callable(main_fn):
            continue
        try:
            takes_argv = len(inspect.signature(main_fn).parameters) >= 1
        except (TypeError, ValueError):
            takes_argv = False
        if takes_argv:
            summary = (mod.__doc__ or "").strip().splitlines()[0:1]
            out[info.name] = (summary[0].rstrip(".") if summary else "", main_fn)
    return out


def shipped_studies() -> list[tuple[str, str, str]]:
    """Every shipped study: ``[(name, kind, summary), ...]``.

    Python studies (the modules of :mod:`leaky_control.studies` that define ``main(argv)``)
    are named by module; scenario files (``leaky_control/scenarios/shipped``) by file name,
    ``.toml`` included, so the two never collide.

    Returns
    -------
    list of (str, str, str)
        ``kind`` is ``"python"`` or ``"scenario"`` (``"sweep"`` for a scenario with a
        ``[sweep]`` table).
    """
    import tomllib

    from .scenarios import shipped_scenarios

    rows = [(name, "python", summary) for name, (summary, _) in _python_studies().items()]
    for name, path in shipped_scenarios().items():
        try:
            with open(path, "rb") as fh:
                data = tomllib.load(fh)
        except (OSError, tomllib.TOMLDecodeError) as exc:
            rows.append((name, "scenario", f"(unreadable: {exc})"))
            continue
        summary = data.get("summary") or data.get("title") or ""
        rows.append((name, "sweep" if "sweep" in data else "scenario", str(summary)))
    return rows


def _scenario_path(text: str) -> str:
    """A scenario file given on the command line: a path, or a shipped scenario's name."""
    if os.path.exists(text):
        return text
    from .scenarios import shipped_path, shipped_scenarios

    if os.sep not in text and "/" not in text:  # a bare name may be a shipped scenario
        try:
            return shipped_path(text)
        except LookupError:
            pass
    raise _Refused(f"scenario file {text!r} not found (shipped scenarios: "
                   f"{', '.join(shipped_scenarios())})")


# --- commands ---------------------------------------------------------------------------------

def _load(args: argparse.Namespace) -> Any:
    from .scenarios import load_scenario

    return load_scenario(_scenario_path(args.scenario), args.set or (),
                         final_time=args.final_time)


def _cmd_run(args: argparse.Namespace) -> int:
    from .scenarios.runner import format_metrics, run_scenario

    scenario = _load(args)
    if scenario.sweep is not None and not args.ignore_sweep:
        _progress(f"note: {scenario.name} has a [sweep] table; 'leaky-control sweep' runs it, "
                  "'run' simulates the base loops only")
    _progress(f"scenario {scenario.name}: {scenario.title}")
    result = run_scenario(scenario, args.out, report=_progress)
    print(format_metrics(result))
    for path in result.files:
        print(f"wrote {path}")
    if result.failed:
        _progress(f"{len(result.failed)} of {len(result.outcomes)} runs failed (see the "
                  "status column of the metrics table)")
        return EXIT_FAILED
    return 0


def _cmd_sweep(args: argparse.Namespace) -> int:
    from .scenarios.runner import run_sweep

    scenario = _load(args)
    if scenario.sweep is None:
        raise _Refused(f"{args.scenario}: sweep: missing; a sweep scenario needs a [sweep] "
                       "table with a [sweep.grid] of parameter values (docs/scenarios.md)")
    _progress(f"scenario {scenario.name}: {scenario.title}")
    outcome = run_sweep(scenario, args.out, checkpoint=args.checkpoint,
                        progress=not args.no_progress, report=_progress)
    res = outcome.result
    print(f"{int(res.success.sum())} of {len(res)} points ran"
          + (f"; failed points: {', '.join(str(int(i)) for i in res.failed[:20])}"
             + (" ..." if res.failed.size > 20 else "") if res.failed.size else ""))
    for path in outcome.files:
        print(f"wrote {path}")
    return EXIT_FAILED if res.failed.size else 0


def _cmd_studies(args: argparse.Namespace) -> int:
    rows = shipped_studies()
    if args.name is None:
        width = max(len(r[0]) for r in rows)
        for name, kind, summary in rows:
            print(f"{name:<{width}}  {kind:<8}  {summary}")
        return 0
    names = {r[0]: r for r in rows}
    if args.name not in names:
        from .scenarios.registry import close_match

        raise _Refused(f"no shipped study {args.name!r}{close_match(args.name, list(names))}; "
                       f"shipped: {', '.join(names)}")
    _, kind, _ = names[args.name]
    if kind == "python":
        _, main_fn = _python_studies()[args.name]
        argv = ["--out", args.out]
        if args.final_time is not None:
            argv += ["--final-time", repr(args.final_time)]
        _progress(f"running study {args.name} (a first run compiles its kernels, ~10-30 s; "
                  "cached afterwards)...")
        return int(main_fn(argv) or 0)
    ns = argparse.Namespace(scenario=args.name, set=args.set, final_time=args.final_time,
                            out=args.out, checkpoint=None, no_progress=False,
                            ignore_sweep=False)
    return _cmd_sweep(ns) if kind == "sweep" else _cmd_run(ns)


def _cmd_warmup(args: argparse.Namespace) -> int:
    from .precompile import NAME_WIDTH, report_header, report_line, warmup

    _progress("warming up the shipped studies' kernels: each compiles on a cold cache "
              "(about a minute in all) or loads from the disk cache (seconds)")
    print(report_header(), flush=True)
    timings = warmup(analysis=not args.no_analysis,
                     on_ready=lambda t: print(report_line(t), flush=True))
    print(f"{'total':<{NAME_WIDTH}}  {sum(t.seconds for t in timings):8.2f}")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from .studies import cruise_control

    _progress("running the cruise-control study (a first run compiles its kernel, ~10 s; "
              "cached afterwards)...")
    return int(cruise_control.main(["--out", args.out, "--final-time", str(args.final_time)])
               or 0)


def _parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="leaky-control",
        description="Leaky-ReLU feedback controllers: run the flagship study (demo), a scenario "
                    "file (run, sweep), a shipped study (studies), or compile the kernels up "
                    "front (warmup).")
    parser.add_argument("--version", action="version", version=f"leaky-control {__version__}")
    parser.add_argument("--traceback", action="store_true", help=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="flagship cruise-control study: ReLU vs leaky vs linear P speed "
                                       "control on a descent, with and without a brake "
                                       "(PNG + CSV)")
    demo.add_argument("--out", type=output_folder, default="results",
                      help="output folder (default: results)")
    demo.add_argument("--final-time", type=positive_seconds, default=60.0,
                      help="simulated time [s]")

    def scenario_options(p: argparse.ArgumentParser, default_out: str | None) -> None:
        p.add_argument("scenario", metavar="FILE.toml",
                       help="scenario file, or the name of a shipped one (see 'studies')")
        p.add_argument("--out", type=output_folder, required=default_out is None,
                       default=default_out, help="output folder (created if missing)")
        p.add_argument("--final-time", type=positive_seconds, default=None,
                       help="override time.final [s]")
        p.add_argument("--set", action="append", metavar="KEY=VALUE",
                       help="override a key, e.g. --set controller[0].kp=0.6 --set "
                            "'controller.negative_slopes=[0, 1]' (TOML values; repeatable)")

    run = sub.add_parser("run", help="run a scenario file: metrics CSV, response CSV, "
                                     "step-response grid PNG")
    scenario_options(run, None)
    run.add_argument("--ignore-sweep", action="store_true", help=argparse.SUPPRESS)

    sweep = sub.add_parser("sweep", help="run a scenario's [sweep] grid with lc.sweep: one CSV "
                                         "row per point (parameters, metrics, status)")
    scenario_options(sweep, None)
    sweep.add_argument("--checkpoint", type=output_folder, default=None,
                       help="folder for resumable chunk files (rerun to resume)")
    sweep.add_argument("--no-progress", action="store_true",
                       help="no progress bar or per-chunk lines")

    studies = sub.add_parser("studies", help="list the shipped studies and scenarios, or run "
                                             "one: studies NAME --out DIR")
    studies.add_argument("name", nargs="?", help="study or scenario to run")
    studies.add_argument("--out", type=output_folder, default="results",
                         help="output folder (default: results)")
    studies.add_argument("--final-time", type=positive_seconds, default=None,
                         help="simulated time [s] (default: the study's)")
    studies.add_argument("--set", action="append", metavar="KEY=VALUE",
                         help="override a scenario key (scenarios only)")

    warm = sub.add_parser("warmup", help="compile the shipped studies' numba kernels now (or "
                                         "load them from the disk cache), reporting each as "
                                         "it is ready")
    warm.add_argument("--no-analysis", action="store_true",
                      help="skip the exact-Lipschitz and training kernels")
    return parser


_COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "demo": _cmd_demo, "run": _cmd_run, "sweep": _cmd_sweep, "studies": _cmd_studies,
    "warmup": _cmd_warmup}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``leaky-control`` console script.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments (default ``sys.argv[1:]``).

    Returns
    -------
    int
        Exit status: 0 success, 1 some runs failed, 2 bad input (one line on stderr), 130
        interrupted.
    """
    from .scenarios.schema import ScenarioError

    args = _parser().parse_args(None if argv is None else list(argv))
    if args.command == "studies" and args.set and args.name is None:
        _progress("leaky-control studies: error: --set needs a scenario NAME")
        return EXIT_USAGE
    try:
        return _COMMANDS[args.command](args)
    except (ScenarioError, _Refused) as exc:
        _progress(f"leaky-control {args.command}: error: {exc}")
        return EXIT_USAGE
    except (ValueError, TypeError) as exc:
        # the library's own refusals (a step budget, a model's check at run time): one line,
        # as for a scenario error; --traceback shows where
        if args.traceback:
            raise
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        _progress(f"leaky-control {args.command}: error: {first}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        _progress(f"leaky-control {args.command}: interrupted")
        return EXIT_INTERRUPTED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
