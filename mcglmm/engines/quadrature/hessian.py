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

Non-adaptive quadrature (Stata's ghermite, lr2/lr3): the nodes u_l = L_l(psi_l) z_j move
with psi and the a-terms are the rule's log weights, free of theta.  So psi enters only
through eta: with e_ilr(j_l) = Z_il . (dL_l/dpsi_r z_{j_l}) the observation score gains
d1 e, the a-term scores and curvature above are dropped, and the posterior mean of the
second derivatives gains

    sum pi d2 x e' (beta, psi),  sum pi d2 e e' (psi, psi),  sum pi d1_a e (aux, psi),
    sum pi d1 Z_il . (d2L_l/dpsi_r dpsi_s z_{j_l}) (psi_l, psi_l).

This needs d2L, known in closed form where psi parameterises L directly (independent,
identity, unstructured; exchangeable with d = 1): ``Covariance.cholesky_second``.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ...model.spec import times
from .memo import once_per_object
from .nodes import cholesky_and_grad, product_rule


def posterior_sum(pi_obs, a):
    """sum over node combinations of pi_obs a, per observation: (n,) from pi_obs (n, combos...)
    and a broadcasting to it (one einsum: no (n, combos) product, no short-axis sum)."""
    n = pi_obs.shape[0]
    a = np.broadcast_to(a, pi_obs.shape).reshape(n, -1)
    return np.einsum("nc,nc->n", pi_obs.reshape(n, -1), a)


def supports_exact_hessian(model, adaptive=True):
    """Nested quadrature (any family); non-adaptive only where every level's covariance
    gives its Cholesky factor directly (``Covariance.direct_cholesky``)."""
    if not model.nested:
        return False
    return adaptive or all(cov.direct_cholesky for cov in model.covariances)


def eta_psi(model, psis, covs, k):
    """Per level l, e_l = Z_l . (dL_l z_k): (n, K, r_l), and Z_l . (d2L_l z_k): (n, K, r_l, r_l).

    The derivatives of eta at the non-adaptive nodes u = L z_k (``nodes.product_rule``).
    """
    first, second = [], []
    for lev, cov, psi, (S, dS) in zip(model.levels, model.covariances, psis, covs):
        z, _ = product_rule(k, lev.d)
        _, dL = cholesky_and_grad(S, dS)
        first.append(np.einsum("ij,rjk->ikr", lev.Z, dL @ z.T))
        second.append(np.einsum("ij,rsjk->ikrs", lev.Z, cov.cholesky_second(psi) @ z.T))
    return first, second


def _broadcast_level(e, l, combos):
    """e (n, K_l, r) laid along node axis l of (n, K_0..K_{L-1}, r)."""
    n, K, r = e.shape
    shape = [n] + [1] * len(combos) + [r]
    shape[l + 1] = K
    return np.broadcast_to(e.reshape(shape), (n,) + tuple(combos) + (r,))


def _nonadaptive_curvature(model, der, pi_obs, offsets, e1, e2):
    """The psi rows of the posterior mean of the observations' second derivatives, (P, P)."""
    n, p, a, P = len(model.y), model.p, model.n_aux, offsets[-1]
    combos = pi_obs.shape[1:]
    E = np.concatenate([_broadcast_level(e, l, combos) for l, e in enumerate(e1)], axis=-1)
    E = E.reshape(n, -1, E.shape[-1])
    w2 = (pi_obs * der.d2).reshape(n, -1)
    H = np.zeros((P, P))
    psi = slice(p + a, P)
    cross = model.X.T @ np.einsum("ic,icr->ir", w2, E)
    H[:p, psi], H[psi, :p] = cross, cross.T
    H[psi, psi] = np.einsum("ic,icr,ics->rs", w2, E, E)
    if a:
        H_aux = np.zeros((a, P - p - a))
        for t in der.aux:
            col = t.col.ravel()
            rows = np.flatnonzero(col >= 0)
            w1a = (pi_obs * t.d1_a).reshape(n, -1)[rows]
            np.add.at(H_aux, col[rows], np.einsum("ic,icr->ir", w1a, E[rows]))
        H[p:p + a, psi], H[psi, p:p + a] = H_aux, H_aux.T
    w1 = pi_obs * der.d1
    for l, e in enumerate(e2):
        R = np.moveaxis(w1, l + 1, -1).reshape(n, -1, e.shape[1]).sum(axis=1)
        sl = slice(offsets[l], offsets[l + 1])
        H[sl, sl] += np.einsum("ik,ikrs->rs", R, e)
    return H


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
        val = posterior_sum(pi_obs, pair.ll_ab)
        ok = (ca >= 0) & (cb >= 0)
        np.add.at(H, (ca[ok], cb[ok]), val[ok])
        off = ok & (ca != cb)
        np.add.at(H, (cb[off], ca[off]), val[off])
    return H


@once_per_object
def x_by_group(model):
    """Sparse (G p, n): row g p + j holds X[i, j] at the observations i of bottom group g."""
    n, p, bottom = len(model.y), model.p, model.levels[-1]
    rows = (bottom.index[:, None] * p + np.arange(p)).ravel()
    return sp.csr_matrix((model.X.ravel(), (rows, np.repeat(np.arange(n), p))),
                         shape=(bottom.n_groups * p, n))


def _bottom_scores(model, der, pi_obs, w_obs, e1, indicator, P):
    """Each bottom group's score per node combination, (G, combos..., P): the sums over its
    observations of w_o (d1 x, ll_a and, non-adaptive (e1 not None), d1 e); psi columns of
    adaptive quadrature left 0.  The beta part is one sparse (G p, n) product, without an
    (n, combos, p) array."""
    n, p, a = len(model.y), model.p, model.n_aux
    bottom, combos = model.levels[-1], pi_obs.shape[1:]
    G = bottom.n_groups
    d1 = times(np.broadcast_to(der.d1, pi_obs.shape).reshape(n, -1), w_obs)
    C = d1.shape[1]
    S = np.zeros((G, C, P))
    S[:, :, :p] = (x_by_group(model) @ d1).reshape(G, p, C).transpose(0, 2, 1)
    A = indicator(bottom.index, G)
    if a:
        aux = times(_aux_per_obs(der.aux, pi_obs.shape, a), w_obs)
        S[:, :, p:p + a] = (A @ aux.reshape(n, -1)).reshape(G, C, a)
    start = p + a
    for l, e in enumerate(e1 or ()):
        r = e.shape[-1]
        E = _broadcast_level(e, l, combos).reshape(n, C, r)
        S[:, :, start:start + r] = (A @ (d1[:, :, None] * E).reshape(n, -1)).reshape(G, C, r)
        start += r
    return S.reshape((G,) + combos + (P,))


def _weighted_gram(w, G):
    """sum over the leading axes of w G G' (w >= 0 (...,), G (..., P)) by one BLAS product."""
    Gw = (np.sqrt(w)[..., None] * G).reshape(-1, G.shape[-1])
    return Gw.T @ Gw


def _mean_curvature(model, der, pi_obs, offsets):
    """Posterior mean of the observations' second derivatives in beta and aux, (P, P)."""
    n, X, p, a, P = len(model.y), model.X, model.p, model.n_aux, offsets[-1]
    H = np.zeros((P, P))
    w = posterior_sum(pi_obs, der.d2)
    H[:p, :p] += X.T @ (w[:, None] * X)
    if a:
        cross = np.zeros((n, a))
        for t in der.aux:
            col = t.col.ravel()
            rows = np.flatnonzero(col >= 0)
            cross[rows, col[rows]] += posterior_sum(pi_obs, t.d1_a)[rows]
        H[:p, p:p + a] += X.T @ cross
        H[p:p + a, :p] += (X.T @ cross).T
        H[p:p + a, p:p + a] += _aux_curvature(der.aux2, pi_obs, n, a)
    return H


def louis_hessian(model, psis, covs, der, weights, pis, u_nodes, pi_obs, indicator, raw,
                  k=None):
    """H (dim, dim) from one nested quadrature evaluation; k: the points of a non-adaptive
    rule (None: adaptive quadrature).

    der: family derivatives (n, K_0..K_{L-1}) with d2; weights[l]: conditional posteriors
    (G_l, K_0..K_l); pis[l]: joint posteriors times the cumulative weights c_l;
    u_nodes[l]: (G_l, K_0..K_l, d_l); pi_obs: (n, K_0..K_{L-1}) posterior times c_o;
    indicator(index, G): sparse (G, len(index)) summing into groups; raw: (per-level
    weights [(G_l,) or None], observation weights (n,) or None).  With weights, observations' scores
    enter their group's node scores times w_o, a child's mean score enters its parent's
    times the child's weight, and each group's conditional variance counts c_l times.
    """
    w_lev, w_obs = raw
    levels, L = model.levels, len(model.levels)
    offsets = np.cumsum([model.p + model.n_aux] + [len(psi) for psi in psis])
    P = offsets[-1]
    e1, e2 = (None, None) if k is None else eta_psi(model, psis, covs, k)
    S = _bottom_scores(model, der, pi_obs, w_obs, e1, indicator, P)
    H = np.zeros((P, P))
    for l in range(L - 1, -1, -1):
        lev = levels[l]
        if k is None:
            S[..., offsets[l]:offsets[l + 1]] += _psi_scores(u_nodes[l], *covs[l])
        W = weights[l]
        m = np.matmul(W[..., None, :], S)[..., 0, :]
        if l:
            anc = times(pis[l - 1][lev.parent], w_lev[l])
        else:
            anc = np.ones(lev.n_groups) if w_lev[0] is None else w_lev[0]
        anc = anc.reshape(m.shape[:-1])
        H += _weighted_gram(anc[..., None] * W, S) - _weighted_gram(anc, m)
        if l:
            parent = levels[l - 1]
            m = times(m, w_lev[l])
            S = (indicator(lev.parent, parent.n_groups) @ m.reshape(lev.n_groups, -1)
                 ).reshape((parent.n_groups,) + m.shape[1:])
    H += _mean_curvature(model, der, pi_obs, offsets)
    if k is not None:
        return H + _nonadaptive_curvature(model, der, pi_obs, offsets, e1, e2)
    for l in range(L):
        sl = slice(offsets[l], offsets[l + 1])
        # each group's joint posterior sums to 1, so pis[l] sums to sum_g c_l[g]
        H[sl, sl] += _psi_curvature(model.covariances[l], psis[l], *covs[l], pis[l], u_nodes[l],
                                    float(pis[l].sum()))
    return H
