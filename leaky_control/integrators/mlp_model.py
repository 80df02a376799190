"""numba forward pass of a Leaky-ReLU network used as a state-feedback controller.

Layout (``CTRL_MLP``): ``cint = [code, n_in, m, sampled, L, maxw, sizes[0..L]]`` with ``L`` the
number of affine layers and ``maxw`` the widest layer; ``cpar = [a, umin, umax, dt,
W_0, b_0, ..., W_{L-1}, b_{L-1}, scratch (2 maxw)]`` with each ``W_l`` of shape
``(sizes[l+1], sizes[l])`` row-major. The network input is the plant state followed by the
reference when ``n_in`` exceeds the number of plant states. The scratch area at the end of
``cpar`` holds the activations, so the forward pass allocates nothing and slices nothing.
"""

from __future__ import annotations

from numba import njit

from ..activations import leaky_relu_scalar

CTRL_MLP = 3


@njit(_nrt=False)
def mlp_output(cint, cpar, X, n, r, uraw, u):
    """Write the network's command into ``uraw`` and its saturated value into ``u``."""
    n_in, m, L, maxw = cint[1], cint[2], cint[4], cint[5]
    a, lo, hi = cpar[0], cpar[1], cpar[2]
    sa = cpar.size - 2 * maxw  # activations: ping-pong between two halves of the scratch
    sb = sa + maxw
    for j in range(n_in):
        cpar[sa + j] = X[j] if j < n else r[0]
    off = 4
    src, dst = sa, sb
    for layer in range(L):
        nin = cint[6 + layer]
        nout = cint[7 + layer]
        boff = off + nout * nin
        last = layer == L - 1
        for i in range(nout):
            s = cpar[boff + i]
            for j in range(nin):
                s += cpar[off + i * nin + j] * cpar[src + j]
            cpar[dst + i] = s if last else leaky_relu_scalar(s, a)
        off = boff + nout
        src, dst = dst, src
    for i in range(m):
        uraw[i] = cpar[src + i]
        u[i] = min(max(uraw[i], lo), hi)
