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
``n_jobs`` or the memory budget.  An evaluation makes two passes over them.  The
first computes every b_k (it needs c(eta) only); with a = max_k b_k known, the
second computes derivatives for the draws whose weight exp(b_k - a) is at least
NEGLIGIBLE (2^-60): the others change no sum by as much as a rounding error, and
in MCLA they are usually the great majority.  Atoms' sums are added in atom
order, so nothing overflows and the result is bitwise the same however atoms
are grouped into tasks.  Everything that does not depend on theta (the draws,
log f~, Z u_k when it fits the budget, S_t(u_k), (w y)' Z u_k) is computed once,
in ``MCLAObjective.build``.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import scipy.sparse as sp

from ...parallel import effective_jobs, run_ordered, shares_memory, split_evenly

ATOM_BYTES = 2 ** 20         # one n x atom array of float64: stays in cache
MIN_ATOM, MAX_ATOM = 16, 1024
NEGLIGIBLE = 2.0 ** -60      # weight, relative to the largest, below which a draw is skipped
ROW_BLOCK = 8192             # observations per block of an atom's arrays


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
    """Sums over one atom of draws, each term weighted by e_k = exp(b_k - a), a = max b."""

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


def _weighted_cumulant(family, w, ntrials, eta_blocks):
    """sum_i w_i c(eta_ik) for each draw of an atom, from (rows, eta) blocks in row order: (k,)."""
    return _ordered_sum([w[rows] @ family.cumulant(eta, ntrials[rows, None])
                         for rows, eta in eta_blocks])


def _atom_sums(family, wX, wXy, w, ntrials, eta_blocks, e, ss, nu, n_random):
    """AtomSums over the draws of one atom that matter; ``eta_blocks`` gives their
    (rows, eta) blocks, e: (k,) their weights, ss: (k, T); wX = diag(w) X, wXy = X'wy.

    g_k's fixed-effect part X'w(y - c'(eta_k)) is formed as X'wy - sum over row
    blocks of (wX)'c'(eta_k), and sum_k e_k w c''(eta_k) as w * (c''(eta) e).
    """
    c2e = np.empty(len(w))
    wx_c1 = []
    for rows, eta in eta_blocks:
        c1, c2 = family.mean_variance(eta, ntrials[rows, None])
        wx_c1.append(wX[rows].T @ c1)
        c2e[rows] = w[rows] * (c2 @ e)
    g = np.vstack([wXy[:, None] - _ordered_sum(wx_c1),
                   (-0.5 * n_random / nu)[:, None] + 0.5 * (ss / nu ** 2).T])
    ge = g * e
    return AtomSums(s0=e.sum(), s1=ge.sum(axis=1), s2=ge @ g.T, c2=c2e, ss=ss.T @ e,
                    v2=(ge * e) @ g.T, e2=e @ e)


def _no_sums(P, n, T):
    """AtomSums of an atom none of whose draws matter."""
    return AtomSums(0.0, np.zeros(P), np.zeros((P, P)), np.zeros(n), np.zeros(T),
                    np.zeros((P, P)), 0.0)


def _ordered_sum(terms):
    """Left-to-right sum (the order is part of the result's bitwise reproducibility)."""
    total = terms[0]
    for t in terms[1:]:
        total = total + t
    return total


def _combine(parts):
    """AtomSums of all atoms, added field by field in atom order."""
    return AtomSums(**{name: _ordered_sum([getattr(p, name) for p in parts])
                       for name in AtomSums.__dataclass_fields__})


@dataclass(frozen=True)
class MCLAObjective:
    """The MCLA as a function of theta, with every theta-free quantity precomputed.

    U: (m, q) draws; logq: (m,) their log f~; ss: (m, T) per-component sums of
    squares; wy_zu: (m,) (w y)' Z u_k; row_blocks: slices of at most ROW_BLOCK
    observations, z_blocks: Z's rows in those blocks as CSR (row-wise products
    with a block of draws are five times faster than CSC's, and a block's arrays
    stay in cache); zu_atoms: the (n, k) blocks Z u_k per atom when they fit half
    of ``memory_budget`` bytes, else None (recomputed per evaluation); wX (n, p) =
    diag(w) X and wXy (p,) = X'wy.
    """

    design: object
    family: object
    U: np.ndarray
    logq: np.ndarray
    ss: np.ndarray
    wy_zu: np.ndarray
    atoms: tuple
    row_blocks: tuple
    z_blocks: tuple
    zu_atoms: tuple | None
    wX: np.ndarray
    wXy: np.ndarray
    n_jobs: int = 1

    @classmethod
    def build(cls, design, family, U, logq, n_jobs=1, memory_budget=2 ** 30):
        """Precompute what does not depend on theta. U: (m, q), logq: (m,)."""
        m, n = U.shape[0], design.n
        k = atom_size(n)
        atoms = tuple(slice(s, min(s + k, m)) for s in range(0, m, k))
        row_blocks = tuple(slice(r, min(r + ROW_BLOCK, n)) for r in range(0, n, ROW_BLOCK))
        z_rows = design.Z.tocsr()
        z_blocks = tuple(z_rows[rows] for rows in row_blocks)
        store = 8 * n * m <= memory_budget // 2
        zu_atoms = tuple(z_rows @ U[sl].T for sl in atoms) if store else None
        wy_zu = U @ (design.Z.T @ (design.weights * design.y))
        wX = design.X * design.weights[:, None]
        return cls(design, family, U, logq, _component_sums(U * U, design), wy_zu, atoms,
                   row_blocks, z_blocks, zu_atoms, wX, wX.T @ design.y, n_jobs)

    @property
    def m(self):
        return self.U.shape[0]

    def _eta_blocks(self, i, eta_fixed, live=None):
        """(rows, eta) for atom i, block by block of observations; eta: (rows, k) for the
        atom's draws, or only its ``live`` ones (a boolean mask)."""
        draws = self.U[self.atoms[i]]
        for rows, z in zip(self.row_blocks, self.z_blocks):
            # Z u_k is always formed for the whole atom, stored or not: a product with
            # fewer columns may round differently.
            zu = z @ draws.T if self.zu_atoms is None else self.zu_atoms[i][rows]
            yield rows, (zu if live is None else zu[:, live]) + eta_fixed[rows, None]

    def _task_log_weights(self, indices, beta, nu):
        """First pass: b for the atoms in ``indices`` (a list of (k,) arrays),
        b_k = sum_i w_i (y_i eta_ik - c(eta_ik)) + log f_nu(u_k) - log f~(u_k)."""
        d = self.design
        eta_fixed = d.X @ beta
        wy_eta_fixed = (d.weights * d.y) @ eta_fixed
        out = []
        for i in indices:
            sl = self.atoms[i]
            c_sum = _weighted_cumulant(self.family, d.weights, d.ntrials,
                                       self._eta_blocks(i, eta_fixed))
            out.append(wy_eta_fixed + self.wy_zu[sl] - c_sum
                       + log_f_nu(nu, d.n_random, self.ss[sl]) - self.logq[sl])
        return out

    def _task_sums(self, indices, beta, nu, e_atoms):
        """Second pass: AtomSums for the atoms in ``indices`` given their weights e,
        over the draws whose weight is at least NEGLIGIBLE."""
        d = self.design
        eta_fixed = d.X @ beta
        out = []
        for i, e in zip(indices, e_atoms):
            live = e >= NEGLIGIBLE
            if not live.any():
                out.append(_no_sums(d.p + d.T, d.n, d.T))
                continue
            out.append(_atom_sums(self.family, self.wX, self.wXy, d.weights, d.ntrials,
                                  self._eta_blocks(i, eta_fixed, live), e[live],
                                  self.ss[self.atoms[i]][live], nu, d.n_random))
        return out

    def log_weights(self, theta):
        """b (m,) at theta = (beta, nu): the log importance weights, unnormalised."""
        p = self.design.p
        groups = split_evenly(range(len(self.atoms)), effective_jobs(self.n_jobs))
        parts = run_ordered(self._payload()._task_log_weights,
                            [(g, theta[:p], theta[p:]) for g in groups], self.n_jobs)
        return np.concatenate([b for part in parts for b in part])

    def _payload(self):
        """Workers in other processes recompute Z u_k (the same arithmetic) rather than
        receive the stored blocks with every evaluation."""
        return self if shares_memory() else replace(self, zu_atoms=None)

    def _sums(self, theta):
        """(a, AtomSums over all draws) at theta."""
        p = self.design.p
        b = self.log_weights(theta)
        a = np.max(b)
        if not np.isfinite(a):
            return a, None
        e = np.exp(b - a)
        groups = split_evenly(range(len(self.atoms)), effective_jobs(self.n_jobs))
        tasks = [(g, theta[:p], theta[p:], [e[self.atoms[i]] for i in g]) for g in groups]
        parts = run_ordered(self._payload()._task_sums, tasks, self.n_jobs)
        return a, _combine([s for part in parts for s in part])

    def evaluate(self, theta):
        """Evaluation at theta = (beta, nu), two passes over the draws; value -inf if any nu <= 0."""
        theta = np.asarray(theta, dtype=float)
        p = self.design.p
        nu = theta[p:]
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
        b = self.log_weights(np.asarray(theta, dtype=float))
        e = np.exp(b - b.max())
        return e / e.sum()


def _component_sums(U2, design):
    """Per-component sums of squares: U2 (m, q) -> (m, T), summing columns by vc_index."""
    indicator = sp.csr_matrix((np.ones(design.q), (np.arange(design.q), design.vc_index)),
                              shape=(design.q, design.T))
    return np.asarray((indicator.T @ U2.T).T)
