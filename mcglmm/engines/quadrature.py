"""Adaptive Gauss-Hermite quadrature for nested models, level by level, vectorised over groups.

For a level with covariance Sigma, each group g has an adaptive normal
N(mu_g, C_g C_g') (posterior mean and variance, or mode and curvature).  With
the k^d-point product rule (z_j, w_j) for N(0, I) the nodes are
u_gj = mu_g + C_g z_j and the integral over u_g of h(u) phi(u; Sigma) becomes

    sum_j exp(a_gj) h(u_gj),   a_gj = log w_j + log phi(u_gj; Sigma) - log phi(z_j) + log|C_g|.

Levels 1 (top) .. L (bottom) are integrated from the bottom: for every
combination of nodes of the levels above (an array axis per level),

    T_L[g, j_1..j_L]  = sum_{i in g} log f(y_i | eta_i(j_1..j_L)) + a_L[g, j_L]
    I_l[g, j_1..j_{l-1}] = logsumexp_{j_l} T_l,  T_{l-1} = sum_{children} I_l + a_{l-1}

and the log likelihood is sum_g I_1[g].  The softmax weights of each sum, chained
from the top, are the posterior probabilities pi of the node combinations; with
the nodes held fixed (the adaptive parameters are inputs) the gradient is

    d/dbeta = X' sum_j pi_ij d1_ij,   d/daux = sum pi ll_a,
    d/dpsi_l = 1/2 tr[(S^-1 M S^-1 - G S^-1) dS],  M = sum_g sum_j pi_gj u_gj u_gj'.

The same weights give the posterior means and variances for the next
mean-variance adaptation step (``QuadEval.adapt_next``).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import scipy.sparse as sp

from . import quad_cov
from .ghrule import gh_rule
from .quad_hessian import louis_hessian, supports_exact_hessian
from .quad_model import aux_gradient, linear_predictor, sigmas, unpack


@dataclass(frozen=True)
class Adapt:
    """Per level: mu (G, d) and C (G, d, d) lower-triangular, of the adaptive normals."""

    mu: tuple
    C: tuple


@dataclass(frozen=True)
class QuadEval:
    """value: log likelihood; grad (dim,); adapt_next: posterior moments; scores (G_1, dim);
    hess (dim, dim) when asked for and ``quad_hessian.supports_exact_hessian``."""

    value: float
    grad: np.ndarray
    adapt_next: Adapt
    scores: np.ndarray | None
    hess: np.ndarray | None = None


@lru_cache(maxsize=32)
def product_rule(k, d):
    """k^d-point product rule for N(0, I_d): nodes (k^d, d), log weights (k^d,)."""
    x, w = gh_rule(k)
    mesh = np.meshgrid(*([x] * d), indexing="ij")
    wmesh = np.meshgrid(*([np.log(w)] * d), indexing="ij")
    z = np.stack([m.ravel() for m in mesh], axis=1)
    return z, sum(m.ravel() for m in wmesh)


def indicator(index, n_groups):
    """Sparse (G, n) matrix summing rows into groups."""
    n = len(index)
    return sp.csr_matrix((np.ones(n), (index, np.arange(n))), shape=(n_groups, n))


def _log_normal(u, S):
    """log phi(u; 0, S) for u (..., d)."""
    d = S.shape[0]
    Si = np.linalg.inv(S)
    _, logdet = np.linalg.slogdet(S)
    return -0.5 * (d * np.log(2 * np.pi) + logdet + np.einsum("...d,de,...e->...", u, Si, u))


def level_nodes(mu, C, S, k):
    """Nodes u (G, K, d) and adaptive log weights a (G, K) of one level."""
    z, lw = product_rule(k, S.shape[0])
    u = mu[:, None, :] + np.einsum("gde,ke->gkd", C, z)
    log_det_C = np.log(np.abs(np.diagonal(C, axis1=1, axis2=2))).sum(axis=1)
    log_std = -0.5 * (S.shape[0] * np.log(2 * np.pi) + (z * z).sum(axis=1))
    return u, lw + _log_normal(u, S) - log_std + log_det_C[:, None]


def _axis_shape(L, l, size, lead):
    """Shape putting ``size`` on node axis l of an array with leading dimension ``lead``."""
    shape = [lead] + [1] * L
    shape[1 + l] = size
    return shape


def _logsumexp_last(T):
    """(logsumexp over the last axis, softmax weights)."""
    m = np.max(T, axis=-1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    e = np.exp(T - m)
    s = e.sum(axis=-1, keepdims=True)
    return (m + np.log(s))[..., 0], e / s


def cholesky_and_grad(S, dS):
    """L = chol(S) and dL/dpsi (r, d, d) = L Phi(L^-1 dS L^-T), Phi: lower part, half diagonal."""
    Lc = np.linalg.cholesky(S)
    Li = np.linalg.inv(Lc)
    M = Li[None] @ dS @ Li.T[None]
    M = np.tril(M) - 0.5 * np.einsum("rii->ri", M)[:, :, None] * np.eye(S.shape[0])
    return Lc, Lc[None] @ M


def prior_adapt(model, covs):
    """Non-adaptive Gauss-Hermite: mu_g = 0 and C_g = chol(Sigma) for every group."""
    mus = tuple(np.zeros((lev.n_groups, lev.d)) for lev in model.levels)
    Cs = tuple(np.broadcast_to(np.linalg.cholesky(S), (lev.n_groups, lev.d, lev.d))
               for lev, (S, _) in zip(model.levels, covs))
    return Adapt(mus, Cs)


def _chain_psi(model, covs, k, pi_d1):
    """Per-observation d/dpsi_l of sum_k pi log f when the nodes are u_k = L(psi) z_k, (n, r_l) each.

    d eta_ik / d psi_r = Z_i . (dL_r z_k), so the term is sum_k pi_ik d1_ik Z_i . (dL_r z_k).
    """
    out, L, n = [], len(model.levels), len(model.y)
    for l, (lev, (S, dS)) in enumerate(zip(model.levels, covs)):
        z, _ = product_rule(k, lev.d)
        R = np.moveaxis(pi_d1, l + 1, -1).reshape(n, -1, z.shape[0]).sum(axis=1)
        _, dL = cholesky_and_grad(S, dS)
        out.append(np.einsum("ik,ij,rjk->ir", R, lev.Z, dL @ z.T))
    return out


def aghq(model, theta, adapt, k, scores=False, hessian=False):
    """Log likelihood, gradient and posterior moments of the nested model at theta.

    ``adapt=None`` gives non-adaptive Gauss-Hermite quadrature (nodes L(psi) z_k,
    Stata's ghermite); its psi-gradient then runs through the nodes (``_chain_psi``).
    """
    beta, aux, psis = unpack(model, theta)
    levels, L, n = model.levels, len(model.levels), len(model.y)
    covs = sigmas(model, psis)
    adaptive = adapt is not None
    hessian = hessian and adaptive and supports_exact_hessian(model)
    adapt = adapt if adaptive else prior_adapt(model, covs)
    nodes = [level_nodes(m, C, S, k) for m, C, (S, _) in zip(adapt.mu, adapt.C, covs)]
    eta = linear_predictor(model, beta).reshape([n] + [1] * L)
    for l, (lev, (u, _)) in enumerate(zip(levels, nodes)):
        zu = np.einsum("nd,nkd->nk", lev.Z, u[lev.index])
        eta = eta + zu.reshape(_axis_shape(L, l, zu.shape[1], n))
    shape_y = [n] + [1] * L
    der = model.family.derivs(model.y.reshape(shape_y), model.ntrials.reshape(shape_y), eta, aux,
                               full=hessian)
    weights = [None] * L
    inner = der.ll
    for l in range(L - 1, -1, -1):
        child = levels[l + 1].parent if l + 1 < L else levels[l].index
        G = levels[l].n_groups
        T = (indicator(child, G) @ inner.reshape(len(child), -1)).reshape((G,) + inner.shape[1:])
        a = nodes[l][1]
        T = T + a.reshape([G] + [1] * l + [a.shape[1]])
        inner, weights[l] = _logsumexp_last(T)
    value = float(inner.sum()) + model.ll_const
    pis = [weights[0]]
    for l in range(1, L):
        pis.append(pis[-1][levels[l].parent][..., None] * weights[l])
    pi_obs = pis[-1][levels[-1].index]
    r = (pi_obs * der.d1).reshape(n, -1).sum(axis=1)
    g_aux = aux_gradient(der.aux, pi_obs, model.n_aux)
    g_psi, mus, Cs = [], [], []
    for l, lev in enumerate(levels):
        pim = pis[l].reshape(lev.n_groups, -1, pis[l].shape[-1]).sum(axis=1)
        u = nodes[l][0]
        M_g = np.einsum("gk,gkd,gke->gde", pim, u, u)
        g_psi.append(quad_cov.psi_score(model.kinds[l], psis[l], lev.d, M_g.sum(axis=0),
                                        lev.n_groups))
        mean = np.einsum("gk,gkd->gd", pim, u)
        var = M_g - mean[:, :, None] * mean[:, None, :]
        mus.append(mean)
        Cs.append(np.linalg.cholesky(var + 1e-12 * np.eye(lev.d)))
    chain = None if adaptive else _chain_psi(model, covs, k, pi_obs * der.d1)
    if chain is not None:
        g_psi = [c.sum(axis=0) for c in chain]
    grad = np.concatenate([model.X.T @ r, g_aux] + g_psi)
    S = _top_scores(model, r, der.aux, pis, nodes, psis, covs, pi_obs, chain) if scores else None
    H = (louis_hessian(model, psis[0], covs[0], der, pis[0], nodes[0][0], pi_obs,
                       indicator(levels[0].index, levels[0].n_groups)) if hessian else None)
    return QuadEval(value, grad, Adapt(tuple(mus), tuple(Cs)), S, H)


def _top_scores(model, r, aux_terms, pis, nodes, psis, covs, pi_obs, chain):
    """Per top-level-group score contributions (G_1, dim), for the clustered sandwich."""
    levels, n = model.levels, len(model.y)
    top = levels[0]
    maps = [np.arange(top.n_groups)]
    for lev in levels[1:]:
        maps.append(maps[-1][lev.parent])
    A = indicator(maps[-1][levels[-1].index], top.n_groups)
    parts = [A @ (r[:, None] * model.X)]
    aux = np.zeros((n, model.n_aux))
    for t in aux_terms:
        col = t.col.ravel()
        val = (pi_obs * t.ll_a).reshape(n, -1).sum(axis=1)
        ok = col >= 0
        aux[np.flatnonzero(ok), col[ok]] += val[ok]
    parts.append(A @ aux)
    for l, lev in enumerate(levels):
        if chain is not None:
            parts.append(A @ chain[l])
            continue
        pim = pis[l].reshape(lev.n_groups, -1, pis[l].shape[-1]).sum(axis=1)
        u = nodes[l][0]
        M_g = np.einsum("gk,gkd,gke->gde", pim, u, u)
        S, dS = covs[l]
        Si = np.linalg.inv(S)
        Agr = Si[None] @ M_g @ Si[None] - Si[None]
        per_group = 0.5 * np.einsum("gab,rab->gr", Agr, dS)
        parts.append(indicator(maps[l], top.n_groups) @ per_group)
    return np.hstack(parts)
