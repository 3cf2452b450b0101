"""meglm's reporting and display options change the printed output as Stata's do, given at
fit time (``meglm(..., noci=True)``, printed by ``print(res)``) and on replay
(``res.summary(noci=True)``).

The expected layouts are written from the manual: example 1 (pig, ``meglm weight week ||
id:``) with Stata's printed numbers, and the manual's description of each option ([R]
Estimation options, which the manual's "Reporting" section refers to): noheader drops the
header, nogroup the group lines, notable the table, nocnsreport the constraints; noci the
interval columns, nopvalues the z and P>|z| columns; cformat/pformat/sformat the formats of
the coefficients, p-values and z statistics; coeflegend the legend ``_b[...]`` instead of
the statistics; baselevels adds factors' base levels, noomitted drops omitted covariates.
Numbers are compared to rtol 2e-5: ours differ from the manual's by up to 6e-6 (the SE of
var(_cons), 3.12422 against 3.124202).  The name column is 16 wide here ("var(e.weight)"
plus 3, mcglmm's rule) where Stata abbreviates to 13.
"""
import numpy as np
import pytest

import mcglmm as mc
from mcglmm.results.format import StataFormat
from printed import assert_output_matches

RTOL = 2e-5
PIG = "weight ~ week + (1 | id)"

HEADER = """\
Mixed-effects GLM                               Number of obs     =        432
Family: Gaussian
Link:   Identity
Group variable: id                              Number of groups  =         48

                                                Obs per group:
                                                              min =          9
                                                              avg =        9.0
                                                              max =          9

Integration method: mvaghermite                 Integration pts.  =          7

                                                Wald chi2(1)      =   25337.48
Log likelihood = -1014.9268                     Prob > chi2       =     0.0000
"""
NOGROUP_HEADER = """\
Mixed-effects GLM                               Number of obs     =        432
Family: Gaussian
Link:   Identity

Integration method: mvaghermite                 Integration pts.  =          7

                                                Wald chi2(1)      =   25337.48
Log likelihood = -1014.9268                     Prob > chi2       =     0.0000
"""
TABLE = """\
---------------------------------------------------------------------------------
         weight | Coefficient  Std. err.      z    P>|z|     [95% conf. interval]
----------------+----------------------------------------------------------------
           week |   6.209896   .0390124   159.18   0.000     6.133433    6.286359
          _cons |   19.35561   .5974047    32.40   0.000     18.18472    20.52651
----------------+----------------------------------------------------------------
id              |
     var(_cons) |   14.81745   3.124202                     9.801687    22.39989
----------------+----------------------------------------------------------------
  var(e.weight) |   4.383264   .3163349                     3.805112    5.049261
---------------------------------------------------------------------------------
"""
LR = "LR test vs. linear model: chibar2(01) = 472.65        Prob >= chibar2 = 0.0000"

# noci: the interval columns and their 25 characters of rule go
NOCI = """\
--------------------------------------------------------
         weight | Coefficient  Std. err.      z    P>|z|
----------------+---------------------------------------
           week |   6.209896   .0390124   159.18   0.000
          _cons |   19.35561   .5974047    32.40   0.000
----------------+---------------------------------------
id              |
     var(_cons) |   14.81745   3.124202
----------------+---------------------------------------
  var(e.weight) |   4.383264   .3163349
--------------------------------------------------------
"""
# nopvalues: the z and P>|z| columns and their 16 characters go
NOPVALUES = """\
-----------------------------------------------------------------
         weight | Coefficient  Std. err.     [95% conf. interval]
----------------+------------------------------------------------
           week |   6.209896   .0390124     6.133433    6.286359
          _cons |   19.35561   .5974047     18.18472    20.52651
----------------+------------------------------------------------
id              |
     var(_cons) |   14.81745   3.124202     9.801687    22.39989
----------------+------------------------------------------------
  var(e.weight) |   4.383264   .3163349     3.805112    5.049261
-----------------------------------------------------------------
"""
# cformat(%9.3f): b, se and limits with 3 decimals (leading zero kept, as Stata's f)
CFORMAT = """\
---------------------------------------------------------------------------------
         weight | Coefficient  Std. err.      z    P>|z|     [95% conf. interval]
----------------+----------------------------------------------------------------
           week |      6.210      0.039   159.18   0.000        6.133       6.286
          _cons |     19.356      0.597    32.40   0.000       18.185      20.527
----------------+----------------------------------------------------------------
id              |
     var(_cons) |     14.817      3.124                        9.802      22.400
----------------+----------------------------------------------------------------
  var(e.weight) |      4.383      0.316                        3.805       5.049
---------------------------------------------------------------------------------
"""
# pformat(%5.4f) and sformat(%8.3f): z = b/se and p from the manual's b and se
PSFORMAT = """\
---------------------------------------------------------------------------------
         weight | Coefficient  Std. err.      z    P>|z|     [95% conf. interval]
----------------+----------------------------------------------------------------
           week |   6.209896   .0390124  159.177   0.0000     6.133433    6.286359
          _cons |   19.35561   .5974047   32.399   0.0000     18.18472    20.52651
----------------+----------------------------------------------------------------
id              |
     var(_cons) |   14.81745   3.124202                     9.801687    22.39989
----------------+----------------------------------------------------------------
  var(e.weight) |   4.383264   .3163349                     3.805112    5.049261
---------------------------------------------------------------------------------
"""
# coeflegend: the estimate and its name in expressions
COEFLEGEND = """\
---------------------------------------------------------------------------------
         weight | Coefficient  Legend
----------------+----------------------------------------------------------------
           week |   6.209896  _b[week]
          _cons |   19.35561  _b[_cons]
----------------+----------------------------------------------------------------
id              |
     var(_cons) |   14.81745  _b[/var(_cons[id])]
----------------+----------------------------------------------------------------
  var(e.weight) |   4.383264  _b[/var(e.weight)]
---------------------------------------------------------------------------------
"""
# level(90): b -/+ 1.645 se, variances on the log scale, from the manual's b and se
LEVEL90 = """\
---------------------------------------------------------------------------------
         weight | Coefficient  Std. err.      z    P>|z|     [90% conf. interval]
----------------+----------------------------------------------------------------
           week |   6.209896   .0390124   159.18   0.000     6.145726    6.274066
          _cons |   19.35561   .5974047    32.40   0.000     18.37297    20.33825
----------------+----------------------------------------------------------------
id              |
     var(_cons) |   14.81745   3.124202                     10.47503    20.96001
----------------+----------------------------------------------------------------
  var(e.weight) |   4.383264   .3163349                     3.892636    4.935731
---------------------------------------------------------------------------------
"""


@pytest.fixture(scope="module")
def pig_fit(pig):
    return mc.meglm(PIG, pig)


@pytest.fixture(params=["fit", "replay"])
def printed(request, pig, pig_fit):
    """The printed output with options given at fit time (print(res)) or on replay."""
    if request.param == "fit":
        return lambda **opts: str(mc.meglm(PIG, pig, **opts))
    return lambda **opts: str(pig_fit.summary(**opts))


def test_default_output_is_the_manuals(printed):
    assert_output_matches(printed(), HEADER + "\n" + TABLE + LR, RTOL)


def test_noheader(printed):
    assert_output_matches(printed(noheader=True), TABLE + LR, RTOL)


def test_nogroup(printed):
    assert_output_matches(printed(nogroup=True), NOGROUP_HEADER + "\n" + TABLE + LR, RTOL)


def test_notable(printed):
    assert_output_matches(printed(notable=True), HEADER.rstrip("\n"), RTOL)


def test_noci(printed):
    assert_output_matches(printed(noci=True), HEADER + "\n" + NOCI + LR, RTOL)


def test_nopvalues(printed):
    assert_output_matches(printed(nopvalues=True), HEADER + "\n" + NOPVALUES + LR, RTOL)


def test_cformat(printed):
    assert_output_matches(printed(cformat="%9.3f", noheader=True), CFORMAT + LR, RTOL)


def test_pformat_and_sformat(printed):
    assert_output_matches(printed(pformat="%5.4f", sformat="%8.3f", noheader=True),
                          PSFORMAT + LR, RTOL)


def test_coeflegend(printed):
    assert_output_matches(printed(coeflegend=True, noheader=True), COEFLEGEND + LR, RTOL)


def test_level(printed):
    assert_output_matches(printed(level=90, noheader=True), LEVEL90 + LR, RTOL)


def test_nocnsreport(pig):
    """Constraint lines print before the table; nocnsreport drops them (fit and replay)."""
    fit = mc.meglm(PIG, pig, constraints="week = 6.2")
    line = " ( 1)  [weight]week = 6.2"
    full = str(fit).splitlines()
    assert full[full.index(line) + 1].startswith("-" * 20)
    dropped = [l for l in full if l != line]
    assert str(fit.summary(nocnsreport=True)).splitlines() == dropped
    quiet = mc.meglm(PIG, pig, constraints="week = 6.2", nocnsreport=True)
    assert str(quiet).splitlines() == dropped
    assert str(quiet.summary(nocnsreport=False)).splitlines() == full


def test_replay_overrides_the_fit_time_options(pig):
    fit = mc.meglm(PIG, pig, noheader=True, noci=True)
    assert_output_matches(str(fit), NOCI + LR, RTOL)
    assert_output_matches(str(fit.summary(noci=False)), TABLE + LR, RTOL)
    assert_output_matches(str(fit.summary(noheader=False)), HEADER + "\n" + NOCI + LR, RTOL)


@pytest.fixture(scope="module")
def contraception(bangladesh):
    """A covariate collinear with age (age2 = 2 age) and two factors."""
    return bangladesh.assign(age2=2 * bangladesh["age"])


CONTRA = "c_use ~ C(urban) + age + age2 + C(children) + (1 | district)"


def _fixed_rows(text):
    """The fixed-effects rows of the table (between the column titles' rule and the next)."""
    lines = text.splitlines()
    start = next(i for i, l in enumerate(lines) if l.startswith("-" * 13 + "+")) + 1
    stop = next(i for i in range(start, len(lines)) if lines[i].startswith("-" * 13 + "+"))
    return lines[start:stop]


@pytest.fixture(scope="module")
def contra_fit(contraception):
    with pytest.warns(mc.DesignWarning, match="age2 omitted because of collinearity"):
        return mc.meglm(CONTRA, contraception, family="bernoulli")


def test_omitted_covariate_prints_as_omitted_before_cons(contra_fit):
    """Rows in the order of the columns (patsy puts the factors first), the omitted covariate
    in its place shown as 0 (omitted), _cons last."""
    names = [l.split("|")[0].strip() for l in _fixed_rows(str(contra_fit.summary()))]
    assert names == ["1.urban", "1.children", "2.children", "3.children", "age", "age2",
                     "_cons"]
    assert "        age2 |          0  (omitted)" in str(contra_fit.summary())
    assert "        age2 |          1  (omitted)" in str(contra_fit.summary(or_=True))
    assert "age2" not in contra_fit.b.index.str.split(":").str[-1]


@pytest.mark.parametrize("when", ["fit", "replay"])
def test_noomitted(when, contraception, contra_fit):
    if when == "fit":
        with pytest.warns(mc.DesignWarning):
            fit = mc.meglm(CONTRA, contraception, family="bernoulli", noomitted=True)
        text = str(fit)
    else:
        text = str(contra_fit.summary(noomitted=True))
    full = str(contra_fit.summary()).splitlines()
    assert text.splitlines() == [l for l in full if "(omitted)" not in l]
    assert len(full) - len(text.splitlines()) == 1


@pytest.mark.parametrize("when", ["fit", "replay"])
def test_baselevels(when, contraception, contra_fit):
    """Each factor's base level, 0, before its first level: ``0.urban | 0 (base)``."""
    if when == "fit":
        with pytest.warns(mc.DesignWarning):
            fit = mc.meglm(CONTRA, contraception, family="bernoulli", baselevels=True)
        text = str(fit)
    else:
        text = str(contra_fit.summary(baselevels=True))
    rows = _fixed_rows(str(contra_fit.summary()))
    want = (["     0.urban |          0  (base)"] + rows[:1]
            + ["  0.children |          0  (base)"] + rows[1:])
    assert _fixed_rows(text) == want


def test_coeflegend_names_omitted_and_base_rows(contra_fit):
    rows = _fixed_rows(str(contra_fit.summary(coeflegend=True, baselevels=True)))
    legends = [r.split()[-1] for r in rows]
    assert legends == ["_b[0b.urban]", "_b[1.urban]", "_b[0b.children]", "_b[1.children]",
                       "_b[2.children]", "_b[3.children]", "_b[age]", "_b[o.age2]",
                       "_b[_cons]"]


@pytest.mark.parametrize("name, spec", [("cformat", "%10.3f"), ("cformat", "%9s"),
                                        ("pformat", "%6.3f"), ("sformat", "%9.2f"),
                                        ("cformat", "%9.3fc"), ("cformat", 3),
                                        ("pformat", "%5.5f")])
def test_formats_refused_name_the_option(pig_fit, name, spec):
    with pytest.raises(ValueError, match=name):
        pig_fit.summary(**{name: spec})


def test_fit_checks_display_options_before_fitting(pig):
    with pytest.raises(ValueError, match="cformat"):
        mc.meglm(PIG, pig, cformat="%12.3f")
    with pytest.raises(TypeError, match="noci"):
        mc.meglm(PIG, pig, noci="yes")
    with pytest.raises(TypeError, match="nocolumns"):
        mc.meglm(PIG, pig).summary(nocolumns=True)


@pytest.mark.parametrize("spec, x, text", [
    ("%9.3f", 0.0390124, "0.039"), ("%9.3f", -12.3456, "-12.346"),
    ("%9.0g", 0.0390124, ".0390124"), ("%9.0g", 19.355612345, "19.35561"),
    ("%9.3g", 0.0390124, ".039"), ("%9.3g", 1234.5, "1.23e+03"),
    ("%9.2e", 0.0390124, "3.90e-02"), ("%5.3f", 0.0004, "0.000")])
def test_stata_formats(spec, x, text):
    fmt = StataFormat.parse("cformat", spec, 9)
    assert fmt.text(x, 11) == f"{text:>11}"
    assert fmt.text(np.nan, 11) == " " * 11

