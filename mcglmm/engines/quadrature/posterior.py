"""Empirical Bayes predictions of the random effects at an estimate theta (Stata's predict).

Posterior means (``ebmeans``).  The quadrature that gave the log likelihood also gives,
through its posterior weights pi of the node combinations, each group's posterior mean
and the moments of the next mean-variance adaptation (``nodes.next_adapt``): for a
group g of level l with ancestors' effects u_anc,

    mu_g = E[u_g | y],   B_g = Cov(u_g, u_anc) Var(u_anc)^-1,
    C_g C_g' = Var(u_g) - B_g Cov(u_anc, u_g).

The posterior covariance of the chain (u_anc, u_g) follows level by level from the top
(whose C C' is its posterior variance):

    Cov(u_g, u_anc) = B_g A,   Var(u_g) = C_g C_g' + B_g A B_g',   A = Var(u_anc | y),

and ``reses`` are the square roots of the diagonal of Var(u_g | y).  The nodes are
those of the fit: adaptive (mean-variance adaptation iterated to its fixed point, or the
mode and curvature) or, for ghermite, the prior's.

Posterior modes (``ebmodes``).  u~ = argmax h(u) of ``laplace`` (all random effects
jointly; with weights, of the weighted joint density as ``laplace.curvature_adapt``),
and their conditional covariance the inverse of the curvature H = Z' diag(-d2) Z + P at
u~; each group's block of H^-1 gives its ``reses``.  After a Laplace fit the posterior
means are these modes: one node at the mode (AGHQ with one point is the Laplace
approximation).
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from .laplace import mode_and_curvature
from .nested import aghq
from .objective import Objective


def _settled_adaptation(model, theta, intmethod, k):
    """The fit's adaptation at theta (None for non-adaptive ghermite)."""
    if intmethod == "ghermite":
        return None
    objective = Objective(model, intmethod, k)
    objective.refresh(np.asarray(theta, dtype=float), final=True)
    return objective.state.adapt


def posterior_means(model, theta, intmethod, k):
    """([E[u_g | y] (G_l, d)], [Var(u_g | y) (G_l, d, d)]) per level, by the fit's quadrature."""
    adapt = _settled_adaptation(model, theta, intmethod, k)
    moments = aghq(model, theta, adapt, k).adapt_next
    return list(moments.mu), _posterior_covariances(model.levels, moments)


def _posterior_covariances(levels, moments):
    """Var(u_g | y) per level from the adaptation's (C, B), chaining from the top."""
    chain = [None] * len(levels)   # chain[l]: (G_l, D_l + d_l, D_l + d_l), Var(u_anc, u_g)
    out = []
    for l, (C, B) in enumerate(zip(moments.C, moments.B)):
        CC = C @ np.swapaxes(C, 1, 2)
        if l == 0:
            chain[l] = CC
            out.append(CC)
            continue
        A = chain[l - 1][levels[l].parent]
        cross = B @ A
        var = CC + cross @ np.swapaxes(B, 1, 2)
        top = np.concatenate([A, np.swapaxes(cross, 1, 2)], axis=2)
        chain[l] = np.concatenate([top, np.concatenate([cross, var], axis=2)], axis=1)
        out.append(var)
    return out


def posterior_modes(model, theta, u0=None):
    """([u~_g (G_l, d)], [(H^-1)_gg (G_l, d, d)]) per level at theta: joint mode and curvature."""
    u, _, H, _ = mode_and_curvature(model, theta, u0)
    blocks = _inverse_blocks(H.tocsc(), model.levels)
    means, start = [], 0
    for lev in model.levels:
        size = lev.n_groups * lev.d
        means.append(u[start:start + size].reshape(lev.n_groups, lev.d))
        start += size
    return means, blocks


def _inverse_blocks(H, levels, chunk=512):
    """Each group's (d, d) block of H^-1, per level, by a sparse LU and column chunks."""
    lu = spla.splu(H)
    q = H.shape[0]
    diag_rows = np.concatenate([_block_rows(lev) for lev in levels]) + np.repeat(
        np.cumsum([0] + [lev.n_groups * lev.d for lev in levels])[:-1],
        [lev.n_groups * lev.d for lev in levels])
    width = max(lev.d for lev in levels)
    # columns j of H^-1; keep the entries of j's own group block (rows diag_rows[j] + 0..d-1)
    keep = np.zeros((q, width))
    for start in range(0, q, chunk):
        cols = np.arange(start, min(start + chunk, q))
        E = sp.csc_matrix((np.ones(len(cols)), (cols, np.arange(len(cols)))),
                          shape=(q, len(cols))).toarray()
        X = lu.solve(E)
        for a in range(width):
            rows = np.minimum(diag_rows[cols] + a, q - 1)
            keep[cols, a] = X[rows, np.arange(len(cols))]
    out, start = [], 0
    for lev in levels:
        size = lev.n_groups * lev.d
        block = keep[start:start + size, :lev.d].reshape(lev.n_groups, lev.d, lev.d)
        out.append(np.swapaxes(block, 1, 2))
        start += size
    return out


def _block_rows(lev):
    """(G d,) first row, within the level, of the group block holding each column."""
    return np.repeat(np.arange(lev.n_groups) * lev.d, lev.d)
