"""The model every quadrature/Laplace engine evaluates (a frozen spec) and its weights.

Its parameter vector theta is laid out, split and named by ``params`` only.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp


@dataclass(frozen=True)
class MEModel:
    """Arrays of a meglm model.

    y, ntrials, offset: (n,); X: (n, p); family: a ``families.Family`` row;
    levels: tuple of ``design.levels.Level`` (top first); covariances: a
    ``covariance.Covariance`` per level; n_aux: a; nested: quadrature by levels is
    possible; Zj: (n, q) CSC;
    ll_const: sum_i of the log density terms free of theta (log y!, log C(n, y)).
    """

    y: np.ndarray
    ntrials: np.ndarray
    offset: np.ndarray
    X: np.ndarray
    family: object
    levels: tuple
    covariances: tuple
    n_aux: int
    nested: bool
    Zj: sp.csc_matrix
    ll_const: float = 0.0   # sum of the family's data-only log density terms
    weights: object = None  # design.weights.LevelWeights, or None (all weights 1)

    @property
    def p(self):
        return self.X.shape[1]

    @property
    def n_psi(self):
        return tuple(cov.n_params for cov in self.covariances)

    @property
    def dim(self):
        return self.p + self.n_aux + sum(self.n_psi)


def linear_predictor(model, beta):
    """Fixed part of eta: X beta + offset, (n,)."""
    return model.X @ beta + model.offset


def level_weights(model):
    """(raw weights per level [(G_l,)], raw observation weights (n,)); Nones when unweighted."""
    w = model.weights
    if w is None:
        return [None] * len(model.levels), None
    return list(w.level), w.obs


def times(a, w):
    """a (G, ...) times w (G,) broadcast over the trailing axes; a itself when w is None."""
    return a if w is None else a * w.reshape(w.shape + (1,) * (np.ndim(a) - 1))


def cumulative_weights(model):
    """(c_l per level [(G_l,)], c_o (n,)) of ``design.weights``; ones when unweighted."""
    w = model.weights
    if w is None:
        return [np.ones(lev.n_groups) for lev in model.levels], np.ones(len(model.y))
    return list(w.cum_level), w.cum_obs


def aux_gradient(terms, weights, n_aux):
    """sum_i w_i ll_a,i per auxiliary parameter; ``weights`` (n, ...) sums each term's ll_a."""
    g = np.zeros(n_aux)
    for t in terms:
        col = t.col.ravel()
        val = (weights * t.ll_a).reshape(len(col), -1).sum(axis=1)
        ok = col >= 0
        g += np.bincount(col[ok], weights=val[ok], minlength=n_aux)
    return g
