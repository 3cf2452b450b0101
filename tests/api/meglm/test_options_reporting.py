"""meglm's reporting options on replay (``summary(...)``), each against the layout the manual
describes: noheader suppresses the header, nogroup the group table, notable the estimation
table, nocnsreport the constraint lines; a constant-only model prints Wald chi2(0) as '.'."""
import pytest

import mcglmm as mc


@pytest.fixture(scope="module")
def fit(pig):
    return mc.meglm("weight ~ week + (1 | id)", pig, constraints="week = 6.2")


def _lines(summary):
    return str(summary).splitlines()


def test_full_output_has_the_parts(fit):
    lines = _lines(fit.summary())
    assert lines[0].startswith("Mixed-effects GLM")
    assert any(l.startswith("Group variable: id") for l in lines)
    assert " ( 1)  [weight]week = 6.2" in lines
    assert any("Coefficient" in l for l in lines) and lines[-1].startswith("LR test")


def test_noheader(fit):
    full, lines = _lines(fit.summary()), _lines(fit.summary(noheader=True))
    assert lines[0] == " ( 1)  [weight]week = 6.2"         # the table follows directly
    assert not any("Mixed-effects GLM" in l or "Log likelihood" in l for l in lines)
    assert lines[1:] == full[full.index(lines[0]) + 1:]


def test_nogroup(fit):
    full, lines = _lines(fit.summary()), _lines(fit.summary(nogroup=True))
    group = [l for l in full if "Group variable" in l or "Obs per group" in l
             or l.strip().startswith(("min =", "avg =", "max ="))]
    assert len(group) == 5 and not any(l in lines for l in group)
    assert lines[:3] == full[:3] and "Integration method: mvaghermite" in lines[4]
    assert len(full) - len(lines) == 6                      # the 5 lines and a blank


def test_notable(fit):
    full, lines = _lines(fit.summary()), _lines(fit.summary(notable=True))
    assert not any("Coefficient" in l or l.startswith("LR test") for l in lines)
    assert lines == full[:len(lines)] and lines[-1] == " ( 1)  [weight]week = 6.2"


def test_nocnsreport(fit):
    full, lines = _lines(fit.summary()), _lines(fit.summary(nocnsreport=True))
    assert " ( 1)  [weight]week = 6.2" not in lines
    assert [l for l in full if l != " ( 1)  [weight]week = 6.2"] == lines
    assert "(constrained)" in str(fit.summary(nocnsreport=True))


def test_options_combine_and_check_their_type(fit):
    lines = _lines(fit.summary(noheader=True, notable=True, nocnsreport=True))
    assert lines == []                                       # nothing left to print
    with pytest.raises(TypeError, match="notable"):
        fit.summary(notable="yes")


def test_constant_only_model_prints_missing_wald(pig):
    text = str(mc.meglm("weight ~ 1 + (1 | id)", pig).summary())
    wald = next(l for l in text.splitlines() if "Wald chi2(0)" in l)
    prob = next(l for l in text.splitlines() if "Prob > chi2" in l)
    assert wald.endswith("=          .") and prob.endswith("=          .")
