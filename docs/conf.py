"""Sphinx configuration of the leaky_control documentation.

Build (from the repository root)::

    python -m sphinx -W --keep-going -b html docs out/html

Gallery execution is chosen by the environment variable ``LEAKY_CONTROL_GALLERY``
(see ``docs/building.md``):

``quick`` (default)
    every study in ``simulations/`` runs with small arguments (``docs/_ext/gallery_helpers.py``,
    ``QUICK_ARGS``); each page says which;
``full``
    every study runs as published;
``off``
    no study runs; the gallery pages carry a warning box and the build log says so.

Generated sources (``docs/api/modules``, ``docs/api/objects``, ``docs/auto_examples``) are
written into this folder by the build and are git-ignored; the studies' own output goes to
``<build dir>/_gallery_outputs``.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))

import gallery_helpers  # noqa: E402

import leaky_control  # noqa: E402

# -- project -------------------------------------------------------------------------------------

project = "leaky_control"
author = "the leaky_control authors"
copyright = "the leaky_control authors, BSD-3-Clause"
version = release = leaky_control.__version__

# -- extensions ----------------------------------------------------------------------------------

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    # MathJax from the package, not a CDN: the pages render formulas offline too
    "sphinx-mathjax-offline",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "apigen",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
templates_path = ["_templates"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]

# The user guide in reading order. index.md lists the pages that existed when it was written;
# a page of this list that exists but is missing there is added to the toctree at build time
# (_complete_user_guide), so a new guide page never fails the build as "not in any toctree".
USER_GUIDE = ["simulation", "sweeps", "stability", "lipschitz", "certified", "bridge",
              "reliability", "scenarios", "figures", "architecture"]

# -- MyST ----------------------------------------------------------------------------------------

myst_enable_extensions = ["dollarmath", "colon_fence"]
myst_heading_anchors = 3

# -- autodoc, autosummary, numpydoc --------------------------------------------------------------

autosummary_generate = True
autosummary_imported_members = True
autosummary_ignore_module_all = False
autodoc_default_options = {"member-order": "bysource"}
autodoc_typehints = "signature"
autodoc_preserve_defaults = True
# importing leaky_control compiles nothing; nothing needs mocking
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
numpydoc_validation_checks: set[str] = set()

# -- sphinx-gallery ------------------------------------------------------------------------------

GALLERY_MODE = gallery_helpers.gallery_mode()

sphinx_gallery_conf = {
    "examples_dirs": str(HERE.parent / "simulations"),
    "gallery_dirs": "auto_examples",
    # every script in simulations/ is a study, not only plot_*.py
    "filename_pattern": r".*\.py$",
    "ignore_pattern": r"__init__\.py$",
    "plot_gallery": GALLERY_MODE != "off",
    "reset_argv": "gallery_helpers.reset_argv",
    "image_scrapers": ("gallery_helpers.scrape_study_pngs",),
    "reset_modules": ("matplotlib", "gallery_helpers.reset_sys_exit"),
    "reset_modules_order": "both",
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "gallery_helpers.study_order",
    "capture_repr": (),
    "show_memory": False,
    # a failing study fails the build (sphinx-gallery raises at the end of it)
    "only_warn_on_example_error": False,
    "abort_on_example_error": False,
    "min_reported_time": 1,
}

# -- HTML ----------------------------------------------------------------------------------------

html_theme = "pydata_sphinx_theme"
html_title = f"leaky_control {release}"
html_static_path = ["_static"]
html_css_files = ["leaky_control.css"]
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    # the theme's defaults would fetch icons and a version switcher: nothing here needs the net
    "icon_links": [],
}
html_show_sourcelink = False

_MODE_NOTES = {
    "quick": ("note", "This page was built in the quick gallery mode "
              "(``LEAKY_CONTROL_GALLERY=quick``): the study ran with the arguments "
              "``{args}``, smaller than the published run. Run "
              "``python simulations/{stem}.py --out DIR`` for the published figures."),
    "off": ("warning", "This page was built with ``LEAKY_CONTROL_GALLERY=off``: the study was "
            "not run, so no figures are shown. Build with ``LEAKY_CONTROL_GALLERY=quick`` or "
            "``full`` to see them."),
}
_STUDIES = {p.stem for p in (HERE.parent / "simulations").glob("*.py")}
_TITLE = re.compile(r"^(?P<title>[^\n]+)\n(?P<rule>=+)\n", re.M)


def _admonition(kind: str, text: str) -> str:
    return f"\n.. {kind}::\n\n   {text}\n\n"


def _note_gallery_mode(app: Any, docname: str, source: list[str]) -> None:
    # The mode changes what a gallery page shows, so the page says so under its title.
    if not docname.startswith("auto_examples/") or GALLERY_MODE == "full":
        return
    stem = docname.split("/", 1)[1]
    if stem not in _STUDIES and stem != "index":
        return  # sphinx-gallery's own pages (execution times) are not studies
    if stem == "index" and GALLERY_MODE == "quick":
        kind, text = ("note", "This gallery was built in the quick mode "
                      "(``LEAKY_CONTROL_GALLERY=quick``): the heavier studies ran with smaller "
                      "arguments, and their pages say which.")
    elif stem == "index":
        kind, text = ("warning", "This gallery was built with ``LEAKY_CONTROL_GALLERY=off``: "
                      "the studies were not run, so their pages show code without figures.")
    else:
        kind, text = _MODE_NOTES[GALLERY_MODE]
        quick = GALLERY_MODE == "quick"
        args = " ".join(gallery_helpers.study_args(stem, "quick")) if quick else ""
        if GALLERY_MODE == "quick" and not args:
            text = ("This study runs as published in the quick gallery mode too "
                    "(it is cheap).")
        text = text.format(args=args, stem=stem)
    match = _TITLE.search(source[0])
    end = 0 if match is None else match.end()  # no title found: the note goes first, not nowhere
    source[0] = source[0][:end] + _admonition(kind, text) + source[0][end:]


_GUIDE_TOCTREE = re.compile(r"(```\{toctree\}\n:caption: User guide\n(?::[^\n]*\n)*\n)"
                            r"(?P<entries>(?:[^`\n][^\n]*\n)*)```")


def _complete_user_guide(app: Any, docname: str, source: list[str]) -> None:
    if docname != "index":
        return
    match = _GUIDE_TOCTREE.search(source[0])
    if match is None:
        return
    listed = match.group("entries").split()
    entries = [p for p in USER_GUIDE if p in listed or (HERE / f"{p}.md").is_file()]
    entries += [p for p in listed if p not in entries]
    start, end = match.span("entries")
    source[0] = source[0][:start] + "".join(f"{p}\n" for p in entries) + source[0][end:]


def setup(app: Any) -> None:
    """Wire the gallery helpers to this build: output folder, mode log, page notes."""
    from sphinx.util import logging

    gallery_helpers.OUT_ROOT = Path(app.outdir) / "_gallery_outputs"
    log = logging.getLogger("leaky_control.docs")
    if GALLERY_MODE == "off":
        log.info("LEAKY_CONTROL_GALLERY=off: the studies in simulations/ are NOT run; the "
                 "gallery pages show their code without figures and say so.", color="red")
    else:
        log.info(f"LEAKY_CONTROL_GALLERY={GALLERY_MODE}: running every study in simulations/, "
                 f"outputs in {gallery_helpers.OUT_ROOT}")
    app.connect("source-read", _note_gallery_mode)
    app.connect("source-read", _complete_user_guide)
