"""Sparse maps from observations to the MCLA's independent blocks of random effects.

A map (r B, n) holds, at row t B + b(i) and column i, observation i's t-th value (w_i,
w_i x_ij, or w_i x_ij x_il), b(i) its block: a product with an (n, k) array sums per
block.  Per row block of observations, ``local_maps`` keeps only the rows of the blocks
those observations belong to, and ``local_sum`` adds the row blocks' products back at
those rows, in row-block order.  ``per_draw_sums`` says when the first pass keeps per-draw
sums (objective.py).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

PER_DRAW_TERMS = 14          # p + p(p+1)/2 at p = 4: the per-draw sums' products per observation


def per_draw_sums(p, n_blocks, q):
    """Whether the first pass also keeps, per draw and block, X_b'w_b c'(eta) and the upper
    triangle of X_b'W_b c''(eta) X_b, so that the second pass touches no observation: when
    those p + p(p+1)/2 numbers per block and draw take no more room than the draw itself (q
    numbers) and few products per observation (PER_DRAW_TERMS).  A rule on the model's
    shape only: the result does not depend on the memory budget or n_jobs."""
    terms = p + p * (p + 1) // 2
    return terms <= PER_DRAW_TERMS and terms * n_blocks <= q


def local_maps(row_map, blocks, row_blocks):
    """Per row block, (index, map): the rows of ``row_map`` (r B, n), laid out t B + b, for the
    blocks b that the row block's observations belong to, and those rows' columns (CSR).  A
    product with the whole map would give (r B, k) per row block, mostly zeros for many blocks."""
    B = blocks.n_blocks
    out = []
    for rows in row_blocks:
        touched = np.unique(blocks.row_block[rows])
        index = (B * np.arange(row_map.shape[0] // B)[:, None] + touched).ravel()
        local = row_map[index][:, rows].tocsr()
        if index[-1] - index[0] + 1 == len(index):               # a range: sliced, not gathered
            index = slice(int(index[0]), int(index[-1]) + 1)
        out.append((index, local))
    return tuple(out)


def local_sum(parts, maps, size):
    """(size, k): the row blocks' products parts[j] (len(index_j), k) with their local maps,
    added in row-block order at their index (the zeros of the blocks they miss add nothing)."""
    if len(parts) == 1 and maps[0][0] == slice(0, size):
        return parts[0]
    total = np.zeros((size, parts[0].shape[1]))
    for (index, _), part in zip(maps, parts):
        total[index] += part
    return total


@dataclass(frozen=True)
class BlockMaps:
    """Sparse maps from observations and effects to blocks (B blocks, T components).

    row_w: (B, n) w_i at (b(i), i); row_wx: (p B, n) w_i x_ij at (j B + b(i), i);
    row_wxx: (r B, n) w_i x_ij x_il at (t B + b(i), i) for the r = p(p+1)/2 pairs t = (j, l),
    j <= l, of ``np.triu_indices(p)`` when ``per_draw_sums``, else None;
    col: (q, B) indicator of each effect's block; col_bt: (q, B T) of its (block,
    component); n_bt: (B, T) effects per block and component; zwy: (q,) Z'(w y).
    """

    blocks: Blocks
    row_w: sp.csr_matrix
    row_wx: sp.csr_matrix
    row_wxx: sp.csr_matrix | None
    col: sp.csr_matrix
    col_bt: sp.csr_matrix
    n_bt: np.ndarray
    zwy: np.ndarray

    @classmethod
    def build(cls, design, blocks):
        n, p, q, T, B = design.n, design.p, design.q, design.T, blocks.n_blocks
        rb, cb, w = blocks.row_block, blocks.col_block, design.weights
        row_w = sp.csr_matrix((w, (rb, np.arange(n))), shape=(B, n))
        wX = design.X * w[:, None]
        row_wx = _row_map(wX, rb, B)
        row_wxx = None
        if per_draw_sums(p, B, q):
            j, l = np.triu_indices(p)
            row_wxx = _row_map(wX[:, j] * design.X[:, l], rb, B)
        col = sp.csr_matrix((np.ones(q), (np.arange(q), cb)), shape=(q, B))
        col_bt = sp.csr_matrix((np.ones(q), (np.arange(q), cb * T + design.vc_index)),
                               shape=(q, B * T))
        n_bt = np.asarray(col_bt.sum(axis=0)).reshape(B, T)
        return cls(blocks, row_w, row_wx, row_wxx, col, col_bt, n_bt,
                   design.Z.T @ (w * design.y))


def _row_map(values, row_block, n_blocks):
    """(r B, n) CSR with values[i, t] (n, r) at (t B + b(i), i)."""
    n, r = values.shape
    rows = (row_block[:, None] + n_blocks * np.arange(r)).ravel()
    return sp.csr_matrix((values.ravel(), (rows, np.repeat(np.arange(n), r))),
                         shape=(r * n_blocks, n))
