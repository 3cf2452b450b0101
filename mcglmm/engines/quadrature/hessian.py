"""Exact Hessian of the nested adaptive-quadrature log likelihood (Louis' identity, by levels).

With the nodes fixed, each level integrates log I = log sum_k exp(T_k), whose Hessian is

    d2 log I = sum_k W_k (d2 T_k + s_k s_k') - m m',   s_k = dT_k,  m = sum_k W_k s_k,

W the softmax weights over the level's own node.  A parent's T is its own a-term
plus the sum of its children's log I, so going up the levels

    score of a parent node = da/dpsi_parent + sum_children m,

and the Hessian is the posterior mean of all second derivatives plus, at every
level, the conditional variance of the scores weighted by the posterior of the
ancestors' nodes:

    H = X' diag(sum_j pi_ij d2_ij) X + sum_l sum_{g,j} pi d2 a_l / dpsi_l^2
        + sum_l sum_g sum_{j_0..j_{l-1}} pi_anc Var_W(s).

With v = S^-1 u the a-term derivatives are (S_r = dS/dpsi_r, S_rs second)

    da/dpsi_r = 1/2 (v' S_r v - tr(S^-1 S_r)),
    d2a/dpsi_r dpsi_s = 1/2 [-2 v' S_r S^-1 S_s v + v' S_rs v + tr(S^-1 S_s S^-1 S_r)
                             - tr(S^-1 S_rs)].

Auxiliary parameters a enter the scores through sum_i ll_a and the second
derivatives through sum pi d1_a x (with beta) and sum pi ll_aa (``families.AuxPair``).
"""
from __future__ import annotations

import numpy as np

from ...model.spec import times


def supports_exact_hessian(model):
    """Nested adaptive quadrature (any family)."""
    return model.nested


def _psi_scores(u, S, dS):
    """da/dpsi at nodes u (..., d): (..., r)."""
    Si = np.linalg.inv(S)
    v = u @ Si
    return 0.5 * (np.einsum("...d,rde,...e->...r", v, dS, v) - np.einsum("de,red->r", Si, dS))


def _psi_curvature(cov, psi, S, dS, pi, u, G):
    """sum over groups and nodes of pi d2a/dpsi2, (r, r)."""
    d = S.shape[0]
    Si = np.linalg.inv(S)
    v = (u @ Si).reshape(-1, d)
    V2 = np.einsum("p,pd,pe->de", pi.ravel(), v, v)
    S2 = cov.sigma_second(psi)
    A = np.einsum("rab,bc,scd->rsad", dS, Si, dS)
    return 0.5 * (-2.0 * np.einsum("rsad,da->rs", A, V2) + np.einsum("rsab,ba->rs", S2, V2)
                  + G * np.einsum("ab,sbc,cd,rda->rs", Si, dS, Si, dS)
                  - G * np.einsum("ab,rsba->rs", Si, S2))


def _aux_per_obs(terms, shape, a):
    """Each observation's ll_a per node combination and parameter, (n, combos, a)."""
    n = shape[0]
    out = np.zeros((n, int(np.prod(shape[1:])), a))
    for t in terms:
        col = t.col.ravel()
        vals = np.broadcast_to(t.ll_a, shape).reshape(n, -1)
        rows = np.flatnonzero(col >= 0)
        out[rows, :, col[rows]] += vals[rows]
    return out


def _aux_curvature(pairs, pi_obs, n, a):
    """sum_i sum_j pi_ij d2 ll_ij / da da', (a, a), from each unordered pair."""
    H = np.zeros((a, a))
    for pair in pairs:
        ca, cb = pair.col_a.ravel(), pair.col_b.ravel()
        val = (pi_obs * pair.ll_ab).reshape(n, -1).sum(axis=1)
        ok = (ca >= 0) & (cb >= 0)
        np.add.at(H, (ca[ok], cb[ok]), val[ok])
        off = ok & (ca != cb)
        np.add.at(H, (cb[off], ca[off]), val[off])
    return H


def louis_hessian(model, psis, covs, der, weights, pis, u_nodes, pi_obs, indicator, raw):
    """H (dim, dim) from one nested quadrature evaluation.

    der: family derivatives (n, K_0..K_{L-1}) with d2; weights[l]: conditional posteriors
    (G_l, K_0..K_l); pis[l]: joint posteriors times the cumulative weights c_l;
    u_nodes[l]: (G_l, K_0..K_l, d_l); pi_obs: (n, K_0..K_{L-1}) posterior times c_o;
    indicator(index, G): sparse (G, len(index)) summing into groups; raw: (per-level
    weights [(G_l,) or None], observation weights (n,) or None).  With weights, observations' scores
    enter their group's node scores times w_o, a child's mean score enters its parent's
    times the child's weight, and each group's conditional variance counts c_l times.
    """
    w_lev, w_obs = raw
    levels, X, p, L, a = model.levels, model.X, model.p, len(model.levels), model.n_aux
    offsets = np.cumsum([p + a] + [len(psi) for psi in psis])
    P = offsets[-1]
    n = X.shape[0]
    combos = pi_obs.shape[1:]
    bottom = levels[-1]
    d1x = (der.d1.reshape(n, -1)[:, :, None] * X[:, None, :]).reshape(n, -1)
    obs = np.concatenate([d1x.reshape(n, -1, p), _aux_per_obs(der.aux, pi_obs.shape, a)], axis=2)
    obs = times(obs, w_obs)
    S = np.zeros((bottom.n_groups,) + combos + (P,))
    S[..., :p + a] = (indicator(bottom.index, bottom.n_groups) @ obs.reshape(n, -1)
                      ).reshape(S.shape[:-1] + (p + a,))
    H = np.zeros((P, P))
    for l in range(L - 1, -1, -1):
        lev = levels[l]
        S[..., offsets[l]:offsets[l + 1]] += _psi_scores(u_nodes[l], *covs[l])
        W = weights[l][..., None]
        m = (W * S).sum(axis=-2)
        V = (np.einsum("...k,...kP,...kQ->...PQ", weights[l], S, S)
             - m[..., :, None] * m[..., None, :])
        if l:
            anc = times(pis[l - 1][lev.parent], w_lev[l])
        else:
            anc = np.ones(lev.n_groups) if w_lev[0] is None else w_lev[0]
        H += np.einsum("a,aPQ->PQ", anc.ravel(), V.reshape(-1, P, P))
        if l:
            parent = levels[l - 1]
            m = times(m, w_lev[l])
            S = (indicator(lev.parent, parent.n_groups) @ m.reshape(lev.n_groups, -1)
                 ).reshape((parent.n_groups,) + m.shape[1:])
    w = (pi_obs * der.d2).reshape(n, -1).sum(axis=1)
    H[:p, :p] += X.T @ (w[:, None] * X)
    if a:
        cross = np.zeros((n, a))
        for t in der.aux:
            col = t.col.ravel()
            rows = np.flatnonzero(col >= 0)
            cross[rows, col[rows]] += (pi_obs * t.d1_a).reshape(n, -1).sum(axis=1)[rows]
        H[:p, p:p + a] += X.T @ cross
        H[p:p + a, :p] += (X.T @ cross).T
        H[p:p + a, p:p + a] += _aux_curvature(der.aux2, pi_obs, n, a)
    for l in range(L):
        sl = slice(offsets[l], offsets[l + 1])
        # each group's joint posterior sums to 1, so pis[l] sums to sum_g c_l[g]
        H[sl, sl] += _psi_curvature(model.covariances[l], psis[l], *covs[l], pis[l], u_nodes[l],
                                    float(pis[l].sum()))
    return H
