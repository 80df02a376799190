r"""Leaky-ReLU-shaped feedback controllers: one module per controller shape.

``negative_slope`` ``a`` sets how a controller reacts to a negative error (the plant above its
target): ``a = 0`` is the ReLU controller that applies no proportional force then (it
*coasts*), ``a = 1`` is the linear controller, ``0 < a < 1`` is leaky. Controllers accept
``0 <= a <= 1``: the range where the law is slope-restricted in ``[a, 1]``, the fact the
stability and Lipschitz analyses build on. See :mod:`.base` for the protocol a controller
follows.
"""

from .adaptive import AdaptivePReLU
from .base import Controller
from .lti import LeakyLTI, as_controller
from .mlp import LeakyMLP
from .open_loop import OpenLoop
from .pid import LeakyP, LeakyPD, LeakyPI, LeakyPID
from .state_feedback import LeakyStateFeedback

__all__ = ["AdaptivePReLU", "Controller", "LeakyLTI", "LeakyMLP", "LeakyP", "LeakyPD",
           "LeakyPI", "LeakyPID", "LeakyStateFeedback", "OpenLoop", "as_controller"]
