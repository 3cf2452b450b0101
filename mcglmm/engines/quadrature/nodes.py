"""Quadrature nodes of nested levels, adapted to each group's conditional posterior.

Levels 0 (top) .. L-1 (bottom).  A group g of level l has ancestors (one group at
each level above); stack their random effects as u_anc (D_l,).  The adaptive
normal of u_g given its ancestors is

    N(mu_g + B_g (u_anc - mu_anc), C_g C_g'),

the conditional posterior (exactly so for a Gaussian posterior), and with the
k^d-point product rule (z_j, w_j) for N(0, I) the nodes and log weights are

    u_g[j_0..j_l] = mu_g + B_g (u_anc[j_0..j_{l-1}] - mu_anc) + C_g z_{j_l},
    a_g[j_0..j_l] = log w_{j_l} + log phi(u_g[...]; Sigma_l) - log phi(z_{j_l}) + log|C_g|,

one array axis per level above and one of its own.  Shifting the nodes with the
ancestors' nodes keeps 3+ level models accurate when the ancestors' effects are
large (a centre fixed at the marginal posterior mean is not).

``next_adapt`` turns posterior weights of the node combinations into the next
mean-variance adaptation: mu = E u, B = Cov(u, u_anc) Var(u_anc)^-1 and C C' =
Var(u) - B Cov(u_anc, u).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .rules import gh_rule


@dataclass(frozen=True)
class Adapt:
    """Per level: mu (G, d), C (G, d, d) lower-triangular, B (G, d, D) (D = 0 at the top)."""

    mu: tuple
    C: tuple
    B: tuple


@lru_cache(maxsize=32)
def product_rule(k, d):
    """k^d-point product rule for N(0, I_d): nodes (k^d, d), log weights (k^d,)."""
    x, w = gh_rule(k)
    mesh = np.meshgrid(*([x] * d), indexing="ij")
    wmesh = np.meshgrid(*([np.log(w)] * d), indexing="ij")
    z = np.stack([m.ravel() for m in mesh], axis=1)
    return z, sum(m.ravel() for m in wmesh)


def ancestors(levels):
    """For each level, the (G_l,) group index of each ancestor level, top first."""
    out = [[]]
    for l in range(1, len(levels)):
        parent = levels[l].parent
        out.append([idx[parent] for idx in out[l - 1]] + [parent])
    return out


def log_normal(u, S):
    """log phi(u; 0, S) for u (..., d)."""
    d = S.shape[0]
    Si = np.linalg.inv(S)
    _, logdet = np.linalg.slogdet(S)
    return -0.5 * (d * np.log(2 * np.pi) + logdet + np.einsum("...d,de,...e->...", u, Si, u))


def _deviations(l, nodes, mus, anc, shape):
    """u_anc - mu_anc for the groups of level l, (G_l, K_0..K_{l-1}, D_l)."""
    parts = []
    for l2, idx in enumerate(anc):
        dev = nodes[l2][idx] - mus[l2][idx].reshape((len(idx),) + (1,) * (l2 + 1) + (-1,))
        pad = dev.reshape(dev.shape[:-1] + (1,) * (l - 1 - l2) + dev.shape[-1:])
        parts.append(np.broadcast_to(pad, shape + dev.shape[-1:]))
    return np.concatenate(parts, axis=-1)


def build_nodes(levels, adapt, covs, k):
    """Per level: nodes u (G, K_0..K_l, d), log weights a (G, K_0..K_l), deviations of ancestors."""
    anc = ancestors(levels)
    nodes, weights, devs = [], [], []
    for l, (lev, (S, _)) in enumerate(zip(levels, covs)):
        d, G = lev.d, lev.n_groups
        z, lw = product_rule(k, d)
        mu, C, B = adapt.mu[l], adapt.C[l], adapt.B[l]
        axes = tuple(n.shape[l2 + 1] for l2, n in enumerate(nodes))
        if l:
            dev = _deviations(l, nodes, adapt.mu, anc[l], (G,) + axes)
            centre = mu.reshape((G,) + (1,) * l + (d,)) + np.einsum("gdD,g...D->g...d", B, dev)
        else:
            dev, centre = np.zeros((G, 0)), mu
        spread = np.einsum("gde,ke->gkd", C, z).reshape((G,) + (1,) * l + (len(lw), d))
        u = centre[..., None, :] + spread
        log_det_C = np.log(np.abs(np.diagonal(C, axis1=1, axis2=2))).sum(axis=1)
        log_std = -0.5 * (d * np.log(2 * np.pi) + (z * z).sum(axis=1))
        a = lw - log_std + log_normal(u, S) + log_det_C.reshape((G,) + (1,) * (l + 1))
        nodes.append(u)
        weights.append(a)
        devs.append(dev)
    return nodes, weights, devs


def _ridge(C, rel):
    """rel times the mean diagonal of each (G, m, m) matrix, as (G, m, m) multiples of I."""
    scale = np.einsum("gii->g", C) / C.shape[-1]
    return (rel * np.maximum(scale, 1e-300))[:, None, None] * np.eye(C.shape[-1])


def next_adapt(pis, nodes, devs, ridge=1e-10):
    """Mean-variance adaptation from the posterior weights pi_l (G, K_0..K_l) of every level.

    Covariances get a ridge relative to their own size, so tiny variances stay tiny.
    """
    mus, Cs, Bs = [], [], []
    for pi, u, dev in zip(pis, nodes, devs):
        G, d = u.shape[0], u.shape[-1]
        w = pi.reshape(G, -1)
        uf = u.reshape(G, -1, d)
        m_u = np.einsum("gp,gpd->gd", w, uf)
        cu = uf - m_u[:, None, :]
        C_uu = np.einsum("gp,gpd,gpe->gde", w, cu, cu)
        D = dev.shape[-1]
        if D:
            df = np.broadcast_to(dev[..., None, :], pi.shape + (D,)).reshape(G, -1, D)
            ca = df - np.einsum("gp,gpD->gD", w, df)[:, None, :]
            C_ua = np.einsum("gp,gpd,gpE->gdE", w, cu, ca)
            C_aa = np.einsum("gp,gpD,gpE->gDE", w, ca, ca)
            C_aa = C_aa + _ridge(C_aa, ridge)
            B = np.swapaxes(np.linalg.solve(C_aa, np.swapaxes(C_ua, 1, 2)), 1, 2)
            C_uu = C_uu - B @ np.swapaxes(C_ua, 1, 2)
            C_uu = 0.5 * (C_uu + np.swapaxes(C_uu, 1, 2))
        else:
            B = np.zeros((G, d, 0))
        mus.append(m_u)
        Bs.append(B)
        Cs.append(np.linalg.cholesky(C_uu + _ridge(C_uu, ridge)))
    return Adapt(tuple(mus), tuple(Cs), tuple(Bs))


def prior_adapt(levels, covs):
    """Non-adaptive Gauss-Hermite: mu = 0, B = 0 and C = chol(Sigma) for every group."""
    anc_dims = np.cumsum([0] + [lev.d for lev in levels])
    mus = tuple(np.zeros((lev.n_groups, lev.d)) for lev in levels)
    Cs = tuple(np.broadcast_to(np.linalg.cholesky(S), (lev.n_groups, lev.d, lev.d))
               for lev, (S, _) in zip(levels, covs))
    Bs = tuple(np.zeros((lev.n_groups, lev.d, anc_dims[l])) for l, lev in enumerate(levels))
    return Adapt(mus, Cs, Bs)


def cholesky_and_grad(S, dS):
    """L = chol(S) and dL/dpsi (r, d, d) = L Phi(L^-1 dS L^-T), Phi: lower part, half diagonal."""
    Lc = np.linalg.cholesky(S)
    Li = np.linalg.inv(Lc)
    M = Li[None] @ dS @ Li.T[None]
    M = np.tril(M) - 0.5 * np.einsum("rii->ri", M)[:, :, None] * np.eye(S.shape[0])
    return Lc, Lc[None] @ M
