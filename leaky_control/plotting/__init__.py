"""Figures for reports: step-response grids, Nyquist plots with the circle-criterion disk and
phase portraits. Every function draws headless-safe (the caller picks the backend) and returns
python-control's :class:`control.ControlPlot` so the lines and axes can be restyled."""

from .nyquist import *  # noqa: F403
from .nyquist import __all__ as _nyquist_all
from .phase import *  # noqa: F403
from .phase import __all__ as _phase_all
from .responses import *  # noqa: F403
from .responses import __all__ as _responses_all

__all__ = [*_responses_all, *_nyquist_all, *_phase_all]
