"""Laplace approximation on the joint (sparse) Hessian of all random effects.

With u (q,) all random effects (``design.levels.joint_z`` order), P = blockdiag of
each level's Sigma^-1 (one block per group) and

    h(u) = sum_i log f(y_i | eta_i) - 1/2 u'Pu,   eta = X beta + offset + Z u,
    H(u) = -d2h/du2 = Z' W Z + P,   W = diag(-d2),

the Laplace log likelihood is

    l(theta) = h(u^) - 1/2 sum_l G_l log|Sigma_l| - 1/2 log|H(u^)|,   u^ = argmax h.

Its exact gradient follows u^(theta) through H (with s_i = (Z H^-1 Z')_ii,
v = 1/2 Z'(d3 s), w = H^-1 v, zw = Z w):

    d/dbeta = X'(d1 + 1/2 d3 s + d2 zw),   d/daux = sum(ll_a + 1/2 d2_a s + d1_a zw),
    d/dpsi_l = 1/2 tr[(S^-1 M S^-1 - G S^-1) dS],
               M = sum_g (u^_g u^_g' + (H^-1)_gg + u^_g w_g' + w_g u^_g').

The mode is found by Newton steps on H (warm-started at the last theta's mode), each
one factorisation by ``schur`` (a Schur complement S on all levels but the largest, its
pattern and order fixed per model), or for a large crossing conjugate gradients (``cg``),
the converged mode alone factorised; the gradient needs H^-1 only on the pattern of Z'Z,
from S^-1 (dense, so S of order up to MAX_Q_GRADIENT).  ``curvature_adapt`` turns the mode and H
into the adaptation of nested quadrature (with one node it is this approximation).

Standard errors are the inverse of this log likelihood's Hessian (differences of the exact
gradient).  On Stata's crossed salamander example they exceed Stata's by up to 6.7% (wsf),
with the same log likelihood and estimates: Stata differentiates its Laplace likelihood
numerically by an unpublished scheme, and neither holding the joint mode fixed (with or
without log|H|), nor W fixed in log|H|, nor one or two Newton steps for the mode from the
estimate's reproduces its figures (README, "meglm").
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, replace

import numpy as np
import scipy.sparse as sp

from ...exceptions import ConvergenceWarning
from ...model.params import sigmas, unpack
from ...optim.linesearch import halve_step
from ...model.spec import cumulative_weights, linear_predictor
from ..base import Evaluation
from . import cg
from .nodes import Adapt, ancestors
from .factor import Factor, Prior
from .schur import MAX_Q_GRADIENT, Structure, structure

MODE_HALVINGS = 26      # t down to 2^-26 (1.5e-8)


def schur_order(model):
    """Order of S: the number of random effects outside the level with most of them."""
    sizes = [lev.n_groups * lev.d for lev in model.levels]
    return sum(sizes) - max(sizes)


@dataclass(frozen=True)
class Algebra:
    """Z (n, q) sparse, the prior precision P and the fixed structure of H = Z'WZ + P."""

    model: object
    prior: Prior
    st: Structure

    @property
    def Z(self):
        return self.model.Zj

    def prior_times(self, u):
        """P u (q,)."""
        out, start = np.empty_like(u), 0
        for l, lev in enumerate(self.model.levels):
            G, d = lev.n_groups, lev.d
            ug = u[start:start + G * d].reshape(G, d)
            out[start:start + G * d] = np.einsum("gij,gj->gi", self.prior.blocks(l, G),
                                                 ug).ravel()
            start += G * d
        return out

    def factor(self, W):
        """``schur.Factor`` of H(W), or None where H is not positive definite."""
        return Factor.of(self.st, self.model.levels, self.prior, W)

    def newton_solve(self, W, g):
        """H(W)^-1 g (q,) by the factor, or None where H(W) is not positive definite."""
        fac = self.factor(W)
        return None if fac is None else fac.solve(g)


@dataclass(frozen=True)
class IterativeAlgebra(Algebra):
    """``Algebra`` of a large crossing (``schur.Structure.chunked``): Newton steps by
    conjugate gradients (``cg``), since one dense factor of S costs more; by the factor
    when CG does not converge."""

    def newton_solve(self, W, g):
        """H(W)^-1 g (q,), or None where H(W) is not positive definite."""
        solved = cg.solve(self, W, g)
        if solved is None:
            return None
        x, converged = solved
        return x if converged else super().newton_solve(W, g)


def algebra(model, covs, c_lev=None):
    """(Algebra at the covariances covs [(Sigma_l, dSigma_l)], sum_l G_l log|Sigma_l|).

    c_lev: optional per-level group factors (G_l,) multiplying each group's block of P.
    """
    inv = tuple(np.linalg.inv(S) for S, _ in covs)
    logdet = sum(lev.n_groups * np.linalg.slogdet(S)[1]
                 for lev, (S, _) in zip(model.levels, covs))
    scale = tuple(c_lev) if c_lev is not None else (None,) * len(covs)
    st = structure(model)
    return (IterativeAlgebra if st.chunked else Algebra)(model, Prior(inv, scale), st), logdet


def prior_precision(model, covs, c_lev=None):
    """P (q, q) sparse block diagonal and sum_l G_l log|Sigma_l|.

    c_lev: optional per-level group factors (G_l,) multiplying each group's block.
    """
    blocks, logdet = [], 0.0
    for l, (lev, (S, _)) in enumerate(zip(model.levels, covs)):
        scale = sp.identity(lev.n_groups) if c_lev is None else sp.diags(c_lev[l])
        blocks.append(sp.kron(scale, sp.csr_matrix(np.linalg.inv(S))))
        logdet += lev.n_groups * np.linalg.slogdet(S)[1]
    return sp.block_diag(blocks, format="csc"), logdet


def _h_value(model, alg, eta0, aux, u, w_obs=None):
    """h(u) and the family derivatives at eta0 + Z u (ll, d1, d2 times w_obs if given)."""
    eta = eta0 + alg.Z @ u
    der = model.family.derivs(model.y, model.ntrials, eta, aux)
    if w_obs is not None:
        der = replace(der, ll=der.ll * w_obs, d1=der.d1 * w_obs, d2=der.d2 * w_obs)
    return float(der.ll.sum() - 0.5 * u @ alg.prior_times(u)), der


def _newton_step(alg, der, g):
    """H^-1 g with H at the observations' curvatures -d2, floored at 0 where that H is not
    positive definite or gives no ascent direction (a log density not concave in eta);
    None when even the floored H is not (the prior precision itself is not numerically
    positive definite: a near-singular Sigma)."""
    step = alg.newton_solve(-der.d2, g)
    if step is None or not g @ step > 0:
        step = alg.newton_solve(np.maximum(-der.d2, 0.0), g)
    return step


def find_mode(model, alg, eta0, aux, u0, tol=1e-10, max_iter=100, w_obs=None):
    """Newton maximisation of h(u) with step halving; returns (u^, h(u^), derivatives).

    w_obs (n,) weights the observations' log densities (``curvature_adapt``).

    Where the exact Hessian gives no ascent direction (a log density that is not
    concave in eta) the observations' negative curvatures are floored at 0.  A warm
    start u0 where h is not finite is replaced by 0; where h(0) is not finite too, theta is
    infeasible and (0, h(0), derivatives) are returned at once; so is h = -inf where the
    penalised Hessian is not numerically positive definite even with the curvatures floored
    (a near-singular Sigma).  A ConvergenceWarning
    says when step halving finds no point at least as good.  The last step (below tol) is
    taken, so u^ is exact to about tol^2 (the gradient's implicit terms assume the mode).
    """
    u = np.zeros(alg.st.q) if u0 is None else np.asarray(u0, dtype=float).copy()
    h, der = _h_value(model, alg, eta0, aux, u, w_obs)
    if not np.isfinite(h):
        if u0 is not None:
            return find_mode(model, alg, eta0, aux, None, tol, max_iter, w_obs)
        return u, h, der
    for _ in range(max_iter):
        step = _newton_step(alg, der, alg.Z.T @ der.d1 - alg.prior_times(u))
        if step is None:
            return u, -np.inf, der
        trial = _halving(model, alg, eta0, aux, u, h, step, w_obs)
        if trial is None:
            warnings.warn("the joint mode of the random effects was not found: step halving "
                          "found no point with h(u) at least as high (log likelihoods at this "
                          "theta are approximate).", ConvergenceWarning, stacklevel=3)
            break
        t, h, der = trial
        u = u + t * step
        if np.max(np.abs(t * step), initial=0.0) < tol:
            break
    return u, h, der


def _halving(model, alg, eta0, aux, u, h, step, w_obs):
    """(t, h(u + t step), derivatives) for the largest t in 1, 1/2, ..., 2^-26 with
    h(u + t step) finite and >= h(u) (to roundoff, 1e-12 |h|), or None when there is none
    (``optim.linesearch.halve_step``)."""
    found = halve_step(lambda t: _h_value(model, alg, eta0, aux, u + t * step, w_obs), h,
                       MODE_HALVINGS, 1e-12 * abs(h))
    if found is None:
        return None
    t, (h_new, der_new) = found
    return t, h_new, der_new


def laplace(model, theta, u0=None, gradient=True):
    """Laplace log likelihood (and its gradient) at theta; warm start at u0.  An infeasible
    theta (h(u0) not finite, or H not positive definite at the mode) has value -inf and a
    NaN gradient."""
    beta, aux, psis = unpack(model, theta)
    alg, logdet_S = algebra(model, sigmas(model, psis))
    u, h, der = find_mode(model, alg, linear_predictor(model, beta), aux, u0)
    fac = alg.factor(-der.d2) if np.isfinite(h) else None
    if fac is None:
        return Evaluation(-np.inf, np.full(model.dim, np.nan) if gradient else None, mode=u)
    value = h - 0.5 * logdet_S - 0.5 * fac.logdet + model.ll_const
    if not gradient:
        return Evaluation(value, mode=u)
    return Evaluation(value, _laplace_gradient(model, alg, der, u, fac, psis), mode=u)


def _laplace_gradient(model, alg, der, u, fac, psis):
    """Exact gradient of the Laplace log likelihood (module docstring), from H^-1 on the
    pattern of Z'Z (``schur.Factor.selected``): the sum of ``gradient_pieces``."""
    r, aux_obs, per_group = gradient_pieces(model, alg, der, u, fac, psis)
    return np.concatenate([model.X.T @ r, aux_obs.sum(axis=0)]
                          + [g.sum(axis=0) for g in per_group])


def gradient_pieces(model, alg, der, u, fac, psis):
    """The Laplace gradient by observation and by group: (r (n,), aux_obs (n, n_aux),
    [(G_l, r_l) per level]) with d/dbeta = X'r, d/daux = the column sums of aux_obs and
    d/dpsi_l = the column sums of its array (1/2 tr[(S^-1 M_g S^-1 - S^-1) dS] per group,
    M_g = u^_g u^_g' + (H^-1)_gg + u^_g w_g' + w_g u^_g')."""
    Z, st = alg.Z, alg.st
    Hv, Hblocks = fac.selected()
    s = (st.zz * Hv[st.slot]).sum(axis=1)
    v = 0.5 * (Z.T @ (der.d3 * s))
    w = fac.solve(v)
    zw = Z @ w
    r = der.d1 + 0.5 * der.d3 * s + der.d2 * zw
    aux_obs = np.zeros((len(r), model.n_aux))
    for t in der.aux:
        val = t.ll_a + 0.5 * t.d2_a * s + t.d1_a * zw
        ok = t.col >= 0
        np.add.at(aux_obs, (np.flatnonzero(ok), t.col[ok]), val[ok])
    per_group, start = [], 0
    for lev, (S, dS), Hb in zip(model.levels, sigmas(model, psis), Hblocks):
        d, G = lev.d, lev.n_groups
        sl = slice(start, start + G * d)
        ug, wg = u[sl].reshape(G, d), w[sl].reshape(G, d)
        M = (np.einsum("ga,gb->gab", ug, ug) + Hb + np.einsum("ga,gb->gab", ug, wg)
             + np.einsum("ga,gb->gab", wg, ug))
        Si = np.linalg.inv(S)
        per_group.append(0.5 * np.einsum("gab,rab->gr", Si[None] @ M @ Si[None] - Si[None], dS))
        start += G * d
    return r, aux_obs, per_group


def mode_and_curvature(model, theta, u0=None):
    """(u^ (q,), h(u^), K (q, q) CSR, c_lev): the joint mode of u given y at theta and the
    curvature K = Z' diag(-d2 log f) Z + P there (P the prior precision, weighted per level);
    K is None where h is not finite (an infeasible theta)."""
    beta, aux, psis = unpack(model, theta)
    c_lev, c_obs = cumulative_weights(model)
    weighted = model.weights is not None
    covs = sigmas(model, psis)
    alg, _ = algebra(model, covs, c_lev if weighted else None)
    u, h, der = find_mode(model, alg, linear_predictor(model, beta), aux, u0,
                          w_obs=c_obs if weighted else None)
    if not np.isfinite(h):
        return u, h, None, c_lev
    P, _ = prior_precision(model, covs, c_lev if weighted else None)
    Z = model.Zj
    K = (Z.T @ Z.multiply(np.maximum(-der.d2, 0.0)[:, None]).tocsc() + P).tocsr()
    return u, h, K, c_lev


def curvature_adapt(model, theta, u0=None):
    """Adaptation from the joint mode u^ and the curvature H there, and the mode; None for
    the adaptation of an infeasible theta (h(u0) not finite, or H numerically singular or
    its blocks' inverses not positive definite: a near-singular Sigma).

    Per group, the conditional normal given its ancestors with its descendants
    integrated out: levels are eliminated from the bottom (Schur complements of H,
    block diagonal within a level), and then mu = u^_g, B = -K_gg^-1 K_g,anc,
    C = chol(K_gg^-1) with K the curvature left for the levels down to g's.

    With weights the joint function is sum_i c_o[i] log f_i + sum_l sum_g c_l[g] log phi(u_g)
    (each level's weight multiplying its whole subtree): its conditional modes are those
    of the weighted integrands, and group g's block of K is c_l[g] times its curvature,
    so C = chol(c_l[g] K_gg^-1) (B is unchanged).
    """
    u, h, K, c_lev = mode_and_curvature(model, theta, u0)
    if K is None:
        return None, u
    try:
        adapt = _conditionals(model, u, K, c_lev)
    except np.linalg.LinAlgError:
        adapt = None
    return adapt, u


def _conditionals(model, u, K, c_lev):
    """``curvature_adapt``'s Adapt from the mode u and curvature K; a LinAlgError (or None)
    where a block K_gg is numerically singular or its inverse not positive definite (a
    near-singular Sigma: the caller rejects theta as infeasible, so the optimiser halves the
    step)."""
    offsets = np.cumsum([0] + [lev.n_groups * lev.d for lev in model.levels])
    index = [off + np.arange(lev.n_groups * lev.d).reshape(lev.n_groups, lev.d)
             for off, lev in zip(offsets, model.levels)]
    anc = ancestors(model.levels)
    out = [None] * len(model.levels)
    for l in range(len(model.levels) - 1, -1, -1):
        Kgg_inv = np.linalg.inv(_blocks(K, index[l], index[l]))
        cross = [_blocks(K, index[l], index[l2][idx]) for l2, idx in enumerate(anc[l])]
        B = (-Kgg_inv @ np.concatenate(cross, axis=2) if cross
             else np.zeros(index[l].shape + (0,)))
        out[l] = (u[index[l]], np.linalg.cholesky(c_lev[l][:, None, None] * Kgg_inv), B)
        if l:
            K = _eliminate(K, offsets[l], offsets[l + 1], Kgg_inv)
    mus, Cs, Bs = zip(*out)
    if not all(np.all(np.isfinite(a)) for a in Cs + Bs):
        return None
    return Adapt(mus, Cs, Bs)


def _eliminate(K, start, stop, blocks_inv):
    """Schur complement of the block-diagonal rows/columns start:stop of K (they are the last)."""
    G, d, _ = blocks_inv.shape
    inv = sp.bsr_matrix((blocks_inv, np.arange(G), np.arange(G + 1)), shape=(G * d, G * d))
    K = K.tocsc()
    top, side = K[:start, :start], K[:start, start:stop]
    return (top - side @ inv.tocsc() @ side.T).tocsr()


def _blocks(H, rows, cols):
    """(G, a, b) blocks H[rows[g], cols[g]] of sparse H; rows (G, a), cols (G, b) indices."""
    G, a = rows.shape
    b = cols.shape[1]
    out = np.empty((G, a, b))
    for i in range(a):
        for j in range(b):
            out[:, i, j] = np.asarray(H[rows[:, i], cols[:, j]]).ravel()
    return out
