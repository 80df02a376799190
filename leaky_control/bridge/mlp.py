r"""A small float64 multilayer perceptron with ReLU, leaky ReLU or PReLU hidden units.

Conventions follow PyTorch so results can be checked against it: ``weights[i]`` has shape
``(n_out, n_in)`` (``nn.Linear.weight``), arrays are batch-first ``(n_samples, n_features)``,
the loss is ``mean((y - t)**2)`` over every element (``nn.MSELoss()``), ``relu'(0) = 0``,
``leaky'(0) = a`` and a PReLU slope gets no gradient from ``z = 0``. The output layer is linear.

All parameters live in one flat float64 vector (weights row-major, then biases, layer by layer,
then the PReLU slopes), so the numba kernels and the optimisers work on arrays only, and a
change of parameter values never recompiles anything.
"""

from __future__ import annotations

from numbers import Real
from typing import TYPE_CHECKING, Any

import numpy as np

from .._jit import cached_njit
from ..analysis._checks import as_array, check_choice, check_real, is_sequence, short_repr

if TYPE_CHECKING:
    from collections.abc import Sequence

    from numpy.typing import ArrayLike

    from .._typing import FloatArray, IntArray
    from ..controllers.mlp import LeakyMLP

__all__ = ["ACTIVATIONS", "MLP"]

ACTIVATIONS = ("relu", "leaky", "prelu")


# --------------------------------------------------------------------------- numba kernels
# Hand-written products instead of np.dot: these matrices are small, and BLAS thread pools
# (OpenBLAS inside numba next to torch's OpenMP, or other processes on a 2-core machine) made
# the same epoch 7x slower in measurement; loops keep one thread and need no BLAS at all.
# "reassoc" lets LLVM vectorise the dot products; no "nnan"/"ninf", so NaN checks still work.
_FM = {"reassoc", "contract", "nsz"}


@cached_njit(fastmath=_FM)
def _mm_nt(a: FloatArray, w: FloatArray, out: FloatArray) -> None:
    """out = a @ w.T for C-contiguous a (n, k), w (m, k)."""
    n, k = a.shape
    m = w.shape[0]
    for i in range(n):
        for j in range(m):
            s = 0.0
            for p in range(k):
                s += a[i, p] * w[j, p]
            out[i, j] = s


@cached_njit(fastmath=_FM)
def _mm_tn(d: FloatArray, a: FloatArray, out: FloatArray) -> None:
    """out = d.T @ a for d (n, m), a (n, k)."""
    n, m = d.shape
    k = a.shape[1]
    out[:, :] = 0.0
    for i in range(n):
        for j in range(m):
            c = d[i, j]
            for p in range(k):
                out[j, p] += c * a[i, p]


@cached_njit(fastmath=_FM)
def _mm_nn(d: FloatArray, w: FloatArray, out: FloatArray) -> None:
    """out = d @ w for d (n, m), w (m, k)."""
    n, m = d.shape
    k = w.shape[1]
    out[:, :] = 0.0
    for i in range(n):
        for j in range(m):
            c = d[i, j]
            for p in range(k):
                out[i, p] += c * w[j, p]


@cached_njit
def _forward_kernel(theta: FloatArray, sizes: IntArray, w_off: IntArray, b_off: IntArray,
                    s_off: IntArray, s_cnt: IntArray, x: FloatArray, zbuf: FloatArray,
                    abuf: FloatArray) -> FloatArray:
    """Forward pass; pre-activations of layer li go to ``zbuf[n*cum[li]:]``, outputs returned."""
    n = x.shape[0]
    n_layers = sizes.shape[0] - 1
    prev = x
    off = 0
    out = zbuf[:1].reshape((1, 1))
    for li in range(n_layers):
        nin = sizes[li]
        nout = sizes[li + 1]
        w = theta[w_off[li] : w_off[li] + nout * nin].reshape((nout, nin))
        z = zbuf[off : off + n * nout].reshape((n, nout))
        _mm_nt(prev, w, z)
        bo = b_off[li]
        for i in range(n):
            for j in range(nout):
                z[i, j] += theta[bo + j]
        if li < n_layers - 1:
            a = abuf[off : off + n * nout].reshape((n, nout))
            so = s_off[li]
            per_unit = s_cnt[li] > 1
            for i in range(n):
                for j in range(nout):
                    zz = z[i, j]
                    if zz > 0.0:
                        a[i, j] = zz
                    else:
                        a[i, j] = theta[so + j if per_unit else so] * zz
            prev = a
        else:
            out = z
        off += n * nout
    return out


@cached_njit
def _loss_grad_kernel(theta: FloatArray, sizes: IntArray, w_off: IntArray, b_off: IntArray,
                      s_off: IntArray, s_cnt: IntArray, x: FloatArray, y: FloatArray,
                      zbuf: FloatArray, abuf: FloatArray, dbuf: FloatArray,
                      grad: FloatArray) -> float:
    """MSE loss and its gradient with respect to every entry of ``theta`` (into ``grad``)."""
    n = x.shape[0]
    n_layers = sizes.shape[0] - 1
    out = _forward_kernel(theta, sizes, w_off, b_off, s_off, s_cnt, x, zbuf, abuf)
    n_out = sizes[n_layers]
    offs = np.zeros(n_layers + 1, dtype=np.int64)
    for li in range(n_layers):
        offs[li + 1] = offs[li] + n * sizes[li + 1]
    delta = dbuf[offs[n_layers - 1] : offs[n_layers]].reshape((n, n_out))
    scale = 2.0 / (n * n_out)
    loss = 0.0
    for i in range(n):
        for j in range(n_out):
            r = out[i, j] - y[i, j]
            loss += r * r
            delta[i, j] = scale * r
    loss /= n * n_out
    grad[:] = 0.0
    for li in range(n_layers - 1, -1, -1):
        nin = sizes[li]
        nout = sizes[li + 1]
        delta = dbuf[offs[li] : offs[li + 1]].reshape((n, nout))
        prev = x if li == 0 else abuf[offs[li - 1] : offs[li]].reshape((n, nin))
        gw = grad[w_off[li] : w_off[li] + nout * nin].reshape((nout, nin))
        _mm_tn(delta, prev, gw)
        bo = b_off[li]
        for i in range(n):
            for j in range(nout):
                grad[bo + j] += delta[i, j]
        if li > 0:
            w = theta[w_off[li] : w_off[li] + nout * nin].reshape((nout, nin))
            dprev = dbuf[offs[li - 1] : offs[li]].reshape((n, nin))
            _mm_nn(delta, w, dprev)
            z = zbuf[offs[li - 1] : offs[li]].reshape((n, nin))
            so = s_off[li - 1]
            per_unit = s_cnt[li - 1] > 1
            for i in range(n):
                for j in range(nin):
                    zz = z[i, j]
                    if zz <= 0.0:
                        k = so + j if per_unit else so
                        # d phi / d slope = min(0, z): exactly zero at z = 0 (PyTorch)
                        grad[k] += dprev[i, j] * zz
                        dprev[i, j] *= theta[k]
    return loss


# --------------------------------------------------------------------------- the class
def _layout(sizes: Sequence[int],
            slope_counts: Sequence[int]) -> tuple[IntArray, IntArray, IntArray, IntArray, int, int]:
    n_layers = len(sizes) - 1
    w_off = np.zeros(n_layers, dtype=np.int64)
    b_off = np.zeros(n_layers, dtype=np.int64)
    pos = 0
    for li in range(n_layers):
        w_off[li] = pos
        pos += sizes[li + 1] * sizes[li]
        b_off[li] = pos
        pos += sizes[li + 1]
    n_wb = pos
    s_off = np.zeros(max(n_layers - 1, 1), dtype=np.int64)
    s_cnt = np.ones(max(n_layers - 1, 1), dtype=np.int64)
    for li in range(n_layers - 1):
        s_off[li] = pos
        s_cnt[li] = slope_counts[li]
        pos += slope_counts[li]
    return w_off, b_off, s_off, s_cnt, n_wb, pos


class MLP:
    r"""Multilayer perceptron ``x -> W_L phi(...phi(W_1 x + b_1)...) + b_L``.

    Parameters
    ----------
    weights : sequence of array_like
        ``weights[i]`` has shape ``(n_out, n_in)`` as in ``torch.nn.Linear``; consecutive
        shapes must chain (``weights[i + 1].shape[1] == weights[i].shape[0]``).
    biases : sequence of array_like
        ``biases[i]`` has shape ``(weights[i].shape[0],)``.
    activation : {"relu", "leaky", "prelu"}, default "leaky"
        Hidden-unit nonlinearity; the output layer is linear.
    negative_slope : float or sequence, optional
        The leak ``a``. For ``"leaky"`` a finite float (default 0.01). For ``"relu"`` it must be
        omitted or 0. For ``"prelu"`` the initial learnable slopes: a float (default 0.01),
        or one entry per hidden layer, each a float or an array with one slope per unit.
    prelu_slopes : {"layer", "unit"}, default "layer"
        For ``"prelu"`` given a float: one shared slope per hidden layer (``nn.PReLU()``) or one
        per hidden unit (``nn.PReLU(num_parameters=width)``). Not used otherwise (but checked).

    Notes
    -----
    The object is immutable in use: :func:`leaky_control.bridge.train` returns a trained copy.
    ``weights``, ``biases`` and ``negative_slope`` return copies.
    """

    def __init__(self, weights: Sequence[ArrayLike], biases: Sequence[ArrayLike],
                 activation: str = "leaky",
                 negative_slope: float | Sequence[ArrayLike] | None = None,
                 prelu_slopes: str = "layer") -> None:
        activation = check_choice("activation", activation, ACTIVATIONS)
        prelu_slopes = check_choice("prelu_slopes", prelu_slopes, ("layer", "unit"))
        if not is_sequence(weights):
            raise TypeError(
                f"weights must be a sequence of 2-D arrays, got {type(weights).__name__}"
            )
        if not is_sequence(biases):
            raise TypeError(f"biases must be a sequence of 1-D arrays, got {type(biases).__name__}")
        if len(weights) == 0:
            raise ValueError("weights must hold at least one layer, got an empty sequence")
        if len(biases) != len(weights):
            raise ValueError(
                f"biases must have one entry per layer of weights ({len(weights)}), got "
                f"{len(biases)}"
            )
        ws = [as_array(f"weights[{i}]", w, ndim=2) for i, w in enumerate(weights)]
        for i in range(1, len(ws)):
            if ws[i].shape[1] != ws[i - 1].shape[0]:
                raise ValueError(
                    f"weights[{i}] has shape {ws[i].shape} but weights[{i - 1}] has shape "
                    f"{ws[i - 1].shape}: weights[{i}].shape[1] must equal {ws[i - 1].shape[0]}"
                )
        bs = [
            as_array(f"biases[{i}]", b, ndim=1, shape=(w.shape[0],),
                     match=f"weights[{i}] of shape {w.shape}")
            for i, (b, w) in enumerate(zip(biases, ws, strict=True))
        ]
        for i, w in enumerate(ws):
            if w.size == 0:
                raise ValueError(
                    f"weights[{i}] must have at least one input and one output unit, got shape "
                    f"{w.shape}"
                )
        sizes = [ws[0].shape[1]] + [w.shape[0] for w in ws]
        hidden = sizes[1:-1]
        slopes = self._slopes(activation, negative_slope, prelu_slopes, hidden)
        self._activation = activation
        self._sizes = np.asarray(sizes, dtype=np.int64)
        counts = [s.size for s in slopes]
        (self._w_off, self._b_off, self._s_off, self._s_cnt, self._n_wb, n_theta) = _layout(
            sizes, counts
        )
        theta = np.empty(n_theta)
        for li, (w, b) in enumerate(zip(ws, bs, strict=True)):
            theta[self._w_off[li] : self._w_off[li] + w.size] = w.ravel()
            theta[self._b_off[li] : self._b_off[li] + b.size] = b
        for li, s in enumerate(slopes):
            theta[self._s_off[li] : self._s_off[li] + s.size] = s
        self._theta = theta

    @staticmethod
    def _slopes(activation: str, negative_slope: Any, prelu_slopes: str,
                hidden: Sequence[int]) -> list[FloatArray]:
        if activation == "relu":
            if negative_slope is not None:
                a = check_real("negative_slope", negative_slope)
                if a != 0.0:
                    raise ValueError(
                        f"negative_slope must be 0 (or omitted) for activation='relu', got {a!r}; "
                        "use activation='leaky' for a leak"
                    )
            return [np.zeros(1) for _ in hidden]
        if activation == "leaky":
            a = 0.01 if negative_slope is None else check_real("negative_slope", negative_slope)
            return [np.full(1, a) for _ in hidden]
        if isinstance(negative_slope, np.ndarray) and negative_slope.ndim == 0:
            negative_slope = negative_slope[()]  # a numpy scalar, checked as one below
        if negative_slope is None or isinstance(
            negative_slope, bool | np.bool_ | Real | np.floating | np.integer
        ):
            a = 0.01 if negative_slope is None else check_real("negative_slope", negative_slope)
            return [np.full(1 if prelu_slopes == "layer" else h, a) for h in hidden]
        if not (is_sequence(negative_slope) or isinstance(negative_slope, np.ndarray)):
            raise TypeError(
                "negative_slope for 'prelu' must be a float or one entry (a float or an array of "
                f"per-unit slopes) per hidden layer, got {short_repr(negative_slope)}"
            )
        if len(negative_slope) != len(hidden):
            raise ValueError(
                f"negative_slope for 'prelu' must have one entry per hidden layer ({len(hidden)}), "
                f"got {len(negative_slope)}"
            )
        out = []
        for li, (s, h) in enumerate(zip(negative_slope, hidden, strict=True)):
            arr = as_array(f"negative_slope[{li}]", s).reshape(-1)
            if arr.size not in (1, h):
                raise ValueError(
                    f"negative_slope[{li}] must hold 1 or {h} slopes (layer width), got {arr.size}"
                )
            out.append(arr.copy())
        return out

    # ------------------------------------------------------------------ properties
    @property
    def activation(self) -> str:
        """str: ``"relu"``, ``"leaky"`` or ``"prelu"``."""
        return self._activation

    @property
    def sizes(self) -> tuple[int, ...]:
        """tuple of int: layer widths ``(n_in, hidden..., n_out)``."""
        return tuple(int(s) for s in self._sizes)

    @property
    def n_layers(self) -> int:
        """int: number of affine layers (hidden layers + 1)."""
        return len(self._sizes) - 1

    @property
    def weights(self) -> list[FloatArray]:
        """list of numpy.ndarray: copies of the weight matrices, shape ``(n_out, n_in)``."""
        s = self._sizes
        return [
            self._theta[self._w_off[li] : self._w_off[li] + s[li + 1] * s[li]]
            .reshape(s[li + 1], s[li])
            .copy()
            for li in range(self.n_layers)
        ]

    @property
    def biases(self) -> list[FloatArray]:
        """list of numpy.ndarray: copies of the bias vectors."""
        s = self._sizes
        return [
            self._theta[self._b_off[li] : self._b_off[li] + s[li + 1]].copy()
            for li in range(self.n_layers)
        ]

    @property
    def negative_slope(self) -> float | list[FloatArray]:
        """float or list of numpy.ndarray: the leak (``"relu"``: 0.0, ``"leaky"``: a float,
        ``"prelu"``: one array of slopes per hidden layer)."""
        slopes = self.slopes_per_layer()
        if self._activation == "prelu":
            return slopes
        return (
            float(slopes[0][0]) if slopes else (0.0 if self._activation == "relu" else float("nan"))
        )

    def slopes_per_layer(self) -> list[FloatArray]:
        """Return the negative slopes of each hidden layer as a list of arrays (copies)."""
        return [
            self._theta[self._s_off[li] : self._s_off[li] + self._s_cnt[li]].copy()
            for li in range(self.n_layers - 1)
        ]

    @property
    def n_trainable(self) -> int:
        """int: number of trained parameters (weights, biases and, for PReLU, slopes)."""
        return self._theta.size if self._activation == "prelu" else self._n_wb

    def copy(self) -> MLP:
        """Return an independent copy."""
        new = object.__new__(MLP)
        new.__dict__.update(self.__dict__)
        new._theta = self._theta.copy()
        return new

    def __repr__(self) -> str:
        return f"MLP(sizes={self.sizes}, activation={self._activation!r})"

    # ------------------------------------------------------------------ computation
    def _check_x(self, x: ArrayLike, name: str = "x") -> FloatArray:
        arr = as_array(name, x)
        if arr.ndim == 1 and self._sizes[0] == 1:
            arr = arr.reshape(-1, 1)
        if arr.ndim != 2 or arr.shape[1] != self._sizes[0]:
            raise ValueError(
                f"{name} must have shape (n_samples, {self._sizes[0]}), got {arr.shape}"
            )
        return arr

    def _check_y(self, y: ArrayLike, n: int) -> FloatArray:
        arr = as_array("y", y)
        if arr.ndim == 1 and self._sizes[-1] == 1:
            arr = arr.reshape(-1, 1)
        if arr.ndim != 2 or arr.shape[1] != self._sizes[-1] or arr.shape[0] != n:
            raise ValueError(
                f"y must have shape ({n}, {self._sizes[-1]}) to match x (labels of the same "
                f"length as the inputs), got {arr.shape}"
            )
        return arr

    def _buffers(self, n: int) -> tuple[FloatArray, FloatArray, FloatArray]:
        total = n * int(self._sizes[1:].sum())
        return np.empty(total), np.empty(total), np.empty(total)

    def forward(self, x: ArrayLike) -> FloatArray:
        """Evaluate the network.

        Parameters
        ----------
        x : array_like, shape (n_samples, n_in)
            Inputs, batch first (a 1-D array is accepted when ``n_in == 1``).

        Returns
        -------
        numpy.ndarray, shape (n_samples, n_out)
        """
        x = self._check_x(x)
        if x.shape[0] == 0:  # the kernel needs one row; an empty batch has an empty answer
            return np.empty((0, int(self._sizes[-1])))
        zbuf, abuf, _ = self._buffers(x.shape[0])
        out = _forward_kernel(
            self._theta,
            self._sizes,
            self._w_off,
            self._b_off,
            self._s_off,
            self._s_cnt,
            x,
            zbuf,
            abuf,
        )
        return out.copy()

    __call__ = forward

    def preactivations(self, x: ArrayLike) -> list[FloatArray]:
        """Pre-activations ``z_l = W_l h_{li-1} + b_l`` of every layer.

        Parameters
        ----------
        x : array_like, shape (n_samples, n_in)
            Inputs.

        Returns
        -------
        list of numpy.ndarray
            One ``(n_samples, width)`` array per layer; the last one is the network output.
        """
        x = self._check_x(x)
        n = x.shape[0]
        if n == 0:
            return [np.empty((0, int(w))) for w in self._sizes[1:]]
        zbuf, abuf, _ = self._buffers(n)
        _forward_kernel(
            self._theta,
            self._sizes,
            self._w_off,
            self._b_off,
            self._s_off,
            self._s_cnt,
            x,
            zbuf,
            abuf,
        )
        return self._split(zbuf, n)

    def _split(self, buf: FloatArray, n: int) -> list[FloatArray]:
        out, off = [], 0
        for w in self._sizes[1:]:
            out.append(buf[off : off + n * w].reshape(n, w).copy())
            off += n * w
        return out

    def _unflatten(self, flat: FloatArray) -> dict[str, list[FloatArray]]:
        s = self._sizes
        grads = {
            "weights": [
                flat[self._w_off[li] : self._w_off[li] + s[li + 1] * s[li]]
                .reshape(s[li + 1], s[li])
                .copy()
                for li in range(self.n_layers)
            ],
            "biases": [
                flat[self._b_off[li] : self._b_off[li] + s[li + 1]].copy()
                for li in range(self.n_layers)
            ],
        }
        if self._activation == "prelu":
            grads["negative_slope"] = [
                flat[self._s_off[li] : self._s_off[li] + self._s_cnt[li]].copy()
                for li in range(self.n_layers - 1)
            ]
        return grads

    def loss_and_grads(self, x: ArrayLike,
                       y: ArrayLike) -> tuple[float, dict[str, list[FloatArray]]]:
        """Mean squared error ``mean((f(x) - y)**2)`` and its gradient.

        Parameters
        ----------
        x : array_like, shape (n_samples, n_in)
            Inputs.
        y : array_like, shape (n_samples, n_out)
            Targets (labels), one row per input.

        Returns
        -------
        loss : float
        grads : dict
            ``"weights"`` and ``"biases"`` (lists shaped like the parameters) and, for PReLU,
            ``"negative_slope"`` (one array per hidden layer).
        """
        x = self._check_x(x)
        y = self._check_y(y, x.shape[0])
        if x.shape[0] == 0:
            raise ValueError("x must hold at least one sample (the loss is a mean), got 0")
        loss, flat, _ = self._loss_grad_flat(x, y)
        return loss, self._unflatten(flat)

    def _loss_grad_flat(self, x: FloatArray, y: FloatArray
                        ) -> tuple[float, FloatArray, FloatArray]:
        n = x.shape[0]
        zbuf, abuf, dbuf = self._buffers(n)
        grad = np.empty_like(self._theta)
        loss = _loss_grad_kernel(
            self._theta,
            self._sizes,
            self._w_off,
            self._b_off,
            self._s_off,
            self._s_cnt,
            x,
            y,
            zbuf,
            abuf,
            dbuf,
            grad,
        )
        return float(loss), grad, zbuf

    def get_flat(self) -> FloatArray:
        """Return a copy of the flat parameter vector (weights, biases, then slopes)."""
        return self._theta.copy()

    def to_controller(self, *, input_offset: ArrayLike = 0.0, input_scale: ArrayLike = 1.0,
                      output_scale: ArrayLike = 1.0, output_offset: ArrayLike = 0.0,
                      u_min: float = -np.inf, u_max: float = np.inf,
                      reference_input: bool = False, dt: float | None = None,
                      name: str = "controller") -> LeakyMLP:
        """This network as a state-feedback controller (:class:`leaky_control.LeakyMLP`).

        Same as :meth:`leaky_control.LeakyMLP.from_network`: the weights are copied,
        the controller computes
        ``u = sat(output_scale * self((z - input_offset) * input_scale) + output_offset)``
        with ``z`` the plant state (then the reference if ``reference_input``); the scaling is
        folded into the first and last layers (equal up to rounding, free per evaluation).

        Parameters
        ----------
        input_offset, input_scale : float or array_like
            One value, or one per network input; scales nonzero.
        output_scale, output_offset : float or array_like
            One value, or one per output; the scale nonzero.
        u_min, u_max : float
            Actuator limits applied to every output.
        reference_input : bool, default False
            Whether the last network input is the reference.
        dt : float, optional
            Sample time of a sampled controller.
        name : str

        Returns
        -------
        leaky_control.LeakyMLP

        Raises
        ------
        ValueError
            For PReLU slopes that differ between units or layers, or a slope outside [0, 1].
        """
        from ..controllers.mlp import LeakyMLP

        return LeakyMLP.from_network(self, input_offset=input_offset, input_scale=input_scale,
                                     output_scale=output_scale, output_offset=output_offset,
                                     u_min=u_min, u_max=u_max, reference_input=reference_input,
                                     dt=dt, name=name)

    def with_flat(self, theta: ArrayLike) -> MLP:
        """Return a copy of this network with the flat parameter vector replaced.

        Parameters
        ----------
        theta : array_like
            New parameters in the layout of :meth:`get_flat`.

        Returns
        -------
        MLP
        """
        arr = as_array("theta", theta, ndim=1, shape=(self._theta.size,))
        new = self.copy()
        new._theta = arr.copy()
        return new
