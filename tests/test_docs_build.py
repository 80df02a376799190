"""The documentation builds with warnings as errors, documents every public name and shows
every study's figures.

The slow tests copy ``docs/``, ``simulations/`` and ``README.md`` into ``tmp_path`` and run
``python -m sphinx -W --keep-going -b html`` there in a subprocess: autosummary and
sphinx-gallery write generated sources next to the originals, which must never happen in the
repository. The API check reads the built HTML, not the generator: every name in the ``__all__``
of every public module must have an anchor in the output, under that module or under another
public module that exports the same object.
"""

from __future__ import annotations

import importlib
import os
import pathlib
import pkgutil
import re
import shutil
import subprocess
import sys
import time
from types import ModuleType

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
EXT = ROOT / "docs" / "_ext"
STUDIES = sorted(p.stem for p in (ROOT / "simulations").glob("*.py"))
ANCHOR = re.compile(r'\bid="(leaky_control(?:\.[A-Za-z_][A-Za-z0-9_]*)+)"')


def _public_modules() -> dict[str, ModuleType]:
    # an independent walk (not docs/_ext/apigen.py's): every module without a private component
    import leaky_control

    found = {"leaky_control": leaky_control}
    for info in pkgutil.walk_packages(leaky_control.__path__, prefix="leaky_control."):
        if any(part.startswith("_") for part in info.name.split(".")):
            continue
        found[info.name] = importlib.import_module(info.name)
    return found


def _exported() -> list[tuple[str, str, object]]:
    """Every ``(module, name, object)`` of every public module's ``__all__``."""
    rows = []
    for modname, module in _public_modules().items():
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            if not isinstance(obj, ModuleType):
                rows.append((modname, name, obj))
    return rows


def _copy_sources(dest: pathlib.Path) -> None:
    ignore = shutil.ignore_patterns("__pycache__", "auto_examples", "modules", "objects",
                                    "_build", "sg_execution_times.rst")
    shutil.copytree(ROOT / "docs", dest / "docs", ignore=ignore)
    shutil.copytree(ROOT / "simulations", dest / "simulations", ignore=ignore)
    shutil.copy(ROOT / "README.md", dest / "README.md")


def _build(tmp_path: pathlib.Path, mode: str, timeout: float = 1500.0
           ) -> tuple[subprocess.CompletedProcess[str], pathlib.Path, float]:
    # the docs extra (pip install -e ".[docs]"); without it the build cannot run at all
    for module in ("sphinx", "numpydoc", "sphinx_gallery", "myst_parser", "pydata_sphinx_theme"):
        pytest.importorskip(module, reason=f"{module} is missing: install the docs extra")
    _copy_sources(tmp_path)
    out = tmp_path / "out"
    env = {**os.environ, "LEAKY_CONTROL_GALLERY": mode, "MPLBACKEND": "Agg"}
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-b", "html", "docs", str(out)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    return proc, out, time.perf_counter() - start


def _repo_untouched_snapshot() -> set[str]:
    generated = [ROOT / "docs" / "auto_examples", ROOT / "docs" / "api" / "modules",
                 ROOT / "docs" / "api" / "objects", ROOT / "docs" / "sg_execution_times.rst"]
    return {str(p) for p in generated if p.exists()}


@pytest.mark.slow
def test_html_build_quick_gallery(tmp_path: pathlib.Path) -> None:
    before = _repo_untouched_snapshot()
    proc, out, seconds = _build(tmp_path, "quick")
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-6000:]
    print(f"docs build (quick gallery): {seconds:.0f} s")
    assert "LEAKY_CONTROL_GALLERY=quick" in log
    assert _repo_untouched_snapshot() == before, "the build wrote into the repository"

    # the API reference: a sample of names under the paths users type
    objects = out / "api" / "objects"
    for fullname in ("leaky_control.simulate", "leaky_control.step_response",
                     "leaky_control.LoopResponse", "leaky_control.LeakyPID",
                     "leaky_control.sweep", "leaky_control.analysis.LipschitzBound",
                     "leaky_control.bridge.TrainHistory", "leaky_control.Status"):
        page = objects / f"{fullname}.html"
        assert page.is_file(), fullname
        assert f'id="{fullname}"' in page.read_text(), fullname
    for modname in ("leaky_control", "leaky_control.plants", "leaky_control.analysis",
                    "leaky_control.bridge", "leaky_control.metrics", "leaky_control.cli"):
        assert (out / "api" / "modules" / f"{modname}.html").is_file(), modname

    # every exported name has an anchor under one of the public modules that export it
    anchors = set()
    for page in (out / "api").rglob("*.html"):
        anchors.update(ANCHOR.findall(page.read_text()))
    exporters: dict[int, set[str]] = {}
    rows = _exported()
    for modname, name, obj in rows:
        exporters.setdefault(id(obj), set()).add(f"{modname}.{name}")
    missing = [f"{m}.{n}" for m, n, obj in rows if not exporters[id(obj)] & anchors]
    assert not missing, f"public names without documentation: {missing}"
    assert len(rows) > 100  # the walk found the package, not an empty shell

    # the gallery: a page per study, each showing at least one figure it wrote
    assert STUDIES, "no studies found"
    for stem in STUDIES:
        page = out / "auto_examples" / f"{stem}.html"
        assert page.is_file(), stem
        html = page.read_text()
        images = re.findall(rf'src="[^"]*(sphx_glr_{re.escape(stem)}_\d+\.png)"', html)
        assert images, f"{stem}: no figure on its gallery page"
        for image in images:
            assert (out / "_images" / image).is_file(), image
        assert "quick gallery mode" in html or "runs as published" in html, stem
        # the study wrote its outputs under the build directory
        assert list((out / "_gallery_outputs" / stem).glob("*.png")), stem

    # the user guide, the tutorials and the landing page are all there
    for doc in ("index", "simulation", "architecture", "building", "tutorials/python_control",
                "tutorials/own_plant", "tutorials/sweeps", "api/index", "auto_examples/index"):
        assert (out / f"{doc}.html").is_file(), doc


@pytest.mark.slow
def test_gallery_off_says_so(tmp_path: pathlib.Path) -> None:
    proc, out, seconds = _build(tmp_path, "off")
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-6000:]
    print(f"docs build (gallery off): {seconds:.0f} s")
    assert "LEAKY_CONTROL_GALLERY=off" in log
    assert "NOT run" in log
    index = (out / "auto_examples" / "index.html").read_text()
    assert "the studies were not run" in index
    for stem in STUDIES:
        html = (out / "auto_examples" / f"{stem}.html").read_text()
        assert "the study was not run" in html, stem
        assert "sphx_glr_" + stem + "_001.png" not in html, stem
    assert not (out / "_gallery_outputs").exists()


# --- fast checks of the build helpers -----------------------------------------------------------


def _import_from_ext(monkeypatch: pytest.MonkeyPatch, name: str) -> ModuleType:
    # no __pycache__ inside docs/_ext: tests do not write into the repository
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    monkeypatch.syspath_prepend(str(EXT))
    return importlib.import_module(name)


@pytest.fixture
def helpers(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    return _import_from_ext(monkeypatch, "gallery_helpers")


def test_gallery_mode_switch(helpers: ModuleType) -> None:
    assert helpers.gallery_mode({}) == "quick"
    assert helpers.gallery_mode({"LEAKY_CONTROL_GALLERY": "FULL"}) == "full"
    assert helpers.gallery_mode({"LEAKY_CONTROL_GALLERY": "off"}) == "off"
    with pytest.raises(ValueError, match=r"LEAKY_CONTROL_GALLERY must be one of.*'fast'"):
        helpers.gallery_mode({"LEAKY_CONTROL_GALLERY": "fast"})
    assert helpers.study_args("slope_gain_sweep", "full") == []
    assert helpers.study_args("slope_gain_sweep", "quick") == ["--n", "9"]
    assert helpers.study_args("a_cheap_study", "quick") == []
    with pytest.raises(ValueError, match="mode must be"):
        helpers.study_args("slope_gain_sweep", "off")


def test_quick_arguments_name_real_studies_and_flags(helpers: ModuleType) -> None:
    # a renamed script or a dropped flag would otherwise only show up in the slow build
    for stem, args in helpers.QUICK_ARGS.items():
        assert stem in STUDIES, stem
        source = (ROOT / "simulations" / f"{stem}.py").read_text()
        if "import main" in source:  # a thin wrapper around leaky_control.studies.<stem>
            source = (ROOT / "leaky_control" / "studies" / f"{stem}.py").read_text()
        for flag in (a for a in args if a.startswith("--")):
            assert f'"{flag}"' in source, f"{stem} has no {flag}"


def test_api_generator_lists_every_exported_name(monkeypatch: pytest.MonkeyPatch) -> None:
    apigen = _import_from_ext(monkeypatch, "apigen")
    entries = apigen.collect()
    listed = apigen.documented_names(entries)
    documented = [f"{e.name}.{n}" for e in entries for n in e.own]
    assert len(documented) == len(set(documented))
    for modname, name, _ in _exported():
        assert name in listed.get(modname, set()), f"{modname}.{name} is not on its module's page"
    # each object is documented once: a second description makes cross-references ambiguous
    seen: dict[int, str] = {}
    for e in entries:
        for n in e.own:
            obj = getattr(e.module, n)
            if isinstance(obj, type) or callable(obj):
                assert id(obj) not in seen, (seen.get(id(obj)), f"{e.name}.{n}")
                seen[id(obj)] = f"{e.name}.{n}"
