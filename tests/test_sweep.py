"""lc.sweep against point-by-point lc.simulate + lc.step_info (the oracle: the single-run path
that is itself checked against python-control and solve_ivp in test_simulate/test_dopri5).

Equality is exact (``np.array_equal``, NaN equal to NaN): the sweep promises bit-for-bit
agreement on every path, so any tolerance would hide a real divergence."""

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import leaky_control as lc

T = np.linspace(0.0, 30.0, 301)
HILL = np.where(T > 5.0, 0.07, 0.0)
CRUISE = dict(reference=25.0, initial_state=[20.0], disturbance=HILL)
OPTS = {"initial_output": 20.0}


def _cruise():
    return lc.CruiseControl(), lc.LeakyPI(kp=0.5, ki=0.1, negative_slope=0.1)


def _assert_point_equal(res, i, plant, ctrl, timepts, metric_options=None, **keywords):
    """Point i of a sweep equals simulate + step_info with the point's values, exactly."""
    pt = res.point(i)
    params = {k: pt[k] for k in res.params if k not in lc.sweeps.grid.SCENARIO_NAMES}
    kw = dict(keywords)
    kw.update({k: pt[k] for k in res.params if k in lc.sweeps.grid.SCENARIO_NAMES})
    ref = lc.simulate(plant, ctrl, timepts, params=params, **kw)
    info = lc.step_info(ref, **(metric_options or {}))
    for k, v in res.metrics.items():
        assert np.array_equal(v[i], info[k], equal_nan=True), (i, k, v[i], info[k])
    assert res.success[i] == ref.success
    if not ref.success:
        assert res.messages[i] == ref.message
    if res.trajectories is not None:
        got = res.response(i)
        assert np.array_equal(got.outputs, ref.outputs, equal_nan=True)
        assert np.array_equal(got.loop.outputs, ref.loop.outputs, equal_nan=True)
        assert np.array_equal(got.states, ref.states, equal_nan=True)
        assert got.output_labels == ref.output_labels
        assert got.loop.output_labels == ref.loop.output_labels
    assert res.nfev[i] == ref.stats["nfev"]
    return ref


@pytest.mark.parametrize("solver", [lc.Dopri5(rtol=1e-7), lc.RK4()], ids=["dopri5", "rk4"])
def test_prange_path_equals_point_by_point_simulate(solver):
    plant, ctrl = _cruise()
    grid = {"negative_slope": [0.0, 0.1, 1.0], "kp": [0.2, 0.5, 0.9]}
    res = lc.sweep(plant, ctrl, grid, T, solver=solver, keep_trajectories=True,
                   metric_options=OPTS, chunk_size=4, **CRUISE)
    assert len(res) == 9 and res.stats["nchunks"] == 3
    # product order: the first name varies slowest
    assert res.params["negative_slope"].tolist() == [0.0] * 3 + [0.1] * 3 + [1.0] * 3
    assert res.params["kp"].tolist() == [0.2, 0.5, 0.9] * 3
    for i in range(len(res)):
        _assert_point_equal(res, i, plant, ctrl, T, OPTS, solver=solver, **CRUISE)
    # the leak matters: at every gain the integrated error falls from ReLU to leaky to linear
    iae = res["IAE"].reshape(3, 3)
    assert np.all(iae[0] > iae[1]) and np.all(iae[1] > iae[2])


def test_serial_threadpool_and_single_thread_paths_agree_bit_for_bit():
    plant, ctrl = _cruise()
    grid = lc.Points(negative_slope=[0.0, 0.05, 0.3, 1.0, 0.5], kp=[0.3, 0.4, 0.5, 0.6, 0.7])
    kw = dict(solver=lc.Dopri5(), metric_options=OPTS, chunk_size=2, **CRUISE)
    a = lc.sweep(plant, ctrl, grid, T, **kw)
    b = lc.sweep(plant, ctrl, grid, T, threads=1, **kw)
    with ThreadPoolExecutor(max_workers=2) as ex:
        c = lc.sweep(plant, ctrl, grid, T, executor=ex, **kw)
    assert c.stats["mode"] == "ThreadPoolExecutor"
    for other in (b, c):
        for k in a.metrics:
            assert np.array_equal(a.metrics[k], other.metrics[k], equal_nan=True), k
        assert np.array_equal(a.nfev, other.nfev)
    for i in (0, 3):
        _assert_point_equal(c, i, plant, ctrl, T, OPTS, solver=lc.Dopri5(), **CRUISE)


def test_process_pool_executor_path():
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    plant, ctrl = _cruise()
    grid = {"kp": [0.2, 0.4, 0.6, 0.8]}
    kw = dict(solver=lc.Dopri5(), metric_options=OPTS, chunk_size=2, **CRUISE)
    local = lc.sweep(plant, ctrl, grid, T, **kw)
    # spawn: forking a process whose numba thread pool is running is unsafe
    with ProcessPoolExecutor(2, mp_context=mp.get_context("spawn")) as ex:
        res = lc.sweep(plant, ctrl, grid, T, executor=ex, **kw)
    for k in local.metrics:
        assert np.array_equal(local.metrics[k], res.metrics[k], equal_nan=True)


def test_sweeps_started_from_two_threads_under_the_workqueue_layer():
    # numba's workqueue layer aborts the process when two threads enter parallel code at
    # once; the local path serialises its kernel launches, so this must run and agree
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent("""
        import threading
        import numpy as np
        import numba
        import leaky_control as lc
        T = np.linspace(0.0, 30.0, 301)
        args = (lc.CruiseControl(), lc.LeakyPI(kp=0.5, ki=0.1, negative_slope=0.1),
                {"kp": np.linspace(0.2, 1.0, 40)}, T)
        kw = dict(reference=25.0, initial_state=[20.0], solver=lc.Dopri5(), chunk_size=4)
        ref = lc.sweep(*args, **kw)
        out = [None, None]
        def run(i):
            out[i] = lc.sweep(*args, **kw)
        ts = [threading.Thread(target=run, args=(i,)) for i in range(2)]
        for t in ts: t.start()
        for t in ts: t.join()
        assert numba.threading_layer() == "workqueue"
        assert all(np.array_equal(o["IAE"], ref["IAE"]) for o in out)
        print("ok")
    """)
    env = dict(os.environ, NUMBA_THREADING_LAYER="workqueue")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=600, env=env)
    assert res.returncode == 0 and res.stdout.strip() == "ok", res.stderr[-2000:]


def test_failed_points_are_reported_and_do_not_stop_the_others():
    # an unstable plant: positive feedback through a negative gain diverges; negative_slope
    # 2 is rejected by the controller; the rest run normally
    plant = lc.as_plant(([[0.5]], [[1.0]], [[1.0]], [[0.0]]))
    ctrl = lc.LeakyP(kp=2.0, negative_slope=0.5)
    grid = {"kp": [-50.0, 2.0], "negative_slope": [0.5, 2.0]}
    t = np.linspace(0, 20, 201)
    res = lc.sweep(plant, ctrl, grid, t, reference=1.0, solver=lc.RK4())
    # points: (-50, .5) diverges, (-50, 2) invalid, (2, .5) ok, (2, 2) invalid
    assert res.status.tolist() == [1, 4, 0, 4]
    assert res.failed.tolist() == [0, 1, 3]
    assert "negative_slope" in res.messages[1] and res.messages[1].startswith("invalid")
    assert "non-finite" in res.messages[0]
    assert np.isfinite(res.failure_time[0]) and np.isnan(res.failure_time[1])
    assert np.isnan(res["Overshoot"][1]) and not res["Settled"][1]
    ref = _assert_point_equal(res, 0, plant, ctrl, t, reference=1.0, solver=lc.RK4())
    assert not ref.success
    _assert_point_equal(res, 2, plant, ctrl, t, reference=1.0, solver=lc.RK4())
    assert res.point(1)["status"] == "invalid parameters"


def test_max_steps_failure_is_reported_with_simulates_message():
    plant, ctrl = _cruise()
    solver = lc.Dopri5(max_steps=30)
    res = lc.sweep(plant, ctrl, {"negative_slope": [0.1, 1.0]}, T, solver=solver, **CRUISE)
    assert np.all(res.status == 3)
    for i in range(2):
        _assert_point_equal(res, i, plant, ctrl, T, solver=solver, **CRUISE)


def test_scenario_sweeps_initial_state_reference_and_disturbance():
    plant = lc.MassSpringDamper(m=1.0, c=0.4, k=2.0)
    ctrl = lc.LeakyPID(kp=3.0, ki=1.0, kd=0.5, negative_slope=0.2, u_min=-4.0, u_max=4.0)
    t = np.linspace(0, 15, 301)
    grid = lc.Points([
        {"initial_state": [0.0, 0.0], "reference": 1.0, "disturbance": 0.0},
        {"initial_state": [0.5, -1.0], "reference": 2.0, "disturbance": 0.3},
        {"initial_state": [-1.0, 0.2], "reference": 0.5, "disturbance": -0.5},
    ])
    res = lc.sweep(plant, ctrl, grid, t, keep_trajectories=True, solver=lc.Dopri5())
    assert res.params["initial_state"].shape == (3, 2)
    for i in range(3):
        _assert_point_equal(res, i, plant, ctrl, t, solver=lc.Dopri5())


def test_structure_changing_values_and_sampled_controllers():
    # "shape" changes the packed integer layout; dt makes the controller sampled
    plant = lc.FirstOrderLag(tau=2.0, gain=1.5)
    ctrl = lc.LeakyPI(kp=1.0, ki=0.5, negative_slope=0.1)
    grid = {"shape": ["error", "output"], "dt": [None, 0.1]}
    t = np.linspace(0, 10, 201)
    res = lc.sweep(plant, ctrl, grid, t, reference=1.0, keep_trajectories=True)
    assert res.success.all()
    for i in range(4):
        _assert_point_equal(res, i, plant, ctrl, t, reference=1.0)


def test_state_feedback_and_mlp_controllers():
    plant = lc.MassSpringDamper(m=1.0, c=0.2, k=1.0)
    sf = lc.LeakyStateFeedback(K=[[2.0, 1.0]], negative_slope=0.3)
    t = np.linspace(0, 10, 101)
    res = lc.sweep(plant, sf, {"negative_slope": [0.0, 0.3, 1.0]}, t,
                   initial_state=[1.0, 0.0], keep_trajectories=True)
    assert np.all(np.isnan(res["IAE"]))  # no error signal in state feedback
    for i in range(3):
        _assert_point_equal(res, i, plant, sf, t, initial_state=[1.0, 0.0])
    # the MLP keeps scratch values in its parameter array: each point must get its own
    rng = np.random.default_rng(3)
    mlp = lc.LeakyMLP([rng.normal(size=(8, 2)) * 0.5, rng.normal(size=(1, 8)) * 0.5],
                      [np.zeros(8), np.zeros(1)], negative_slope=0.1)
    res = lc.sweep(plant, mlp, {"initial_state": [[1.0, 0.0], [0.0, 1.0], [-1.0, 0.5],
                                                  [0.3, 0.3]]}, t, keep_trajectories=True)
    for i in range(4):
        _assert_point_equal(res, i, plant, mlp, t)


def test_user_rhs_plant_in_the_parallel_kernel(duffing_plant):
    ctrl = lc.LeakyPD(kp=4.0, kd=1.0, negative_slope=0.2)
    t = np.linspace(0, 10, 201)
    res = lc.sweep(duffing_plant, ctrl, {"negative_slope": [0.0, 0.2, 1.0], "kp": [2.0, 4.0]},
                   t, reference=1.0, solver=lc.Dopri5(), keep_trajectories=True)
    for i in range(len(res)):
        _assert_point_equal(res, i, duffing_plant, ctrl, t, reference=1.0, solver=lc.Dopri5())


def test_metric_selection_memory_and_pandas():
    plant, ctrl = _cruise()
    res = lc.sweep(plant, ctrl, {"kp": np.linspace(0.2, 1.0, 5)}, T,
                   metrics=["Overshoot", "Settled", "CoastingFraction"], metric_options=OPTS,
                   solver=lc.Dopri5(), **CRUISE)
    assert list(res.metrics) == ["Overshoot", "Settled", "CoastingFraction"]
    assert res.trajectories is None
    assert res["Settled"].dtype == bool
    with pytest.raises(ValueError, match="keep_trajectories=True"):
        res.response(0)
    pd = pytest.importorskip("pandas")
    df = res.to_pandas()
    assert isinstance(df, pd.DataFrame)
    assert list(df.columns) == ["kp", "Overshoot", "Settled", "CoastingFraction", "status",
                                "message"]
    assert len(df) == 5 and (df["status"] == "ok").all()
    np.testing.assert_array_equal(df["Overshoot"].to_numpy(), res["Overshoot"])


def test_progress_bar_over_chunks(capsys):
    pytest.importorskip("tqdm")
    plant, ctrl = _cruise()
    lc.sweep(plant, ctrl, {"kp": [0.3, 0.4, 0.5, 0.6]}, T, chunk_size=1, progress=True,
             solver=lc.Dopri5(), **CRUISE)
    err = capsys.readouterr().err
    assert "sweep" in err and "4/4" in err


def test_progress_without_tqdm_says_how_to_install(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    plant, ctrl = _cruise()
    with pytest.raises(ImportError, match=r"leaky-control\[progress\]"):
        lc.sweep(plant, ctrl, {"kp": [0.3]}, T, progress=True)


def test_checkpoint_skips_finished_chunks_and_refuses_another_sweep(tmp_path):
    plant, ctrl = _cruise()
    grid = {"negative_slope": [0.0, 0.5, 1.0], "kp": [0.3, 0.6]}
    kw = dict(solver=lc.Dopri5(), metric_options=OPTS, chunk_size=2, **CRUISE)
    full = lc.sweep(plant, ctrl, grid, T, **kw)
    ck = tmp_path / "ck"
    first = lc.sweep(plant, ctrl, grid, T, checkpoint=ck, **kw)
    assert first.stats["chunks_from_checkpoint"] == 0
    assert sorted(p.name for p in ck.glob("chunk-*.npz")) == [
        "chunk-000000.npz", "chunk-000001.npz", "chunk-000002.npz"]
    (ck / "chunk-000001.npz").unlink()  # as if the run had stopped before this chunk
    (ck / "chunk-000002.npz").write_bytes(b"truncated")  # an unreadable chunk is rerun
    again = lc.sweep(plant, ctrl, grid, T, checkpoint=ck, **kw)
    assert again.stats["chunks_from_checkpoint"] == 1
    for res in (first, again):
        for k in full.metrics:
            assert np.array_equal(full.metrics[k], res.metrics[k], equal_nan=True)
        assert np.array_equal(full.nfev, res.nfev)
    with pytest.raises(ValueError, match="different sweep"):
        lc.sweep(plant, ctrl, {"kp": [0.3]}, T, checkpoint=ck, **kw)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"grid": {"kq": [1.0]}}, r"unknown grid name\(s\) \['kq'\]"),
    ({"grid": {}}, "grid is empty"),
    ({"grid": {"kp": []}}, r"grid\['kp'\] has no values"),
    ({"grid": []}, "grid is empty"),
    ({"grid": [{"kp": 1.0}, {"ki": 1.0}]}, "same names"),
    ({"grid": {"kp": [0.5, float("nan")]}}, "must be finite"),
    ({"grid": {"initial_state": [[1.0, 2.0]]}}, r"grid\['initial_state'\].*shape"),
    ({"metrics": ["Overshot"]}, r"unknown metric\(s\) \['Overshot'\]"),
    ({"metric_options": {"settling": 0.05}}, "unknown metric_options"),
    ({"metric_options": {"output": 3}}, "plant output index"),
    ({"metric_options": {"settling_threshold": 0.0}}, "settling_threshold"),
    ({"chunk_size": 0}, "chunk_size"),
    ({"threads": 0}, "threads"),
    ({"keep_trajectories": "yes"}, "keep_trajectories"),
])
def test_bad_input_is_rejected_before_any_point_runs(monkeypatch, kwargs, match):
    from leaky_control.sweeps import api

    def boom(*a, **k):
        raise AssertionError("a point ran before the input was checked")

    monkeypatch.setattr(api, "prepare_chunk", boom)
    monkeypatch.setattr(api, "run_chunk", boom)
    plant, ctrl = _cruise()
    args = dict(grid={"kp": [0.5]})
    args.update(kwargs)
    grid = args.pop("grid")
    with pytest.raises((ValueError, TypeError), match=match):
        lc.sweep(plant, ctrl, grid, T, **args)


def test_points_from_a_dataframe_of_monte_carlo_draws():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(7)
    df = pd.DataFrame({"negative_slope": rng.uniform(0, 1, 6), "kp": rng.uniform(0.2, 1, 6)})
    plant, ctrl = _cruise()
    res = lc.sweep(plant, ctrl, lc.Points(df), T, solver=lc.Dopri5(), metric_options=OPTS,
                   **CRUISE)
    np.testing.assert_array_equal(res.params["kp"], df["kp"].to_numpy())
    _assert_point_equal(res, 4, plant, ctrl, T, OPTS, solver=lc.Dopri5(), **CRUISE)


def test_points_columns_must_have_equal_lengths():
    with pytest.raises(ValueError, match="equal lengths"):
        lc.Points(kp=[1.0, 2.0], negative_slope=[0.1])


@pytest.mark.parametrize(("make", "exc", "match"), [
    (lambda: lc.Dopri5(rtol=0.0), ValueError, "rtol"),
    (lambda: lc.Dopri5(atol=float("nan")), ValueError, "atol"),
])
def test_bad_tolerances_fail_at_construction(make, exc, match):
    with pytest.raises(exc, match=match):
        make()


def test_executor_must_be_an_executor():
    plant, ctrl = _cruise()
    with pytest.raises(TypeError, match="concurrent.futures.Executor"):
        lc.sweep(plant, ctrl, {"kp": [0.5]}, T, executor=object())
    with pytest.raises(TypeError, match="grid must be"):
        lc.sweep(plant, ctrl, "kp", T)


def test_dask_in_process_cluster_executor():
    distributed = pytest.importorskip("distributed")
    plant, ctrl = _cruise()
    grid = {"negative_slope": [0.0, 0.5], "kp": [0.3, 0.6]}
    kw = dict(solver=lc.Dopri5(), metric_options=OPTS, chunk_size=1, **CRUISE)
    local = lc.sweep(plant, ctrl, grid, T, **kw)
    with distributed.Client(processes=False, n_workers=1, threads_per_worker=2,
                            dashboard_address=None) as client:
        res = lc.sweep(plant, ctrl, grid, T, executor=client.get_executor(), **kw)
    for k in local.metrics:
        assert np.array_equal(local.metrics[k], res.metrics[k], equal_nan=True)
    assert np.array_equal(local.nfev, res.nfev)


def test_checkpointed_failures_and_trajectories_come_back_unchanged(tmp_path):
    plant = lc.as_plant(([[0.5]], [[1.0]], [[1.0]], [[0.0]]))
    args = (plant, lc.LeakyP(kp=2.0, negative_slope=0.5),
            {"kp": [-50.0, 2.0], "negative_slope": [0.5, 2.0]}, np.linspace(0, 20, 201))
    kw = dict(reference=1.0, solver=lc.RK4(), chunk_size=1, keep_trajectories=True)
    full = lc.sweep(*args, **kw)
    lc.sweep(*args, checkpoint=tmp_path / "ck", **kw)
    again = lc.sweep(*args, checkpoint=tmp_path / "ck", **kw)
    assert again.stats["chunks_from_checkpoint"] == 4
    assert again.messages == full.messages and len(full.messages) == 3
    assert np.array_equal(again.status, full.status)
    for k in full.trajectories:
        assert np.array_equal(again.trajectories[k], full.trajectories[k], equal_nan=True), k
