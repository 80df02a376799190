"""Sweeps that meet bad values, failing user models and damaged checkpoint folders.

A value a model rejects, or a model that raises (in Python or in its numba code), fails its
own point only: the point is reported with a message naming the exception and every other
point equals ``simulate`` + ``step_info`` bit for bit. A checkpoint chunk file is loaded only
when it proves it holds this sweep's points (fingerprint, point range, checksum); anything
else is run again and reported.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import NamedTuple

import numba
import numpy as np
import pytest

import leaky_control as lc
from leaky_control.sweeps.checkpoint import CheckpointWarning

T = np.linspace(0.0, 30.0, 301)
CRUISE = dict(reference=25.0, initial_state=[20.0], disturbance=np.where(T > 5.0, 0.07, 0.0))
OPTS = {"initial_output": 20.0}
TANK_T = np.linspace(0.0, 40.0, 81)
TANK = dict(reference=1.0, initial_state=[0.2], solver=lc.Dopri5())


class ProbeRecord(NamedTuple):
    area: float
    outlet: float
    k: float


@dataclass(frozen=True)
class ProbeTank(lc.Plant):
    """A user's tank ``area h' = k sat(u) - outlet sqrt(2 g h) + d`` that fails on request:
    ``fail="post_init"`` or ``"record"`` raise on the Python side, ``area=0`` divides by zero
    in its numba code, and its record passes ``k`` through as an int when it is integral
    (a record field whose type depends on the parameter value)."""

    area: float = 2.0
    outlet: float = 0.05
    k: float = 1.0
    fail: str = ""

    Record = ProbeRecord
    nstates = ninputs = ndisturbances = noutputs = 1

    def __post_init__(self):
        if self.fail == "post_init":
            raise RuntimeError("ProbeTank refuses fail='post_init'")

    def record(self):
        if self.fail == "record":
            raise ZeroDivisionError("ProbeTank.record failed on purpose")
        k = int(self.k) if float(self.k).is_integer() else float(self.k)
        return ProbeRecord(float(self.area), float(self.outlet), k)

    @staticmethod
    def dynamics(p, t, x, u, d, dx):
        q = p.k * min(max(u[0], 0.0), 1.0)
        dx[0] = (q - p.outlet * math.sqrt(2.0 * 9.81 * max(x[0], 0.0)) + d[0]) / p.area


def _tank():
    return ProbeTank(), lc.LeakyPI(kp=2.0, ki=0.2, negative_slope=0.1)


def _cruise():
    return lc.CruiseControl(), lc.LeakyPI(kp=0.5, ki=0.1, negative_slope=0.1)


def _assert_equals_simulate(res, i, plant, ctrl, timepts, metric_options=None, **keywords):
    """Point i equals simulate + step_info with the point's values (as given), exactly."""
    pt = res.point(i)
    params = {k: pt[k] for k in res.params}
    ref = lc.simulate(plant, ctrl, timepts, params=params, **keywords)
    info = lc.step_info(ref, **(metric_options or {}))
    for k, v in res.metrics.items():
        assert np.array_equal(v[i], info[k], equal_nan=True), (i, k, v[i], info[k])
    assert res.success[i] == ref.success
    assert res.nfev[i] == ref.stats["nfev"]
    if res.trajectories is not None:
        assert np.array_equal(res.response(i).states, ref.states, equal_nan=True)


def _no_point_may_run(monkeypatch):
    from leaky_control.sweeps import api

    def boom(*a, **k):
        raise AssertionError("a point ran before the input was checked")

    monkeypatch.setattr(api, "prepare_chunk", boom)
    monkeypatch.setattr(api, "run_chunk", boom)


# -- 1. grid values a model rejects --------------------------------------------------------


def test_value_beyond_the_float_range_fails_only_its_point():
    plant, ctrl = _tank()
    # ProbeTank.record converts with float(): OverflowError, not a model's ValueError
    res = lc.sweep(plant, ctrl, {"area": [1.0, 10**400, 3.0]}, TANK_T, chunk_size=4, **TANK)
    assert res.status.tolist() == [0, 4, 0]
    assert "OverflowError" in res.messages[1]
    for i in (0, 2):
        _assert_equals_simulate(res, i, plant, ctrl, TANK_T, **TANK)
    # a built-in model says which parameter
    plant, ctrl = _cruise()
    res = lc.sweep(plant, ctrl, {"kp": [0.5, 10**400]}, T, solver=lc.Dopri5(), **CRUISE)
    assert res.status.tolist() == [0, 4]
    assert "kp" in res.messages[1]


def test_complex_str_and_none_values_fail_only_their_points():
    plant, ctrl = _cruise()
    res = lc.sweep(plant, ctrl, {"kp": [0.5, 1 + 2j, "fast", None]}, T, solver=lc.Dopri5(),
                   metric_options=OPTS, **CRUISE)
    assert res.status.tolist() == [0, 4, 4, 4]
    for i, shown in ((1, "(1+2j)"), (2, "'fast'"), (3, "None")):
        assert "kp" in res.messages[i], res.messages[i]
        assert shown in res.messages[i], res.messages[i]
    _assert_equals_simulate(res, 0, plant, ctrl, T, OPTS, solver=lc.Dopri5(), **CRUISE)


def test_nan_is_refused_up_front_and_infinity_is_left_to_the_model(monkeypatch):
    plant, ctrl = _cruise()
    # u_max=inf is LeakyPI's own default (no saturation): a value to sweep, not bad input
    res = lc.sweep(plant, ctrl, {"u_max": [1.0, np.inf], "kp": [0.5, np.inf]}, T,
                   solver=lc.Dopri5(), metric_options=OPTS, **CRUISE)
    assert res.status.tolist() == [0, 4, 0, 4]
    assert "kp must be finite" in res.messages[1]
    for i in (0, 2):
        _assert_equals_simulate(res, i, plant, ctrl, T, OPTS, solver=lc.Dopri5(), **CRUISE)
    _no_point_may_run(monkeypatch)
    with pytest.raises(ValueError, match=r"grid\['kp'\] values must be finite.*nan"):
        lc.sweep(plant, ctrl, {"kp": [0.5, float("nan")]}, T)


# -- 3. integer values stay integers ---------------------------------------------------------


@pytest.mark.parametrize("grid", [
    {"gear": [1, 2, 7, 2.5]},
    lc.Points(gear=[1, 2, 7, 2.5]),
    [{"gear": 1}, {"gear": 2}, {"gear": 7}, {"gear": 2.5}],
], ids=["product", "points", "dicts"])
def test_integer_values_stay_integers_beside_a_float(grid):
    plant, ctrl = _cruise()
    res = lc.sweep(plant, ctrl, grid, T, solver=lc.Dopri5(), metric_options=OPTS, **CRUISE)
    # 7 is outside CruiseControl's five gears, 2.5 no integer: both are the model's refusals
    assert res.status.tolist() == [0, 0, 4, 4]
    assert "gear" in res.messages[2]
    assert "got 7" in res.messages[2]
    assert "gear" in res.messages[3]
    assert "got 2.5" in res.messages[3]
    assert type(res.point(0)["gear"]) is int
    assert type(res.point(3)["gear"]) is float
    assert res.params["gear"].tolist() == [1.0, 2.0, 7.0, 2.5]  # numeric, for tables
    for i in (0, 1):
        _assert_equals_simulate(res, i, plant, ctrl, T, OPTS, solver=lc.Dopri5(), **CRUISE)


def test_a_bool_beside_floats_is_not_turned_into_one():
    plant, ctrl = _cruise()
    res = lc.sweep(plant, ctrl, {"kp": [0.5, True]}, T, solver=lc.Dopri5(), **CRUISE)
    assert res.status.tolist() == [0, 4]
    assert "kp must be a real number, got True" in res.messages[1]


def test_record_fields_of_another_type_are_not_truncated():
    # ProbeTank's record holds k as an int when it is integral: k=2.5 must not run as k=2
    plant, ctrl = _tank()
    res = lc.sweep(plant, ctrl, {"k": [2.0, 2.5]}, TANK_T, chunk_size=2,
                   keep_trajectories=True, **TANK)
    assert res.success.all()
    for i in (0, 1):
        _assert_equals_simulate(res, i, plant, ctrl, TANK_T, **TANK)
    assert not np.array_equal(res.trajectories["states"][0], res.trajectories["states"][1])


# -- 2. user models that raise ----------------------------------------------------------------


def _run(path, plant, ctrl, grid, timepts, **kw):
    if path == "local":
        return lc.sweep(plant, ctrl, grid, timepts, **kw)
    if path == "threads":
        with ThreadPoolExecutor(max_workers=2) as ex:
            return lc.sweep(plant, ctrl, grid, timepts, executor=ex, **kw)
    distributed = pytest.importorskip("distributed")
    with distributed.Client(processes=False, n_workers=1, threads_per_worker=2,
                            dashboard_address=None) as client:
        return lc.sweep(plant, ctrl, grid, timepts, executor=client.get_executor(), **kw)


@pytest.mark.parametrize("path", ["local", "threads", "dask"])
@pytest.mark.parametrize(("fail", "error"), [
    ("post_init", "RuntimeError: ProbeTank refuses fail='post_init'"),
    ("record", "ZeroDivisionError: ProbeTank.record failed on purpose"),
])
def test_python_side_model_error_fails_only_its_point(path, fail, error):
    plant, ctrl = _tank()
    grid = lc.Points(fail=["", fail, "", ""], area=[1.0, 2.0, 3.0, 4.0])
    res = _run(path, plant, ctrl, grid, TANK_T, chunk_size=2, **TANK)
    assert res.status.tolist() == [0, 4, 0, 0]
    assert error in res.messages[1], res.messages[1]
    assert np.isnan(res["IAE"][1])
    assert not res["Settled"][1]
    for i in (0, 2, 3):
        _assert_equals_simulate(res, i, plant, ctrl, TANK_T, **TANK)


@pytest.mark.parametrize("path", ["local", "threads"])
def test_numba_side_model_error_fails_only_its_point(path):
    # area=0 divides by zero in ProbeTank.dynamics: simulate raises ZeroDivisionError; the
    # parallel kernel used to lose it (SystemError, or status 0 with uninitialised metrics)
    plant, ctrl = _tank()
    with pytest.raises(ZeroDivisionError):
        lc.simulate(plant.replace(area=0.0), ctrl, TANK_T, **TANK)
    grid = {"area": [1.0, 0.0, 2.0, 3.0, 0.0, 4.0]}
    res = _run(path, plant, ctrl, grid, TANK_T, chunk_size=3, keep_trajectories=True,
               **TANK)
    assert res.status.tolist() == [0, 4, 0, 0, 4, 0]
    for i in (1, 4):
        assert "ZeroDivisionError: division by zero" in res.messages[i], res.messages[i]
        assert np.isnan(res["IAE"][i])
        assert np.isnan(res.failure_time[i])
        assert np.isnan(res.trajectories["states"][i]).all()
    for i in (0, 2, 3, 5):
        _assert_equals_simulate(res, i, plant, ctrl, TANK_T, **TANK)


def test_many_numba_errors_in_one_parallel_chunk():
    plant, ctrl = _tank()
    areas = [0.0, 0.0, 0.0, *np.linspace(1.0, 3.0, 17).tolist(), 0.0]
    res = lc.sweep(plant, ctrl, {"area": areas}, TANK_T, chunk_size=64, **TANK)
    assert np.flatnonzero(res.status).tolist() == [0, 1, 2, 20]
    ok = lc.sweep(plant, ctrl, {"area": areas[3:20]}, TANK_T, threads=1, **TANK)
    assert np.array_equal(res["IAE"][3:20], ok["IAE"])
    assert np.array_equal(res.nfev[3:20], ok.nfev)


# -- 4-6. checkpoint chunk files prove what they hold -----------------------------------------


def _checkpointed(tmp_path, grid=None, **extra):
    plant, ctrl = _cruise()
    grid = grid or {"kp": [0.3, 0.4, 0.5, 0.6, 0.7, 0.8]}
    kw = dict(solver=lc.Dopri5(), metric_options=OPTS, chunk_size=2, **CRUISE, **extra)
    full = lc.sweep(plant, ctrl, grid, T, **kw)
    ck = tmp_path / "ck"
    lc.sweep(plant, ctrl, grid, T, checkpoint=ck, **kw)
    return (plant, ctrl, grid, T), kw, ck, full


def _resume(*args, **kw):
    """The sweep and the CheckpointWarnings it gave (checked after its results)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = lc.sweep(*args, **kw)
    return res, [str(w.message) for w in caught if issubclass(w.category, CheckpointWarning)]


def _assert_same(a, b):
    for k in a.metrics:
        assert np.array_equal(a.metrics[k], b.metrics[k], equal_nan=True), k
    assert np.array_equal(a.status, b.status)
    assert np.array_equal(a.nfev, b.nfev)
    assert a.messages == b.messages


def test_truncated_and_bit_flipped_chunks_are_rerun_and_listed(tmp_path):
    args, kw, ck, full = _checkpointed(tmp_path)
    one = ck / "chunk-000001.npz"
    one.write_bytes(one.read_bytes()[: one.stat().st_size // 2])  # truncated
    two = ck / "chunk-000002.npz"
    blob = bytearray(two.read_bytes())
    at = blob.index(b"metrics.npy") + 200  # inside the metrics array's data
    blob[at] ^= 0x10
    two.write_bytes(bytes(blob))
    again, warned = _resume(*args, checkpoint=ck, **kw)
    _assert_same(full, again)
    assert warned == []  # a crash can leave such files: listed, not warned about
    assert sorted(again.stats["chunks_rerun"]) == [1, 2]
    for k in (1, 2):
        reason = again.stats["chunks_rerun"][k]
        assert reason.startswith(f"chunk-00000{k}.npz: unreadable ("), reason
    assert "Bad CRC-32" in again.stats["chunks_rerun"][2]
    assert again.stats["chunks_from_checkpoint"] == 1
    third = lc.sweep(*args, checkpoint=ck, **kw)  # the rerun chunks were written anew
    assert third.stats["chunks_from_checkpoint"] == 3
    assert third.stats["chunks_rerun"] == {}


def test_altered_arrays_in_a_valid_file_fail_the_checksum(tmp_path):
    args, kw, ck, full = _checkpointed(tmp_path)
    f = ck / "chunk-000001.npz"
    with np.load(f) as z:
        arrays = {n: z[n] for n in z.files}
    arrays["metrics"] = arrays["metrics"] * 2.0  # a well-formed file with other numbers
    with open(f, "wb") as fh:
        np.savez(fh, **arrays)
    again, warned = _resume(*args, checkpoint=ck, **kw)
    _assert_same(full, again)
    assert len(warned) == 1
    assert "chunk-000001.npz: checksum mismatch" in warned[0]
    assert list(again.stats["chunks_rerun"]) == [1]


def test_swapped_chunk_files_are_rerun_and_reported(tmp_path):
    args, kw, ck, full = _checkpointed(tmp_path)
    a, b = ck / "chunk-000000.npz", ck / "chunk-000001.npz"
    tmp = ck / "swap"
    a.rename(tmp)
    b.rename(a)
    tmp.rename(b)
    again, warned = _resume(*args, checkpoint=ck, **kw)
    _assert_same(full, again)
    assert len(warned) == 1
    assert "chunk-000000.npz: holds points [2, 4] of this sweep, not [0, 2]" in warned[0]
    assert sorted(again.stats["chunks_rerun"]) == [0, 1]
    assert again.stats["chunks_from_checkpoint"] == 1


def test_another_sweeps_chunks_without_sweep_json_are_not_loaded(tmp_path):
    args, kw, ck, _ = _checkpointed(tmp_path)
    (ck / "sweep.json").unlink()
    plant, ctrl, _, t = args
    other = {"kp": [0.9, 1.0, 1.1, 1.2, 1.3, 1.4]}  # same number of points and chunks
    full = lc.sweep(plant, ctrl, other, t, **kw)
    res, warned = _resume(plant, ctrl, other, t, checkpoint=ck, **kw)
    _assert_same(full, res)  # not the old sweep's numbers
    assert len(warned) == 1
    assert "3 of 3 chunk files are not this sweep's" in warned[0]
    assert res.stats["chunks_from_checkpoint"] == 0
    assert all("another sweep" in r for r in res.stats["chunks_rerun"].values())


def test_unreadable_sweep_json_is_rewritten_and_the_chunks_checked(tmp_path):
    args, kw, ck, full = _checkpointed(tmp_path)
    (ck / "sweep.json").write_bytes(b"\x00garbage")
    again, warned = _resume(*args, checkpoint=ck, **kw)
    _assert_same(full, again)
    assert len(warned) == 1
    assert "sweep.json was unreadable" in warned[0]
    assert again.stats["chunks_from_checkpoint"] == 3
    assert json.loads((ck / "sweep.json").read_text())["nchunks"] == 3


def test_a_folder_of_the_older_checkpoint_format_is_refused(tmp_path):
    args, kw, ck, _ = _checkpointed(tmp_path)
    meta = json.loads((ck / "sweep.json").read_text())
    (ck / "sweep.json").write_text(json.dumps(dict(meta, version=1)))
    with pytest.raises(ValueError, match="checkpoint format 1"):
        lc.sweep(*args, checkpoint=ck, **kw)


def test_checkpointed_model_failures_come_back_unchanged(tmp_path):
    plant, ctrl = _tank()
    grid = lc.Points(fail=["", "record", "", ""], area=[1.0, 2.0, 0.0, 4.0])
    kw = dict(chunk_size=1, keep_trajectories=True, **TANK)
    full = lc.sweep(plant, ctrl, grid, TANK_T, **kw)
    lc.sweep(plant, ctrl, grid, TANK_T, checkpoint=tmp_path / "ck", **kw)
    again = lc.sweep(plant, ctrl, grid, TANK_T, checkpoint=tmp_path / "ck", **kw)
    assert again.stats["chunks_from_checkpoint"] == 4
    assert full.status.tolist() == [0, 4, 4, 0]
    _assert_same(full, again)
    for k in full.trajectories:
        assert np.array_equal(again.trajectories[k], full.trajectories[k], equal_nan=True)


# -- 7. the fingerprint covers the model's code ----------------------------------------------


def _make_decay(rate):
    # one source, two functions: their compiled code differs by the frozen closure value
    @lc.rhs
    @numba.njit
    def decay(t, x, ud, params, dx):
        dx[0] = -rate * params[0] * x[0] + ud[0]

    return lc.NumbaPlant(decay, nstates=1, params=[1.0])


# NumbaPlant's model digest of the first @rhs plant a process makes differs from the later
# ones' (see test_fingerprint_of_an_rhs_plant_is_the_same_in_every_process): a first one here
# makes the two plants of the test below get the same digest, as two later ones do
_make_decay(0.5)
SLOW_DECAY = _make_decay(1.0)


def test_rhs_function_with_other_closure_values_is_another_sweep(tmp_path):
    ctrl = lc.LeakyP(kp=1.0, negative_slope=0.5)
    t = np.linspace(0.0, 5.0, 51)
    kw = dict(reference=1.0, chunk_size=1, solver=lc.RK4())
    lc.sweep(SLOW_DECAY, ctrl, {"kp": [1.0, 2.0]}, t, checkpoint=tmp_path / "ck", **kw)
    # same function name, file and qualified name; only the dynamics differ
    with pytest.raises(ValueError, match="different sweep"):
        lc.sweep(_make_decay(3.0), ctrl, {"kp": [1.0, 2.0]}, t, checkpoint=tmp_path / "ck",
                 **kw)


FINGERPRINT = textwrap.dedent("""
    import sys
    import numba, numpy as np
    import leaky_control as lc
    from leaky_control.sweeps.api import _build
    from leaky_control.sweeps.checkpoint import fingerprint
    if sys.argv[1] == "other-first":  # another NumbaPlant made before, as a program may
        @lc.rhs
        @numba.njit
        def other(t, x, ud, params, dx):
            dx[0] = -x[0]
        lc.NumbaPlant(other, nstates=1)
    @lc.rhs
    @numba.njit
    def decay(t, x, ud, params, dx):
        dx[0] = -params[0] * x[0] + ud[0]
    plant = lc.NumbaPlant(decay, nstates=1, params=[1.0])
    spec, table = _build(plant, lc.LeakyP(kp=1.0, negative_slope=0.5), {"kp": [1.0]},
                         np.linspace(0, 1, 11), None, False, 1.0, None, None, None, None, None)
    print(fingerprint(spec, table, 1))
""")


def test_fingerprint_of_an_rhs_plant_is_the_same_in_every_process(tmp_path):
    # NumbaPlant's model digest depends on whether another NumbaPlant was made first; the
    # fingerprint must not, or a resumed sweep would be refused as another sweep
    script = tmp_path / "fp.py"
    script.write_text(FINGERPRINT)
    out = [subprocess.run([sys.executable, str(script), arg], capture_output=True, text=True,
                          timeout=300) for arg in ("alone", "other-first", "alone")]
    for o in out:
        assert o.returncode == 0, o.stderr[-2000:]
    prints = [o.stdout.strip() for o in out]
    assert prints[0] == prints[1] == prints[2]
    assert len(prints[0]) == 64


# -- 8. the checkpoint argument ---------------------------------------------------------------


@pytest.mark.parametrize(("value", "exc", "match"), [
    (123, TypeError, r"checkpoint must be a str or os.PathLike naming a writable folder, "
                     r"got 123 of type int"),
    (b"ck", TypeError, r"checkpoint must be a str or os.PathLike.*b'ck'"),
    (True, TypeError, r"checkpoint must be a str or os.PathLike.*True"),
    ("", ValueError, r"checkpoint must be .* got the empty path ''"),
])
def test_checkpoint_of_the_wrong_type_is_refused_up_front(monkeypatch, value, exc, match):
    _no_point_may_run(monkeypatch)
    plant, ctrl = _cruise()
    with pytest.raises(exc, match=match):
        lc.sweep(plant, ctrl, {"kp": [0.5]}, T, checkpoint=value)


def test_unwritable_checkpoint_folder_is_refused_up_front(monkeypatch, tmp_path):
    _no_point_may_run(monkeypatch)
    plant, ctrl = _cruise()
    afile = tmp_path / "afile"
    afile.write_text("x")
    with pytest.raises(ValueError, match=r"checkpoint must be a str or os.PathLike naming a "
                                         r"writable folder; '.*afile/ck' cannot be written"):
        lc.sweep(plant, ctrl, {"kp": [0.5]}, T, checkpoint=afile / "ck")
    with pytest.raises(ValueError, match=r"checkpoint must name a folder.*afile"):
        lc.sweep(plant, ctrl, {"kp": [0.5]}, T, checkpoint=afile)
    if os.name == "posix" and os.geteuid() != 0:  # root writes anywhere
        ro = tmp_path / "ro"
        ro.mkdir(mode=0o500)
        with pytest.raises(ValueError, match="cannot be written"):
            lc.sweep(plant, ctrl, {"kp": [0.5]}, T, checkpoint=ro)


# -- kept: concurrent sweeps of one folder ----------------------------------------------------


def test_two_threads_sharing_a_checkpoint_folder_agree(tmp_path):
    plant, ctrl = _cruise()
    grid = {"kp": np.linspace(0.2, 1.0, 12)}
    kw = dict(solver=lc.Dopri5(), metric_options=OPTS, chunk_size=1, **CRUISE)
    full = lc.sweep(plant, ctrl, grid, T, **kw)
    out = [None, None]

    def run(i):
        out[i] = lc.sweep(plant, ctrl, grid, T, checkpoint=tmp_path / "ck", **kw)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    for res in out:
        _assert_same(full, res)
    assert not list((tmp_path / "ck").glob(".*.tmp"))
    again = lc.sweep(plant, ctrl, grid, T, checkpoint=tmp_path / "ck", **kw)
    assert again.stats["chunks_from_checkpoint"] == 12
