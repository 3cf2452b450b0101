"""The independent blocks of Z: connected components of the graph of shared observations."""
import numpy as np
import pandas as pd
import scipy.sparse as sp

import mcglmm as mc
from mcglmm.design import glmm_design
from mcglmm.design.blocks import Blocks, independent_blocks


def _design(fixed, random, data, family=mc.bernoulli_glmm):
    names = [f"v{i}" for i in range(len(random))]
    return glmm_design(fixed, random, data, family, names)


def test_salamander_has_six_blocks_of_ten_females_and_ten_males():
    d = _design("Mate ~ 0 + Cross", ["0 + Female", "0 + Male"], mc.datasets.load("salamander"))
    blocks = independent_blocks(d.Z)
    assert blocks.n_blocks == 6
    np.testing.assert_array_equal(blocks.sizes, np.full(6, 20))
    for b in range(6):
        members = d.vc_index[blocks.col_block == b]
        assert (members == 0).sum() == 10 and (members == 1).sum() == 10
    # every observation's effects lie in its own block
    rows, cols = d.Z.nonzero()
    np.testing.assert_array_equal(blocks.row_block[rows], blocks.col_block[cols])
    assert blocks.first_column[0] == 0 and np.all(np.diff(blocks.first_column) > 0)


def test_murder_has_one_block_per_respondent():
    data = mc.datasets.load("murder")
    data["id"] = pd.Categorical(np.arange(len(data)))
    d = _design("y ~ 0 + race", ["0 + id"], data, mc.poisson_glmm)
    blocks = independent_blocks(d.Z)
    assert blocks.n_blocks == 1308
    np.testing.assert_array_equal(blocks.sizes, np.ones(1308))
    np.testing.assert_array_equal(blocks.row_block, np.arange(1308))


def test_fully_crossed_design_is_one_block():
    grid = pd.DataFrame({"a": pd.Categorical(np.repeat(np.arange(5), 4)),
                         "b": pd.Categorical(np.tile(np.arange(4), 5)),
                         "y": np.arange(20) % 2})
    blocks = independent_blocks(_design("y ~ 1", ["0 + a", "0 + b"], grid).Z)
    assert blocks.n_blocks == 1 and blocks.sizes.tolist() == [9]


def test_rows_without_random_effects_go_to_block_zero():
    Z = sp.csr_matrix(np.array([[0, 1, 0], [0, 0, 0], [1, 0, 0], [0, 0, 1.0]]))
    blocks = independent_blocks(Z)
    np.testing.assert_array_equal(blocks.col_block, [0, 1, 2])
    np.testing.assert_array_equal(blocks.row_block, [1, 0, 0, 2])
    single = Blocks.single(4, 3)
    assert single.n_blocks == 1 and single.sizes.tolist() == [3]
