"""Penalized quasi-likelihood starting values, as R glmm computes them.

With A = diag(sigma) expanded to the q columns of Z (sigma_t for the columns of
variance component t) and u = A s, the inner problem maximises over (beta, s)

    l(eta) - s's / 2,    eta = X beta + Z A s,   l(eta) = sum_i w_i (y_i eta_i - c(eta_i)),

by Newton's method (``engines.modes.conditional_mode`` with beta free; the
objective is concave for canonical families).  The outer
problem minimises over sigma, by the quasi-Newton L-BFGS-B on log sigma from sigma = 1
(gradient by forward differences; each inner solve warm-started from the last mode u,
so a difference costs one or two Newton steps),

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

LOG_SIGMA_MIN, LOG_SIGMA_MAX = np.log(1e-4), np.log(1e3)   # nu from 1e-8 (at 0) to 1e6
# The inner mode to a Newton step predicting 1e-15 relative: F's log det moves to first
# order with the mode (seen on salamander: F at one sigma moved by 4e-6 between two warm
# starts at the default 1e-12), so that differences of F over FD_STEP are its gradient.
INNER_TOL = 1e-15
FD_STEP = 1e-4
FTOL = 1e-9         # L-BFGS-B's relative decrease (1e-12: 87 Newton steps against 63 on the
                    # crossed 1e5 benchmark, the same nu to 1e-5)


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
    state = {"beta": np.zeros(design.p), "u": np.ones(design.q), "inner_converged": True}

    def outer(log_sigma):
        a = np.exp(log_sigma)[design.vc_index]
        mode = conditional_mode(design, family, gram, a, state["beta"], state["u"] / a,
                                free_beta=True, tol=INNER_TOL)
        state.update(beta=mode.beta, u=a * mode.s, inner_converged=mode.converged)
        return 0.5 * mode.factor.logdet - mode.value

    start = np.zeros(design.T)
    # PQL only centres the sampler: F to 1e-9 relative (scaled to about 1), its gradient
    # in log sigma by forward differences (step FD_STEP) of warm-started modes, is plenty.
    scale = 1.0 + abs(outer(start))
    res = minimize(lambda z: outer(z) / scale, start, method="L-BFGS-B",
                   bounds=[(LOG_SIGMA_MIN, LOG_SIGMA_MAX)] * design.T,
                   options={"ftol": FTOL, "gtol": 1e-8, "eps": FD_STEP,
                            "maxfun": 200 * design.T})
    sigma = np.exp(res.x)
    outer(res.x)
    return PQLStart(beta=state["beta"], nu=sigma ** 2, u=state["u"], sigma=sigma,
                    converged=bool(res.success) and state["inner_converged"])
