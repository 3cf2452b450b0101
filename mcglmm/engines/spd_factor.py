"""Factorisations of the conditional-mode Newton matrix H = A Z'WZ A + I (q, q), sparse SPD.

For a design whose random effects include a factor's indicator columns (a random
intercept, or one factor of a crossed design), the rows of H of that factor form a
diagonal block: no observation carries two levels of one factor.  With those k
columns first, H = [[D, C], [C', E]], D diagonal (k,), and

    S = E - C' D^-1 C        (r, r), r = q - k, the Schur complement,
    H x = b:  S x2 = b2 - C' D^-1 b1,  x1 = D^-1 (b1 - C x2),
    log det H = sum log D + log det S,

so one dense Cholesky of S (r = 1000 for two crossed factors of 1000 levels) replaces a
sparse LU of H (three times faster there).  ``factorise`` picks the largest variance
component whose block of H is diagonal; with none covering half of the columns, or an S
too large to hold dense, it falls back to scipy's sparse LU.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg as la
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from ..parallel import single_threaded_blas

DENSE_MAX = 4000             # largest Schur complement factorised dense


@dataclass(frozen=True)
class SchurFactor:
    """H with its diagonal block eliminated: lead (k,) and rest (r,) column indices, d (k,)
    the diagonal, C (k, r) sparse, chol the Cholesky factor of S (r, r)."""

    lead: np.ndarray
    rest: np.ndarray
    d: np.ndarray
    C: sp.csr_matrix
    chol: tuple
    logdet: float

    def solve(self, b):
        """H^-1 b for b (q,) or (q, j)."""
        b = np.asarray(b, dtype=float)
        scale = self.d if b.ndim == 1 else self.d[:, None]
        b1 = b[self.lead] / scale
        x2 = la.cho_solve(self.chol, b[self.rest] - self.C.T @ b1) if len(self.rest) else \
            b[self.rest]
        x = np.empty_like(b)
        x[self.rest] = x2
        x[self.lead] = b1 - (self.C @ x2) / scale
        return x


@dataclass(frozen=True)
class LUFactor:
    """H by scipy's sparse LU; logdet log det H (H is SPD: the diagonal of U is positive)."""

    lu: object
    logdet: float

    def solve(self, b):
        """H^-1 b for b (q,) or (q, j)."""
        return self.lu.solve(np.asarray(b, dtype=float))


def diagonal_component(H, vc_index):
    """The columns (k,) of the largest variance component whose block of H is diagonal, or
    None.  H: (q, q) sparse; vc_index: (q,) each column's component."""
    coo = sp.coo_matrix(H)
    off = coo.row != coo.col
    same = vc_index[coo.row[off]] == vc_index[coo.col[off]]
    coupled = np.unique(vc_index[coo.row[off][same]])
    components, counts = np.unique(vc_index, return_counts=True)
    free = ~np.isin(components, coupled)
    if not free.any():
        return None
    best = components[free][np.argmax(counts[free])]
    return np.flatnonzero(vc_index == best)


def factorise(H, vc_index):
    """A SchurFactor of H (q, q) SPD sparse when a diagonal component covers at least half of
    the columns and leaves at most DENSE_MAX; an LUFactor otherwise."""
    q = H.shape[0]
    lead = diagonal_component(H, vc_index)
    if lead is None or 2 * len(lead) < q or q - len(lead) > DENSE_MAX:
        lu = spla.splu(sp.csc_matrix(H))
        return LUFactor(lu, float(np.sum(np.log(np.abs(lu.U.diagonal())))))
    rest = np.setdiff1d(np.arange(q), lead)
    H = sp.csr_matrix(H)
    d = H.diagonal()[lead]
    C = H[lead][:, rest].tocsr()
    S = H[rest][:, rest].toarray() - (C.T @ sp.diags(1.0 / d) @ C).toarray()
    with single_threaded_blas():         # faster than two threads, and immune to a busy core
        chol = la.cho_factor(S, lower=True)
    logdet = float(np.sum(np.log(d)) + 2.0 * np.sum(np.log(np.diag(chol[0]))))
    return SchurFactor(lead, rest, d, C, chol, logdet)
