"""Numerical derivatives for the maximisers (Stata's ``dnumerical``).

The gradient is the central difference of the log likelihood's value,

    g_j = (f(t + h_j e_j) - f(t - h_j e_j)) / (2 h_j),   h_j = eps^(1/3) max(1, |t_j|),

(truncation error O(h^2 f'''), rounding O(eps |f| / h)), and the Hessian is left to the
Newton driver, which differences this gradient (``newton.fd_hessian``).  The analytic
gradient and Hessian are then never used during the maximisation.
"""
from __future__ import annotations

import numpy as np

from .newton import Criterion

STEP = np.finfo(float).eps ** (1.0 / 3.0)   # 6.1e-6


def fd_gradient(value, theta):
    """(P,) central differences of value: t (P,) -> float at theta."""
    theta = np.asarray(theta, dtype=float)
    g = np.empty(len(theta))
    for j in range(len(theta)):
        e = np.zeros(len(theta))
        e[j] = STEP * max(1.0, abs(theta[j]))
        g[j] = (value(theta + e) - value(theta - e)) / (2.0 * e[j])
    return g


def numerical(refresh):
    """``refresh`` for ``newton_maximize`` whose criteria give the value at t with the
    central-difference gradient, and neither an exact Hessian nor scores."""
    def refresh_numerical(theta, final=False):
        crit = refresh(theta, final)

        def value(t):
            return crit.value_grad(t)[0]

        def value_grad(t):
            return value(t), fd_gradient(value, t)
        return Criterion(value_grad)
    return refresh_numerical


__all__ = ["fd_gradient", "numerical"]
