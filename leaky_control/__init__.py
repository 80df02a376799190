"""leaky_control: Leaky-ReLU-shaped feedback controllers, their analysis, and the training bridge.

Public names are loaded lazily (PEP 562) so that ``import leaky_control`` costs almost nothing
and compiles nothing; numba kernels compile (or load from the on-disk cache) on first use.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

# public name -> submodule that defines it
_LAZY = {
    # activations
    "relu": "activations",
    "leaky_relu": "activations",
    "leaky_relu_grad": "activations",
    "leaky_relu_inverse": "activations",
    "leaky_relu_logabsdet": "activations",
    "prelu": "activations",
    "prelu_backward": "activations",
    # controllers
    "LeakyP": "controllers",
    "LeakyPI": "controllers",
    "LeakyPD": "controllers",
    "LeakyPID": "controllers",
    "LeakyStateFeedback": "controllers",
    # plants
    "as_plant": "plants",
    "rhs": "plants",
    "LinearPlant": "plants",
    "CruiseControl": "plants",
    "MassSpringDamper": "plants",
    "DCMotor": "plants",
    "Pendulum": "plants",
    "FirstOrderLag": "plants",
    "NumbaPlant": "plants",
    # simulation
    "simulate": "simulate",
    "step_response": "simulate",
    "closed_loop_nlsys": "simulate",
    "RK4": "integrators",
    "Euler": "integrators",
    "step_info": "metrics",
    "coasting_fraction": "metrics",
}

__all__ = sorted(_LAZY)


def __getattr__(name):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'leaky_control' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
