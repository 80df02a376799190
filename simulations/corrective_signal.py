"""
The corrective signal: a control loop and a training run side by side
=====================================================================

When is the corrective signal lost? In the flagship cruise-control loop (P control through a
4 degree descent), a ReLU controller loses it while the car is too fast; a leaky or an
adaptive-slope one keeps it when the car has a brake. In training, a ReLU network loses it
for every (sample, unit) pair with a negative pre-activation; leaky and PReLU units never do.

Run ``python simulations/corrective_signal.py --out results [--quick]``; the study itself
lives in :mod:`leaky_control.studies.corrective_signal` so it runs from an install.
"""

import sys

from leaky_control.studies.corrective_signal import main

if __name__ == "__main__":
    sys.exit(main())
