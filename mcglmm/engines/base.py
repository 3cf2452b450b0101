"""The one value an engine returns for a parameter vector theta: an ``Evaluation``.

value: the (approximate) log likelihood, -inf where theta is infeasible;
gradient: (P,) d value / d theta; hessian: (P, P), the second derivatives.  Either
derivative is None when it was not asked for.  ``optim.trust.maximize`` takes a function
theta -> Evaluation.

The remaining fields are engine extras, None unless the engine computes them:
scores (G_1, P) per top-level-group gradients, adapt_next (the posterior moments for the
next mean-variance adaptation, ``quadrature.nodes.Adapt``) and mode (q,) the joint mode
u^ (quadrature; mode from the Laplace approximation); ess (B,) the effective sample size
1 / sum_k v_bk^2 per block and v2 (P, P) the Monte Carlo variance of the gradient (MCLA).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np


@dataclass(frozen=True)
class Evaluation:
    """value: float; gradient: (P,) or None; hessian: (P, P) or None; engine extras
    (module docstring) None unless computed."""

    value: float
    gradient: np.ndarray | None = None
    hessian: np.ndarray | None = None
    scores: np.ndarray | None = None
    adapt_next: object = None
    mode: np.ndarray | None = None
    ess: np.ndarray | None = None
    v2: np.ndarray | None = None

    def permuted(self, order):
        """The evaluation in the coordinates theta[order] (order: (P,) permutation)."""
        order = np.asarray(order)
        grad = None if self.gradient is None else self.gradient[order]
        hess = None if self.hessian is None else self.hessian[np.ix_(order, order)]
        scores = None if self.scores is None else self.scores[:, order]
        v2 = None if self.v2 is None else self.v2[np.ix_(order, order)]
        return replace(self, gradient=grad, hessian=hess, scores=scores, v2=v2)


__all__ = ["Evaluation"]
