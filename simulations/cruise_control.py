"""
Flagship: cruise control with ReLU, leaky and linear controllers
================================================================

A P speed controller ``u = kp phi_a(v_ref - v)`` with the leak ``a`` = 0 (ReLU), 0.1 (leaky)
and 1 (linear) drives the car of Astrom & Murray through a 4 degree descent, on a car with a
throttle only and on one with a brake. The ReLU controller asks for nothing once the car is
too fast and coasts; the leak keeps asking to brake, which helps only the car that has a
brake. A third panel sweeps the descent's grade. Writes ``cruise_control.png`` and
``cruise_control_metrics.csv``.

Run ``python simulations/cruise_control.py --out results [--quick]``; the study itself lives
in :mod:`leaky_control.studies.cruise_control` so ``leaky-control demo`` runs it from an
install.
"""

import sys

from leaky_control.studies.cruise_control import main

if __name__ == "__main__":
    sys.exit(main())
