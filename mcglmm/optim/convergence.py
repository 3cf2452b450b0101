"""The check of an optimiser's convergence claim by the scaled gradient (lme4's checkConv idea).

At a maximum of the log likelihood l with gradient g (P,) and Hessian H (P, P),
-H = L L' (Cholesky), the scaled gradient is

    s = L^-1 g,   |s|^2 = g' (-H)^-1 g = twice the increase a Newton step predicts,

free of the units of the parameters (a covariate in units of 1e8 scales its g_j by
1e8 and its row of L by 1e8 alike).  The claim holds when max_j |s_j| <= tol; when
-H is not positive definite (reported separately as a HessianWarning) the raw
gradient is used.  GRADIENT_TOL = 1e-3 is lme4's 2e-3 on the deviance scale (-2 l).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

GRADIENT_TOL = 1e-3


@dataclass(frozen=True)
class GradientCheck:
    """value: max_j |s_j|; component: its index j; scaled: whether s is L^-1 g (else g)."""

    value: float
    component: int
    scaled: bool

    def passes(self, tol=None):
        return bool(self.value <= (GRADIENT_TOL if tol is None else tol))


def scaled_gradient(grad, hess):
    """``GradientCheck`` of g (P,) at a point with Hessian H (P, P) of the maximised function."""
    g = np.asarray(grad, dtype=float)
    if g.size == 0:
        return GradientCheck(0.0, 0, True)
    s, scaled = g, False
    H = np.asarray(hess, dtype=float)
    if H.shape == (g.size, g.size) and np.all(np.isfinite(H)):
        try:
            L = np.linalg.cholesky(-0.5 * (H + H.T))
            s, scaled = np.linalg.solve(L, g), True
        except np.linalg.LinAlgError:
            pass
    if not np.all(np.isfinite(s)):
        return GradientCheck(float("inf"), int(np.flatnonzero(~np.isfinite(s))[0]), scaled)
    j = int(np.argmax(np.abs(s)))
    return GradientCheck(float(abs(s[j])), j, scaled)


def convergence_message(grad, hess, names, tol=None):
    """None when the scaled gradient passes ``tol`` (default GRADIENT_TOL), else the message
    of the failed claim, naming the value, the tolerance and the component (``names`` (P,)
    the parameters')."""
    tol = GRADIENT_TOL if tol is None else tol
    check = scaled_gradient(grad, hess)
    if check.passes(tol):
        return None
    what = "max|L^-1 g| (g the gradient, -H = LL')" if check.scaled else "max|g|"
    name = names[check.component] if check.component < len(names) else check.component
    return (f"the optimiser reported convergence, but its scaled gradient fails: {what} = "
            f"{check.value:.3g} (tol = {tol:g}, component {name!r}); the estimates may not be "
            "at the maximum: rescale the covariates or restart from these estimates")


__all__ = ["GRADIENT_TOL", "GradientCheck", "convergence_message", "scaled_gradient"]
