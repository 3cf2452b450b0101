"""meglm's work bound counts what an evaluation holds: one row block for a nested model.

The bound alone would pass a wrong row count, so the front's count is checked too: meglm
refuses a rule by the rows of one block, not all n (the 10^7-row AGHQ-7 case of issue 14).
"""
import numpy as np
import pandas as pd
import pytest

from mcglmm._checks import QUAD_COPIES, quadrature_work
from mcglmm.api.meglm import build_model
from mcglmm.engines.quadrature.blocks import ROW_BLOCK, largest_block_rows
from mcglmm.exceptions import WorkTooLargeError
from mcglmm.model.families import get_family


def _model(formula, data):
    model, _ = build_model(formula, data, get_family("bernoulli"), "independent", False,
                           None, None, None)
    return model


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(3)
    n, G = 4 * ROW_BLOCK, 1000
    return pd.DataFrame({"y": rng.integers(0, 2, n), "x": rng.standard_normal(n),
                         "g": np.arange(n) * G // n, "h": rng.integers(0, 50, n)})


def test_nested_work_is_one_row_block_not_all_rows(data):
    model = _model("y ~ x + (1 | g)", data)
    block = largest_block_rows(model)
    assert ROW_BLOCK <= block < ROW_BLOCK + len(data) // 1000 + 1       # whole groups per block
    one_block, all_rows = 8 * QUAD_COPIES * 7 * block, 8 * QUAD_COPIES * 7 * len(data)
    limit = (one_block + all_rows) // 2             # the old count (all rows) refused this
    quadrature_work(model, "mvaghermite", 7, block, limit=limit)
    with pytest.raises(WorkTooLargeError, match="intpoints"):
        quadrature_work(model, "mvaghermite", 7, block, limit=one_block // 2)


def test_crossed_joint_rule_of_2_to_the_1050_is_refused_not_overflowed(data):
    model = _model("y ~ x + (1 | g) + (1 | h)", data)                 # q = 1050 effects
    with pytest.raises(WorkTooLargeError, match=r"\(2\^1050 node combinations.*more memory"):
        quadrature_work(model, "mcaghermite", 2, len(data))


class _Stop(Exception):
    pass


@pytest.mark.parametrize("formula, method, rows", [
    ("y ~ x + (1 | g)", "mvaghermite", "block"),
    ("y ~ x + (1 | g) + (1 | h)", "mcaghermite", "all"),
])
def test_meglm_bounds_the_rows_one_evaluation_holds(data, monkeypatch, formula, method, rows):
    import sys

    import mcglmm as mc
    front = sys.modules["mcglmm.api.meglm"]        # the module (mcglmm.api.meglm is the function)
    seen = []

    def spy(model, intmethod, k, n_rows):
        seen.append((n_rows, largest_block_rows(model) if model.nested else None))
        raise _Stop

    monkeypatch.setattr(front, "quadrature_work", spy)
    with pytest.raises(_Stop):
        mc.meglm(formula, data, family="bernoulli", intmethod=method, intpoints=3)
    n_rows, block = seen[0]
    assert n_rows == (block if rows == "block" else len(data))
    assert rows == "all" or n_rows < len(data)
