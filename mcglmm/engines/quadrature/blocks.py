"""Row blocks of a nested model: whole top-level groups, about ROW_BLOCK rows each.

Nested quadrature's log likelihood, gradient, Hessian, scores and posterior moments are
sums (or stacks) over top-level groups, so the model can be cut into blocks of complete
top-level groups and each evaluated on its own: the (rows, nodes) arrays of one block stay
in cache, and no (rows x nodes x parameters) array of the whole data is ever formed.
``row_blocks`` cuts once per model; a block is a model of its own (its groups re-indexed
from 0; rows and groups as views where they are contiguous) with the global group index
of its groups at every level.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .memo import once_per_object

ROW_BLOCK = 32768


@dataclass(frozen=True)
class Block:
    """model: the block's model (ll_const 0); groups: per level, its groups' global indices
    (a slice where contiguous, else an index array)."""

    model: object
    groups: tuple


def _take(a, idx):
    return None if a is None else a[idx]


def _as_slice(idx):
    """slice(start, stop) when idx is a contiguous ascending range, else idx itself."""
    if len(idx) and idx[-1] - idx[0] + 1 == len(idx) and np.all(np.diff(idx) == 1):
        return slice(int(idx[0]), int(idx[-1]) + 1)
    return idx


def _top_of_groups(levels):
    """Per level, the top-level group of each of its groups."""
    tops = [np.arange(levels[0].n_groups)]
    for lev in levels[1:]:
        tops.append(tops[-1][lev.parent])
    return tops


def _block(model, rows, groups):
    """The model restricted to ``rows`` and per level ``groups`` (sorted global indices)."""
    rows = _as_slice(rows)
    levels, local = [], []
    for l, (lev, g) in enumerate(zip(model.levels, groups)):
        loc = np.full(lev.n_groups, -1, dtype=np.int64)
        loc[g] = np.arange(len(g))
        parent = None if lev.parent is None or l == 0 else local[-1][lev.parent[g]]
        levels.append(replace(lev, index=loc[lev.index[rows]], n_groups=len(g), parent=parent,
                              Z=lev.Z[rows]))
        local.append(loc)
    w = model.weights
    if w is not None:
        w = replace(w, level=tuple(_take(a, g) for a, g in zip(w.level, groups)),
                    obs=_take(w.obs, rows),
                    cum_level=tuple(_take(a, g) for a, g in zip(w.cum_level, groups)),
                    cum_obs=_take(w.cum_obs, rows))
    return replace(model, y=model.y[rows], ntrials=model.ntrials[rows],
                   offset=model.offset[rows], X=model.X[rows], levels=tuple(levels), Zj=None,
                   ll_const=0.0, weights=w)


def top_block_index(sizes):
    """Row block of each top-level group (G,) from the groups' row counts ``sizes`` (G,):
    groups in order, a new block after every ROW_BLOCK rows started."""
    return (np.cumsum(sizes) - sizes) // ROW_BLOCK


def largest_block_rows(model):
    """Rows of the model's largest row block (what one evaluation's (rows, nodes) arrays
    hold), from the top-level group sizes alone."""
    top = model.levels[0]
    sizes = np.bincount(top.index, minlength=top.n_groups)
    return int(np.bincount(top_block_index(sizes), weights=sizes).max()) if len(sizes) else 0


def _cut(model):
    levels = model.levels
    top_rows = levels[0].index
    sizes = np.bincount(top_rows, minlength=levels[0].n_groups)
    block_of_top = top_block_index(sizes)
    n_blocks = int(block_of_top.max()) + 1 if len(sizes) else 1
    if n_blocks == 1:
        return (Block(model, tuple(slice(None) for _ in levels)),)
    block_of_row = block_of_top[top_rows]
    order = np.argsort(block_of_row, kind="stable")
    row_cuts = np.searchsorted(block_of_row[order], np.arange(n_blocks + 1))
    group_sets = []
    for top in _top_of_groups(levels):
        b = block_of_top[top]
        g_order = np.argsort(b, kind="stable")
        cuts = np.searchsorted(b[g_order], np.arange(n_blocks + 1))
        group_sets.append([g_order[cuts[j]:cuts[j + 1]] for j in range(n_blocks)])
    blocks = []
    for j in range(n_blocks):
        groups = [sets[j] for sets in group_sets]
        blocks.append(Block(_block(model, order[row_cuts[j]:row_cuts[j + 1]], groups),
                            tuple(_as_slice(g) for g in groups)))
    return tuple(blocks)


@once_per_object
def row_blocks(model):
    """``Block``s of the model, cut once per model object."""
    return _cut(model)
