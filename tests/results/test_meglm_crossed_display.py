"""Stata's crossed spelling ``|| _all: R.male || _all: R.female`` (manual, example 4), written
``(1 | _all:R.male) + (1 | _all:R.female)``: the same fit as ``(1 | male) + (1 | female)``,
printed as Stata prints it: one group ``_all`` of all 360 observations in the header, and
the variances under ``_all>male`` and ``_all>female``."""
import pytest

import mcglmm as mc

ALL = "y ~ C(wsm) * C(wsf) + (1 | _all:R.male) + (1 | _all:R.female)"
PLAIN = "y ~ C(wsm) * C(wsf) + (1 | male) + (1 | female)"


@pytest.fixture(scope="module")
def fits(salamander):
    return (mc.meglm(ALL, salamander, family="bernoulli", or_=True),
            mc.meglm(PLAIN, salamander, family="bernoulli", or_=True))


def test_same_model_as_the_plain_crossed_spelling(fits):
    spelled, plain = fits
    assert spelled.ll == pytest.approx(plain.ll, rel=1e-12)       # seen 0
    assert spelled.ll == pytest.approx(-209.27659, abs=5e-6)      # manual, example 4
    assert list(spelled.b.to_numpy()) == pytest.approx(list(plain.b.to_numpy()), rel=1e-10)


def test_names_and_header_as_stata(fits):
    spelled, _ = fits
    assert list(spelled.b.index[-2:]) == ["_all>male:var(_cons)", "_all>female:var(_cons)"]
    lines = str(spelled.summary()).splitlines()
    header = [l.rstrip() for l in lines[lines.index("Link:   Logit") + 1:][:6]]
    assert header == ["Group variable: _all                            Number of groups  ="
                      "          1", "",
                      "                                                Obs per group:",
                      "                                                              min ="
                      "        360",
                      "                                                              avg ="
                      "      360.0",
                      "                                                              max ="
                      "        360"]
    equations = [l.split("|")[0].strip() for l in lines if l.rstrip().endswith("|")]
    assert equations == ["_all>male", "_all>female"]
    assert list(spelled.N_g) == [1]
    legend = str(spelled.summary(coeflegend=True))
    assert "_b[/var(_cons[_all>male])]" in legend


def test_all_r_with_a_nested_level_lists_both_groups(salamander):
    fit = mc.meglm("y ~ wsm + (1 | _all:R.male) + (1 | female)", salamander,
                   family="bernoulli")
    assert list(fit.group_info["group"]) == ["_all", "female"]
    assert list(fit.N_g) == [1, 60]
