r"""Mini-batch training of an :class:`~leaky_control.bridge.mlp.MLP` with dead-unit tracking.

One numba kernel runs a whole epoch (shuffle order given, every mini-batch forward, backward and
optimiser step), so there is no per-batch Python overhead. After each epoch the network is
evaluated once on the whole training set (forward and backward) to record the statistics below.

Definitions used in :class:`TrainHistory` (all on the full training set, with the parameters at
the end of the epoch; row 0 is the initial network, before any step):

* a hidden unit is **stuck negative** when its pre-activation is ``<= 0`` on every training
  input. For ReLU a stuck unit is **dead**: its activation derivative is 0 on every input, so
  its incoming weights and bias get exactly zero gradient. For leaky/PReLU units with a nonzero
  slope the derivative is ``a`` there, the gradient stays nonzero: ``stuck_grad_norm`` records
  how large it still is.
* **dead_fraction**: fraction of a layer's units whose full-data gradient (incoming weight row
  and bias) is exactly zero.
* **revived**: units stuck at the end of the previous epoch (or at initialisation) and no longer
  stuck at the end of this one.
* **gradient_sparsity**: fraction of (sample, unit) pairs of a layer whose activation derivative
  ``phi'(z)`` is exactly zero (``z <= 0`` with slope 0). For ``a != 0`` it is zero.
* **zero_grad_fraction**: the same, pooled over every hidden unit of every layer: the fraction
  of (sample, hidden unit) pairs through which no gradient passes. This is the training side of
  the corrective-signal-availability metric.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .._jit import cached_njit
from ..analysis._checks import (
    check_bool,
    check_choice,
    check_int,
    check_real,
    is_sequence,
    short_repr,
)
from .init import as_rng
from .mlp import MLP, _loss_grad_kernel

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

    from .._typing import FloatArray, IntArray

__all__ = ["OPTIMIZERS", "TrainHistory", "TrainingDiverged", "train"]

OPTIMIZERS = ("sgd", "adam")


class TrainingDiverged(FloatingPointError):
    """Raised by :func:`train` with ``on_divergence="raise"`` when the loss becomes non-finite."""


@cached_njit
def _epoch_kernel(theta: FloatArray, sizes: IntArray, w_off: IntArray, b_off: IntArray,
                  s_off: IntArray, s_cnt: IntArray, x: FloatArray, y: FloatArray, perm: IntArray,
                  batch_size: int, opt: int, lr: float, beta1: float, beta2: float, eps: float,
                  momentum: float, m: FloatArray, v: FloatArray, step: IntArray, n_upd: int,
                  zbuf: FloatArray, abuf: FloatArray, dbuf: FloatArray,
                  grad: FloatArray) -> tuple[float, int]:
    """One epoch; returns (mean batch loss, index of the first non-finite batch or -1)."""
    n = x.shape[0]
    n_in = x.shape[1]
    n_out = y.shape[1]
    total = 0.0
    nb = 0
    start = 0
    while start < n:
        stop = min(start + batch_size, n)
        bs = stop - start
        xb = np.empty((bs, n_in))
        yb = np.empty((bs, n_out))
        for i in range(bs):
            k = perm[start + i]
            for j in range(n_in):
                xb[i, j] = x[k, j]
            for j in range(n_out):
                yb[i, j] = y[k, j]
        loss = _loss_grad_kernel(
            theta, sizes, w_off, b_off, s_off, s_cnt, xb, yb, zbuf, abuf, dbuf, grad
        )
        if not np.isfinite(loss):
            return total / max(nb, 1), nb
        total += loss
        nb += 1
        if opt == 0:
            if momentum != 0.0:
                # torch.optim.SGD: buf = momentum * buf + g (buf = g on the first step)
                for k in range(n_upd):
                    m[k] = grad[k] if step[0] == 0 else momentum * m[k] + grad[k]
                    theta[k] -= lr * m[k]
            else:
                for k in range(n_upd):
                    theta[k] -= lr * grad[k]
            step[0] += 1
        else:
            # torch.optim.Adam (amsgrad=False, weight_decay=0), same operation order
            step[0] += 1
            bc1 = 1.0 - beta1 ** step[0]
            bc2 = math.sqrt(1.0 - beta2 ** step[0])
            step_size = lr / bc1
            for k in range(n_upd):
                g = grad[k]
                m[k] = beta1 * m[k] + (1.0 - beta1) * g
                v[k] = beta2 * v[k] + (1.0 - beta2) * g * g
                theta[k] -= step_size * m[k] / (math.sqrt(v[k]) / bc2 + eps)
        start = stop
    return total / max(nb, 1), -1


@dataclass
class TrainHistory:
    """Result of :func:`train`: the trained network and per-epoch records.

    Arrays have one row per recorded epoch, row 0 being the initial network; hidden-layer
    arrays have one column per hidden layer. See the module docstring for the definitions.

    Attributes
    ----------
    mlp : MLP
        The trained network (the last parameters with a finite loss).
    epoch : numpy.ndarray of int
        ``0, 1, ..., n_epochs_run``.
    loss : numpy.ndarray
        Full-training-set MSE after each epoch.
    batch_loss : numpy.ndarray
        Mean of the mini-batch losses seen during the epoch (NaN in row 0).
    stuck_fraction, dead_fraction, gradient_sparsity, stuck_grad_norm : numpy.ndarray
        Shape ``(n_rows, n_hidden_layers)``; ``stuck_grad_norm`` is the mean Euclidean norm of
        the full-data gradient (incoming weights and bias) of the stuck units (NaN if none).
    revived : numpy.ndarray of int
        Shape ``(n_rows, n_hidden_layers)``.
    zero_grad_fraction : numpy.ndarray
        Shape ``(n_rows,)``.
    slopes : numpy.ndarray or None
        PReLU only: shape ``(n_rows, n_slopes)``, the slopes of all hidden layers concatenated.
    success : bool
        False if training stopped on a non-finite loss.
    message : str
        Why training stopped.
    diverged_epoch : int or None
        1-based epoch in which the loss became non-finite.
    config : dict
        The training arguments (optimizer, lr, epochs, batch_size, seed, betas, eps, momentum).
    """

    mlp: MLP
    epoch: np.ndarray
    loss: np.ndarray
    batch_loss: np.ndarray
    stuck_fraction: np.ndarray
    dead_fraction: np.ndarray
    revived: np.ndarray
    gradient_sparsity: np.ndarray
    zero_grad_fraction: np.ndarray
    stuck_grad_norm: np.ndarray
    slopes: np.ndarray | None
    success: bool = True
    message: str = ""
    diverged_epoch: int | None = None
    config: dict = field(default_factory=dict)


def _epoch_stats(mlp: MLP, x: FloatArray, y: FloatArray) -> tuple[Any, ...]:
    """Full-data loss and the per-layer unit statistics described in the module docstring."""
    loss, grad, zbuf = mlp._loss_grad_flat(x, y)
    n = x.shape[0]
    sizes = mlp._sizes
    stuck, dead, sparsity, gnorm = [], [], [], []
    zero_pairs = 0
    total_pairs = 0
    off = 0
    stuck_masks = []
    for li in range(len(sizes) - 2):
        w = int(sizes[li + 1])
        z = zbuf[off : off + n * w].reshape(n, w)
        off += n * w
        slopes = mlp._theta[mlp._s_off[li] : mlp._s_off[li] + mlp._s_cnt[li]]
        slope_u = np.broadcast_to(slopes, (w,))
        nonpos = z <= 0.0
        mask = nonpos.all(axis=0)
        stuck_masks.append(mask)
        zero_deriv = nonpos & (slope_u == 0.0)
        zero_pairs += int(zero_deriv.sum())
        total_pairs += zero_deriv.size
        gw = grad[mlp._w_off[li] : mlp._w_off[li] + w * int(sizes[li])].reshape(w, int(sizes[li]))
        gb = grad[mlp._b_off[li] : mlp._b_off[li] + w]
        # scaled by the row's largest entry: a gradient of 1e155 (a diverging run) must not
        # square to inf
        g = np.column_stack([gw, gb])
        top = np.max(np.abs(g), axis=1)
        with np.errstate(over="ignore", invalid="ignore"):
            row_norm = top * np.sqrt(((g / np.where(top > 0.0, top, 1.0)[:, None]) ** 2).sum(axis=1))
        stuck.append(mask.mean())
        dead.append(np.mean(row_norm == 0.0))
        sparsity.append(zero_deriv.mean())
        gnorm.append(row_norm[mask].mean() if mask.any() else np.nan)
    zf = zero_pairs / total_pairs if total_pairs else 0.0
    return loss, stuck, dead, sparsity, gnorm, zf, stuck_masks


def _check_int(name: str, value: Any, low: int) -> int:
    return check_int(name, value, low=low, desc=f"an integer >= {low}")


def _check_betas(betas: Any) -> tuple[float, ...]:
    if not (is_sequence(betas) or (isinstance(betas, np.ndarray) and betas.ndim == 1)):
        raise TypeError(
            "betas must be a pair (beta1, beta2) of floats in [0, 1), got "
            f"{short_repr(betas)} of type {type(betas).__name__}"
        )
    if len(betas) != 2:
        raise ValueError(
            f"betas must be a pair (beta1, beta2) of floats in [0, 1), got {short_repr(betas)}"
        )
    return tuple(
        check_real(f"betas[{i}]", b, low=0.0, high=1.0, high_open=True)
        for i, b in enumerate(betas)
    )


def train(mlp: MLP, x: ArrayLike, y: ArrayLike, optimizer: str = "sgd",
          lr: float = 0.01,
          epochs: int = 10, batch_size: int = 32, seed: int | None = None, progress: bool = False,
          *, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8, momentum: float = 0.0,
          on_divergence: str = "stop", track: bool = True) -> TrainHistory:
    """Train ``mlp`` on ``(x, y)`` with mini-batch SGD or Adam and record dead-unit statistics.

    The input network is not modified; the trained copy is ``history.mlp``.

    Parameters
    ----------
    mlp : MLP
        Initial network.
    x : array_like, shape (n_samples, n_in)
        Training inputs (finite).
    y : array_like, shape (n_samples, n_out)
        Training targets, one row per input (finite).
    optimizer : {"sgd", "adam"}, default "sgd"
        Update rule, identical to ``torch.optim.SGD`` / ``torch.optim.Adam`` (no weight decay).
    lr : float, default 0.01
        Learning rate, > 0.
    epochs : int, default 10
        Number of passes over the data, >= 1.
    batch_size : int, default 32
        Mini-batch size, >= 1; the last batch of an epoch may be smaller (``drop_last=False``).
    seed : None, int or numpy.random.Generator
        Seed of the per-epoch shuffles (``numpy.random.default_rng(seed).permutation``); a
        non-negative integer.
    progress : bool, default False
        Show a tqdm progress bar over epochs (needs the ``progress`` extra, ``tqdm``).
    betas : tuple of float, default (0.9, 0.999)
        Adam's decay rates, a pair with each in [0, 1) (checked for SGD too).
    eps : float, default 1e-8
        Adam's denominator term, > 0.
    momentum : float, default 0.0
        SGD momentum in [0, 1) (torch's convention, no dampening).
    on_divergence : {"stop", "raise"}, default "stop"
        When a mini-batch loss (or the end-of-epoch loss) is not finite, training stops before
        applying that step (if an update already made a parameter non-finite, the parameters go
        back to the end of the previous epoch). ``history.mlp`` is that last finite state and the
        history rows end with the last completed epoch. ``"stop"`` returns the history with
        ``success=False`` and a ``message`` naming the epoch; ``"raise"`` raises
        :class:`TrainingDiverged` with that message.

    track : bool, default True
        Record the unit statistics after every epoch (one extra forward and backward pass over
        the full training set). With False only ``loss`` and ``batch_loss`` are recorded (the
        other arrays are NaN), which is what the speed benchmark compares against PyTorch.

    Returns
    -------
    TrainHistory

    Raises
    ------
    TypeError
        If ``mlp`` is not an :class:`MLP`.
    ValueError
        For an unknown optimizer, ``lr <= 0``, mismatched or non-finite data, bad sizes, or
        data whose initial loss already overflows (targets near 1e154).
    TrainingDiverged
        With ``on_divergence="raise"``, if the loss becomes non-finite.
    """
    if not isinstance(mlp, MLP):
        raise TypeError(f"mlp must be a leaky_control.bridge.MLP, got {type(mlp).__name__}")
    optimizer = check_choice("optimizer", optimizer, OPTIMIZERS)
    lr = check_real("lr", lr, low=0.0, low_open=True)
    epochs = _check_int("epochs", epochs, 1)
    batch_size = _check_int("batch_size", batch_size, 1)
    on_divergence = check_choice("on_divergence", on_divergence, ("stop", "raise"))
    progress = check_bool("progress", progress)
    track = check_bool("track", track)
    b1, b2 = _check_betas(betas)
    eps = check_real("eps", eps, low=0.0, low_open=True)
    momentum = check_real("momentum", momentum, low=0.0, high=1.0, high_open=True)
    x = mlp._check_x(x)
    y = mlp._check_y(y, x.shape[0])
    if x.shape[0] == 0:
        raise ValueError("x must hold at least one sample, got 0")
    rng = as_rng(seed, "seed")

    net = mlp.copy()
    theta = net._theta
    n = x.shape[0]
    bs_max = min(batch_size, n)
    zbuf, abuf, dbuf = net._buffers(bs_max)
    grad = np.empty_like(theta)
    m = np.zeros_like(theta)
    v = np.zeros_like(theta)
    step = np.zeros(1, dtype=np.int64)
    n_upd = net.n_trainable
    opt_code = OPTIMIZERS.index(optimizer)
    is_prelu = net.activation == "prelu"

    rows: dict[str, list[Any]] = {
        k: [] for k in ("loss", "batch", "stuck", "dead", "rev", "sparse", "zf", "gnorm", "slopes")
    }

    n_hidden = len(net.sizes) - 2

    def record(batch_loss: float, prev_masks: Any) -> tuple[float, Any]:
        if track:
            loss, stuck, dead, sparse, gnorm, zf, masks = _epoch_stats(net, x, y)
        else:
            out = net.forward(x)
            with np.errstate(over="ignore", invalid="ignore"):  # inf: reported as divergence
                loss = float(np.mean((out - y) ** 2))
            stuck = dead = sparse = gnorm = [np.nan] * n_hidden
            zf, masks = np.nan, None
        rows["loss"].append(loss)
        rows["batch"].append(batch_loss)
        rows["stuck"].append(stuck)
        rows["dead"].append(dead)
        rows["sparse"].append(sparse)
        rows["gnorm"].append(gnorm)
        rows["zf"].append(zf)
        rows["rev"].append(
            [0] * n_hidden
            if prev_masks is None or masks is None
            else [int((p & ~q).sum()) for p, q in zip(prev_masks, masks, strict=True)]
        )
        if is_prelu:
            rows["slopes"].append(theta[net._n_wb :].copy())
        return loss, masks

    loss0, masks = record(np.nan, None)
    if not math.isfinite(loss0):
        raise ValueError(
            f"the initial loss is not finite ({loss0}): the network's outputs on x or the targets "
            "y are too large, their squared difference overflows float64"
        )
    bar = None
    if progress:
        try:
            from tqdm.auto import tqdm
        except ImportError as exc:  # pragma: no cover - tqdm is in the test extra
            raise ImportError(
                "progress=True needs tqdm: pip install 'leaky-control[progress]'"
            ) from exc
        bar = tqdm(total=epochs, desc=f"train {net.activation}/{optimizer}", unit="epoch")

    success, message, diverged = True, f"completed {epochs} epochs", None
    try:
        for ep in range(1, epochs + 1):
            perm = rng.permutation(n).astype(np.int64)
            saved = theta.copy()
            batch_loss, bad = _epoch_kernel(
                theta,
                net._sizes,
                net._w_off,
                net._b_off,
                net._s_off,
                net._s_cnt,
                x,
                y,
                perm,
                bs_max,  # = min(batch_size, n): same batches, and start + size cannot overflow
                opt_code,
                lr,
                b1,
                b2,
                eps,
                momentum,
                m,
                v,
                step,
                n_upd,
                zbuf,
                abuf,
                dbuf,
                grad,
            )
            finite = np.isfinite(theta).all()
            if bad >= 0 or not finite:
                success, diverged = False, ep
                where = f"in mini-batch {bad + 1}" if bad >= 0 else "after an update"
                if finite:
                    kept = "stopped before that step"
                else:  # an update overflowed before the loss did: go back to a finite state
                    theta[:] = saved
                    kept = f"kept the parameters from the end of epoch {ep - 1}"
                message = (
                    f"training diverged: the loss or parameters became non-finite in epoch {ep} "
                    f"({where}); {kept} (lr={lr:g}, {optimizer})"
                )
                break
            loss, masks = record(batch_loss, masks)
            if not math.isfinite(loss):
                success, diverged = False, ep
                message = f"training diverged: the full-data loss is non-finite after epoch {ep}"
                break
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{loss:.3g}")
    finally:
        if bar is not None:
            bar.close()
    if not success and on_divergence == "raise":
        raise TrainingDiverged(message)

    k = len(rows["loss"])
    return TrainHistory(
        mlp=net,
        epoch=np.arange(k),
        loss=np.asarray(rows["loss"]),
        batch_loss=np.asarray(rows["batch"]),
        stuck_fraction=np.asarray(rows["stuck"]).reshape(k, -1),
        dead_fraction=np.asarray(rows["dead"]).reshape(k, -1),
        revived=np.asarray(rows["rev"], dtype=np.int64).reshape(k, -1),
        gradient_sparsity=np.asarray(rows["sparse"]).reshape(k, -1),
        zero_grad_fraction=np.asarray(rows["zf"]),
        stuck_grad_norm=np.asarray(rows["gnorm"]).reshape(k, -1),
        slopes=np.asarray(rows["slopes"]) if is_prelu else None,
        success=success,
        message=message,
        diverged_epoch=diverged,
        config={
            "optimizer": optimizer,
            "lr": lr,
            "epochs": epochs,
            "batch_size": batch_size,
            "seed": seed,
            "betas": (b1, b2),
            "eps": eps,
            "momentum": momentum,
        },
    )
