"""Analysis of Leaky-ReLU networks and loops: Lipschitz bounds, contraction, sector criteria.

Every function here needs only numpy/scipy unless its docstring names the ``analysis`` extra
(cvxpy with Clarabel and SCS) for semidefinite programs.
"""
