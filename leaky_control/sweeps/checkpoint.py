"""Atomic, resumable storage of a sweep's finished chunks in a folder.

The folder holds ``sweep.json`` (a fingerprint of the sweep: models as packed for the kernel,
times, signals, solver, parameter table, metric options, chunk size) and one
``chunk-NNNNNN.npz`` per finished chunk. A chunk file is written under a temporary name,
flushed to disk and renamed into place, so a killed run leaves whole chunks or none; a chunk
file that cannot be read is run again.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from .._dispatch import model_digest

FORMAT_VERSION = 1
_ARRAYS = ("metrics", "info", "states", "outputs", "u", "u_raw", "max_step")


def fingerprint(spec, table, chunk_size):
    """SHA-256 identifying a sweep: two runs with the same fingerprint compute the same chunks."""
    h = hashlib.sha256()

    def add(*parts):
        for part in parts:
            h.update(part if isinstance(part, bytes) else repr(part).encode())
            h.update(b"\0")

    # the models' records and the digests of their sources: an edited model is another sweep
    for model, rec in ((spec.plant, spec.plant.record()),
                       (spec.controller, spec.controller.record(spec.plant))):
        add(type(model).__module__, type(model).__qualname__, model_digest(type(model)))
        for v in rec:
            add(np.ascontiguousarray(v).tobytes() if isinstance(v, np.ndarray) else v)
    add(FORMAT_VERSION, spec.t.tobytes(), spec.solver, spec.metric_options.tobytes(),
        spec.output_index,
        spec.keep_trajectories, chunk_size, table.digest_bytes())
    for v in (spec.reference, spec.disturbance, spec.initial_state, spec.controller_state):
        add(np.asarray(v, dtype=float).tobytes() if v is not None else None)
    return h.hexdigest()


class Checkpoint:
    """A checkpoint folder for one sweep.

    Parameters
    ----------
    path : str or os.PathLike
        Folder (created if missing).
    digest : str
        The sweep's :func:`fingerprint`.
    nchunks : int

    Raises
    ------
    ValueError
        When the folder already holds a different sweep.
    """

    def __init__(self, path, digest, nchunks):
        self.path = Path(path)
        if self.path.exists() and not self.path.is_dir():
            raise ValueError(f"checkpoint must be a folder path, got the file {str(path)!r}")
        self.path.mkdir(parents=True, exist_ok=True)
        meta = self.path / "sweep.json"
        record = {"version": FORMAT_VERSION, "fingerprint": digest, "nchunks": nchunks}
        if meta.exists():
            try:
                old = json.loads(meta.read_text())
            except (OSError, ValueError):
                old = None
            if old != record:
                what = "an unreadable sweep.json" if not isinstance(old, dict) else \
                    f"a different sweep ({_difference(old, record)})"
                raise ValueError(
                    f"checkpoint folder {str(path)!r} holds {what}: other models, grid, "
                    "times, solver, options or chunk size; use a new folder or delete this one")
        else:
            _atomic_write(meta, json.dumps(record).encode())
        self.nchunks = nchunks

    def _file(self, k):
        return self.path / f"chunk-{k:06d}.npz"

    def load(self, k):
        """Chunk ``k``'s result dict, or None when it is not (readably) on disk."""
        f = self._file(k)
        if not f.exists():
            return None
        try:
            with np.load(f, allow_pickle=False) as z:
                out = {name: z[name] for name in _ARRAYS if name in z.files}
                out["errors"] = dict(zip(z["error_index"].tolist(), z["error_message"].tolist()))
        except (OSError, ValueError, KeyError, EOFError):
            return None  # e.g. truncated by a crash before the data reached the disk
        return out

    def save(self, k, result):
        """Write chunk ``k`` atomically."""
        arrays = {name: result[name] for name in _ARRAYS if name in result}
        errs = result["errors"]
        arrays["error_index"] = np.array(sorted(errs), dtype=np.int64)
        arrays["error_message"] = np.array([errs[i] for i in sorted(errs)], dtype=str)
        tmp = self._file(k).with_name(f".{self._file(k).name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self._file(k))


def _difference(old, new):
    """Which entries of two ``sweep.json`` records differ, for the error message."""
    keys = sorted(set(old) | set(new))
    return ", ".join(f"{k}: {old.get(k)!r} on disk, {new.get(k)!r} now" for k in keys
                     if old.get(k) != new.get(k))


def _atomic_write(path, data):
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
