"""Bad input to meglm() raises a ValueError naming the argument, before any fitting."""
import importlib

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcglmm.api.meglm import meglm
from mcglmm.formula import split_formula


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    n = 60
    return pd.DataFrame({"y": rng.integers(0, 2, n), "x": rng.normal(size=n),
                         "count": rng.poisson(2, n), "pos": rng.gamma(2, 1, n),
                         "g": np.repeat(np.arange(6), 10), "h": np.tile(np.arange(10), 6),
                         "one": np.ones(n), "expo": rng.uniform(0.5, 2, n)})


@pytest.mark.parametrize("kwargs,match", [
    ({"family": "weibull"}, "family must be one of"),
    ({"family": "bernoulli", "link": "sqrt"}, "link must be one of"),
    ({"family": "poisson", "link": "logit"}, "link must be one of log for family 'poisson'"),
    ({"family": "gaussian", "link": "probit"}, "Stata's allowed combinations"),
    ({"family": "bernoulli", "intmethod": "laplace", "intpoints": 7}, "intpoints must be None"),
    ({"family": "bernoulli", "intmethod": "simpson"}, "intmethod must be one of"),
    ({"family": "bernoulli", "intpoints": 0}, "intpoints must be an integer"),
    ({"family": "bernoulli", "vce": "bootstrap"}, "vce must be"),
    ({"family": "bernoulli", "covariance": "banded"}, "covariance must be one of"),
    ({"family": "nbinomial", "dispersion": "quadratic"}, "dispersion must be"),
])
def test_bad_options(data, kwargs, match):
    with pytest.raises(ValueError, match=match):
        meglm("y ~ x + (1 | g)", data=data, **kwargs)


def test_grouping_variable_absent(data):
    with pytest.raises(ValueError, match="grouping variable 'school' is not a column"):
        meglm("y ~ x + (1 | school)", data=data, family="bernoulli")


def test_term_nested_inconsistently(data):
    with pytest.raises(ValueError, match="nested inconsistently"):
        meglm("y ~ x + (1 | g:h) + (1 | h)", data=data, family="bernoulli")


def test_ordinal_with_one_category(data):
    with pytest.raises(ValueError, match="at least two categories"):
        meglm("one ~ x + (1 | g)", data=data, family="ordinal")


def test_negative_count(data):
    bad = data.assign(count=data["count"] - 3)
    with pytest.raises(ValueError, match="non-negative integers"):
        meglm("count ~ x + (1 | g)", data=bad, family="poisson")


def test_non_positive_gamma_response(data):
    with pytest.raises(ValueError, match="gamma family must be positive"):
        meglm("x ~ 1 + (1 | g)", data=data, family="gamma")


def test_exposure_not_positive(data):
    with pytest.raises(ValueError, match="exposure must be positive"):
        meglm("count ~ x + (1 | g)", data=data, family="poisson", exposure=data["x"].to_numpy())


def test_quadrature_refused_for_crossed(data):
    with pytest.raises(ValueError, match="'laplace' or 'mcaghermite' for a crossed model"):
        meglm("y ~ x + (1 | g) + (1 | h)", data=data, family="bernoulli", intmethod="mvaghermite")


@pytest.mark.parametrize("formula,match", [
    ("y ~ x", "no random-effects term"),
    ("y ~ x + 1 | g", "must be written in parentheses"),
    ("y ~ x + (1 || g)", "'||' is not supported"),
    ("y x (1 | g)", "two-sided"),
    ("y ~ x + (1 | g", "unbalanced"),
])
def test_formula_errors_quote_the_formula(formula, match):
    with pytest.raises(ValueError, match=match):
        split_formula(formula)


def test_formula_split_nesting():
    fixed, terms = split_formula("y ~ x + (1 + x | school/class/pupil)")
    assert fixed == "y ~ x"
    assert [t.group for t in terms] == [("school",), ("school", "class"),
                                        ("school", "class", "pupil")]


def test_intpoints_refused_for_crossed_default(data):
    with pytest.raises(ValueError, match="intpoints must be None for a crossed model"):
        meglm("y ~ x + (1 | g) + (1 | h)", data=data, family="bernoulli", intpoints=7)


@settings(derandomize=True, max_examples=40, deadline=None)
@given(st.one_of(st.integers(max_value=0), st.integers(min_value=129), st.floats(),
                 st.text(max_size=3), st.booleans()))
def test_intpoints_outside_1_to_128_is_refused(data, bad):
    with pytest.raises(ValueError, match="intpoints"):
        meglm("y ~ x + (1 | g)", data=data, family="bernoulli", intpoints=bad)


@settings(derandomize=True, max_examples=40, deadline=None)
@given(st.one_of(st.floats(max_value=9.99), st.floats(min_value=100.0), st.text(max_size=3)))
def test_level_outside_10_to_99_99_is_refused(data, bad):
    with pytest.raises(ValueError, match="level"):
        meglm("y ~ x + (1 | g)", data=data, family="bernoulli", level=bad)


@pytest.fixture(scope="module")
def many_groups():
    """24004 rows: g has 12002 groups of two rows, h pairs the second row of g with the first
    of g + 1 (12002 groups, crossed with g); every row is a group of r, nested in g."""
    rng = np.random.default_rng(3)
    i = np.arange(24004)
    return pd.DataFrame({"y": rng.integers(0, 2, len(i)), "x": rng.normal(size=len(i)),
                         "g": i // 2, "h": (i // 2 + i % 2) % 12002, "r": i})


@pytest.mark.parametrize("formula, options, match", [
    ("y ~ x + (1 | g) + (1 | h)", {},
     r"formula must be a crossed model with at most 12000 random effects outside its largest "
     r"level with the Laplace approximation .*; got '12002 random effects outside the largest "
     r"level'"),
    ("y ~ x + (1 | g) + (1 | r)", {"intmethod": "laplace"},
     r"intmethod must be 'mvaghermite', 'mcaghermite' or 'ghermite' for this nested model "
     r"with 12002 random effects outside its largest level.*; got 'laplace'"),
])
def test_laplace_with_too_many_random_effects_is_refused_before_fitting(
        many_groups, monkeypatch, formula, options, match):
    """Before, a plain ValueError came from the first gradient, after the fixed-effects fit."""
    def refuse(*args, **kwargs):
        raise AssertionError("the fixed-effects model was fitted before the check")
    monkeypatch.setattr(importlib.import_module("mcglmm.api.meglm"), "fit_fixed", refuse)
    with pytest.raises(ValueError, match=match):
        meglm(formula, data=many_groups, family="bernoulli", **options)


@pytest.mark.parametrize("option, bad", [
    ("level", True), ("level", np.float64("nan")), ("iterate", True), ("iterate", np.bool_(True)),
    ("iterate", 2.0), ("iterate", -1), ("tolerance", True), ("tolerance", np.inf),
    ("tolerance", np.float32(0.0)), ("intpoints", np.True_),
])
def test_bools_and_out_of_range_numbers_are_refused(data, option, bad):
    with pytest.raises(ValueError, match=f"^{option} must be"):
        meglm("y ~ x + (1 | g)", data=data, family="bernoulli", **{option: bad})


def test_numpy_numbers_are_accepted_for_numeric_options(data):
    ref = meglm("y ~ x + (1 | g)", data=data, family="bernoulli", level=90, iterate=50,
                tolerance=1e-6, intpoints=5)
    fit = meglm("y ~ x + (1 | g)", data=data, family="bernoulli", level=np.float32(90),
                iterate=np.int64(50), tolerance=np.float32(1e-6), intpoints=np.uint8(5))
    assert fit.ll == ref.ll
    pd.testing.assert_frame_equal(fit.table, ref.table)
