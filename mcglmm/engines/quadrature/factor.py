"""The numbers of H = Z' diag(W) Z + P at one W, on a fixed ``schur.Structure``.

``Factor.of`` assembles A, C, D (one bincount over the rows' pairs of random effects and the
prior blocks), inverts A's d x d blocks, forms S = D - C' A^-1 C (BLAS syrk when C is dense,
else products of C slot pairs, stored or generated a block of S's columns at a time) and
factors it (LAPACK Cholesky, or SuperLU in the fixed order); ``solve`` and ``selected``
(H^-1 on the pattern of Z'Z) follow ``schur``'s block formulas.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg.blas as blas
import scipy.linalg.lapack as lapack
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from .schur import column_pairs


@dataclass(frozen=True)
class Prior:
    """P = blockdiag over levels and groups of c_l[g] Sigma_l^-1: per level Sigma_l^-1 (d, d)
    and the group factors c_l (G_l,) or None (all 1)."""

    inv: tuple
    scale: tuple

    def blocks(self, l, G):
        """(G, d, d) blocks of level l."""
        c = np.ones(G) if self.scale[l] is None else self.scale[l]
        return c[:, None, None] * self.inv[l]


def hessian_values(st, levels, prior, W):
    """v = [A, C, D] of H = Z' diag(W) Z + P for W (n,): one bincount and the prior blocks."""
    v = np.bincount(st.slot.ravel(), weights=(st.zz_asm * W[:, None]).ravel(), minlength=st.n_v)
    v[:st.G * st.d * st.d] += prior.blocks(st.e, st.G).ravel()
    base_d = st.G * st.d * st.d + len(st.c_group) * st.d
    b_levels = [l for l in range(len(levels)) if l != st.e]
    for slots, l in zip(st.p_slots, b_levels):
        v[base_d + slots.ravel()] += prior.blocks(l, levels[l].n_groups).ravel()
    return v


class Factor:
    """The factorisation of H at one W: log|H|, solves and the selected inverse."""

    def __init__(self, st, A_inv, C, F, S, logdet):
        self.st, self.A_inv, self.C, self.F, self.S = st, A_inv, C, F, S
        self.logdet, self.inverted = logdet, False

    @classmethod
    def of(cls, st, levels, prior, W):
        """Factor of H(W), or None when H is not positive definite."""
        v = hessian_values(st, levels, prior, W)
        G, d, nC = st.G, st.d, len(st.c_group)
        A = v[:G * d * d].reshape(G, d, d)
        C = v[G * d * d:G * d * d + nC * d].reshape(nC, d)
        try:
            LA = np.linalg.cholesky(A)
        except np.linalg.LinAlgError:
            return None
        logdet = 2.0 * float(np.log(np.diagonal(LA, axis1=1, axis2=2)).sum())
        A_inv = np.linalg.inv(A)
        if st.dense_c:
            C = _c_matrix(C, G, d)
            F = _block_times(A_inv, C)
            ctf = blas.dsyrk(-1.0, _block_times(np.linalg.inv(LA), C).T, trans=0,
                             lower=1)   # -C'A^-1C = -(L^-1 C)'(L^-1 C), L L' = A
        elif st.chunked:
            F = np.einsum("cij,cj->ci", A_inv[st.c_group], C)
            ctf = np.einsum("cij,cj->ci", np.linalg.inv(LA)[st.c_group], C)   # L^-1 C slots
        else:
            F = np.einsum("cij,cj->ci", A_inv[st.c_group], C)
            ctf = (C[st.pair1] * F[st.pair2]).sum(1)
        S, logdet_S = _factor_s(st, v[G * d * d + nC * d:], ctf)
        if S is None:
            return None
        return cls(st, A_inv, C, F, S, logdet + logdet_S)

    def solve(self, g):
        """H^-1 g for g (q,) in the joint order."""
        st = self.st
        ya = np.einsum("gij,gj->gi", self.A_inv, g[st.perm_a].reshape(st.G, st.d))
        if st.dense_c:
            xb = self._s_solve(g[st.perm_b] - self.C.T @ ya.ravel())
            xa = ya.ravel() - self.F @ xb
        else:
            rb = g[st.perm_b] - np.bincount(st.c_col, weights=(self.C * ya[st.c_group]).sum(1),
                                            minlength=st.q_b)
            xb = self._s_solve(rb)
            fx = self.F * xb[st.c_col][:, None]
            xa = ya - np.stack([np.bincount(st.c_group, weights=fx[:, r], minlength=st.G)
                                for r in range(st.d)], axis=1)
        x = np.empty(st.q)
        x[st.perm_a], x[st.perm_b] = xa.ravel(), xb
        return x

    def _s_solve(self, r):
        st = self.st
        if st.q_b == 0:
            return r
        if not st.dense:
            p = st.s_pattern[2]
            x = np.empty_like(r)
            x[p] = self.S.solve(r[p])
            return x
        if self.inverted:
            return blas.dsymv(1.0, self.S, r, lower=1)
        return lapack.dpotrs(self.S, r, lower=1)[0]

    def selected(self):
        """(H^-1 on the slots of v (n_v,), each level's diagonal blocks [(G_l, d_l, d_l)])."""
        st = self.st
        s_pair, s_d = _s_inverse(self)
        if st.dense_c:
            return self._selected_dense(s_d)
        nC = len(st.c_group)
        if st.chunked:
            FS = _fs_by_columns(st, self.F, self.S)
        else:
            FS = np.stack([np.bincount(st.pair2, weights=self.F[st.pair1, r] * s_pair,
                                       minlength=nC) for r in range(st.d)], axis=1)
        prod = (self.F[:, :, None] * FS[:, None, :]).reshape(nC, st.d * st.d)
        aa = self.A_inv + np.stack([np.bincount(st.c_group, weights=prod[:, k], minlength=st.G)
                                    for k in range(st.d * st.d)], axis=1
                                   ).reshape(st.G, st.d, st.d)
        v = np.concatenate([aa.ravel(), -FS.ravel(), s_d])
        return v, self._blocks(aa, s_d)

    def _blocks(self, aa, s_d):
        blocks = [s_d[slots] for slots in self.st.p_slots]
        blocks.insert(self.st.e, aa)
        return blocks

    def _selected_dense(self, s_d):
        """``selected`` with C dense: T = F S^-1 by BLAS (symmetric S^-1 from its lower half)."""
        st = self.st
        G, d = st.G, st.d
        T = blas.dsymm(1.0, self.S, self.F, side=1, lower=1).reshape(G, d, -1)
        F = self.F.reshape(G, d, -1)
        aa = self.A_inv + np.matmul(F, np.swapaxes(T, 1, 2))
        v = np.concatenate([aa.ravel(), -T.transpose(0, 2, 1).ravel(), s_d])
        return v, self._blocks(aa, s_d)


def _block_times(M, C):
    """blockdiag(M) C for M (G, d, d), C (G d, q_b)."""
    G, d, _ = M.shape
    if d == 1:
        return C * M[:, 0, :]
    return np.einsum("gij,gjl->gil", M, C.reshape(G, d, -1)).reshape(C.shape)


def _c_matrix(C, G, d):
    """C (q_a, q_b) from its slots (G q_b, d), all groups' slots in column order."""
    return np.ascontiguousarray(C.reshape(G, -1, d).transpose(0, 2, 1)).reshape(G * d, -1)


def _factor_s(st, D, ctf):
    """(factor of S = D - C'F, log|S|) from D's values and ctf: C'F of each pair, the dense
    lower half of -C'F (dense C) or the slots of L_A^-1 C (chunked); (None, 0) when S is not
    positive definite.  Dense: LAPACK's lower Cholesky in place (F order)."""
    q_b = st.q_b
    if q_b == 0:
        return np.zeros((0, 0)), 0.0
    if st.dense:
        c, info = lapack.dpotrf(_dense_s(st, D, ctf), lower=1, overwrite_a=1, clean=0)
        if info != 0:
            return None, 0.0
        return c, 2.0 * float(np.log(np.diagonal(c)).sum())
    indptr, indices, p, data_map, keys = st.s_pattern
    vals = -np.bincount(st.s_pair, weights=ctf, minlength=len(keys))
    vals[st.s_d] += D
    Sp = sp.csc_matrix((vals[data_map], indices, indptr), shape=(q_b, q_b))
    try:
        lu = spla.splu(Sp, permc_spec="NATURAL", diag_pivot_thresh=0.0,
                       options=dict(SymmetricMode=True))
    except RuntimeError:
        return None, 0.0
    diag = lu.U.diagonal()
    if not np.all(diag > 0) or not np.all(lu.perm_r == np.arange(q_b)):
        return None, 0.0
    return lu, float(np.log(diag).sum())


def _dense_s(st, D, ctf):
    """S (q_b, q_b) F order, its lower triangle set, from ``_factor_s``'s D and ctf."""
    q_b = st.q_b
    if st.chunked:
        return _s_by_columns(st, D, ctf)
    if st.dense_c:   # the lower half of -C'F (F order): D's lower half added
        low = st.d_row >= st.d_col
        buf = ctf.T.reshape(-1)
        buf[st.d_col[low] * q_b + st.d_row[low]] += D[low]
    else:
        buf = np.bincount(st.s_pair, weights=ctf, minlength=q_b * q_b)
        np.negative(buf, out=buf)
        buf[st.s_d] += D
    return buf.reshape(q_b, q_b).T


def _s_by_columns(st, D, B):
    """Lower triangle of S = D - B'B (F order, the upper triangle zero) from the slots
    B (nC, d) of blockdiag(L_A^-1) C, a block of columns at a time (``schur.column_pairs``)."""
    q_b = st.q_b
    S = np.empty((q_b, q_b), order="F")
    for j0, j1, c2, k, c1 in column_pairs(st):
        at = np.repeat((st.c_col[c2] - j0) * q_b, k) + st.c_col[c1]
        prod = np.einsum("ki,ki->k", B[c1], B[np.repeat(c2, k)])
        slab = np.bincount(at, weights=prod, minlength=(j1 - j0) * q_b)
        np.negative(slab.reshape(j1 - j0, q_b).T, out=S[:, j0:j1])
    low = st.d_row >= st.d_col
    S[st.d_row[low], st.d_col[low]] += D[low]
    return S


def _fs_by_columns(st, F, S_inv):
    """(F S^-1) (nC, d) at C's slots from the lower triangle of S^-1 (F order): for each pair
    c1 >= c2 of one group (``schur.column_pairs``) with x = S^-1[col c1, col c2],
    FS[c2] += F[c1] x and, off the diagonal, FS[c1] += F[c2] x."""
    nC, q_b = len(st.c_group), st.q_b
    FS = np.zeros((nC, st.d))
    for j0, j1, c2, k, c1 in column_pairs(st):
        x = S_inv[:, j0:j1].T.reshape(-1)[np.repeat((st.c_col[c2] - j0) * q_b, k)
                                          + st.c_col[c1]]
        run = np.repeat(np.arange(len(c2)), k)
        x_off = x.copy()
        x_off[np.cumsum(k) - k] = 0.0           # the pair (c2, c2) counts once
        for r in range(st.d):
            FS[c2, r] += np.bincount(run, weights=F[c1, r] * x, minlength=len(c2))
            FS[:, r] += np.bincount(c1, weights=np.repeat(F[c2, r], k) * x_off, minlength=nC)
    return FS


def _s_inverse(fac):
    """S^-1 at the pairs' and D's entries; a dense factor is inverted in place (LAPACK potri,
    lower triangle: entry (i, j) at flat min(i, j) q_b + max(i, j) of the C-order buffer)."""
    st, q_b = fac.st, fac.st.q_b
    if q_b == 0:
        return np.zeros(len(st.pair1)), np.zeros(len(st.d_row))
    if st.dense:
        if not fac.inverted:
            fac.S, info = lapack.dpotri(fac.S, lower=1, overwrite_c=1)
            fac.inverted = True
        flat = fac.S.T.reshape(-1)
        if st.dense_c:
            return None, flat[np.minimum(st.d_row, st.d_col) * q_b + np.maximum(st.d_row, st.d_col)]
        i, j = st.c_col[st.pair1], st.c_col[st.pair2]
        at_pair = flat[np.minimum(i, j) * q_b + np.maximum(i, j)]
        at_d = flat[np.minimum(st.d_row, st.d_col) * q_b + np.maximum(st.d_row, st.d_col)]
        return at_pair, at_d
    indptr, indices, p, data_map, keys = st.s_pattern
    pinv = np.empty_like(p)
    pinv[p] = np.arange(q_b)
    inv = fac.S.solve(np.eye(q_b))
    sym = inv[pinv[keys // q_b], pinv[keys % q_b]]
    return sym[st.s_pair], sym[st.s_d]
