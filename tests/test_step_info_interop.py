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
