"""design.evaluate: the caller's namespace, np, Q("...") columns and errors naming the term."""
import numpy as np
import pandas as pd
import pytest

from mcglmm.design import evaluate
from mcglmm.exceptions import FormulaError

DATA = pd.DataFrame({"y": [0.0, 1.0, 1.0, 0.0], "x": [1.0, 2.0, 3.0, 4.0],
                     "my x": [1.0, np.nan, 2.0, 3.0]})


def test_formula_variables_see_quoted_columns_and_not_functions():
    assert evaluate.formula_variables('y ~ Q("my x") + np.log(x)', DATA) == {"y", "my x", "x"}


def test_names_resolve_in_the_first_frame_outside_mcglmm():
    def triple(v):
        return 3 * v
    _, X = evaluate.dmatrices("y ~ triple(x) + np.sqrt(x)", DATA)
    np.testing.assert_allclose(np.asarray(X)[:, 1], 3 * DATA["x"])
    np.testing.assert_allclose(np.asarray(X)[:, 2], np.sqrt(DATA["x"]))


@pytest.mark.parametrize("formula, match", [
    ("y ~ x + nothere", "term 'nothere'"),
    ("y ~ x + (", r"formula 'y ~ x \+ \('"),
    ("y ~ &", "formula 'y ~ &'"),
])
def test_patsy_errors_become_formula_errors_naming_formula_and_term(formula, match):
    with pytest.raises(FormulaError, match=match):
        evaluate.dmatrices(formula, DATA)


def test_response_variables_are_the_left_hand_side_columns():
    assert evaluate.response_variables("cbind(y, x) ~ 1", DATA) == {"y", "x"}
    assert evaluate.response_variables("~ x", DATA) == set()
