"""Adaptive Gauss-Hermite quadrature for nested models, level by level, vectorised over groups.

Each group's integral over its random effects u of h(u) phi(u; Sigma) becomes
sum_j exp(a_j) h(u_j) with the nodes u_j and log weights a_j of ``quad_nodes``
(adapted to the group's conditional posterior given its ancestors' nodes).

Levels 1 (top) .. L (bottom) are integrated from the bottom: for every
combination of nodes of the levels above (an array axis per level),

    T_L[g, j_1..j_L]  = sum_{i in g} log f(y_i | eta_i(j_1..j_L)) + a_L[g, j_1..j_L]
    I_l[g, j_1..j_{l-1}] = logsumexp_{j_l} T_l,  T_{l-1} = sum_{children} I_l + a_{l-1}

and the log likelihood is sum_g I_1[g].  With weights (``design.weights``) each
observation's log density is multiplied by its weight and each group's I_l by its
group's weight before the sum into its parent (the top: into the total), so the
derivatives below carry the cumulative weights c (posterior pi times c).  The
softmax weights of each sum, chained from the top, are the posterior probabilities pi of the node combinations; with
the nodes held fixed (the adaptive parameters are inputs) the gradient is

    d/dbeta = X' sum_j pi_ij d1_ij,   d/daux = sum pi ll_a,
    d/dpsi_l = 1/2 tr[(S^-1 M S^-1 - G S^-1) dS],  M = sum_g sum_j pi_gj u_gj u_gj'

(j running over the node combinations of level l and its ancestors).

The same weights give the posterior means and variances for the next
mean-variance adaptation step (``Evaluation.adapt_next``).
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..base import Evaluation
from .hessian import louis_hessian, posterior_sum, supports_exact_hessian
from ...model.params import sigmas, unpack
from ...model.spec import aux_gradient, cumulative_weights, level_weights, linear_predictor, times
from .blocks import row_blocks
from .memo import once_per_object
from .nodes import (Adapt, build_nodes, cholesky_and_grad, next_adapt, prior_adapt,
                         product_rule)


@once_per_object
def indicator(index, n_groups):
    """Sparse (G, n) matrix summing rows into groups; built once per index array."""
    n = len(index)
    return sp.csr_matrix((np.ones(n), (index, np.arange(n))), shape=(n_groups, n))


def _axis_shape(L, l, shape):
    """Shape of an (n, K_0..K_l) array padded to broadcast against all L node axes."""
    return list(shape) + [1] * (L - 1 - l)


def _logsumexp_last(T):
    """(logsumexp over the last axis, softmax weights)."""
    m = np.max(T, axis=-1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    e = np.exp(T - m)
    s = e.sum(axis=-1, keepdims=True)
    return (m + np.log(s))[..., 0], e / s


def _chain_psi(model, covs, k, pi_d1):
    """Per-observation d/dpsi_l of sum_k pi log f, (n, r_l) each, for nodes u_k = L(psi) z_k.

    d eta_ik / d psi_r = Z_i . (dL_r z_k), so the term is sum_k pi_ik d1_ik Z_i . (dL_r z_k).
    """
    out, n = [], len(model.y)
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
    Evaluated by row blocks of whole top-level groups (``blocks.row_blocks``), whose
    values, gradients, Hessians and scores add up and whose posterior moments stack.
    """
    blocks = row_blocks(model)
    if len(blocks) == 1:
        return _aghq(model, theta, adapt, k, scores, hessian)
    parts = [_aghq(b.model, theta, _adapt_of(adapt, b.groups), k, scores, hessian)
             for b in blocks]
    value = sum(ev.value for ev in parts) + model.ll_const
    grad = np.sum([ev.gradient for ev in parts], axis=0)
    hess = None if parts[0].hessian is None else np.sum([ev.hessian for ev in parts], axis=0)
    S = None
    if scores:
        S = np.zeros((model.levels[0].n_groups, model.dim))
        for b, ev in zip(blocks, parts):
            S[b.groups[0]] = ev.scores
    nxt = [ev.adapt_next for ev in parts]
    adapt_next = Adapt(*(tuple(_stack([getattr(a, f)[l] for a in nxt], blocks, l, lev.n_groups)
                               for l, lev in enumerate(model.levels))
                         for f in ("mu", "C", "B")))
    return Evaluation(value, grad, hess, scores=S, adapt_next=adapt_next)


def _adapt_of(adapt, groups):
    """The adaptation of one block's groups (None stays None)."""
    if adapt is None:
        return None
    return Adapt(*(tuple(a[g] for a, g in zip(getattr(adapt, f), groups))
                   for f in ("mu", "C", "B")))


def _stack(arrays, blocks, l, G):
    """Level l's per-group arrays of the blocks, placed at their groups: (G, ...)."""
    out = np.empty((G,) + arrays[0].shape[1:])
    for a, b in zip(arrays, blocks):
        out[b.groups[l]] = a
    return out


def _aghq(model, theta, adapt, k, scores=False, hessian=False):
    """``aghq`` of one block (or of a model that is one block)."""
    beta, aux, psis = unpack(model, theta)
    levels, L, n = model.levels, len(model.levels), len(model.y)
    covs = sigmas(model, psis)
    adaptive = adapt is not None
    hessian = hessian and supports_exact_hessian(model, adaptive)
    adapt = adapt if adaptive else prior_adapt(levels, covs)
    u_nodes, a_nodes, devs = build_nodes(levels, adapt, covs, k)
    eta = linear_predictor(model, beta).reshape([n] + [1] * L)
    for l, (lev, u) in enumerate(zip(levels, u_nodes)):
        zu = np.einsum("nd,n...d->n...", lev.Z, u[lev.index])
        eta = eta + zu.reshape(_axis_shape(L, l, zu.shape))
    shape_y = [n] + [1] * L
    der = model.family.derivs(model.y.reshape(shape_y), model.ntrials.reshape(shape_y), eta, aux,
                               full=hessian, third=False)
    w_lev, w_obs = level_weights(model)
    c_lev = cumulative_weights(model)[0] if model.weights is not None else [None] * L
    weights = [None] * L
    inner = times(der.ll, w_obs)
    for l in range(L - 1, -1, -1):
        child = levels[l + 1].parent if l + 1 < L else levels[l].index
        G = levels[l].n_groups
        T = (indicator(child, G) @ inner.reshape(len(child), -1)).reshape((G,) + inner.shape[1:])
        inner, weights[l] = _logsumexp_last(T + a_nodes[l])
        inner = times(inner, w_lev[l])
    value = float(inner.sum()) + model.ll_const
    pis = [weights[0]]
    for l in range(1, L):
        pis.append(pis[-1][levels[l].parent][..., None] * weights[l])
    pis_c = [times(pi, c) for pi, c in zip(pis, c_lev)]
    pi_obs = times(pis_c[-1][levels[-1].index], w_obs)
    r = posterior_sum(pi_obs, der.d1)
    g_aux = aux_gradient(der.aux, pi_obs, model.n_aux)
    moments = [_second_moments(pi, u) for pi, u in zip(pis_c, u_nodes)]
    g_psi = [cov.score(psi, M_g.sum(axis=0), lev.n_groups if c is None else c.sum())
             for cov, psi, lev, M_g, c in zip(model.covariances, psis, levels, moments, c_lev)]
    chain = None if adaptive else _chain_psi(model, covs, k, pi_obs * der.d1)
    if chain is not None:
        g_psi = [c.sum(axis=0) for c in chain]
    grad = np.concatenate([model.X.T @ r, g_aux] + g_psi)
    S = (_top_scores(model, r, der.aux, moments, covs, pi_obs, chain, c_lev) if scores
         else None)
    H = (louis_hessian(model, psis, covs, der, weights, pis_c, u_nodes, pi_obs, indicator,
                       (w_lev, w_obs), None if adaptive else k) if hessian else None)
    return Evaluation(value, grad, H, scores=S, adapt_next=next_adapt(pis, u_nodes, devs))


def _second_moments(pi, u):
    """sum over node combinations of pi u u', per group: (G, d, d)."""
    G, d = u.shape[0], u.shape[-1]
    uf = u.reshape(G, -1, d)
    return np.einsum("gp,gpd,gpe->gde", pi.reshape(G, -1), uf, uf)


def _top_scores(model, r, aux_terms, moments, covs, pi_obs, chain, c_lev):
    """Per top-level-group score contributions (G_1, dim), for the clustered sandwich.

    r, pi_obs, moments: weighted by the cumulative weights c (so each top group's
    score is its weight times the score of its log integral); c_lev: c_l per level.
    """
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
        val = posterior_sum(pi_obs, t.ll_a)
        ok = col >= 0
        aux[np.flatnonzero(ok), col[ok]] += val[ok]
    parts.append(A @ aux)
    for l in range(len(levels)):
        if chain is not None:
            parts.append(A @ chain[l])
            continue
        S, dS = covs[l]
        Si = np.linalg.inv(S)
        Agr = Si[None] @ moments[l] @ Si[None] - times(Si[None], c_lev[l])
        per_group = 0.5 * np.einsum("gab,rab->gr", Agr, dS)
        parts.append(indicator(maps[l], top.n_groups) @ per_group)
    return np.hstack(parts)
