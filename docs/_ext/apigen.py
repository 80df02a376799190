"""Generate the API reference pages from the package's ``__all__`` lists.

Every public module of ``leaky_control`` (no path component starting with ``_``) gets a page
with its docstring and an autosummary table of its public names: its ``__all__``, or, for a
module without one, the functions and classes it defines whose names do not start with ``_``.
Each object is documented once, under the first public module that exports it (the package
itself first, then by depth and name: ``lc.LeakyP`` is documented as ``leaky_control.LeakyP``);
the other modules that re-export it link to that page. Documenting an object twice would make
every cross-reference to it ambiguous.

The pages are written at ``builder-inited``, before autosummary generates the per-object stubs,
into ``api/modules/`` and ``api/objects/`` (both generated, both git-ignored). The list is
derived, not hand-kept, so a name added to an ``__all__`` is in the next build.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

__all__ = ["ModuleEntry", "collect", "documented_names", "setup", "write_pages"]

PACKAGE = "leaky_control"


@dataclass
class ModuleEntry:
    """One public module: the names it lists, split by where each is documented."""

    name: str
    module: ModuleType
    own: list[str] = field(default_factory=list)
    elsewhere: list[tuple[str, str]] = field(default_factory=list)  # (name, canonical path)


def _public_modules(package: str = PACKAGE) -> list[str]:
    root = importlib.import_module(package)
    names = [package]
    for info in pkgutil.walk_packages(root.__path__, prefix=f"{package}."):
        parts = info.name.split(".")
        if any(p.startswith("_") for p in parts):
            continue
        names.append(info.name)
    # the package first, then shallow before deep, so re-exports resolve to the shortest path
    return sorted(names, key=lambda n: (n != package, n.count("."), n))


def _exports(module: ModuleType) -> list[str]:
    if hasattr(module, "__all__"):
        return list(module.__all__)
    found = []
    for name, obj in vars(module).items():
        if name.startswith("_"):
            continue
        if (inspect.isfunction(obj) or inspect.isclass(obj)) and obj.__module__ == module.__name__:
            found.append(name)
    return sorted(found)


def _identity(name: str, obj: Any) -> tuple[str, int] | tuple[str, str, int]:
    # constants such as small tuples or strings can be shared by accident: key them by name too
    if inspect.isfunction(obj) or inspect.isclass(obj) or inspect.ismodule(obj):
        return ("obj", id(obj))
    return ("value", name, id(obj))


def collect(package: str = PACKAGE) -> list[ModuleEntry]:
    """Find every public module and where each of its names is documented.

    Parameters
    ----------
    package : str
        The package to walk.

    Returns
    -------
    list of ModuleEntry
        In page order: the package, then its modules by depth and name.
    """
    canonical: dict[Any, str] = {}
    entries = []
    for modname in _public_modules(package):
        module = importlib.import_module(modname)
        entry = ModuleEntry(modname, module)
        for name in _exports(module):
            obj = getattr(module, name)
            if inspect.ismodule(obj):
                continue  # a submodule has its own page
            key = _identity(name, obj)
            if key in canonical:
                entry.elsewhere.append((name, canonical[key]))
            else:
                canonical[key] = f"{modname}.{name}"
                entry.own.append(name)
        entries.append(entry)
    return entries


def documented_names(entries: list[ModuleEntry]) -> dict[str, set[str]]:
    """Map each module to the names its page lists (documented there or linked).

    Parameters
    ----------
    entries : list of ModuleEntry

    Returns
    -------
    dict of str to set of str
    """
    return {e.name: set(e.own) | {n for n, _ in e.elsewhere} for e in entries}


def _page(entry: ModuleEntry) -> str:
    title = f"``{entry.name}``"
    lines = [title, "=" * len(title), "",
             f".. automodule:: {entry.name}", "   :no-members:", "",
             f".. currentmodule:: {entry.name}", ""]
    if entry.own:
        lines += ["Documented here", "---------------", "",
                  ".. autosummary::", "   :toctree: ../objects", "   :nosignatures:", ""]
        lines += [f"   {name}" for name in entry.own]
        lines.append("")
    if entry.elsewhere:
        lines += ["Also exported here", "------------------", "",
                  "The same objects as under the names linked below.", "",
                  ".. autosummary::", "   :nosignatures:", ""]
        lines += [f"   ~{path}" for _, path in entry.elsewhere]
        lines.append("")
    if not entry.own and not entry.elsewhere:
        lines += ["This module exports no names of its own.", ""]
    return "\n".join(lines)


def write_pages(srcdir: Path, package: str = PACKAGE) -> list[ModuleEntry]:
    """Write ``api/modules/<module>.rst`` for every public module; return what was found.

    Parameters
    ----------
    srcdir : pathlib.Path
        The documentation source folder.
    package : str
        The package to document.

    Returns
    -------
    list of ModuleEntry
    """
    entries = collect(package)
    modules_dir = srcdir / "api" / "modules"
    # stale pages of a removed module (or object) must not survive into the next build
    for sub in ("modules", "objects"):
        shutil.rmtree(srcdir / "api" / sub, ignore_errors=True)
    modules_dir.mkdir(parents=True)
    for entry in entries:
        (modules_dir / f"{entry.name}.rst").write_text(_page(entry))
    return entries


def _on_builder_inited(app: Any) -> None:
    entries = write_pages(Path(app.srcdir))
    # The environment listed the source files before these pages existed, so autosummary's
    # default (every found document) would miss them: name them explicitly.
    app.config.autosummary_generate = [f"api/modules/{e.name}.rst" for e in entries]
    count = sum(len(e.own) for e in entries)
    from sphinx.util import logging

    logging.getLogger(__name__).info(
        f"apigen: {len(entries)} public modules, {count} objects documented")


def _drop_type_docstring(app: Any, what: str, name: str, obj: Any, options: Any,
                         lines: list[str]) -> None:
    # A constant without a "#:" comment (a str, a tuple, a dict) would otherwise be described
    # by its type's docstring: "str(object='') -> str ...", which says nothing about it.
    if what not in ("data", "attribute") or inspect.isclass(obj) or callable(obj):
        return
    raw = getattr(type(obj), "__doc__", None)
    if not isinstance(raw, str):  # e.g. a property's __doc__ slot seen through the class
        return
    type_doc = inspect.cleandoc(raw)
    if type_doc and inspect.cleandoc("\n".join(lines)) == type_doc:
        lines.clear()


def setup(app: Any) -> dict[str, Any]:
    """Register the generator (runs before autosummary's stub generation).

    Parameters
    ----------
    app : sphinx.application.Sphinx

    Returns
    -------
    dict
        Extension metadata.
    """
    # autosummary generates its stubs at builder-inited with the default priority 500
    app.connect("builder-inited", _on_builder_inited, priority=400)
    app.connect("autodoc-process-docstring", _drop_type_docstring)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
