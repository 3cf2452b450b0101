"""meglm(from_=...) read by name on Stata's scale, as Stata's from(b) (issue 12).

A Series or dict named like e(b) (``res.b`` of an earlier fit, or Stata's own names such as
"/:var(_cons[id])") sets those parameters on the reported scale and leaves the others at
their default start; an unknown name is refused naming from_; a positional vector is theta
on the internal scale.
"""
import numpy as np
import pandas as pd
import pytest

import mcglmm as mc

FORMULA = "weight ~ week + (1 + week | id)"


@pytest.fixture(scope="module")
def fit(pig):
    return mc.meglm(FORMULA, data=pig, covariance="unstructured")


def test_from_an_earlier_fits_b_restarts_at_that_fit(pig, fit):
    again = mc.meglm(FORMULA, data=pig, covariance="unstructured", from_=fit.b)
    assert again.ic <= 2 < fit.ic                                  # seen 1 against 6
    np.testing.assert_allclose(again.b, fit.b, rtol=1e-9)           # seen 1e-14
    assert again.ll == pytest.approx(fit.ll, rel=1e-12)


def test_from_with_statas_names_is_the_same_start(pig, fit):
    stata = {"weight:week": "weight:week", "weight:_cons": "weight:_cons",
             "id:var(_cons)": "/:var(_cons[id])", "id:var(week)": "/:var(week[id])",
             "id:cov(_cons,week)": "/:cov(week[id],_cons[id])",
             "var(e.weight)": "/:var(e.weight)"}
    renamed = fit.b.rename(index=stata)
    ours = mc.meglm(FORMULA, data=pig, covariance="unstructured", from_=fit.b, noestimate=True)
    theirs = mc.meglm(FORMULA, data=pig, covariance="unstructured", from_=renamed.to_dict(),
                      noestimate=True)
    np.testing.assert_allclose(theirs, ours, rtol=1e-12)
    np.testing.assert_allclose(ours, fit.b, rtol=1e-9)   # the reported scale round trip, seen 1e-14


@pytest.mark.parametrize("name, value", [("id:var(_cons)", 6.8), ("/:var(week[id])", 0.4),
                                         ("weight:week", 5.0), ("var(e.weight)", 2.5)])
def test_one_name_sets_only_that_parameter(pig, name, value):
    default = mc.meglm(FORMULA, data=pig, covariance="unstructured", noestimate=True)
    start = mc.meglm(FORMULA, data=pig, covariance="unstructured", noestimate=True,
                     from_={name: value})
    changed = np.flatnonzero(~np.isclose(start.to_numpy(), default.to_numpy(), rtol=1e-12))
    assert len(changed) == 1
    # seen 2.5e-12: Unstructured.from_sigma factors Sigma + 1e-12 I
    assert start.iloc[changed[0]] == pytest.approx(value, rel=1e-10)


def test_a_covariate_in_units_of_1e8_restarts_from_its_b(pig):
    big = pig.assign(week=pig["week"] * 1e8)
    first = mc.meglm("weight ~ week + (1 | id)", data=big)
    again = mc.meglm("weight ~ week + (1 | id)", data=big, from_=first.b)
    assert again.ic <= 2
    np.testing.assert_allclose(again.b, first.b, rtol=1e-9)         # seen 1e-15


@pytest.mark.parametrize("bad", [{"nope": 1.0}, pd.Series({"weight:week": 6.0, "id:sd(x)": 1.0})])
def test_an_unknown_name_is_refused_naming_from(pig, bad):
    with pytest.raises(ValueError, match=r"from_ must be named as e\(b\).*got '(nope|id:sd\(x\))'"):
        mc.meglm(FORMULA, data=pig, covariance="unstructured", from_=bad)


def test_a_non_positive_variance_is_refused(pig):
    with pytest.raises(ValueError, match=r"from_ must be positive variances"):
        mc.meglm(FORMULA, data=pig, covariance="unstructured", from_={"id:var(week)": -1.0})


def test_a_covariance_making_sigma_indefinite_is_refused(pig):
    with pytest.raises(ValueError, match="from_ must be variances and covariances giving"):
        mc.meglm(FORMULA, data=pig, covariance="unstructured",
                 from_={"id:var(_cons)": 1.0, "id:var(week)": 1.0, "id:cov(_cons,week)": 2.0})


def test_a_positional_vector_is_theta_on_the_internal_scale(pig, fit):
    start = mc.meglm(FORMULA, data=pig, covariance="unstructured", from_=fit.theta,
                     noestimate=True)
    np.testing.assert_allclose(start, fit.b, rtol=1e-9)              # seen 1e-15
