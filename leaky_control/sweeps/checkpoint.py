"""Atomic, resumable storage of a sweep's finished chunks in a folder.

The folder holds ``sweep.json`` (a fingerprint of the sweep: the models as packed for the
kernel and digests of their code, the library's kernel sources, times, signals, solver,
parameter table, metric options, chunk size) and one ``chunk-NNNNNN.npz`` per finished chunk.
A chunk file is written under a unique temporary name, flushed to disk and renamed into place,
so a killed run leaves whole chunks or none.

Every chunk file proves what it holds: the sweep's fingerprint, the range of points
``[start, stop)`` and a SHA-256 checksum over its arrays (and those two). A chunk file that
cannot be read, or whose fingerprint, range or checksum does not match, is run again and
listed in ``SweepResult.stats["chunks_rerun"]`` with the reason; files that are not this
sweep's also give a :class:`CheckpointWarning`. A truncated or altered file, two files
swapped, or the chunks of another sweep left in a folder whose ``sweep.json`` was deleted are
never loaded as this sweep's results.
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import json
import os
import tempfile
import warnings
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np

from .._dispatch import feed_computation
from ..status import Status

if TYPE_CHECKING:
    from .chunk import SweepSpec
    from .grid import PointTable

__all__ = ["Checkpoint", "CheckpointWarning", "check_checkpoint_path", "fingerprint"]

#: 2: chunk files carry the fingerprint, their point range and a checksum
FORMAT_VERSION = 2
_ARRAYS = ("metrics", "info", "states", "outputs", "u", "u_raw", "max_step")
_TRAJECTORIES = ("states", "outputs", "u", "u_raw", "max_step")
#: the entries of a chunk file that describe it rather than hold results
_PROOF = ("fingerprint", "points", "checksum")


class CheckpointWarning(RuntimeWarning):
    """A checkpoint folder held files that are not this sweep's: chunk files of another
    sweep or of other points, a chunk whose checksum does not match, or an unreadable
    ``sweep.json`` (rewritten).

    The sweep's result is unaffected (those chunks are computed afresh and their files
    overwritten); the warning names each file and why it was not used. A chunk file that
    merely cannot be read (truncated, a bad CRC) is run again without a warning, as a crash
    can leave one. ``SweepResult.stats["chunks_rerun"]`` lists every chunk run again, for
    whatever reason, as ``{chunk index: reason}``.
    """


def check_checkpoint_path(checkpoint: object) -> None:
    """Refuse a ``checkpoint`` argument that cannot name a folder, before anything runs.

    Parameters
    ----------
    checkpoint : object
        The value passed to :func:`~leaky_control.sweep`.

    Raises
    ------
    TypeError
        When it is not a ``str`` or ``os.PathLike`` (``checkpoint=123``; bytes paths too).
    ValueError
        For an empty string (it would mean the current folder).
    """
    if isinstance(checkpoint, bool) or not isinstance(checkpoint, str | os.PathLike):
        raise TypeError(
            f"checkpoint must be a str or os.PathLike naming a writable folder, got "
            f"{checkpoint!r} of type {type(checkpoint).__name__}")
    path = os.fspath(checkpoint)
    if not isinstance(path, str):
        raise TypeError(f"checkpoint must be a str or os.PathLike naming a writable folder, "
                        f"got {checkpoint!r}, a path of {type(path).__name__}")
    if not path.strip():
        raise ValueError(f"checkpoint must be a str or os.PathLike naming a writable folder, "
                         f"got the empty path {checkpoint!r}")


def fingerprint(spec: SweepSpec, table: PointTable, chunk_size: int) -> str:
    """SHA-256 identifying a sweep: two runs with the same fingerprint compute the same chunks.

    Covers the base models' records, the code of the models (the source files of their
    classes and, walked from their functions, the byte code, constants, closure values and
    the global values and numba functions they use: an ``@rhs`` function edited in place, or
    made twice with different closure values, is another sweep), the library sources the
    kernels are compiled from, times, signals, solver, metric options, chunk size and the
    parameter table.
    """
    from ..solvers.kernels import package_digest

    h = hashlib.sha256()

    def add(*parts: object) -> None:
        for part in parts:
            h.update(part if isinstance(part, bytes) else repr(part).encode())
            h.update(b"\0")

    for model, rec in ((spec.plant, spec.plant.record()),
                       (spec.controller, spec.controller.record(spec.plant))):
        add(type(model).__module__, type(model).__qualname__)
        for v in rec:
            add(np.ascontiguousarray(v).tobytes() if isinstance(v, np.ndarray) else v)
    add(_code_digest(type(spec.plant), type(spec.controller), type(spec.solver)))
    add(package_digest())
    add(FORMAT_VERSION, spec.t.tobytes(), spec.solver, spec.metric_options.tobytes(),
        spec.output_index,
        spec.keep_trajectories, chunk_size, table.digest_bytes())
    for v in (spec.reference, spec.disturbance, spec.initial_state, spec.controller_state):
        add(np.asarray(v, dtype=float).tobytes() if v is not None else None)
    return h.hexdigest()


def _code_digest(*classes: type) -> str:
    """SHA-256 over what the given model classes compute with (see :func:`fingerprint`).

    Not ``_dispatch.model_digest``: for an ``@rhs`` plant that digest is the source file of
    the function and its name only (a factory making two functions from one source with
    different closure values gives both the same digest), and it depends on whether
    ``NumbaPlant``'s own digest was computed before the plant was made, so the same sweep
    could get another fingerprint in another process and be refused on resume.
    """
    h = hashlib.sha256()
    seen: set[tuple[int, bool]] = set()
    files: set[str] = set()
    for cls in classes:
        for klass in cls.__mro__:
            if klass is object or klass.__module__ == "builtins":
                continue
            h.update(f"class {klass.__module__}.{klass.__qualname__}\0".encode())
            try:
                path = inspect.getsourcefile(klass)
            except TypeError:
                path = None
            if path and path not in files:
                try:
                    h.update(Path(path).read_bytes())
                    files.add(path)
                except OSError:
                    pass  # no file (an interactive class): its functions are walked below
            for name in sorted(vars(klass)):
                value = vars(klass)[name]
                if isinstance(value, property):
                    value = (value.fget, value.fset)
                elif not callable(getattr(value, "__func__", value)):
                    # data attributes are skipped: some are caches set later (the model
                    # digest itself), and the records and the source files cover the rest
                    continue
                h.update(f"attr {name}\0".encode())
                feed_computation(value, h, seen, False)
    return h.hexdigest()


class Checkpoint:
    """A checkpoint folder for one sweep.

    Parameters
    ----------
    path : str or os.PathLike
        Folder (created if missing); must be writable.
    digest : str
        The sweep's :func:`fingerprint`.
    bounds : list of (int, int)
        The point range ``[start, stop)`` of every chunk.
    keep_trajectories : bool
        Whether chunk files hold trajectories.

    Attributes
    ----------
    rerun : dict
        Chunk index -> why its file was not used (filled by :meth:`load`).
    foreign : set
        The chunks of :attr:`rerun` whose files are not this sweep's (another sweep, other
        points, a checksum mismatch), as opposed to unreadable.
    notes : list of str
        Other repairs (an unreadable ``sweep.json`` rewritten).

    Raises
    ------
    ValueError
        When the path is a file or the folder cannot be created or written, and when the
        folder's ``sweep.json`` belongs to a different sweep or checkpoint format.
    """

    def __init__(self, path: str | os.PathLike[str], digest: str,
                 bounds: Iterable[tuple[int, int]], keep_trajectories: bool = False) -> None:
        check_checkpoint_path(path)
        self.path = Path(path)
        self.digest = digest
        self.bounds = list(bounds)
        self.nchunks = len(self.bounds)
        self.required = ("metrics", "info", "error_index", "error_message") + \
            (_TRAJECTORIES if keep_trajectories else ())
        self.rerun: dict[int, str] = {}
        self.foreign: set[int] = set()
        self.notes: list[str] = []
        if self.path.exists() and not self.path.is_dir():
            raise ValueError(f"checkpoint must name a folder (a str or os.PathLike naming a "
                             f"writable folder), got the file {str(path)!r}")
        self._check_writable(path)
        meta = self.path / "sweep.json"
        record = {"version": FORMAT_VERSION, "fingerprint": digest, "nchunks": self.nchunks}
        old = None
        if meta.exists():
            try:
                old = json.loads(meta.read_text())
                if not isinstance(old, dict):
                    raise ValueError(f"a JSON {type(old).__name__}, not an object")
            except (OSError, ValueError) as exc:
                # the chunk files prove what they hold, so a damaged sweep.json is rewritten
                # rather than blocking the resume; the chunks of another sweep are then
                # rerun, never loaded
                self.notes.append(f"sweep.json was unreadable ({_exception_text(exc)}) and "
                                  "was rewritten; each chunk file is checked on its own")
                old = None
        if old is None:
            payload = json.dumps(record).encode()
            _atomic_write(meta, lambda fh: fh.write(payload))
        elif old.get("version") != FORMAT_VERSION:
            raise ValueError(
                f"checkpoint folder {str(path)!r} was written in checkpoint format "
                f"{old.get('version')!r}; this leaky_control writes format {FORMAT_VERSION}: "
                "use a new folder or delete this one")
        elif old != record:
            raise ValueError(
                f"checkpoint folder {str(path)!r} holds a different sweep "
                f"({_difference(old, record)}): other models or model code, grid, times, "
                "solver, options, chunk size or leaky_control version; use a new folder or "
                "delete this one")

    def _check_writable(self, path: str | os.PathLike[str]) -> None:
        """Create the folder and write a probe file in it, or refuse with a clear error
        (the alternative is a sweep that fails at its first finished chunk)."""
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            fd, probe = tempfile.mkstemp(dir=self.path, prefix=".probe-", suffix=".tmp")
            try:
                os.write(fd, b"ok")
            finally:
                os.close(fd)
                os.unlink(probe)
        except OSError as exc:
            raise ValueError(
                f"checkpoint must be a str or os.PathLike naming a writable folder; "
                f"{str(path)!r} cannot be written ({_exception_text(exc)})") from exc

    def _file(self, k: int) -> Path:
        return self.path / f"chunk-{k:06d}.npz"

    def load(self, k: int) -> dict[str, Any] | None:
        """Chunk ``k``'s result dict, or None when it is not on disk or not usable.

        An unusable file (unreadable, another sweep's, other points', a checksum mismatch)
        gives None and its reason in :attr:`rerun`.
        """
        start, stop = self.bounds[k]
        try:
            # the file is opened here, not by np.load, which leaves it open when the zip is
            # truncated (an unraisable ResourceWarning at garbage collection)
            with open(self._file(k), "rb") as fh, np.load(fh, allow_pickle=False) as z:
                names = set(z.files)
                missing = [n for n in (*_PROOF, *self.required) if n not in names]
                if missing:
                    return self._reject(k, f"lacks {missing} (not a chunk file of this "
                                           f"checkpoint format)", True)
                # reading every member checks the zip's CRC-32s too
                arrays = {n: z[n] for n in names if n not in _PROOF}
                fp = str(z["fingerprint"][()])
                points = z["points"]
                stored = str(z["checksum"][()])
        except FileNotFoundError:
            return None
        except Exception as exc:  # BadZipFile, zlib.error, EOFError, OSError...
            return self._reject(k, f"unreadable ({_exception_text(exc)})")
        if fp != self.digest:
            return self._reject(k, f"holds a chunk of another sweep (fingerprint "
                                   f"{fp[:12]}..., this sweep {self.digest[:12]}...)", True)
        if points.shape != (2,) or points.tolist() != [start, stop]:
            return self._reject(k, f"holds points {points.tolist()} of this sweep, not "
                                   f"[{start}, {stop}]", True)
        if _checksum(arrays, fp, start, stop) != stored:
            return self._reject(k, "checksum mismatch (the arrays were altered)", True)
        out = {n: arrays[n] for n in _ARRAYS if n in arrays}
        rows = stop - start
        if any(out[n].shape[:1] != (rows,) for n in out) or out["info"].shape != (rows, 5):
            return self._reject(k, f"holds arrays of other shapes than {rows} points", True)
        try:
            out["errors"] = dict(zip(arrays["error_index"].tolist(),
                                     arrays["error_message"].tolist(), strict=True))
        except ValueError:
            return self._reject(k, "holds unequal lists of error indices and messages", True)
        invalid = np.flatnonzero(out["info"][:, 0] == Status.INVALID_PARAMETERS).tolist()
        if any(i not in out["errors"] for i in invalid):
            return self._reject(k, "lacks the messages of its rejected points", True)
        return out

    def _reject(self, k: int, reason: str, foreign: bool = False) -> dict[str, Any] | None:
        # typed as load's result, which returns it: always None, the chunk is run again
        self.rerun[k] = f"{self._file(k).name}: {reason}"
        if foreign:
            self.foreign.add(k)
        return None

    def save(self, k: int, result: Mapping[str, Any]) -> None:
        """Write chunk ``k`` atomically, with its proof (fingerprint, range, checksum)."""
        start, stop = self.bounds[k]
        arrays = {name: result[name] for name in _ARRAYS if name in result}
        errs = result["errors"]
        arrays["error_index"] = np.array(sorted(errs), dtype=np.int64)
        arrays["error_message"] = np.array([errs[i] for i in sorted(errs)], dtype=str)
        proof: dict[str, Any] = {"fingerprint": np.array(self.digest),
                                 "points": np.array([start, stop]),
                                 "checksum": np.array(_checksum(arrays, self.digest, start,
                                                                stop))}
        _atomic_write(self._file(k), lambda fh: np.savez(fh, **arrays, **proof))

    def report(self) -> None:
        """Warn (:class:`CheckpointWarning`) about files that are not this sweep's, if any
        (unreadable chunk files are only listed in :attr:`rerun`)."""
        if not self.foreign and not self.notes:
            return
        lines = list(self.notes)
        if self.foreign:
            listed = [self.rerun[k] for k in sorted(self.foreign)]
            more = f"; and {len(listed) - 8} more" if len(listed) > 8 else ""
            lines.append(f"{len(listed)} of {self.nchunks} chunk files are not this sweep's "
                         f"and are run again (their files overwritten): "
                         + "; ".join(listed[:8]) + more)
        warnings.warn(f"checkpoint folder {str(self.path)!r}: " + ". ".join(lines),
                      CheckpointWarning, stacklevel=3)


def _checksum(arrays: Mapping[str, Any], digest: str, start: int, stop: int) -> str:
    """SHA-256 over a chunk's arrays (names, dtypes, shapes, bytes), fingerprint and range."""
    h = hashlib.sha256(f"{digest}\0{start}\0{stop}\0".encode())
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}\0{a.dtype.str}\0{a.shape}\0".encode())
        h.update(a.data)
    return h.hexdigest()


def _exception_text(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _difference(old: Mapping[str, Any], new: Mapping[str, Any]) -> str:
    """Which entries of two ``sweep.json`` records differ, for the error message."""
    keys = sorted(set(old) | set(new))
    return ", ".join(f"{k}: {old.get(k)!r} on disk, {new.get(k)!r} now" for k in keys
                     if old.get(k) != new.get(k))


def _atomic_write(path: Path, write: Callable[[IO[bytes]], object]) -> None:
    """``write(fh)`` into a temporary file beside ``path``, flushed, then renamed onto it: a
    killed run leaves the whole file or none. The temporary name is unique, so two sweeps of
    one folder (threads or processes) never write into each other's file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
