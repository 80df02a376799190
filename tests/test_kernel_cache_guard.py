"""The kernel cache guard drops a kernel's cache files when any of its callees' sources change
(numba alone checks only the kernel's own file)."""

import importlib
import sys

from leaky_control.integrators import _cache


def test_cache_files_dropped_when_a_callee_changes(tmp_path, monkeypatch):
    mod = tmp_path / "guard_demo_kernel.py"
    mod.write_text("from numba import njit\n\n@njit(cache=True)\ndef kern(x):\n    return 2.0 * x\n")
    callee = tmp_path / "callee_source.py"
    callee.write_text("VERSION = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(_cache, "SOURCES", [callee])
    demo = importlib.import_module("guard_demo_kernel")
    try:
        k = _cache.cached_kernel(demo.kern)
        assert k(3.0) == 6.0  # compiles and writes the cache
        path = k._cache._impl.locator.get_cache_path()
        files = lambda: sorted(p.name for p in __import__("pathlib").Path(path).glob("guard_demo_kernel.kern-*.nb*"))  # noqa: E731
        assert files(), "numba wrote no cache files"
        _cache.cached_kernel(demo.kern)  # same sources: cache kept
        assert files()
        callee.write_text("VERSION = 2\n")
        _cache.cached_kernel(demo.kern)  # a callee changed: cache dropped
        assert files() == []
    finally:
        sys.modules.pop("guard_demo_kernel", None)
