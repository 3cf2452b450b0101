"""H = A Z'WZ A + I (q, q) on the fixed pattern of a ``design.gram.WeightedGram``: the
symbolic work once, the numbers per W, and H^-1 on that pattern.  Every factorisation of H
in the package's MCLA side (PQL's and the conditional mode's Newton steps) is made here.

The pattern of Z'WZ does not depend on W or A, so ``FactorPlan.build`` chooses once which
variance component's block is diagonal (``spd_factor.schur_lead``), cuts H into
[[D, C], [C', E]] and records where each stored entry of Z'WZ lands: on D's diagonal (d),
in C (k, r) or in E (r, r).  A factorisation is then scatters of the stored values,
S = E - C' D^-1 C by one BLAS syrk when C fits dense (DENSE_C entries; else a sparse
product) and LAPACK's Cholesky of S; the result is a ``spd_factor.SchurFactor`` (or
``LUFactor`` when no component qualifies).

The selected inverse (H^-1 where Z'Z is stored, and its diagonal) gives traces of H^-1
against A Z' diag(dW) Z A without forming H^-1 whole.  From the Schur blocks, with
T = D^-1 C S^-1 (k, r):

    H^-1 = [[D^-1 + T C' D^-1, -T], [-T', S^-1]],   (H^-1)_jj = 1/d_j + sum_l T_jl C_jl / d_j,

T taken on C's pattern in row chunks of at most DENSE_C entries.  For the LU fallback it
comes from H^-1's columns in chunks (q solves: a fallback's price).
"""
from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass

import numpy as np
import scipy.linalg.blas as blas
import scipy.linalg.lapack as lapack
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from ..parallel import single_threaded_blas
from .spd_factor import LUFactor, SchurFactor, schur_lead

DENSE_C = 10**7          # most entries of C (80 MB) held dense for the syrk and for T
LU_CHUNK = 256           # columns of H^-1 per solve in the LU fallback
LU_SELECTED_MAX = 4000   # largest q whose LU fallback gives the selected inverse cheaply
# Largest S whose dense algebra runs on one BLAS thread.  PQL on crossed-1e5 (bench_mcla,
# 2 cores, load 0.5), one thread against OpenBLAS's two: r = 1000 1.47 s wall / 1.5 s CPU
# against 2.05 / 4.0; r = 1700 5.5 / 5.5 against 4.8 / 9.4; r = 2500 12.9 / 12.9 against
# 9.4 / 17.1 (salamander, r = 60: 0.01 s either way).
SINGLE_THREAD_MAX = 1000


@dataclass(frozen=True)
class FactorPlan:
    """Where the stored entries of Z'WZ (CSC data, ``nnz``) go.  ``lead`` (k,) / ``rest``
    (r,) columns (``lead`` None: LU); ``cols`` (nnz,) each entry's column; d_pos / d_at: the
    lead diagonal's entries and their place in d; c_pos / c_row / c_col: C's entries (row
    in lead, column in rest) in CSR order with ``c_indptr``; ct_pos / ct_at: the mirrored
    entries (C'), as positions into C's entries; e_pos / e_flat: E's entries, flat in (r, r)."""

    q: int
    indptr: np.ndarray
    indices: np.ndarray
    cols: np.ndarray
    lead: np.ndarray | None
    rest: np.ndarray | None
    d_pos: np.ndarray | None = None
    d_at: np.ndarray | None = None
    c_pos: np.ndarray | None = None
    c_row: np.ndarray | None = None
    c_col: np.ndarray | None = None
    c_indptr: np.ndarray | None = None
    ct_pos: np.ndarray | None = None
    ct_at: np.ndarray | None = None
    e_pos: np.ndarray | None = None
    e_flat: np.ndarray | None = None

    @classmethod
    def build(cls, gram, vc_index):
        """The plan for H = A gram(W) A + I (gram: a WeightedGram, or any object with its
        q, indptr and indices); the lead by ``spd_factor.schur_lead``."""
        q, indptr, indices = gram.q, gram.indptr, gram.indices
        cols = np.repeat(np.arange(q), np.diff(indptr))
        pattern = sp.csc_matrix((np.ones(len(indices)), indices, indptr), shape=(q, q))
        lead = schur_lead(pattern + sp.identity(q, format="csc"), vc_index)
        if lead is None:
            return cls(q, indptr, indices, cols, None, None)
        rest = np.setdiff1d(np.arange(q), lead)
        place = np.empty(q, dtype=np.int64)
        place[lead], place[rest] = np.arange(len(lead)), np.arange(len(rest))
        is_lead = np.zeros(q, dtype=bool)
        is_lead[lead] = True
        row_lead, col_lead = is_lead[indices], is_lead[cols]
        d_pos = np.flatnonzero(row_lead & col_lead)
        c_pos = np.flatnonzero(row_lead & ~col_lead)
        c_row, c_col = place[indices[c_pos]], place[cols[c_pos]]
        order = np.lexsort((c_col, c_row))
        c_pos, c_row, c_col = c_pos[order], c_row[order], c_col[order]
        c_indptr = np.concatenate([[0], np.cumsum(np.bincount(c_row, minlength=len(lead)))])
        ct_pos = np.flatnonzero(~row_lead & col_lead)
        key = place[cols[ct_pos]] * len(rest) + place[indices[ct_pos]]
        ct_at = np.searchsorted(c_row * len(rest) + c_col, key)
        e_pos = np.flatnonzero(~row_lead & ~col_lead)
        e_flat = place[indices[e_pos]] * len(rest) + place[cols[e_pos]]
        return cls(q, indptr, indices, cols, lead, rest, d_pos, place[indices[d_pos]], c_pos,
                   c_row, c_col, c_indptr, ct_pos, ct_at, e_pos, e_flat)

    @property
    def cheap_selected(self):
        """Whether ``selected`` costs about a factorisation: a Schur plan, or an LU one with
        q <= LU_SELECTED_MAX (q solves with the factors)."""
        return self.lead is not None or self.q <= LU_SELECTED_MAX

    def blas(self):
        """A context for the plan's dense algebra: BLAS on one thread when S has at most
        SINGLE_THREAD_MAX columns (or there is no S), else BLAS as configured."""
        small = self.rest is None or len(self.rest) <= SINGLE_THREAD_MAX
        return single_threaded_blas() if small else nullcontext()

    def factorise(self, data):
        """The factor of H whose off-identity part has CSC data ``data`` (nnz,) on the
        plan's pattern: a SchurFactor, or an LUFactor without a lead."""
        q = self.q
        if self.lead is None:
            H = sp.csc_matrix((data, self.indices, self.indptr), shape=(q, q))
            lu = spla.splu(H + sp.identity(q, format="csc"))
            return LUFactor(lu, float(np.sum(np.log(np.abs(lu.U.diagonal())))))
        k, r = len(self.lead), len(self.rest)
        d = np.ones(k)
        d[self.d_at] += data[self.d_pos]
        C = sp.csr_matrix((data[self.c_pos], self.c_col, self.c_indptr), shape=(k, r))
        S = np.zeros(r * r)
        S[self.e_flat] = data[self.e_pos]
        S = S.reshape(r, r)
        S[np.diag_indices(r)] += 1.0
        if r == 0:
            return SchurFactor(self.lead, self.rest, d, C, (S, True), float(np.sum(np.log(d))))
        with self.blas():
            if k * r <= DENSE_C:
                Cs = np.zeros((k, r))
                Cs[self.c_row, self.c_col] = C.data / np.sqrt(d[self.c_row])
                # lower triangle of S - Cs'Cs; Cs.T and S.T are the F-ordered views BLAS
                # takes without a copy (S is symmetric)
                S = blas.dsyrk(-1.0, Cs.T, beta=1.0, c=S.T, trans=0, lower=1, overwrite_c=1)
            else:
                S = S - (C.T @ sp.diags(1.0 / d) @ C).toarray()
            chol, info = lapack.dpotrf(S, lower=1, overwrite_a=1)
        if info != 0:
            raise np.linalg.LinAlgError("H is not positive definite")
        logdet = float(np.sum(np.log(d)) + 2.0 * np.sum(np.log(np.diag(chol))))
        return SchurFactor(self.lead, self.rest, d, C, (chol, True), logdet)

    def selected(self, factor):
        """(H^-1 at the plan's stored entries (nnz,), diag H^-1 (q,)) for a factor from
        ``factorise`` (module docstring)."""
        if self.lead is None:
            return self._selected_lu(factor)
        k, r = len(self.lead), len(self.rest)
        inv = np.zeros((0, 0))
        if r:
            inv = lapack.dpotri(factor.chol[0], lower=1)[0]
            inv = np.tril(inv) + np.tril(inv, -1).T
        C, d = factor.C, factor.d
        t_c = np.empty(C.nnz)            # T at C's entries
        step = max(1, DENSE_C // max(r, 1))
        for start in range(0, k, step):  # row chunks bound T's memory
            stop = min(k, start + step)
            T = (C[start:stop] @ inv) / d[start:stop, None]
            lo, hi = self.c_indptr[start], self.c_indptr[stop]
            t_c[lo:hi] = T[self.c_row[lo:hi] - start, self.c_col[lo:hi]]
        diag = np.empty(self.q)
        diag[self.lead] = (1.0 + np.bincount(self.c_row, weights=t_c * C.data, minlength=k)) / d
        diag[self.rest] = np.diag(inv)
        values = np.empty(len(self.indices))
        values[self.d_pos] = diag[self.lead][self.d_at]
        values[self.c_pos] = -t_c
        values[self.ct_pos] = -t_c[self.ct_at]
        values[self.e_pos] = inv.ravel()[self.e_flat]
        return values, diag

    def _selected_lu(self, factor):
        """``selected`` from H^-1's columns, LU_CHUNK at a time."""
        values, diag = np.empty(len(self.indices)), np.empty(self.q)
        for start in range(0, self.q, LU_CHUNK):
            stop = min(self.q, start + LU_CHUNK)
            unit = np.zeros((self.q, stop - start))
            unit[np.arange(start, stop), np.arange(stop - start)] = 1.0
            block = factor.solve(unit)
            lo, hi = self.indptr[start], self.indptr[stop]
            values[lo:hi] = block[self.indices[lo:hi], self.cols[lo:hi] - start]
            diag[start:stop] = block[np.arange(start, stop), np.arange(stop - start)]
        return values, diag
