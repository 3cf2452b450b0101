"""Scores of the Laplace log likelihood by independent block (vce robust, cluster, opg).

The joint Hessian H = Z'WZ + P of all random effects is block diagonal over the
*independent blocks* of the design: the connected components of the graph whose nodes are
the groups of every level, two groups linked when an observation belongs to both.  The
mode u^ and H^-1 split the same way, so the Laplace log likelihood (``laplace``) is exactly
the sum of the blocks' own Laplace log likelihoods,

    l(theta) = sum_b l_b(theta),   s_b = dl_b/dtheta,

and each block's score is the sum of its observations' and its groups' pieces of the exact
gradient (``laplace.gradient_pieces``): X_b'r_b, the aux terms of its rows and the psi terms
of its groups.  For a nested model the blocks are the top-level groups (Stata's clustering
for vce(robust)).  For a crossed model Stata's top level is ``_all``, one cluster; here the
blocks are the finest grouping whose log likelihood contributions are independent (for
Stata's salamander data the 6 male-female mating groups), and a coarser cluster variable
must be constant within each block.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ...model.params import sigmas, unpack
from ...model.spec import linear_predictor
from .laplace import algebra, find_mode, gradient_pieces


def independent_blocks(model):
    """((n,) block of each observation, (G_l,) block of each group per level, B).

    Nested: the top-level groups.  Crossed: connected components of the groups.
    """
    levels = model.levels
    if model.nested:
        top = levels[0]
        maps = [np.arange(top.n_groups)]
        for lev in levels[1:]:
            maps.append(maps[-1][lev.parent])
        return top.index, maps, top.n_groups
    offsets = np.cumsum([0] + [lev.n_groups for lev in levels])
    n = len(model.y)
    nodes = np.concatenate([off + lev.index for off, lev in zip(offsets, levels)])
    rows = np.tile(np.arange(n), len(levels))
    incidence = sp.csr_matrix((np.ones(len(nodes)), (rows, nodes)), shape=(n, offsets[-1]))
    n_blocks, label = sp.csgraph.connected_components(incidence.T @ incidence, directed=False)
    return (label[levels[0].index], [label[offsets[l]:offsets[l + 1]] for l in range(len(levels))],
            int(n_blocks))


def laplace_scores(model, theta, u0=None):
    """(B, dim) score of each independent block's Laplace log likelihood at theta (its rows
    sum to the gradient of ``laplace.laplace``); u0 a warm start for the joint mode."""
    beta, aux, psis = unpack(model, theta)
    alg, _ = algebra(model, sigmas(model, psis))
    u, h, der = find_mode(model, alg, linear_predictor(model, beta), aux, u0)
    fac = alg.factor(-der.d2) if np.isfinite(h) else None
    obs_block, group_blocks, B = independent_blocks(model)
    if fac is None:
        return np.full((B, model.dim), np.nan)
    r, aux_obs, per_group = gradient_pieces(model, alg, der, u, fac, psis)
    total = sp.csr_matrix((np.ones(len(r)), (obs_block, np.arange(len(r)))), shape=(B, len(r)))
    parts = [total @ (r[:, None] * model.X), total @ aux_obs]
    for blocks, g in zip(group_blocks, per_group):
        into = sp.csr_matrix((np.ones(len(blocks)), (blocks, np.arange(len(blocks)))),
                             shape=(B, len(blocks)))
        parts.append(into @ g)
    return np.hstack(parts)
