"""summary() prints Stata's header, table, variance rows and LR test; options at print time."""
import numpy as np
import pytest

from printed import assert_printed_line

from mcglmm.api.meglm import meglm


@pytest.fixture(scope="module")
def fit(pig):
    return meglm("weight ~ week + (1 | id)", data=pig)


def test_pig_summary_lines(fit):
    text = str(fit.summary())
    for piece in ["Mixed-effects GLM", "Number of obs     =        432", "Family: Gaussian",
                  "Group variable: id", "Number of groups  =         48",
                  "Integration method: mvaghermite", "Integration pts.  =          7",
                  "Wald chi2(1)      =   25337.48", "Log likelihood = -1014.9268",
                  "week |   6.209896   .0390124  159.18   0.000     6.133433    6.286359",
                  "var(e.weight) |   4.383264   .3163349", "chibar2(01) = 472.65"]:
        assert_printed_line(text, piece, rtol=1e-9)     # Stata's printed digits, last one free


def test_level_and_eform_at_print_time(fit):
    text = str(fit.summary(level=90, eform=True))
    assert "[90% conf. interval]" in text and "exp(b)" in text
    week = [line for line in text.splitlines() if line.strip().startswith("week")][0]
    assert f"{np.exp(6.209896):.6g}"[:6] in week.replace(",", "")


def test_stored_results(fit):
    assert fit.k == 4 and fit.N == 432 and fit.converged and fit.ic >= 1
    assert set(fit.table.index) >= {"b", "se", "z", "pvalue", "ll", "ul"}
    assert fit.V.shape == (4, 4) and list(fit.b.index) == list(fit.table.columns)
    with pytest.raises(AttributeError):
        fit.ll = 0.0
