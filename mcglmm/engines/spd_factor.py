"""Factorisations of the conditional-mode Newton matrix H = A Z'WZ A + I (q, q), sparse SPD.

For a design whose random effects include a factor's indicator columns (a random
intercept, or one factor of a crossed design), the rows of H of that factor form a
diagonal block: no observation carries two levels of one factor.  With those k
columns first, H = [[D, C], [C', E]], D diagonal (k,), and

    S = E - C' D^-1 C        (r, r), r = q - k, the Schur complement,
    H x = b:  S x2 = b2 - C' D^-1 b1,  x1 = D^-1 (b1 - C x2),
    log det H = sum log D + log det S,

so one dense Cholesky of S (r = 1000 for two crossed factors of 1000 levels) replaces a
sparse LU of H (three times faster there).  ``schur_lead`` picks the largest variance
component whose block of H is diagonal; with none covering half of the columns, or an S
too large to hold dense, H takes scipy's sparse LU.  The factorisations themselves (the
numbers, on a pattern fixed once) are ``engines.fixed_pattern.FactorPlan.factorise``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg as la
import scipy.sparse as sp

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


def schur_lead(pattern, vc_index):
    """The lead columns (k,) that ``engines.fixed_pattern.FactorPlan`` eliminates, or None for
    a sparse LU: the largest diagonal component (``diagonal_component`` of ``pattern`` (q, q),
    H's sparsity) when it covers at least half of the columns and leaves at most DENSE_MAX."""
    q = pattern.shape[0]
    lead = diagonal_component(pattern, vc_index)
    if lead is None or 2 * len(lead) < q or q - len(lead) > DENSE_MAX:
        return None
    return lead
