"""H = Z' diag(W) Z + P of all random effects by a Schur complement, with its patterns fixed.

The random effects split into the level with most columns, ``a`` (q_a = G d; its groups
are disjoint, so its block of H is block diagonal, A (G, d, d)), and the rest ``b`` (q_b):

    H = [[A, C], [C', D]],   F = A^-1 C,   S = D - C' F,
    log|H| = sum_g log|A_g| + log|S|,
    H^-1 = [[A^-1 + F S^-1 F', -F S^-1], [-S^-1 F', S^-1]].

C is stored by group: one slot per (group g of a, column l of b) with a row pair i in g
touching l, holding the d entries C[(g, .), l].  ``Structure.build`` finds once per model
where each row's pairs of random effects land (in A, C or D), the pairs of C slots of one
group (whose products make C'F), and, for a sparse S, its pattern and fill-reducing order;
an evaluation (``factor.Factor``) is then bincounts, batched d x d inverses and one
factorisation of S (LAPACK Cholesky when S is small or dense, else SuperLU in the fixed
order).

When the groups share more than MAX_PAIRS pairs of C slots (a large random crossing, whose
S is nearly dense) the pairs are not stored: ``column_pairs`` generates the pairs with
col(c1) >= col(c2) (the lower triangle of S, each unordered pair once) for a block of S's
columns at a time, and S is dense (``chunked``).

The gradient needs H^-1 only where some row pairs two random effects ("selected
inverse"): A's blocks, C's slots and D's pattern, which the blocks above give from S^-1 on
the pattern of S (``factor.Factor.selected``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from ...exceptions import WorkTooLargeError, bad_value
from .memo import once_per_object

DENSE_S = 3000          # S of at most this order is dense; larger is dense only when filled
DENSE_FILL = 0.1        # fraction of S's pattern above which a larger S is dense too
DENSE_C = 3 * 10**7     # largest dense C (entries)
MAX_PAIRS = 5 * 10**7   # most pairs of C slots within groups stored (1.2 GB of indices)
MAX_Q_GRADIENT = 12000  # largest order of S (the levels but the largest) held dense, as the
                        # gradient's dense S^-1 needs (checked by meglm); 1.1 GiB
BLOCK_PAIRS = 2**19     # pairs generated at once by ``column_pairs`` (about 20 MB)
MAX_CHUNKED_PAIRS = 10**9  # most ordered pairs generated per evaluation: 10^8 took about
                           # 4 s of an evaluation (10^6 rows, 2 x 10^4 levels), so 10^9
                           # is about 15 minutes over a fit's 25 evaluations


def _ranges(starts, counts):
    """Concatenation of arange(s, s + c) for each (s, c)."""
    total = int(counts.sum())
    rep = np.repeat(starts - np.cumsum(counts) + counts, counts)
    return rep + np.arange(total)


def _unique_slots(keys):
    """(sorted unique keys, slot of each key)."""
    uniq, slot = np.unique(keys, return_inverse=True)
    return uniq, slot.ravel()


@dataclass(frozen=True)
class Structure:
    """Everything about H that does not depend on W or P (module docstring).

    Row pairs (n, m^2): ``slot`` into v = [A (G d d), C (nC d), D (nD)], ``zz`` the products
    z_ij z_il, ``zz_asm`` the same with the mirrored (b, a) pairs zeroed (C is stored once).
    """

    q: int
    e: int                      # the eliminated level
    G: int
    d: int
    perm_a: np.ndarray          # joint columns of a (q_a,)
    perm_b: np.ndarray          # joint columns of b (q_b,)
    slot: np.ndarray
    zz: np.ndarray
    zz_asm: np.ndarray
    c_group: np.ndarray         # (nC,) group of a of each C slot
    c_col: np.ndarray           # (nC,) column of b
    d_row: np.ndarray           # (nD,) D's pattern (full, both triangles)
    d_col: np.ndarray
    pair1: np.ndarray           # (K,) C slots of one group, all ordered pairs
    pair2: np.ndarray
    s_pair: np.ndarray          # (K,) where C'F of each pair lands in S's storage
    s_d: np.ndarray             # (nD,) where D lands in S's storage
    p_slots: tuple              # per level of b: (G_l, d_l, d_l) slots of its blocks in D
    dense: bool
    dense_c: bool               # C stored as all G q_b slots, its products by BLAS
    s_pattern: tuple = ()       # sparse S: (indptr, indices, fixed order, data map, keys)
    chunked: tuple = ()         # pairs not stored: (slots by column, start of each column
                                # in that order, slots from each to its group's end)

    @property
    def q_b(self):
        return len(self.perm_b)

    @property
    def n_v(self):
        return self.G * self.d * self.d + len(self.c_group) * self.d + len(self.d_row)

    @classmethod
    def build(cls, levels):
        sizes = [lev.n_groups * lev.d for lev in levels]
        offsets = np.cumsum([0] + sizes)
        e = int(np.argmax(sizes))
        ea = levels[e]
        G, d, q = ea.n_groups, ea.d, int(offsets[-1])
        perm_a = offsets[e] + np.arange(G * d)
        perm_b = np.concatenate([offsets[l] + np.arange(sizes[l]) for l in range(len(levels))
                                 if l != e] + [np.zeros(0, dtype=np.int64)]).astype(np.int64)
        q_b, n = len(perm_b), len(ea.index)
        b_levels = [l for l in range(len(levels)) if l != e]
        starts_b = np.cumsum([0] + [sizes[l] for l in b_levels])
        kb = np.hstack([starts_b[j] + levels[l].index[:, None] * levels[l].d
                        + np.arange(levels[l].d) for j, l in enumerate(b_levels)]
                       + [np.zeros((n, 0), dtype=np.int64)]).astype(np.int64)
        vb = np.hstack([levels[l].Z for l in b_levels] + [np.zeros((n, 0))])
        g = ea.index.astype(np.int64)
        mb = kb.shape[1]
        # C slots: unique (g, kb), or all of them (dense C); D pattern: row pairs of b and
        # every group's block
        c_keys, c_slot = _unique_slots(g[:, None] * max(q_b, 1) + kb)
        dense_c = _dense_c(c_keys // max(q_b, 1), G, d, q_b)
        if dense_c:
            c_keys, c_slot = np.arange(G * q_b), (g[:, None] * q_b + kb).ravel()
        c_group, c_col = c_keys // max(q_b, 1), c_keys % max(q_b, 1)
        blocks = [_block_keys(starts_b[j], levels[l], q_b) for j, l in enumerate(b_levels)]
        d_all = np.concatenate([(kb[:, :, None] * q_b + kb[:, None, :]).ravel()]
                               + [bk.ravel() for bk in blocks])
        d_keys, d_slot_all = _unique_slots(d_all)
        d_slot = d_slot_all[:n * mb * mb].reshape(n, mb, mb)
        p_slots, at = [], n * mb * mb
        for bk in blocks:
            p_slots.append(d_slot_all[at:at + bk.size].reshape(bk.shape))
            at += bk.size
        slot, zz, zz_asm = _row_pairs(g, ea.Z, vb, c_slot.reshape(n, mb), d_slot, G, d,
                                      len(c_keys))
        chunked = () if dense_c else _chunked(c_group, c_col, G, q_b)
        pair1, pair2 = ((np.zeros(0, int),) * 2 if dense_c or chunked
                        else _group_pairs(c_group, G))
        s_keys = c_col[pair1] * q_b + c_col[pair2]
        dense = q_b <= DENSE_S or bool(chunked)
        s_pattern = ()
        if dense:
            s_pair, s_d = s_keys, d_keys
        else:
            uniq, inv = _unique_slots(np.concatenate([s_keys, d_keys]))
            dense = len(uniq) > DENSE_FILL * q_b * q_b
            s_pair, s_d = (s_keys, d_keys) if dense else (inv[:len(s_keys)], inv[len(s_keys):])
            if not dense:
                s_pattern = _sparse_order(uniq, q_b)
        return cls(q, e, G, d, perm_a, perm_b, slot, zz, zz_asm, c_group, c_col,
                   d_keys // max(q_b, 1), d_keys % max(q_b, 1), pair1, pair2, s_pair, s_d,
                   tuple(p_slots), dense, dense_c, s_pattern, chunked)


def _dense_c(c_group, G, d, q_b):
    """Whether C is better stored dense: it fits (DENSE_C entries) and the products of C
    slot pairs (10 ns each) cost more than the dense ones (q_a q_b^2 at ~20 GFLOP/s)."""
    if q_b == 0 or G * d * q_b > DENSE_C or q_b > DENSE_S:
        return False
    counts = np.bincount(c_group, minlength=G).astype(float)
    return float((counts * counts).sum()) * d * 1e-8 > G * d * q_b * q_b * 5e-11


def _block_keys(start, lev, q_b):
    """Keys (G, d, d) of each group's diagonal block of level ``lev`` (b columns from start)."""
    cols = start + np.arange(lev.n_groups)[:, None] * lev.d + np.arange(lev.d)
    return cols[:, :, None] * q_b + cols[:, None, :]


def _row_pairs(g, za, vb, c_slot, d_slot, G, d, nC):
    """Each row's ordered pairs of random effects: (slot into v, z z', z z' for assembly)."""
    n, mb = vb.shape
    base_c, base_d = G * d * d, G * d * d + nC * d
    r = np.arange(d)
    aa = g[:, None, None] * d * d + r[:, None] * d + r[None, :]
    ab = base_c + c_slot[:, None, :] * d + r[None, :, None]            # (n, d, mb)
    slot = np.block([[aa, ab], [np.swapaxes(ab, 1, 2), base_d + d_slot]])
    z = np.hstack([za, vb])
    zz = z[:, :, None] * z[:, None, :]
    keep = np.ones((d + mb, d + mb))
    keep[d:, :d] = 0.0
    return slot.reshape(n, -1), zz.reshape(n, -1), (zz * keep).reshape(n, -1)


def _group_pairs(c_group, G):
    """All ordered pairs (c1, c2) of C slots with the same group (slots sorted by group)."""
    counts = np.bincount(c_group, minlength=G)
    starts = np.cumsum(counts) - counts
    per_slot = counts[c_group]
    pair1 = np.repeat(np.arange(len(c_group)), per_slot)
    pair2 = _ranges(starts[c_group], per_slot)
    return pair1, pair2


def _chunked(c_group, c_col, G, q_b):
    """``Structure.chunked`` when the groups share more than MAX_PAIRS ordered pairs of C
    slots, else (); a ValueError when S would then be dense beyond MAX_Q_GRADIENT, and a
    WorkTooLargeError beyond MAX_CHUNKED_PAIRS pairs."""
    counts = np.bincount(c_group, minlength=G)
    total = int((counts.astype(float) ** 2).sum())
    if total <= MAX_PAIRS:
        return ()
    if total > MAX_CHUNKED_PAIRS:
        raise WorkTooLargeError(bad_value(
            "formula", f"a crossed model whose largest factor's groups share at most "
            f"{MAX_CHUNKED_PAIRS:.0e} pairs of the other factors' levels (each Laplace "
            f"evaluation visits every pair; 10^8 take about 4 s)", f"{total:.3g} pairs")
            + " Fit it with glmm() (the MCLA), or on fewer rows or levels.")
    if q_b > MAX_Q_GRADIENT:
        raise ValueError(bad_value("formula", f"a crossed model whose largest factor's groups "
                                   f"share at most {MAX_PAIRS} pairs of the other factors' "
                                   f"levels, or with at most {MAX_Q_GRADIENT} random effects "
                                   f"outside that factor (the Laplace engine's Schur "
                                   f"complement)", f"{total} pairs and {q_b} random effects"))
    by_col = np.argsort(c_col, kind="stable")
    col_start = np.searchsorted(c_col[by_col], np.arange(q_b + 1))
    after = np.cumsum(counts)[c_group] - np.arange(len(c_group))
    return by_col, col_start, after


def column_pairs(st):
    """Blocks (j0, j1, c2, k, c1) of a chunked Structure: every pair of C slots of one group
    with c1 >= c2 (so col(c1) >= col(c2)) and col(c2) in [j0, j1), at most about BLOCK_PAIRS
    pairs per block; c2 (m,) the block's slots, k (m,) the number of pairs of each, c1 (K,)
    the partners, K = sum k (each c2's run of k starts with c1 = c2)."""
    by_col, col_start, after = st.chunked
    per_col = np.bincount(st.c_col, weights=after, minlength=st.q_b)
    ends = np.searchsorted(np.cumsum(per_col), np.arange(1, 2 + per_col.sum() // BLOCK_PAIRS)
                           * BLOCK_PAIRS, side="right")
    edges = np.unique(np.concatenate([[0], np.minimum(ends, st.q_b), [st.q_b]]))
    for j0, j1 in zip(edges[:-1], edges[1:]):
        c2 = by_col[col_start[j0]:col_start[j1]]
        k = after[c2]
        yield int(j0), int(j1), c2, k, _ranges(c2, k)


def _sparse_order(keys, q_b):
    """Sparse S: CSC pattern of the given keys, a fill-reducing order found once, and the
    map from the pattern's data to that of the permuted matrix."""
    rows, cols = keys // q_b, keys % q_b
    probe = sp.csc_matrix((np.arange(1, len(keys) + 1, dtype=float), (rows, cols)),
                          shape=(q_b, q_b))
    probe.sort_indices()
    spd = probe.copy()
    spd.data = np.where(probe.indices == np.repeat(np.arange(q_b), np.diff(probe.indptr)),
                        float(q_b), -1.0 / q_b)
    perm = spla.splu(spd, permc_spec="MMD_AT_PLUS_A").perm_c
    p = np.argsort(perm)
    permuted = probe[p][:, p].tocsc()
    permuted.sort_indices()
    return permuted.indptr, permuted.indices, p, permuted.data.astype(np.int64) - 1, keys

@once_per_object
def structure(model):
    """``Structure.build`` of the model's levels, once per model object."""
    return Structure.build(model.levels)
