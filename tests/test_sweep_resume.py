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
    _kill_after(ck, 3, tmp_path / "child.log")
    done = len(list(ck.glob("chunk-*.npz")))
    assert 3 <= done < len(full), "the child finished before it could be killed"

    resumed = lc.sweep(*args, checkpoint=ck, **kw)
    assert resumed.stats["chunks_from_checkpoint"] == done
    for k in full.metrics:
        assert np.array_equal(full.metrics[k], resumed.metrics[k], equal_nan=True), k
    assert np.array_equal(full.status, resumed.status)
    assert np.array_equal(full.nfev, resumed.nfev)
    assert len(list(Path(ck).glob("chunk-*.npz"))) == len(full)


def _kill_after(ck, chunks, log):
    """Start the checkpointed sweep in a child and SIGKILL it once ``chunks`` files exist."""
    script = SETUP + f"\nlc.sweep(*ARGS, checkpoint={str(ck)!r}, **KW)\n"
    with open(log, "wb") as fh:
        child = subprocess.Popen([sys.executable, "-c", script], stdout=fh, stderr=fh)
    try:
        deadline = time.monotonic() + 300
        while len(list(ck.glob("chunk-*.npz"))) < chunks:
            assert child.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "child made no progress in 300 s"
            time.sleep(0.02)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGKILL


@pytest.mark.slow
def test_killed_sweep_with_a_damaged_chunk_resumes_to_the_uninterrupted_result(tmp_path):
    args, kw = _args()
    full = lc.sweep(*args, **kw)
    ck = tmp_path / "ck"
    _kill_after(ck, 3, tmp_path / "child.log")
    done = sorted(ck.glob("chunk-*.npz"))
    assert 3 <= len(done) < len(full), "the child finished before it could be killed"
    # a bit flipped on disk after the kill: the chunk is run again, never loaded
    blob = bytearray(done[1].read_bytes())
    blob[blob.index(b"metrics.npy") + 200] ^= 0x01
    done[1].write_bytes(bytes(blob))
    resumed = lc.sweep(*args, checkpoint=ck, **kw)
    k = int(done[1].stem.split("-")[1])
    assert list(resumed.stats["chunks_rerun"]) == [k]
    assert "unreadable" in resumed.stats["chunks_rerun"][k]
    assert resumed.stats["chunks_from_checkpoint"] == len(done) - 1
    for name in full.metrics:
        assert np.array_equal(full.metrics[name], resumed.metrics[name], equal_nan=True), name
    assert np.array_equal(full.status, resumed.status)
    assert np.array_equal(full.nfev, resumed.nfev)


@pytest.mark.slow
def test_two_processes_on_one_folder_agree(tmp_path):
    args, kw = _args()
    full = lc.sweep(*args, **kw)
    ck = tmp_path / "ck"
    script = SETUP + textwrap.dedent(f"""
        import sys
        res = lc.sweep(*ARGS, checkpoint={str(ck)!r}, **KW)
        np.save(sys.argv[1], np.column_stack([res["IAE"], res.status, res.nfev]))
    """)
    outs = [tmp_path / f"out{i}.npy" for i in range(2)]
    children = [subprocess.Popen([sys.executable, "-c", script, str(o)],
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
                for o in outs]
    for child in children:
        log, _ = child.communicate(timeout=600)
        assert child.returncode == 0, log.decode()[-2000:]
    expected = np.column_stack([full["IAE"], full.status, full.nfev])
    for o in outs:
        assert np.array_equal(np.load(o), expected, equal_nan=True)
    again = lc.sweep(*args, checkpoint=ck, **kw)
    assert again.stats["chunks_from_checkpoint"] == len(full)
    assert again.stats["chunks_rerun"] == {}
    assert np.array_equal(again["IAE"], full["IAE"], equal_nan=True)
    assert not list(ck.glob(".*.tmp"))
