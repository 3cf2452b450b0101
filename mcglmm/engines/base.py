"""The one value an engine returns for a parameter vector theta: an ``Evaluation``.

value: the (approximate) log likelihood, -inf where theta is infeasible;
gradient: (P,) d value / d theta; hessian: (P, P), the second derivatives.  Either
derivative is None when it was not asked for.  ``optim.trust.maximize`` takes a function
theta -> Evaluation.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Evaluation:
    """value: float; gradient: (P,) or None; hessian: (P, P) or None."""

    value: float
    gradient: np.ndarray | None = None
    hessian: np.ndarray | None = None

    def permuted(self, order):
        """The evaluation in the coordinates theta[order] (order: (P,) permutation)."""
        order = np.asarray(order)
        grad = None if self.gradient is None else self.gradient[order]
        hess = None if self.hessian is None else self.hessian[np.ix_(order, order)]
        return Evaluation(self.value, grad, hess)


__all__ = ["Evaluation"]
