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

The mode is found by Newton steps on H, dense for q <= 2000 (Z'WZ by one bincount
over each row's pairs of random effects), else sparse (LU); the gradient needs
H^-1, dense, so q up to a few thousand.  ``curvature_adapt`` turns the mode and H
into the adaptation of nested quadrature (with one node it is this approximation).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, replace

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from ...exceptions import ConvergenceWarning, HessianWarning
from ...model.params import sigmas, unpack
from ...model.spec import cumulative_weights, linear_predictor
from .nodes import Adapt, ancestors

MAX_Q_GRADIENT = 6000   # largest q whose dense H^-1 the gradient forms (checked by meglm)
DENSE_Q = 2000


@dataclass(frozen=True)
class _Algebra:
    """Z (n, q) and P (q, q), dense when q <= DENSE_Q (small crossed models), else sparse."""

    Z: object
    P: object
    dense: bool
    pairs: tuple = ()     # dense path: (flat (n*m*m,) index into q*q, Z_ia Z_ib (n, m, m))

    def hessian(self, W):
        """H = Z' diag(W) Z + P (dense: one bincount over each row's pairs of nonzeros)."""
        if self.dense:
            flat, zz = self.pairs
            q = self.P.shape[0]
            H = np.bincount(flat, weights=(zz * W[:, None, None]).ravel(), minlength=q * q)
            return H.reshape(q, q) + self.P
        return (self.Z.T @ self.Z.multiply(W[:, None]).tocsc() + self.P).tocsc()

    def solve(self, H, b):
        """H^-1 b; least squares, with a HessianWarning, where dense H is singular."""
        if not self.dense:
            return spla.spsolve(H, b)
        try:
            return np.linalg.solve(H, b)
        except np.linalg.LinAlgError:
            warnings.warn("the Hessian of the random effects' joint log density is singular; "
                          "its Newton step is a least-squares solution.", HessianWarning,
                          stacklevel=3)
            return np.linalg.lstsq(H, b, rcond=None)[0]

    def logdet_and_inverse(self, H):
        """(log|H|, H^-1 dense or None) of SPD H; H^-1 only on the dense path."""
        if self.dense:
            return 2.0 * float(np.log(np.diag(np.linalg.cholesky(H))).sum()), np.linalg.inv(H)
        lu = spla.splu(H.tocsc())
        return float(np.log(np.abs(lu.U.diagonal())).sum()), lu


def _row_pairs(model):
    """Each row's pairs of random-effect columns as flat indices into (q, q), and Z_ia Z_ib."""
    q = model.Zj.shape[1]
    cols, vals, offset = [], [], 0
    for lev in model.levels:
        cols.append(offset + lev.index[:, None] * lev.d + np.arange(lev.d))
        vals.append(lev.Z)
        offset += lev.n_groups * lev.d
    cols, vals = np.hstack(cols), np.hstack(vals)
    flat = (cols[:, :, None] * q + cols[:, None, :]).ravel()
    return flat, vals[:, :, None] * vals[:, None, :]


def _algebra(model, P):
    if model.Zj.shape[1] > DENSE_Q:
        return _Algebra(model.Zj, P, False)
    return _Algebra(model.Zj.toarray(), P.toarray(), True, _row_pairs(model))


@dataclass(frozen=True)
class LaplaceEval:
    """value; grad (dim,) or None; mode u^ (q,)."""

    value: float
    grad: np.ndarray | None
    mode: np.ndarray


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
    return float(der.ll.sum() - 0.5 * u @ (alg.P @ u)), der


def find_mode(model, alg, eta0, aux, u0, tol=1e-10, max_iter=100, w_obs=None):
    """Newton maximisation of h(u) with step halving; returns (u^, h(u^), derivatives).

    w_obs (n,) weights the observations' log densities (``curvature_adapt``).

    Where the exact Hessian gives no ascent direction (a log density that is not
    concave in eta) the observations' negative curvatures are floored at 0.  A warm
    start u0 where h is not finite is replaced by 0; where h(0) is not finite too, theta is
    infeasible and (0, h(0), derivatives) are returned at once.  A ConvergenceWarning
    says when step halving finds no point at least as good.
    """
    u = np.zeros(alg.P.shape[0]) if u0 is None else np.asarray(u0, dtype=float).copy()
    h, der = _h_value(model, alg, eta0, aux, u, w_obs)
    if not np.isfinite(h):
        if u0 is not None:
            return find_mode(model, alg, eta0, aux, None, tol, max_iter, w_obs)
        return u, h, der
    for _ in range(max_iter):
        g = alg.Z.T @ der.d1 - alg.P @ u
        step = alg.solve(alg.hessian(-der.d2), g)
        if not g @ step > 0:
            step = alg.solve(alg.hessian(np.maximum(-der.d2, 0.0)), g)
        trial = _halving(model, alg, eta0, aux, u, h, step, w_obs)
        if trial is None:
            warnings.warn("the joint mode of the random effects was not found: step halving "
                          "found no point with h(u) at least as high (log likelihoods at this "
                          "theta are approximate).", ConvergenceWarning, stacklevel=3)
            break
        t, h, der = trial
        u = u + t * step
        if np.max(np.abs(t * step)) < tol:
            break
    return u, h, der


def _halving(model, alg, eta0, aux, u, h, step, w_obs):
    """(t, h(u + t step), derivatives) for the largest t in 1, 1/2, ..., 2^-26 with
    h(u + t step) >= h(u) (to roundoff), or None when there is none."""
    t = 1.0
    while t > 1e-8:
        h_new, der_new = _h_value(model, alg, eta0, aux, u + t * step, w_obs)
        if h_new >= h - 1e-12 * abs(h):
            return t, h_new, der_new
        t *= 0.5
    return None


def laplace(model, theta, u0=None, gradient=True):
    """Laplace log likelihood (and its gradient) at theta; warm start at u0.  An infeasible
    theta (h(u0) not finite) has value -inf and a NaN gradient."""
    beta, aux, psis = unpack(model, theta)
    covs = sigmas(model, psis)
    P, logdet_S = prior_precision(model, covs)
    alg = _algebra(model, P)
    u, h, der = find_mode(model, alg, linear_predictor(model, beta), aux, u0)
    if not np.isfinite(h):
        return LaplaceEval(-np.inf, np.full(model.dim, np.nan) if gradient else None, u)
    logdet_H, inv = alg.logdet_and_inverse(alg.hessian(-der.d2))
    value = h - 0.5 * logdet_S - 0.5 * logdet_H + model.ll_const
    if not gradient:
        return LaplaceEval(value, None, u)
    return LaplaceEval(value, _laplace_gradient(model, alg, der, u, inv, psis), u)


def _laplace_gradient(model, alg, der, u, inv, psis):
    """Exact gradient of the Laplace log likelihood (module docstring)."""
    Z, q = alg.Z, alg.Z.shape[1]
    Hinv = inv if alg.dense else inv.solve(np.eye(q))
    if alg.dense:
        flat, zz = alg.pairs
        s = (zz * Hinv.ravel()[flat].reshape(zz.shape)).sum(axis=(1, 2))
    else:
        s = np.asarray(Z.multiply(Z @ Hinv).sum(axis=1)).ravel()
    v = 0.5 * (Z.T @ (der.d3 * s))
    w = Hinv @ v
    zw = Z @ w
    g_beta = model.X.T @ (der.d1 + 0.5 * der.d3 * s + der.d2 * zw)
    g_aux = np.zeros(model.n_aux)
    for t in der.aux:
        val = t.ll_a + 0.5 * t.d2_a * s + t.d1_a * zw
        ok = t.col >= 0
        g_aux += np.bincount(t.col[ok], weights=val[ok], minlength=model.n_aux)
    g_psi, start = [], 0
    for lev, cov, psi in zip(model.levels, model.covariances, psis):
        d, G = lev.d, lev.n_groups
        sl = slice(start, start + G * d)
        ug, wg = u[sl].reshape(G, d), w[sl].reshape(G, d)
        Hb = Hinv[sl, sl].reshape(G, d, G, d)[np.arange(G), :, np.arange(G), :]
        M = ug.T @ ug + Hb.sum(axis=0) + ug.T @ wg + wg.T @ ug
        g_psi.append(cov.score(psi, M, G))
        start += G * d
    return np.concatenate([g_beta, g_aux] + g_psi)


def curvature_adapt(model, theta, u0=None):
    """Adaptation from the joint mode u^ and the curvature H there, and the mode; None for
    the adaptation of an infeasible theta (h(u0) not finite).

    Per group, the conditional normal given its ancestors with its descendants
    integrated out: levels are eliminated from the bottom (Schur complements of H,
    block diagonal within a level), and then mu = u^_g, B = -K_gg^-1 K_g,anc,
    C = chol(K_gg^-1) with K the curvature left for the levels down to g's.

    With weights the joint function is sum_i c_o[i] log f_i + sum_l sum_g c_l[g] log phi(u_g)
    (each level's weight multiplying its whole subtree): its conditional modes are those
    of the weighted integrands, and group g's block of K is c_l[g] times its curvature,
    so C = chol(c_l[g] K_gg^-1) (B is unchanged).
    """
    beta, aux, psis = unpack(model, theta)
    c_lev, c_obs = cumulative_weights(model)
    weighted = model.weights is not None
    P, _ = prior_precision(model, sigmas(model, psis), c_lev if weighted else None)
    alg = _Algebra(model.Zj, P, False)
    u, h, der = find_mode(model, alg, linear_predictor(model, beta), aux, u0,
                          w_obs=c_obs if weighted else None)
    if not np.isfinite(h):
        return None, u
    K = alg.hessian(np.maximum(-der.d2, 0.0)).tocsr()
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
    return Adapt(mus, Cs, Bs), u


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
