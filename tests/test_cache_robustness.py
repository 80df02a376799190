"""The disk cache of compiled kernels survives damaged files and read-only folders.

Every scenario runs in subprocesses (a cache is loaded once per process) with a private
``NUMBA_CACHE_DIR`` (and ``TMPDIR``) under ``tmp_path``, so the shared cache is never touched.
Each script prints one JSON line: its results, its dispatchers' cache hits and misses, and
the :class:`KernelCacheWarning` messages it saw.

Unwritable folders are simulated, not made: the tests may run as root, who can write
anywhere. A prelude patches numba's cache locators (``from_function``) to answer ``None`` for
the functions under test, which is exactly what each of them answers when its folder is not
writable (``_SourceFileBackedLocatorMixin.from_function`` catches the ``OSError`` of
``ensure_cache_path``); numba's own search then runs unchanged and ends in the library's
fallback. Functions outside the test keep caching in the private folder, as they would in a
run where only the package folder is read-only (an unwritable ``NUMBA_CACHE_DIR`` would not
do: numba silently skips it and caches next to the package).
"""

from __future__ import annotations

import json
import os
import random
import stat
import subprocess
import sys

import pytest

from leaky_control._jit import _HEADER, _DamagedCacheFile, _seal, _unseal

#: run first by every script: collect the library's cache warnings; optionally make numba's
#: locators (argv[1], comma-separated class names) find no writable folder for the functions
#: whose name matches argv[2]
PRELUDE = r'''
import json, re, sys, warnings
warnings.simplefilter("always")
_record = warnings.catch_warnings(record=True)
_seen = _record.__enter__()
REFUSE = set(filter(None, sys.argv[1].split(","))) if len(sys.argv) > 1 else set()
NAMES = re.compile(sys.argv[2]) if len(sys.argv) > 2 else None
if REFUSE:
    import numba.core.caching as caching

    def _refusing(orig):
        def from_function(cls, py_func, py_file):
            if cls.__name__ in REFUSE and NAMES.search(py_func.__name__):
                return None  # what a locator answers when its folder is not writable
            return orig.__func__(cls, py_func, py_file)
        return classmethod(from_function)

    for k in (caching._SourceFileBackedLocatorMixin, caching.UserProvidedCacheLocator,
              caching.UserWideCacheLocator):
        k.from_function = _refusing(k.__dict__["from_function"])


def report(**out):
    from leaky_control._jit import KernelCacheWarning

    out["warnings"] = [str(w.message) for w in _seen
                       if issubclass(w.category, KernelCacheWarning)]
    print(json.dumps(out))
'''

NUMBA_LOCATORS = "UserProvidedCacheLocator,InTreeCacheLocator,UserWideCacheLocator"

#: the cheapest closed loop (linear plant, leaky P, default RK4): one kernel
KERNEL_RUN = PRELUDE + r'''
import numpy as np
import leaky_control as lc
from leaky_control.simulation import kernel_of, prepare

args = (lc.FirstOrderLag(), lc.LeakyP(kp=1.0, negative_slope=0.1), np.linspace(0.0, 2.0, 21))
resp = lc.simulate(*args, reference=1.0)
d = kernel_of(prepare(*args))
st = d.stats
report(final=float(resp.outputs[-1]).hex(), name=d.py_func.__name__,
       hits=sum(st.cache_hits.values()), misses=sum(st.cache_misses.values()))
'''

#: small cached functions, one per damage to test (each has its own cache files)
DAMAGES = [(kind, how) for kind in ("nbi", "nbc")
           for how in ("garbage", "truncated", "flipped", "empty")]
TINY_NAMES = ["tiny_intact", "tiny_legacy"] + [f"tiny_{kind}_{how}" for kind, how in DAMAGES]
TINY_MODULE = "from leaky_control._jit import cached_njit\n" + "".join(
    f"\n\n@cached_njit\ndef {name}(x):\n    return {k + 2}.0 * x + 1.0\n"
    for k, name in enumerate(TINY_NAMES))
TINY_RUN = PRELUDE + r'''
import tiny
out = {}
for name in NAMES_:
    f = getattr(tiny, name)
    value = f(0.5)
    out[name] = [value, sum(f.stats.cache_hits.values()), sum(f.stats.cache_misses.values())]
report(results=out)
'''.replace("NAMES_", repr(TINY_NAMES))


def _env(tmp_path, **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_")}
    env.update(NUMBA_CACHE_DIR=str(tmp_path / "cache"), TMPDIR=str(tmp_path / "tmp"))
    env.update(extra)
    (tmp_path / "tmp").mkdir(exist_ok=True)
    return env


def _run(tmp_path, script, *argv, **env):
    path = tmp_path / "script.py"
    path.write_text(script)
    out = subprocess.run([sys.executable, str(path), *argv], capture_output=True, text=True,
                         cwd=tmp_path, env=_env(tmp_path, **env), timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def _damage(path, how):
    data = path.read_bytes()
    if how == "garbage":
        new = b"G" + random.Random(len(data)).randbytes(len(data) - 1)  # not numba's format
    elif how == "truncated":
        new = data[:len(data) // 2]
    elif how == "flipped":  # one byte in the middle: a data file's machine code, say
        b = bytearray(data)
        b[len(b) // 2] ^= 0xFF
        new = bytes(b)
    else:
        new = b""
    assert new != data
    path.write_bytes(new)


def _files(tmp_path, name, kind):
    pattern = f"*.{name}-*.nbi" if kind == "nbi" else f"*.{name}-*.*.nbc"
    found = sorted((tmp_path / "cache").rglob(pattern))
    assert len(found) == 1, (name, kind, found)
    return found[0]


def test_checksum_seal_detects_every_kind_of_damage():
    body = bytes(range(256)) * 40
    blob = _seal(body)
    assert _unseal(blob, "f") == body
    damaged = {"garbage": random.Random(0).randbytes(len(blob)), "truncated": blob[:-1],
               "flipped": blob[:_HEADER + 7] + bytes([blob[_HEADER + 7] ^ 1]) + blob[_HEADER + 8:],
               "header": blob[:3] + b"X" + blob[4:], "empty": b"", "old format": body}
    for how, bad in damaged.items():
        with pytest.raises(_DamagedCacheFile, match="^f: "):
            _unseal(bad, "f")


def test_every_damaged_cache_file_is_recompiled_once_with_a_warning_then_cached(tmp_path):
    (tmp_path / "tiny.py").write_text(TINY_MODULE)
    first = _run(tmp_path, TINY_RUN)
    expected = {name: (k + 2) * 0.5 + 1.0 for k, name in enumerate(TINY_NAMES)}
    assert {n: r[0] for n, r in first["results"].items()} == expected
    assert all(r[1:] == [0, 1] for r in first["results"].values()) and not first["warnings"]

    damaged = {}
    for kind, how in DAMAGES:
        name = f"tiny_{kind}_{how}"
        damaged[name] = _files(tmp_path, name, kind)
        _damage(damaged[name], how)
    # files as numba's own cache=True writes them (the sealed files minus their header), as
    # a function moved to cached_njit finds them: stale, not damaged, so no warning
    for kind in ("nbi", "nbc"):
        path = _files(tmp_path, "tiny_legacy", kind)
        path.write_bytes(path.read_bytes()[_HEADER:])

    # the process that meets the damage: right results, one warning per damaged function
    second = _run(tmp_path, TINY_RUN)
    assert {n: r[0] for n, r in second["results"].items()} == expected
    assert second["results"]["tiny_intact"][1:] == [1, 0]
    assert second["results"]["tiny_legacy"][1:] == [0, 1]
    assert len(second["warnings"]) == len(DAMAGES), second["warnings"]
    for name, path in damaged.items():
        assert second["results"][name][1:] == [0, 1]  # recompiled
        said = [w for w in second["warnings"] if os.path.basename(path) in w]
        assert len(said) == 1 and "damaged" in said[0] and "recompiled" in said[0], said

    # and the next one loads the rewritten files, silently
    third = _run(tmp_path, TINY_RUN)
    assert {n: r[0] for n, r in third["results"].items()} == expected
    assert all(r[1:] == [1, 0] for r in third["results"].values()) and not third["warnings"]


@pytest.mark.slow
def test_a_damaged_kernel_cache_is_recompiled_and_older_digests_are_still_dropped(tmp_path):
    first = _run(tmp_path, KERNEL_RUN)
    assert (first["hits"], first["misses"], first["warnings"]) == (0, 1, [])
    name = first["name"]
    # a file of an older digest of the same kernel: removed when the kernel is made
    stale = _files(tmp_path, name, "nbi").with_name(
        _files(tmp_path, name, "nbi").name.replace(name.rsplit("__", 1)[1], "0" * 20))
    stale.write_bytes(b"old")

    # a flipped byte in the machine code crashed the process (SIGSEGV) before the checksum;
    # a truncated index raised UnpicklingError in every later process
    for kind, how in (("nbc", "flipped"), ("nbi", "truncated")):
        path = _files(tmp_path, name, kind)
        _damage(path, how)
        second = _run(tmp_path, KERNEL_RUN)
        assert second["name"] == name, "the library's sources changed during the test"
        assert second["final"] == first["final"]
        assert (second["hits"], second["misses"]) == (0, 1)
        assert len(second["warnings"]) == 1 and path.name in second["warnings"][0]
        third = _run(tmp_path, KERNEL_RUN)
        assert third["name"] == name, "the library's sources changed during the test"
        assert (third["hits"], third["misses"], third["warnings"]) == (1, 0, [])
        assert third["final"] == first["final"]
    assert not stale.exists()


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "getuid"), reason="the fallback folder is named by uid")
def test_without_a_writable_cache_folder_kernels_are_cached_in_a_private_temp_folder(tmp_path):
    # NUMBA_CACHE_DIR, the package's __pycache__ and the user cache all refuse the kernel
    argv = (NUMBA_LOCATORS, r"__[0-9a-f]{20}$")
    first = _run(tmp_path, KERNEL_RUN, *argv)
    root = tmp_path / "tmp" / f"leaky_control-numba-cache-{os.getuid()}"
    assert (first["hits"], first["misses"]) == (0, 1)
    assert len(first["warnings"]) == 1, first["warnings"]
    assert str(root) in first["warnings"][0] and "NUMBA_CACHE_DIR" in first["warnings"][0]
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    assert len(list(root.rglob(f"*.{first['name']}-*.nbi"))) == 1
    assert not list((tmp_path / "cache").rglob(f"*.{first['name']}-*"))

    second = _run(tmp_path, KERNEL_RUN, *argv)  # the next process loads it from there
    assert (second["hits"], second["misses"]) == (1, 0) and second["final"] == first["final"]
    assert len(second["warnings"]) == 1


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "getuid"), reason="the fallback folder is named by uid")
def test_a_read_only_install_simulates_with_every_function_cached_in_the_temp_folder(
        tmp_path):
    # every numba locator fails for every function: a read-only site-packages and HOME
    out = _run(tmp_path, KERNEL_RUN, NUMBA_LOCATORS, ".")
    root = tmp_path / "tmp" / f"leaky_control-numba-cache-{os.getuid()}"
    assert out["misses"] == 1 and len(out["warnings"]) == 1 and str(root) in out["warnings"][0]
    assert not list((tmp_path / "cache").rglob("*.nb?"))


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX permission bits")
def test_with_no_usable_folder_at_all_functions_compile_uncached_with_one_warning(tmp_path):
    (tmp_path / "tiny.py").write_text(TINY_MODULE)
    # a fallback folder another user could write to is refused (it could plant machine code)
    root = tmp_path / "tmp" / f"leaky_control-numba-cache-{os.getuid()}"
    root.mkdir(parents=True)
    root.chmod(0o777)
    argv = (NUMBA_LOCATORS, "^tiny_")
    for _ in range(2):  # nothing is cached: the second process compiles again
        out = _run(tmp_path, TINY_RUN, *argv)
        assert all(r[0] == (k + 2) * 0.5 + 1.0 and r[1:] == [0, 1]
                   for k, r in enumerate(out["results"].values()))
        assert len(out["warnings"]) == 1, out["warnings"]
        assert "compiled in every process" in out["warnings"][0]
        assert "NUMBA_CACHE_DIR" in out["warnings"][0]
    assert not list(root.iterdir())
    assert not list((tmp_path / "cache").rglob("tiny.*"))


def test_without_numba_jit_cached_functions_and_kernels_run_as_python(tmp_path):
    (tmp_path / "tiny.py").write_text(TINY_MODULE)
    script = PRELUDE + r'''
import numpy as np
import leaky_control as lc
import tiny
resp = lc.simulate(lc.FirstOrderLag(), lc.LeakyP(kp=1.0, negative_slope=0.1),
                   np.linspace(0.0, 2.0, 21), reference=1.0)
report(tiny=tiny.tiny_intact(0.5), plain=type(tiny.tiny_intact).__name__,
       final=float(resp.outputs[-1]))
'''
    out = _run(tmp_path, script, NUMBA_DISABLE_JIT="1")
    assert out["tiny"] == 2.0 and out["plain"] == "function" and not out["warnings"]
    assert out["final"] == pytest.approx(0.4908416, abs=1e-6)
    assert not (tmp_path / "cache").exists() or not list((tmp_path / "cache").rglob("*.nb?"))
