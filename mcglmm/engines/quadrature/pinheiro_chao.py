"""The Pinheiro-Chao hierarchical decomposition: mode and curvature level by level.

Stata's ``pcaghermite`` and ``pclaplace`` (Pinheiro & Chao 2006, "Efficient Laplacian and
adaptive Gaussian quadrature algorithms for multilevel generalized linear mixed models",
JCGS 15, 58-81).  Levels 0 (top) .. L-1 (bottom) are nested; a group g of level l has
one ancestor at each level above, and its chain is (ancestors top first, g), of
dimension E_l = d_0 + ... + d_l (F_l = E_l - d_l for the ancestors alone).  The curvature

    H = Z' diag(W) Z + P,   W = -d2 log f (n,),  P = blockdiag c_l[g] Sigma_l^-1,

couples a group only with its ancestors and descendants, so it is held per level as the
rows of each group's chain, R_l = [H_{g,anc} | H_gg] (G_l, d_l, E_l): a segment sum of
W_i z_li z_chain,i' over the group's rows plus its prior block.  No q x q matrix is formed.

Eliminating the levels from the bottom (``Tree.factor``), with V_g (G_l, E_l, E_l) what
g's subtree subtracts from its chain (0 at the bottom),

    K_gg = H_gg - V_g[g, g],   K_ga = H_{g,anc} - V_g[g, anc],
    V_p = sum_{g child of p} (V_g[anc, anc] + K_ga' K_gg^-1 K_ga),

so that log|H| = sum_l sum_g log|K_gg|; H x = r is one pass up and one down
(``Decomposition.solve``), and H^-1 on every chain (the selected inverse the Laplace
gradient needs) follows top down, B = -K_gg^-1 K_ga, S_a = Sigma_chain(parent):

    Sigma_chain(g) = [[S_a, S_a B'], [B S_a, K_gg^-1 + B S_a B']].

Each step is a batched d x d Cholesky or product over one level's groups and one sparse
segment sum into the parents, so time and memory grow linearly with the number of groups
and levels.  (Pinheiro and Chao obtain the same triangular factors K_gg = R'R by
orthogonal triangulations of each group's penalised least-squares rows; here they come
from the Cholesky factors of the accumulated blocks, which vectorises over groups.)

``pc_curvature_adapt`` gives adaptive quadrature's nodes (mu = u^_g, B, C = chol(c_l[g]
K_gg^-1): exactly ``laplace.curvature_adapt``'s, from this decomposition), and ``pc_laplace``
the Laplace log likelihood and its exact gradient (``laplace``'s formulas, with s_i =
z_chain,i' Sigma_chain z_chain,i and (H^-1)_gg from the chains).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...model.params import sigmas, unpack
from ...model.spec import cumulative_weights, linear_predictor
from ..base import Evaluation
from .factor import Prior
from .laplace import Algebra, find_mode
from .memo import once_per_object
from .nested import indicator
from .nodes import Adapt, ancestors


@dataclass(frozen=True)
class Tree:
    """What the decomposition needs of the model, built once (``tree``).

    q: random effects; d, E: per level d_l and E_l; index: per level the joint positions
    (G_l, d_l) of its groups' effects; chain: per level the joint positions (G_l, E_l) of
    each group's chain; zz: per level the rows' products z_l z_chain' (n, d_l E_l);
    rows, up: per level the (G_l, n) row and (G_{l-1}, G_l) child sums; parent: (G_l,);
    zc: (n, E_{L-1}) each row's chain of z; bottom: (n,) its bottom group.
    """

    q: int
    d: tuple
    E: tuple
    index: tuple
    chain: tuple
    zz: tuple
    rows: tuple
    up: tuple
    parent: tuple
    zc: np.ndarray
    bottom: np.ndarray

    @classmethod
    def build(cls, levels):
        offsets = np.cumsum([0] + [lev.n_groups * lev.d for lev in levels])
        index = [off + np.arange(lev.n_groups * lev.d).reshape(lev.n_groups, lev.d)
                 for off, lev in zip(offsets, levels)]
        anc = ancestors(levels)
        chain = [np.concatenate([index[m][idx] for m, idx in enumerate(anc[l])] + [index[l]],
                                axis=1) for l in range(len(levels))]
        zc = np.hstack([lev.Z for lev in levels])
        E = tuple(int(e) for e in np.cumsum([lev.d for lev in levels]))
        zz = tuple((lev.Z[:, :, None] * zc[:, None, :e]).reshape(len(zc), -1)
                   for lev, e in zip(levels, E))
        rows = tuple(indicator(lev.index, lev.n_groups) for lev in levels)
        up = (None,) + tuple(indicator(levels[l].parent, levels[l - 1].n_groups)
                             for l in range(1, len(levels)))
        parent = (None,) + tuple(lev.parent for lev in levels[1:])
        return cls(int(offsets[-1]), tuple(lev.d for lev in levels), E, tuple(index),
                   tuple(chain), zz, rows, up, parent, zc, levels[-1].index)


@once_per_object
def tree(model):
    """``Tree.build`` of the model's levels, once per model object."""
    return Tree.build(model.levels)


class Decomposition:
    """H = Z' diag(W) Z + P eliminated level by level (module docstring): per level the
    inverse pivots K_gg^-1 (G_l, d_l, d_l), the couplings K_ga (G_l, d_l, F_l) and
    B = -K_gg^-1 K_ga; ``logdet`` = log|H|."""

    def __init__(self, tr, K_inv, K_anc, logdet):
        self.tree, self.K_inv, self.K_anc, self.logdet = tr, K_inv, K_anc, logdet
        self.B = [-(Ki @ Ka) for Ki, Ka in zip(K_inv, K_anc)]

    @classmethod
    def of(cls, tr, prior, W):
        """The decomposition of H(W), or None where a pivot K_gg is not positive definite."""
        L = len(tr.d)
        K_inv, K_anc, logdet, V = [None] * L, [None] * L, 0.0, None
        for l in range(L - 1, -1, -1):
            G, d, E = tr.index[l].shape[0], tr.d[l], tr.E[l]
            F = E - d
            R = (tr.rows[l] @ (tr.zz[l] * W[:, None])).reshape(G, d, E)
            R[:, :, F:] += prior.blocks(l, G)
            if V is not None:
                R -= V[:, F:, :]
            try:
                chol = np.linalg.cholesky(R[:, :, F:])
            except np.linalg.LinAlgError:
                return None
            logdet += 2.0 * float(np.log(np.diagonal(chol, axis1=1, axis2=2)).sum())
            K_inv[l], K_anc[l] = np.linalg.inv(R[:, :, F:]), R[:, :, :F]
            if l:
                into = np.swapaxes(K_anc[l], 1, 2) @ K_inv[l] @ K_anc[l]
                if V is not None:
                    into += V[:, :F, :F]
                V = (tr.up[l] @ into.reshape(G, F * F)).reshape(-1, F, F)
        return cls(tr, K_inv, K_anc, logdet)

    def solve(self, r):
        """H^-1 r for r (q,) in the joint order: up the levels, then down."""
        tr, L = self.tree, len(self.tree.d)
        y, t = [None] * L, None
        for l in range(L - 1, -1, -1):
            F = tr.E[l] - tr.d[l]
            rt = r[tr.index[l]] if t is None else r[tr.index[l]] - t[:, F:]
            y[l] = np.einsum("gij,gj->gi", self.K_inv[l], rt)
            if l:
                into = np.einsum("gji,gj->gi", self.K_anc[l], y[l])
                if t is not None:
                    into += t[:, :F]
                t = tr.up[l] @ into
        x = np.empty(tr.q)
        for l in range(L):
            x_l = y[l]
            if l:
                anc = tr.chain[l][:, :tr.E[l] - tr.d[l]]
                x_l = x_l + np.einsum("gij,gj->gi", self.B[l], x[anc])
            x[tr.index[l]] = x_l
        return x

    def chains(self):
        """H^-1 on each level's chains [(G_l, E_l, E_l)], top down."""
        tr, out = self.tree, [self.K_inv[0]]
        for l in range(1, len(tr.d)):
            Sa = out[-1][tr.parent[l]]
            BS = self.B[l] @ Sa
            Sgg = self.K_inv[l] + BS @ np.swapaxes(self.B[l], 1, 2)
            out.append(np.concatenate([np.concatenate([Sa, np.swapaxes(BS, 1, 2)], axis=2),
                                       np.concatenate([BS, Sgg], axis=2)], axis=1))
        return out


@dataclass(frozen=True)
class TreeAlgebra(Algebra):
    """``laplace.Algebra`` whose factor is the level-by-level ``Decomposition`` (st: the
    ``Tree``; ``laplace.find_mode`` reads only its q)."""

    def factor(self, W):
        """``Decomposition`` of H(W), or None where H is not positive definite."""
        return Decomposition.of(self.st, self.prior, W)


def _algebra(model, covs, c_lev=None):
    """(TreeAlgebra at covs [(Sigma_l, dSigma_l)], sum_l G_l log|Sigma_l|)."""
    inv = tuple(np.linalg.inv(S) for S, _ in covs)
    logdet = sum(lev.n_groups * np.linalg.slogdet(S)[1]
                 for lev, (S, _) in zip(model.levels, covs))
    scale = tuple(c_lev) if c_lev is not None else (None,) * len(covs)
    return TreeAlgebra(model, Prior(inv, scale), tree(model)), logdet


def pc_curvature_adapt(model, theta, u0=None):
    """(adaptation, joint mode) as ``laplace.curvature_adapt``, by the decomposition; the
    adaptation is None at an infeasible theta (h(u0) not finite)."""
    beta, aux, psis = unpack(model, theta)
    c_lev, c_obs = cumulative_weights(model)
    weighted = model.weights is not None
    alg, _ = _algebra(model, sigmas(model, psis), c_lev if weighted else None)
    u, h, der = find_mode(model, alg, linear_predictor(model, beta), aux, u0,
                          w_obs=c_obs if weighted else None)
    fac = alg.factor(np.maximum(-der.d2, 0.0)) if np.isfinite(h) else None
    if fac is None:
        return None, u
    tr = alg.st
    mus = tuple(u[idx] for idx in tr.index)
    Cs = tuple(np.linalg.cholesky(c[:, None, None] * Ki) for c, Ki in zip(c_lev, fac.K_inv))
    return Adapt(mus, Cs, tuple(fac.B)), u


def pc_laplace(model, theta, u0=None, gradient=True):
    """``laplace.laplace`` (value, exact gradient, mode) by the decomposition; value -inf
    and a NaN gradient at an infeasible theta."""
    beta, aux, psis = unpack(model, theta)
    alg, logdet_S = _algebra(model, sigmas(model, psis))
    u, h, der = find_mode(model, alg, linear_predictor(model, beta), aux, u0)
    fac = alg.factor(-der.d2) if np.isfinite(h) else None
    if fac is None:
        return Evaluation(-np.inf, np.full(model.dim, np.nan) if gradient else None, mode=u)
    value = h - 0.5 * logdet_S - 0.5 * fac.logdet + model.ll_const
    if not gradient:
        return Evaluation(value, mode=u)
    return Evaluation(value, _gradient(model, alg, der, u, fac, psis), mode=u)


def _gradient(model, alg, der, u, fac, psis):
    """The Laplace gradient of ``laplace``'s module docstring, H^-1 from the chains."""
    tr, Z = alg.st, alg.Z
    chains = fac.chains()
    Sigma = chains[-1][tr.bottom]
    s = np.einsum("ne,nef,nf->n", tr.zc, Sigma, tr.zc)
    w = fac.solve(0.5 * (Z.T @ (der.d3 * s)))
    zw = Z @ w
    g_beta = model.X.T @ (der.d1 + 0.5 * der.d3 * s + der.d2 * zw)
    g_aux = np.zeros(model.n_aux)
    for t in der.aux:
        val = t.ll_a + 0.5 * t.d2_a * s + t.d1_a * zw
        ok = t.col >= 0
        g_aux += np.bincount(t.col[ok], weights=val[ok], minlength=model.n_aux)
    g_psi = []
    for l, (lev, cov, psi) in enumerate(zip(model.levels, model.covariances, psis)):
        ug, wg = u[tr.index[l]], w[tr.index[l]]
        Hgg = chains[l][:, tr.E[l] - tr.d[l]:, tr.E[l] - tr.d[l]:]
        M = ug.T @ ug + Hgg.sum(axis=0) + ug.T @ wg + wg.T @ ug
        g_psi.append(cov.score(psi, M, lev.n_groups))
    return np.concatenate([g_beta, g_aux] + g_psi)


__all__ = ["Decomposition", "Tree", "pc_curvature_adapt", "pc_laplace", "tree"]
