"""R glmm's importance sampler: a three-component mixture built once per fit.

With D* = diag(sigma*^2) (sigma* = sqrt(nu*) clamped below at 1e-3, expanded to
the q columns of Z), eta* = X beta* + Z u* and

    P = Z' diag(w c''(eta*)) Z + D*^-1          (q, q), sparse; Sigma~ = P^-1,

the sampling density is

    f~(u) = p1 t_zeta(u; 0, D*) + p2 N(u; u*, D*) + p3 N(u; u*, Sigma~).

Draws are made in blocks of ``BLOCK`` rows, block j from child j+1 of
``SeedSequence(seed)`` (child 0 splits m among the components), so the sample
does not depend on how many workers make it.  As in glmm, the first m1 rows
come from the t, the next m2 from N(u*, D*), the last m3 from N(u*, Sigma~).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg as la
import scipy.sparse as sp
from scipy.special import gammaln, logsumexp

from ...design.gram import WeightedGram
from ...parallel import run_ordered

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
