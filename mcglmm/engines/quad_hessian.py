"""Exact Hessian of the two-level adaptive-quadrature log likelihood (Louis' identity).

For one grouping level and no auxiliary parameters, with the nodes fixed,
log L = sum_g log sum_k exp(T_gk), T_gk = sum_{i in g} ll_ik + a_gk(psi), and

    H = sum_g [ sum_k pi_gk (d2 T_gk + s_gk s_gk') - m_g m_g' ],   m_g = sum_k pi_gk s_gk,

where s_gk = (sum_i d1_ik x_i, da_gk/dpsi) is the score of node k.  The second
derivatives are X' diag(sum_k pi_ik d2_ik) X for beta and, for psi, with v = S^-1 u,

    d2 a / dpsi_r dpsi_s = 1/2 [-2 v' S_r S^-1 S_s v + v' S_rs v + tr(S^-1 S_s S^-1 S_r)
                                - tr(S^-1 S_rs)],

summed over nodes through V2 = sum_gk pi_gk v v'.  Other models use differences of
the analytic gradient (``quad_optimize.fd_hessian``).
"""
from __future__ import annotations

import numpy as np

from . import quad_cov


def supports_exact_hessian(model):
    """One grouping level and no auxiliary parameters."""
    return len(model.levels) == 1 and model.n_aux == 0


def louis_hessian(model, psi, cov, der, pi, u, pi_obs, indicator_g):
    """H (dim, dim) from the pieces of one two-level quadrature evaluation.

    der: family derivatives (n, K) with d2; pi: (G, K) node posteriors; u: (G, K, d)
    nodes; pi_obs: (n, K); indicator_g: sparse (G, n).
    """
    lev, X = model.levels[0], model.X
    (n, K), p, G = pi_obs.shape, model.p, lev.n_groups
    S, dS = cov
    Si = np.linalg.inv(S)
    s_beta = (indicator_g @ (der.d1[:, :, None] * X[:, None, :]).reshape(n, K * p))
    v = u @ Si
    s_psi = 0.5 * (np.einsum("gkd,rde,gke->gkr", v, dS, v) - np.einsum("de,red->r", Si, dS))
    scores = np.concatenate([s_beta.reshape(G, K, p), s_psi], axis=2)
    m = np.einsum("gk,gkP->gP", pi, scores)
    H = np.einsum("gk,gkP,gkQ->PQ", pi, scores, scores) - m.T @ m
    w = (pi_obs * der.d2).sum(axis=1)
    H[:p, :p] += X.T @ (w[:, None] * X)
    V2 = np.einsum("gk,gkd,gke->de", pi, v, v)
    S2 = quad_cov.sigma_second(model.kinds[0], psi, lev.d)
    A = np.einsum("rab,bc,scd->rsad", dS, Si, dS)
    H[p:, p:] += 0.5 * (-2.0 * np.einsum("rsad,da->rs", A, V2)
                        + np.einsum("rsab,ba->rs", S2, V2)
                        + G * np.einsum("ab,sbc,cd,rda->rs", Si, dS, Si, dS)
                        - G * np.einsum("ab,rsba->rs", Si, S2))
    return H
