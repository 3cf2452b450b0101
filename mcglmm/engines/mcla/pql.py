"""Penalized quasi-likelihood starting values, as R glmm computes them.

With A = diag(sigma) expanded to the q columns of Z (sigma_t for the columns of
variance component t) and u = A s, the inner problem maximises over (beta, s)

    l(eta) - s's / 2,    eta = X beta + Z A s,   l(eta) = sum_i w_i (y_i eta_i - c(eta_i)),

by Newton's method (the objective is concave for canonical families).  The outer
problem minimises over sigma, by Nelder-Mead from sigma = 1,

    F(sigma) = 1/2 log det(A Z' W Z A + I) + s~'s~ / 2 - l(eta~),   W = diag(w c''(eta~)),

the Laplace approximation to minus the log likelihood with the PQL mode (beta~, s~).
(glmm's code uses the previous sigma's s~ in the penalty term; here it is the
current one, which makes F a function of sigma alone.)  The results are
beta* = beta~, nu* = sigma^2 and u* = A s~.  The inner Newton systems are sparse
(p + q square) and solved by sparse LU, so q in the thousands is affordable.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from scipy.optimize import minimize

from ...design.gram import WeightedGram

INNER_TOL = 1e-12
INNER_MAXIT = 100


@dataclass(frozen=True)
class PQLStart:
    """beta: (p,); nu: (T,) = sigma^2; u: (q,) = A s; sigma: (T,) as found; converged flag."""

    beta: np.ndarray
    nu: np.ndarray
    u: np.ndarray
    sigma: np.ndarray
    converged: bool


def _penalized(design, family, beta, s, a):
    """Penalized log likelihood at (beta, s), with eta, w (y - c') and w c''; a: (q,) diag of A."""
    eta = design.X @ beta + design.Z @ (a * s)
    c, c1, c2 = family.cumulant_derivs(eta, design.ntrials)
    w = design.weights
    value = w @ (design.y * eta - c) - 0.5 * s @ s
    return value, eta, w * (design.y - c1), w * c2


def _newton_step(design, gram, a, resid, W, s):
    """Newton step for (beta, s), its predicted increase and the sparse LU of H_ss.

    The information matrix is [[X'WX, X'WZA], [AZ'WX, H_ss]], H_ss = A Z'WZ A + I;
    the step solves it by the Schur complement on the p x p fixed-effect block, so
    only H_ss is factorised.  The predicted increase is g'step / 2.
    """
    X = design.X
    lu = spla.splu(gram(W, a) + sp.identity(design.q, format="csc"))
    H_sb = a[:, None] * (design.Z.T @ (X * W[:, None]))
    g_b = X.T @ resid
    g_s = a * (design.Z.T @ resid) - s
    solved = lu.solve(np.column_stack([H_sb, g_s]))
    schur = X.T @ (X * W[:, None]) - H_sb.T @ solved[:, :-1]
    step_b = np.linalg.solve(schur, g_b - H_sb.T @ solved[:, -1])
    step_s = solved[:, -1] - solved[:, :-1] @ step_b
    return step_b, step_s, 0.5 * (g_b @ step_b + g_s @ step_s), lu


def _inner_newton(design, family, gram, a, beta, s):
    """Maximise the penalized log likelihood over (beta, s), halving steps that decrease it.

    Stops when the Newton step's predicted increase is negligible, before taking
    it, so the LU of H_ss at the returned point comes back too (for log det), with
    a flag: False if INNER_MAXIT steps were not enough.
    """
    value, eta, resid, W = _penalized(design, family, beta, s, a)
    for _ in range(INNER_MAXIT):
        step_b, step_s, predicted, lu = _newton_step(design, gram, a, resid, W, s)
        if predicted < INNER_TOL * (1.0 + abs(value)):
            return beta, s, eta, lu, True
        t = 1.0
        while True:
            new = _penalized(design, family, beta + t * step_b, s + t * step_s, a)
            if new[0] >= value - 1e-12 * abs(value) or t < 1e-10:
                break
            t /= 2.0
        beta, s = beta + t * step_b, s + t * step_s
        value, eta, resid, W = new
    return beta, s, eta, lu, False


def pql_start(design, family):
    """PQLStart for ``design`` (a GLMMDesign) and ``family`` (a CanonicalFamily)."""
    gram = WeightedGram.build(design.Z)
    state = {"beta": np.zeros(design.p), "s": np.ones(design.q), "inner_converged": True}

    def outer(sigma):
        a = sigma[design.vc_index]
        beta, s, eta, lu, converged = _inner_newton(design, family, gram, a, state["beta"],
                                                    state["s"])
        state.update(beta=beta, s=s, inner_converged=converged)
        logdet = np.sum(np.log(np.abs(lu.U.diagonal())))
        loglik = design.weights @ family.loglik_terms(design.y, eta, design.ntrials)
        return 0.5 * logdet + 0.5 * s @ s - loglik

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
