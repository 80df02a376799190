"""
Flagship: cruise control with ReLU, leaky and linear controllers
================================================================

Flagship cruise-control study (ReLU vs leaky vs linear PI, with and without a brake).

Run ``python simulations/cruise_control.py --out results``; the study itself lives in
:mod:`leaky_control.studies.cruise_control` so ``leaky-control demo`` runs it from an install.
"""

import sys

from leaky_control.studies.cruise_control import main

if __name__ == "__main__":
    sys.exit(main())
