"""
The corrective signal: a control loop and a training run side by side
=====================================================================

The side-by-side corrective-signal figure (control loop and training run).

Run ``python simulations/corrective_signal.py --out results``; the study itself lives in
:mod:`leaky_control.studies.corrective_signal` so it runs from an install.
"""

import sys

from leaky_control.studies.corrective_signal import main

if __name__ == "__main__":
    sys.exit(main())
