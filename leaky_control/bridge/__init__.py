"""The neural-network side of the corrective-signal principle: MLPs with (leaky) ReLU and PReLU
units, training with dead-unit tracking, initialisation and signal-propagation analyses, and
network controllers trained by imitation of an expert (LQR)."""

from .._lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "mlp": ("ACTIVATIONS", "MLP"),
    "init": ("init_mlp", "kaiming_normal", "kaiming_std"),
    "training": ("OPTIMIZERS", "TrainHistory", "TrainingDiverged", "train"),
    "stats": ("gradient_statistics", "input_output_jacobian", "is_dead_at", "jacobian_spectrum",
              "measure_second_moments", "propagate_second_moments", "relu_dead_probability",
              "second_moment_factor"),
    "flows": ("LeakyFlowLayer", "ScaledLeaky", "collapse_batchnorm_leaky"),
    "regions": ("count_linear_regions", "linear_pieces"),
    "corrective": ("Availability", "control_availability", "training_availability"),
    "imitation": ("ImitationResult", "LQRExpert", "imitate", "lqr_expert"),
})
