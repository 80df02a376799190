"""Run the studies of ``simulations/`` for the sphinx-gallery pages and collect their figures.

The studies are command-line programs: they write PNG and CSV files into ``--out DIR`` and close
their figures, so sphinx-gallery's matplotlib scraper would find nothing. This module gives each
script its arguments (an output folder under the build directory, plus smaller problem sizes in
quick mode) and scrapes the PNG files the script wrote, so every figure appears on the page of
the code that made it.

The mode comes from the environment variable ``LEAKY_CONTROL_GALLERY``:

``quick`` (default)
    every study runs with the small arguments of :data:`QUICK_ARGS` (the page says which);
``full``
    every study runs as published (only ``--out``);
``off``
    nothing runs; the gallery pages and the build log say so.

sphinx-gallery imports :func:`reset_argv`, :func:`scrape_study_pngs` and
:func:`reset_sys_exit` by their dotted names (``gallery_helpers.reset_argv``...), which keeps
the configuration picklable.
"""

from __future__ import annotations

import ast
import os
import shutil
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NoReturn

__all__ = [
    "MODES",
    "QUICK_ARGS",
    "gallery_mode",
    "reset_argv",
    "reset_sys_exit",
    "scrape_study_pngs",
    "study_args",
    "study_order",
]

MODES = ("quick", "full", "off")
ENV_VAR = "LEAKY_CONTROL_GALLERY"

#: Quick-mode arguments per study (script stem). A study missing here is cheap and runs as
#: published (dying_relu: its own --quick stops training before the leaky unit revives, which
#: is the figure's point). The values cut grid sizes and epochs but keep each figure's message;
#: several scripts' own --quick (3 leaks) is a smoke test too coarse to show a curve.
QUICK_ARGS: dict[str, list[str]] = {
    "certified_nn_controller": ["--quick"],
    "corrective_signal": ["--epochs", "30"],
    "cruise_control": ["--quick"],
    "lipschitz_vs_slope": ["--n-slopes", "5"],
    "slope_gain_sweep": ["--n", "9"],
    "stability_vs_slope": ["--n-slopes", "11"],
}

# Set by conf.py's setup() from the Sphinx application: the folder under the build output that
# receives each study's --out folder, so nothing is written into the source tree.
OUT_ROOT: Path | None = None

# The PNG files already shown, per study, so a script split into several cells shows each
# figure once, after the cell that wrote it.
_SEEN: dict[str, set[str]] = {}

_REAL_EXIT: Callable[..., NoReturn] = sys.exit


#: Studies shown first in the gallery, in this order; the others follow by file name.
FIRST = ("cruise_control", "slope_gain_sweep", "corrective_signal")


def study_order(filename: str) -> tuple[int, str]:
    """sphinx-gallery ``within_subsection_order``: the flagship first, then by file name.

    Parameters
    ----------
    filename : str
        A script's file name.

    Returns
    -------
    tuple of (int, str)
        The sort key.
    """
    stem = Path(filename).stem
    return (FIRST.index(stem) if stem in FIRST else len(FIRST), stem)


def gallery_mode(environ: Mapping[str, str] | None = None) -> str:
    """Return the gallery mode named by ``LEAKY_CONTROL_GALLERY`` (default ``"quick"``).

    Parameters
    ----------
    environ : mapping of str to str, optional
        The environment to read (default :data:`os.environ`).

    Returns
    -------
    str
        One of :data:`MODES`.

    Raises
    ------
    ValueError
        If the variable holds anything else.
    """
    env = os.environ if environ is None else environ
    mode = env.get(ENV_VAR, "quick").strip().lower() or "quick"
    if mode not in MODES:
        raise ValueError(f"{ENV_VAR} must be one of {', '.join(MODES)}, got {mode!r}")
    return mode


def study_args(stem: str, mode: str) -> list[str]:
    """Return the arguments (without ``--out``) a study runs with in a gallery mode.

    Parameters
    ----------
    stem : str
        The script's file name without ``.py``.
    mode : str
        ``"quick"`` or ``"full"``.

    Returns
    -------
    list of str
    """
    if mode not in ("quick", "full"):
        raise ValueError(f"mode must be 'quick' or 'full' for a run, got {mode!r}")
    return list(QUICK_ARGS.get(stem, [])) if mode == "quick" else []


def output_folder(stem: str) -> Path:
    """Return (and create) the ``--out`` folder of a study under the build directory.

    Parameters
    ----------
    stem : str
        The script's file name without ``.py``.

    Returns
    -------
    pathlib.Path
    """
    if OUT_ROOT is None:
        raise RuntimeError("gallery_helpers.OUT_ROOT is unset: docs/conf.py's setup() sets it")
    folder = OUT_ROOT / stem
    # a stale PNG from an earlier build must not be shown as this run's figure
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def reset_argv(gallery_conf: Mapping[str, Any], script_vars: Mapping[str, Any]) -> list[str]:
    """sphinx-gallery ``reset_argv``: the command line a study runs with.

    Parameters
    ----------
    gallery_conf : mapping
        sphinx-gallery's configuration (unused).
    script_vars : mapping
        sphinx-gallery's per-script variables; ``src_file`` is the script.

    Returns
    -------
    list of str
        ``sys.argv[1:]`` for the script.
    """
    src = Path(script_vars["src_file"])
    stem = src.stem
    _SEEN[stem] = set()
    # sphinx-gallery blanks __doc__ (it shows the docstring as prose); the studies build their
    # argparse description from it, as they may when run as programs: give it back.
    globals_ = script_vars.get("example_globals")
    if globals_ is not None:
        globals_["__doc__"] = ast.get_docstring(ast.parse(src.read_text()), clean=False)
    return ["--out", str(output_folder(stem)), *study_args(stem, gallery_mode())]


def scrape_study_pngs(block: Any, block_vars: Mapping[str, Any],
                      gallery_conf: Mapping[str, Any]) -> str:
    """sphinx-gallery image scraper: the PNG files a study wrote into its ``--out`` folder.

    Parameters
    ----------
    block : object
        The code block that just ran (unused).
    block_vars : mapping
        sphinx-gallery's block variables (``src_file``, ``image_path_iterator``).
    gallery_conf : mapping
        sphinx-gallery's configuration (``src_dir``).

    Returns
    -------
    str
        reST showing the new images, or ``""``.
    """
    from sphinx_gallery.scrapers import figure_rst

    stem = Path(block_vars["src_file"]).stem
    if OUT_ROOT is None or not (OUT_ROOT / stem).is_dir():
        return ""
    seen = _SEEN.setdefault(stem, set())
    new = sorted(p for p in (OUT_ROOT / stem).rglob("*.png") if str(p) not in seen)
    targets = []
    for png, target in zip(new, block_vars["image_path_iterator"], strict=False):
        shutil.copyfile(png, target)
        seen.add(str(png))
        targets.append(target)
    return figure_rst(targets, gallery_conf["src_dir"])


def _exit_without_stopping_the_build(status: object = None) -> None:
    # The scripts end with sys.exit(main()). Under sphinx-gallery that SystemExit is not an
    # Exception: it would end the Sphinx process itself (with status 0, so silently). A zero
    # status is the script finishing; any other is a failure sphinx-gallery must report.
    if status not in (None, 0):
        raise RuntimeError(f"the study exited with status {status!r}")


def reset_sys_exit(gallery_conf: Mapping[str, Any], fname: str, when: str) -> None:
    """sphinx-gallery ``reset_modules`` hook: neutralise ``sys.exit`` while a study runs.

    Parameters
    ----------
    gallery_conf : mapping
        sphinx-gallery's configuration (unused).
    fname : str
        The script's file name (unused).
    when : str
        ``"before"`` or ``"after"`` the script runs.
    """
    sys.exit = _exit_without_stopping_the_build if when == "before" else _REAL_EXIT  # type: ignore[assignment]
