"""A Leaky-ReLU network used as a state-feedback controller.

``u = sat(W_L phi_a(... phi_a(W_1 z + b_1) ...) + b_L)`` with network input ``z = [x, r]`` (plant
state, then the reference) or ``z = x``. The hidden layers are leaky with slope ``a`` in
``[0, 1]``; the last layer is linear. The controller runs in the same cached numba kernel as the
other controllers (its weights are a runtime record), and it reports its own Lipschitz constant from
state to command through :func:`leaky_control.analysis.lipschitz_bound`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
from numba import njit

from .._validate import as_finite_array
from ..activations import leaky_relu, leaky_relu_scalar
from .base import Controller, check_dt, check_limits, check_negative_slope, static_feedback_nlsys

if TYPE_CHECKING:
    import control
    from numpy.typing import ArrayLike

    from .._typing import FloatArray
    from ..analysis.lipschitz import LipschitzBound
    from ..plants.base import Plant

__all__ = ["LeakyMLP"]


class MLPRecord(NamedTuple):
    """Parameters of :class:`LeakyMLP` as the kernels read them.

    ``wb`` holds ``W_0, b_0, ..., W_{L-1}, b_{L-1}`` (each ``W_l`` of shape
    ``(sizes[l+1], sizes[l])`` row-major); ``act`` is scratch for the activations (two rows
    of the widest layer), so the forward pass allocates nothing.
    """

    a: float
    u_min: float
    u_max: float
    sizes: np.ndarray  # int64, L + 1 layer widths, input first
    wb: np.ndarray
    act: np.ndarray


@njit(_nrt=False)
def _mlp_output(c: MLPRecord, t: float, X: FloatArray, n: int, y: FloatArray, r: FloatArray,
                uraw: FloatArray, u: FloatArray) -> None:
    sizes, wb, act = c.sizes, c.wb, c.act
    L = sizes.size - 1
    maxw = act.size // 2
    n_in = sizes[0]
    for j in range(n_in):
        act[j] = X[j] if j < n else r[0]
    off = 0
    src, dst = 0, maxw  # activations ping-pong between the two halves of the scratch
    for layer in range(L):
        nin = sizes[layer]
        nout = sizes[layer + 1]
        boff = off + nout * nin
        last = layer == L - 1
        for i in range(nout):
            s = wb[boff + i]
            for j in range(nin):
                s += wb[off + i * nin + j] * act[src + j]
            act[dst + i] = s if last else leaky_relu_scalar(s, c.a)
        off = boff + nout
        src, dst = dst, src
    for i in range(sizes[L]):
        uraw[i] = act[src + i]
        u[i] = min(max(uraw[i], c.u_min), c.u_max)


@dataclass(frozen=True, eq=False)
class LeakyMLP(Controller):
    """Leaky-ReLU network state-feedback controller.

    Parameters
    ----------
    weights : sequence of array_like
        ``weights[i]`` of shape ``(n_out, n_in)`` (PyTorch's convention); the first layer takes
        ``n`` inputs (the plant states) or ``n + 1`` (states, then the reference).
    biases : sequence of array_like
        ``biases[i]`` of shape ``(n_out,)``.
    negative_slope : float
        Leak ``a`` of the hidden units, in ``[0, 1]``, required (no default).
    reference_input : bool, default False
        Whether the network's last input is the reference ``r`` (after the ``n`` states).
    u_min, u_max : float
        Actuator limits applied to every output.
    dt : float, optional
        Sample time for a sampled controller (zero-order hold).
    name : str
    """

    weights: tuple = ()
    biases: tuple = ()
    # required: None only marks it missing, and __post_init__ refuses it with the choices
    negative_slope: float = None  # type: ignore[assignment]
    reference_input: bool = False
    u_min: float = -math.inf
    u_max: float = math.inf
    dt: float | None = None
    name: str = "controller"

    nstates = 0
    state_labels = ()
    reads_state = True

    def __post_init__(self) -> None:
        for k in ("weights", "biases"):
            v = getattr(self, k)
            if isinstance(v, str | bytes | dict) or not hasattr(v, "__len__"):
                raise TypeError(f"{k} must be a sequence of arrays (one per layer), got "
                                f"{type(v).__name__}")
        if len(self.weights) < 1 or len(self.weights) != len(self.biases):
            raise ValueError(
                f"weights and biases must be non-empty sequences of equal length, got "
                f"{len(self.weights)} and {len(self.biases)}"
            )
        ws: list[np.ndarray] = []
        bs: list[np.ndarray] = []
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            w = as_finite_array(f"weights[{i}]", w, ndim=2)
            b = as_finite_array(f"biases[{i}]", np.atleast_1d(b), ndim=1)
            if b.size != w.shape[0]:
                raise ValueError(f"biases[{i}] must have {w.shape[0]} entries, got {b.size}")
            if i and w.shape[1] != ws[-1].shape[0]:
                raise ValueError(
                    f"weights[{i}] takes {w.shape[1]} inputs but layer {i - 1} has "
                    f"{ws[-1].shape[0]} outputs"
                )
            ws.append(w)
            bs.append(b)
        object.__setattr__(self, "weights", tuple(ws))
        object.__setattr__(self, "biases", tuple(bs))
        check_negative_slope(self)
        if not isinstance(self.reference_input, bool | np.bool_):
            raise TypeError(f"reference_input must be True or False, got {self.reference_input!r}")
        if self.sizes[0] < 1 + int(self.reference_input):
            raise ValueError("a network with reference_input=True needs at least 2 inputs")
        check_limits(self.u_min, self.u_max)
        check_dt(self.dt)

    @property
    def sizes(self) -> list[int]:
        """Layer widths, input first."""
        return [self.weights[0].shape[1]] + [w.shape[0] for w in self.weights]

    @property
    def nstate_inputs(self) -> int:
        """Number of network inputs that are plant states."""
        return self.sizes[0] - int(self.reference_input)

    def _state_inputs(self, plant: Plant) -> int:
        n = plant.nstates
        if self.nstate_inputs != n:
            raise ValueError(
                f"the network reads {self.nstate_inputs} state input(s) (reference_input="
                f"{self.reference_input}), but the plant has {n} states"
            )
        if self.sizes[-1] != plant.ninputs:
            raise ValueError(
                f"the network has {self.sizes[-1]} outputs; the plant takes {plant.ninputs} inputs"
            )
        return n

    def forward(self, x: ArrayLike, r: ArrayLike = 0.0) -> FloatArray:
        """The command before saturation for states ``x`` (shape ``(n,)`` or ``(batch, n)``).

        Parameters
        ----------
        x : array_like
            Plant states.
        r : float or array_like
            Reference, used when the network takes it as its last input.

        Returns
        -------
        numpy.ndarray
        """
        z = np.atleast_2d(np.asarray(x, dtype=float))
        if self.reference_input:
            z = np.hstack([z, np.broadcast_to(np.asarray(r, dtype=float), (z.shape[0],))[:, None]])
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            z = z @ w.T + b
            if i < len(self.weights) - 1:
                z = leaky_relu(z, self.negative_slope)
        return z if np.ndim(x) > 1 else z[0]

    def linear_gain(self, plant: Plant, Cx: ArrayLike | None = None) -> FloatArray:
        """``-d u / d x`` with every hidden unit on its slope-1 side: the gain of the linear
        controller the network equals at ``a = 1`` (used to pick a default step size)."""
        n = self._state_inputs(plant)
        J = self.weights[0][:, :n]
        for w in self.weights[1:]:
            J = w @ J
        return -J

    def lipschitz(self, method: str = "lipsdp", **keywords: Any) -> LipschitzBound:
        """Lipschitz bound of the map from plant state to command (before saturation).

        The reference column, if any, is dropped: it is constant along a comparison of two
        states. Saturation can only lower the constant.

        Parameters
        ----------
        method : str
            Any method of :func:`leaky_control.analysis.lipschitz_bound`.
        **keywords
            Passed to it (``p``, ``solver``, ...).

        Returns
        -------
        leaky_control.analysis.LipschitzBound
        """
        from ..analysis.lipschitz import lipschitz_bound

        ws = [self.weights[0][:, : self.nstate_inputs], *self.weights[1:]]
        return lipschitz_bound(ws, list(self.biases), negative_slope=self.negative_slope,
                               method=method, **keywords)

    Record = MLPRecord

    def record(self, plant: Plant) -> MLPRecord:
        self._state_inputs(plant)
        sizes = self.sizes
        flat = []
        for w, b in zip(self.weights, self.biases, strict=True):
            flat += [w.ravel(), b]
        return MLPRecord(float(self.negative_slope), float(self.u_min), float(self.u_max),
                         np.array(sizes, dtype=np.int64), np.concatenate(flat),
                         np.zeros(2 * max(sizes)))

    output = _mlp_output

    def io_sizes(self) -> tuple[int, int]:
        """``(n, m)``: reads ``n`` plant states, drives ``m`` inputs."""
        return self.nstate_inputs, self.sizes[-1]

    def to_nlsys(self, plant: Plant | None = None, name: str | None = None,
                 raw: bool = False) -> control.NonlinearIOSystem:
        """The controller as a static :class:`control.NonlinearIOSystem`: inputs ``r`` and the
        plant states ``x[i]``, outputs ``u`` (saturated) and ``u_raw`` per channel.

        Parameters
        ----------
        plant : Plant, optional
            Checked against the network's inputs when given; names the signals after the
            plant's (see :meth:`~leaky_control.controllers.Controller.signal_labels`).
        name : str, optional
        raw : bool, default False
            Also output ``u_raw``, the command before saturation.
        """
        if plant is not None:
            self._state_inputs(plant)
        return static_feedback_nlsys(self.forward, self.nstate_inputs, self.sizes[-1], self, name,
                                     plant, raw)
