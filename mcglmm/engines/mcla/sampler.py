"""Importance samplers of the MCLA: R glmm's joint mixture and the per-block proposals.

R glmm's sampler (``build_sampler``) is a three-component mixture built once per fit.

With D* = diag(sigma*^2) (sigma* = sqrt(nu*) clamped below at 1e-3, expanded to
the q columns of Z), eta* = X beta* + Z u* and

    P = Z' diag(w c''(eta*)) Z + D*^-1          (q, q), sparse; Sigma~ = P^-1,

the sampling density is

    f~(u) = p1 t_zeta(u; 0, D*) + p2 N(u; u*, D*) + p3 N(u; u*, Sigma~).

Draws are made in blocks of ``BLOCK`` rows, block j from child j+1 of
``SeedSequence(seed)`` (child 0 splits m among the components), so the sample
does not depend on how many workers make it.  As in glmm, the first m1 rows
come from the t, the next m2 from N(u*, D*), the last m3 from N(u*, Sigma~).

The per-block proposal (``block_proposal``) draws each independent block b of
random effects (design.blocks) from its own density, centred at the conditional
mode u^ of u given y at (beta, nu) (engines.modes) with the inverse curvature there:

    P = Z' diag(w c''(eta^)) Z + D^-1  (block diagonal),  S_b = (P_bb)^-1,
    f~_b(u_b) = p_t t_zeta(u_b; u^_b, S_b) + (1 - p_t) N(u_b; u^_b, S_b),

D = diag(sigma^2) with sigma = sqrt(nu) clamped below at 1e-3.  Block b's draws
come from the generator of SeedSequence(seed, spawn_key=(round, b)), so they do not
depend on the number of workers, the memory budget or the other blocks.  Blocks
of equal size are stacked into arrays: no Python loop over blocks touches the
draws except the one that creates each block's generator.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg as la
import scipy.sparse as sp
from scipy.special import gammaln, logsumexp

from ...design.gram import WeightedGram
from ...model.links import softplus
from ...parallel import run_ordered, single_threaded_blas, split_evenly
from ..modes import conditional_mode

BLOCK = 1024
SIGMA_FLOOR = 1e-3


@dataclass(frozen=True)
class SamplerInputs:
    """What the sampler is built from; users may supply it to reuse a fit or glmm's values.

    beta: (p,) fixed effects; nu: (T,) variance components; u: (q,) random
    effects (the centre u*); umat: optional (m, q) draws to use instead of new ones.
    """

    beta: np.ndarray
    nu: np.ndarray
    u: np.ndarray
    umat: np.ndarray | None = None


@dataclass(frozen=True)
class ImportanceSampler:
    """The mixture above. u_star, d_star: (q,); precision: (q, q) sparse; chol: factor of it."""

    u_star: np.ndarray
    d_star: np.ndarray
    precision: sp.csc_matrix
    chol: np.ndarray          # (q,) sqrt of a diagonal precision, or (q, q) lower factor
    logdet_precision: float
    pvec: np.ndarray
    zeta: float

    @property
    def q(self):
        return self.u_star.shape[0]

    def logpdf(self, U):
        """log f~(u_k) for each row of U: (m, q) -> (m,)."""
        q, zeta = self.q, self.zeta
        logdet_dinv = -np.sum(np.log(self.d_star))
        quad_t = np.einsum("kj,kj->k", U * (1.0 / self.d_star), U)
        log_t = (gammaln((zeta + q) / 2) - gammaln(zeta / 2) - q / 2 * np.log(zeta * np.pi)
                 + 0.5 * logdet_dinv - (zeta + q) / 2 * np.log1p(quad_t / zeta))
        R = U - self.u_star
        quad_d = np.einsum("kj,kj->k", R * (1.0 / self.d_star), R)
        log_nd = 0.5 * (-q * np.log(2 * np.pi) + logdet_dinv - quad_d)
        quad_s = np.einsum("jk,kj->k", self.precision @ R.T, R)
        log_ns = 0.5 * (-q * np.log(2 * np.pi) + self.logdet_precision - quad_s)
        with np.errstate(divide="ignore"):
            logp = np.log(self.pvec)
        return logsumexp(np.stack([log_t, log_nd, log_ns]) + logp[:, None], axis=0)

    def _draw_block(self, seed_seq, components):
        """Rows for one block; ``components`` (B,) says which mixture part each row is from."""
        rng = np.random.default_rng(seed_seq)
        B = len(components)
        Zn = rng.standard_normal((B, self.q))
        chi2 = rng.chisquare(self.zeta, size=B)
        U = np.empty_like(Zn)
        sd = np.sqrt(self.d_star)
        t_rows, d_rows, s_rows = (components == 0), (components == 1), (components == 2)
        U[t_rows] = Zn[t_rows] * sd / np.sqrt(chi2[t_rows] / self.zeta)[:, None]
        U[d_rows] = self.u_star + Zn[d_rows] * sd
        if s_rows.any():
            U[s_rows] = self.u_star + self._solve_chol_t(Zn[s_rows].T).T
        return U, self.logpdf(U)

    def _solve_chol_t(self, Zt):
        """L^-T z for each column of Zt (q, k): a draw from N(0, P^-1) when z ~ N(0, I)."""
        if self.chol.ndim == 1:
            return Zt / self.chol[:, None]
        return la.solve_triangular(self.chol, Zt, lower=True, trans="T")

    def draw(self, m, seed, n_jobs=1, on_block=None):
        """m draws: U (m, q), their log f~ (m,), and the component counts (m1, m2, m3).

        ``on_block()`` is called after each block of BLOCK draws (for progress bars).
        """
        children = np.random.SeedSequence(seed).spawn(1 + -(-m // BLOCK))
        counts = np.random.default_rng(children[0]).multinomial(m, self.pvec)
        labels = np.repeat(np.arange(3), counts)
        starts = range(0, m, BLOCK)
        parts = run_ordered(self._draw_block,
                            [(children[1 + i], labels[s:s + BLOCK]) for i, s in enumerate(starts)],
                            n_jobs, on_done=on_block)
        U = np.vstack([p[0] for p in parts])
        logq = np.concatenate([p[1] for p in parts])
        return U, logq, tuple(int(c) for c in counts)


def sigma_star(nu):
    """sqrt(nu) clamped below at 1e-3, as glmm does before building D*."""
    return np.maximum(np.sqrt(np.maximum(np.asarray(nu, dtype=float), 0.0)), SIGMA_FLOOR)


def build_sampler(design, family, inputs, pvec, zeta):
    """The importance sampler for ``design`` centred by ``inputs`` (a SamplerInputs)."""
    d_star = sigma_star(inputs.nu)[design.vc_index] ** 2
    Z = design.Z
    eta = design.X @ inputs.beta + Z @ inputs.u
    W = design.weights * family.variance(eta, design.ntrials)
    precision = (WeightedGram.build(Z)(W) + sp.diags(1.0 / d_star)).tocsc()
    off_diagonal = precision - sp.diags(precision.diagonal())
    if off_diagonal.count_nonzero() == 0:
        chol = np.sqrt(precision.diagonal())
        logdet = 2.0 * np.sum(np.log(chol))
    else:
        chol = la.cholesky(precision.toarray(), lower=True)
        logdet = 2.0 * np.sum(np.log(np.diag(chol)))
    return ImportanceSampler(u_star=np.asarray(inputs.u, dtype=float), d_star=d_star,
                             precision=precision, chol=chol, logdet_precision=logdet,
                             pvec=np.asarray(pvec, dtype=float), zeta=float(zeta))


@dataclass(frozen=True)
class SizeGroup:
    """The blocks of one size d, stacked: blocks (G,); cols (G, d) their columns of Z;
    chol (G, d, d) lower Cholesky factors L_b of P_bb; chol_inv (G, d, d) L_b^-1 for
    d <= LARGE_BLOCK, else None (draws by triangular solves with L_b); logdet (G,)
    log det P_bb."""

    blocks: np.ndarray
    cols: np.ndarray
    chol: np.ndarray
    chol_inv: np.ndarray | None
    logdet: np.ndarray


@dataclass(frozen=True)
class BlockProposal:
    """Per-block t/normal mixture (module docstring). centre: (q,) u^; groups: SizeGroups."""

    centre: np.ndarray
    groups: tuple
    n_blocks: int
    p_t: float
    zeta: float

    def _group_logpdf(self, g, R):
        """log f~_b for the blocks of group g from R = u - u^ stacked (G, m, d): (G, m)."""
        y = _stacked_product(R, g.chol)                        # rows r'L: |L'r|^2 = r'P_bb r
        return self._logpdf_from_quad(g, np.einsum("gmd,gmd->gm", y, y), R.shape[2])

    def _logpdf_from_quad(self, g, quad, d):
        """log f~_b for the blocks of group g from quad = (u - u^)'P_bb(u - u^): (G, m)."""
        half_logdet = 0.5 * g.logdet[:, None]
        log_n = -0.5 * d * np.log(2 * np.pi) + half_logdet - 0.5 * quad
        z = self.zeta
        log_t = (gammaln((z + d) / 2) - gammaln(z / 2) - 0.5 * d * np.log(z * np.pi)
                 + half_logdet - 0.5 * (z + d) * np.log1p(quad / z))
        with np.errstate(divide="ignore"):
            return _log_add(np.log(self.p_t) + log_t, np.log1p(-self.p_t) + log_n)

    def logpdf(self, U):
        """log f~_b(u_bk): U (m, q) -> (m, B)."""
        out = np.empty((U.shape[0], self.n_blocks))
        with single_threaded_blas():
            for g in self.groups:
                R = np.ascontiguousarray((U[:, g.cols] - self.centre[g.cols]).transpose(1, 0, 2))
                out[:, g.blocks] = self._group_logpdf(g, R).T
        return out

    def _normals(self, g, m, seed, round_index):
        """Block b's standard normals (m, d), chi-squares and t-or-normal labels, from its own
        generator; stacked over the group: (G, m, d), (G, m), (G, m)."""
        d = g.cols.shape[1]
        Zn, scale = np.empty((len(g.blocks), m, d)), np.ones((len(g.blocks), m))
        for i, b in enumerate(g.blocks):
            rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(round_index, int(b))))
            Zn[i] = rng.standard_normal((m, d))
            is_t = rng.random(m) < self.p_t
            scale[i, is_t] = np.sqrt(self.zeta / rng.chisquare(self.zeta, size=int(is_t.sum())))
        return Zn, scale

    def _draw_chunk(self, g, members, m, seed, round_index):
        """Draws of some blocks of group g: (their SizeGroup, R = u - u^ (G', m, d), log f~
        (G', m)).  r = s L^-T z, so (u - u^)'P_bb(u - u^) = s^2 |z|^2.  A block's numbers
        depend on its own generator only, so how the blocks are cut into chunks (and
        chunks spread over workers) changes nothing."""
        sub = SizeGroup(g.blocks[members], g.cols[members], g.chol[members],
                        None if g.chol_inv is None else g.chol_inv[members], g.logdet[members])
        Zn, scale = self._normals(sub, m, seed, round_index)
        R = _chol_t_solve(sub, Zn)                          # rows r' = z' L^-1: r ~ N(0, P_bb^-1)
        R *= scale[:, :, None]
        quad = np.einsum("gmd,gmd->gm", Zn, Zn)
        quad *= scale * scale
        return sub, R, self._logpdf_from_quad(sub, quad, Zn.shape[2])

    def draw(self, m, seed, round_index=0, n_jobs=1):
        """m draws of every block: U (m, q) and log f~_b (m, B); chunks of blocks spread over
        ``n_jobs`` workers."""
        U = np.empty((m, len(self.centre)))
        logq = np.empty((m, self.n_blocks))
        tasks = [(g, np.asarray(chunk, dtype=np.int64), m, seed, round_index)
                 for g in self.groups
                 for chunk in split_evenly(range(len(g.blocks)), DRAW_CHUNKS)]
        for sub, R, log_q in run_ordered(self._draw_chunk, tasks, n_jobs):
            U[:, sub.cols] = (R + self.centre[sub.cols][:, None, :]).transpose(1, 0, 2)
            logq[:, sub.blocks] = log_q.T
        return U, logq


DRAW_CHUNKS = 8              # chunks of blocks per size group when drawing
SMALL_BLOCK = 8              # stacked products of blocks this small by einsum, not matmul
LARGE_BLOCK = 64             # blocks larger than this draw by triangular solves, not L^-1


def _log_add(a, b):
    """log(e^a + e^b) = max(a, b) + softplus(-|a - b|) elementwise; -inf where both are."""
    high = np.maximum(a, b)
    with np.errstate(invalid="ignore"):
        gap = -np.abs(a - b)
    return np.add(high, softplus(gap), out=high, where=high > -np.inf)


def _stacked_product(A, B):
    """A @ B for stacks A (G, m, d), B (G, d, e): einsum for small d (batched matmul of tiny
    matrices is slow), matmul otherwise."""
    if A.shape[2] <= SMALL_BLOCK:
        return np.einsum("gmd,gde->gme", A, B)
    return A @ B


def _chol_t_solve(g, Zn):
    """Rows z' L_b^-1 for the blocks of group g: Zn (G, m, d) -> (G, m, d).  Large blocks are
    few (G d <= q): one triangular solve each (half the work of a product with L_b^-1, and
    no inverse); small ones stacked."""
    if g.chol_inv is not None:
        return _stacked_product(Zn, g.chol_inv)
    out = np.empty_like(Zn)
    for i, L in enumerate(g.chol):
        out[i] = la.solve_triangular(L, Zn[i].T, lower=True, trans="T").T
    return out


def _size_groups(precision, blocks):
    """SizeGroups of the block-diagonal ``precision`` (q, q) sparse, by block size."""
    q = precision.shape[0]
    cb, sizes = blocks.col_block, blocks.sizes
    order = blocks.columns
    starts = np.cumsum(sizes) - sizes
    pos = np.empty(q, dtype=np.int64)
    pos[order] = np.arange(q) - starts[cb[order]]
    coo = precision.tocoo()
    groups = []
    for d in np.unique(sizes):
        members = np.flatnonzero(sizes == d)
        index = np.full(blocks.n_blocks, -1)
        index[members] = np.arange(len(members))
        in_group = index[cb] >= 0
        cols = np.empty((len(members), d), dtype=np.int64)
        cols[index[cb[in_group]], pos[in_group]] = np.flatnonzero(in_group)
        dense = np.zeros((len(members), d, d))
        keep = index[cb[coo.row]] >= 0
        dense[index[cb[coo.row[keep]]], pos[coo.row[keep]], pos[coo.col[keep]]] = coo.data[keep]
        chol = np.linalg.cholesky(dense)
        groups.append(SizeGroup(members, cols, chol,
                                np.linalg.inv(chol) if d <= LARGE_BLOCK else None,
                                2.0 * np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(axis=1)))
    return tuple(groups)


def block_proposal(design, family, blocks, inputs, p_t, zeta, gram=None):
    """BlockProposal centred at the conditional mode of u at (inputs.beta, inputs.nu), the
    mode search starting from inputs.u; also returns that Mode (its ``converged`` flag)."""
    gram = WeightedGram.build(design.Z) if gram is None else gram
    sigma = sigma_star(inputs.nu)[design.vc_index]
    mode = conditional_mode(design, family, gram, sigma, inputs.beta, inputs.u / sigma)
    W = design.weights * family.variance(mode.eta, design.ntrials)
    precision = (gram(W) + sp.diags(1.0 / sigma ** 2)).tocsc()
    proposal = BlockProposal(mode.u(sigma), _size_groups(precision, blocks), blocks.n_blocks,
                             float(p_t), float(zeta))
    return proposal, mode
