"""Kill-and-resume: a subprocess running a checkpointed sweep is killed (SIGKILL) mid-way;
resuming with the same folder must return exactly the uninterrupted result."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

import leaky_control as lc

# RK4 at a small step so each point takes ~0.1-0.3 s: the kill lands between chunks
SETUP = textwrap.dedent("""
    import numpy as np
    import leaky_control as lc
    T = np.linspace(0.0, 30.0, 301)
    ARGS = (lc.CruiseControl(), lc.LeakyPI(kp=0.5, ki=0.1, negative_slope=0.1),
            {"negative_slope": np.linspace(0.0, 1.0, 6), "kp": np.linspace(0.2, 1.0, 4)}, T)
    KW = dict(reference=25.0, initial_state=[20.0], disturbance=np.where(T > 5, 0.07, 0.0),
              solver=lc.RK4(max_step=2e-4), metric_options={"initial_output": 20.0},
              chunk_size=1, threads=1)
""")


def _args():
    ns = {}
    exec(SETUP, ns)
    return ns["ARGS"], ns["KW"]


@pytest.mark.slow
def test_killed_sweep_resumes_to_the_uninterrupted_result(tmp_path):
    args, kw = _args()
    full = lc.sweep(*args, **kw)  # also leaves the kernel in the disk cache for the child
    ck = tmp_path / "ck"
    script = SETUP + f"\nlc.sweep(*ARGS, checkpoint={str(ck)!r}, **KW)\n"
    log = tmp_path / "child.log"
    with open(log, "wb") as fh:
        child = subprocess.Popen([sys.executable, "-c", script], stdout=fh, stderr=fh)
    try:
        deadline = time.monotonic() + 300
        while len(list(ck.glob("chunk-*.npz"))) < 3:
            assert child.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "child made no progress in 300 s"
            time.sleep(0.02)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    done = len(list(ck.glob("chunk-*.npz")))
    assert child.returncode == -signal.SIGKILL
    assert 3 <= done < len(full), "the child finished before it could be killed"

    resumed = lc.sweep(*args, checkpoint=ck, **kw)
    assert resumed.stats["chunks_from_checkpoint"] == done
    for k in full.metrics:
        assert np.array_equal(full.metrics[k], resumed.metrics[k], equal_nan=True), k
    assert np.array_equal(full.status, resumed.status)
    assert np.array_equal(full.nfev, resumed.nfev)
    assert len(list(Path(ck).glob("chunk-*.npz"))) == len(full)
