"""Every Python snippet in README.md and docs/**/*.md runs as written and prints what the page says.

Each ```python block runs alone (a fresh namespace, a scratch working directory, matplotlib's
Agg backend), so a snippet cannot lean on another. When a ```text block follows it directly,
that block is the snippet's printed output: words must match exactly and numbers to the
precision printed (one unit in the last printed digit, plus 0.5 % of the value for solver and
BLAS rounding), so a page that claims a settling time of 7.36 s is checked to say so.
A printed ``nan`` must be written as ``nan`` on the page: the README's promises are finite
numbers.
"""

from __future__ import annotations

import contextlib
import io
import math
import pathlib
import re
import textwrap
from collections.abc import Iterator
from typing import Any

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
# Folders under docs/ that a documentation build writes (sphinx-gallery's pages, autosummary's
# stubs, build output): their pages are copies or products, not sources to check.
BUILD_OUTPUT = {"auto_examples", "_build", "build", "out", "html"}
GENERATED = {("api", "modules"), ("api", "objects")}


def _is_source_page(rel: pathlib.PurePath) -> bool:
    """True for a Markdown page of docs/ that a person wrote (``rel`` relative to docs/)."""
    parts = rel.parts[:-1]
    if any(p in BUILD_OUTPUT or p.startswith((".", "_")) for p in parts):
        return False
    return not any(parts[i:i + 2] == pair for pair in GENERATED for i in range(len(parts)))


DOCS = ROOT / "docs"
PAGES = [ROOT / "README.md",
         *sorted(p for p in DOCS.rglob("*.md") if _is_source_page(p.relative_to(DOCS)))]
BLOCK = re.compile(r"```(\w*)\n(.*?)```", re.S)
NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|nan|inf")


def _snippets() -> Iterator[Any]:
    for page in PAGES:
        blocks = [(m.group(1), m.group(2), m.start(), m.end())
                  for m in BLOCK.finditer(page.read_text())]
        for i, (lang, code, start, end) in enumerate(blocks):
            if lang != "python":
                continue
            expected = None
            if i + 1 < len(blocks) and blocks[i + 1][0] == "text":
                between = page.read_text()[end:blocks[i + 1][2]]
                if not between.strip():
                    expected = blocks[i + 1][1]
            line = page.read_text()[:start].count("\n") + 1
            # a block indented inside a list item runs dedented
            # the path, not the name: docs/tutorials/sweeps.md is not docs/sweeps.md
            yield pytest.param(textwrap.dedent(code), expected and textwrap.dedent(expected),
                               id=f"{page.relative_to(ROOT).as_posix()}:{line}")


def _numbers_match(got: str, want: str) -> bool:
    if want in ("nan", "inf") or got in ("nan", "inf"):
        return got == want
    digits = len(want.split(".")[1].split("e")[0].split("E")[0]) if "." in want else 0
    exp = int(re.split("[eE]", want)[1]) if re.search("[eE]", want) else 0
    unit = 10.0 ** (exp - digits)
    return math.isclose(float(got), float(want), rel_tol=5e-3, abs_tol=1.01 * unit)


def _compare(printed: str, expected: str) -> None:
    got_lines = [s.rstrip() for s in printed.strip().splitlines()]
    want_lines = [s.rstrip() for s in expected.strip().splitlines()]
    assert len(got_lines) == len(want_lines), f"printed:\n{printed}\npage says:\n{expected}"
    for got, want in zip(got_lines, want_lines, strict=True):
        gnum, wnum = NUMBER.findall(got), NUMBER.findall(want)
        assert NUMBER.sub("#", got) == NUMBER.sub("#", want), f"printed {got!r}, page says {want!r}"
        assert len(gnum) == len(wnum)
        for g, w in zip(gnum, wnum, strict=True):
            assert _numbers_match(g, w), f"printed {got!r}, page says {want!r} ({g} vs {w})"


@pytest.mark.parametrize(("code", "expected"), list(_snippets()))
def test_snippet_runs_as_written(code: str, expected: str | None, tmp_path: pathlib.Path,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import matplotlib

    matplotlib.use("Agg")
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        # dont_inherit: this file's `from __future__ import annotations` must not leak into the
        # snippet (string annotations break a dataclass defined in a namespace with no module)
        exec(compile(code, "<snippet>", "exec", dont_inherit=True), {"__name__": "__snippet__"})
    if expected is not None:
        _compare(out.getvalue(), expected)


def test_every_page_with_code_is_covered() -> None:
    # the collector must find the README's examples: a silent regex failure would pass vacuously
    ids = [p.id for p in _snippets()]
    assert sum(i.startswith("README.md") for i in ids) >= 4
    assert sum(1 for p in _snippets() if p.values[1] is not None) >= 4


def test_tutorials_are_covered() -> None:
    # each tutorial is runnable code: a page whose blocks the collector missed would pass vacuously
    ids = [p.id for p in _snippets()]
    tutorials = {i.rsplit(":", 1)[0] for i in ids if i.startswith("docs/tutorials/")}
    assert len(tutorials) >= 3, sorted(tutorials)
    assert "docs/index.md" in {i.rsplit(":", 1)[0] for i in ids}


def test_build_output_is_not_collected() -> None:
    P = pathlib.PurePosixPath
    assert _is_source_page(P("tutorials/own_plant.md"))
    assert _is_source_page(P("index.md"))
    for generated in ("auto_examples/cruise_control.md", "api/modules/x.md",
                      "api/objects/leaky_control.simulate.md", "_build/html/index.md",
                      "tutorials/_build/a.md", "out/index.md"):
        assert not _is_source_page(P(generated)), generated


def test_the_comparison_can_fail() -> None:
    with pytest.raises(AssertionError):
        _compare("settling time 7.36 s", "settling time 7.41 s")
    with pytest.raises(AssertionError):
        _compare("settling time nan s", "settling time 7.36 s")
    with pytest.raises(AssertionError):
        _compare("Settled True", "Settled False")
    _compare("0.0 not_contracting -0.0771", "0.0 not_contracting -0.077")
