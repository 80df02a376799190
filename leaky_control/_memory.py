"""How much memory a run may still take: one answer for the simulator's and the
semidefinite programs' up-front refusals."""

from __future__ import annotations

import os

__all__ = ["available_memory"]


def available_memory() -> int | None:
    """Bytes of memory this process can still use (best effort; None if unknown).

    ``psutil.virtual_memory().available`` when psutil is installed, else ``MemAvailable`` from
    ``/proc/meminfo``, else ``os.sysconf("SC_AVPHYS_PAGES")`` pages; capped by a cgroup v2 limit
    (``memory.max - memory.current``) when one is set.
    """
    avail: int | None = None
    try:
        import psutil

        avail = int(psutil.virtual_memory().available)
    except Exception:  # not installed, or no access: fall back to the kernel's own figures
        try:
            with open("/proc/meminfo") as fh:
                for line in fh:
                    if line.startswith("MemAvailable:"):
                        avail = int(line.split()[1]) * 1024
                        break
        except OSError:
            pass
        if avail is None:
            try:
                avail = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
            except (ValueError, OSError, AttributeError):
                avail = None
    try:
        with open("/sys/fs/cgroup/memory.max") as fh:
            limit = fh.read().strip()
        if limit != "max":
            with open("/sys/fs/cgroup/memory.current") as fh:
                used = int(fh.read().strip())
            room = max(int(limit) - used, 0)
            avail = room if avail is None else min(avail, room)
    except (OSError, ValueError):
        pass
    return avail
