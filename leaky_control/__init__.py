"""leaky_control: Leaky-ReLU-shaped feedback controllers, their analysis, and the training bridge.

Public names are loaded lazily (PEP 562) so that ``import leaky_control`` costs almost nothing
and compiles nothing; numba kernels compile (or load from the on-disk cache) on first use.
"""

from ._lazy import lazy_exports

__version__ = "0.1.0"

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "activations": ("relu", "leaky_relu", "leaky_relu_grad", "leaky_relu_inverse",
                    "leaky_relu_logabsdet", "prelu", "prelu_backward"),
    "controllers": ("AdaptivePReLU", "Controller", "LeakyP", "LeakyPI", "LeakyPD", "LeakyPID",
                    "LeakyStateFeedback", "LeakyMLP", "LeakyLTI", "OpenLoop", "as_controller"),
    "plants": ("as_plant", "rhs", "LinearPlant", "CruiseControl", "MassSpringDamper", "DCMotor",
               "Pendulum", "FirstOrderLag", "NumbaPlant", "Plant", "operating_point",
               "OperatingPoint"),
    "simulation": ("simulate", "step_response", "closed_loop_nlsys"),
    "response": ("LoopResponse",),
    "solvers": ("RK4", "Euler", "Dopri5", "Tsit5", "Rosenbrock23"),
    "status": ("Status",),
    "_jit": ("KernelCacheWarning",),
    "sweeps": ("sweep", "Points", "SweepResult", "CheckpointWarning"),
    "precompile": ("warmup",),
    "metrics": ("step_info", "coasting_fraction"),
    "analysis": ("contraction_rate", "circle_criterion", "popov_criterion", "log_norm",
                 "deq_solve", "lipschitz_bound", "lipschitz_lower_bound", "certified_radius"),
    "bridge": ("MLP", "init_mlp", "train", "kaiming_std", "kaiming_normal", "count_linear_regions"),
})
