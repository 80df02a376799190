"""Analysis of Leaky-ReLU networks and loops: Lipschitz bounds, contraction, sector criteria,
implicit (deep-equilibrium) layers, and certificates for loops with a network controller
(global contraction, regions of attraction: :mod:`.nn_loop`).

Everything needs only numpy/scipy/python-control except the semidefinite programs
(``lipschitz_bound(method="lipsdp"...)``, ``contraction_rate``), which need the ``analysis``
extra (cvxpy with Clarabel and SCS): ``pip install "leaky-control[analysis]"``.
"""

from .._lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "lipschitz": ("METHODS", "CertifiedRadius", "LipSDPMemoryError", "LipschitzBound",
                  "LipschitzLowerBound", "certified_radius", "lipschitz_bound",
                  "lipschitz_lower_bound", "network_jacobian"),
    "contraction": ("ContractionCertificate", "contraction_rate", "log_norm"),
    "sector": ("CircleCriterionResult", "LeakyReLUNonlinearity", "PopovCriterionResult",
               "circle_criterion", "popov_criterion"),
    "deq": ("DEQCertificate", "DEQResult", "deq_certificate", "deq_solve"),
    "certify": ("LoopCertificate", "certify"),
    "nn_loop": ("GlobalCertificate", "PlantNonlinearity", "RegionOfAttraction",
                "center_network", "global_certificate", "network_forward",
                "region_of_attraction"),
})
