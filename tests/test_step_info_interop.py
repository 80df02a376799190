"""lc.step_info on python-control's own data and on plain arrays, against control.step_info."""

import control as ct
import numpy as np
import pytest

import leaky_control as lc

KEYS = ("RiseTime", "SettlingTime", "SettlingMin", "SettlingMax", "Overshoot", "Undershoot",
        "Peak", "PeakTime", "SteadyStateValue")


def _settled_response():
    sys = ct.tf([4.0], [1.0, 1.4, 4.0])  # zeta 0.35: overshoot, settles well inside 20 s
    return sys, ct.step_response(sys, np.linspace(0.0, 20.0, 2001))


def _agree(ours, theirs):
    for k in KEYS:
        # the same definitions on the same samples: equal to rounding
        assert ours[k] == pytest.approx(theirs[k], rel=1e-12, abs=1e-12), k
    assert ours["Settled"] is True


def test_python_controls_own_step_response():
    sys, resp = _settled_response()
    # control.step_info of a system measures against its exact DC gain
    _agree(lc.step_info(resp, final_output=float(ct.dcgain(sys))), ct.step_info(sys, T=resp.time))
    # of samples, against the last one, as lc.step_info does on a settled response
    _agree(lc.step_info(resp), ct.step_info(np.squeeze(resp.outputs), T=resp.time))
    assert np.isnan(lc.step_info(resp)["IAE"])  # no loop signals in such data


def test_an_unlabelled_time_response_data_with_a_final_value():
    _, resp = _settled_response()
    y = resp.outputs[0, 0] if resp.outputs.ndim == 3 else resp.outputs
    data = ct.TimeResponseData(resp.time, np.squeeze(y), issiso=True)
    _agree(lc.step_info(data, final_output=1.0),
           ct.step_info(np.squeeze(y), T=resp.time, yfinal=1.0))


def test_arrays_of_samples_and_their_times():
    _, resp = _settled_response()
    y = np.squeeze(resp.outputs)
    _agree(lc.step_info(y, resp.time), ct.step_info(y, T=resp.time))


def test_an_unsettled_array_keeps_its_honest_nan():
    t = np.linspace(0.0, 1.0, 101)
    info = lc.step_info(1 - np.exp(-t), t)
    assert info["Settled"] is False and np.isnan(info["SettlingTime"])


@pytest.mark.parametrize("args, kwargs, exc, match", [
    (("abc",), {}, TypeError, "TimeResponseData or an array"),
    ((np.ones(5),), {}, TypeError, "needs timepts"),
    ((np.ones(5), np.arange(4.0)), {}, ValueError, "same length"),
    ((np.ones(3), [0.0, 2.0, 1.0]), {}, ValueError, "strictly increasing"),
])
def test_bad_data_is_refused_clearly(args, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        lc.step_info(*args, **kwargs)


def test_bad_output_choice_is_refused_clearly():
    _, resp = _settled_response()
    with pytest.raises(ValueError, match="output must be"):
        lc.step_info(resp, output=3)
    with pytest.raises(ValueError, match="not among"):
        lc.step_info(resp, output="speed")


def _leaky_loop(**kw):
    # a settled leaky loop: PD on 1/(s(s+2)), the README's first example
    return lc.step_response(ct.tf([1], [1, 2, 0]), lc.LeakyPD(kp=4.0, kd=1.0, negative_slope=0.1),
                            timepts=20.0, **kw)


def test_control_step_info_takes_a_leaky_response_unchanged():
    resp = _leaky_loop()
    # python-control's own reading of the samples, as for any SISO response of its own
    theirs = ct.step_info(resp.outputs, resp.time)
    t, y = resp
    assert y.shape == resp.time.shape == (1001,)
    _agree(lc.step_info(resp), theirs)
    _agree(lc.step_info(y, t), ct.step_info(y, t))
    # a loop with disturbance inputs is still single-output: outputs stay one-dimensional
    cruise = lc.simulate(lc.CruiseControl(), lc.LeakyPI(kp=0.5, ki=0.1, negative_slope=1.0),
                         np.linspace(0.0, 120.0, 1201), reference=1.0,
                         disturbance=np.zeros(1201))
    assert cruise.ninputs == 2 and cruise.outputs.shape == (1201,)
    assert ct.step_info(cruise.outputs, cruise.time)["SettlingTime"] > 0


def test_a_leaky_response_plots_converts_and_combines():
    import matplotlib

    matplotlib.use("Agg")
    a, b = _leaky_loop(), _leaky_loop(amplitude=2.0)
    frame = a.to_pandas()
    # python-control's columns plus the inner loop's, each equal to its array
    assert {"time", "r", "y", "x[0]", "x[1]"} <= set(frame.columns)
    np.testing.assert_array_equal(frame["y"], a.outputs)
    for name in ("u", "u_raw", "e"):
        np.testing.assert_array_equal(frame[name], a.signal(name))
    np.testing.assert_array_equal(frame["e"], 1.0 - a.outputs)
    both = ct.combine_time_responses([a, b])
    assert both.ntraces == 2
    np.testing.assert_array_equal(both.y[0, 1], b.outputs)
    cplt = a.plot()
    assert len(cplt.lines.flat) >= 1
    inner = a.loop.plot()
    assert inner.lines.shape[0] == 3  # u, u_raw, e
    assert a(squeeze=False).outputs.shape == (1, 1001)
