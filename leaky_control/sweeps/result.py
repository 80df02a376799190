"""The result of a sweep: parameter table, metrics, status per point, trajectories on request."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from ..simulation import PreparedRun, _response
from ..status import Status, status_message

if TYPE_CHECKING:
    import pandas
    from numpy.typing import NDArray

    from .._typing import FloatArray, IntArray
    from ..response import LoopResponse
    from .chunk import SweepSpec
    from .grid import PointTable

#: short names of the statuses, for tables; a status added to the enum later gets its own
#: name in lower case (to_pandas lists every status as a category)
STATUS_NAMES: dict[int, str] = {Status.SUCCESS: "ok", Status.NONFINITE: "non-finite",
                Status.STEP_UNDERFLOW: "step size underflow", Status.MAX_STEPS: "max_steps",
                Status.INVALID_PARAMETERS: "invalid parameters"}
STATUS_NAMES.update({k: k.name.lower().replace("_", " ") for k in Status
                     if k not in STATUS_NAMES})


class SweepResult:
    """Metrics (and optionally trajectories) of every point of a sweep.

    Attributes
    ----------
    params : dict of numpy.ndarray
        The parameter table: one column per swept name, one row per point (vector values
        such as ``initial_state`` as rows of a 2-D column). A list mixing integers and
        floats (``gear=[1, 2, 2.5]``) is shown as floats here, while each point ran with its
        value as given (:meth:`point` returns it: ``1`` stays an ``int``).
    metrics : dict of numpy.ndarray
        The requested :func:`leaky_control.step_info` values per point (``Settled`` as bool).
        Equal bit for bit to ``step_info(simulate(...))`` of the point.
    status : numpy.ndarray of int8
        0 completed; 1 non-finite or diverged; 2 step-size underflow; 3 ``max_steps``
        reached; 4 parameters rejected by the models (the point did not run).
    failure_time : numpy.ndarray
        Time at which a run failed (NaN when it completed or did not run).
    nfev : numpy.ndarray of int64
        Right-hand-side evaluations per point (as ``simulate``'s ``resp.stats["nfev"]``).
    messages : dict
        Point index -> message, for every point that did not complete.
    timepts : numpy.ndarray
    trajectories : dict of numpy.ndarray or None
        With ``keep_trajectories=True``: ``states`` (P, T, nx), ``outputs`` (P, T, p),
        ``u`` and ``u_raw`` (P, T, m), as the kernel records them; :meth:`response` turns a
        point into the ``TimeResponseData`` that ``simulate`` returns.
    stats : dict
        ``npoints``, ``nchunks``, ``chunk_size``, ``chunks_from_checkpoint``,
        ``chunks_rerun`` (chunk index -> why its checkpoint file was not used and the chunk
        was run again), ``seconds``, ``mode``, ``threads``.
    """

    def __init__(self, spec: SweepSpec, table: PointTable, metrics: dict[str, FloatArray],
                 status: NDArray[np.int8], failure_time: FloatArray, nfev: IntArray,
                 messages: dict[int, str], trajectories: dict[str, FloatArray] | None,
                 stats: dict[str, Any]) -> None:
        self._spec = spec
        self._table = table
        self.params = dict(table.columns)
        self.metrics = metrics
        self.status = status
        self.failure_time = failure_time
        self.nfev = nfev
        self.messages = messages
        self.timepts = spec.t
        self.trajectories = trajectories
        self.stats = stats

    def __len__(self) -> int:
        return self._table.size

    def __repr__(self) -> str:
        return (f"SweepResult({len(self)} points over {list(self.params)}, "
                f"{int(np.count_nonzero(self.status))} failed, metrics={list(self.metrics)})")

    def __getitem__(self, name: str) -> NDArray[Any]:
        """A metric or parameter column by name."""
        if name in self.metrics:
            return self.metrics[name]
        if name in self.params:
            return self.params[name]
        raise KeyError(f"{name!r} is neither a metric ({list(self.metrics)}) nor a swept "
                       f"parameter ({list(self.params)})")

    @property
    def success(self) -> NDArray[np.bool_]:
        """Boolean array: the point ran to the final time."""
        return self.status == 0

    @property
    def failed(self) -> IntArray:
        """Indices of the points that did not complete (see :attr:`messages`)."""
        return np.flatnonzero(self.status != 0)

    def point(self, i: int) -> dict[str, Any]:
        """Point ``i``'s parameters, metrics, status and message as one dict."""
        i = self._index(i)
        out = {name: self._table.value(name, i) for name in self._table.names}
        out.update({k: v[i].item() for k, v in self.metrics.items()})
        out["status"] = STATUS_NAMES[int(self.status[i])]
        out["message"] = self.messages.get(i, "simulation completed")
        return out

    def response(self, i: int) -> LoopResponse:
        """Point ``i`` as the ``control.TimeResponseData`` that :func:`simulate` returns.

        Needs ``keep_trajectories=True``. The arrays equal ``simulate``'s bit for bit.
        """
        if self.trajectories is None:
            raise ValueError("response() needs the trajectories: run the sweep with "
                             "keep_trajectories=True")
        i = self._index(i)
        if self.status[i] == Status.INVALID_PARAMETERS:
            raise ValueError(f"point {i} did not run: {self.messages[i]}")
        row = {name: self._table.value(name, i) for name in self._table.names}
        plant, controller, _, _, r, d = self._spec.point(row)
        tr = self.trajectories
        info = np.array([self.status[i], self.failure_time[i], 0.0, 0.0, 0.0])
        # only what _response reads: the models, the solver, the times and the signals
        run = PreparedRun(plant, controller, self._spec.solver, self.timepts, r, d,
                          None, None, None, None, None,  # type: ignore[arg-type]
                          tr["max_step"][i])
        resp = _response(run, tr["states"][i], tr["outputs"][i], tr["u"][i], tr["u_raw"][i],
                         info)
        resp.stats = {"nfev": int(self.nfev[i]), "failure_time": float(self.failure_time[i])}
        return resp

    def to_pandas(self) -> pandas.DataFrame:
        """A ``pandas.DataFrame``: parameter columns (vectors as ``name[j]``), metrics,
        ``status`` and ``message``. Needs pandas."""
        try:
            import pandas as pd
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError("SweepResult.to_pandas() needs pandas: pip install pandas") from exc
        cols = {}
        for name, col in self.params.items():
            if col.ndim == 1:
                cols[name] = col
            else:
                flat = col.reshape(col.shape[0], -1)
                for j in range(flat.shape[1]):
                    cols[f"{name}[{j}]"] = flat[:, j]
        cols.update(self.metrics)
        cols["status"] = pd.Categorical.from_codes(
            self.status.astype(np.int8), categories=[STATUS_NAMES[k] for k in Status])
        msg = np.full(len(self), "simulation completed", dtype=object)
        for i, m in self.messages.items():
            msg[i] = m
        cols["message"] = msg
        return pd.DataFrame(cols)

    def _index(self, i: int) -> int:
        if isinstance(i, bool) or not isinstance(i, int | np.integer) or not -len(self) <= i < len(self):
            raise IndexError(f"point index must be an integer in [0, {len(self)}), got {i!r}")
        return int(i) % len(self)


def messages_for(info: FloatArray, errors: Mapping[int, str], offset: int, solver: Any,
                 final_time: float) -> dict[int, str]:
    """Messages of the failed points of one chunk, keyed by global index."""
    out: dict[int, str] = {}
    for j in np.flatnonzero(info[:, 0] != 0):
        status = int(info[j, 0])
        out[offset + int(j)] = errors[int(j)] if status == Status.INVALID_PARAMETERS else \
            status_message(status, info[j, 1], solver, final_time)
    return out
