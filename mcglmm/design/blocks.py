"""Independent blocks of random effects: the connected components of Z's graph.

Two random effects (columns of Z) are joined when some observation involves both
(a non-zero of Z'Z off its diagonal).  Under u ~ N(0, D) with D diagonal, the
likelihood is a product over the components of that graph:

    L(theta) = prod_b  integral f_theta(y_b | u_b) f_nu(u_b) du_b,

y_b the observations whose rows of Z touch block b.  One grouping factor gives a
block per group; crossed factors give one block per connected set of levels.
Blocks are numbered by their first column; observations whose row of Z is zero
are placed in block 0 (their term does not depend on u).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components


@dataclass(frozen=True)
class Blocks:
    """col_block: (q,) block of each random effect; row_block: (n,) block of each observation;
    n_blocks: B.  ``columns`` lists each block's columns in increasing order."""

    col_block: np.ndarray
    row_block: np.ndarray
    n_blocks: int

    @property
    def sizes(self):
        """(B,) random effects per block."""
        return np.bincount(self.col_block, minlength=self.n_blocks)

    @property
    def first_column(self):
        """(B,) the first column of each block (it names the block)."""
        first = np.full(self.n_blocks, len(self.col_block))
        np.minimum.at(first, self.col_block, np.arange(len(self.col_block)))
        return first

    @property
    def columns(self):
        """Column indices sorted by block, then by column: (q,)."""
        return np.argsort(self.col_block, kind="stable")

    @classmethod
    def single(cls, n, q):
        """Everything in one block (R glmm's joint sampler)."""
        return cls(np.zeros(q, dtype=np.int64), np.zeros(n, dtype=np.int64), 1)


def independent_blocks(Z):
    """``Blocks`` of Z (n, q): connected components of the pattern of Z'Z."""
    Z = sp.csr_matrix(Z)
    pattern = Z.copy()
    pattern.data = np.ones_like(pattern.data)
    n_blocks, labels = connected_components(pattern.T @ pattern, directed=False)
    # number blocks by their first column (connected_components does, but it is not documented)
    first = np.full(n_blocks, Z.shape[1])
    np.minimum.at(first, labels, np.arange(Z.shape[1]))
    renumber = np.empty(n_blocks, dtype=np.int64)
    renumber[np.argsort(first, kind="stable")] = np.arange(n_blocks)
    col_block = renumber[labels]
    row_block = np.zeros(Z.shape[0], dtype=np.int64)
    has_effect = np.diff(Z.indptr) > 0
    first_nonzero = Z.indices[Z.indptr[:-1][has_effect]]
    row_block[has_effect] = col_block[first_nonzero]
    return Blocks(col_block, row_block, int(n_blocks))
