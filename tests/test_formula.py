"""The lme4-style formula: offset(expr) terms and Stata's crossed spelling (1 | _all:R.x)."""
import pytest

from mcglmm.exceptions import FormulaError
from mcglmm.formula import RandomTerm, formula_offset, split_formula


def test_offset_term_is_taken_out():
    assert formula_offset("y ~ x + offset(log_t) + (1 | g)") == ("y ~ x + (1 | g)", "log_t")
    assert formula_offset("y ~ offset(np.log(t + 1)) + (1|g)") == ("y ~ (1|g)", "np.log(t + 1)")
    assert formula_offset("y ~ x + (1 | g)") == ("y ~ x + (1 | g)", None)


def test_two_offset_terms_are_refused():
    with pytest.raises(FormulaError, match="2 offset"):
        formula_offset("y ~ offset(a) + offset(b) + (1 | g)")
    with pytest.raises(FormulaError, match="offset"):
        formula_offset("y ~ x + offset() + (1 | g)")


def test_all_r_spelling_is_the_crossed_intercept_labelled_as_stata():
    _, terms = split_formula("y ~ x + (1 | _all:R.male) + (1 | _all: R.female)")
    assert terms == (RandomTerm("1", ("male",), "_all>male"),
                     RandomTerm("1", ("female",), "_all>female"))
    _, plain = split_formula("y ~ x + (1 | male)")
    assert plain == (RandomTerm("1", ("male",)),)


def test_all_r_takes_only_the_intercept():
    with pytest.raises(FormulaError, match=r"\(1 \| _all:R.name\)"):
        split_formula("y ~ x + (1 + x | _all:R.male)")
