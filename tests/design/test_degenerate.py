"""design.degenerate: constant responses, separation and collinear columns, on small arrays."""
import warnings

import numpy as np
import pytest

from mcglmm.design.degenerate import (check_response_varies, collinear_columns, drop_collinear,
                                      separating_columns)
from mcglmm.exceptions import DesignError, DesignWarning

RNG = np.random.default_rng(0)
N = 40
X1 = RNG.normal(size=N)
Y = (X1 + RNG.normal(size=N) > 0).astype(float)
ONES = np.ones(N)


@pytest.mark.parametrize("y, kind, match", [
    (np.zeros(N), "binary", "0 \\(a failure\\) in all 40 rows"),
    (np.ones(N), "binary", "a success in all 40 rows"),
    (np.zeros(N), "count", "0 in all 40 rows"),
    (np.full(N, 2.5), "continuous", "2.5 in all 40 rows"),
])
def test_a_response_without_a_finite_mle_is_refused_by_name(y, kind, match):
    with pytest.raises(DesignError, match="the response yy must be varying|the response yy must "
                       "be not zero") as info:
        check_response_varies(y, ONES, kind, "yy")
    assert info.match(match)


@pytest.mark.parametrize("y, ntrials, kind", [
    (np.full(N, 3.0), ONES, "count"),             # a constant positive count has an MLE
    (np.full(N, 1.0), np.full(N, 2.0), "binary"),  # half the trials in every row
    (Y, ONES, "binary"),
])
def test_responses_with_a_finite_mle_pass(y, ntrials, kind):
    check_response_varies(y, ntrials, kind, "y")


def test_indicator_and_threshold_separation_are_found_and_overlap_is_not():
    sep = ((Y == 0) & (np.arange(N) % 2 == 0)).astype(float)
    thr = np.where(Y == 1, 1 + RNG.random(N), RNG.random(N))
    X = np.column_stack([ONES, X1, sep, thr])
    found = dict(separating_columns(Y, ONES, X, ["_cons", "x1", "sep", "thr"]))
    assert set(found) == {"sep", "thr"}
    assert found["sep"].startswith("sep == 1 predicts failure perfectly")
    assert "thr >=" in found["thr"]


def test_binomial_separation_uses_the_proportions():
    ntrials = np.full(N, 3.0)
    x = np.arange(N, dtype=float)
    y = np.where(x < 20, 0.0, 3.0)
    y[20] = 1.0                                   # a mixed row at the threshold: still separated
    assert separating_columns(y, ntrials, x[:, None], ["x"])
    y[30] = 0.0                                   # a failure above it: not separated
    assert not separating_columns(y, ntrials, x[:, None], ["x"])


@pytest.mark.parametrize("extra, dropped", [
    (lambda X: 2 * X[:, 1], [3]),
    (lambda X: X[:, 1] - 3 * X[:, 2] + 5, [3]),
    (lambda X: np.zeros(N), [3]),
    (lambda X: np.full(N, 7.0), [3]),
    (lambda X: X[:, 1] + 1e-3 * RNG.normal(size=N), []),
])
def test_collinear_columns_are_the_later_ones(extra, dropped):
    X = np.column_stack([ONES, X1, RNG.normal(size=N)])
    X = np.column_stack([X, extra(X)])
    assert collinear_columns(X) == dropped


def test_a_covariate_in_units_of_1e8_is_not_collinear_with_the_intercept():
    X = np.column_stack([ONES, 1e8 + X1])
    assert collinear_columns(X) == []


def test_drop_collinear_warns_with_statas_note_and_keeps_order():
    X = np.column_stack([ONES, X1, 2 * X1, RNG.normal(size=N)])
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        Xk, names, omitted = drop_collinear(X, ["_cons", "x", "x2", "z"])
    assert names == ("_cons", "x", "z") and omitted == ("x2",)
    np.testing.assert_array_equal(Xk, X[:, [0, 1, 3]])
    assert [str(w.message) for w in seen if w.category is DesignWarning] == \
        ["note: x2 omitted because of collinearity"]
