"""The Monte Carlo likelihood approximation, summed over independent blocks, and its derivatives.

The random effects split into independent blocks b (``design.blocks``); row k of
the draws U holds, for every block, its k-th draw u_bk from the block's proposal
f~_b.  With theta = (beta, nu):

    b_bk  = log f_theta(y_b | u_bk) + log f_nu(u_bk) - log f~_b(u_bk)
    l_m   = sum_b log( (1/m) sum_k exp(b_bk) )
    v_bk  = exp(b_bk) / sum_k exp(b_bk);  g_bk = grad_theta [log f_theta(y_b | u_bk) + log f_nu(u_bk)]
    grad  = sum_b gbar_b,  gbar_b = sum_k v_bk g_bk
    hess  = sum_b [ sum_k v_bk (H_bk + g_bk g_bk') - gbar_b gbar_b' ]
    V     = sum_b sum_k v_bk^2 (g_bk - gbar_b)(g_bk - gbar_b)'   (MC variance of grad; mcse.py)

where log f_theta(y_b | u) = sum_{i in b} w_i (y_i eta_i - c(eta_i)), eta = X beta + Z u,
and log f_nu(u_b) = -1/2 sum_t (q_bt log(2 pi nu_t) + S_bt(u) / nu_t) with S_bt the
sum of squares of block b's effects of component t.  R glmm's joint method is the
case of one block (every effect in block 0, one joint proposal).

The m draws are cut into "atoms" whose size depends only on n, never on
``n_jobs`` or the memory budget.  An evaluation makes two passes over them.  The
first computes every b_bk (it needs c(eta) only); with a_b = max_k b_bk known, the
second computes derivatives for the draws whose weight exp(b_bk - a_b) is at least
NEGLIGIBLE (2^-60) in some block: the others change no sum by as much as a
rounding error (a_b is known, so the threshold is v_bk >= NEGLIGIBLE / s0_b, s0_b =
sum_k exp(b_bk - a_b)).  The second pass needs, per draw and block, only
X_b'w_b c'(eta_k) and X_b'W_b c''(eta_k) X_b: when they are few (``maps.per_draw_sums``:
a rule on the model's shape, not the budget) the first pass keeps them, from the c',
c'' that come with c, and the second pass touches no observation; otherwise it makes
its own pass over the observations.  Observations are taken in row blocks of about
ROW_BYTES per atom.  Per-block sums over observations are sparse products with the
(B, n) matrix of w_i at (block of i, i), never a Python loop over blocks; atoms'
sums are added in atom order, so the result is bitwise the same however atoms are
grouped into tasks.  What does not depend on theta (the draws, log f~, and when
they fit the budget Z u_k, sum_{i in b} w_i y_i (Z u_k)_i - log f~_b(u_bk) and
S_bt(u_k)) is computed once, in ``MCLAObjective.build``.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ...design.blocks import Blocks
from ..base import Evaluation
from ...parallel import effective_jobs, run_ordered, shares_memory, split_evenly
from .maps import BlockMaps, local_maps, local_sum

ATOM_BYTES = 2 ** 20         # one n x atom array of float64
MIN_ATOM, MAX_ATOM = 16, 1024
NEGLIGIBLE = 2.0 ** -60      # weight, relative to the block's largest, below which a draw is skipped
ROW_BYTES = 2 ** 18          # one (rows, atom) array of float64 per block of observations
MIN_ROWS = 2048              # observations per row block at least (fewer cost more in calls)


@dataclass(frozen=True)
class AtomSums:
    """Sums over one atom of draws, each term weighted by v_bk (block b's normalised weight)."""

    s1: np.ndarray            # (P, B)  sum_k v_bk g_bk
    s2: np.ndarray            # (P, P)  sum_bk v_bk g_bk g_bk'
    xwx: np.ndarray           # (p, p)  sum_i c2_i x_i x_i',  c2_i = sum_k v_{b(i)k} w_i c''(eta_ik)
    ss: np.ndarray            # (T,)    sum_bk v_bk S_bt(u_k)
    h1: np.ndarray            # (P, B)  sum_k v_bk^2 g_bk
    v2: np.ndarray            # (P, P)  sum_bk v_bk^2 g_bk g_bk'
    e2: np.ndarray            # (B,)    sum_k v_bk^2


def atom_size(n):
    """Draws per atom: an (n, atom) float64 array stays near ATOM_BYTES."""
    return int(max(MIN_ATOM, min(MAX_ATOM, ATOM_BYTES // (8 * max(n, 1)))))


def rows_per_block(k):
    """Observations per row block for atoms of k draws: a (rows, k) float64 array stays near
    ROW_BYTES, so an evaluation's temporaries stay in cache and in the allocator's reused
    memory (1 MiB arrays are returned to the system and page-faulted back on every call), but
    at least MIN_ROWS (murder, n = 1308, in 4 row blocks: 10% slower than in one)."""
    return int(max(MIN_ROWS, ROW_BYTES // (8 * max(k, 1))))


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


def _from_draw_sums(draw_sums, v, live, p):
    """(sum_i w_i x_i c'(eta_ik) per block (p B, k), sum_bk v_bk X_b'W_b c''(eta_k) X_b (p, p))
    of an atom's ``live`` draws (weights v (B, k)) from its per-draw sums."""
    wx_c1, wxx_c2 = draw_sums
    if live is not None:
        wx_c1, wxx_c2 = wx_c1[:, live], wxx_c2[:, live]
    upper = wxx_c2.reshape(-1, v.size) @ v.reshape(v.size)             # (p(p+1)/2,)
    j, l = np.triu_indices(p)
    xwx = np.empty((p, p))
    xwx[j, l] = upper
    xwx[l, j] = upper
    return wx_c1, xwx


@dataclass(frozen=True)
class MCLAObjective:
    """The per-block MCLA as a function of theta, with every theta-free quantity precomputed.

    U: (m, q) draws; logq: (m, B) their log f~_b; maps: BlockMaps; row_blocks: slices
    of ``rows_per_block(atom)`` observations, z_blocks: Z's rows in those blocks as CSR
    (row-wise products with a block of draws are five times faster than CSC's, and a
    block's arrays stay in cache), w_blocks, wx_blocks, wxx_blocks: the ``local_maps``
    of row_w, row_wx and row_wxx (None without per-draw sums); zu_atoms: the (n, k)
    blocks Z u_k per atom when they fit half of ``memory_budget`` bytes, else None
    (recomputed per evaluation); fixed_atoms: per atom the theta-free (B, k) and
    (T, B, k) of ``_atom_fixed`` when they fit a quarter of it, else None; wXy (p, B) =
    X_b'w_b y_b.
    """

    design: object
    family: object
    U: np.ndarray
    logq: np.ndarray
    maps: BlockMaps
    atoms: tuple
    row_blocks: tuple
    z_blocks: tuple
    w_blocks: tuple
    wx_blocks: tuple
    wxx_blocks: tuple | None
    zu_atoms: tuple | None
    fixed_atoms: tuple | None
    wXy: np.ndarray
    n_jobs: int = 1

    @classmethod
    def build(cls, design, family, U, logq, n_jobs=1, memory_budget=2 ** 30, blocks=None):
        """Precompute what does not depend on theta. U: (m, q), logq: (m, B) or (m,) for one
        block; ``blocks`` (design.blocks.Blocks) defaults to one block (R glmm's joint MCLA)."""
        blocks = Blocks.single(design.n, design.q) if blocks is None else blocks
        logq = np.asarray(logq, dtype=float).reshape(U.shape[0], blocks.n_blocks)
        m, n = U.shape[0], design.n
        k = atom_size(n)
        atoms = tuple(slice(s, min(s + k, m)) for s in range(0, m, k))
        rows = rows_per_block(k)
        row_blocks = tuple(slice(r, min(r + rows, n)) for r in range(0, n, rows))
        z_rows = design.Z.tocsr()
        maps = BlockMaps.build(design, blocks)
        store = 8 * n * m <= memory_budget // 2
        zu_atoms = tuple(z_rows @ U[sl].T for sl in atoms) if store else None
        wXy = (maps.row_wx @ design.y).reshape(design.p, blocks.n_blocks)
        objective = cls(design, family, U, logq, maps, atoms, row_blocks,
                        tuple(z_rows[rows] for rows in row_blocks),
                        local_maps(maps.row_w, blocks, row_blocks),
                        local_maps(maps.row_wx, blocks, row_blocks),
                        None if maps.row_wxx is None else
                        local_maps(maps.row_wxx, blocks, row_blocks),
                        zu_atoms, None, wXy, n_jobs)
        if 8 * (design.T + 1) * blocks.n_blocks * m > memory_budget // 4:
            return objective
        return replace(objective, fixed_atoms=tuple(objective._atom_fixed(i)
                                                    for i in range(len(atoms))))

    @property
    def m(self):
        return self.U.shape[0]

    @property
    def n_blocks(self):
        return self.maps.blocks.n_blocks

    def _eta_blocks(self, i, eta_fixed, live=None):
        """(row block index, eta) for atom i; eta: (rows, k) for the atom's draws, or only its
        ``live`` ones (a boolean mask)."""
        stored = self.zu_atoms is not None
        draws_t = None if stored else np.ascontiguousarray(self.U[self.atoms[i]].T)   # (q, k)
        for j, (rows, z) in enumerate(zip(self.row_blocks, self.z_blocks)):
            # Z u_k is always formed for the whole atom, stored or not: a product with
            # fewer columns may round differently.
            zu = self.zu_atoms[i][rows] if stored else z @ draws_t
            own = not stored                          # zu is this call's to change in place
            if live is not None:
                zu, own = zu[:, live], True
            if own:
                zu += eta_fixed[rows, None]
                yield j, zu
            else:
                yield j, zu + eta_fixed[rows, None]

    def _block_ss(self, draws):
        """S_bt(u_k) for each draw: (T, B, k)."""
        T, k = self.design.T, len(draws)
        bt = np.asarray(self.maps.col_bt.T @ (draws * draws).T)                 # (B T, k)
        return bt.reshape(-1, T, k).transpose(1, 0, 2)

    def _log_f_nu(self, nu, ss):
        """log f_nu(u_bk): (B, k) from ss (T, B, k)."""
        const = self.maps.n_bt @ np.log(2 * np.pi * nu)
        return -0.5 * (const[:, None] + np.tensordot(1.0 / nu, ss, axes=1))

    def _atom_fixed(self, i):
        """The theta-free parts of atom i's b: sum_{i in b} w_i y_i (Z u_k)_i - log f~_b(u_bk)
        (B, k) and S_bt(u_k) (T, B, k)."""
        sl = self.atoms[i]
        draws = self.U[sl]
        wy_zu = np.asarray(self.maps.col.T @ (draws * self.maps.zwy).T)
        return wy_zu - self.logq[sl].T, self._block_ss(draws)

    def _fixed(self, i):
        return self._atom_fixed(i) if self.fixed_atoms is None else self.fixed_atoms[i]

    def _task_log_weights(self, indices, beta, nu):
        """First pass over the atoms in ``indices``: per atom (b (B, k), per-draw sums or None)."""
        d = self.design
        eta_fixed = d.X @ beta
        wy_eta_fixed = self.maps.row_w @ (d.y * eta_fixed)
        return [self._atom_log_weights(i, eta_fixed, wy_eta_fixed, nu) for i in indices]

    def _atom_log_weights(self, i, eta_fixed, wy_eta_fixed, nu):
        """b (B, k) of atom i and, when ``wxx_blocks`` is set, its per-draw sums
        (X_b'w_b c'(eta_k) (p B, k), X_b'W_b c''(eta_k) X_b's upper triangle (r B, k)).
        c comes with c', c'' from cumulant_derivs: the logistic one shares a single exp with
        them and costs a quarter of the cumulant alone (np.logaddexp)."""
        d, per_draw = self.design, self.wxx_blocks is not None
        c_sum, c1_sum, c2_sum = [], [], []
        for j, eta in self._eta_blocks(i, eta_fixed):
            c, c1, c2 = self.family.cumulant_derivs(eta, d.ntrials[self.row_blocks[j], None])
            c_sum.append(self.w_blocks[j][1] @ c)
            if per_draw:
                c1_sum.append(self.wx_blocks[j][1] @ c1)
                c2_sum.append(self.wxx_blocks[j][1] @ c2)
        base, ss = self._fixed(i)
        B = self.n_blocks
        c_sum = local_sum(c_sum, self.w_blocks, B)
        b = wy_eta_fixed[:, None] + base - c_sum + self._log_f_nu(nu, ss)
        if not per_draw:
            return b, None
        return b, (local_sum(c1_sum, self.wx_blocks, d.p * B),
                   local_sum(c2_sum, self.wxx_blocks, self.maps.row_wxx.shape[0]))

    def _task_sums(self, indices, beta, nu, v_atoms, floor, draw_sums):
        """Second pass: AtomSums for the atoms in ``indices`` given their weights v (B, k),
        the blocks' negligible weights floor (B,) and their per-draw sums (or Nones)."""
        return [self._atom_sums(i, beta, nu, v, floor, sums)
                for i, v, sums in zip(indices, v_atoms, draw_sums)]

    def _atom_sums(self, i, beta, nu, v, floor, draw_sums=None):
        """AtomSums of atom i over its draws with a weight v_bk >= floor_b in some block.

        g_bk's fixed-effect part X_b'w_b(y_b - c'(eta_bk)) is X_b'w_b y_b minus the
        per-block sums of w_i x_i c'(eta_ik); its variance part is
        -q_bt / (2 nu_t) + S_bt(u_k) / (2 nu_t^2).  Those sums and X'diag(c2)X come from
        the first pass's per-draw sums when given, else from a pass over the observations.
        """
        d, B, P = self.design, self.n_blocks, self.design.p + self.design.T
        # every draw is live when some block's weights all pass (the cheap, usual case)
        live = None if np.any(v.min(axis=1) >= floor) else (v >= floor[:, None]).any(axis=0)
        if live is not None and not live.any():
            zero = np.zeros((P, B))
            return AtomSums(zero, np.zeros((P, P)), np.zeros((d.p, d.p)), np.zeros(d.T), zero,
                            np.zeros((P, P)), np.zeros(B))
        ss = self._fixed(i)[1]                                              # (T, B, k)
        if live is not None:
            v, ss = v[:, live], ss[:, :, live]
        v = np.ascontiguousarray(v)
        k = v.shape[1]
        wx_c1, xwx = (self._observation_sums(i, beta, v, live) if draw_sums is None
                      else _from_draw_sums(draw_sums, v, live, d.p))
        g = np.empty((P, B, k))                                            # g_bk, block-major
        np.subtract(self.wXy[:, :, None], wx_c1.reshape(d.p, B, k), out=g[:d.p])
        np.multiply(ss, 0.5 / nu[:, None, None] ** 2, out=g[d.p:])
        g[d.p:] -= (0.5 * self.maps.n_bt.T / nu[:, None])[:, :, None]
        flat, v_flat = g.reshape(P, B * k), v.reshape(B * k)
        weighted = np.empty((2, P, B * k))                                 # v g and v^2 g
        np.multiply(flat, v_flat, out=weighted[0])
        np.multiply(weighted[0], v_flat, out=weighted[1])
        moments = weighted.reshape(2 * P, B * k) @ flat.T                  # (2P, P)
        firsts = weighted.reshape(2, P, B, k).sum(axis=3)                  # (2, P, B)
        return AtomSums(firsts[0], moments[:P], xwx, ss.reshape(d.T, B * k) @ v_flat, firsts[1],
                        moments[P:], np.einsum("bk,bk->b", v, v))

    def _observation_sums(self, i, beta, v, live):
        """(sum_i w_i x_i c'(eta_ik) per block (p B, k), X'diag(c2)X (p, p)) of atom i's
        ``live`` draws (weights v (B, k)) by a pass over the observations."""
        d = self.design
        wx_c1, xwx = [], []
        for j, eta in self._eta_blocks(i, d.X @ beta, live):
            rows = self.row_blocks[j]
            c1, c2 = self.family.mean_variance(eta, d.ntrials[rows, None])
            wx_c1.append(self.wx_blocks[j][1] @ c1)
            c2 = d.weights[rows] * np.einsum("ik,ik->i", c2, v[self.maps.blocks.row_block[rows]])
            xwx.append((d.X[rows].T * c2) @ d.X[rows])
        return local_sum(wx_c1, self.wx_blocks, d.p * self.n_blocks), _ordered_sum(xwx)

    def _groups(self):
        return split_evenly(range(len(self.atoms)), effective_jobs(self.n_jobs))

    def log_weights(self, theta):
        """b (B, m) at theta = (beta, nu): the log importance weights, unnormalised."""
        return self._first_pass(theta)[0]

    def _first_pass(self, theta):
        """(b (B, m), the atoms' per-draw sums (or Nones)) at theta."""
        p = self.design.p
        parts = run_ordered(self._payload()._task_log_weights,
                            [(g, theta[:p], theta[p:]) for g in self._groups()], self.n_jobs)
        atoms = [atom for part in parts for atom in part]
        return np.concatenate([b for b, _ in atoms], axis=1), [sums for _, sums in atoms]

    def _payload(self):
        """Workers in other processes recompute Z u_k and the theta-free parts (the same
        arithmetic) rather than receive the stored blocks with every evaluation."""
        return self if shares_memory() else replace(self, zu_atoms=None, fixed_atoms=None)

    def _sums(self, theta):
        """(a (B,), log s0 (B,), AtomSums over all draws) at theta; a is -inf if infeasible."""
        p = self.design.p
        b, draw_sums = self._first_pass(theta)
        a = np.max(b, axis=1)
        if not np.all(np.isfinite(a)):
            return a, None, None
        v = b                                   # in place: (B, m) arrays are large for many blocks
        v -= a[:, None]
        np.exp(v, out=v)
        s0 = v.sum(axis=1)
        v /= s0[:, None]
        floor = NEGLIGIBLE / s0
        tasks = [(g, theta[:p], theta[p:], [v[:, self.atoms[i]] for i in g], floor,
                  [draw_sums[i] for i in g]) for g in self._groups()]
        parts = run_ordered(self._payload()._task_sums, tasks, self.n_jobs)
        return a, np.log(s0), _combine([s for part in parts for s in part])

    def evaluate(self, theta):
        """Evaluation at theta = (beta, nu), two passes over the draws; -inf if any nu <= 0."""
        theta = np.asarray(theta, dtype=float)
        p = self.design.p
        nu = theta[p:]
        if np.any(nu <= 0) or not np.all(np.isfinite(theta)):
            return Evaluation(-np.inf)
        a, log_s0, s = self._sums(theta)
        if s is None:
            return Evaluation(-np.inf)
        value = float(np.sum(a + log_s0) - self.n_blocks * np.log(self.m))
        gbar = s.s1                                                          # (P, B)
        grad = gbar.sum(axis=1)
        model_hess = np.zeros((len(theta), len(theta)))
        model_hess[:p, :p] = -s.xwx
        model_hess[p:, p:] = np.diag(0.5 * self.design.n_random / nu ** 2 - s.ss / nu ** 3)
        hess = model_hess + s.s2 - gbar @ gbar.T
        cross = s.h1 @ gbar.T
        v2 = s.v2 - cross - cross.T + (gbar * s.e2) @ gbar.T
        return Evaluation(value, grad, hess, ess=1.0 / s.e2, v2=v2)

    def weights(self, theta):
        """The normalised importance weights v (B, m) at theta (one row per block)."""
        b = self.log_weights(np.asarray(theta, dtype=float))
        e = np.exp(b - b.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
