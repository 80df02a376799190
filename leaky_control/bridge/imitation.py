r"""Training a network controller by imitation of an expert controller.

:func:`lqr_expert` builds the expert: the LQR gain ``K`` (:func:`control.lqr`) of the plant
linearised at an operating point, ``u = u_op - K (x - x_op)``, optionally saturated.
:func:`imitate` samples states in a box, labels them with the expert, trains a
:class:`~leaky_control.bridge.MLP` on the normalised pairs with
:func:`~leaky_control.bridge.train` (so the history carries the dead-unit statistics) and
returns it with a ready :class:`~leaky_control.LeakyMLP` whose input and output scaling undo the
normalisation: the controller runs in :func:`leaky_control.simulate` and
:func:`leaky_control.sweep` as it is.

Reproducibility: one integer ``seed`` feeds a :class:`numpy.random.SeedSequence` whose children
draw the states, the initial weights, the shuffles and the validation states (PCG64 streams, the
same on every platform for a given numpy version); the arithmetic is float64 and the training
kernels run on one thread, so two runs in one environment give the same network bit for bit
(tests/test_imitation.py). Across machines that holds only where two more things agree: the
expert's labels (``K`` comes from LAPACK through :func:`control.lqr`, whose last bits can depend
on the build) and the rounding of the training kernels. Those are compiled for the host CPU with
fastmath ``reassoc`` and ``contract`` (:mod:`leaky_control.bridge.mlp`), so the SIMD width and
fused multiply-adds change the last bits of the sums: measured, the same seed on the same
machine gives a different network when the kernels are compiled with
``NUMBA_CPU_NAME=generic`` (same states, same labels, same ``K``). Without those two flags the
host and generic builds agree bit for bit, at 1.24x the training time (benchmarks/RESULTS.md).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .._validate import as_finite_array, check_finite_scalar
from ..analysis._checks import check_choice, check_int, check_seed
from .init import init_mlp
from .mlp import MLP
from .training import TrainHistory, train

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

    from .._typing import FloatArray
    from ..controllers.mlp import LeakyMLP
    from ..plants.base import Plant
    from ..plants.trim import OperatingPoint

__all__ = ["ImitationResult", "LQRExpert", "imitate", "lqr_expert"]


@dataclass(frozen=True, eq=False)
class LQRExpert:
    """The linear-quadratic regulator of a plant's linearisation, as a state-feedback law.

    Calling it maps states ``x`` (``(n,)`` or ``(batch, n)``) to
    ``clip(u_op - K (x - x_op), u_min, u_max)``.

    Attributes
    ----------
    K : numpy.ndarray
        Gain, shape ``(m, n)``.
    x_op, u_op : numpy.ndarray
        Operating point (state and input).
    A, B : numpy.ndarray
        The linearisation ``d(x - x_op)/dt = A (x - x_op) + B (u - u_op)``.
    Q, R : numpy.ndarray
        The weights of the quadratic cost.
    S : numpy.ndarray
        Solution of the Riccati equation.
    poles : numpy.ndarray
        Eigenvalues of ``A - B K``.
    u_min, u_max : float
        Saturation of the law (infinite: none).
    """

    K: FloatArray
    x_op: FloatArray
    u_op: FloatArray
    A: FloatArray
    B: FloatArray
    Q: FloatArray
    R: FloatArray
    S: FloatArray
    poles: FloatArray
    u_min: float = -math.inf
    u_max: float = math.inf

    def __call__(self, x: ArrayLike) -> FloatArray:
        """The expert's command for states ``x`` (``(n,)`` or ``(batch, n)``).

        Parameters
        ----------
        x : array_like
            Plant states.

        Returns
        -------
        numpy.ndarray
            ``(m,)`` or ``(batch, m)``.
        """
        X = np.asarray(x, dtype=float)
        n = self.K.shape[1]
        if X.shape[-1:] != (n,) or X.ndim > 2:
            raise ValueError(f"x must have shape ({n},) or (batch, {n}), got {X.shape}")
        u = self.u_op - (X - self.x_op) @ self.K.T
        return np.clip(u, self.u_min, self.u_max)


def _square(name: str, value: ArrayLike | None, k: int) -> FloatArray:
    if value is None:
        return np.eye(k)
    arr = as_finite_array(name, value)
    if arr.ndim == 1 and arr.size == k:  # the diagonal
        arr = np.diag(arr)
    elif k == 1 and arr.size == 1:
        arr = arr.reshape(1, 1)
    if arr.shape != (k, k):
        raise ValueError(f"{name} must be a ({k}, {k}) matrix or its {k} diagonal entries, got "
                         f"shape {arr.shape}")
    return arr


def lqr_expert(plant: Plant | Any, operating_point: OperatingPoint | tuple[ArrayLike, ArrayLike]
               | None = None, Q: ArrayLike | None = None, R: ArrayLike | None = None, *,
               u_min: float = -math.inf, u_max: float = math.inf,
               disturbance: ArrayLike | None = None, tol: float = 1e-6) -> LQRExpert:
    """LQR on the plant's linearisation at an operating point, as an expert for :func:`imitate`.

    ``A, B`` come from :meth:`Plant.jacobian <leaky_control.Plant.jacobian>` at
    ``(x_op, u_op)`` (exact for a linear plant, finite differences otherwise); ``K`` from
    :func:`control.lqr` ``(A, B, Q, R)``.

    Parameters
    ----------
    plant : Plant, control.StateSpace, control.TransferFunction or (A, B, C, D)
        Anything :func:`leaky_control.plants.as_plant` accepts.
    operating_point : OperatingPoint or (x_op, u_op), optional
        An equilibrium (:func:`leaky_control.operating_point` finds one); default the origin
        with zero input.
    Q, R : array_like, optional
        State and input weights, ``(n, n)`` and ``(m, m)`` or their diagonals; default
        identities.
    u_min, u_max : float
        Saturation of the expert's command (default none).
    disturbance : array_like, optional
        Constant disturbance at the operating point (default zeros).
    tol : float, default 1e-6
        Largest ``|f(x_op, u_op, d)|`` accepted: an LQR about a point that is not an
        equilibrium does not regulate to it.

    Returns
    -------
    LQRExpert

    Raises
    ------
    ValueError
        For sizes that do not fit the plant, a point that is not an equilibrium, or a
        linearisation that LQR cannot stabilise (python-control's reason attached).
    """
    from ..plants import as_plant

    plant = as_plant(plant)
    n, m, nd = plant.nstates, plant.ninputs, plant.ndisturbances
    if operating_point is None:
        x_op, u_op = np.zeros(n), np.zeros(m)
    else:
        if isinstance(operating_point, str | bytes) or not hasattr(operating_point, "__len__") \
                or len(operating_point) < 2:
            raise TypeError("operating_point must be an OperatingPoint or a pair (x_op, u_op), "
                            f"got {operating_point!r}")
        x_op = as_finite_array("operating_point state", operating_point[0], shape=(n,))
        u_op = as_finite_array("operating_point input", np.atleast_1d(operating_point[1]),
                               shape=(m,))
    d = np.zeros(nd) if disturbance is None else as_finite_array(
        "disturbance", np.atleast_1d(disturbance), shape=(nd,))
    Qm, Rm = _square("Q", Q, n), _square("R", R, m)
    lo = check_finite_scalar("u_min", u_min) if math.isfinite(u_min) else float(u_min)
    hi = check_finite_scalar("u_max", u_max) if math.isfinite(u_max) else float(u_max)
    if not lo < hi:
        raise ValueError(f"u_min must be < u_max, got u_min={u_min!r}, u_max={u_max!r}")
    tol = check_finite_scalar("tol", tol, low=0.0)
    update, _ = plant._model_functions()
    f = np.asarray(update(0.0, x_op, np.concatenate([u_op, d]), None), dtype=float)
    if np.max(np.abs(f), initial=0.0) > tol:
        raise ValueError(
            f"operating_point is not an equilibrium of the plant: |f(x_op, u_op, d)| = "
            f"{np.max(np.abs(f)):.3g} > tol = {tol:g} (x_op={x_op.tolist()}, "
            f"u_op={u_op.tolist()}); use leaky_control.operating_point to find one")
    A, B, _ = plant.jacobian(x_op, u_op, d)
    import control as ct

    try:
        K, S, E = ct.lqr(A, B, Qm, Rm)
    except (ValueError, np.linalg.LinAlgError, ct.ControlArgument) as exc:
        raise ValueError(
            f"LQR failed on the linearisation at x_op={x_op.tolist()} "
            f"(A={np.round(A, 6).tolist()}, B={np.round(B, 6).tolist()}) with Q={Qm.tolist()}, "
            f"R={Rm.tolist()}: {exc}; Q must be positive semidefinite, R positive definite and "
            "(A, B) stabilisable") from exc
    return LQRExpert(np.asarray(K, dtype=float), x_op, u_op, np.asarray(A, dtype=float),
                     np.asarray(B, dtype=float), Qm, Rm, np.asarray(S, dtype=float),
                     np.asarray(E), lo, hi)


@dataclass(frozen=True, eq=False)
class ImitationResult:
    """What :func:`imitate` returns.

    Attributes
    ----------
    network : MLP
        The trained network, on normalised coordinates: it sees
        ``(x - input_offset) * input_scale`` and is trained to output
        ``(u - output_offset) / output_scale``.
    controller : leaky_control.LeakyMLP
        The network with that scaling and the saturation: ``controller.forward(x)`` is the
        imitation of ``expert(x)``.
    history : TrainHistory
        The trainer's record (loss, dead and stuck units per epoch).
    states, targets : numpy.ndarray
        The training states ``(N, n)`` and the expert's commands ``(N, m)``.
    fit_error : dict of str to float
        ``"max"`` and ``"rms"``: the largest and the root-mean-square difference between the
        controller's saturated command and ``expert(x)`` over the training states;
        ``"max_validation"`` and ``"rms_validation"`` the same on as many fresh states from the
        box (same seed tree); ``"scale"``: the largest ``|expert(x) - output_offset|`` on the
        training states, the size to read them against.
    seed : int or None
    initial_network : MLP
        The network before training (to see what training changed, e.g. dead ReLU units).
    """

    network: MLP
    controller: LeakyMLP
    history: TrainHistory
    states: FloatArray
    targets: FloatArray
    fit_error: dict[str, float]
    seed: int | None
    initial_network: MLP

    @property
    def dead_fraction(self) -> FloatArray:
        """Per hidden layer, the fraction of units whose full-data gradient is exactly zero
        after the last epoch (the trainer's ``dead_fraction``; nonzero only for ReLU)."""
        return np.asarray(self.history.dead_fraction[-1], dtype=float)


def _box(box: Any, n: int | None) -> tuple[FloatArray, FloatArray]:
    allowed = ("box must be (low, high) with one finite bound per state each, low < high, or "
               "an (n, 2) array of [low, high] rows")
    if box is None or isinstance(box, str | bytes | dict):
        raise TypeError(f"{allowed}, got {box!r}")
    try:
        arr = np.asarray(box, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"{allowed}, got {box!r}") from None
    if arr.ndim == 2 and arr.shape[1] == 2 and arr.shape[0] != 2:
        arr = arr.T
    if arr.ndim != 2 or arr.shape[0] != 2 or (n is not None and arr.shape[1] != n):
        raise ValueError(f"{allowed}" + (f" (n = {n})" if n else "") + f", got shape {arr.shape}")
    lo, hi = arr
    if not (np.all(np.isfinite(arr)) and np.all(lo < hi)):
        raise ValueError(f"{allowed}, got low={lo.tolist()}, high={hi.tolist()}")
    return lo.copy(), hi.copy()


def imitate(expert: Callable[[FloatArray], ArrayLike], box: Any = None, *,
            states: ArrayLike | None = None, n_samples: int = 2048,
            hidden: Sequence[int] = (16, 16), negative_slope: float, seed: int | None = 0,
            epochs: int = 200, batch_size: int = 64, optimizer: str = "adam", lr: float = 3e-3,
            init_bias: float = 0.0, u_min: float | None = None,
            u_max: float | None = None, anchor: ArrayLike | bool = True,
            track: bool = True) -> ImitationResult:
    """Train a Leaky-ReLU network controller to imitate ``expert`` on sampled states.

    Parameters
    ----------
    expert : callable
        ``expert(X)`` for states ``X`` of shape ``(N, n)`` returns the commands ``(N, m)`` (or
        ``(N,)`` for one input); an :class:`LQRExpert` does.
    box : (low, high) or array_like of shape (n, 2), optional
        Where states are sampled, uniformly (and where the input scaling maps onto
        ``[-1, 1]``). Required unless ``states`` is given.
    states : array_like, shape (N, n), optional
        Training states instead of sampling; the input scaling then maps their range onto
        ``[-1, 1]`` (or the box's, if given too).
    n_samples : int, default 2048
        Number of states sampled in the box (and of the validation states).
    hidden : sequence of int, default (16, 16)
        Hidden-layer widths.
    negative_slope : float
        Leak ``a`` in ``[0, 1]`` of the hidden units (0 trains a ReLU network), required.
    seed : int or None, default 0
        Seed of everything random (states, initial weights, shuffles); None draws fresh entropy.
    epochs, batch_size, optimizer, lr : int, int, str, float
        Passed to :func:`~leaky_control.bridge.train` (Adam with lr 3e-3 by default).
    init_bias : float, default 0.0
        Initial bias of every unit (Kaiming-normal weights, :func:`init_mlp`); a negative value
        starts units dead, to study how they recover.
    u_min, u_max : float, optional
        The controller's saturation; default the expert's ``u_min``/``u_max`` if it has them
        (an :class:`LQRExpert`), else none.
    anchor : bool or array_like, default True
        A state where the controller must equal the expert exactly (to rounding): the output
        offset is shifted by ``expert(x) - controller(x)`` there, so that the expert's
        equilibrium stays an equilibrium of the loop (the fit error would otherwise move it).
        True: the expert's ``x_op`` if it has one (an :class:`LQRExpert`), else no anchor;
        False: none.
    track : bool, default True
        Record the dead-unit statistics every epoch (see :class:`TrainHistory`).

    Returns
    -------
    ImitationResult
        The network, the controller, the history, the data and the fit error.

    Raises
    ------
    ValueError
        For bad sizes, a bad box or states, an expert whose output has the wrong shape or is
        not finite, or training that diverged (the trainer's message).
    """
    from ..controllers.mlp import LeakyMLP

    a = check_finite_scalar("negative_slope", negative_slope, low=0.0, high=1.0)
    n_samples = check_int("n_samples", n_samples, low=1)
    seed = check_seed("seed", seed)
    if isinstance(seed, np.random.Generator):
        raise TypeError("seed must be a non-negative integer or None (one seed for the states, "
                        "the weights and the shuffles), got a Generator")
    optimizer = check_choice("optimizer", optimizer, ("sgd", "adam"))
    if isinstance(hidden, str | bytes) or not hasattr(hidden, "__len__"):
        raise TypeError(f"hidden must be a sequence of layer widths (integers >= 1), got "
                        f"{hidden!r}")
    widths = [check_int(f"hidden[{i}]", h, low=1) for i, h in enumerate(hidden)]
    if not callable(expert):
        raise TypeError(f"expert must be callable, expert(X) -> commands, got {expert!r}")
    ss_states, ss_init, ss_shuffle, ss_valid = np.random.SeedSequence(seed).spawn(4)
    g_states, g_init, g_valid = (np.random.default_rng(s) for s in (ss_states, ss_init, ss_valid))
    shuffle_seed = int(ss_shuffle.generate_state(1, np.uint64)[0])  # train takes an int seed

    if states is None:
        lo, hi = _box(box, None)
        X = lo + (hi - lo) * g_states.random((n_samples, lo.size))
    else:
        X = as_finite_array("states", states, ndim=2)
        if X.shape[0] < 2:
            raise ValueError(f"states must hold at least 2 rows, got shape {X.shape}")
        if box is None:
            lo, hi = X.min(axis=0), X.max(axis=0)
            if np.any(lo == hi):
                raise ValueError("states must vary in every coordinate (their range sets the "
                                 f"input scaling), got constant columns {np.flatnonzero(lo == hi)}")
        else:
            lo, hi = _box(box, X.shape[1])
    n = lo.size
    if X.shape[1] != n:
        raise ValueError(f"states must have {n} columns (the box's), got shape {X.shape}")

    def label(Z: FloatArray, what: str) -> FloatArray:
        Y = np.asarray(expert(Z), dtype=float)
        if Y.ndim == 1:
            Y = Y[:, None]
        if Y.ndim != 2 or Y.shape[0] != Z.shape[0]:
            raise ValueError(f"expert must return one command row per state ({Z.shape[0]} rows), "
                             f"got shape {Y.shape} for the {what} states")
        if not np.all(np.isfinite(Y)):
            raise ValueError(f"expert returned non-finite commands on the {what} states")
        return Y

    Y = label(X, "training")
    m = Y.shape[1]
    in_off = 0.5 * (lo + hi)
    in_scale = 2.0 / (hi - lo)
    out_off = Y.mean(axis=0)
    spread = Y.std(axis=0)
    out_scale = np.where(spread > 0.0, spread, 1.0)  # a constant expert: no scaling needed
    Xn = (X - in_off) * in_scale
    Yn = (Y - out_off) / out_scale

    activation = "relu" if a == 0.0 else "leaky"
    net0 = init_mlp([n, *widths, m], activation, None if a == 0.0 else a, rng=g_init,
                    bias=init_bias)
    hist = train(net0, Xn, Yn, optimizer=optimizer, lr=lr, epochs=epochs, batch_size=batch_size,
                 seed=shuffle_seed, track=track)
    if not hist.success:
        raise ValueError(f"imitation training failed: {hist.message}; lower lr")
    lo_u = getattr(expert, "u_min", -math.inf) if u_min is None else u_min
    hi_u = getattr(expert, "u_max", math.inf) if u_max is None else u_max
    ctrl = LeakyMLP.from_network(hist.mlp, input_offset=in_off, input_scale=in_scale,
                                 output_scale=out_scale, output_offset=out_off,
                                 u_min=lo_u, u_max=hi_u, name="imitation")
    at = getattr(expert, "x_op", None) if anchor is True else anchor
    if at is not None and at is not False:
        xa = as_finite_array("anchor", at, shape=(n,))
        shift = label(xa[None, :], "anchor")[0] - ctrl.forward(xa)
        ctrl = ctrl.replace(output_offset=ctrl.output_offset + shift)  # type: ignore[assignment]
    Xv = lo + (hi - lo) * g_valid.random((max(n_samples, X.shape[0]), n))
    Yv = label(Xv, "validation")
    # the saturated command: what the loop applies, and what a saturated expert gives
    err = np.abs(np.clip(ctrl.forward(X), lo_u, hi_u) - Y)
    err_v = np.abs(np.clip(ctrl.forward(Xv), lo_u, hi_u) - Yv)
    fit = {"max": float(err.max()), "rms": float(np.sqrt(np.mean(err ** 2))),
           "max_validation": float(err_v.max()),
           "rms_validation": float(np.sqrt(np.mean(err_v ** 2))),
           "scale": float(np.max(np.abs(Y - out_off)))}
    return ImitationResult(hist.mlp, ctrl, hist, X, Y, fit, None if seed is None else int(seed),
                           net0)
