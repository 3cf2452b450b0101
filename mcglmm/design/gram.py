"""Weighted cross-products Z' diag(W) Z with the sparsity pattern computed once.

PQL and the importance sampler need Z' diag(W) Z for many W.  Its pattern does
not depend on W, so ``WeightedGram`` records, for every pair of non-zeros in a
row of Z, the product z_ij z_il, the row i and the position of (j, l) in the
result; an evaluation is then one ``bincount``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp


@dataclass(frozen=True)
class WeightedGram:
    """Z' diag(W) Z for Z (n, q): pattern (indptr, indices) of the CSC result and the maps."""

    q: int
    indptr: np.ndarray
    indices: np.ndarray
    rows: np.ndarray        # (K,) observation of each pair of non-zeros
    products: np.ndarray    # (K,) z_ij * z_il
    target: np.ndarray      # (K,) index into the result's data

    @classmethod
    def build(cls, Z):
        Z = sp.csr_matrix(Z)
        n, q = Z.shape
        counts = np.diff(Z.indptr)
        rows = np.repeat(np.arange(n), counts ** 2)
        starts = np.repeat(Z.indptr[:-1], counts ** 2)
        within = np.arange(len(rows)) - np.repeat(np.cumsum(counts ** 2) - counts ** 2, counts ** 2)
        k = np.repeat(counts, counts ** 2)
        left, right = starts + within // np.maximum(k, 1), starts + within % np.maximum(k, 1)
        j, col = Z.indices[left], Z.indices[right]
        products = Z.data[left] * Z.data[right]
        pattern = sp.csc_matrix((np.ones(len(j)), (j, col)), shape=(q, q))
        pattern.sum_duplicates()
        pattern.sort_indices()
        # position of (j, col) in the CSC data: column col, row j
        key = col.astype(np.int64) * q + j
        csc_keys = (np.repeat(np.arange(q), np.diff(pattern.indptr)).astype(np.int64) * q
                    + pattern.indices)
        target = np.searchsorted(csc_keys, key)
        return cls(q, pattern.indptr, pattern.indices, rows, products, target)

    def __call__(self, W, scale=None):
        """Z' diag(W) Z (q, q) as CSC; with ``scale`` (q,), diag(scale) Z'WZ diag(scale)."""
        data = np.bincount(self.target, weights=W[self.rows] * self.products,
                           minlength=len(self.indices))
        if scale is not None:
            cols = np.repeat(np.arange(self.q), np.diff(self.indptr))
            data = data * scale[self.indices] * scale[cols]
        return sp.csc_matrix((data, self.indices, self.indptr), shape=(self.q, self.q))
