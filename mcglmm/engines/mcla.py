"""The Monte Carlo likelihood approximation (R glmm's objective) and its derivatives.

With draws u_1..u_m from the importance density f~ and theta = (beta, nu):

    b_k   = log f_theta(y | u_k) + log f_nu(u_k) - log f~(u_k)
    l_m   = log( (1/m) sum_k exp(b_k) )
    v     = softmax(b);  g_k = grad_theta [log f_theta(y | u_k) + log f_nu(u_k)]
    grad  = sum_k v_k g_k
    hess  = sum_k v_k (H_k + g_k g_k') - grad grad'
    MC covariance of the MCMLE = U^-1 V U^-1 / m,  U = hess,  V = m sum_k v_k^2 g_k g_k'

where log f_theta(y | u) = sum_i w_i (y_i eta_i - c(eta_i)), eta = X beta + Z u,
and log f_nu(u) = -1/2 sum_t (q_t log(2 pi nu_t) + S_t(u) / nu_t) with S_t(u)
the sum of squares of the components of u belonging to variance component t.

The m draws are cut into "atoms" whose size depends only on n, never on
``n_jobs`` or the memory budget.  Each atom returns its sums scaled by its own
largest weight; atoms are combined in order after the overall maximum is known
(log-sum-exp), so nothing overflows and the result is bitwise the same however
atoms are grouped into tasks.  Everything that does not depend on theta (the
draws, log f~, Z u_k when it fits the budget, S_t(u_k), (w y)' Z u_k) is
computed once, in ``MCLAObjective.build``.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import scipy.sparse as sp

from ..parallel import effective_jobs, run_ordered, shares_memory, split_evenly

ATOM_BYTES = 2 ** 20         # one n x atom array of float64: stays in cache
MIN_ATOM, MAX_ATOM = 16, 1024
NEGLIGIBLE = 2.0 ** -60      # relative weight below which a draw's derivatives are skipped


@dataclass(frozen=True)
class Evaluation:
    """value: float; gradient: (P,); hessian: (P, P); ess: 1 / sum v_k^2;
    v2: (P, P) sum v_k^2 g_k g_k' (for the Monte Carlo covariance)."""

    value: float
    gradient: np.ndarray | None = None
    hessian: np.ndarray | None = None
    ess: float | None = None
    v2: np.ndarray | None = None


@dataclass(frozen=True)
class AtomSums:
    """Sums over one atom of draws, each term weighted by e_k = exp(b_k - a)."""

    a: float
    s0: float
    s1: np.ndarray            # (P,)    sum e_k g_k
    s2: np.ndarray            # (P, P)  sum e_k g_k g_k'
    c2: np.ndarray            # (n,)    sum e_k w c''(eta_k)
    ss: np.ndarray            # (T,)    sum e_k S_t(u_k)
    v2: np.ndarray            # (P, P)  sum e_k^2 g_k g_k'
    e2: float                 # sum e_k^2


def atom_size(n):
    """Draws per atom: an (n, atom) float64 array stays near ATOM_BYTES."""
    return int(max(MIN_ATOM, min(MAX_ATOM, ATOM_BYTES // (8 * max(n, 1)))))


def log_f_nu(nu, n_random, ss):
    """log f_nu(u_k) for each draw: nu (T,), n_random (T,), ss (k, T) -> (k,)."""
    return -0.5 * (np.sum(n_random * np.log(2 * np.pi * nu)) + ss @ (1.0 / nu))


def _log_weights(family, w, y, ntrials, eta_fixed, zu, wy_zu, lfu_minus_logq):
    """eta (n, k) and b (k,) for one atom: b_k = sum_i w_i (y_i eta_ik - c(eta_ik)) + lfu - logq."""
    eta = zu + eta_fixed[:, None]
    b = (w * y) @ eta_fixed + wy_zu - w @ family.cumulant(eta, ntrials[:, None]) + lfu_minus_logq
    return eta, b


def _atom_sums(family, X, y, w, ntrials, eta_fixed, zu, wy_zu, lfu_minus_logq, ss, nu,
               n_random):
    """AtomSums for one atom. zu: (n, k) = Z u_k; wy_zu: (k,); ss: (k, T).

    The log weights need only c(eta).  Derivatives are computed only for draws
    whose weight is at least NEGLIGIBLE times the atom's largest, hence times the
    overall largest: the others change no sum by as much as one rounding error.
    g_k's fixed-effect part X'w(y - c'(eta_k)) is formed as X'wy - (wX)'c'(eta_k),
    and sum_k e_k w c''(eta_k) as w * (c''(eta) e): no further n x k temporaries.
    """
    eta, b = _log_weights(family, w, y, ntrials, eta_fixed, zu, wy_zu, lfu_minus_logq)
    a = np.max(b)
    P = X.shape[1] + nu.shape[0]
    if not np.isfinite(a):
        return AtomSums(-np.inf, 0.0, np.zeros(P), np.zeros((P, P)), np.zeros(len(y)),
                        np.zeros(len(nu)), np.zeros((P, P)), 0.0)
    e = np.exp(b - a)
    live = e >= NEGLIGIBLE
    e, ss = e[live], ss[live]
    _, c1, c2 = family.cumulant_derivs(eta[:, live], ntrials[:, None])
    wX = X * w[:, None]
    g = np.vstack([(wX.T @ y)[:, None] - wX.T @ c1,
                   (-0.5 * n_random / nu)[:, None] + 0.5 * (ss / nu ** 2).T])
    ge = g * e
    return AtomSums(a=a, s0=e.sum(), s1=ge.sum(axis=1), s2=ge @ g.T, c2=w * (c2 @ e),
                    ss=ss.T @ e, v2=(ge * e) @ g.T, e2=e @ e)


def _ordered_sum(terms):
    """Left-to-right sum (the order is part of the result's bitwise reproducibility)."""
    total = terms[0]
    for t in terms[1:]:
        total = total + t
    return total


def _combine(parts):
    """Sum AtomSums in order after rescaling each to the overall maximum weight.

    Sums of e_k scale by exp(a_atom - a); sums of e_k^2 by its square.
    """
    a = max(p.a for p in parts)
    if not np.isfinite(a):
        return a, parts[0]
    scale = [np.exp(p.a - a) for p in parts]
    total = {name: _ordered_sum([s * getattr(p, name) for p, s in zip(parts, scale)])
             for name in ("s0", "s1", "s2", "c2", "ss")}
    total["e2"] = _ordered_sum([s * s * p.e2 for p, s in zip(parts, scale)])
    total["v2"] = _ordered_sum([s * s * p.v2 for p, s in zip(parts, scale)])
    return a, AtomSums(a=a, **total)


@dataclass(frozen=True)
class MCLAObjective:
    """The MCLA as a function of theta, with every theta-free quantity precomputed.

    U: (m, q) draws; logq: (m,) their log f~; ss: (m, T) per-component sums of
    squares; wy_zu: (m,) (w y)' Z u_k; z_rows: Z as CSR (row-wise products with a
    block of draws are five times faster than CSC's); zu_atoms: the (n, k) blocks
    Z u_k per atom when they fit half of ``memory_budget`` bytes, else None
    (recomputed per evaluation).
    """

    design: object
    family: object
    U: np.ndarray
    logq: np.ndarray
    ss: np.ndarray
    wy_zu: np.ndarray
    atoms: tuple
    z_rows: sp.csr_matrix
    zu_atoms: tuple | None
    n_jobs: int = 1

    @classmethod
    def build(cls, design, family, U, logq, n_jobs=1, memory_budget=2 ** 30):
        """Precompute what does not depend on theta. U: (m, q), logq: (m,)."""
        m = U.shape[0]
        k = atom_size(design.n)
        atoms = tuple(slice(s, min(s + k, m)) for s in range(0, m, k))
        z_rows = design.Z.tocsr()
        store = 8 * design.n * m <= memory_budget // 2
        zu_atoms = tuple(z_rows @ U[sl].T for sl in atoms) if store else None
        wy_zu = U @ (design.Z.T @ (design.weights * design.y))
        return cls(design, family, U, logq, _component_sums(U * U, design), wy_zu, atoms,
                   z_rows, zu_atoms, n_jobs)

    @property
    def m(self):
        return self.U.shape[0]

    def _zu(self, i):
        if self.zu_atoms is not None:
            return self.zu_atoms[i]
        return self.z_rows @ self.U[self.atoms[i]].T

    def _task(self, indices, beta, nu):
        d = self.design
        eta_fixed = d.X @ beta
        n_random = d.n_random
        out = []
        for i in indices:
            sl = self.atoms[i]
            lfu = log_f_nu(nu, n_random, self.ss[sl])
            out.append(_atom_sums(self.family, d.X, d.y, d.weights, d.ntrials, eta_fixed,
                                  self._zu(i), self.wy_zu[sl], lfu - self.logq[sl], self.ss[sl],
                                  nu, n_random))
        return out

    def _sums(self, theta):
        p = self.design.p
        beta, nu = theta[:p], theta[p:]
        groups = split_evenly(range(len(self.atoms)), effective_jobs(self.n_jobs))
        # Workers in other processes recompute Z u_k (the same arithmetic) rather than
        # receive the stored blocks with every evaluation.
        payload = self if shares_memory() else replace(self, zu_atoms=None)
        parts = run_ordered(payload._task, [(g, beta, nu) for g in groups], self.n_jobs)
        return _combine([a for part in parts for a in part])

    def evaluate(self, theta):
        """Evaluation at theta = (beta, nu), one pass over the draws; value -inf if any nu <= 0."""
        theta = np.asarray(theta, dtype=float)
        p = self.design.p
        beta, nu = theta[:p], theta[p:]
        if np.any(nu <= 0) or not np.all(np.isfinite(theta)):
            return Evaluation(-np.inf)
        a, s = self._sums(theta)
        if not np.isfinite(a):
            return Evaluation(-np.inf)
        value = a + np.log(s.s0) - np.log(self.m)
        grad = s.s1 / s.s0
        X = self.design.X
        n_random = self.design.n_random
        model_hess = np.zeros((len(theta), len(theta)))
        model_hess[:p, :p] = -(X.T * (s.c2 / s.s0)) @ X
        model_hess[p:, p:] = np.diag(0.5 * n_random / nu ** 2 - (s.ss / s.s0) / nu ** 3)
        hess = model_hess + s.s2 / s.s0 - np.outer(grad, grad)
        return Evaluation(value, grad, hess, s.s0 ** 2 / s.e2, s.v2 / s.s0 ** 2)


    def weights(self, theta):
        """The normalised importance weights v (m,) at theta."""
        d, p = self.design, self.design.p
        beta, nu = np.asarray(theta[:p]), np.asarray(theta[p:])
        eta_fixed = d.X @ beta
        b = np.concatenate([
            _log_weights(self.family, d.weights, d.y, d.ntrials, eta_fixed, self._zu(i),
                         self.wy_zu[sl], log_f_nu(nu, d.n_random, self.ss[sl]) - self.logq[sl])[1]
            for i, sl in enumerate(self.atoms)])
        e = np.exp(b - b.max())
        return e / e.sum()


def _component_sums(U2, design):
    """Per-component sums of squares: U2 (m, q) -> (m, T), summing columns by vc_index."""
    indicator = sp.csr_matrix((np.ones(design.q), (np.arange(design.q), design.vc_index)),
                              shape=(design.q, design.T))
    return np.asarray((indicator.T @ U2.T).T)


def mc_vcov(evaluation):
    """Monte Carlo covariance of the MCMLE: U^-1 V U^-1 / m = U^-1 (sum v_k^2 g_k g_k') U^-1."""
    Uinv = np.linalg.inv(evaluation.hessian)
    return Uinv @ evaluation.v2 @ Uinv
