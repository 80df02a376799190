"""A Leaky-ReLU network used as a state-feedback controller.

``u = sat(s_out * N((z - o_in) * s_in) + o_out)`` with the network
``N(v) = W_L phi_a(... phi_a(W_1 v + b_1) ...) + b_L`` and its input ``z = [x, r]`` (plant
state, then the reference) or ``z = x``. The hidden layers are leaky with slope ``a`` in
``[0, 1]``; the last layer is linear. The input and output scaling (per network input and per
output) belong to the controller, so a network trained on normalised data (a
:class:`leaky_control.bridge.MLP`, see :meth:`LeakyMLP.from_network`) runs unchanged.

The scaling is folded into the first and last layers when the controller is built
(``s_in`` into the columns of ``W_1``, ``o_in`` into ``b_1``, ``s_out`` into the rows of ``W_L``
and ``b_L``, ``o_out`` into ``b_L``), so it costs nothing per evaluation (benchmarks/RESULTS.md:
applied inside the kernel it cost a third of an RK4 run). The result equals the scaled network up
to rounding; the default scaling (offsets 0, scales 1) changes no bit.

Every evaluation (the kernel and :meth:`LeakyMLP.forward`) sums each unit in the same order:
the bias first, then the inputs one by one, no fused multiply-add, so the simulated command
equals ``forward`` of the recorded state bit for bit. The controller runs in the same cached
numba kernel as the other controllers (its weights are a runtime record), and it reports its own
Lipschitz constant from state to command through
:func:`leaky_control.analysis.lipschitz_bound`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
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
    from ..bridge.mlp import MLP
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


def _per_entry(name: str, value: Any, size: int, what: str, nonzero: bool) -> FloatArray:
    """One finite value per ``what`` (``size`` of them) from a scalar or a 1-D array."""
    allowed = (f"a finite number or {size} finite numbers (one per {what})"
               + (", none zero" if nonzero else ""))
    if value is None or isinstance(value, str | bytes | bool | np.bool_ | dict):
        raise TypeError(f"{name} must be {allowed}, got {value!r}")
    scalar = np.ndim(value) == 0
    arr = as_finite_array(name, value)  # at least 1-D
    if scalar:
        arr = np.full(size, float(arr[0]))
    elif arr.ndim != 1 or arr.size != size:
        raise ValueError(f"{name} must be {allowed}, got shape {arr.shape}")
    else:
        arr = arr.copy()
    if nonzero and np.any(arr == 0.0):
        raise ValueError(f"{name} must be {allowed}, got {arr.tolist()}")
    arr.flags.writeable = False  # the controller is frozen; its arrays too
    return arr


def _affine(w: FloatArray, b: FloatArray, z: FloatArray) -> FloatArray:
    """``z @ w.T + b`` summed as the kernel sums it: the bias, then input by input, each
    product rounded before it is added (a BLAS product reorders and fuses)."""
    s = np.repeat(b[None, :], z.shape[0], axis=0)
    for j in range(w.shape[1]):
        s += z[:, j : j + 1] * w[:, j]
    return s


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
    input_offset, input_scale : float or array_like, keyword-only
        The network sees ``(z - input_offset) * input_scale``: one entry per network input
        (the ``n`` states, then the reference if ``reference_input``) or one value for all;
        finite, scales nonzero. Default 0 and 1.
    output_scale, output_offset : float or array_like, keyword-only
        The command is ``sat(output_scale * N + output_offset)``: one entry per output or one
        value for all; finite, the scale nonzero. Default 1 and 0.

    See Also
    --------
    LeakyMLP.from_network : a trained :class:`leaky_control.bridge.MLP` as the controller.
    leaky_control.bridge.imitate : train one by imitating an expert controller.
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
    # keyword-only and last, so positional construction written before they existed still works
    input_offset: Any = field(default=0.0, kw_only=True)
    input_scale: Any = field(default=1.0, kw_only=True)
    output_scale: Any = field(default=1.0, kw_only=True)
    output_offset: Any = field(default=0.0, kw_only=True)

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
        n_in, m = self.sizes[0], self.sizes[-1]
        for k, size, what in (("input_offset", n_in, "network input"),
                              ("input_scale", n_in, "network input"),
                              ("output_scale", m, "output"),
                              ("output_offset", m, "output")):
            object.__setattr__(self, k, _per_entry(k, getattr(self, k), size, what,
                                                   nonzero=k.endswith("scale")))
        # what the kernel and forward evaluate: the scaling folded in once, here
        with np.errstate(over="ignore", invalid="ignore"):  # overflow is refused just below
            net = self._folded()
        if not all(np.all(np.isfinite(v)) for part in net for v in part):
            raise ValueError(
                "input_offset, input_scale, output_scale and output_offset are too large for "
                "these weights: folded into the first and last layers they overflow float64 "
                f"(input_offset={self.input_offset.tolist()}, input_scale="
                f"{self.input_scale.tolist()}, output_scale={self.output_scale.tolist()}, "
                f"output_offset={self.output_offset.tolist()})")
        object.__setattr__(self, "_folded_net", net)

    @property
    def _net(self) -> tuple[list[FloatArray], list[FloatArray]]:
        """The weights and biases evaluated (the scaling folded in by ``__post_init__``)."""
        net: tuple[list[FloatArray], list[FloatArray]] = self.__dict__["_folded_net"]
        return net

    @property
    def scaled(self) -> bool:
        """Whether the input or output scaling differs from the identity."""
        return bool(np.any(self.input_offset != 0.0) or np.any(self.input_scale != 1.0)
                    or np.any(self.output_scale != 1.0) or np.any(self.output_offset != 0.0))

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

        The network with the scaling folded in, every unit summed in the kernel's order (bias,
        then the inputs one by one), so the result equals the simulated ``u_raw`` bit for bit.

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
        ws, bs = self._net
        for i, (w, b) in enumerate(zip(ws, bs, strict=True)):
            z = _affine(w, b, z)
            if i < len(ws) - 1:
                z = leaky_relu(z, self.negative_slope)
        return z if np.ndim(x) > 1 else z[0]

    def _folded(self) -> tuple[list[FloatArray], list[FloatArray]]:
        """Weights and biases with the scaling folded into the first and last layers (the same
        map up to rounding); with the default scaling the given arrays themselves."""
        ws, bs = list(self.weights), list(self.biases)
        if not self.scaled:  # the arrays themselves: nothing to fold
            return ws, bs
        w0 = ws[0] * self.input_scale
        bs[0] = bs[0] - w0 @ self.input_offset
        ws[0] = w0
        ws[-1] = self.output_scale[:, None] * ws[-1]
        bs[-1] = self.output_scale * bs[-1] + self.output_offset
        return ws, bs

    @classmethod
    def from_network(cls, network: MLP, *, input_offset: ArrayLike = 0.0,
                     input_scale: ArrayLike = 1.0, output_scale: ArrayLike = 1.0,
                     output_offset: ArrayLike = 0.0, u_min: float = -math.inf,
                     u_max: float = math.inf, reference_input: bool = False,
                     dt: float | None = None, name: str = "controller") -> LeakyMLP:
        """A trained :class:`leaky_control.bridge.MLP` as a state-feedback controller.

        The weights are copied as they are (no arithmetic on them); the controller computes
        ``u = sat(output_scale * net((z - input_offset) * input_scale) + output_offset)``.

        Parameters
        ----------
        network : leaky_control.bridge.MLP
            A ``"leaky"`` or ``"relu"`` network, or a ``"prelu"`` network whose slopes are all
            equal (the controller has one leak); the slope must lie in ``[0, 1]``.
        input_offset, input_scale, output_scale, output_offset : float or array_like
            The scaling, see :class:`LeakyMLP`.
        u_min, u_max : float
            Actuator limits applied to every output.
        reference_input : bool, default False
            Whether the network's last input is the reference.
        dt : float, optional
            Sample time of a sampled controller.
        name : str

        Returns
        -------
        LeakyMLP

        Raises
        ------
        TypeError
            If ``network`` is not a bridge MLP.
        ValueError
            For a PReLU network with unequal slopes, or a slope outside ``[0, 1]``.
        """
        from ..bridge.mlp import MLP as BridgeMLP

        if not isinstance(network, BridgeMLP):
            raise TypeError(
                f"network must be a leaky_control.bridge.MLP, got {type(network).__name__}")
        slopes = network.slopes_per_layer()
        allowed = ("allowed: activation 'leaky' or 'relu', or 'prelu' with one slope shared by "
                   "every unit, in [0, 1]")
        if not slopes:  # no hidden layer: an affine map, any slope does
            a = 1.0
        else:
            flat = np.concatenate(slopes)
            if np.any(flat != flat[0]):
                raise ValueError(
                    f"network has {network.activation!r} units with unequal negative slopes "
                    f"(from {flat.min():g} to {flat.max():g}); a LeakyMLP has one leak: "
                    f"{allowed}")
            a = float(flat[0])
        if not 0.0 <= a <= 1.0:
            raise ValueError(f"network's negative_slope must lie in [0, 1], got {a!r}; {allowed}")
        return cls(weights=tuple(network.weights), biases=tuple(network.biases), negative_slope=a,
                   reference_input=reference_input, u_min=u_min, u_max=u_max, dt=dt, name=name,
                   input_offset=input_offset, input_scale=input_scale, output_scale=output_scale,
                   output_offset=output_offset)

    def to_network(self, fold_scaling: bool = False) -> MLP:
        """The network as a :class:`leaky_control.bridge.MLP` (to train it further).

        Parameters
        ----------
        fold_scaling : bool, default False
            False: the network alone, weights copied bit for bit (the scaling stays with the
            controller; ``LeakyMLP.from_network(c.to_network(), input_offset=c.input_offset,
            ...)`` gives ``c`` back). True: the scaling folded into the first and last layers,
            so the network alone computes ``forward`` (up to rounding).

        Returns
        -------
        leaky_control.bridge.MLP
            Activation ``"relu"`` when the leak is 0, else ``"leaky"``.
        """
        from ..bridge.mlp import MLP as BridgeMLP

        if not isinstance(fold_scaling, bool | np.bool_):
            raise TypeError(f"fold_scaling must be True or False, got {fold_scaling!r}")
        ws, bs = self._folded() if fold_scaling else (list(self.weights), list(self.biases))
        a = float(self.negative_slope)
        if a == 0.0:
            return BridgeMLP(ws, bs, activation="relu")
        return BridgeMLP(ws, bs, activation="leaky", negative_slope=a)

    def linear_gain(self, plant: Plant, Cx: ArrayLike | None = None) -> FloatArray:
        """``-d u / d x`` with every hidden unit on its slope-1 side: the gain of the linear
        controller the network equals at ``a = 1`` (used to pick a default step size)."""
        n = self._state_inputs(plant)
        ws, _ = self._net
        J = ws[0][:, :n]
        for w in ws[1:]:
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

        ws, bs = (list(v) for v in self._net)  # the scaling is part of the map
        ws[0] = ws[0][:, : self.nstate_inputs]
        return lipschitz_bound(ws, bs, negative_slope=self.negative_slope,
                               method=method, **keywords)

    Record = MLPRecord

    def record(self, plant: Plant) -> MLPRecord:
        """The parameters as the kernels read them, checked against ``plant``."""
        self._state_inputs(plant)
        sizes = self.sizes
        flat = []
        for w, b in zip(*self._net, strict=True):
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
