"""Lazy public names (PEP 562): a package's names load their module on first access, so
importing the package costs nothing and compiles nothing."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any


def lazy_exports(
    package: str, modules: Mapping[str, Sequence[str]]
) -> tuple[Callable[[str], Any], Callable[[], list[str]], list[str]]:
    """Build ``__getattr__``, ``__dir__`` and ``__all__`` for ``package``.

    Parameters
    ----------
    package : str
        The package's ``__name__``.
    modules : dict
        Submodule name -> tuple of the public names it defines.

    Returns
    -------
    tuple
        ``(__getattr__, __dir__, __all__)``.
    """
    where = {name: mod for mod, names in modules.items() for name in names}
    names = sorted(where)

    def __getattr__(name: str) -> Any:
        mod = where.get(name)
        if mod is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{mod}"), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return names

    return __getattr__, __dir__, names
