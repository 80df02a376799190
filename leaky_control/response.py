"""What a closed-loop run returns: python-control's time response of the loop, plus the loop's
inner signals.

A :class:`LoopResponse` is a :class:`control.TimeResponseData` of the closed loop seen from
outside: inputs the reference ``r`` (and the disturbances), outputs the plant outputs, states
the plant's then the controller's. A single-output loop's ``outputs`` is one-dimensional, as
python-control returns a SISO response, so ``control.step_info(resp.outputs, resp.time)``,
``t, y = resp``, ``.plot()``, ``.to_pandas()`` and :func:`control.combine_time_responses`
work unchanged. The signals inside the loop (the input reaching the plant ``u``, the command
before saturation ``u_raw`` and the error ``e``) are a second ``TimeResponseData`` in
:attr:`LoopResponse.loop`; :meth:`LoopResponse.signal` reads any signal by name.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import control as ct
import numpy as np

if TYPE_CHECKING:
    import pandas

    from ._typing import FloatArray
    from .controllers.base import Controller
    from .plants.base import Plant

__all__ = ["LoopResponse"]


class LoopResponse(ct.TimeResponseData):
    """A closed-loop run (made by :func:`leaky_control.simulate`).

    Beyond :class:`control.TimeResponseData`:

    Attributes
    ----------
    loop : control.TimeResponseData
        The inner signals on the same time points, as outputs: ``u`` (the input reaching the
        plant, after the controller's and the plant's saturation), ``u_raw`` (the command
        before saturation), one per plant input (``u[i]``, ``u_raw[i]`` for several), and
        ``e = r - y`` for a controller that feeds back the error of one output.
    stats : dict
        Solver statistics (``nsteps``, ``nfev``, ...).
    plant, controller
        The models that ran (with any ``params`` overrides applied).

    Notes
    -----
    python-control's ``resp.u`` is the loop's input (the reference), not the plant input;
    the plant input is ``resp.signal("u")`` (or ``resp.loop.y``). ``resp.y`` and ``resp.x``
    are always two-dimensional, ``resp.outputs`` and ``resp.states`` follow python-control's
    squeezing rules.
    """

    loop: ct.TimeResponseData = None  # set by loop_response (python-control is untyped: Any)
    stats: dict[str, Any] | None = None
    plant: Plant | None = None
    controller: Controller | None = None

    @property
    def outputs(self) -> FloatArray:
        """The plant outputs: ``(T,)`` for a single-output loop (as python-control returns a
        SISO response, also when disturbances make the loop multi-input), else
        ``(noutputs, T)``; ``resp(squeeze=False).outputs`` is always 2-D."""
        y = super().outputs
        if self.noutputs == 1 and self.squeeze is not False and y.ndim == 2:
            return y[0]
        return y

    def signal(self, name: str) -> FloatArray:
        """One signal of the run by its label, as a 1-D array over ``time``.

        Parameters
        ----------
        name : str
            An output label (``"y"``, ``"v"``, ...), an inner-loop label (``"u"``,
            ``"u_raw"``, ``"e"``), an input label (``"r"``, disturbances) or a state label.

        Returns
        -------
        numpy.ndarray
        """
        sources = [(self.output_labels, self.y), (self.loop.output_labels, self.loop.y),
                   (self.input_labels, self.u), (self.state_labels, self.x)]
        for labels, values in sources:
            if labels is not None and name in labels:
                return values[list(labels).index(name)]
        known = [s for labels, _ in sources for s in (labels or [])]
        raise KeyError(f"no signal {name!r} in this response; it has {known}")

    def to_pandas(self) -> pandas.DataFrame:
        """A ``pandas.DataFrame`` with python-control's columns (time, inputs, outputs,
        states) and the inner-loop signals (``u``, ``u_raw``, ``e``). Needs pandas."""
        frame = super().to_pandas()
        for i, name in enumerate(self.loop.output_labels):
            frame[name] = self.loop.y[i]
        return frame


def loop_response(t: FloatArray, y: FloatArray, x: FloatArray, r: FloatArray,
                  d: FloatArray | None, u: FloatArray, u_raw: FloatArray, e: FloatArray | None,
                  *, output_labels: Sequence[str], state_labels: Sequence[str],
                  input_labels: Sequence[str], u_labels: Sequence[str],
                  raw_labels: Sequence[str], sysname: str, params: dict[str, Any] | None,
                  success: bool, message: str) -> LoopResponse:
    """Assemble a :class:`LoopResponse` from ``(signals, T)`` arrays (``d``/``e`` may be None)."""
    inner = [u, u_raw] + ([e] if e is not None else [])
    inner_labels = list(u_labels) + list(raw_labels) + (["e"] if e is not None else [])
    inputs = r if d is None else np.vstack([r, d])
    resp = LoopResponse(
        t, y, states=x, inputs=inputs, output_labels=list(output_labels),
        state_labels=list(state_labels), input_labels=list(input_labels), sysname=sysname,
        params=params, success=success, message=message, plot_inputs=False)
    resp.loop = ct.TimeResponseData(t, np.vstack(inner), output_labels=inner_labels,
                                    sysname=f"{sysname}: loop signals", plot_inputs=False,
                                    issiso=False, squeeze=False)
    return resp
