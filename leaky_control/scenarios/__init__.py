"""Studies described as TOML files: read and validated (:mod:`.schema`), run (:mod:`.runner`).

``leaky-control run FILE.toml --out DIR`` and ``leaky-control sweep FILE.toml --out DIR`` are
the command-line faces; docs/scenarios.md documents every key. The scenarios shipped with the
package are in ``shipped/`` (:func:`shipped_scenarios`). Importing this package compiles
nothing.
"""

from __future__ import annotations

from importlib import resources

from .schema import Scenario, ScenarioError, load_scenario, parse_scenario

__all__ = ["Scenario", "ScenarioError", "load_scenario", "parse_scenario", "shipped_path",
           "shipped_scenarios"]


def shipped_scenarios() -> dict[str, str]:
    """The scenario files shipped with the package: file name -> path.

    Returns
    -------
    dict of str to str
        Sorted by name (``"cruise_control.toml"``, ...).
    """
    folder = resources.files(__name__).joinpath("shipped")
    out = {}
    for entry in folder.iterdir():
        if entry.name.endswith(".toml"):
            out[entry.name] = str(entry)  # a real file: the package is never zipped
    return dict(sorted(out.items()))


def shipped_path(name: str) -> str:
    """The path of a shipped scenario, by file name with or without ``.toml``.

    Parameters
    ----------
    name : str

    Returns
    -------
    str

    Raises
    ------
    LookupError
        With the shipped names when ``name`` is not one.
    """
    files = shipped_scenarios()
    key = name if name.endswith(".toml") else name + ".toml"
    if key not in files:
        raise LookupError(f"no shipped scenario {name!r}; shipped: {', '.join(files)}")
    return files[key]
