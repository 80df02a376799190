"""A bounds-checked first call of a loop's model functions, before numba runs them unchecked.

numba does not check array bounds: a plant or controller that writes past its ``dx`` or ``u``
(a wrong ``nstates``, an off-by-one in an ``@rhs`` body) corrupts memory in the compiled
kernel and can crash the interpreter. Before a loop's first compiled run, its model functions
run once in Python (their ``py_func``) on arrays of exactly the declared sizes, where numpy
raises ``IndexError``; that becomes a ``ValueError`` naming the model and its sizes. Each
(plant class, controller class, sizes) is probed once per process. For a full bounds-checked
run, ``NUMBA_DISABLE_JIT=1`` runs the whole simulator in Python.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NoReturn

import numpy as np

from ._jit import python_function

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

    from .controllers.base import Controller
    from .plants.base import Plant

__all__ = ["probe_models"]

_PROBED: set[tuple[type, type, int, int, int, int, int]] = set()


def _refuse(owner: str, what: str, sizes: str, exc: BaseException) -> NoReturn:
    raise ValueError(
        f"{owner}.{what} indexed outside its arrays when run in Python at the initial state "
        f"({sizes}): {exc}. Compiled, numba would not check this and would write outside "
        "its memory; fix the model or its declared sizes (NUMBA_DISABLE_JIT=1 runs the whole "
        "simulation bounds-checked)") from exc


def probe_models(plant: Plant, controller: Controller, P: Any, C: Any, x0: ArrayLike,
                 xc0: ArrayLike) -> None:
    """Run the plant's and the controller's functions once in Python with exact-size arrays.

    Parameters
    ----------
    plant, controller
        The loop's models; ``P``, ``C`` their records.
    x0, xc0 : numpy.ndarray
        The initial plant and controller states.

    Raises
    ------
    ValueError
        If a function indexes outside its arrays (numpy's ``IndexError``). Other errors are
        left to the compiled run, which reports non-finite results through its status.
    """
    n, m, q, p, nc = (plant.nstates, plant.ninputs, plant.ndisturbances, plant.noutputs,
                      controller.nstates)
    key = (type(plant), type(controller), n, m, q, p, nc)
    if key in _PROBED:
        return
    sizes = f"nstates={n}, ninputs={m}, ndisturbances={q}, noutputs={p}, controller states={nc}"
    pname, cname = type(plant).__name__, type(controller).__name__
    upd, out = plant._model_functions()
    ud = np.zeros(m + q)
    try:
        upd(0.0, np.array(x0, dtype=float), ud, None)
        y = np.asarray(out(0.0, np.array(x0, dtype=float), ud, None), dtype=float) \
            if out is not None else np.array(x0, dtype=float)
    except IndexError as exc:
        _refuse(pname, "dynamics/output", sizes, exc)
    except Exception:  # noqa: BLE001 - only bounds are this probe's business
        y = np.zeros(p)
    model = type(controller)
    X = np.concatenate([np.asarray(x0, dtype=float), np.asarray(xc0, dtype=float)])
    y = np.resize(y, p)
    r, uraw, u, dX = np.zeros(1), np.zeros(m), np.zeros(m), np.zeros(n + nc)
    calls: list[tuple[str, Any, tuple[Any, ...]]] = [
        ("output", model._nb_output, (C, 0.0, X.copy(), n, y, r, uraw, u))]
    if model._nb_derivative is not None:
        calls.append(("derivative", model._nb_derivative, (C, 0.0, X.copy(), n, y, r, uraw, u,
                                                           dX)))
    if model._nb_sample is not None and controller.sampled:
        calls.append(("sample", model._nb_sample, (C, 0.0, X.copy(), n, y, r, uraw, u)))
    for what, fn, args in calls:
        try:
            python_function(fn)(*args)
        except IndexError as exc:
            _refuse(cname, what, sizes, exc)
        except Exception:  # noqa: BLE001
            pass
    _PROBED.add(key)
