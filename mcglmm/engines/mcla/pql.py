"""Penalized quasi-likelihood starting values, as R glmm computes them.

With A = diag(sigma) expanded to the q columns of Z (sigma_t for the columns of
variance component t) and u = A s, the inner problem maximises over (beta, s)

    l(eta) - s's / 2,    eta = X beta + Z A s,   l(eta) = sum_i w_i (y_i eta_i - c(eta_i)),

by Newton's method (``engines.modes.conditional_mode`` with beta free; the
objective is concave for canonical families).  The outer
problem minimises over sigma, by Nelder-Mead from sigma = 1,

    F(sigma) = 1/2 log det(A Z' W Z A + I) + s~'s~ / 2 - l(eta~),   W = diag(w c''(eta~)),

the Laplace approximation to minus the log likelihood with the PQL mode (beta~, s~).
(glmm's code uses the previous sigma's s~ in the penalty term; here it is the
current one, which makes F a function of sigma alone.)  The results are
beta* = beta~, nu* = sigma^2 and u* = A s~.  The inner Newton systems are sparse
(p + q square) and solved by sparse LU, so q in the thousands is affordable.
The inner problem's tolerance is engines.modes.TOL (1e-12 relative).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from ...design.gram import WeightedGram
from ..modes import conditional_mode


@dataclass(frozen=True)
class PQLStart:
    """beta: (p,); nu: (T,) = sigma^2; u: (q,) = A s; sigma: (T,) as found; converged flag."""

    beta: np.ndarray
    nu: np.ndarray
    u: np.ndarray
    sigma: np.ndarray
    converged: bool


def pql_start(design, family):
    """PQLStart for ``design`` (a GLMMDesign) and ``family`` (a CanonicalFamily)."""
    gram = WeightedGram.build(design.Z)
    state = {"beta": np.zeros(design.p), "s": np.ones(design.q), "inner_converged": True}

    def outer(sigma):
        a = sigma[design.vc_index]
        mode = conditional_mode(design, family, gram, a, state["beta"], state["s"],
                                free_beta=True)
        state.update(beta=mode.beta, s=mode.s, inner_converged=mode.converged)
        return 0.5 * mode.factor.logdet - mode.value

    start = np.ones(design.T)
    # PQL only centres the sampler: sigma to 1e-3 and F to 1e-8 relative is plenty.
    res = minimize(outer, start, method="Nelder-Mead",
                   options={"xatol": 1e-3, "fatol": 1e-8 * (1.0 + abs(outer(start))),
                            "maxiter": 500 * design.T})
    sigma = np.asarray(res.x)
    outer(sigma)
    a = sigma[design.vc_index]
    return PQLStart(beta=state["beta"], nu=sigma ** 2, u=a * state["s"], sigma=sigma,
                    converged=bool(res.success) and state["inner_converged"])
